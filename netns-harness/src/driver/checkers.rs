//! The checker side of the daemon: the core's [`Director`] — every
//! virtual server, the health checks of their real servers, the IPVS table
//! they want — driven on a thread of its own, the real twin of the
//! simulator's `sim/src/director.rs`. Probes run as tasks of this thread's
//! runtime ([`probe::run`]), scripts without a shell ([`super::scripts`]), and the
//! table changes go through an [`IpvsBackend`]. However many checks run,
//! none of this work is on the VRRP thread.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};
use vigil_core::check::ProbeResult;
use vigil_core::config::Config;
use vigil_core::lvs::director::{CheckId, Director, DirectorAction};
use vigil_core::lvs::ipvs::{IpvsOp, IpvsState, ServiceKey};
use vigil_core::vrrp::track::{Track, TrackKind};

use super::clock::Clock;
use super::control::{self, VirtualServerStatus};
use super::ipvs::{self, Ipvs, IpvsError, Listing};
use super::notify_queue;
use super::probe;
use super::track::{Report, Trackers};
use crate::error::{Error, Result};

/// Where the director's table changes go: the kernel's IPVS
/// ([`KernelTable`]), or a stand-in ([`LoggedTable`]) where the kernel has
/// none; [`backend`] picks.
pub trait IpvsBackend: Send {
    /// The table as it is now (at start: what an earlier run left).
    fn dump(&mut self) -> Result<IpvsState>;
    fn apply(&mut self, op: &IpvsOp) -> Result<()>;
    /// The kernel's table with its traffic counters, for `vigil status`;
    /// none without a kernel table, or when it cannot be read.
    fn listing(&mut self) -> Option<Listing> {
        None
    }
}

/// An [`IpvsBackend`] that logs each change as the `ipvsadm` call making
/// it and keeps the table in memory: the checkers' decisions can be seen
/// and tested on a kernel without IPVS.
#[derive(Debug, Default)]
pub struct LoggedTable {
    table: IpvsState,
}

impl IpvsBackend for LoggedTable {
    fn dump(&mut self) -> Result<IpvsState> {
        Ok(self.table.clone())
    }

    fn apply(&mut self, op: &IpvsOp) -> Result<()> {
        info!("ipvsadm {op}");
        self.table
            .apply(op)
            .map_err(|e| Error::Command(format!("ipvsadm {op}: {e}")))
    }
}

/// An [`IpvsBackend`] that programs the kernel's IPVS table of this
/// thread's network namespace over generic netlink, logging each change as
/// the `ipvsadm` call making it, as [`LoggedTable`] does.
pub struct KernelTable {
    ipvs: Ipvs,
}

impl KernelTable {
    pub fn open() -> std::result::Result<KernelTable, IpvsError> {
        Ok(KernelTable {
            ipvs: Ipvs::open()?,
        })
    }
}

impl IpvsBackend for KernelTable {
    fn dump(&mut self) -> Result<IpvsState> {
        self.ipvs
            .dump()
            .map_err(|e| Error::Command(format!("reading the IPVS table: {e}")))
    }

    fn listing(&mut self) -> Option<Listing> {
        self.ipvs
            .list()
            .inspect_err(|e| warn!("reading the IPVS counters: {e}"))
            .ok()
    }

    fn apply(&mut self, op: &IpvsOp) -> Result<()> {
        info!("ipvsadm {op}");
        self.ipvs.apply(op).map_err(|e| match e {
            // Already names the call.
            IpvsError::Kernel { .. } | IpvsError::NoScheduler { .. } => {
                Error::Command(e.to_string())
            }
            e => Error::Command(format!("ipvsadm {op}: {e}")),
        })
    }
}

/// The kernel's table when it has IPVS (loading `ip_vs` if need be), else
/// a [`LoggedTable`] with one warning: the health checks and their log are
/// worth having on a host that cannot forward.
pub fn backend() -> Box<dyn IpvsBackend> {
    if !ipvs::kernel_has_ipvs() {
        warn!("IPVS not available: virtual servers are logged, not programmed");
        return Box::new(LoggedTable::default());
    }
    match KernelTable::open() {
        Ok(t) => Box::new(t),
        Err(e) => {
            warn!("IPVS not available: virtual servers are logged, not programmed ({e})");
            Box::new(LoggedTable::default())
        }
    }
}

/// What the other threads tell the checker thread.
#[derive(Debug)]
pub enum Order {
    /// A virtual address came to this host or left it (from the VRRP
    /// thread), for `ha_suspend`.
    Vip { addr: IpAddr, present: bool },
    /// SIGHUP with a configuration that passed the check.
    Reload(Box<Config>),
    /// SIGTERM: take the services down, run the omega scripts, stop.
    Stop,
    /// `vigil status` asks for the virtual servers.
    Status(oneshot::Sender<Vec<VirtualServerStatus>>),
}

/// Tracked-file reports queued for the loop.
const REPORT_QUEUE: usize = 64;

/// Rounds of (refusal, re-read, repair) in one flush. The director does
/// not ask again for what the kernel refused, so two rounds suffice unless
/// another program changes the table between our reads.
const RESYNCS: usize = 4;

struct Checkers {
    clock: Clock,
    director: Director,
    backend: Box<dyn IpvsBackend>,
    results: mpsc::UnboundedSender<(CheckId, ProbeResult)>,
    files: Trackers,
    reports: mpsc::Sender<Report>,
    /// The protocol of each real server's virtual server, for keepalived's
    /// `[addr]:tcp:port` in the verdict lines.
    protocols: HashMap<SocketAddr, &'static str>,
    stopping: bool,
}

/// Runs the virtual servers of `config` until told to stop. With
/// `release` false (`--dont-release-ipvs`) stopping leaves the table as it
/// is, so traffic keeps flowing while the daemon restarts.
pub async fn serve(
    config: Config,
    backend: Box<dyn IpvsBackend>,
    release: bool,
    mut orders: mpsc::UnboundedReceiver<Order>,
) -> Result<()> {
    let (results, mut done) = mpsc::unbounded_channel();
    let (reports, mut files) = mpsc::channel(REPORT_QUEUE);
    let mut c = Checkers::new(&config, backend, results, reports)?;
    info!(
        "Checkers started: {} virtual servers, {} checks",
        c.director.services().count(),
        c.director.check_count()
    );
    let sleep = tokio::time::sleep_until(c.clock.deadline(c.clock.now()));
    tokio::pin!(sleep);
    let mut armed = None;
    loop {
        c.flush();
        if c.stopping {
            info!("Checkers stopped");
            return Ok(());
        }
        let deadline = c.director.poll_timeout();
        if deadline != armed {
            if let Some(at) = deadline {
                sleep.as_mut().reset(c.clock.deadline(at));
            }
            armed = deadline;
        }
        tokio::select! {
            () = &mut sleep, if deadline.is_some() => {
                armed = None;
                c.director.handle_timeout(c.clock.now());
            }
            Some((check, result)) = done.recv() => {
                c.director.handle_result(c.clock.now(), check, result);
            }
            Some(report) = files.recv() => {
                if let Some((_, name, vigil_core::vrrp::track::TrackState::Value(v))) =
                    c.files.observe(report)
                {
                    c.director.handle_file(&name, v);
                }
            }
            order = orders.recv() => match order {
                Some(Order::Vip { addr, present }) => c.director.handle_address(addr, present),
                Some(Order::Reload(config)) => c.reload(&config),
                Some(Order::Status(reply)) => {
                    // The asker may have given up; nothing to do then.
                    let kernel = c.backend.listing();
                    let _ = reply.send(control::lvs_status(&c.director, kernel.as_ref()));
                }
                // The main thread is gone: nobody can stop us later.
                Some(Order::Stop) | None => {
                    // keepalived's --dont-release-ipvs skips clear_services()
                    // whole: neither the table changes nor the quorum-down
                    // and notify_down scripts that come with them.
                    if release {
                        c.director.shutdown();
                    } else {
                        info!("Leaving the virtual servers in IPVS (--dont-release-ipvs)");
                    }
                    c.stopping = true;
                }
            },
        }
    }
}

impl Checkers {
    /// The director of `config`, started on the table `backend` holds.
    fn new(
        config: &Config,
        mut backend: Box<dyn IpvsBackend>,
        results: mpsc::UnboundedSender<(CheckId, ProbeResult)>,
        reports: mpsc::Sender<Report>,
    ) -> Result<Checkers> {
        let clock = Clock::start();
        let actual = backend.dump()?;
        // The checks' warmup shares differ between hosts and runs, as
        // keepalived's random warmup does.
        let seed = u64::from(std::process::id()) ^ clock_seed();
        let director = Director::new(clock.now(), config, &actual, &local_addresses(), seed)
            .map_err(|e| Error::Config(e.to_string()))?;
        let mut c = Checkers {
            clock,
            director,
            backend,
            results,
            files: Trackers::default(),
            reports,
            protocols: HashMap::new(),
            stopping: false,
        };
        c.configured(config);
        Ok(c)
    }

    /// What follows from a (new) config besides the director: the tracked
    /// files FILE_CHECKs read, and the real servers' protocols.
    fn configured(&mut self, config: &Config) {
        let tracks: Vec<Track> = config
            .track_files
            .iter()
            .map(|f| Track {
                kind: TrackKind::File,
                name: f.name.clone(),
                weight: 0,
                reverse: false,
            })
            .collect();
        self.files = Trackers::start(config, tracks.iter(), &self.reports, None);
        self.protocols.clear();
        for vs in self.director.services() {
            let proto = match vs.keys().first() {
                Some(ServiceKey::Addr { protocol, .. }) => control::protocol_name(*protocol),
                _ => "tcp",
            };
            for rs in vs.real_servers() {
                self.protocols.entry(rs.key.into()).or_insert(proto);
            }
        }
    }

    fn reload(&mut self, config: &Config) {
        match self.director.reload(self.clock.now(), config) {
            Ok(()) => {
                self.configured(config);
                info!("Checkers reloaded");
            }
            Err(e) => error!("reload refused by the checkers, old virtual servers kept: {e}"),
        }
    }

    /// Carries out what the director asked, in its order. After the
    /// kernel refuses a change to a service, the batch's later changes to
    /// that service are skipped (the director computed them from a service
    /// the kernel does not have), and the kernel's table is read back and
    /// handed to the director, which asks for what is still missing.
    /// keepalived instead keeps its own view of the table, whatever the
    /// kernel refused (ipvswrapper.c's `ipvs_talk`).
    fn flush(&mut self) {
        for _ in 0..RESYNCS {
            if !self.carry_out() {
                return;
            }
            info!("Reading the IPVS table back after the refusal");
            match self.backend.dump() {
                Ok(table) => self.director.handle_table(&table),
                Err(e) => {
                    error!("{e}; the checkers' view of IPVS may be wrong");
                    return;
                }
            }
        }
        // Another program changing the table as fast as we read it: what
        // is left waits for the next input rather than hold this thread.
        warn!("IPVS keeps refusing changes; retrying at the next change");
    }

    /// Drains the director's actions; whether the kernel refused a change.
    fn carry_out(&mut self) -> bool {
        let mut refused: Vec<ServiceKey> = Vec::new();
        while let Some(a) = self.director.poll_action() {
            match a {
                DirectorAction::StartProbe { check, probe } => {
                    let results = self.results.clone();
                    // probe::run bounds every step by the probe's own
                    // connect_timeout (a MISC_CHECK by its misc_timeout).
                    tokio::spawn(async move {
                        let result = probe::run(&probe).await;
                        // The loop is gone when the daemon stops: nobody waits.
                        let _ = results.send((check, result));
                    });
                }
                DirectorAction::Verdict { kind, rs, up, .. } => self.log_verdict(&kind, rs, up),
                DirectorAction::Ipvs(op) if refused.contains(&op.service()) => {
                    debug!("skipped: ipvsadm {op}");
                }
                DirectorAction::Ipvs(op) => {
                    self.log_op(&op);
                    if let Err(e) = self.backend.apply(&op) {
                        error!("{e}");
                        refused.push(op.service());
                    }
                }
                DirectorAction::Quorum { service, up } => {
                    let vs = control::vs_name(service);
                    if up {
                        info!("Gained quorum for VS {vs}");
                    } else {
                        info!("Lost quorum for VS {vs}");
                    }
                }
                DirectorAction::RunScript(s) => {
                    info!("Running {}", s.command);
                    notify_queue::submit(&s, &[]);
                }
            }
        }
        !refused.is_empty()
    }

    /// keepalived's words for a verdict (check_tcp.c and its siblings).
    fn log_verdict(&self, kind: &str, rs: SocketAddr, up: bool) {
        let proto = self.protocols.get(&rs).copied().unwrap_or("tcp");
        let rs = control::rs_name(proto, rs);
        match (kind, up) {
            ("TCP_CHECK", true) => info!("TCP connection to {rs} success."),
            ("TCP_CHECK", false) => info!("TCP connection to {rs} failed."),
            (_, true) => info!("{kind} on service {rs} succeeded."),
            (_, false) => info!("{kind} on service {rs} failed."),
        }
    }

    /// keepalived's words for a real server entering or leaving the pool
    /// (ipwrapper.c), before the `ipvsadm` line of the change itself.
    fn log_op(&self, op: &IpvsOp) {
        let (service, key) = match op {
            IpvsOp::AddDest { service, dest } | IpvsOp::EditDest { service, dest } => {
                (service, dest.key)
            }
            IpvsOp::DelDest { service, key } => (service, *key),
            _ => return,
        };
        let proto = match service {
            ServiceKey::Addr { protocol, .. } => control::protocol_name(*protocol),
            ServiceKey::Fwmark { .. } => "tcp",
        };
        let rs = control::rs_name(proto, key.into());
        let vs = control::vs_name(*service);
        match op {
            IpvsOp::AddDest { .. } => info!("Adding service {rs} to VS {vs}"),
            IpvsOp::EditDest { dest, .. } => {
                info!(
                    "Changing weight to {} for service {rs} of VS {vs}",
                    dest.weight
                );
            }
            _ if self.stopping => info!("Shutting down service {rs} from VS {vs}"),
            _ => info!("Removing service {rs} from VS {vs}"),
        }
    }
}

/// The addresses on this host's interfaces now: a virtual server whose
/// address is here starts unsuspended (`ha_suspend`).
fn local_addresses() -> Vec<IpAddr> {
    match nix::ifaddrs::getifaddrs() {
        Ok(addrs) => addrs
            .filter_map(|a| {
                let a = a.address?;
                if let Some(v4) = a.as_sockaddr_in() {
                    return Some(IpAddr::V4(v4.ip()));
                }
                a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            })
            .collect(),
        Err(e) => {
            warn!("listing the host's addresses: {e}; ha_suspend services start suspended");
            Vec::new()
        }
    }
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use vigil_core::lvs::Algorithm;

    /// A kernel without the `twos` module: it refuses such services, as
    /// Debian's does, and applies the rest as the core's model says.
    #[derive(Clone, Default)]
    struct NoTwos {
        table: Arc<Mutex<IpvsState>>,
        twos_tried: Arc<Mutex<usize>>,
    }

    impl IpvsBackend for NoTwos {
        fn dump(&mut self) -> Result<IpvsState> {
            Ok(self.table.lock().expect("table").clone())
        }

        fn apply(&mut self, op: &IpvsOp) -> Result<()> {
            if let IpvsOp::AddService(s) = op
                && s.algorithm == Algorithm::Twos
            {
                *self.twos_tried.lock().expect("count") += 1;
                return Err(Error::Command(format!("ipvsadm {op}: no twos")));
            }
            let mut table = self.table.lock().expect("table");
            table.apply(op).map_err(|e| Error::Command(e.to_string()))
        }
    }

    const CONF: &str = "
virtual_server 10.0.0.100 80 { lb_algo twos\n protocol TCP\n real_server 10.0.0.10 80 { } }
virtual_server 10.0.0.101 80 { lb_algo rr\n protocol TCP\n real_server 10.0.0.10 80 { } }
";

    fn config(text: &str) -> Config {
        let parsed = vigil_core::config::parse_str(text);
        assert_eq!(parsed.errors().count(), 0);
        parsed.model
    }

    fn checkers(kernel: &NoTwos, text: &str) -> Checkers {
        let (results, _) = mpsc::unbounded_channel();
        let (reports, _) = mpsc::channel(1);
        Checkers::new(&config(text), Box::new(kernel.clone()), results, reports).expect("start")
    }

    fn keys(t: &IpvsState) -> Vec<String> {
        t.services.iter().map(|s| s.spec.key.to_string()).collect()
    }

    #[test]
    fn a_refused_service_is_not_retried_at_once_and_the_view_stays_the_kernels() {
        let kernel = NoTwos::default();
        let mut c = checkers(&kernel, CONF);
        c.flush();
        let table = kernel.table.lock().expect("table").clone();
        assert_eq!(keys(&table), ["-t 10.0.0.101:80"]);
        assert_eq!(c.director.table(), &table);
        assert_eq!(*kernel.twos_tried.lock().expect("count"), 1);
    }

    #[test]
    fn a_service_deleted_behind_our_back_comes_back_at_the_next_change() {
        let kernel = NoTwos::default();
        let text = CONF.replace("twos", "wlc");
        let mut c = checkers(&kernel, &text);
        c.flush();
        kernel.table.lock().expect("table").services.remove(1);
        // A weight change: its edit is refused, the service re-added.
        let text = text.replace(
            "lb_algo rr\n protocol TCP\n real_server 10.0.0.10 80 { }",
            "lb_algo rr\n protocol TCP\n real_server 10.0.0.10 80 { weight 3 }",
        );
        c.reload(&config(&text));
        c.flush();
        let table = kernel.table.lock().expect("table").clone();
        assert_eq!(keys(&table), ["-t 10.0.0.100:80", "-t 10.0.0.101:80"]);
        assert_eq!(table.services[1].dests[0].weight, 3);
        assert_eq!(c.director.table(), &table);
    }
}

//! The VRRP side of the daemon: the core's [`Router`] driven by the kernel —
//! raw sockets in, adverts, addresses and announcements out — on a thread of
//! its own. It follows the simulator's driver (`sim/src/node.rs`) step for
//! step: resolve the config on the host, drop configured addresses an
//! earlier run left, start the router, then feed it packets, timeouts, link
//! changes and commands, draining every output after each input.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};
use vigil_core::config::Config;
use vigil_core::vrrp::resolve::{self, Resolved};
use vigil_core::vrrp::{Action, Command, InstanceConfig, Reason, Received, Router, State, Vip};

use super::arp::Announcer;
use super::checkers::Order;
use super::clock::{Clock, Timer};
use super::control::{self, VrrpStatus};
use super::drop_log::DropLog;
use super::host::Interfaces;
use super::memory;
use super::netlink::Netlink;
use super::nftables::KeepalivedTables;
use super::notify;
use super::notify_fifo::NotifyFifos;
use super::routes::{Statics, VirtualRoutes};
use super::smtp_alert::SmtpAlerts;
use super::track::{Report, Trackers};
use super::vmac::{self, Vmacs};
use super::vrrp_socket::{Family, VrrpSocket};
use crate::error::{Error, Result};

mod host_changes;

/// What the main thread asks of the VRRP thread.
#[derive(Debug)]
pub enum Control {
    /// SIGTERM: priority 0 from every Master, then stop.
    Stop,
    /// SIGHUP with a configuration that passed the check.
    Reload(Box<Config>),
    /// `vigil status` asks for the instances.
    Status(oneshot::Sender<VrrpStatus>),
}

/// Tracker reports queued for the loop; a full queue makes trackers wait.
const REPORT_QUEUE: usize = 64;

struct Vrrp {
    /// The running configuration: notify scripts are looked up in it.
    config: Config,
    clock: Clock,
    router: Router,
    netlink: Netlink,
    host: Interfaces,
    sockets: BTreeMap<(String, Family), VrrpSocket>,
    /// Which socket `recv_any` asks first, turning, so a flooded one cannot
    /// starve the others.
    turn: usize,
    /// Dropped adverts, logged without flooding the log.
    drops: DropLog,
    trackers: Trackers,
    reports: mpsc::Sender<Report>,
    announcer: Announcer,
    firewall: KeepalivedTables,
    fifos: NotifyFifos,
    mail: SmtpAlerts,
    routes: VirtualRoutes,
    statics: Statics,
    vmacs: Vmacs,
    /// A reload ran: once its last adverts and removals are out, sockets
    /// and VMACs nothing uses any more go.
    tidy: bool,
    /// False with `--dont-release-vrrp`: addresses stay when the daemon stops.
    release_on_stop: bool,
    stopping: bool,
    /// The checker thread, told of every address added or removed here
    /// (`ha_suspend`).
    checkers: Option<mpsc::UnboundedSender<Order>>,
}

/// Runs VRRP for `config` until told to stop.
pub async fn serve(
    config: Config,
    release_on_stop: bool,
    mut control: mpsc::UnboundedReceiver<Control>,
    checkers: Option<mpsc::UnboundedSender<Order>>,
) -> Result<()> {
    let clock = Clock::start();
    let (netlink, mut events) = Netlink::connect()?;
    let host = Interfaces::read(&netlink).await?;
    let (reports, mut tracked) = mpsc::channel(REPORT_QUEUE);
    let fifos = NotifyFifos::open(&config);
    let statics = Statics::install(&netlink, &host, &config).await;
    let mail = SmtpAlerts::new(&config);
    let mut vrrp = Vrrp {
        config,
        clock,
        // Empty until the config is applied to it, as a reload would.
        router: Router::new(Vec::new(), Vec::new(), clock.now())?,
        netlink,
        host,
        sockets: BTreeMap::new(),
        turn: 0,
        trackers: Trackers::default(),
        reports,
        announcer: Announcer::open()?,
        firewall: KeepalivedTables::default(),
        fifos,
        mail,
        routes: VirtualRoutes::default(),
        drops: DropLog::default(),
        statics,
        vmacs: Vmacs::default(),
        tidy: false,
        release_on_stop,
        stopping: false,
        checkers,
    };
    let (resolved, vmacs) = vrrp.resolve().await;
    vrrp.remove_stale(&resolved).await;
    if let Err(e) = vrrp.apply(resolved) {
        // What the start made goes, as at any exit.
        vrrp.statics.remove(&vrrp.netlink, &vrrp.host).await;
        vrrp.vmacs.remove_all(&vrrp.netlink).await;
        return Err(e);
    }
    vrrp.vmacs.keep(vmacs);
    info!("Startup complete");
    memory::shed_startup();
    // One kernel timer, moved only when the router's deadline moves.
    let timer = Timer::new(clock).map_err(Error::io("creating the VRRP timer"))?;
    let mut armed = None;
    loop {
        vrrp.flush().await;
        if std::mem::take(&mut vrrp.tidy) {
            vrrp.close_unused_sockets();
            vrrp.vmacs.retire(&vrrp.netlink).await;
            vmac::guard(&mut vrrp.firewall, &vrrp.vmacs.links()).await;
        }
        if vrrp.stopping {
            if let Err(e) = vrrp.firewall.remove().await {
                error!("removing the keepalived nftables tables: {e}");
            }
            vrrp.statics.remove(&vrrp.netlink, &vrrp.host).await;
            if vrrp.release_on_stop {
                vrrp.vmacs.remove_all(&vrrp.netlink).await;
            }
            info!("Stopped");
            return Ok(());
        }
        let deadline = vrrp.router.poll_timeout();
        if deadline != armed {
            if let Err(e) = timer.arm(deadline) {
                error!("arming the VRRP timer: {e}");
            }
            armed = deadline;
        }
        tokio::select! {
            rx = recv_any(&vrrp.sockets, vrrp.turn) => vrrp.received(rx).await,
            fired = timer.fired(), if deadline.is_some() => {
                if let Err(e) = fired {
                    error!("reading the VRRP timer: {e}");
                }
                armed = None;
                let now = vrrp.clock.now();
                vrrp.router.handle_timeout(now);
                for line in vrrp.drops.flush(now) {
                    warn!("{line}");
                }
            }
            order = control.recv() => match order {
                Some(Control::Reload(config)) => vrrp.reload(*config).await,
                Some(Control::Status(reply)) => {
                    // The asker may have given up; nothing to do then.
                    let _ = reply.send(control::vrrp_status(&vrrp.router, vrrp.clock.now()));
                }
                // The main thread is gone: nobody can stop us later.
                Some(Control::Stop) | None => vrrp.stop(),
            },
            event = events.next() => vrrp.netlink_event(event).await,
            Some(report) = tracked.recv() => vrrp.tracked(report),
        }
    }
}

/// The next datagram on any socket, asking them in turn from `turn`;
/// never ready without sockets.
async fn recv_any(
    sockets: &BTreeMap<(String, Family), VrrpSocket>,
    turn: usize,
) -> std::io::Result<Received> {
    if sockets.is_empty() {
        return std::future::pending().await;
    }
    let n = sockets.len();
    let each = sockets
        .values()
        .cycle()
        .skip(turn % n)
        .take(n)
        .map(|s| Box::pin(s.recv()));
    futures_util::future::select_all(each).await.0
}

impl Vrrp {
    /// keepalived removes its configured addresses at startup: a SIGKILLed
    /// predecessor leaves them, and a Backup must not answer for them.
    async fn remove_stale(&mut self, resolved: &Resolved) {
        for inst in &resolved.instances {
            let vips = inst.vips.iter().chain(&inst.excluded_vips);
            for (index, a) in self.host.stale(vips) {
                info!(
                    "({}) removing VIP {}/{} left on the interface by an earlier run",
                    inst.name, a.addr, a.prefix_len
                );
                match self.netlink.del(index, a.addr, a.prefix_len).await {
                    Ok(()) => self.vip_moved(a.addr, false),
                    Err(e) => error!("({}) cannot remove {}: {e}", inst.name, a.addr),
                }
            }
        }
    }

    /// The running config on this host, with the VMACs its instances use
    /// made and their names.
    async fn resolve(&mut self) -> (Resolved, BTreeSet<String>) {
        let mut resolved = resolve::resolve(&self.config, &self.resolution_host());
        let vmacs = self
            .vmacs
            .prepare(
                &self.netlink,
                &mut self.host,
                &self.config,
                &mut resolved,
                &mut self.firewall,
            )
            .await;
        (resolved, vmacs)
    }

    /// The host as the config is resolved on: without the static
    /// addresses, which are no instance's to send from (keepalived ignores
    /// its own addresses too). One put back on a re-created interface comes
    /// before the interface's own address.
    fn resolution_host(&self) -> Interfaces {
        let statics: BTreeSet<IpAddr> = self
            .config
            .static_ipaddress
            .iter()
            .map(|a| a.addr)
            .collect();
        self.host.without(&statics)
    }

    /// Runs `resolved`: at start on the empty router, on SIGHUP on the
    /// running one, whose instances that stay keep their state. On an error
    /// the router is left as it was.
    fn apply(&mut self, resolved: Resolved) -> Result<()> {
        for note in &resolved.notes {
            warn!("{note}");
        }
        self.open_sockets(&resolved.instances)?;
        let now = self.clock.now();
        self.router
            .reload(resolved.instances, resolved.groups, now)?;
        self.report_links_down();
        self.start_trackers();
        Ok(())
    }

    /// One socket per interface and family, shared by the instances there;
    /// a socket on an interface since re-created (a VMAC, or an interface
    /// deleted and made again) is opened anew, and joins its groups anew.
    fn open_sockets(&mut self, instances: &[InstanceConfig]) -> Result<()> {
        for inst in instances {
            let family = Family::of(inst.src);
            let key = (inst.iface.clone(), family);
            let Some(link) = self.host.link(&inst.iface) else {
                warn!("({}) interface {} not found", inst.name, inst.iface);
                continue;
            };
            if self
                .sockets
                .get(&key)
                .is_some_and(|s| s.index() == link.index)
            {
                continue;
            }
            let groups: Vec<IpAddr> = instances
                .iter()
                .filter(|i| i.iface == inst.iface)
                .filter_map(|i| i.mcast_group)
                .collect();
            let sock = VrrpSocket::open(&inst.iface, link.index, family, &groups)?;
            debug!("VRRP socket open on {} ({family:?})", inst.iface);
            self.sockets.insert(key, sock);
        }
        Ok(())
    }

    /// Closes the sockets no instance sends or receives on any more.
    fn close_unused_sockets(&mut self) {
        let used: BTreeSet<(String, Family)> = self
            .router
            .instances()
            .iter()
            .map(|i| (i.config().iface.clone(), Family::of(i.config().src)))
            .collect();
        self.sockets.retain(|key, _| used.contains(key));
    }

    async fn received(&mut self, rx: std::io::Result<Received>) {
        self.turn = self.turn.wrapping_add(1);
        match rx {
            Ok(rx) => {
                let now = self.clock.now();
                if let Err(reason) = self.router.handle_packet(now, &rx) {
                    for line in self.drops.record(now, reason, rx.src, &rx.iface) {
                        warn!("{line}");
                    }
                }
            }
            Err(e) => {
                debug!("VRRP receive: {e}");
                // A persistent error must not spin the thread.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// (Re)starts the scripts and files the router's instances track.
    fn start_trackers(&mut self) {
        let tracks = self
            .router
            .instances()
            .iter()
            .flat_map(|i| i.config().tracks.iter());
        self.trackers = Trackers::start(&self.config, tracks, &self.reports, Some(&self.trackers));
    }

    fn tracked(&mut self, report: Report) {
        if let Some((kind, name, state)) = self.trackers.observe(report) {
            let cmd = Command::Track { kind, name, state };
            self.router.handle_command(self.clock.now(), &cmd);
        }
    }

    fn stop(&mut self) {
        info!("Stopping");
        self.router
            .handle_command(self.clock.now(), &Command::Shutdown);
        self.stopping = true;
    }

    /// SIGHUP with a config that passed the check; if it cannot run here,
    /// the old one carries on.
    async fn reload(&mut self, config: Config) {
        match Interfaces::read(&self.netlink).await {
            Ok(host) => self.host = host,
            Err(e) => warn!("reload: reading interfaces: {e}; using what was known"),
        }
        // The trackers apply() starts look their scripts up in the new config.
        let old = std::mem::replace(&mut self.config, config);
        let (resolved, vmacs) = self.resolve().await;
        match self.apply(resolved) {
            Ok(()) => {
                self.vmacs.keep(vmacs);
                self.tidy = true;
                self.statics
                    .reload(&self.netlink, &self.host, &self.config)
                    .await;
                self.routes
                    .reload(&self.netlink, &self.host, &self.config)
                    .await;
                info!("Reload finished");
                memory::shed_startup();
            }
            Err(e) => {
                self.config = old;
                error!("reload refused, old config kept: {e}");
            }
        }
    }

    /// Sends what the router transmitted, then carries out its actions —
    /// adverts first, as keepalived does: a new Master's advert makes the old
    /// one drop the addresses before the gratuitous ARPs arrive.
    async fn flush(&mut self) {
        while let Some(t) = self.router.poll_transmit() {
            let key = (t.iface.clone(), Family::of(t.dst));
            let Some(sock) = self.sockets.get(&key) else {
                warn!("no VRRP socket on {} for {}", t.iface, t.dst);
                continue;
            };
            if let Err(e) = sock.send(&t) {
                warn!("sending advert on {} to {}: {e}", t.iface, t.dst);
            }
        }
        let mut announcements = Vec::new();
        let mut logged: Vec<(String, bool)> = Vec::new();
        // Routes follow once the actions are done: a route may use a VIP
        // that an AddVip after the Notify adds.
        let mut moved = Vec::new();
        while let Some(a) = self.router.poll_action() {
            match a {
                Action::Notify {
                    instance,
                    from,
                    to,
                    reason,
                } => {
                    self.log_transition(&instance, from, to, &reason);
                    let priority = self.priority(&instance);
                    notify::instance(&self.config, &instance, to, priority);
                    self.fifos.write("INSTANCE", &instance, to, priority);
                    self.mail.instance(&self.config, &instance, to);
                    moved.push((instance, to));
                }
                Action::GroupNotify { group, from, to } => {
                    info!(group = %group, from = %from, to = %to, "VRRP_Group({group}) Syncing instances to {to} state");
                    notify::group(&self.config, &group, to);
                    self.fifos.write("GROUP", &group, to, 0);
                    self.mail.group(&self.config, &group, to);
                }
                Action::AddVip { instance, vip } => {
                    once(&mut logged, &instance, true, || {
                        info!("({instance}) setting VIPs.");
                    });
                    self.add_vip(&instance, &vip).await;
                }
                Action::DelVip { instance, vip } => {
                    if self.stopping && !self.release_on_stop {
                        continue;
                    }
                    once(&mut logged, &instance, false, || {
                        info!("({instance}) removing VIPs.");
                    });
                    self.del_vip(&instance, &vip).await;
                }
                Action::Garp {
                    iface,
                    addr,
                    repeat,
                } => {
                    info!(%iface, %addr, repeat, "Sending/queueing gratuitous ARPs on {iface} for {addr}");
                    announcements.push((iface, IpAddr::V4(addr), repeat));
                }
                Action::UnsolicitedNa {
                    iface,
                    addr,
                    repeat,
                } => {
                    info!(%iface, %addr, repeat, "Sending/queueing Unsolicited Neighbour Adverts on {iface} for {addr}");
                    announcements.push((iface, IpAddr::V6(addr), repeat));
                }
                Action::NoAccept {
                    instance,
                    addrs,
                    block,
                } => {
                    if let Err(e) = self.firewall.apply(&addrs, block).await {
                        error!("({instance}) no_accept firewall: {e}");
                    }
                }
            }
        }
        let keep = self.stopping && !self.release_on_stop;
        for (instance, to) in moved {
            self.routes
                .follow(&self.netlink, &self.host, &self.config, &instance, to, keep)
                .await;
        }
        self.announce(&announcements);
    }

    async fn add_vip(&mut self, instance: &str, vip: &Vip) {
        let Some(index) = self.host.link(&vip.iface).map(|l| l.index) else {
            error!(
                "({instance}) cannot add {}: no interface {}",
                vip.addr, vip.iface
            );
            return;
        };
        match self.netlink.add(index, vip).await {
            Ok(added) => {
                if !added {
                    info!(
                        "({instance}) {}/{} was already on {}",
                        vip.addr, vip.prefix_len, vip.iface
                    );
                }
                self.vip_moved(vip.addr, true);
            }
            Err(e) => error!("({instance}) cannot add {} on {}: {e}", vip.addr, vip.iface),
        }
    }

    async fn del_vip(&mut self, instance: &str, vip: &Vip) {
        let Some(index) = self.host.link(&vip.iface).map(|l| l.index) else {
            return;
        };
        match self.netlink.del(index, vip.addr, vip.prefix_len).await {
            Ok(()) => self.vip_moved(vip.addr, false),
            Err(e) => error!(
                "({instance}) cannot remove {} from {}: {e}",
                vip.addr, vip.iface
            ),
        }
    }

    fn vip_moved(&self, addr: IpAddr, present: bool) {
        if let Some(c) = &self.checkers {
            // A closed channel: the checker thread is stopping.
            let _ = c.send(Order::Vip { addr, present });
        }
    }

    /// Sends each round to every address before the next round, back to
    /// back, as keepalived does with its default `garp_interval` 0.
    fn announce(&self, announcements: &[(String, IpAddr, u32)]) {
        let rounds = announcements.iter().map(|a| a.2).max().unwrap_or(0);
        for round in 0..rounds {
            for (iface, addr, repeat) in announcements {
                if round >= *repeat {
                    continue;
                }
                let Some((index, mac)) =
                    self.host.link(iface).and_then(|l| Some((l.index, l.mac?)))
                else {
                    warn!("cannot announce {addr}: {iface} has no hardware address");
                    continue;
                };
                match self.announcer.announce(index, mac, *addr) {
                    Ok(()) if addr.is_ipv4() => {
                        debug!("Sending gratuitous ARP on {iface} for {addr}");
                    }
                    Ok(()) => debug!("Sending unsolicited Neighbour Advert on {iface} for {addr}"),
                    Err(e) => warn!("announcing {addr} on {iface}: {e}"),
                }
            }
        }
    }

    /// keepalived's words for a state change, so operators find the lines
    /// they know; the fields carry it for JSON consumers.
    fn log_transition(&self, instance: &str, from: State, to: State, reason: &Reason) {
        let ours = self.priority(instance);
        match (to, reason) {
            (
                State::Master,
                Reason::MasterDown | Reason::MasterResigned | Reason::Preempt | Reason::Owner,
            ) => {
                info!("({instance}) Receive advertisement timeout");
            }
            (State::Backup, Reason::HigherPriority { from, priority }) => {
                info!(
                    "({instance}) Master received advert from {from} with higher priority {priority}, ours {ours}"
                );
            }
            (State::Stopped, _) if from == State::Master => info!("({instance}) sent 0 priority"),
            _ => {}
        }
        let init = if matches!(reason, Reason::Startup) {
            " (init)"
        } else {
            ""
        };
        let text = match to {
            State::Stopped => format!("({instance}) Stopped"),
            _ => format!("({instance}) Entering {to} STATE{init}"),
        };
        info!(instance, from = %from, to = %to, reason = %reason, "{text}");
    }

    fn priority(&self, instance: &str) -> u8 {
        self.router
            .instance(instance)
            .map(|i| i.effective_priority())
            .unwrap_or_default()
    }
}

/// Runs `log` once per instance and direction within one flush: keepalived
/// says "setting VIPs." once, not once per address.
fn once(logged: &mut Vec<(String, bool)>, instance: &str, adding: bool, log: impl FnOnce()) {
    if !logged.iter().any(|(i, a)| i == instance && *a == adding) {
        logged.push((instance.to_string(), adding));
        log();
    }
}

//! The daemon (`vigil run`): VRRP against the real kernel.
//!
//! Up to three threads, each with a current-thread tokio runtime: the VRRP
//! thread runs the core's router and nothing else, so that work elsewhere
//! (signal handling, config reloads, health checks) never delays an advert;
//! the checker thread, when the config has virtual servers, runs the core's
//! director; the calling thread handles signals, re-reads the config,
//! answers `vigil status` on the control socket, writes the state dumps
//! the signals ask for and serves the metrics, each from a status the
//! other threads answer with, between two of their own events.
//!
//! - [`vrrp`]: the router driven by the kernel
//! - [`vrrp_socket`]: raw VRRP sockets, one per interface and family
//! - [`netlink`]: interfaces, addresses, routes and rules (the only
//!   rtnetlink user); [`routes`]: virtual and static routes and rules
//! - [`host`]: the interfaces as resolution and the announcer see them
//! - [`vmac`]: the macvlans of `use_vmac` instances; [`sysctl`]: the
//!   interface settings they need
//! - [`arp`]: gratuitous ARPs and unsolicited NAs over AF_PACKET
//! - [`ipvs`]: the kernel's IPVS table over generic netlink
//! - [`nftables`]: the firewall of instances without accept mode
//! - [`track`]: vrrp_scripts, track_files ([`track_file`]) and tracked
//!   processes; [`notify`]: notify scripts, at most so many at once
//!   ([`notify_queue`]); all run by [`scripts`]; [`notify_fifo`]: the notify FIFOs;
//!   [`smtp_alert`]: the alert mails
//! - [`users`]: the users and groups scripts run as
//! - [`scheduling`]: the threads' priorities, CPUs and memory locking
//! - [`signals`], [`clock`]; [`memory`]: what startup leaves resident, given back
//! - [`checkers`]: the director driven by probes, scripts and an IPVS
//!   backend; [`probe`]: the health checkers' probes (TCP, HTTP/SSL, SMTP,
//!   DNS, PING, UDP, MISC)
//! - [`control`]: the status socket; [`drop_log`]: dropped adverts, rate-limited
//! - [`dump`]: the state dumps of DATA, STATS and JSON signals
//! - [`metrics`]: the Prometheus exposition; [`http`]: its endpoint

pub mod arp;
pub mod checkers;
pub mod clock;
pub mod control;
pub mod drop_log;
pub mod dump;
pub mod host;
pub mod http;
pub mod ipvs;
pub mod memory;
pub mod metrics;
pub mod netlink;
pub mod nftables;
pub mod notify;
pub mod notify_fifo;
pub mod notify_queue;
pub mod probe;
pub mod routes;
pub mod scheduling;
pub mod scripts;
pub mod signals;
pub mod smtp_alert;
pub mod sysctl;
pub mod track;
pub mod track_file;
pub mod track_process;
pub mod users;
pub mod vmac;
pub mod vrrp;
pub mod vrrp_socket;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{error, info, warn};
use vigil_core::config::Config;
use vigil_core::config::model::global::Scheduling;

use crate::error::{Error, Result};
use checkers::Order;
use control::{Asker, ControlSocket};
use dump::Dumps;
use signals::{Dump, Request, Signals};
use vrrp::Control;

/// How the daemon runs, beyond its configuration.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// keepalived's `--dont-release-vrrp`: leave the virtual addresses in
    /// place when stopping (a Master still sends priority 0).
    pub dont_release_vrrp: bool,
    /// keepalived's `--dont-release-ipvs`: leave the virtual servers in
    /// the kernel's IPVS table when stopping.
    pub dont_release_ipvs: bool,
    /// Where `vigil status` finds the daemon; none: nowhere.
    pub control_socket: Option<PathBuf>,
    /// Where the DATA, STATS and JSON signals write their dumps.
    pub dump_dir: PathBuf,
    /// Where Prometheus scrapes `/metrics`; none: not served.
    pub metrics_listen: Option<SocketAddr>,
}

/// Runs the daemon on `config` until SIGTERM or SIGINT. On SIGHUP, `reload`
/// reads and checks the config again: `Err` carries the diagnostics, which
/// are logged while the running config carries on.
pub fn run(
    config: Config,
    options: &Options,
    mut reload: impl FnMut() -> std::result::Result<Config, String>,
) -> Result<()> {
    let main = new_runtime()?;
    main.block_on(async {
        // Before anything else: a SIGTERM during startup must stop us cleanly.
        let mut signals = Signals::install()?;
        raise_file_limit();
        scheduling::process(&config.global);
        let mut running_global = config.global.clone();
        // keepalived logs a SIGXCPU rather than dying of it.
        let mut xcpu = signal(SignalKind::from_raw(libc::SIGXCPU))
            .map_err(Error::io("installing the SIGXCPU handler"))?;
        // The daemon's work does not depend on the status socket: without
        // it, only `vigil status` is blind.
        let socket = options
            .control_socket
            .as_deref()
            .and_then(|path| match ControlSocket::bind(path) {
                Ok(s) => Some(s),
                Err(e) => {
                    error!("{e}; `vigil status` will not answer");
                    None
                }
            });
        scripts::configure(&config.global);
        let (done_tx, mut done) = mpsc::unbounded_channel();
        let mut threads = Vec::new();
        let checker = if config.virtual_servers.is_empty() {
            None
        } else {
            let (tx, orders) = mpsc::unbounded_channel();
            let config = config.clone();
            let release = !options.dont_release_ipvs;
            let sched = config.global.checker_process.clone();
            threads.push(spawn("checker", sched, done_tx.clone(), move || {
                checkers::serve(config, checkers::backend(), release, orders)
            })?);
            Some(tx)
        };
        let (control, orders) = mpsc::unbounded_channel();
        let release = !options.dont_release_vrrp;
        let vips = checker.clone();
        let sched = config.global.vrrp_process.clone();
        threads.push(spawn("VRRP", sched, done_tx, move || {
            vrrp::serve(config, release, orders, vips)
        })?);
        let asker = Asker {
            vrrp: control.clone(),
            lvs: checker.clone(),
        };
        if let Some(addr) = options.metrics_listen {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    info!("Serving metrics on http://{addr}/metrics");
                    tokio::spawn(http::serve(listener, asker.clone()));
                }
                // As without the control socket: only the scraper is blind.
                Err(e) => error!("metrics on {addr}: {e}; /metrics will not answer"),
            }
        }
        let dumps = Arc::new(Mutex::new(Dumps::new(options.dump_dir.clone())));
        let stop = || {
            // Closed means the thread already ended; join reports why.
            let _ = control.send(Control::Stop);
            if let Some(c) = &checker {
                let _ = c.send(Order::Stop);
            }
        };
        let mut running = threads.len();
        loop {
            tokio::select! {
                Some(()) = done.recv() => {
                    running -= 1;
                    if running == 0 {
                        break;
                    }
                    // One thread ended (on its own only by an error): the
                    // daemon stops rather than run half of itself.
                    stop();
                }
                Some(()) = xcpu.recv() => warn!("{}", scheduling::SIGXCPU_MESSAGE),
                request = signals.next() => match request {
                    Request::Stop => stop(),
                    Request::Reload => match reload() {
                        Ok(config) => {
                            scheduling::reloaded(&running_global, &config.global);
                            running_global = config.global.clone();
                            scripts::configure(&config.global);
                            match &checker {
                                Some(c) => {
                                    let _ = c.send(Order::Reload(Box::new(config.clone())));
                                }
                                None if !config.virtual_servers.is_empty() => warn!(
                                    "virtual servers added by a reload start when vigil restarts"
                                ),
                                None => {}
                            }
                            let _ = control.send(Control::Reload(Box::new(config)));
                        }
                        Err(diagnostics) => {
                            for line in diagnostics.lines() {
                                error!("{line}");
                            }
                            error!("reload failed: the configuration has errors; the running one is kept");
                        }
                    },
                    Request::Dump(dump) => {
                        tokio::spawn(write_dump(dump, asker.clone(), dumps.clone()));
                    }
                },
                Ok(client) = accept(socket.as_ref()) => {
                    tokio::spawn(control::answer(client, asker.clone()));
                }
            }
        }
        let mut result = Ok(());
        for (name, thread) in threads {
            let ended = thread.join().map_err(|_| Error::Panicked(name)).and_then(|r| r);
            if result.is_ok() {
                result = ended;
            }
        }
        if result.is_ok() {
            info!("vigil stopped");
        }
        result
    })
}

/// Runs `serve` on a thread of its own, scheduled as `sched` asks, with
/// its own current-thread runtime, so that no other thread's load can
/// delay its timers; `done` hears when it ends.
fn spawn<F, Fut>(
    name: &'static str,
    sched: Scheduling,
    done: mpsc::UnboundedSender<()>,
    serve: F,
) -> Result<(&'static str, JoinHandle<Result<()>>)>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<()>>,
{
    let thread = std::thread::Builder::new()
        .name(name.to_lowercase())
        .spawn(move || {
            scheduling::this_thread(name, &sched);
            let result = new_runtime().and_then(|rt| rt.block_on(serve()));
            // The main thread may be gone already; nothing to tell then.
            let _ = done.send(());
            result
        })
        .map_err(Error::io(format!("starting the {name} thread")))?;
    Ok((name, thread))
}

/// Writes the dump a DATA, STATS, STATS_CLEAR or JSON signal asks for.
/// Tasks run in the order the signals came, and so do the threads'
/// answers, so STATS_CLEAR then STATS count from the clear.
async fn write_dump(dump: Dump, asker: Asker, dumps: Arc<Mutex<Dumps>>) {
    let status = asker.status().await;
    let mut dumps = dumps.lock().unwrap_or_else(|e| e.into_inner());
    let name = dump.name();
    match dumps.write(dump, &status) {
        Ok(path) => info!("{name} dump written to {}", path.display()),
        Err(e) => error!("writing the {name} dump: {e}"),
    }
}

/// The next `vigil status` client; never without a socket.
async fn accept(socket: Option<&ControlSocket>) -> std::io::Result<tokio::net::UnixStream> {
    match socket {
        Some(s) => s.accept().await,
        None => std::future::pending().await,
    }
}

/// Every check holds a socket while it waits, so a thousand checks with
/// timeouts of seconds outgrow the usual soft limit of 1024 descriptors:
/// raise it to the hard limit, as keepalived does.
pub fn raise_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to our own struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                warn!("cannot raise the open file limit to {}", lim.rlim_max);
            }
        }
    }
}

fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("building the tokio runtime"))
}

//! The daemon (`vigil run`): VRRP against the real kernel.
//!
//! Two threads, each with a current-thread tokio runtime: the VRRP thread
//! runs the core's router and nothing else, so that work elsewhere (signal
//! handling, config reloads, later the health checkers) never delays an
//! advert; the calling thread handles signals and re-reads the config.
//!
//! - [`vrrp`]: the router driven by the kernel
//! - [`vrrp_socket`]: raw VRRP sockets, one per interface and family
//! - [`netlink`]: interfaces and addresses (the only rtnetlink user)
//! - [`host`]: the interfaces as resolution and the announcer see them
//! - [`arp`]: gratuitous ARPs and unsolicited NAs over AF_PACKET
//! - [`ipvs`]: the kernel's IPVS table over generic netlink
//! - [`nftables`]: the firewall of instances without accept mode
//! - [`track`]: vrrp_scripts and track_files; [`notify`]: notify scripts,
//!   both run by [`scripts`]; [`notify_fifo`]: the notify FIFOs;
//!   [`smtp_alert`]: the alert mails
//! - [`signals`], [`clock`]
//! - [`probe`]: the health checkers' probes (TCP, HTTP/SSL, SMTP, DNS,
//!   PING, UDP, MISC)

pub mod arp;
pub mod clock;
pub mod host;
pub mod ipvs;
pub mod netlink;
pub mod nftables;
pub mod notify;
pub mod notify_fifo;
pub mod probe;
pub mod scripts;
pub mod signals;
pub mod smtp_alert;
pub mod track;
pub mod vrrp;
pub mod vrrp_socket;

use tokio::sync::mpsc;
use tracing::{error, info};
use vigil_core::config::Config;

use crate::error::{Error, Result};
use signals::{Request, Signals};
use vrrp::Control;

/// How the daemon runs, beyond its configuration.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// keepalived's `--dont-release-vrrp`: leave the virtual addresses in
    /// place when stopping (a Master still sends priority 0).
    pub dont_release_vrrp: bool,
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
        let (control, orders) = mpsc::unbounded_channel();
        let release = !options.dont_release_vrrp;
        let (done_tx, mut done) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("vrrp".into())
            .spawn(move || {
                let result =
                    new_runtime().and_then(|rt| rt.block_on(vrrp::serve(config, release, orders)));
                // The main thread may be gone already; nothing to tell then.
                let _ = done_tx.send(());
                result
            })
            .map_err(Error::io("starting the VRRP thread"))?;
        loop {
            tokio::select! {
                _ = &mut done => break,
                request = signals.next() => match request {
                    Request::Stop => {
                        // Closed means the VRRP thread already ended; join reports why.
                        let _ = control.send(Control::Stop);
                    }
                    Request::Reload => match reload() {
                        Ok(config) => {
                            let _ = control.send(Control::Reload(Box::new(config)));
                        }
                        Err(diagnostics) => {
                            for line in diagnostics.lines() {
                                error!("{line}");
                            }
                            error!("reload failed: the configuration has errors; the running one is kept");
                        }
                    },
                },
            }
        }
        let result = thread
            .join()
            .map_err(|_| Error::Panicked("VRRP"))?;
        if result.is_ok() {
            info!("vigil stopped");
        }
        result
    })
}

fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("building the tokio runtime"))
}

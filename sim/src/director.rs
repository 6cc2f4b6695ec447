//! The LVS half of a node's vigil process: the core's [`Director`] driven
//! on the simulated clock, its probes run over turmoil ([`crate::probe`]),
//! its IPVS operations applied to the host's kernel model
//! ([`crate::ipvs`]) and written to the timeline.

use crate::probe;
use crate::world::World;
use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use tokio::sync::mpsc;
use vigil_core::Instant;
use vigil_core::check::ProbeResult;
use vigil_core::config::model::Config;
use vigil_core::lvs::director::{CheckId, Director, DirectorAction};
use vigil_core::scenario::What;

pub(crate) struct Lvs {
    director: Director,
    /// (path, track_file name) of every tracked file, for FILE_CHECK.
    files: Vec<(String, String)>,
    results: mpsc::UnboundedReceiver<(CheckId, ProbeResult)>,
    sender: mpsc::UnboundedSender<(CheckId, ProbeResult)>,
}

impl Lvs {
    /// Starts the virtual servers of node `i`'s config, from the table its
    /// host's kernel holds; `None` when the config has none.
    pub fn start(
        i: usize,
        w: &World,
        config: &Config,
        now: Instant,
    ) -> Result<Option<Lvs>, String> {
        if config.virtual_servers.is_empty() {
            return Ok(None);
        }
        let host = &w.hosts[i];
        let local: Vec<IpAddr> = host
            .addresses
            .iter()
            .map(|(a, _)| *a)
            .chain(host.ifaces.iter().map(|f| IpAddr::V4(f.v4)))
            .collect();
        let seed = u64::from(host.number);
        let director = Director::new(now, config, &host.kernel.table, &local, seed)
            .map_err(|e| e.to_string())?;
        let (sender, results) = mpsc::unbounded_channel();
        let mut lvs = Lvs {
            director,
            files: track_files(config),
            results,
            sender,
        };
        for (path, _) in lvs.files.clone() {
            lvs.file_changed(w, i, &path);
        }
        Ok(Some(lvs))
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.director.poll_timeout()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline().is_some_and(|t| t <= now) {
            self.director.handle_timeout(now);
        }
    }

    /// The next probe result.
    pub async fn recv(&mut self) -> Option<(CheckId, ProbeResult)> {
        self.results.recv().await
    }

    pub fn handle_result(&mut self, now: Instant, id: CheckId, result: ProbeResult) {
        self.director.handle_result(now, id, result);
    }

    pub fn address(&mut self, addr: IpAddr, present: bool) {
        self.director.handle_address(addr, present);
    }

    pub fn reload(&mut self, now: Instant, config: &Config) -> Result<(), String> {
        self.files = track_files(config);
        self.director.reload(now, config).map_err(|e| e.to_string())
    }

    pub fn shutdown(&mut self) {
        self.director.shutdown();
    }

    /// A file changed on host `i`: FILE_CHECKs read its number (0 when
    /// absent or not a number, as keepalived reads it).
    pub fn file_changed(&mut self, w: &World, i: usize, path: &str) {
        let value = w.hosts[i]
            .files
            .get(path)
            .and_then(|t| t.split_whitespace().next()?.parse::<i64>().ok())
            .unwrap_or(0);
        for (p, name) in &self.files {
            if p == path {
                self.director.handle_file(name, value);
            }
        }
    }

    /// Carries out what the director asked: probes start, the kernel's
    /// table changes, and the timeline records verdicts and changes.
    pub fn flush(&mut self, world: &Rc<RefCell<World>>, w: &mut World, i: usize, now: Instant) {
        let name = w.hosts[i].name.clone();
        while let Some(a) = self.director.poll_action() {
            match a {
                DirectorAction::StartProbe { check, probe } => {
                    let (world, sender) = (world.clone(), self.sender.clone());
                    tokio::task::spawn_local(async move {
                        let result = probe::run(i, world, *probe).await;
                        let _ = sender.send((check, result));
                    });
                }
                DirectorAction::Verdict { kind, rs, up, .. } => {
                    let rs = rs.to_string();
                    w.log(now, &name, What::Check { kind, rs, up });
                }
                DirectorAction::Ipvs(op) => {
                    if let Err(e) = w.hosts[i].kernel.apply(now, &op) {
                        let text = format!("ipvsadm {op}: {e}");
                        w.log(now, &name, What::Note { text });
                    }
                    w.log(now, &name, What::Ipvs { op: op.to_string() });
                }
                DirectorAction::Quorum { service, up } => {
                    let service = service.to_string();
                    w.log(now, &name, What::Quorum { service, up });
                }
                DirectorAction::RunScript(s) => {
                    let text = format!("run {}", s.command);
                    w.log(now, &name, What::Note { text });
                }
            }
        }
    }
}

fn track_files(config: &Config) -> Vec<(String, String)> {
    config
        .track_files
        .iter()
        .filter_map(|f| Some((f.file.clone()?, f.name.clone())))
        .collect()
}

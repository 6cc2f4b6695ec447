//! What instances track besides interfaces: `vrrp_script`s run every
//! `interval`, `track_file`s watched with inotify ([`track_file`]),
//! `vrrp_track_process`es counted in /proc ([`track_process`]). Each runs as a task on
//! the VRRP thread and reports to the VRRP loop, which turns reports into
//! the router's `Command::Track` — as the simulator's driver does with the
//! results its scenario sets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};
use vigil_core::config::Config;
use vigil_core::vrrp::track::{Debounce, Track, TrackKind, TrackState};

use super::scripts::{self, Outcome};
use super::{track_file, track_process};

/// One result of a tracked object.
#[derive(Debug)]
pub enum Report {
    Script { name: String, outcome: Outcome },
    File { name: String, value: i64 },
    Process { name: String, up: bool },
}

/// The running trackers of one configuration.
#[derive(Default)]
pub struct Trackers {
    tasks: Vec<JoinHandle<()>>,
    debounce: BTreeMap<String, Debounce>,
}

impl Trackers {
    /// Starts a task for every script and process in `tracks` (the
    /// instances' trackers) and one for all its files; scripts that `previous` ran keep their rise/fall count (a
    /// reload does not reset a verdict).
    pub fn start<'a>(
        config: &Config,
        tracks: impl Iterator<Item = &'a Track>,
        reports: &mpsc::Sender<Report>,
        previous: Option<&Trackers>,
    ) -> Trackers {
        let tracks: Vec<&Track> = tracks.collect();
        let tracked = |kind| {
            let mut names: Vec<String> = tracks
                .iter()
                .filter(|t| t.kind == kind)
                .map(|t| t.name.clone())
                .collect();
            names.sort();
            names.dedup();
            names
        };
        let mut tasks = Vec::new();
        let mut debounce = BTreeMap::new();
        for name in tracked(TrackKind::Script) {
            let Some(s) = config.script(&name) else {
                continue;
            };
            let Some(script) = s.script.as_ref() else {
                continue;
            };
            // Resolved once per config, as keepalived checks scripts at
            // load. One refused (missing, not executable, unsafe) reports a
            // failure every interval, where keepalived drops it: a check
            // that cannot run must not pass for one that succeeds.
            let script = scripts::prepare(script)
                .inspect_err(|why| {
                    warn!("VRRP_Script({name}) cannot run ({why}): it counts as failed");
                })
                .ok();
            let kept = previous.and_then(|p| p.debounce.get(&name)).cloned();
            debounce.insert(
                name.clone(),
                kept.unwrap_or_else(|| Debounce::new(s.rise, s.fall)),
            );
            let interval = s.interval.max(Duration::from_millis(10));
            // keepalived: a timeout of 0 means the interval.
            let timeout = if s.timeout.is_zero() {
                interval
            } else {
                s.timeout
            };
            let tx = reports.clone();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let outcome = match &script {
                        Some(s) => scripts::check(s, timeout).await,
                        None => Outcome::NotRun("refused at load".into()),
                    };
                    let report = Report::Script {
                        name: name.clone(),
                        outcome,
                    };
                    if tx.send(report).await.is_err() {
                        return;
                    }
                }
            }));
        }
        let files: Vec<(String, PathBuf)> = tracked(TrackKind::File)
            .into_iter()
            .filter_map(|name| {
                let f = config.track_files.iter().find(|f| f.name == name)?;
                let path = PathBuf::from(f.file.as_ref()?);
                Some((name, path))
            })
            .collect();
        if !files.is_empty() {
            tasks.push(tokio::spawn(track_file::watch(files, reports.clone())));
        }
        for name in tracked(TrackKind::Process) {
            let Some(t) = config.track_processes.iter().find(|t| t.name == name) else {
                continue;
            };
            tasks.push(tokio::spawn(track_process::watch(
                t.clone(),
                reports.clone(),
            )));
        }
        Trackers { tasks, debounce }
    }

    /// What a report changes, as the router's tracker command; `None` while
    /// a script's rise/fall count has not changed its verdict. A new
    /// verdict is logged as keepalived logs it (`VRRP_Script(chk) timed_out`).
    pub fn observe(&mut self, report: Report) -> Option<(TrackKind, String, TrackState)> {
        match report {
            Report::Script { name, outcome } => {
                let state = self.debounce.get_mut(&name)?.observe(outcome.success())?;
                info!("VRRP_Script({name}) {outcome}");
                Some((TrackKind::Script, name, state))
            }
            Report::File { name, value } => Some((TrackKind::File, name, TrackState::Value(value))),
            Report::Process { name, up } => {
                let state = if up { TrackState::Up } else { TrackState::Down };
                Some((TrackKind::Process, name, state))
            }
        }
    }
}

impl Drop for Trackers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

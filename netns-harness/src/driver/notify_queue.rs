//! The notify scripts in flight, bounded. keepalived starts one process per
//! notify and never times them out, so a notify script that hangs leaves a
//! process behind at every state change. Here:
//!
//! - at most [`MAX_RUNNING`] run at once; more wait, in order, for a place
//!   (logged when the first starts waiting);
//! - while some wait, a running script that has run [`STUCK_AFTER`] is
//!   taken as hung and terminated (SIGTERM to its group, SIGKILL two
//!   seconds later; logged), and its place goes to the next one;
//! - at most [`MAX_WAITING`] wait; beyond, the oldest waiting is dropped
//!   (logged).
//!
//! A burst of quick scripts (every instance of a big config changing state
//! at once) therefore all run, a few at a time. The VRRP and the checker
//! threads share the bound; a script is started, and waited for by a task,
//! on the runtime of the thread that asked for it (or that freed its place).
//!
//! Every script asked for is counted, and every one that did not succeed
//! (refused, not started, dropped, terminated, or ending other than 0), for
//! `vigil status` and the metrics.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::warn;
use vigil_core::config::model::Script;

use super::control::ScriptCounts;
use super::scripts::{self, Outcome, Running, Tie};

/// Notify scripts that may run at once.
pub const MAX_RUNNING: usize = 32;
/// Notify scripts that may wait for a place.
pub const MAX_WAITING: usize = 1024;
/// How long a notify script may run while others wait.
pub const STUCK_AFTER: Duration = Duration::from_secs(5);

/// A notify script and the arguments of its state change.
struct Job {
    script: Script,
    extra: Vec<String>,
}

/// A running notify script.
struct Entry {
    id: u64,
    pid: i32,
    command: String,
    started: Instant,
    /// Tells its task to terminate it; taken once that is asked.
    stop: Option<oneshot::Sender<()>>,
}

struct Queue {
    running: Vec<Entry>,
    waiting: VecDeque<Job>,
    next_id: u64,
    /// A task looks for hung scripts (only while some wait).
    watching: bool,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    running: Vec::new(),
    waiting: VecDeque::new(),
    next_id: 0,
    watching: false,
});

fn queue() -> MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(|e| e.into_inner())
}

static ASKED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

fn failed() {
    FAILED.fetch_add(1, Ordering::Relaxed);
}

/// The notify scripts asked for since the daemon started, and how many
/// of them did not succeed.
pub fn counts() -> ScriptCounts {
    ScriptCounts {
        runs: ASKED.load(Ordering::Relaxed),
        failures: FAILED.load(Ordering::Relaxed),
    }
}

/// Runs `script` with `extra` arguments now, or once a place is free.
pub fn submit(script: &Script, extra: &[String]) {
    ASKED.fetch_add(1, Ordering::Relaxed);
    let job = Job {
        script: script.clone(),
        extra: extra.to_vec(),
    };
    let mut q = queue();
    if q.waiting.is_empty() && q.running.len() < MAX_RUNNING {
        q.start(job);
        return;
    }
    if q.waiting.is_empty() {
        warn!(
            "{MAX_RUNNING} notify scripts are running: {} and those after it wait for one to end",
            job.script.command
        );
    }
    if q.waiting.len() >= MAX_WAITING
        && let Some(old) = q.waiting.pop_front()
    {
        warn!(
            "{MAX_WAITING} notify scripts are waiting: dropped the oldest, {} {}",
            old.script.command,
            old.extra.join(" ")
        );
        failed();
    }
    q.waiting.push_back(job);
    q.watch();
}

impl Queue {
    /// Starts `job` and a task that waits for it, ends it when told, and
    /// hands its place on.
    fn start(&mut self, job: Job) {
        // prepare logs why it refuses a script.
        let Ok(prepared) = scripts::prepare(&job.script) else {
            failed();
            return;
        };
        let mut running = match Running::start(&prepared, &job.extra, Tie::Notify) {
            Ok(r) => r,
            Err(e) => {
                warn!("cannot run {}: {e}", job.script.command);
                failed();
                return;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let (stop, stopped) = oneshot::channel();
        self.running.push(Entry {
            id,
            pid: running.pid(),
            command: job.script.command.clone(),
            started: Instant::now(),
            stop: Some(stop),
        });
        let command = job.script.command;
        tokio::spawn(async move {
            let ended = tokio::select! {
                outcome = running.finish(None) => Some(outcome),
                Ok(()) = stopped => None,
            };
            let outcome = match ended {
                Some(outcome) => outcome,
                None => {
                    running.terminate().await;
                    Outcome::Terminated
                }
            };
            if !outcome.success() {
                warn!("notify script {command} {outcome}");
                failed();
            }
            queue().ended(id);
        });
    }

    /// Script `id` ended: its place goes to those waiting.
    fn ended(&mut self, id: u64) {
        self.running.retain(|e| e.id != id);
        while self.running.len() < MAX_RUNNING
            && let Some(job) = self.waiting.pop_front()
        {
            self.start(job);
        }
    }

    /// Starts the task that ends hung scripts, unless one runs.
    fn watch(&mut self) {
        if std::mem::replace(&mut self.watching, true) {
            return;
        }
        tokio::spawn(async {
            loop {
                // The guard must not live across the await.
                let next = queue().end_stuck(Instant::now());
                let Some(at) = next else { return };
                tokio::time::sleep_until(at.into()).await;
            }
        });
    }

    /// Terminates, oldest first, scripts that have run [`STUCK_AFTER`],
    /// one for each script waiting that no ending script will make room
    /// for; when to look again, `None` (the watch ends) once none wait.
    fn end_stuck(&mut self, now: Instant) -> Option<Instant> {
        if self.waiting.is_empty() {
            self.watching = false;
            return None;
        }
        let ending = self.running.iter().filter(|e| e.stop.is_none()).count();
        let mut wanted = self.waiting.len().saturating_sub(ending);
        self.running.sort_by_key(|e| e.started);
        for e in self.running.iter_mut().filter(|e| e.stop.is_some()) {
            let ran = now.duration_since(e.started);
            if ran < STUCK_AFTER {
                return Some(e.started + STUCK_AFTER);
            }
            if wanted == 0 {
                break;
            }
            wanted -= 1;
            warn!(
                "notify script {} (pid {}) still running after {:.1} s while {} wait: terminating it",
                e.command,
                e.pid,
                ran.as_secs_f64(),
                self.waiting.len()
            );
            if let Some(stop) = e.stop.take() {
                let _ = stop.send(());
            }
        }
        // Room is being made; look again soon in case more is needed.
        Some(now + Duration::from_secs(1))
    }
}

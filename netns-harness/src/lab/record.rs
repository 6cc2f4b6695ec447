//! The run's timeline as the lab sees it: every event stamped with the
//! time since the scenario's start when the lab learnt of it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant as WallClock};

use vigil_core::Instant;
use vigil_core::scenario::{Event, What};

/// Shared by every thread that reports; clones are the same recorder.
#[derive(Clone)]
pub struct Recorder {
    start: Arc<Mutex<WallClock>>,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            start: Arc::new(Mutex::new(WallClock::now())),
            events: Arc::default(),
        }
    }

    /// The scenario starts now: watchers started before it (address
    /// monitors) already hold the recorder.
    pub fn restart(&self) {
        *self.start.lock().unwrap_or_else(PoisonError::into_inner) = WallClock::now();
    }

    /// Time since the scenario's start.
    pub fn elapsed(&self) -> Duration {
        self.start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }

    pub fn log(&self, host: &str, what: What) {
        self.log_at(self.elapsed(), host, what);
    }

    pub fn log_at(&self, at: Duration, host: &str, what: What) {
        let event = Event {
            at: Instant::ZERO + at,
            host: host.to_string(),
            what,
        };
        // A thread that panicked while pushing left a whole Vec behind.
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    /// Every event so far, in time order.
    pub fn events(&self) -> Vec<Event> {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        events.sort_by_key(|e| e.at);
        events
    }
}

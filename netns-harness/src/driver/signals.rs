//! The signals an operator (or systemd) sends, numbered as keepalived 2.2.7
//! numbers its signal functions (`keepalived --signum=NAME`, `vigil run
//! --signum NAME`): STOP (SIGTERM, and SIGINT) stops the daemon gracefully,
//! RELOAD (SIGHUP) re-reads the configuration, DATA (SIGUSR1), STATS
//! (SIGUSR2), STATS_CLEAR (SIGRTMAX-1) and JSON (SIGRTMIN+2) write the state
//! dumps. A real-time signal's default action is to end the process, so
//! every one of them is handled, whatever the config asks for.

use std::task::Poll;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Stop,
    Reload,
    Dump(Dump),
}

/// The state dumps a signal asks for ([`super::dump`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dump {
    /// The configuration and state of every instance and virtual server.
    Data,
    /// Each instance's counters.
    Stats,
    /// Each instance's counters, which then start again from zero (in the
    /// stats dump only).
    StatsClear,
    /// The status as JSON.
    Json,
}

impl Dump {
    /// keepalived's name for it: `DATA`, `STATS`, `STATS_CLEAR`, `JSON`.
    pub fn name(self) -> &'static str {
        Request::Dump(self).name()
    }
}

impl Request {
    const ALL: [Request; 6] = [
        Request::Stop,
        Request::Reload,
        Request::Dump(Dump::Data),
        Request::Dump(Dump::Stats),
        Request::Dump(Dump::StatsClear),
        Request::Dump(Dump::Json),
    ];

    /// keepalived's name for the function (`--signum=NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Request::Stop => "STOP",
            Request::Reload => "RELOAD",
            Request::Dump(Dump::Data) => "DATA",
            Request::Dump(Dump::Stats) => "STATS",
            Request::Dump(Dump::StatsClear) => "STATS_CLEAR",
            Request::Dump(Dump::Json) => "JSON",
        }
    }

    /// The signal that asks for it. SIGRTMIN is glibc's (34, above the two
    /// real-time signals its threads keep), as keepalived's.
    pub fn signal(self) -> i32 {
        match self {
            Request::Stop => libc::SIGTERM,
            Request::Reload => libc::SIGHUP,
            Request::Dump(Dump::Data) => libc::SIGUSR1,
            Request::Dump(Dump::Stats) => libc::SIGUSR2,
            Request::Dump(Dump::StatsClear) => libc::SIGRTMAX() - 1,
            Request::Dump(Dump::Json) => libc::SIGRTMIN() + 2,
        }
    }

    /// The function keepalived calls `name`.
    pub fn named(name: &str) -> Option<Request> {
        Request::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Every function's name, for messages.
    pub fn names() -> Vec<&'static str> {
        Request::ALL.map(Request::name).to_vec()
    }
}

pub struct Signals {
    handlers: Vec<(Signal, Request)>,
}

impl Signals {
    /// Installs the handlers; from now on these signals no longer kill the
    /// process. Must run inside a tokio runtime.
    pub fn install() -> Result<Signals> {
        let sources = Request::ALL
            .into_iter()
            .map(|r| (r.signal(), r))
            .chain([(libc::SIGINT, Request::Stop)]);
        let mut handlers = Vec::new();
        for (number, request) in sources {
            let s = signal(SignalKind::from_raw(number)).map_err(Error::io(format!(
                "installing the handler of signal {number} ({})",
                request.name()
            )))?;
            handlers.push((s, request));
        }
        Ok(Signals { handlers })
    }

    pub async fn next(&mut self) -> Request {
        std::future::poll_fn(|cx| {
            for (s, request) in &mut self.handlers {
                // Ready(None) cannot happen while the runtime runs.
                if s.poll_recv(cx).is_ready() {
                    return Poll::Ready(*request);
                }
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `keepalived --signum=NAME` prints for each name here (Debian's
    /// 2.2.7, glibc): 15, 1, 10, 12, 63, 36.
    #[test]
    fn functions_are_numbered_as_keepalived_numbers_them() {
        let numbers: Vec<(&str, i32)> = Request::ALL
            .into_iter()
            .map(|r| (r.name(), r.signal()))
            .collect();
        assert_eq!(
            numbers,
            [
                ("STOP", 15),
                ("RELOAD", 1),
                ("DATA", 10),
                ("STATS", 12),
                ("STATS_CLEAR", 63),
                ("JSON", 36)
            ]
        );
        assert_eq!(Request::named("JSON"), Some(Request::Dump(Dump::Json)));
        assert_eq!(Request::named("json"), None);
    }
}

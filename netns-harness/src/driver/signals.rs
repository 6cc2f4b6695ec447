//! The signals an operator (or systemd) sends: SIGTERM / SIGINT stop the
//! daemon gracefully, SIGHUP reloads the configuration.

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Stop,
    Reload,
}

pub struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    /// Installs the handlers; from now on these signals no longer kill the
    /// process. Must run inside a tokio runtime.
    pub fn install() -> Result<Signals> {
        let on = |kind: SignalKind, name: &str| {
            signal(kind).map_err(Error::io(format!("installing the {name} handler")))
        };
        Ok(Signals {
            term: on(SignalKind::terminate(), "SIGTERM")?,
            int: on(SignalKind::interrupt(), "SIGINT")?,
            hup: on(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    pub async fn next(&mut self) -> Request {
        tokio::select! {
            _ = self.term.recv() => Request::Stop,
            _ = self.int.recv() => Request::Stop,
            _ = self.hup.recv() => Request::Reload,
        }
    }
}

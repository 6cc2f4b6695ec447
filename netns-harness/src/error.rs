//! The one error type of vigil-netns.

use std::io;

/// What can stop the daemon or a lab.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed; `what` says which and on what.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    /// The kernel refused or failed a netlink request.
    #[error("netlink: {what}: {message}")]
    Netlink { what: String, message: String },
    /// An external command (`ip`, …) failed.
    #[error("{0}")]
    Command(String),
    /// The configuration cannot run on this host.
    #[error("{0}")]
    Config(String),
    /// A thread of the daemon panicked (a bug: its message went to stderr).
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
    #[error(transparent)]
    Router(#[from] vigil_core::vrrp::router::RouterError),
}

impl Error {
    /// Wraps an `io::Error` with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }

    /// Ok when the command `what` exited 0, else its stderr as the error.
    pub fn check_exit(what: &str, out: &std::process::Output) -> Result<()> {
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Command(format!(
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Helpers shared by the probe tests.

use std::net::SocketAddr;
use std::time::Duration;
use vigil_core::check::Conn;

/// A connection to `dst` with no options and `timeout_ms` to connect.
pub fn conn(dst: SocketAddr, timeout_ms: u64) -> Conn {
    Conn {
        dst,
        bindto: None,
        bind_port: None,
        bind_if: None,
        fwmark: None,
        connect_timeout: Duration::from_millis(timeout_ms),
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Returns from the test with `SKIPPED: <reason>` unless running as root.
#[macro_export]
macro_rules! require_root {
    ($why:expr) => {
        if !$crate::support::is_root() {
            println!("SKIPPED: {} needs root", $why);
            return;
        }
    };
}

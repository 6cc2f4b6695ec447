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
/// Whether `ip` (iproute2) can be run.
pub fn has_ip() -> bool {
    std::process::Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `f` on a thread of its own inside a new, anonymous network
/// namespace where `lo` is up and `ip` was run with each of `setup`. The
/// namespace goes away with the thread, so nothing outlives the test even
/// when it fails. `f` gets a current-thread tokio runtime.
pub fn in_netns<T, F>(setup: &[&str], sysctls: &[(&str, &str)], f: F) -> T
where
    T: Send + 'static,
    F: AsyncFnOnce() -> T + Send + 'static,
{
    let setup: Vec<String> = setup.iter().map(|s| s.to_string()).collect();
    let sysctls: Vec<(String, String)> = sysctls
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let worker = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare netns");
        for cmd in std::iter::once("link set lo up").chain(setup.iter().map(String::as_str)) {
            let status = std::process::Command::new("ip")
                .args(cmd.split_whitespace())
                .status()
                .expect("run ip");
            assert!(status.success(), "ip {cmd}: {status}");
        }
        // Network sysctls are per namespace: this thread's, at open time.
        for (path, value) in &sysctls {
            std::fs::write(path, value).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f())
    });
    match worker.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

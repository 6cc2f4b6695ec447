//! `vigil run` (the built binary) in a test's namespace, and the kernel
//! table it programs there.

use crate::support::Netns;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use vigil_core::lvs::ipvs::IpvsState;
use vigil_netns::driver::ipvs::Ipvs;

/// How long the first lines may take: a debug binary of some 170 MB read
/// over 9p by an emulated CPU takes 8 s or more to start in the VM.
const STARTUP: Duration = Duration::from_secs(90);

/// `target/debug/vigil` beside `target/debug/deps/<this test>`: visible in
/// the VM too, whose root is the host's under an overlay. `None` prints
/// why the caller should skip.
pub fn vigil_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("vigil");
    if bin.is_file() {
        return Some(bin);
    }
    println!("SKIPPED: no target/debug/vigil beside this test (cargo build --bin vigil)");
    None
}

/// The kernel's IPVS table in `ns`.
pub fn table(ns: &Netns) -> IpvsState {
    ns.run(|| {
        Ipvs::open()
            .and_then(|mut i| i.dump())
            .unwrap_or_else(|e| panic!("dumping IPVS: {e}"))
    })
}

/// `vigil run` in a namespace, killed on drop if still running.
pub struct Daemon {
    child: Child,
    conf: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    vigil: PathBuf,
}

impl Daemon {
    /// Starts `vigil run` on `conf` (written to `dir`) in `ns` and waits
    /// until its checkers run.
    pub fn start(vigil: &Path, ns: &Netns, dir: &Path, conf: &str, extra: &[&str]) -> Daemon {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("vigil{n}.conf"));
        std::fs::write(&path, conf).expect("write the config");
        let socket = dir.join(format!("vigil{n}.sock"));
        let log = dir.join(format!("vigil{n}.log"));
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(vigil)
            .args(["run", "-f"])
            .arg(&path)
            .arg("--control-socket")
            .arg(&socket)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start vigil");
        let mut d = Daemon {
            child,
            conf: path,
            socket,
            log,
            vigil: vigil.to_owned(),
        };
        d.wait_log("Checkers started", STARTUP);
        d
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has `line` `timeout` at most, failing with the
    /// log if vigil exits first.
    pub fn wait_log(&mut self, line: &str, timeout: Duration) {
        let started = Instant::now();
        while !self.log().contains(line) {
            if let Some(status) = self.child.try_wait().expect("wait for vigil") {
                panic!("vigil exited with {status}:\n{}", self.log());
            }
            assert!(
                started.elapsed() < timeout,
                "no {line:?} in vigil's log after {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Replaces the config and sends SIGHUP.
    pub fn reload(&self, conf: &str) {
        std::fs::write(&self.conf, conf).expect("write the config");
        self.signal(nix::sys::signal::Signal::SIGHUP);
    }

    /// `vigil status --json`.
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_slice(&self.status_output(true)).expect("vigil status's JSON")
    }

    /// `vigil status` as an operator reads it.
    pub fn status_text(&self) -> String {
        String::from_utf8(self.status_output(false)).expect("UTF-8 status")
    }

    fn status_output(&self, json: bool) -> Vec<u8> {
        let mut cmd = Command::new(&self.vigil);
        cmd.args(["status", "--socket"]).arg(&self.socket);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().expect("run vigil status");
        assert!(
            out.status.success(),
            "vigil status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `ip netns exec` execs vigil: the child is vigil.
    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, signal).expect("signal vigil");
    }

    /// SIGTERM, then waits for a clean exit; returns the log.
    pub fn stop(mut self) -> String {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for vigil") {
                break s;
            }
            assert!(
                Instant::now() < until,
                "vigil did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let log = self.log();
        assert!(status.success(), "vigil exited with {status}:\n{log}");
        log
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Already reaped after stop(): kill then fails, harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `ns`'s table until `done` holds of it, within `timeout`; fails
/// with the table and vigil's log. Prints how long it took.
pub fn wait_table(
    ns: &Netns,
    daemon: &Daemon,
    what: &str,
    timeout: Duration,
    done: impl Fn(&IpvsState) -> bool,
) -> IpvsState {
    let started = Instant::now();
    loop {
        let t = table(ns);
        if done(&t) {
            println!("{what}: {:.1} s", started.elapsed().as_secs_f64());
            return t;
        }
        assert!(
            started.elapsed() < timeout,
            "{what}: not after {timeout:?}; the table:\n{t:#?}\nvigil's log:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

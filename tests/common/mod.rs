//! Helpers shared by the namespace tests (`tests/run.rs`, `tests/interop.rs`, …):
//! a lab or a `SKIPPED:` line, vigil and keepalived 2.2.7 run in its nodes,
//! tcpdump on its bridge, and polling with a deadline.
#![allow(dead_code)] // each test crate uses its own subset

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use vigil_netns::driver::control::Status;
use vigil_netns::lab::{self, Lab};

/// A lab of `nodes` hosts, or `None` (after saying why) where none can be built.
pub fn lab(nodes: usize) -> Option<Lab> {
    if let Some(why) = lab::available() {
        println!("SKIPPED: {why}");
        return None;
    }
    Some(Lab::new(nodes).expect("build the lab"))
}

/// Why keepalived cannot run here, for a `SKIPPED:` line.
pub fn keepalived_missing() -> Option<String> {
    match Command::new("keepalived").arg("--version").output() {
        Ok(_) => None,
        Err(e) => Some(format!("keepalived is not installed: {e}")),
    }
}

/// Sends `sig` to `pid`.
fn kill(pid: u32, sig: libc::c_int) {
    let pid = i32::try_from(pid).expect("pid");
    // SAFETY: kill(2) on a process we started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill {pid}");
}

/// The exit status of `child` if it exits within `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// One `vigil run` in a node, its stderr in a file.
pub struct Vigil {
    pub child: Child,
    pub conf: PathBuf,
    log: PathBuf,
    pub socket: PathBuf,
}

impl Vigil {
    pub fn start(lab: &Lab, node: usize, dir: &Path, conf: &str, extra: &[&str]) -> Vigil {
        let path = dir.join(format!("node{node}.conf"));
        std::fs::write(&path, conf).expect("write config");
        let log = dir.join(format!("node{node}.log"));
        // Not the default under /run: the test touches only what it made.
        let socket = dir.join(format!("node{node}.sock"));
        let child = lab
            .command(lab.node(node), env!("CARGO_BIN_EXE_vigil"))
            .args(["run", "-f"])
            .arg(&path)
            .arg("--control-socket")
            .arg(&socket)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("start vigil");
        Vigil {
            child,
            conf: path,
            log,
            socket,
        }
    }

    /// `ip netns exec` execs vigil, so the child's pid is vigil's.
    pub fn signal(&self, sig: libc::c_int) {
        kill(self.child.id(), sig);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has `text` `n` times, failing with the log.
    pub fn wait_log(&self, text: &str, n: usize, limit: Duration) {
        let found = within(limit, || self.log().matches(text).count() >= n);
        assert!(
            found.is_some(),
            "no {n}× {text:?} within {limit:?}:\n{}",
            self.log()
        );
    }

    /// `vigil status` as an operator reads it.
    pub fn status_text(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["status", "--socket"])
            .arg(&self.socket)
            .output()
            .expect("vigil status");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What `vigil status --json` says, as an operator's script reads it;
    /// `None` while the daemon does not answer yet.
    pub fn status(&self) -> Option<Status> {
        self.status_bytes()
            .map(|b| serde_json::from_slice(&b).expect("status JSON"))
    }

    /// `vigil status --json` as untyped JSON, for tests that pick fields.
    pub fn json(&self) -> serde_json::Value {
        self.try_json().expect("vigil status answers")
    }

    /// [`json`](Vigil::json), or `None` while the daemon does not answer.
    pub fn try_json(&self) -> Option<serde_json::Value> {
        self.status_bytes()
            .map(|b| serde_json::from_slice(&b).expect("status JSON"))
    }

    fn status_bytes(&self) -> Option<Vec<u8>> {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["status", "--json", "--socket"])
            .arg(&self.socket)
            .output()
            .expect("vigil status");
        out.status.success().then_some(out.stdout)
    }

    /// The exit status if it exits within `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.child, limit)
    }
}

/// keepalived 2.2.7 in a node of the lab, in the foreground (`-n`), VRRP
/// only (`-P`), logging in detail to a file; its own pid files, so several
/// run side by side.
pub struct Keepalived {
    pub child: Child,
    vrrp_pid: PathBuf,
    log: PathBuf,
}

impl Keepalived {
    pub fn start(lab: &Lab, node: usize, dir: &Path, conf: &str) -> Keepalived {
        let path = dir.join(format!("ka{node}.conf"));
        std::fs::write(&path, conf).expect("write config");
        let pid = |what: &str| dir.join(format!("ka{node}-{what}.pid"));
        let log = dir.join(format!("ka{node}.log"));
        let out = File::create(&log).expect("log file");
        let child = lab
            .command(lab.node(node), "keepalived")
            .args(["-n", "-l", "-D", "-P", "-f"])
            .arg(&path)
            .arg("-p")
            .arg(pid("main"))
            .arg("-r")
            .arg(pid("vrrp"))
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start keepalived");
        Keepalived {
            child,
            vrrp_pid: pid("vrrp"),
            log,
        }
    }

    /// SIGKILL goes to the VRRP child too, as in a crash: the parent would
    /// otherwise restart it. Other signals go to the parent, which forwards.
    pub fn signal(&self, sig: libc::c_int) {
        if sig == libc::SIGKILL {
            let child = std::fs::read_to_string(&self.vrrp_pid).expect("VRRP pid file");
            kill(child.trim().parse().expect("pid"), sig);
        }
        kill(self.child.id(), sig);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.child, limit)
    }
}

/// Runs `f` on a thread of its own inside node `node`'s network namespace
/// (setns(2) moves only the calling thread), for clients and servers the
/// test itself plays there.
pub fn spawn_in_node<T: Send + 'static>(
    lab: &Lab,
    node: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let ns = File::open(format!("/run/netns/{}", lab.node(node))).expect("open the netns");
    std::thread::spawn(move || {
        // SAFETY: a valid namespace fd, for the calling thread.
        let moved =
            unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET) };
        assert_eq!(moved, 0, "setns");
        f()
    })
}

/// Writes a shell script `name` in `dir` with `mode`; its path.
pub fn script(dir: &Path, name: &str, body: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.display().to_string()
}

pub fn holds(lab: &Lab, node: usize, vip: &str) -> bool {
    let text = lab.addresses(node).expect("ip addr");
    text.split_whitespace()
        .any(|w| w.split('/').next() == Some(vip))
}

/// How long `cond` took to become true, if it did within `limit`.
pub fn within(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The fields of a `/proc/…/stat` file after the command name (which may
/// hold spaces), so that index 0 is field 3, the state; `None` once the
/// process or thread is gone.
pub fn stat_fields(path: &Path) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(String::from).collect())
}

/// tcpdump on the lab's bridge, writing every VRRP, ARP and ICMPv6 frame as
/// it comes (`--immediate-mode`: libpcap's block timeout would lose the last
/// second at SIGINT).
pub struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    /// Whole frames into `dir/bridge.pcap`.
    pub fn start(lab: &Lab, dir: &Path) -> Option<Capture> {
        Capture::start_to(lab, &dir.join("bridge.pcap"), 0)
    }

    /// Frames cut to `snaplen` bytes (0: whole) into `file`.
    pub fn start_to(lab: &Lab, file: &Path, snaplen: u32) -> Option<Capture> {
        let filter = "ip proto 112 or ip6 proto 112 or arp or icmp6";
        Capture::start_filtered(lab, file, snaplen, filter)
    }

    /// Frames that pass the pcap `filter`, cut to `snaplen` bytes, into `file`.
    pub fn start_filtered(lab: &Lab, file: &Path, snaplen: u32, filter: &str) -> Option<Capture> {
        let err = file.with_extension("tcpdump.err");
        let child = lab
            .command(lab.bridge(), "tcpdump")
            .args(["-Z", "root", "--immediate-mode", "-i", "br0", "-U", "-n"])
            .args(["-s", &snaplen.to_string(), "-w"])
            .arg(file)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(File::create(&err).expect("tcpdump stderr"))
            .spawn()
            .ok()?;
        let listening = within(Duration::from_secs(5), || {
            std::fs::read_to_string(&err).is_ok_and(|t| t.contains("listening on"))
        });
        listening.map(|_| Capture {
            child,
            file: file.to_path_buf(),
        })
    }

    pub fn stop(mut self) -> PathBuf {
        kill(self.child.id(), libc::SIGINT);
        let _ = self.child.wait();
        self.file
    }
}

/// A config with `before` the instance (scripts, track files) and `inside` it.
pub fn vrrp_conf_with(
    priority: u8,
    vip: &str,
    advert_int: &str,
    before: &str,
    inside: &str,
) -> String {
    let prefix = if vip.contains(':') { 64 } else { 24 };
    format!(
        "{before}
vrrp_instance VI_1 {{
    {inside}
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int {advert_int}
    version 3
    virtual_ipaddress {{
        {vip}/{prefix}
    }}
}}
"
    )
}

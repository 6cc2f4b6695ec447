//! A node's `vigil run` inside its namespace, its JSON log turned into
//! timeline events, and the kernel's view of its virtual addresses.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use vigil_core::scenario::What;
use vigil_core::vrrp::State;

use super::files::NodeDir;
use super::record::Recorder;
use crate::error::{Error, Result};

/// One node's vigil process (none while it is not running).
pub struct Daemon {
    pub name: String,
    ns: String,
    pub dir: NodeDir,
    child: Option<Child>,
    reader: Option<JoinHandle<()>>,
}

impl Daemon {
    pub fn new(name: &str, ns: &str, dir: NodeDir) -> Daemon {
        Daemon {
            name: name.to_string(),
            ns: ns.to_string(),
            dir,
            child: None,
            reader: None,
        }
    }

    /// Whether the process is alive (a frozen one is).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// `ip netns exec NS VIGIL run …`: `ip` execs vigil in place, so the
    /// child's pid is the daemon's and signals reach it directly.
    pub fn start(&mut self, vigil: &Path, rec: &Recorder) -> Result<()> {
        if self.running() {
            return Ok(());
        }
        self.reap();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(vigil)
            .arg("run")
            .arg("-f")
            .arg(self.dir.config())
            .args(["--log-format", "json", "--pid-file"])
            .arg(self.dir.pid_file())
            .arg("--control-socket")
            .arg(self.dir.control_socket())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(Error::io(format!("starting vigil in {}", self.ns)))?;
        let stderr = child.stderr.take();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.log_file())
            .map_err(Error::io(format!("{}", self.dir.log_file().display())))?;
        let (name, rec) = (self.name.clone(), rec.clone());
        self.reader = stderr.map(|s| std::thread::spawn(move || read_log(s, log, &name, &rec)));
        self.child = Some(child);
        Ok(())
    }

    /// Signals the daemon if it still runs: a reaped child's pid may
    /// already belong to another process.
    pub fn signal(&mut self, signal: i32) {
        if !self.running() {
            return;
        }
        if let Some(pid) = self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok()) {
            // SAFETY: kill(2) on our own child, which we have not reaped yet.
            unsafe { libc::kill(pid, signal) };
        }
    }

    /// SIGTERM and wait up to `patience` for the exit (a frozen process
    /// is thawed first, or it could not act on the signal); then SIGKILL.
    pub fn stop(&mut self, patience: Duration) {
        if !self.running() {
            return;
        }
        self.signal(libc::SIGTERM);
        self.signal(libc::SIGCONT);
        let until = Instant::now() + patience;
        while self.running() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }

    pub fn kill(&mut self) {
        if self.running() {
            self.signal(libc::SIGKILL);
        }
        self.reap();
    }

    /// Waits for the exited child and for the last lines of its log.
    fn reap(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Already reaped or never started: nothing is left to wait for.
            let _ = c.wait();
        }
        if let Some(r) = self.reader.take() {
            // A reader that panicked has lost lines, not the run.
            let _ = r.join();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies the daemon's log to its file and the events it names to the timeline.
fn read_log(stderr: ChildStderr, mut file: std::fs::File, node: &str, rec: &Recorder) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        // The file is for people debugging a run; the timeline does not need it.
        let _ = writeln!(file, "{line}");
        if let Some(what) = event_of(&line) {
            rec.log(node, what);
        }
    }
}

/// The timeline event a JSON log line of `vigil run` carries, if any:
/// state changes (fields `instance`, `from`, `to`, `reason`), sync groups,
/// gratuitous ARPs / NAs (`addr`, `repeat`) and errors.
fn event_of(line: &str) -> Option<What> {
    let v: Value = serde_json::from_str(line).ok()?;
    let fields = v.get("fields")?;
    let text = |k: &str| fields.get(k).and_then(Value::as_str);
    let state = |k: &str| text(k).and_then(parse_state);
    if let (Some(from), Some(to)) = (state("from"), state("to")) {
        if let Some(instance) = text("instance") {
            return Some(What::State {
                instance: instance.to_string(),
                from,
                to,
                reason: text("reason").unwrap_or_default().to_string(),
            });
        }
        if let Some(group) = text("group") {
            return Some(What::Group {
                group: group.to_string(),
                from,
                to,
            });
        }
    }
    if let (Some(addr), Some(repeat)) = (
        text("addr").and_then(|a| a.parse::<IpAddr>().ok()),
        fields.get("repeat").and_then(Value::as_u64),
    ) {
        return Some(What::Announce {
            addr,
            repeat: u32::try_from(repeat).unwrap_or(u32::MAX),
        });
    }
    if v.get("level").and_then(Value::as_str) == Some("ERROR") {
        return Some(What::Note {
            text: format!("vigil: {}", text("message").unwrap_or_default()),
        });
    }
    None
}

fn parse_state(s: &str) -> Option<State> {
    [
        State::Init,
        State::Backup,
        State::Master,
        State::Fault,
        State::Stopped,
    ]
    .into_iter()
    .find(|st| st.as_str() == s)
}

/// `ip -o monitor address` in a node's namespace: the kernel's word on
/// which virtual addresses the host holds, also after a crash left them.
pub struct AddressMonitor {
    child: Child,
    reader: Option<JoinHandle<()>>,
}

/// An address the lab adds and removes on `lo` to know the monitor listens.
const SENTINEL: &str = "127.77.77.77";

impl AddressMonitor {
    /// Starts watching `ns` for changes of `vips`, logged as `node`'s.
    pub fn start(ns: &str, node: &str, vips: BTreeSet<IpAddr>, rec: &Recorder) -> Result<Self> {
        let mut child = Command::new("ip")
            .args(["-n", ns, "-o", "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(Error::io(format!("ip monitor in {ns}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Command("ip monitor: no stdout".into()))?;
        let (ready_tx, ready) = mpsc::channel();
        let (node, rec) = (node.to_string(), rec.clone());
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains(SENTINEL) {
                    // Nobody waits any more once the monitor was seen ready.
                    let _ = ready_tx.send(());
                    continue;
                }
                if let Some((added, addr, iface)) = address_change(&line)
                    && vips.contains(&addr)
                {
                    let what = if added {
                        What::VipAdded { addr, iface }
                    } else {
                        What::VipRemoved { addr, iface }
                    };
                    rec.log(&node, what);
                }
            }
        });
        let monitor = AddressMonitor {
            child,
            reader: Some(reader),
        };
        // Poke until the monitor reports: it subscribes after it starts.
        let until = Instant::now() + Duration::from_secs(5);
        let sentinel = format!("{SENTINEL}/32");
        loop {
            let _ = Command::new("ip")
                .args(["-n", ns, "addr", "add", &sentinel, "dev", "lo"])
                .output();
            let _ = Command::new("ip")
                .args(["-n", ns, "addr", "del", &sentinel, "dev", "lo"])
                .output();
            if ready.recv_timeout(Duration::from_millis(100)).is_ok() {
                return Ok(monitor);
            }
            if Instant::now() > until {
                return Err(Error::Command(format!(
                    "ip monitor in {ns} reports nothing"
                )));
            }
        }
    }
}

impl Drop for AddressMonitor {
    fn drop(&mut self) {
        // Already gone with its namespace is fine.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// `[Deleted ]IDX: IFACE FAMILY ADDR/PREFIX …` as `ip -o monitor address`
/// prints it: (added, address, interface).
fn address_change(line: &str) -> Option<(bool, IpAddr, String)> {
    let (added, rest) = match line.strip_prefix("Deleted ") {
        Some(rest) => (false, rest),
        None => (true, line),
    };
    let mut words = rest.split_whitespace();
    words.next()?.strip_suffix(':')?;
    let iface = words.next()?.to_string();
    if !matches!(words.next()?, "inet" | "inet6") {
        return None;
    }
    let addr = words.next()?.split('/').next()?.parse().ok()?;
    Some((added, addr, iface))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_log_lines_become_events() {
        let line = r#"{"timestamp":"t","level":"INFO","fields":{"message":"(VI_1) Entering MASTER STATE","instance":"VI_1","from":"BACKUP","to":"MASTER","reason":"master down timer expired"}}"#;
        assert_eq!(
            event_of(line).map(|w| w.to_string()),
            Some("VI_1 BACKUP -> MASTER (master down timer expired)".into())
        );
        let garp = r#"{"level":"INFO","fields":{"message":"Sending/queueing gratuitous ARPs on eth0 for 10.0.0.100","iface":"eth0","addr":"10.0.0.100","repeat":5}}"#;
        assert_eq!(
            event_of(garp).map(|w| w.to_string()),
            Some("garp 10.0.0.100 x5".into())
        );
        assert_eq!(event_of("not json"), None);
    }

    #[test]
    fn monitor_lines_name_the_address_and_interface() {
        let add = "2: eth0    inet 10.0.0.100/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever";
        assert_eq!(
            address_change(add),
            Some((true, "10.0.0.100".parse().unwrap(), "eth0".into()))
        );
        let del = "Deleted 3: eth1    inet6 fd00::100/64 scope global \\       valid_lft forever";
        assert_eq!(
            address_change(del),
            Some((false, "fd00::100".parse().unwrap(), "eth1".into()))
        );
    }
}

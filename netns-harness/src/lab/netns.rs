//! A lab of network namespaces: a bridge in a namespace of its own and nodes
//! whose `eth0` is a veth port of it. Nothing touches the host's interfaces;
//! every name carries the process id and a counter, so labs of parallel tests
//! never meet, and dropping the [`Lab`] kills what runs inside and deletes the
//! namespaces, also when a test panics.
//!
//! Node `i` (from 1) has `eth0` with 10.77.0.i/24 and fd77::i/64, duplicate
//! address detection off so its addresses (link-local included) work at once.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

static LABS: AtomicUsize = AtomicUsize::new(0);

/// Why a lab cannot be built here (not root, no `ip netns`), for a test's
/// `SKIPPED:` line; `None` when it can.
pub fn available() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root for network namespaces".into());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`ip netns` does not work: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("no `ip` command: {e}")),
    }
}

pub struct Lab {
    bridge: String,
    nodes: Vec<String>,
}

impl Lab {
    /// A bridge and `nodes` hosts on it.
    pub fn new(nodes: usize) -> Result<Lab> {
        let id = format!(
            "vgl-{}-{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Lab {
            bridge: format!("{id}-br"),
            nodes: Vec::new(),
        };
        ip(&["netns", "add", &lab.bridge])?;
        let br = lab.bridge.clone();
        lab.sysctl(
            &br,
            &[
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        )?;
        ip(&[
            "-n",
            &br,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        ip(&["-n", &br, "link", "set", "br0", "up"])?;
        for i in 1..=nodes {
            let ns = format!("{id}-n{i}");
            ip(&["netns", "add", &ns])?;
            lab.nodes.push(ns.clone());
            let port = format!("p{i}");
            ip(&[
                "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ])?;
            lab.sysctl(
                &ns,
                &[
                    "net.ipv6.conf.eth0.accept_dad=0",
                    "net.ipv6.conf.eth0.router_solicitations=0",
                ],
            )?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("10.77.0.{i}/24"),
                "dev",
                "eth0",
            ])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("fd77::{i}/64"),
                "dev",
                "eth0",
                "nodad",
            ])?;
            ip(&["-n", &br, "link", "set", &port, "master", "br0", "up"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        }
        for i in 1..=nodes {
            lab.wait_link_local(i)?;
        }
        Ok(lab)
    }

    /// Node `i`'s namespace (from 1).
    pub fn node(&self, i: usize) -> &str {
        &self.nodes[i - 1]
    }

    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    /// `program args…` to run inside namespace `ns`.
    pub fn command(&self, ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    /// The addresses of node `i`'s eth0, as `ip -n NS addr show dev eth0` prints them.
    pub fn addresses(&self, i: usize) -> Result<String> {
        let out = ip(&["-n", self.node(i), "addr", "show", "dev", "eth0"])?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `ip -n NODE args…` in node `i`.
    pub fn ip(&self, i: usize, args: &[&str]) -> Result<Output> {
        let mut all = vec!["-n", self.node(i)];
        all.extend_from_slice(args);
        ip(&all)
    }

    fn sysctl(&self, ns: &str, settings: &[&str]) -> Result<()> {
        let out = self
            .command(ns, "sysctl")
            .arg("-qw")
            .args(settings)
            .output()
            .map_err(Error::io("sysctl"))?;
        check("sysctl", &out)
    }

    /// Waits until eth0's link-local address is usable (VRRPv3 over IPv6 sends from it).
    fn wait_link_local(&self, i: usize) -> Result<()> {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let out = self.ip(i, &["-6", "addr", "show", "dev", "eth0", "scope", "link"])?;
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("inet6") && !text.contains("tentative") {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(Error::Command(format!(
                    "{}: no link-local address on eth0",
                    self.node(i)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Lab {
    /// Kills whatever still runs in the nodes (only this lab's processes can
    /// be there), then deletes every namespace, and with them the links.
    fn drop(&mut self) {
        for ns in self.nodes.iter().chain([&self.bridge]) {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    if let Ok(pid) = pid.parse::<i32>() {
                        // SAFETY: kill(2) on a pid inside our own namespace.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
            // Best effort: a namespace that is already gone is what we want.
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn ip(args: &[&str]) -> Result<Output> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(Error::io("running ip"))?;
    check(&format!("ip {}", args.join(" ")), &out)?;
    Ok(out)
}

fn check(what: &str, out: &Output) -> Result<()> {
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Command(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

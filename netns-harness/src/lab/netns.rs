//! A lab of network namespaces: bridges (one per segment) in a namespace of
//! their own and nodes whose interfaces are veth ports of them. Nothing touches the host's interfaces;
//! every name carries the process id and a counter, so labs of parallel tests
//! never meet, and dropping the [`Lab`] kills what runs inside and deletes the
//! namespaces, also when a test panics.
//!
//! In [`Lab::new`]'s lab node `i` (from 1) has `eth0` with 10.77.0.i/24 and
//! fd77::i/64, duplicate address detection off so its addresses (link-local
//! included) work at once.

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
    id: String,
    bridge: String,
    /// One bridge device per segment, in the bridge namespace.
    segments: Vec<String>,
    nodes: Vec<String>,
    /// Every bridge port, as (node from 1, the node's interface, port name).
    ports: Vec<(usize, String, String)>,
}

impl Lab {
    /// A bridge and `nodes` hosts on it.
    pub fn new(nodes: usize) -> Result<Lab> {
        let mut lab = Lab::with_segments(1)?;
        for i in 1..=nodes {
            lab.add_host()?;
            lab.plug(i, "eth0", 0)?;
            lab.ip(
                i,
                &["addr", "add", &format!("10.77.0.{i}/24"), "dev", "eth0"],
            )?;
            lab.ip(
                i,
                &[
                    "addr",
                    "add",
                    &format!("fd77::{i}/64"),
                    "dev",
                    "eth0",
                    "nodad",
                ],
            )?;
        }
        for i in 1..=nodes {
            lab.wait_link_local(i, "eth0")?;
        }
        Ok(lab)
    }

    /// A bridge namespace with `segments` bridges (`br0`, `br1`, …) and no
    /// hosts yet: [`add_host`](Lab::add_host) and [`plug`](Lab::plug) add them.
    pub fn with_segments(segments: usize) -> Result<Lab> {
        let id = format!(
            "vgl-{}-{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Lab {
            bridge: format!("{id}-br"),
            id,
            segments: Vec::new(),
            nodes: Vec::new(),
            ports: Vec::new(),
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
        for k in 0..segments {
            let dev = format!("br{k}");
            ip(&[
                "-n",
                &br,
                "link",
                "add",
                &dev,
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ])?;
            ip(&["-n", &br, "link", "set", &dev, "up"])?;
            lab.segments.push(dev);
        }
        Ok(lab)
    }

    /// The lab's unique prefix (`vgl-PID-N`), for names of its own things.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A new host namespace with only `lo` up; its number (from 1).
    pub fn add_host(&mut self) -> Result<usize> {
        let i = self.nodes.len() + 1;
        let ns = format!("{}-n{i}", self.id);
        ip(&["netns", "add", &ns])?;
        self.nodes.push(ns);
        self.ip(i, &["link", "set", "lo", "up"])?;
        Ok(i)
    }

    /// Gives host `i` an interface `iface` on segment `segment` (a veth
    /// whose other end is a port of that segment's bridge), up, without
    /// duplicate address detection; returns the bridge port's name.
    pub fn plug(&mut self, i: usize, iface: &str, segment: usize) -> Result<String> {
        let ns = self.node(i).to_string();
        let dev = self
            .segments
            .get(segment)
            .cloned()
            .ok_or_else(|| Error::Config(format!("no segment {segment} in the lab")))?;
        let n = self.ports.iter().filter(|p| p.0 == i).count();
        // Interface names have at most 15 bytes: "p" + host + "-" + number.
        let port = format!("p{i}-{n}");
        let br = self.bridge.clone();
        ip(&[
            "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", iface, "netns", &ns,
        ])?;
        self.ports.push((i, iface.to_string(), port.clone()));
        self.sysctl(
            &ns,
            &[
                &format!("net.ipv6.conf.{iface}.accept_dad=0"),
                &format!("net.ipv6.conf.{iface}.router_solicitations=0"),
            ],
        )?;
        ip(&["-n", &br, "link", "set", &port, "master", &dev, "up"])?;
        self.ip(i, &["link", "set", iface, "up"])?;
        Ok(port)
    }

    /// The bridge ports of host `i`.
    pub fn ports(&self, i: usize) -> impl Iterator<Item = &str> {
        self.ports
            .iter()
            .filter(move |p| p.0 == i)
            .map(|p| p.2.as_str())
    }

    /// The bridge device of each segment, in the bridge namespace.
    pub fn bridges(&self) -> &[String] {
        &self.segments
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

    /// `sysctl -qw settings…` in namespace `ns`.
    pub fn sysctl(&self, ns: &str, settings: &[&str]) -> Result<()> {
        let out = self
            .command(ns, "sysctl")
            .arg("-qw")
            .args(settings)
            .output()
            .map_err(Error::io("sysctl"))?;
        Error::check_exit("sysctl", &out)
    }

    /// Waits until the link-local address of host `i`'s `iface` is usable
    /// (VRRPv3 over IPv6 sends from it).
    pub fn wait_link_local(&self, i: usize, iface: &str) -> Result<()> {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let out = self.ip(i, &["-6", "addr", "show", "dev", iface, "scope", "link"])?;
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("inet6") && !text.contains("tentative") {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(Error::Command(format!(
                    "{}: no link-local address on {iface}",
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
    Error::check_exit(&format!("ip {}", args.join(" ")), &out)?;
    Ok(out)
}

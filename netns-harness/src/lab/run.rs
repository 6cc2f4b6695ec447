//! `vigil lab FILE`'s engine: a scenario run against the kernel. The
//! scenario's hosts become namespaces on one bridge per segment, each node
//! runs `vigil run`, the steps happen for real at their times, and the
//! timeline — from the daemons' JSON logs, the kernel's address changes and
//! the clients' probes — is judged by the core, as the simulator's is, with
//! a tolerance for real time.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use vigil_core::Instant;
use vigil_core::scenario::expect::{self, InstanceInfo, Judged, Run};
use vigil_core::scenario::format::{Action, DEFAULT_SEGMENT};
use vigil_core::scenario::topology::Topology;
use vigil_core::scenario::{Scenario, What};
use vigil_core::vrrp::State;

use super::daemon::{AddressMonitor, Daemon};
use super::files::{self, NodeDir};
use super::netns::Lab;
use super::nft::Firewall;
use super::probe::{self, Responder};
use super::real_servers;
use super::record::Recorder;
use crate::error::{Error, Result};

/// How a lab run goes.
pub struct Options {
    /// The `vigil` binary the nodes run (`vigil lab` passes itself).
    pub vigil: PathBuf,
    /// Where to write a capture of the `lan` bridge (other segments get
    /// `-SEGMENT` before the extension).
    pub pcap: Option<PathBuf>,
    /// How far from its time an expectation may hold and still pass.
    pub tolerance: Duration,
    /// Set (by a signal handler) to end the run early; the lab is removed.
    pub interrupted: Option<&'static AtomicBool>,
}

/// The default of [`Options::tolerance`]: a process start, a netlink
/// round trip and a probe beat fit in it many times over.
pub const TOLERANCE: Duration = Duration::from_millis(300);

/// A finished run, and where the nodes' configs and logs are.
pub struct Report {
    pub judged: Judged,
    pub dir: PathBuf,
}

/// A host of the scenario in the lab: its number there and its interfaces.
struct Host {
    name: String,
    index: usize,
}

/// Runs `scenario` in a fresh lab and judges it.
pub fn run(scenario: &Scenario, opts: &Options) -> Result<Report> {
    let segments = scenario.segments();
    let segment = |name: &str| {
        segments
            .iter()
            .position(|s| s == name)
            .ok_or_else(|| Error::Config(format!("no segment {name:?}")))
    };
    let mut lab = Lab::with_segments(segments.len())?;
    let dir = std::env::temp_dir().join(lab.id());
    let rec_notes = notes(scenario);

    let mut hosts: Vec<Host> = Vec::new();
    let mut daemons: Vec<Daemon> = Vec::new();
    let mut infos: Vec<InstanceInfo> = Vec::new();
    let mut vips: BTreeMap<String, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut configs = Vec::new();
    for node in &scenario.node {
        let i = lab.add_host()?;
        let mut ifaces = vec![(
            "eth0".to_string(),
            DEFAULT_SEGMENT.to_string(),
            node.addr.clone(),
            node.addr6.clone(),
        )];
        ifaces.extend(node.ifaces.iter().map(|f| {
            (
                f.name.clone(),
                f.segment.clone(),
                f.addr.clone(),
                f.addr6.clone(),
            )
        }));
        for (iface, seg, addr, addr6) in &ifaces {
            lab.plug(i, iface, segment(seg)?)?;
            lab.ip(i, &["addr", "add", addr, "dev", iface])?;
            if let Some(a6) = addr6 {
                lab.ip(i, &["addr", "add", a6, "dev", iface, "nodad"])?;
            }
        }
        for (iface, ..) in &ifaces {
            lab.wait_link_local(i, iface)?;
        }
        let node_dir = NodeDir::create(&dir, &node.name)?;
        let config = node_dir.write_config(&node.name, &node.config)?;
        let mine = expect::instance_infos(node, &config);
        let held = vips.entry(node.name.clone()).or_default();
        held.extend(mine.iter().flat_map(|i| i.vips.iter().copied()));
        infos.extend(mine);
        // A reload may bring addresses the first config did not have.
        for step in &scenario.step {
            if let Some(r) = step.reload.as_ref().filter(|r| r.node == node.name) {
                let model = files::parse(&r.config).model;
                held.extend(
                    expect::instance_infos(node, &model)
                        .iter()
                        .flat_map(|i| i.vips.iter().copied()),
                );
            }
        }
        configs.push(config);
        daemons.push(Daemon::new(&node.name, lab.node(i), node_dir));
        hosts.push(Host {
            name: node.name.clone(),
            index: i,
        });
    }
    let others = scenario
        .client
        .iter()
        .map(|c| (&c.name, &c.addr, &c.segment))
        .chain(
            scenario
                .server
                .iter()
                .map(|s| (&s.name, &s.addr, &s.segment)),
        );
    for (name, addr, seg) in others {
        let i = lab.add_host()?;
        lab.plug(
            i,
            "eth0",
            segment(seg.as_deref().unwrap_or(DEFAULT_SEGMENT))?,
        )?;
        let nodad: &[&str] = if addr.contains(':') { &["nodad"] } else { &[] };
        let mut args = vec!["addr", "add", addr.as_str(), "dev", "eth0"];
        args.extend_from_slice(nodad);
        lab.ip(i, &args)?;
        if addr.contains(':') {
            lab.wait_link_local(i, "eth0")?;
        }
        hosts.push(Host {
            name: name.clone(),
            index: i,
        });
    }
    let index_of = |name: &str| hosts.iter().find(|h| h.name == name).map(|h| h.index);
    for role in real_servers::roles(scenario, &configs) {
        if let Some(i) = index_of(&role.server) {
            real_servers::prepare(&lab, i, &role)?;
        }
    }
    let (gateways, directors) = real_servers::nat_gateways(scenario, &configs);
    for gateway in &gateways {
        if let Some(i) = index_of(&gateway.host) {
            real_servers::route_back(&lab, i, gateway.via)?;
        }
    }
    for director in &directors {
        if let Some(i) = index_of(director) {
            real_servers::forward(&lab, i)?;
        }
    }

    let loss = (scenario.sim.loss.clamp(0.0, 1.0) * 100.0).round() as u32;
    let needs_firewall = loss > 0
        || scenario.step.iter().any(|s| {
            s.actions()
                .iter()
                .any(|a| matches!(a, Action::Partition(_) | Action::PartitionOneway(_)))
        });
    let firewall = if needs_firewall {
        let fw = Firewall::create(lab.bridge())?;
        fw.set(&[], loss)?;
        Some(fw)
    } else {
        None
    };

    let capture = match &opts.pcap {
        Some(out) => Some(Capture::start(&lab, &segments, out)?),
        None => None,
    };

    let rec = Recorder::new();
    let mut monitors = Vec::new();
    for d in &daemons {
        let held = vips.get(&d.name).cloned().unwrap_or_default();
        if let Some(i) = index_of(&d.name) {
            monitors.push(AddressMonitor::start(lab.node(i), &d.name, held, &rec)?);
        }
    }
    let stop = Stop(Arc::new(AtomicBool::new(false)));
    let probe_ports: Vec<u16> = scenario
        .client
        .iter()
        .filter_map(|c| {
            c.probe
                .parse::<std::net::SocketAddr>()
                .ok()
                .map(|s| s.port())
        })
        .collect();
    let mut responders: BTreeMap<String, Responder> = BTreeMap::new();
    for n in &scenario.node {
        if let Some(i) = index_of(&n.name) {
            let r = Responder::spawn(
                lab.node(i),
                &n.name,
                probe_ports.clone(),
                stop.0.clone(),
                &rec,
            );
            responders.insert(n.name.clone(), r);
        }
    }
    for s in &scenario.server {
        if let Some(i) = index_of(&s.name) {
            let r = Responder::spawn(lab.node(i), &s.name, vec![s.port], stop.0.clone(), &rec);
            responders.insert(s.name.clone(), r);
        }
    }

    rec.restart();
    for text in &rec_notes {
        rec.log_at(Duration::ZERO, "-", What::Note { text: text.clone() });
    }
    for (d, n) in daemons.iter_mut().zip(&scenario.node) {
        if n.started {
            d.start(&opts.vigil, &rec)?;
        }
    }
    let end = scenario.duration.0;
    let mut clients = Vec::new();
    for c in &scenario.client {
        if let Some(i) = index_of(&c.name) {
            clients.push(probe::spawn_client(
                lab.node(i),
                &c.name,
                &c.probe,
                c.every.0,
                end,
                stop.0.clone(),
                &rec,
            )?);
        }
    }

    let everyone: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let steps = scenario.timed_actions();
    let mut topology = Topology::default();
    let mut cx = Cx {
        lab: &lab,
        vigil: &opts.vigil,
        rec: &rec,
        daemons: &mut daemons,
        responders: &responders,
        infos: &infos,
        hosts: &hosts,
    };
    let mut outcome = Ok(());
    for (at, action) in &steps {
        if let Err(e) = wait_until(&rec, *at, opts.interrupted) {
            outcome = Err(e);
            break;
        }
        let (host, text) = action.describe();
        rec.log(&host, What::Step { action: text });
        if let Err(e) = cx.apply(action) {
            rec.log(
                &host,
                What::Note {
                    text: format!("lab: step failed: {e}"),
                },
            );
        }
        if matches!(
            action,
            Action::Partition(_) | Action::PartitionOneway(_) | Action::Heal
        ) {
            topology.apply(action, &everyone);
            if let Some(fw) = &firewall {
                fw.set(&port_pairs(&lab, &hosts, &topology), loss)?;
            }
        }
    }
    if outcome.is_ok() {
        outcome = wait_until(&rec, end, opts.interrupted);
    }

    drop(stop);
    for d in &mut daemons {
        d.kill();
    }
    drop(monitors);
    for c in clients {
        // A client that panicked has lost answers, which the checks show.
        let _ = c.join();
    }
    for (_, r) in responders {
        r.join();
    }
    if let Some(c) = capture {
        c.finish();
    }
    outcome?;
    let events: Vec<_> = rec
        .events()
        .into_iter()
        .filter(|e| e.at <= Instant::ZERO + end)
        .collect();
    let judged = expect::judge(scenario, events, &infos, Duration::ZERO, opts.tolerance);
    drop(daemons);
    drop(lab);
    Ok(Report { judged, dir })
}

/// Tells the responder and client threads to end, also when the run
/// fails half way.
struct Stop(Arc<AtomicBool>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What the lab cannot do as the simulator does, said on the timeline.
fn notes(scenario: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    if !scenario.sim.latency.0.is_zero() {
        out.push(format!(
            "[sim] latency {} is not applied: this kernel has no netem",
            scenario.sim.latency
        ));
    }
    if scenario.sim.loss > 0.0 {
        out.push(format!(
            "[sim] loss {} is applied by nftables to every frame the bridges forward",
            scenario.sim.loss
        ));
    }
    out
}

/// Sleeps until `at` after the start, or fails when interrupted.
fn wait_until(rec: &Recorder, at: Duration, interrupted: Option<&AtomicBool>) -> Result<()> {
    loop {
        if interrupted.is_some_and(|i| i.load(Ordering::Relaxed)) {
            return Err(Error::Command("interrupted".into()));
        }
        let now = rec.elapsed();
        if now >= at {
            return Ok(());
        }
        std::thread::sleep((at - now).min(Duration::from_millis(50)));
    }
}

/// The bridge ports whose frames the topology's cuts drop, as (in, out).
fn port_pairs(lab: &Lab, hosts: &[Host], topology: &Topology) -> Vec<(String, String)> {
    let ports = |name: &str| -> Vec<String> {
        hosts
            .iter()
            .filter(|h| h.name == name)
            .flat_map(|h| lab.ports(h.index).map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    let mut out = Vec::new();
    for (from, to) in &topology.cut {
        for a in ports(from) {
            for b in ports(to) {
                out.push((a.clone(), b));
            }
        }
    }
    out
}

/// What applying a step needs.
struct Cx<'a> {
    lab: &'a Lab,
    vigil: &'a Path,
    rec: &'a Recorder,
    daemons: &'a mut Vec<Daemon>,
    responders: &'a BTreeMap<String, Responder>,
    infos: &'a [InstanceInfo],
    hosts: &'a [Host],
}

impl Cx<'_> {
    fn daemon(&mut self, name: &str) -> Result<&mut Daemon> {
        self.daemons
            .iter_mut()
            .find(|d| d.name == name)
            .ok_or_else(|| Error::Config(format!("no node {name:?}")))
    }

    fn ns(&self, name: &str) -> Result<&str> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .map(|h| self.lab.node(h.index))
            .ok_or_else(|| Error::Config(format!("no host {name:?}")))
    }

    /// Applies one step (partitions are applied by the caller).
    fn apply(&mut self, action: &Action) -> Result<()> {
        let (vigil, rec) = (self.vigil, self.rec);
        match action {
            Action::Crash(n) => {
                self.daemon(n)?.kill();
                self.crashed(n);
            }
            Action::Stop(n) => self.daemon(n)?.stop(Duration::from_secs(3)),
            Action::Start(n) => self.daemon(n)?.start(vigil, rec)?,
            Action::Restart(n) => {
                let d = self.daemon(n)?;
                d.stop(Duration::from_secs(3));
                d.start(vigil, rec)?;
            }
            Action::Freeze(n) => self.daemon(n)?.signal(libc::SIGSTOP),
            Action::Thaw(n) => self.daemon(n)?.signal(libc::SIGCONT),
            Action::LinkDown(t) | Action::LinkUp(t) => {
                let state = if matches!(action, Action::LinkDown(_)) {
                    "down"
                } else {
                    "up"
                };
                let ns = self.ns(t.node())?.to_string();
                let out = Command::new("ip")
                    .args(["-n", &ns, "link", "set", "dev", t.iface(), state])
                    .output()
                    .map_err(Error::io("ip link set"))?;
                Error::check_exit(&format!("ip link set {} {state}", t.iface()), &out)?;
            }
            Action::Script(s) => self.daemon(&s.node)?.dir.set_result(&s.name, s.result)?,
            Action::Touch(f) => {
                let path = self.daemon(&f.node)?.dir.file(&f.path);
                write_file(&path, "")?;
            }
            Action::Remove(f) => {
                let path = self.daemon(&f.node)?.dir.file(&f.path);
                if let Err(e) = std::fs::remove_file(&path)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    return Err(Error::io(format!("{}", path.display()))(e));
                }
            }
            Action::Write(w) => {
                let path = self.daemon(&w.node)?.dir.file(&w.path);
                write_file(&path, &w.value)?;
            }
            Action::ServerDown(s) | Action::ServerUp(s) => {
                let up = matches!(action, Action::ServerUp(_));
                if let Some(r) = self.responders.get(s) {
                    r.up.store(up, Ordering::Relaxed);
                }
            }
            Action::Reload(r) => {
                let d = self.daemon(&r.node)?;
                d.dir.write_config(&r.node, &r.config)?;
                d.signal(libc::SIGHUP);
            }
            Action::Partition(_) | Action::PartitionOneway(_) | Action::Heal => {}
        }
        Ok(())
    }

    /// A SIGKILLed vigil says nothing: its instances stop here, as the
    /// simulator records them (the invariants tell stale addresses by it).
    fn crashed(&self, node: &str) {
        let events = self.rec.events();
        let run = Run::new(&events);
        let now = Instant::ZERO + self.rec.elapsed();
        for info in self.infos.iter().filter(|i| i.node == node) {
            let from = run.state(node, &info.instance, now);
            if !matches!(from, State::Stopped | State::Init) {
                self.rec.log(
                    node,
                    What::State {
                        instance: info.instance.clone(),
                        from,
                        to: State::Stopped,
                        reason: "crashed (SIGKILL)".into(),
                    },
                );
            }
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(format!("{}", parent.display())))?;
    }
    std::fs::write(path, text).map_err(Error::io(format!("{}", path.display())))
}

/// tcpdump on each segment's bridge, in the bridge namespace. The bridges
/// stop learning (ageing time 0) so they flood every frame and the capture
/// sees unicast between hosts too.
struct Capture {
    dumps: Vec<Child>,
}

impl Capture {
    fn start(lab: &Lab, segments: &[String], out: &Path) -> Result<Capture> {
        let mut dumps = Vec::new();
        for (dev, segment) in lab.bridges().iter().zip(segments) {
            let path = if segment == DEFAULT_SEGMENT {
                out.to_path_buf()
            } else {
                let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned());
                let ext = out.extension().map(|e| e.to_string_lossy().into_owned());
                out.with_file_name(format!(
                    "{}-{segment}.{}",
                    stem.unwrap_or_default(),
                    ext.unwrap_or_else(|| "pcap".into())
                ))
            };
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(Error::io(format!("{}", parent.display())))?;
            }
            let br = lab.bridge();
            let set = Command::new("ip")
                .args([
                    "-n",
                    br,
                    "link",
                    "set",
                    dev,
                    "type",
                    "bridge",
                    "ageing_time",
                    "0",
                ])
                .output()
                .map_err(Error::io("ip link set"))?;
            if !set.status.success() {
                return Err(Error::Command(format!(
                    "bridge ageing_time: {}",
                    String::from_utf8_lossy(&set.stderr).trim()
                )));
            }
            let mut child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    br,
                    "tcpdump",
                    "-Z",
                    "root",
                    "--immediate-mode",
                    "-U",
                    "-n",
                ])
                .args(["-i", dev, "-w"])
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(Error::io("starting tcpdump"))?;
            wait_listening(&mut child)?;
            dumps.push(child);
        }
        Ok(Capture { dumps })
    }

    /// Stops each tcpdump with SIGINT, so it writes out what it holds.
    fn finish(mut self) {
        for d in &mut self.dumps {
            if let Ok(pid) = i32::try_from(d.id()) {
                // SAFETY: kill(2) on our own child.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let _ = d.wait();
        }
        self.dumps.clear();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        for d in &mut self.dumps {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

/// Waits for tcpdump's "listening on" line: frames before it are lost.
fn wait_listening(child: &mut Child) -> Result<()> {
    use std::io::{BufRead, BufReader};
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| Error::Command("tcpdump: no stderr".into()))?;
    let mut lines = BufReader::new(stderr).lines();
    match lines.next() {
        Some(Ok(l)) if l.contains("listening on") => {
            // Keep draining so tcpdump never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            Ok(())
        }
        Some(Ok(l)) => Err(Error::Command(format!("tcpdump: {l}"))),
        _ => Err(Error::Command("tcpdump exited".into())),
    }
}

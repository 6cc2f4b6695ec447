//! vigil-sim: replays a scenario file on turmoil in simulated time and judges
//! the run with the core's expectations and invariants.
//!
//! Every node is a turmoil host running the core's Router on the simulated
//! clock ([`node`]); [`world`] models what turmoil does not: the addresses each
//! host holds, interfaces on segments, the clients' neighbour caches. The
//! driver here applies the scenario's steps at their times and probes for
//! the clients. No wall clock and no randomness but the seeded one, so the
//! same file and seed give the same bytes.

pub mod explore;
pub mod node;
mod pcap;
pub mod world;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::Notify;
use vigil_core::Instant;
use vigil_core::config::{self, MemoryLoader, Options as ConfigOptions};
use vigil_core::scenario::expect::{self, InstanceInfo};
use vigil_core::scenario::format::{Action, DEFAULT_SEGMENT};
use vigil_core::scenario::{Event, Scenario, What};
use world::{Client, Host, Iface, Order, World};

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Overrides the scenario's `[sim] seed`.
    pub seed: Option<u64>,
    /// Put every advert sent into the timeline.
    pub adverts: bool,
    /// Record the simulated wire as an Ethernet pcap.
    pub pcap: bool,
    /// A bug planted in the driver on purpose: a test instrument that
    /// proves `--explore` finds and shrinks violations. `None` in real runs.
    pub plant: Option<PlantedBug>,
}

/// Bugs the driver can plant, so the tools that hunt bugs can be tested
/// against a known one. They live in the driver, never in vigil-core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// After a `heal`, each node keeps ignoring the packets of the peers it
    /// was cut off from, while the invariants believe the network whole:
    /// two Masters that should hear each other, as after a lost multicast
    /// membership.
    IgnoreAdvertsAfterHeal,
}

impl PlantedBug {
    pub const ALL: &[PlantedBug] = &[PlantedBug::IgnoreAdvertsAfterHeal];

    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::IgnoreAdvertsAfterHeal => "ignore-adverts-after-heal",
        }
    }
}

impl fmt::Display for PlantedBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PlantedBug {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|b| b.name()).collect();
                format!("unknown planted bug {s:?} (known: {})", known.join(", "))
            })
    }
}

/// The planted bug and what it remembers during a run.
#[derive(Default)]
struct Plant {
    bug: Option<PlantedBug>,
    /// (from, to): pairs of nodes whose packets stay dropped after a heal.
    deaf: BTreeSet<(String, String)>,
}

/// A finished run: the timeline (events, violations and expectation
/// verdicts in time order) and the count of expectations.
#[derive(Clone, Debug)]
pub struct Report {
    pub timeline: Vec<Event>,
    pub passed: usize,
    pub failed: usize,
    /// The simulated wire as a pcap file (adverts, gratuitous ARPs, NAs),
    /// timestamps from the fixed epoch, when asked for.
    pub pcap: Option<Vec<u8>>,
}

impl Report {
    /// The text both drivers print: one event per line, then the summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.timeline {
            out.push_str(&e.to_string());
            out.push('\n');
        }
        out.push_str(&format!(
            "expectations: {} passed, {} failed\n",
            self.passed, self.failed
        ));
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("node {node}: {problem}")]
    Node { node: String, problem: String },
    #[error("node {node}: keepalived.conf has errors:\n{diagnostics}")]
    Config { node: String, diagnostics: String },
    #[error("client {client}: {problem}")]
    Client { client: String, problem: String },
    #[error("the simulator cannot run `{0}` steps yet")]
    Unsupported(&'static str),
    #[error("simulation failed: {0}")]
    Turmoil(String),
}

/// A fixed epoch, so pcap timestamps are the same on every run.
pub(crate) const EPOCH_SECS: u64 = 1_700_000_000;
/// The simulator's tick: timers inside hosts keep this resolution.
const TICK: Duration = Duration::from_millis(1);

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
    let addr: IpAddr = addr.trim().parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = if prefix.is_empty() {
        max
    } else {
        prefix.trim().parse().ok().filter(|p| *p <= max)?
    };
    Some((addr, prefix))
}

fn v4(node: &str, text: &str) -> Result<Ipv4Addr, SimError> {
    match parse_cidr(text) {
        Some((IpAddr::V4(a), _)) => Ok(a),
        _ => Err(SimError::Node {
            node: node.into(),
            problem: format!("{text:?} is not an IPv4 address/prefix"),
        }),
    }
}

fn v6(node: &str, text: &Option<String>) -> Result<Option<Ipv6Addr>, SimError> {
    match text.as_deref().map(parse_cidr) {
        None => Ok(None),
        Some(Some((IpAddr::V6(a), _))) => Ok(Some(a)),
        Some(_) => Err(SimError::Node {
            node: node.into(),
            problem: format!("{text:?} is not an IPv6 address/prefix"),
        }),
    }
}

/// Checks a node's config text the way the node will read it.
fn check_config(node: &str, text: &str) -> Result<(), SimError> {
    let loader = MemoryLoader::new().with(node::CONFIG_PATH, text);
    let parsed = config::parse_with(node::CONFIG_PATH, &loader, &ConfigOptions::default());
    if parsed.has_errors() {
        let diagnostics = parsed
            .errors()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        return Err(SimError::Config {
            node: node.into(),
            diagnostics,
        });
    }
    Ok(())
}

fn hosts(scenario: &Scenario) -> Result<Vec<Host>, SimError> {
    let mut hosts = Vec::new();
    for (h, n) in scenario.node.iter().enumerate() {
        check_config(&n.name, &n.config)?;
        let link_local = |i: usize| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, i as u16, h as u16 + 1);
        let mut ifaces = vec![Iface {
            name: "eth0".into(),
            segment: DEFAULT_SEGMENT.into(),
            v4: v4(&n.name, &n.addr)?,
            v6_link_local: link_local(0),
            v6: v6(&n.name, &n.addr6)?,
            up: true,
        }];
        for (k, i) in n.ifaces.iter().enumerate() {
            ifaces.push(Iface {
                name: i.name.clone(),
                segment: i.segment.clone(),
                v4: v4(&n.name, &i.addr)?,
                v6_link_local: link_local(k + 1),
                v6: v6(&n.name, &i.addr6)?,
                up: true,
            });
        }
        hosts.push(Host {
            name: n.name.clone(),
            number: u8::try_from(h + 1).unwrap_or(u8::MAX),
            ifaces,
            config: n.config.clone(),
            wanted: n.started,
            running: false,
            frozen: false,
            orders: Default::default(),
            wake: Rc::new(Notify::new()),
            addresses: Default::default(),
            blocked: Default::default(),
            script_results: Default::default(),
            files: Default::default(),
            states: Default::default(),
        });
    }
    Ok(hosts)
}

fn clients(scenario: &Scenario) -> Result<Vec<Client>, SimError> {
    scenario
        .client
        .iter()
        .map(|c| {
            let target = c
                .probe
                .parse::<IpAddr>()
                .or_else(|_| c.probe.parse::<SocketAddr>().map(|s| s.ip()))
                .map_err(|_| SimError::Client {
                    client: c.name.clone(),
                    problem: format!("probe {:?} is not an address or address:port", c.probe),
                })?;
            Ok(Client {
                name: c.name.clone(),
                segment: c.segment.clone().unwrap_or_else(|| DEFAULT_SEGMENT.into()),
                target,
                target_text: c.probe.clone(),
                every: c.every.0.max(TICK),
                cache: Default::default(),
                last: None,
            })
        })
        .collect()
}

/// What the invariant checker must know of every instance in the scenario.
fn instance_infos(hosts: &[Host]) -> Vec<InstanceInfo> {
    let mut out = Vec::new();
    for h in hosts {
        let parsed = config::parse_str(&h.config);
        for inst in &parsed.model.instances {
            let Some(iface) = inst.interface.as_deref() else {
                continue;
            };
            let Some(segment) = h.iface(iface).map(|i| i.segment.clone()) else {
                continue;
            };
            out.push(InstanceInfo {
                node: h.name.clone(),
                instance: inst.name.clone(),
                vrid: inst.virtual_router_id,
                v6: inst.family == vigil_core::config::model::vrrp::Family::Inet6,
                interval: inst.advert_int(),
                segment,
                vips: inst
                    .virtual_ipaddress
                    .iter()
                    .chain(&inst.virtual_ipaddress_excluded)
                    .map(|a| a.addr)
                    .collect(),
            });
        }
    }
    out
}

/// Runs a scenario to its end and judges it.
pub fn run(scenario: &Scenario, opts: &Options) -> Result<Report, SimError> {
    for step in &scenario.step {
        for a in step.actions() {
            match a {
                Action::ServerDown(_) | Action::ServerUp(_) => {
                    return Err(SimError::Unsupported("server_down/server_up"));
                }
                Action::Reload(r) => check_config(&r.node, &r.config)?,
                _ => {}
            }
        }
    }
    let hosts = hosts(scenario)?;
    let infos = instance_infos(&hosts);
    let node_names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let everyone: Vec<String> = node_names
        .iter()
        .cloned()
        .chain(scenario.client.iter().map(|c| c.name.clone()))
        .chain(scenario.server.iter().map(|s| s.name.clone()))
        .collect();
    let seed = opts.seed.unwrap_or(scenario.sim.seed);
    let latency = scenario.sim.latency.0;
    let mut world = World::new(
        hosts,
        clients(scenario)?,
        scenario.sim.loss,
        seed,
        latency,
        opts.adverts,
    );
    if opts.pcap {
        world.wire = Some(Vec::new());
    }
    let world = Rc::new(RefCell::new(world));

    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .min_message_latency(latency)
        .max_message_latency(latency)
        .fail_rate(0.0)
        .repair_rate(1.0)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .tick_duration(TICK)
        .simulation_duration(scenario.duration.0 + Duration::from_secs(1))
        .build();
    for (i, name) in node_names.iter().enumerate() {
        let w = world.clone();
        sim.host(name.as_str(), move || node::host(i, w.clone()));
    }

    let mut steps: Vec<(Duration, Action)> = scenario
        .step
        .iter()
        .flat_map(|s| s.actions().into_iter().map(move |a| (s.at.0, a)))
        .collect();
    steps.sort_by_key(|s| s.0);
    let mut next_step = 0;
    let mut plant = Plant {
        bug: opts.plant,
        ..Plant::default()
    };
    let mut next_probe: Vec<Duration> = world.borrow().clients.iter().map(|c| c.every).collect();
    loop {
        let t = sim.elapsed();
        while next_step < steps.len() && steps[next_step].0 <= t {
            let (at, action) = &steps[next_step];
            apply(
                &mut sim,
                &world,
                &node_names,
                &everyone,
                *at,
                action,
                &mut plant,
            );
            next_step += 1;
        }
        for (c, next) in next_probe.iter_mut().enumerate() {
            if *next <= t {
                probe(&world, c, *next);
                *next += world.borrow().clients[c].every;
            }
        }
        if t >= scenario.duration.0 {
            break;
        }
        sim.step().map_err(|e| SimError::Turmoil(e.to_string()))?;
    }

    let mut w = world.borrow_mut();
    let mut events = std::mem::take(&mut w.events);
    events.sort_by_key(|e| e.at);
    let violations = expect::invariants(scenario, &events, &infos, latency);
    let verdicts = expect::check(scenario, &events, &violations);
    let failed = verdicts
        .iter()
        .filter(|v| matches!(v.what, What::Expectation { passed: false, .. }))
        .count();
    let passed = verdicts.len() - failed;
    events.extend(violations);
    events.extend(verdicts);
    events.sort_by_key(|e| e.at);
    let pcap = w.wire.take().map(pcap::write);
    Ok(Report {
        timeline: events,
        passed,
        failed,
        pcap,
    })
}

fn at(d: Duration) -> Instant {
    Instant::ZERO + d
}

/// Applies one scenario step at `t`.
fn apply(
    sim: &mut turmoil::Sim,
    world: &Rc<RefCell<World>>,
    nodes: &[String],
    everyone: &[String],
    t: Duration,
    action: &Action,
    plant: &mut Plant,
) {
    let mut w = world.borrow_mut();
    let index = |name: &str| nodes.iter().position(|n| n == name);
    let (host, text) = describe(action);
    w.log(at(t), &host, What::Step { action: text });
    let order = |w: &mut World, i: usize, o: Order| {
        w.hosts[i].orders.push_back(o);
        w.hosts[i].wake.notify_one();
    };
    match action {
        Action::Crash(n) => {
            if let Some(i) = index(n) {
                sim.crash(n.as_str());
                node::crashed(&mut w, i, at(t));
                w.hosts[i].wanted = false;
            }
        }
        Action::Stop(n) => {
            if let Some(i) = index(n).filter(|&i| w.hosts[i].running) {
                order(&mut w, i, Order::Shutdown { restart: false });
            }
        }
        Action::Restart(n) => {
            if let Some(i) = index(n) {
                if w.hosts[i].running {
                    order(&mut w, i, Order::Shutdown { restart: true });
                } else {
                    start(sim, &mut w, i, n);
                }
            }
        }
        Action::Start(n) => {
            if let Some(i) = index(n).filter(|&i| !w.hosts[i].running) {
                start(sim, &mut w, i, n);
            }
        }
        Action::Freeze(n) | Action::Thaw(n) => {
            if let Some(i) = index(n) {
                w.hosts[i].frozen = matches!(action, Action::Freeze(_));
                w.hosts[i].wake.notify_one();
            }
            w.topology.apply(action, everyone);
        }
        Action::Partition(_) | Action::PartitionOneway(_) | Action::Heal => {
            if plant.bug == Some(PlantedBug::IgnoreAdvertsAfterHeal) && *action == Action::Heal {
                let cut = w.topology.cut.iter();
                let between_nodes = cut.filter(|(a, b)| nodes.contains(a) && nodes.contains(b));
                plant.deaf.extend(between_nodes.cloned());
            }
            w.topology.apply(action, everyone);
            for a in nodes {
                for b in nodes.iter().filter(|b| *b != a) {
                    let deaf = plant.deaf.contains(&(a.clone(), b.clone()));
                    if w.topology.reaches(a, b) && !deaf {
                        sim.repair_oneway(a.as_str(), b.as_str());
                    } else {
                        sim.partition_oneway(a.as_str(), b.as_str());
                    }
                }
            }
        }
        Action::LinkDown(target) | Action::LinkUp(target) => {
            let up = matches!(action, Action::LinkUp(_));
            if let Some(i) = index(target.node()) {
                if let Some(f) = w.hosts[i]
                    .ifaces
                    .iter_mut()
                    .find(|f| f.name == target.iface())
                {
                    f.up = up;
                }
                if w.hosts[i].running {
                    order(
                        &mut w,
                        i,
                        Order::LinkChanged {
                            iface: target.iface().to_string(),
                            up,
                        },
                    );
                }
            }
        }
        Action::Script(s) => {
            if let Some(i) = index(&s.node) {
                w.hosts[i].script_results.insert(s.name.clone(), s.result);
            }
        }
        Action::Touch(f) | Action::Remove(f) => {
            if let Some(i) = index(&f.node) {
                if matches!(action, Action::Touch(_)) {
                    w.hosts[i].files.entry(f.path.clone()).or_default();
                } else {
                    w.hosts[i].files.remove(&f.path);
                }
                order(
                    &mut w,
                    i,
                    Order::FileChanged {
                        path: f.path.clone(),
                    },
                );
            }
        }
        Action::Write(f) => {
            if let Some(i) = index(&f.node) {
                w.hosts[i].files.insert(f.path.clone(), f.value.clone());
                order(
                    &mut w,
                    i,
                    Order::FileChanged {
                        path: f.path.clone(),
                    },
                );
            }
        }
        Action::Reload(r) => {
            if let Some(i) = index(&r.node) {
                w.hosts[i].config = r.config.clone();
                if w.hosts[i].running {
                    order(&mut w, i, Order::Reload);
                }
            }
        }
        // Refused before the run starts.
        Action::ServerDown(_) | Action::ServerUp(_) => {}
    }
}

/// Starts a node's vigil process: a crashed turmoil host is brought back.
fn start(sim: &mut turmoil::Sim, w: &mut World, i: usize, name: &str) {
    w.hosts[i].wanted = true;
    if sim.is_host_running(name) {
        w.hosts[i].wake.notify_one();
    } else {
        sim.bounce(name);
    }
}

/// The host a step is about and how the timeline shows it.
fn describe(action: &Action) -> (String, String) {
    let run = "-".to_string();
    match action {
        Action::Crash(n) => (n.clone(), "crash".into()),
        Action::Stop(n) => (n.clone(), "stop".into()),
        Action::Start(n) => (n.clone(), "start".into()),
        Action::Restart(n) => (n.clone(), "restart".into()),
        Action::Freeze(n) => (n.clone(), "freeze".into()),
        Action::Thaw(n) => (n.clone(), "thaw".into()),
        Action::Partition(groups) => {
            let g: Vec<String> = groups
                .iter()
                .map(|g| format!("[{}]", g.join(" ")))
                .collect();
            (run, format!("partition {}", g.join(" | ")))
        }
        Action::PartitionOneway(o) => (run, format!("partition {} -> {} (one way)", o.from, o.to)),
        Action::Heal => (run, "heal".into()),
        Action::LinkDown(t) => (t.node().into(), format!("link down {}", t.iface())),
        Action::LinkUp(t) => (t.node().into(), format!("link up {}", t.iface())),
        Action::Script(s) => (
            s.node.clone(),
            format!("script {} exits {}", s.name, s.result),
        ),
        Action::Touch(f) => (f.node.clone(), format!("touch {}", f.path)),
        Action::Remove(f) => (f.node.clone(), format!("remove {}", f.path)),
        Action::Write(f) => (f.node.clone(), format!("write {} = {:?}", f.path, f.value)),
        Action::ServerDown(s) => (s.clone(), "server down".into()),
        Action::ServerUp(s) => (s.clone(), "server up".into()),
        Action::Reload(r) => (r.node.clone(), "reload".into()),
    }
}

/// One probe of client `c` at `t`; logged when the answer changes.
fn probe(world: &Rc<RefCell<World>>, c: usize, t: Duration) {
    let mut w = world.borrow_mut();
    let answer = w.probe(c);
    let client = &mut w.clients[c];
    if client.last.as_ref() == Some(&answer) {
        return;
    }
    client.last = Some(answer.clone());
    let (name, target) = (client.name.clone(), client.target_text.clone());
    w.log(
        at(t),
        &name,
        What::Probe {
            target,
            answered_by: answer,
        },
    );
}

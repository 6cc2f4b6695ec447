//! vigil-sim: replays a scenario file on turmoil in simulated time and judges
//! the run with the core's expectations and invariants.
//!
//! Every node is a turmoil host running the core's Router on the simulated
//! clock ([`node`]); [`world`] models what turmoil does not: the addresses each
//! host holds, interfaces on segments, the clients' neighbour caches.
//! `setup` builds that world from the scenario, [`run`] drives turmoil and
//! applies the `steps` at their times, [`explore`] adds random faults. No
//! wall clock and no randomness but the seeded one, so the same file and seed
//! give the same bytes.

mod director;
pub mod explore;
mod ipvs;
pub mod node;
mod pcap;
mod probe;
mod server;
mod setup;
mod steps;
pub mod world;

use setup::{check_config, clients, hosts, servers};
use steps::{Names, apply, probe};

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;
use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};
use vigil_core::scenario::Scenario;
use vigil_core::scenario::expect::{self, Judged};
use vigil_core::scenario::format::Action;
use world::World;

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

/// A finished run: the judged timeline (events, violations and
/// expectation verdicts in time order, the count of expectations), as the
/// lab's.
#[derive(Clone, Debug)]
pub struct Report {
    pub judged: Judged,
    /// The simulated wire as a pcap file (adverts, gratuitous ARPs, NAs),
    /// timestamps from the fixed epoch, when asked for.
    pub pcap: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("node {node}: {problem}")]
    Node { node: String, problem: String },
    #[error("node {node}: keepalived.conf has errors:\n{diagnostics}")]
    Config { node: String, diagnostics: String },
    #[error("client {client}: {problem}")]
    Client { client: String, problem: String },
    #[error("server {server}: {problem}")]
    Server { server: String, problem: String },
    #[error("simulation failed: {0}")]
    Turmoil(String),
}

/// A fixed epoch, so pcap timestamps are the same on every run.
pub(crate) const EPOCH_SECS: u64 = 1_700_000_000;
/// The simulator's tick: timers inside hosts keep this resolution.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// Runs a scenario to its end and judges it.
pub fn run(scenario: &Scenario, opts: &Options) -> Result<Report, SimError> {
    for step in &scenario.step {
        for a in step.actions() {
            if let Action::Reload(r) = a {
                check_config(&r.node, &r.config)?;
            }
        }
    }
    let hosts = hosts(scenario)?;
    let infos: Vec<_> = scenario
        .node
        .iter()
        .flat_map(|n| expect::instance_infos(n, &node::read_config(&n.config).model))
        .collect();
    let node_names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let servers = servers(scenario)?;
    let server_names: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
    let everyone: Vec<String> = node_names
        .iter()
        .cloned()
        .chain(scenario.client.iter().map(|c| c.name.clone()))
        .chain(server_names.iter().cloned())
        .collect();
    let seed = opts.seed.unwrap_or(scenario.sim.seed);
    let latency = scenario.sim.latency.0;
    let mut world = World::new(
        hosts,
        servers,
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
    for (i, name) in server_names.iter().enumerate() {
        let w = world.clone();
        sim.host(name.as_str(), move || server::host(i, w.clone()));
    }
    let names = Names {
        nodes: node_names,
        servers: server_names,
        everyone,
    };

    let steps = scenario.timed_actions();
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
            apply(&mut sim, &world, &names, *at, action, &mut plant);
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
    let events = std::mem::take(&mut w.events);
    let judged = expect::judge(scenario, events, &infos, latency, Duration::ZERO);
    let pcap = w.wire.take().map(pcap::write);
    Ok(Report { judged, pcap })
}

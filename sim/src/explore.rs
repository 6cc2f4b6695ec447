//! `vigil sim --explore`: random fault schedules on top of a scenario's own
//! steps, judged by the invariants only (random faults break expectations by
//! design), and a violation shrunk to a small scenario file that reproduces it.
//!
//! Schedules are drawn from proptest strategies with a ChaCha generator seeded
//! from the run's seed, so run k of seed S is the same schedule on every
//! machine, and the run itself uses that seed: a finding is a plain scenario
//! file with the seed in `[sim]`.

use crate::{Options, PlantedBug, SimError, run};
use proptest::collection::vec;
use proptest::prelude::{BoxedStrategy, Just, Strategy};
use proptest::sample::select;
use proptest::strategy::{Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use vigil_core::scenario::format::{Action, LinkTarget, OneWay, ScriptResult, Step};
use vigil_core::scenario::{Dur, Event, Scenario, What};

/// How to explore.
#[derive(Clone, Debug)]
pub struct Explore {
    /// How many runs.
    pub runs: u64,
    /// The seed of run 0; run k uses seed + k. Default: the scenario's.
    pub seed: Option<u64>,
    /// The most fault steps one run adds.
    pub max_faults: usize,
    /// See [`Options::plant`].
    pub plant: Option<PlantedBug>,
}

impl Default for Explore {
    fn default() -> Self {
        Explore {
            runs: 100,
            seed: None,
            max_faults: 8,
            plant: None,
        }
    }
}

/// One run of an exploration.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// 0 for the first run.
    pub run: u64,
    pub seed: u64,
    /// The scenario as run: the file's steps and the faults in time order,
    /// the run's seed in `[sim] seed`.
    pub scenario: Scenario,
    /// How many of its steps are random faults.
    pub faults: usize,
    /// The run's first invariant violation.
    pub violation: Option<Event>,
}

/// The runs of an exploration, lazily: stop iterating to stop exploring.
pub fn runs<'a>(
    scenario: &'a Scenario,
    opts: &'a Explore,
) -> impl Iterator<Item = Result<Outcome, SimError>> + 'a {
    let base = opts.seed.unwrap_or(scenario.sim.seed);
    (0..opts.runs).map(move |k| {
        let seed = base.wrapping_add(k);
        let (scenario, faults) = with_faults(scenario, seed, opts.max_faults);
        let violation = first_violation(&scenario, opts.plant, None)?;
        Ok(Outcome {
            run: k,
            seed,
            scenario,
            faults,
            violation,
        })
    })
}

/// The scenario with seed `seed` and its random faults added, and how many
/// faults that is.
pub fn with_faults(scenario: &Scenario, seed: u64, max_faults: usize) -> (Scenario, usize) {
    let faults = sensible(scenario, schedule(scenario, seed, max_faults));
    let n = faults.len();
    let mut s = scenario.clone();
    s.sim.seed = seed;
    s.step.extend(faults);
    // Stable: the file's steps stay before faults at the same time.
    s.step.sort_by_key(|s| s.at);
    (s, n)
}

/// The first violation in a run of `scenario`, of `invariant` when given.
/// Violations stamped after the run's end are left out: the checker looks a
/// settling window past each change, and past the end the timeline stops
/// before the protocol could settle.
pub fn first_violation(
    scenario: &Scenario,
    plant: Option<PlantedBug>,
    invariant: Option<&str>,
) -> Result<Option<Event>, SimError> {
    let opts = Options {
        plant,
        ..Options::default()
    };
    let report = run(scenario, &opts)?;
    let end = scenario.duration.0;
    let wanted = |e: &Event| invariant_of(e).is_some_and(|i| invariant.is_none_or(|w| w == i));
    Ok(report
        .judged
        .timeline
        .into_iter()
        .find(|e| wanted(e) && since_start(e) <= end))
}

fn invariant_of(e: &Event) -> Option<&str> {
    match &e.what {
        What::Violation { invariant, .. } => Some(invariant),
        _ => None,
    }
}

/// A random fault schedule for `scenario`, drawn from [`fault_strategy`]
/// with a generator seeded from `seed`.
pub fn schedule(scenario: &Scenario, seed: u64, max_faults: usize) -> Vec<Step> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    fault_strategy(scenario, max_faults)
        .new_tree(&mut runner)
        .map(|tree| tree.current())
        .unwrap_or_default()
}

/// ChaCha wants 32 bytes: splitmix64 spreads the seed over them.
fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut state = seed;
    let mut out = [0u8; 32];
    for chunk in out.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}

/// Up to `max_faults` steps inside the run, drawn as episodes: a fault at a
/// random time and, usually, its undo some time later (crash or stop then
/// start, freeze then thaw, eth0 down then up, a partition or a one-way cut
/// then heal, a vrrp_script failing then passing again), plus restarts.
/// Episodes keep the nodes coming back, so faults meet healthy peers instead
/// of piling up on dead ones.
pub fn fault_strategy(scenario: &Scenario, max_faults: usize) -> BoxedStrategy<Vec<Step>> {
    let nodes: Vec<String> = scenario.node.iter().map(|n| n.name.clone()).collect();
    if nodes.is_empty() || max_faults == 0 {
        return Just(Vec::new()).boxed();
    }
    type Episode = (Action, Option<Action>);
    let node = select(nodes.clone());
    let link = |n: &String| LinkTarget::Node(n.clone());
    let mut kinds: Vec<(u32, BoxedStrategy<Episode>)> = vec![
        (
            2,
            node.clone()
                .prop_map(|n| (Action::Crash(n.clone()), Some(Action::Start(n))))
                .boxed(),
        ),
        (
            2,
            node.clone()
                .prop_map(|n| (Action::Stop(n.clone()), Some(Action::Start(n))))
                .boxed(),
        ),
        (
            1,
            node.clone()
                .prop_map(|n| (Action::Restart(n), None))
                .boxed(),
        ),
        (
            1,
            node.clone()
                .prop_map(|n| (Action::Freeze(n.clone()), Some(Action::Thaw(n))))
                .boxed(),
        ),
        (
            1,
            node.clone()
                .prop_map(move |n| (Action::LinkDown(link(&n)), Some(Action::LinkUp(link(&n)))))
                .boxed(),
        ),
    ];
    if nodes.len() >= 2 {
        let split = partition(scenario, &nodes).prop_map(|p| (p, Some(Action::Heal)));
        kinds.push((3, split.boxed()));
        let n = nodes.len();
        let oneway = (0..n, 1..n).prop_map(move |(from, offset)| {
            let cut = Action::PartitionOneway(OneWay {
                from: nodes[from].clone(),
                to: nodes[(from + offset) % n].clone(),
            });
            (cut, Some(Action::Heal))
        });
        kinds.push((1, oneway.boxed()));
    }
    let scripts = scripts(scenario);
    if !scripts.is_empty() {
        let fail = select(scripts).prop_map(|(node, name)| {
            let result = |result| {
                Action::Script(ScriptResult {
                    node: node.clone(),
                    name: name.clone(),
                    result,
                })
            };
            (result(1), Some(result(0)))
        });
        kinds.push((2, fail.boxed()));
    }
    let end = u64::try_from(scenario.duration.0.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    // Mostly short episodes, around the protocol's timers; some long ones.
    let length = Union::new_weighted(vec![(2, (1..4_000u64).boxed()), (1, (1..=end).boxed())]);
    let episode =
        (0..end, length, Union::new_weighted(kinds)).prop_map(move |(at, len, (fault, undo))| {
            let ms = |t: u64| Dur(Duration::from_millis(t));
            let mut steps = vec![step(ms(at), fault)];
            if let Some(undo) = undo.filter(|_| at + len < end) {
                steps.push(step(ms(at + len), undo));
            }
            steps
        });
    vec(episode, 1..=max_faults.div_ceil(2))
        .prop_map(move |episodes| {
            let mut steps: Vec<Step> = episodes.into_iter().flatten().collect();
            steps.sort_by_key(|s| s.at);
            steps.truncate(max_faults);
            steps
        })
        .boxed()
}

/// A random split of every host into two or three groups that separates at
/// least two nodes; clients and servers are split too, so none is left
/// apart from everyone.
fn partition(scenario: &Scenario, nodes: &[String]) -> BoxedStrategy<Action> {
    let others = scenario
        .client
        .iter()
        .map(|c| c.name.clone())
        .chain(scenario.server.iter().map(|s| s.name.clone()));
    let hosts: Vec<String> = nodes.iter().cloned().chain(others).collect();
    let n_nodes = nodes.len();
    (2..=3usize, vec(0..3usize, hosts.len()))
        .prop_map(move |(n_groups, mut group)| {
            for g in &mut group {
                *g %= n_groups;
            }
            if group[..n_nodes].iter().all(|g| *g == group[0]) {
                group[0] = (group[0] + 1) % n_groups;
            }
            let groups: Vec<Vec<String>> = (0..n_groups)
                .map(|k| {
                    let members = hosts.iter().zip(&group).filter(|(_, g)| **g == k);
                    members.map(|(h, _)| h.clone()).collect::<Vec<_>>()
                })
                .filter(|g| !g.is_empty())
                .collect();
            Action::Partition(groups)
        })
        .boxed()
}

/// (node, vrrp_script name) for every script a node's config defines.
fn scripts(scenario: &Scenario) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in &scenario.node {
        let parsed = crate::node::read_config(&n.config);
        for s in &parsed.model.vrrp_scripts {
            out.push((n.name.clone(), s.name.clone()));
        }
    }
    out
}

/// A step as a file writes it.
pub fn step(at: Dur, action: Action) -> Step {
    let mut s = Step {
        at,
        ..Step::default()
    };
    match action {
        Action::Crash(n) => s.crash = Some(n),
        Action::Stop(n) => s.stop = Some(n),
        Action::Start(n) => s.start = Some(n),
        Action::Restart(n) => s.restart = Some(n),
        Action::Freeze(n) => s.freeze = Some(n),
        Action::Thaw(n) => s.thaw = Some(n),
        Action::Partition(g) => s.partition = Some(g),
        Action::PartitionOneway(o) => s.partition_oneway = Some(o),
        Action::Heal => s.heal = Some(true),
        Action::LinkDown(t) => s.link_down = Some(t),
        Action::LinkUp(t) => s.link_up = Some(t),
        Action::Script(r) => s.script = Some(r),
        Action::Touch(f) => s.touch = Some(f),
        Action::Remove(f) => s.remove = Some(f),
        Action::Write(f) => s.write = Some(f),
        Action::ServerDown(n) => s.server_down = Some(n),
        Action::ServerUp(n) => s.server_up = Some(n),
        Action::Reload(r) => s.reload = Some(r),
    }
    s
}

/// The faults that change something, given the file's own steps: no start
/// of a running node, no thaw of a thawed one, no heal without a partition.
/// The simulator would ignore the others; dropping them keeps findings short.
fn sensible(scenario: &Scenario, faults: Vec<Step>) -> Vec<Step> {
    let mut all: Vec<(bool, Step)> = scenario.step.iter().map(|s| (false, s.clone())).collect();
    all.extend(faults.into_iter().map(|s| (true, s)));
    all.sort_by_key(|(_, s)| s.at);
    let mut running: BTreeMap<String, bool> = scenario
        .node
        .iter()
        .map(|n| (n.name.clone(), n.started))
        .collect();
    let mut frozen = BTreeSet::new();
    let mut down = BTreeSet::new();
    let mut cut = false;
    let mut results: BTreeMap<(String, String), i32> = BTreeMap::new();
    let mut kept = Vec::new();
    for (fault, s) in all {
        let Some(action) = s.actions().into_iter().next() else {
            continue;
        };
        let is_running = |n: &String| running.get(n).copied().unwrap_or(false);
        let useful = match &action {
            Action::Crash(n) | Action::Stop(n) => is_running(n),
            Action::Start(n) => !is_running(n),
            Action::Freeze(n) => !frozen.contains(n),
            Action::Thaw(n) => frozen.contains(n),
            Action::Heal => cut,
            Action::LinkDown(t) => !down.contains(&(t.node().to_string(), t.iface().to_string())),
            Action::LinkUp(t) => down.contains(&(t.node().to_string(), t.iface().to_string())),
            Action::Script(r) => {
                results
                    .get(&(r.node.clone(), r.name.clone()))
                    .copied()
                    .unwrap_or(0)
                    != r.result
            }
            _ => true,
        };
        if fault && !useful {
            continue;
        }
        match &action {
            Action::Crash(n) | Action::Stop(n) => {
                running.insert(n.clone(), false);
            }
            Action::Start(n) | Action::Restart(n) => {
                running.insert(n.clone(), true);
            }
            Action::Freeze(n) => {
                frozen.insert(n.clone());
            }
            Action::Thaw(n) => {
                frozen.remove(n);
            }
            Action::Partition(_) | Action::PartitionOneway(_) => cut = true,
            Action::Heal => cut = false,
            Action::LinkDown(t) => {
                down.insert((t.node().to_string(), t.iface().to_string()));
            }
            Action::LinkUp(t) => {
                down.remove(&(t.node().to_string(), t.iface().to_string()));
            }
            Action::Script(r) => {
                results.insert((r.node.clone(), r.name.clone()), r.result);
            }
            _ => {}
        }
        if fault {
            kept.push(s);
        }
    }
    kept
}

/// A violation's scenario made small.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The input scenario with the fewest steps found that still violates
    /// the same invariant (same nodes, clients, expectations, seed).
    pub scenario: Scenario,
    /// Its first violation of that invariant, in a run to the full duration.
    pub violation: Event,
    /// Simulator runs the shrinking took.
    pub attempts: usize,
}

/// Most simulator runs one shrinking may take: each is a whole (if
/// shortened) run, and a result after this many is small already.
const MAX_ATTEMPTS: usize = 400;

/// Room after the violation for events the simulator logs a tick late.
const MARGIN: Duration = Duration::from_millis(20);

/// Finds a small step list that still violates `violation`'s invariant:
/// greedy delta debugging (remove halves, quarters, ... single steps while
/// the violation persists), then moves steps earlier (to the step before, or
/// to a whole second or tenth) for a file that reads easily, and again until
/// nothing changes. Candidates run only until shortly after the violation (a
/// run's first part does not depend on its length), so each costs a fraction
/// of a full run.
pub fn shrink(
    scenario: &Scenario,
    violation: &Event,
    plant: Option<PlantedBug>,
) -> Result<Shrunk, SimError> {
    let Some(invariant) = invariant_of(violation) else {
        return Ok(Shrunk {
            scenario: scenario.clone(),
            violation: violation.clone(),
            attempts: 0,
        });
    };
    let found_at = since_start(violation);
    let horizon = (found_at + Duration::from_secs(2)).min(scenario.duration.0);
    let mut s = Shrinker {
        base: scenario,
        invariant,
        plant,
        horizon,
        attempts: 0,
    };
    let mut steps: Vec<Step> = scenario.step.clone();
    let before: Vec<Step> = steps
        .iter()
        .filter(|s| s.at.0 <= found_at)
        .cloned()
        .collect();
    if before.len() < steps.len() && s.violates(&before)? {
        steps = before;
    }
    loop {
        let removed = s.remove_chunks(&mut steps)?;
        let moved = s.move_earlier(&mut steps)?;
        if !(removed || moved) || s.attempts >= MAX_ATTEMPTS {
            break;
        }
    }
    let mut small = scenario.clone();
    small.step = steps;
    let checked = first_violation(&small, plant, Some(invariant))?;
    // Cannot happen when runs are deterministic; then the input stands.
    let (mut small, violation) = match checked {
        Some(v) => (small, v),
        None => (scenario.clone(), violation.clone()),
    };
    let note = format!(
        "Found by `vigil sim --explore` (seed {}): {} steps shrunk to {} that still break {invariant}.",
        scenario.sim.seed,
        scenario.step.len(),
        small.step.len()
    );
    small.description = Some(match &scenario.description {
        Some(d) => format!("{note}\n{d}"),
        None => note,
    });
    Ok(Shrunk {
        scenario: small,
        violation,
        attempts: s.attempts,
    })
}

fn since_start(e: &Event) -> Duration {
    Duration::from_nanos(e.at.as_nanos())
}

struct Shrinker<'a> {
    base: &'a Scenario,
    invariant: &'a str,
    plant: Option<PlantedBug>,
    /// Candidates run this long and must violate before it, less [`MARGIN`].
    horizon: Duration,
    attempts: usize,
}

impl Shrinker<'_> {
    /// Whether these steps still break the invariant before the horizon.
    fn violates(&mut self, steps: &[Step]) -> Result<bool, SimError> {
        if self.attempts >= MAX_ATTEMPTS {
            return Ok(false);
        }
        self.attempts += 1;
        let mut s = self.base.clone();
        s.duration = Dur(self.horizon);
        s.step = steps
            .iter()
            .filter(|st| st.at.0 <= self.horizon)
            .cloned()
            .collect();
        let v = first_violation(&s, self.plant, Some(self.invariant))?;
        // A run cut short may miss events of its last tick; a full one cannot.
        let whole = self.horizon >= self.base.duration.0;
        Ok(v.is_some_and(|v| whole || since_start(&v) + MARGIN <= self.horizon))
    }

    /// Removes chunks of steps, halving the chunk size down to one.
    fn remove_chunks(&mut self, steps: &mut Vec<Step>) -> Result<bool, SimError> {
        let mut changed = false;
        let mut size = steps.len();
        while size > 0 {
            let mut i = 0;
            while i < steps.len() {
                let end = (i + size).min(steps.len());
                let candidate: Vec<Step> =
                    steps[..i].iter().chain(&steps[end..]).cloned().collect();
                if self.violates(&candidate)? {
                    *steps = candidate;
                    changed = true;
                } else {
                    i += size;
                }
            }
            size /= 2;
        }
        Ok(changed)
    }

    /// Moves each step as early as it goes without losing the violation:
    /// to the time of the step before it, else to a whole second or tenth.
    fn move_earlier(&mut self, steps: &mut [Step]) -> Result<bool, SimError> {
        let mut changed = false;
        for i in 0..steps.len() {
            let at = steps[i].at.0;
            let prev = if i == 0 {
                Duration::ZERO
            } else {
                steps[i - 1].at.0
            };
            let floor = |unit: Duration| {
                let n = at.as_nanos() / unit.as_nanos();
                Duration::from_nanos(u64::try_from(n * unit.as_nanos()).unwrap_or(u64::MAX))
            };
            let mut candidates = vec![
                prev,
                floor(Duration::from_secs(1)),
                floor(Duration::from_millis(100)),
            ];
            candidates.retain(|c| *c >= prev && *c < at);
            candidates.sort();
            candidates.dedup();
            for c in candidates {
                let mut candidate = steps.to_vec();
                candidate[i].at = Dur(c);
                if self.violates(&candidate)? {
                    steps[i].at = Dur(c);
                    changed = true;
                    break;
                }
            }
        }
        Ok(changed)
    }
}

/// A scenario written back as a file that reads again as the same scenario.
/// Empty lists and `started = true` are left out, and steps and expectations
/// are written compactly (`partition = [["lb1"], ["lb2"]]` on one line), so
/// a finding reads like a hand-written file.
pub fn to_toml(scenario: &Scenario) -> Result<String, WriteError> {
    let mut head = toml::Table::try_from(scenario)?;
    let tail: Vec<(&str, toml::Value)> = ["step", "expect"]
        .into_iter()
        .filter_map(|k| Some((k, head.remove(k)?)))
        .filter(|(_, v)| !is_empty_list(v))
        .collect();
    head.retain(|_, v| !is_empty_list(v));
    if let Some(toml::Value::Array(nodes)) = head.get_mut("node") {
        for node in nodes {
            if let toml::Value::Table(t) = node {
                let default = |k: &str, v: &toml::Value| {
                    is_empty_list(v) || (k == "started" && v.as_bool() == Some(true))
                };
                t.retain(|k, v| !default(k, v));
            }
        }
    }
    let mut text = toml::to_string_pretty(&head)?;
    for (key, value) in tail {
        for item in value.as_array().into_iter().flatten() {
            text.push_str(&format!("\n[[{key}]]\n"));
            for (k, v) in item.as_table().into_iter().flatten() {
                text.push_str(&format!("{} = {}\n", bare_key(k)?, inline(v)?));
            }
        }
    }
    match Scenario::parse(&text) {
        Ok(back) if back == *scenario => Ok(text),
        Ok(_) => Err(WriteError::RoundTrip("it reads back different".into())),
        Err(e) => Err(WriteError::RoundTrip(e.to_string())),
    }
}

/// A key as TOML writes it: bare when it can be.
fn bare_key(k: &str) -> Result<String, WriteError> {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        Ok(k.to_string())
    } else {
        inline(&toml::Value::String(k.to_string()))
    }
}

/// A value written on one line (inline tables and arrays).
fn inline(v: &toml::Value) -> Result<String, WriteError> {
    use serde::Serialize;
    let mut out = String::new();
    v.serialize(toml::ser::ValueSerializer::new(&mut out))?;
    Ok(out)
}

fn is_empty_list(v: &toml::Value) -> bool {
    v.as_array().is_some_and(|a| a.is_empty())
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write the scenario as TOML: {0}")]
    Toml(#[from] toml::ser::Error),
    #[error("the written scenario does not read back: {0}")]
    RoundTrip(String),
}

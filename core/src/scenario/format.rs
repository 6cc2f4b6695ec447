//! The scenario file format of SCENARIOS.md, parsed from TOML.
//!
//! Unknown keys are errors that name the key and the line (serde's
//! `deny_unknown_fields` with the toml crate's positions). Each `[[step]]` has
//! exactly one action key; that is checked after parsing, with the step's number.

use super::duration::Dur;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub duration: Dur,
    #[serde(default)]
    pub sim: SimSettings,
    #[serde(default)]
    pub segment: Vec<Segment>,
    #[serde(default)]
    pub node: Vec<Node>,
    #[serde(default)]
    pub client: Vec<Client>,
    #[serde(default)]
    pub server: Vec<Server>,
    #[serde(default)]
    pub step: Vec<Step>,
    #[serde(default)]
    pub expect: Vec<Expect>,
}

/// Read by the simulator only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSettings {
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub latency: Dur,
    /// Probability that a datagram is dropped.
    #[serde(default)]
    pub loss: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub name: String,
}

/// The segment a node's eth0 and every client are on unless told otherwise.
pub const DEFAULT_SEGMENT: &str = "lan";

/// An address as scenarios write them, `ADDR/LEN` or a bare `ADDR` (a host:
/// 32 or 128), for both drivers.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub name: String,
    /// eth0's primary IPv4 address with its prefix, on segment "lan".
    pub addr: String,
    #[serde(default)]
    pub addr6: Option<String>,
    #[serde(default)]
    pub ifaces: Vec<Iface>,
    /// keepalived.conf text.
    pub config: String,
    /// False when a `start` step starts the node later.
    #[serde(default = "yes")]
    pub started: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Iface {
    pub name: String,
    pub segment: String,
    pub addr: String,
    #[serde(default)]
    pub addr6: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub name: String,
    pub addr: String,
    /// An address, or "addr:port" for a TCP probe.
    pub probe: String,
    pub every: Dur,
    #[serde(default)]
    pub segment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub name: String,
    pub addr: String,
    pub port: u16,
    #[serde(default)]
    pub segment: Option<String>,
}

/// A node name, or a node and one of its interfaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LinkTarget {
    Node(String),
    Iface { node: String, iface: String },
}

impl LinkTarget {
    pub fn node(&self) -> &str {
        match self {
            LinkTarget::Node(n) | LinkTarget::Iface { node: n, .. } => n,
        }
    }

    pub fn iface(&self) -> &str {
        match self {
            LinkTarget::Node(_) => "eth0",
            LinkTarget::Iface { iface, .. } => iface,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneWay {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptResult {
    pub node: String,
    pub name: String,
    pub result: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePath {
    pub node: String,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWrite {
    pub node: String,
    pub path: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reload {
    pub node: String,
    pub config: String,
}

/// A `[[step]]` as written: `at` and exactly one action key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at: Dur,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thaw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_oneway: Option<OneWay>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_down: Option<LinkTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_up: Option<LinkTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touch: Option<FilePath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<FilePath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<FileWrite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_down: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_up: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<Reload>,
}

/// What a step does, once checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Crash(String),
    Stop(String),
    Start(String),
    Restart(String),
    Freeze(String),
    Thaw(String),
    Partition(Vec<Vec<String>>),
    PartitionOneway(OneWay),
    Heal,
    LinkDown(LinkTarget),
    LinkUp(LinkTarget),
    Script(ScriptResult),
    Touch(FilePath),
    Remove(FilePath),
    Write(FileWrite),
    ServerDown(String),
    ServerUp(String),
    Reload(Reload),
}

impl Action {
    /// The host a step line names ("-" for the whole run) and the step's
    /// text, as both drivers print it.
    pub fn describe(&self) -> (String, String) {
        let run = "-".to_string();
        match self {
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
            Action::PartitionOneway(o) => {
                (run, format!("partition {} -> {} (one way)", o.from, o.to))
            }
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
}

impl Step {
    /// The step's one action; `None` when it has none or several.
    pub fn actions(&self) -> Vec<Action> {
        let s = self.clone();
        [
            s.crash.map(Action::Crash),
            s.stop.map(Action::Stop),
            s.start.map(Action::Start),
            s.restart.map(Action::Restart),
            s.freeze.map(Action::Freeze),
            s.thaw.map(Action::Thaw),
            s.partition.map(Action::Partition),
            s.partition_oneway.map(Action::PartitionOneway),
            s.heal.filter(|h| *h).map(|_| Action::Heal),
            s.link_down.map(Action::LinkDown),
            s.link_up.map(Action::LinkUp),
            s.script.map(Action::Script),
            s.touch.map(Action::Touch),
            s.remove.map(Action::Remove),
            s.write.map(Action::Write),
            s.server_down.map(Action::ServerDown),
            s.server_up.map(Action::ServerUp),
            s.reload.map(Action::Reload),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateIs {
    pub node: String,
    pub instance: String,
    pub is: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterIs {
    pub instance: String,
    pub node: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VipHeld {
    pub addr: String,
    /// A node name, or "none".
    pub holder: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeAnswer {
    pub client: String,
    /// A node name, or "none" for unanswered.
    pub answered_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionCount {
    pub node: String,
    pub instance: String,
    pub count: usize,
}

/// An `[[expect]]` as written: when (`at`, `between` or `always`) and what.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<[Dur; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateIs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<MasterIs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<VipHeld>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitions: Option<TransitionCount>,
}

/// The invariants `always` can name.
pub const INVARIANTS: &[&str] = &["single_master", "vip_master", "takeover", "cause"];

/// A scenario that cannot be run as written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScenarioError {
    /// The TOML itself, with the toml crate's line and column and the key.
    #[error("{0}")]
    Toml(String),
    #[error("step {index} (at {at}): {problem}")]
    Step {
        index: usize,
        at: String,
        problem: String,
    },
    #[error("expect {index}: {problem}")]
    Expect { index: usize, problem: String },
    #[error("{0}")]
    Reference(String),
}

impl Scenario {
    /// Every step's actions with their time, in time order; steps at the
    /// same instant keep the file's order. Both drivers replay this list.
    pub fn timed_actions(&self) -> Vec<(std::time::Duration, Action)> {
        let mut steps: Vec<_> = self
            .step
            .iter()
            .flat_map(|s| s.actions().into_iter().map(move |a| (s.at.0, a)))
            .collect();
        steps.sort_by_key(|s| s.0);
        steps
    }

    /// Parses and checks a scenario file's text.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let scenario = Self::parse_unchecked(text)?;
        scenario.check()?;
        Ok(scenario)
    }

    /// Parses the TOML and its keys without checking that the names used in
    /// steps and expectations exist.
    pub fn parse_unchecked(text: &str) -> Result<Self, ScenarioError> {
        toml::from_str(text).map_err(|e| ScenarioError::Toml(e.to_string()))
    }

    /// The segments, with the implicit "lan" when none is declared.
    pub fn segments(&self) -> Vec<String> {
        if self.segment.is_empty() {
            vec![DEFAULT_SEGMENT.to_string()]
        } else {
            self.segment.iter().map(|s| s.name.clone()).collect()
        }
    }

    /// Every name a step or an expectation may use to mean a host.
    fn hosts(&self) -> BTreeSet<&str> {
        let nodes = self.node.iter().map(|n| n.name.as_str());
        let clients = self.client.iter().map(|c| c.name.as_str());
        let servers = self.server.iter().map(|s| s.name.as_str());
        nodes.chain(clients).chain(servers).collect()
    }

    /// Checks what the TOML cannot: one action per step, names that exist,
    /// expectations that make sense.
    pub fn check(&self) -> Result<(), ScenarioError> {
        let nodes: BTreeSet<&str> = self.node.iter().map(|n| n.name.as_str()).collect();
        let hosts = self.hosts();
        let segments = self.segments();
        let mut seen = BTreeSet::new();
        for name in self
            .node
            .iter()
            .map(|n| &n.name)
            .chain(self.client.iter().map(|c| &c.name))
        {
            if !seen.insert(name.as_str()) {
                return Err(ScenarioError::Reference(format!(
                    "host name {name:?} is used twice"
                )));
            }
        }
        for n in &self.node {
            for i in &n.ifaces {
                if !segments.contains(&i.segment) {
                    return Err(ScenarioError::Reference(format!(
                        "node {}: interface {} is on segment {:?}, which no [[segment]] declares",
                        n.name, i.name, i.segment
                    )));
                }
            }
        }
        for (index, step) in self.step.iter().enumerate() {
            let index = index + 1;
            let err = |problem: String| ScenarioError::Step {
                index,
                at: step.at.to_string(),
                problem,
            };
            let actions = step.actions();
            let [action] = actions.as_slice() else {
                return Err(err(format!(
                    "a step needs exactly one action key (crash, stop, start, ...), found {}",
                    actions.len()
                )));
            };
            for name in action_hosts(action) {
                if !hosts.contains(name) {
                    return Err(err(format!("no node, client or server named {name:?}")));
                }
            }
            if step.at > self.duration {
                return Err(err(format!(
                    "it is after the end of the run ({})",
                    self.duration
                )));
            }
        }
        for (index, e) in self.expect.iter().enumerate() {
            let index = index + 1;
            let err = |problem: &str| ScenarioError::Expect {
                index,
                problem: problem.to_string(),
            };
            let whens = [e.at.is_some(), e.between.is_some(), e.always.is_some()];
            if whens.iter().filter(|w| **w).count() != 1 {
                return Err(err("needs exactly one of at, between, always"));
            }
            let whats = [
                e.state.is_some(),
                e.master.is_some(),
                e.vip.is_some(),
                e.probe.is_some(),
                e.transitions.is_some(),
            ];
            let n_whats = whats.iter().filter(|w| **w).count();
            if let Some(inv) = &e.always {
                if !INVARIANTS.contains(&inv.as_str()) {
                    return Err(err(&format!(
                        "unknown invariant {inv:?} (known: {})",
                        INVARIANTS.join(", ")
                    )));
                }
                if n_whats != 0 {
                    return Err(err("`always` names an invariant and takes nothing else"));
                }
                continue;
            }
            if n_whats != 1 {
                return Err(err(
                    "needs exactly one of state, master, vip, probe, transitions",
                ));
            }
            if e.transitions.is_some() != e.between.is_some() {
                return Err(err(
                    "`transitions` goes with `between`, the others with `at`",
                ));
            }
            let named: Vec<&str> = [
                e.state.as_ref().map(|s| s.node.as_str()),
                e.master.as_ref().map(|m| m.node.as_str()),
                e.vip.as_ref().map(|v| v.holder.as_str()),
                e.transitions.as_ref().map(|t| t.node.as_str()),
            ]
            .into_iter()
            .flatten()
            .collect();
            for name in named {
                if name != "none" && !nodes.contains(name) {
                    return Err(err(&format!("no node named {name:?}")));
                }
            }
            // A probe may be answered by a real server behind a director.
            if let Some(p) = &e.probe
                && p.answered_by != "none"
                && !nodes.contains(p.answered_by.as_str())
                && !self.server.iter().any(|s| s.name == p.answered_by)
            {
                return Err(err(&format!("no node or server named {:?}", p.answered_by)));
            }
            if let Some(s) = &e.state
                && !["INIT", "BACKUP", "MASTER", "FAULT", "STOPPED"].contains(&s.is.as_str())
            {
                return Err(err(&format!(
                    "state {:?} is not one of INIT, BACKUP, MASTER, FAULT, STOPPED",
                    s.is
                )));
            }
            if let Some(p) = &e.probe
                && !self.client.iter().any(|c| c.name == p.client)
            {
                return Err(err(&format!("no client named {:?}", p.client)));
            }
        }
        Ok(())
    }
}

/// The host names an action refers to.
fn action_hosts(action: &Action) -> Vec<&str> {
    match action {
        Action::Crash(n)
        | Action::Stop(n)
        | Action::Start(n)
        | Action::Restart(n)
        | Action::Freeze(n)
        | Action::Thaw(n)
        | Action::ServerDown(n)
        | Action::ServerUp(n) => vec![n],
        Action::Partition(groups) => groups.iter().flatten().map(String::as_str).collect(),
        Action::PartitionOneway(o) => vec![&o.from, &o.to],
        Action::Heal => vec![],
        Action::LinkDown(t) | Action::LinkUp(t) => vec![t.node()],
        Action::Script(s) => vec![&s.node],
        Action::Touch(f) | Action::Remove(f) => vec![&f.node],
        Action::Write(w) => vec![&w.node],
        Action::Reload(r) => vec![&r.node],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        assert_eq!(parse_cidr("10.0.0.1/8"), Some((ip("10.0.0.1"), 8)));
        assert_eq!(parse_cidr("fd00::1"), Some((ip("fd00::1"), 128)));
        assert_eq!(parse_cidr("10.0.0.1/33"), None);
    }
}

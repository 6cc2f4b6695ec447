//! Expectations and invariants, judged over a finished run's timeline, so the
//! simulator and the lab give the same verdicts for the same events.

use super::format::{Action, DEFAULT_SEGMENT, Expect, Node, Scenario};
use super::timeline::{Event, What};
use super::topology::Topology;
use crate::Instant;
use crate::config::Config;
use crate::config::model::vrrp::Family;
use crate::vrrp::State;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

/// What the checker must know of each configured VRRP instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceInfo {
    pub node: String,
    pub instance: String,
    pub vrid: u8,
    pub v6: bool,
    pub interval: Duration,
    /// The segment of the instance's interface.
    pub segment: String,
    /// Its virtual addresses (advertised and excluded).
    pub vips: Vec<IpAddr>,
}

/// What the checker must know of a node's instances, from its parsed
/// config: an instance whose interface the node lacks is left out (it
/// cannot run).
pub fn instance_infos(node: &Node, config: &Config) -> Vec<InstanceInfo> {
    let segment_of = |iface: &str| {
        if iface == "eth0" {
            return Some(DEFAULT_SEGMENT.to_string());
        }
        node.ifaces
            .iter()
            .find(|i| i.name == iface)
            .map(|i| i.segment.clone())
    };
    config
        .instances
        .iter()
        .filter_map(|inst| {
            let segment = segment_of(inst.interface.as_deref()?)?;
            Some(InstanceInfo {
                node: node.name.clone(),
                instance: inst.name.clone(),
                vrid: inst.virtual_router_id,
                v6: inst.family == Family::Inet6,
                interval: inst.advert_int(),
                segment,
                vips: inst
                    .virtual_ipaddress
                    .iter()
                    .chain(&inst.virtual_ipaddress_excluded)
                    .map(|a| a.addr)
                    .collect(),
            })
        })
        .collect()
}

/// A run's timeline, queried at points in time.
pub struct Run<'a> {
    events: &'a [Event],
}

impl<'a> Run<'a> {
    pub fn new(events: &'a [Event]) -> Self {
        Run { events }
    }

    fn until(&self, t: Instant) -> impl Iterator<Item = &'a Event> {
        self.events.iter().filter(move |e| e.at <= t)
    }

    /// An instance's state at `t` (Init before its first transition).
    pub fn state(&self, node: &str, instance: &str, t: Instant) -> State {
        self.until(t)
            .filter(|e| e.host == node)
            .filter_map(|e| match &e.what {
                What::State {
                    instance: i, to, ..
                } if i == instance => Some(*to),
                _ => None,
            })
            .last()
            .unwrap_or(State::Init)
    }

    /// Every (host, address) on a host's interfaces at `t`, stale ones included.
    pub fn addresses(&self, t: Instant) -> BTreeSet<(String, IpAddr)> {
        let mut held = BTreeSet::new();
        for e in self.until(t) {
            apply_address(&mut held, e);
        }
        held
    }

    /// The hosts holding `addr` at `t` for VRRP. An address a crashed vigil
    /// left on its host is stale, not held: the contract's own example
    /// (SCENARIOS.md) expects the new Master as the only holder after a crash,
    /// and the `probe` expectation shows whether clients still reach the
    /// stale host.
    pub fn holders(&self, addr: &str, t: Instant) -> BTreeSet<String> {
        self.addresses(t)
            .into_iter()
            .filter(|(h, a)| a.to_string() == addr && !crashed(self, h, t))
            .map(|(h, _)| h)
            .collect()
    }

    /// Who answered a client's last probe at or before `t` (`None`: nobody).
    pub fn probe(&self, client: &str, t: Instant) -> Option<String> {
        self.until(t)
            .filter(|e| e.host == client)
            .filter_map(|e| match &e.what {
                What::Probe { answered_by, .. } => Some(answered_by.clone()),
                _ => None,
            })
            .last()
            .flatten()
    }

    /// When an instance last changed state, at or before `t`.
    pub fn last_transition(&self, node: &str, instance: &str, t: Instant) -> Option<Instant> {
        self.until(t)
            .filter(|e| {
                e.host == node
                    && matches!(&e.what, What::State { instance: i, .. } if i == instance)
            })
            .map(|e| e.at)
            .last()
    }

    pub fn transitions(&self, node: &str, instance: &str, from: Instant, to: Instant) -> usize {
        self.events
            .iter()
            .filter(|e| e.host == node && e.at >= from && e.at <= to)
            .filter(|e| matches!(&e.what, What::State { instance: i, .. } if i == instance))
            .count()
    }
}

fn at(d: Duration) -> Instant {
    Instant::ZERO + d
}

/// Every invariant, as timeline lines: [`single_master`], [`vip_master`],
/// [`takeover`] and [`cause`].
pub fn invariants(
    scenario: &Scenario,
    events: &[Event],
    instances: &[InstanceInfo],
    latency: Duration,
) -> Vec<Event> {
    let mut out = single_master(scenario, events, instances, latency);
    out.extend(vip_master(events, instances, latency));
    out.extend(takeover(scenario, events, instances, latency));
    out.extend(cause(events));
    out.sort_by_key(|e| e.at);
    out
}

fn violation(at: Instant, host: &str, invariant: &str, detail: String) -> Event {
    Event {
        at,
        host: host.to_string(),
        what: What::Violation {
            invariant: invariant.to_string(),
            detail,
        },
    }
}

/// `vip_master`: a host holds a virtual address only while one of its
/// instances with that address is Master. A crashed vigil leaves its address
/// behind: that is reported once as a stale address, not as a violation.
/// A holding that ends within `settle` is not one either: in real time the
/// kernel drops the address a little after the daemon leaves Master.
/// `events` are in time order, as a run's timeline is.
pub fn vip_master(events: &[Event], instances: &[InstanceInfo], settle: Duration) -> Vec<Event> {
    let run = Run::new(events);
    let mut out = Vec::new();
    let mut reported: BTreeSet<(String, IpAddr)> = BTreeSet::new();
    let mut held = BTreeSet::new();
    for (k, e) in events.iter().enumerate() {
        apply_address(&mut held, e);
        // Judge once all events of an instant are in.
        let t = e.at;
        if events.get(k + 1).is_some_and(|next| next.at == t) {
            continue;
        }
        for (host, addr) in &held {
            let owners: Vec<&InstanceInfo> = instances
                .iter()
                .filter(|i| &i.node == host && i.vips.contains(addr))
                .collect();
            let unowned_at = |t: Instant| {
                !owners
                    .iter()
                    .any(|i| run.state(host, &i.instance, t) == State::Master)
            };
            if owners.is_empty() || !unowned_at(t) {
                continue;
            }
            let later = t + settle;
            let lasts = run.addresses(later).contains(&(host.clone(), *addr)) && unowned_at(later);
            if !settle.is_zero() && !lasts {
                continue;
            }
            if !reported.insert((host.clone(), *addr)) {
                continue;
            }
            if crashed(&run, host, t) {
                out.push(Event {
                    at: t,
                    host: host.clone(),
                    what: What::Note {
                        text: format!("stale address {addr}: left by a crashed vigil"),
                    },
                });
            } else {
                out.push(violation(
                    t,
                    host,
                    "vip_master",
                    format!("{addr} is held but no instance owning it is MASTER"),
                ));
            }
        }
        reported.retain(|k| held.contains(k));
    }
    out
}

/// Tracks the addresses on hosts through one event.
fn apply_address(held: &mut BTreeSet<(String, IpAddr)>, e: &Event) {
    match &e.what {
        What::VipAdded { addr, .. } => {
            held.insert((e.host.clone(), *addr));
        }
        What::VipRemoved { addr, .. } => {
            held.remove(&(e.host.clone(), *addr));
        }
        _ => {}
    }
}

/// Whether the host's vigil was last seen crashing.
fn crashed(run: &Run, host: &str, t: Instant) -> bool {
    run.until(t)
        .filter(|e| e.host == host)
        .filter_map(|e| match &e.what {
            What::State { reason, .. } => Some(reason.starts_with("crashed")),
            _ => None,
        })
        .last()
        .unwrap_or(false)
}

/// `takeover`: when a Master fails (crash, stop, fault) while another
/// instance of its router is Backup and stays so, some instance is Master again within
/// Master_Down_Interval (bounded by 4 intervals: Skew_Time < 1 interval)
/// plus the latency.
pub fn takeover(
    scenario: &Scenario,
    events: &[Event],
    instances: &[InstanceInfo],
    latency: Duration,
) -> Vec<Event> {
    let run = Run::new(events);
    let end = at(scenario.duration.0);
    let mut out = Vec::new();
    for e in events {
        let What::State {
            instance,
            from: State::Master,
            to,
            ..
        } = &e.what
        else {
            continue;
        };
        if !matches!(to, State::Stopped | State::Fault) {
            continue;
        }
        let Some(failed) = instances
            .iter()
            .find(|i| i.node == e.host && &i.instance == instance)
        else {
            continue;
        };
        let peers: Vec<&InstanceInfo> = instances
            .iter()
            .filter(|i| {
                i.node != e.host
                    && i.vrid == failed.vrid
                    && i.v6 == failed.v6
                    && i.segment == failed.segment
            })
            .collect();
        // A Backup that never heard the failed Master (one just started, a
        // v3 one that has not adopted its interval) times out on its own.
        let slowest = peers
            .iter()
            .map(|p| p.interval)
            .fold(failed.interval, Duration::max);
        let deadline = e.at + slowest * 4 + latency;
        if deadline > end {
            continue;
        }
        // Only a Backup that stays Backup through the window must take over:
        // one that goes to Fault, stops or is frozen meanwhile cannot, and
        // one reloaded meanwhile starts its Master_Down_Timer again, as
        // keepalived's reload does.
        let waiting = |p: &&InstanceInfo| {
            run.state(&p.node, &p.instance, e.at) == State::Backup
                && !frozen_within(&run, &p.node, e.at, deadline)
                && !reloaded_within(&run, &p.node, e.at, deadline)
                && !run.events.iter().any(|x| {
                    x.at > e.at
                        && x.at <= deadline
                        && x.host == p.node
                        && matches!(&x.what, What::State { instance, to, .. } if *instance == p.instance && *to != State::Master)
                })
        };
        if !peers.iter().any(waiting) {
            continue;
        }
        // A Backup took over, the failed node itself is Master again (a
        // restart that beat the Backups' timers), or another router was
        // Master already (a one-way partition had made two).
        let already = peers
            .iter()
            .any(|p| run.state(&p.node, &p.instance, deadline) == State::Master);
        let back = already
            || run
            .events
            .iter()
            .filter(|x| x.at >= e.at && x.at <= deadline)
            .any(|x| peers.iter().copied().chain([failed]).any(|p| x.host == p.node && matches!(&x.what, What::State { instance, to: State::Master, .. } if *instance == p.instance)));
        if !back {
            out.push(violation(
                deadline,
                &e.host,
                "takeover",
                format!(
                    "{instance} left MASTER at {} ms and no router took over",
                    e.millis()
                ),
            ));
        }
    }
    out
}

/// Whether `node`'s vigil is frozen at some time in `[from, to]`: frozen at
/// `from`, or a `freeze` step inside.
fn frozen_within(run: &Run, node: &str, from: Instant, to: Instant) -> bool {
    let mut frozen = false;
    for x in run.events.iter().filter(|x| x.host == node && x.at <= to) {
        if let What::Step { action } = &x.what {
            match action.as_str() {
                "freeze" => frozen = true,
                "thaw" if x.at <= from => frozen = false,
                _ => {}
            }
        }
        if frozen && x.at >= from {
            return true;
        }
    }
    frozen
}

/// Whether `node` was reloaded (SIGHUP) in `from..=to`.
fn reloaded_within(run: &Run, node: &str, from: Instant, to: Instant) -> bool {
    run.events.iter().any(|x| {
        x.host == node
            && x.at >= from
            && x.at <= to
            && matches!(&x.what, What::Step { action } if action == "reload")
    })
}

/// `cause`: every transition says why it happened.
pub fn cause(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .filter(|e| matches!(&e.what, What::State { reason, .. } if reason.trim().is_empty()))
        .map(|e| {
            violation(
                e.at,
                &e.host,
                "cause",
                "a transition without a cause".into(),
            )
        })
        .collect()
}

/// Judges every expectation; `always` looks up the violations of its invariant.
pub fn check(scenario: &Scenario, events: &[Event], violations: &[Event]) -> Vec<Event> {
    check_within(scenario, events, violations, Duration::ZERO)
}

/// [`check`] for a run in real time: an `at` expectation passes when it
/// holds at some moment within `tolerance` of its time, and a `between`
/// count when it is the count of some window whose ends each move by at
/// most `tolerance`. The verdict keeps the expectation's own time and text.
pub fn check_within(
    scenario: &Scenario,
    events: &[Event],
    violations: &[Event],
    tolerance: Duration,
) -> Vec<Event> {
    let run = Run::new(events);
    let end = at(scenario.duration.0);
    scenario
        .expect
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let exact = verdict(&run, i + 1, e, end, violations);
            if tolerance.is_zero() || passed(&exact) {
                return exact;
            }
            shifted(e, events, tolerance)
                .into_iter()
                .map(|moved| verdict(&run, i + 1, &moved, end, violations))
                .find(passed)
                .map(|ok| Event {
                    what: match (&exact.what, ok.what) {
                        (What::Expectation { text, .. }, What::Expectation { index, .. }) => {
                            What::Expectation {
                                index,
                                text: text.clone(),
                                passed: true,
                                detail: String::new(),
                            }
                        }
                        (_, what) => what,
                    },
                    ..exact.clone()
                })
                .unwrap_or(exact)
        })
        .collect()
}

fn passed(verdict: &Event) -> bool {
    matches!(verdict.what, What::Expectation { passed: true, .. })
}

/// Copies of `e` moved within `tolerance`: the state of a run only changes
/// at its events, so the window's ends and the events inside are every
/// moment worth trying.
fn shifted(e: &Expect, events: &[Event], tolerance: Duration) -> Vec<Expect> {
    let near = |d: Duration| -> Vec<Duration> {
        let (lo, hi) = (d.saturating_sub(tolerance), d + tolerance);
        let mut times: Vec<Duration> = events
            .iter()
            .map(|x| Duration::from_nanos(x.at.as_nanos()))
            .filter(|t| *t >= lo && *t <= hi)
            .flat_map(|t| [t.saturating_sub(Duration::from_nanos(1)), t])
            .chain([lo, hi])
            .collect();
        times.sort();
        times.dedup();
        times
    };
    if let Some(t) = e.at {
        return near(t.0)
            .into_iter()
            .map(|t| Expect {
                at: Some(super::Dur(t)),
                ..e.clone()
            })
            .collect();
    }
    if let Some([from, to]) = e.between {
        let ends = near(to.0);
        return near(from.0)
            .into_iter()
            .flat_map(|f| ends.iter().map(move |t| (f, *t)))
            .filter(|(f, t)| f <= t)
            .map(|(f, t)| Expect {
                between: Some([super::Dur(f), super::Dur(t)]),
                ..e.clone()
            })
            .collect();
    }
    Vec::new()
}

/// A judged run: the timeline with violations and verdicts merged in.
#[derive(Clone, Debug)]
pub struct Judged {
    pub timeline: Vec<Event>,
    pub passed: usize,
    pub failed: usize,
}

/// Checks the invariants and expectations of a finished run: the
/// simulator's exactly, the lab's within a real-time `tolerance` (which
/// also widens the invariants' settling windows, as link latency does).
pub fn judge(
    scenario: &Scenario,
    mut events: Vec<Event>,
    instances: &[InstanceInfo],
    latency: Duration,
    tolerance: Duration,
) -> Judged {
    events.sort_by_key(|e| e.at);
    let violations = invariants(scenario, &events, instances, latency + tolerance);
    let verdicts = check_within(scenario, &events, &violations, tolerance);
    let failed = verdicts.iter().filter(|v| !passed(v)).count();
    let passed = verdicts.len() - failed;
    events.extend(violations);
    events.extend(verdicts);
    events.sort_by_key(|e| e.at);
    Judged {
        timeline: events,
        passed,
        failed,
    }
}

impl Judged {
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

fn verdict(run: &Run, index: usize, e: &Expect, end: Instant, violations: &[Event]) -> Event {
    let t =
        e.at.map(|d| at(d.0))
            .or(e.between.map(|b| at(b[1].0)))
            .unwrap_or(end);
    let (text, passed, detail) = if let Some(inv) = &e.always {
        let found: Vec<_> = violations
            .iter()
            .filter(|v| matches!(&v.what, What::Violation { invariant, .. } if invariant == inv))
            .collect();
        let detail = found
            .first()
            .map(|v| format!("first at {} ms", v.millis()))
            .unwrap_or_default();
        (format!("always {inv}"), found.is_empty(), detail)
    } else if let Some(s) = &e.state {
        let got = run.state(&s.node, &s.instance, t);
        (
            format!("{} {} is {}", s.node, s.instance, s.is),
            got.as_str() == s.is,
            format!("is {got}"),
        )
    } else if let Some(m) = &e.master {
        let masters = masters_at(run, &m.instance, t, nodes_seen(run, t));
        let ok = masters.len() == 1 && masters.contains(&m.node);
        (
            format!("{} master of {}", m.node, m.instance),
            ok,
            format!("masters: {}", names(&masters)),
        )
    } else if let Some(v) = &e.vip {
        let holders = run.holders(&v.addr, t);
        let ok = if v.holder == "none" {
            holders.is_empty()
        } else {
            holders.len() == 1 && holders.contains(&v.holder)
        };
        (
            format!("{} held by {}", v.addr, v.holder),
            ok,
            format!("held by: {}", names(&holders)),
        )
    } else if let Some(p) = &e.probe {
        let got = run
            .probe(&p.client, t)
            .unwrap_or_else(|| "none".to_string());
        (
            format!("{} answered by {}", p.client, p.answered_by),
            got == p.answered_by,
            format!("answered by {got}"),
        )
    } else if let (Some(tr), Some([from, to])) = (&e.transitions, e.between) {
        let n = run.transitions(&tr.node, &tr.instance, at(from.0), at(to.0));
        let text = format!(
            "{} {} transitions between {from} and {to}: {}",
            tr.node, tr.instance, tr.count
        );
        (text, n == tr.count, format!("{n} seen"))
    } else {
        ("nothing to check".to_string(), false, String::new())
    };
    let detail = if passed { String::new() } else { detail };
    Event {
        at: t,
        host: "-".into(),
        what: What::Expectation {
            index,
            text,
            passed,
            detail,
        },
    }
}

/// The nodes with a state change at or before `t`.
fn nodes_seen(run: &Run, t: Instant) -> BTreeSet<String> {
    run.until(t)
        .filter(|e| matches!(e.what, What::State { .. }))
        .map(|e| e.host.clone())
        .collect()
}

fn masters_at(run: &Run, instance: &str, t: Instant, nodes: BTreeSet<String>) -> BTreeSet<String> {
    nodes
        .into_iter()
        .filter(|n| run.state(n, instance, t) == State::Master)
        .collect()
}

fn names(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "none".to_string()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// `single_master`: at most one Master per VRID and family within each
/// segment's connected part, outside the window the protocol needs to settle a
/// contest (one advert interval plus the latency after a transition or a
/// change of who hears whom). Frozen nodes do not count: they act on nothing.
pub fn single_master(
    scenario: &Scenario,
    events: &[Event],
    instances: &[InstanceInfo],
    latency: Duration,
) -> Vec<Event> {
    let run = Run::new(events);
    // After the end the timeline stops: nothing there can settle or clash.
    let end = at(scenario.duration.0);
    let hosts: Vec<String> = scenario.node.iter().map(|n| n.name.clone()).collect();
    let steps: Vec<(Instant, Action)> = scenario
        .step
        .iter()
        .flat_map(|s| s.actions().into_iter().map(move |a| (at(s.at.0), a)))
        .collect();
    // Moments when something may change: transitions, steps, and the end of
    // every settling window after them.
    let mut changes: Vec<Instant> = events
        .iter()
        .filter(|e| matches!(e.what, What::State { .. }))
        .map(|e| e.at)
        .chain(steps.iter().map(|s| s.0))
        .collect();
    changes.sort();
    changes.dedup();
    let mut groups: BTreeMap<(u8, bool, &str), Vec<&InstanceInfo>> = BTreeMap::new();
    for i in instances {
        groups
            .entry((i.vrid, i.v6, i.segment.as_str()))
            .or_default()
            .push(i);
    }
    let mut out = Vec::new();
    for ((vrid, v6, segment), members) in groups {
        let window = members.iter().map(|m| m.interval).max().unwrap_or_default() + latency;
        let mut probes: Vec<Instant> = changes
            .iter()
            .map(|&c| c + window + Duration::from_nanos(1))
            .collect();
        probes.sort();
        let mut reported_until = None;
        for t in probes.into_iter().filter(|&t| t <= end) {
            let mut topo = Topology::default();
            for (_, a) in steps.iter().filter(|s| s.0 <= t) {
                topo.apply(a, &hosts);
            }
            let masters: Vec<&&InstanceInfo> = members
                .iter()
                .filter(|m| !topo.frozen.contains(&m.node))
                .filter(|m| run.state(&m.node, &m.instance, t) == State::Master)
                .collect();
            let clash = masters.iter().enumerate().find_map(|(i, a)| {
                masters[i + 1..]
                    .iter()
                    .find(|b| topo.hear_each_other(&a.node, &b.node))
                    .map(|b| (a, b))
            });
            let Some((a, b)) = clash else {
                reported_until = None;
                continue;
            };
            // Still inside the window after the latest move of either Master
            // or of the topology: the protocol may yet settle it.
            let last_state = |m: &InstanceInfo| run.last_transition(&m.node, &m.instance, t);
            let last_step = steps.iter().filter(|s| s.0 <= t).map(|s| s.0).max();
            let latest = [last_state(a), last_state(b), last_step]
                .into_iter()
                .flatten()
                .max();
            if latest.is_some_and(|l| t.saturating_since(l) <= window) {
                continue;
            }
            if reported_until.is_some() {
                continue;
            }
            reported_until = Some(t);
            let family = if v6 { "IPv6" } else { "IPv4" };
            out.push(Event {
                at: t,
                host: "-".into(),
                what: What::Violation {
                    invariant: "single_master".into(),
                    detail: format!(
                        "{} on {} and {} on {} are both MASTER for VRID {vrid} ({family}) on {segment}",
                        a.instance, a.node, b.instance, b.node
                    ),
                },
            });
        }
    }
    out.sort_by_key(|e| e.at);
    out
}

//! A tiny zero-latency LAN of VRRP routers for the state-machine tests: every
//! transmit reaches every other running node (multicast) or its unicast peer,
//! in order, at the instant it was sent. The clock jumps from timeout to timeout.

#![allow(dead_code)] // each test binary uses part of it

use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use vigil_core::Instant;
use vigil_core::vrrp::group::GroupConfig;
use vigil_core::vrrp::instance::decode;
use vigil_core::vrrp::packet::Decoded;
use vigil_core::vrrp::track::{Track, TrackKind, TrackState};
use vigil_core::vrrp::{
    Action, Command, InstanceConfig, Received, Router, State, Transmit, Version, Vip,
};

pub struct Node {
    pub name: String,
    pub configs: Vec<InstanceConfig>,
    pub groups: Vec<GroupConfig>,
    pub router: Option<Router>,
}

/// What happened on the LAN, for assertions.
#[derive(Clone, Debug)]
pub enum Event {
    Action {
        at: Instant,
        node: String,
        action: Action,
    },
    Advert {
        at: Instant,
        node: String,
        advert: Decoded,
    },
}

pub struct Lan {
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub events: Vec<Event>,
    /// Pairs of node indexes that cannot hear each other.
    pub cut: BTreeSet<(usize, usize)>,
    /// Checked after every input: a Backup never sends an advert, timers never
    /// point into the past.
    pub violations: Vec<String>,
}

pub fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * 1_000_000)
}

pub fn us(n: u64) -> Instant {
    Instant::from_nanos(n * 1_000)
}

pub fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

pub fn vip(addr: IpAddr) -> Vip {
    Vip {
        addr,
        prefix_len: 24,
        iface: "eth0".into(),
        label: None,
        broadcast: None,
        scope: None,
    }
}

/// What an instance tracks, unweighted direction.
pub fn track(kind: TrackKind, name: &str, weight: i32) -> Track {
    Track {
        kind,
        name: name.into(),
        weight,
        reverse: false,
    }
}

/// News of a tracked object.
pub fn tracked(kind: TrackKind, name: &str, state: TrackState) -> Command {
    Command::Track {
        kind,
        name: name.into(),
        state,
    }
}

/// A v3 IPv4 instance VI_1, VRID 51, VIP 10.0.0.100, interval 1 s.
pub fn instance(last: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", "eth0", Version::V3, 51, priority, v4(last));
    c.vips = vec![vip(v4(100))];
    c
}

impl Lan {
    pub fn new() -> Self {
        Lan {
            now: Instant::ZERO,
            nodes: Vec::new(),
            events: Vec::new(),
            cut: BTreeSet::new(),
            violations: Vec::new(),
        }
    }

    /// Adds and starts a node with one instance.
    pub fn add(&mut self, name: &str, cfg: InstanceConfig) -> usize {
        self.add_node(name, vec![cfg], vec![])
    }

    pub fn add_node(
        &mut self,
        name: &str,
        configs: Vec<InstanceConfig>,
        groups: Vec<GroupConfig>,
    ) -> usize {
        self.nodes.push(Node {
            name: name.into(),
            configs,
            groups,
            router: None,
        });
        let i = self.nodes.len() - 1;
        self.start(i);
        i
    }

    pub fn start(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        let router =
            Router::new(n.configs.clone(), n.groups.clone(), self.now).expect("valid config");
        n.router = Some(router);
        self.flush(vec![i]);
    }

    /// SIGHUP with new instance configurations.
    pub fn reload(&mut self, i: usize, configs: Vec<InstanceConfig>) {
        self.nodes[i].configs = configs.clone();
        if let Some(r) = self.nodes[i].router.as_mut() {
            r.reload(configs, vec![], self.now).expect("valid config");
        }
        self.flush(vec![i]);
    }

    /// SIGKILL: no priority 0, no cleanup.
    pub fn crash(&mut self, i: usize) {
        self.nodes[i].router = None;
    }

    pub fn command(&mut self, i: usize, cmd: Command) {
        if let Some(r) = self.nodes[i].router.as_mut() {
            r.handle_command(self.now, &cmd);
        }
        self.flush(vec![i]);
    }

    pub fn state(&self, i: usize, instance: &str) -> Option<State> {
        self.nodes[i]
            .router
            .as_ref()?
            .instance(instance)
            .map(|x| x.state())
    }

    pub fn masters(&self, instance: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.state(i, instance) == Some(State::Master))
            .collect()
    }

    /// Runs every timer due up to and including `until`.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            let next = self
                .nodes
                .iter()
                .filter_map(|n| n.router.as_ref()?.poll_timeout())
                .min();
            match next {
                Some(t) if t <= until => {
                    if t < self.now {
                        self.violations
                            .push(format!("timer {t:?} before now {:?}", self.now));
                    }
                    self.now = self.now.max(t);
                    let due: Vec<usize> = (0..self.nodes.len())
                        .filter(|&i| {
                            self.nodes[i]
                                .router
                                .as_ref()
                                .and_then(Router::poll_timeout)
                                .is_some_and(|x| x <= self.now)
                        })
                        .collect();
                    for &i in &due {
                        if let Some(r) = self.nodes[i].router.as_mut() {
                            r.handle_timeout(self.now);
                        }
                    }
                    self.flush(due);
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    fn hears(&self, from: usize, to: usize) -> bool {
        from != to && !self.cut.contains(&(from, to)) && self.nodes[to].router.is_some()
    }

    fn addresses(&self, i: usize) -> Vec<IpAddr> {
        self.nodes[i].configs.iter().map(|c| c.src).collect()
    }

    /// Drains the outputs of `touched` nodes and delivers their transmits in
    /// the order they were sent, until the LAN is quiet. Outputs are drained
    /// right after the input that produced them, so the sender's state is
    /// checked as it was when it sent.
    fn flush(&mut self, touched: Vec<usize>) {
        let mut wire: VecDeque<(usize, Transmit)> = VecDeque::new();
        for i in touched {
            self.drain(i, &mut wire);
        }
        while let Some((i, t)) = wire.pop_front() {
            let rx = Received {
                iface: t.iface.clone(),
                src: t.src,
                dst: t.dst,
                ttl: t.ttl,
                bytes: t.bytes,
            };
            for j in 0..self.nodes.len() {
                if !self.hears(i, j)
                    || !(t.dst.is_multicast() || self.addresses(j).contains(&t.dst))
                {
                    continue;
                }
                if let Some(r) = self.nodes[j].router.as_mut() {
                    // Drops are counted in the router; tests read the counters.
                    let _ = r.handle_packet(self.now, &rx);
                }
                self.drain(j, &mut wire);
            }
        }
    }

    fn drain(&mut self, i: usize, wire: &mut VecDeque<(usize, Transmit)>) {
        let name = self.nodes[i].name.clone();
        let Some(r) = self.nodes[i].router.as_mut() else {
            return;
        };
        while let Some(a) = r.poll_action() {
            self.events.push(Event::Action {
                at: self.now,
                node: name.clone(),
                action: a,
            });
        }
        if let Some(t) = r.poll_timeout().filter(|&t| t < self.now) {
            self.violations
                .push(format!("{name}: timeout {t:?} before now {:?}", self.now));
        }
        while let Some(t) = r.poll_transmit() {
            let rx = Received {
                iface: t.iface.clone(),
                src: t.src,
                dst: t.dst,
                ttl: t.ttl,
                bytes: t.bytes.clone(),
            };
            let decoded = decode(&rx).expect("vigil sends valid adverts");
            let sender = r
                .instances()
                .iter()
                .find(|x| x.config().vrid == decoded.advert.vrid)
                .map(|x| x.state());
            if decoded.advert.priority > 0 && sender != Some(State::Master) {
                self.violations.push(format!(
                    "{name} sent priority {} while {sender:?}",
                    decoded.advert.priority
                ));
            }
            self.events.push(Event::Advert {
                at: self.now,
                node: name.clone(),
                advert: decoded,
            });
            wire.push_back((i, t));
        }
    }

    /// The state changes of one node, in order.
    pub fn transitions(&self, node: &str) -> Vec<(Instant, State, State)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Action {
                    at,
                    node: n,
                    action: Action::Notify { from, to, .. },
                } if n == node => Some((*at, *from, *to)),
                _ => None,
            })
            .collect()
    }

    /// When `node` last entered `state`.
    pub fn entered(&self, node: &str, state: State) -> Option<Instant> {
        self.transitions(node)
            .into_iter()
            .filter(|t| t.2 == state)
            .map(|t| t.0)
            .next_back()
    }

    pub fn adverts(&self, node: &str) -> Vec<(Instant, Decoded)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Advert {
                    at,
                    node: n,
                    advert,
                } if n == node => Some((*at, advert.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn actions(&self, node: &str) -> Vec<(Instant, Action)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Action {
                    at,
                    node: n,
                    action,
                } if n == node => Some((*at, action.clone())),
                _ => None,
            })
            .collect()
    }
}

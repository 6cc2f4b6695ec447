//! All VRRP instances of one host: decodes each datagram once, hands it to
//! the instance it belongs to, runs the sync groups, and gathers the outputs
//! in the order they were produced.

use super::event::{Action, Command};
use super::group::{GroupConfig, SyncGroup};
use super::instance::{self, Instance, InstanceConfig};
use super::{Received, Transmit};
use crate::Instant;
use std::collections::{BTreeMap, VecDeque};

/// A configuration the router cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouterError {
    #[error("sync group {group}: no vrrp_instance named {member}")]
    UnknownMember { group: String, member: String },
    #[error(
        "vrrp_instance {member} is in sync groups {first} and {second}; an instance can be in one only"
    )]
    TwoGroups {
        member: String,
        first: String,
        second: String,
    },
}

/// The VRRP side of one host.
#[derive(Debug)]
pub struct Router {
    instances: Vec<Instance>,
    groups: Vec<SyncGroup>,
    /// Datagrams no instance could take, by reason.
    dropped: BTreeMap<&'static str, u64>,
    transmits: VecDeque<Transmit>,
    actions: VecDeque<Action>,
}

/// A bound on sync-group reactions per input: each round moves at least one
/// member, so members × states rounds is plenty; the bound only guards
/// against a bug looping forever.
const MAX_SETTLE_ROUNDS: usize = 64;

impl Router {
    pub fn new(
        configs: Vec<InstanceConfig>,
        groups: Vec<GroupConfig>,
        now: Instant,
    ) -> Result<Self, RouterError> {
        let mut router = Self::build(configs, groups, now)?;
        for inst in &mut router.instances {
            inst.start(now);
        }
        router.settle(now);
        Ok(router)
    }

    /// Instances built and grouped but not started: every member's faults are
    /// known before any member moves.
    fn build(
        configs: Vec<InstanceConfig>,
        groups: Vec<GroupConfig>,
        now: Instant,
    ) -> Result<Self, RouterError> {
        let mut instances: Vec<Instance> = configs.into_iter().map(Instance::idle).collect();
        let mut owner: BTreeMap<usize, String> = BTreeMap::new();
        let mut sync_groups = Vec::new();
        for g in groups {
            let mut members = Vec::new();
            for name in &g.members {
                let Some(i) = instances.iter().position(|inst| inst.name() == name) else {
                    return Err(RouterError::UnknownMember {
                        group: g.name.clone(),
                        member: name.clone(),
                    });
                };
                if let Some(first) = owner.insert(i, g.name.clone()) {
                    return Err(RouterError::TwoGroups {
                        member: name.clone(),
                        first,
                        second: g.name.clone(),
                    });
                }
                members.push(i);
            }
            sync_groups.push(SyncGroup::new(g.name, members));
        }
        for inst in &mut instances {
            inst.prime(now);
        }
        for g in &sync_groups {
            for &m in &g.members {
                let fault = g.fault_for(&instances, m);
                instances[m].join_group(fault);
            }
        }
        Ok(Router {
            instances,
            groups: sync_groups,
            dropped: BTreeMap::new(),
            transmits: VecDeque::new(),
            actions: VecDeque::new(),
        })
    }

    /// SIGHUP with a new configuration, as keepalived reloads: an instance
    /// that stays keeps its state (a Master stays Master and advertises at
    /// once, its addresses changed only where the config changed them), a new
    /// one starts, a removed one shuts down (priority 0 if it was Master).
    pub fn reload(
        &mut self,
        configs: Vec<InstanceConfig>,
        groups: Vec<GroupConfig>,
        now: Instant,
    ) -> Result<(), RouterError> {
        let mut next = Self::build(configs, groups, now)?;
        next.dropped = std::mem::take(&mut self.dropped);
        next.transmits = std::mem::take(&mut self.transmits);
        next.actions = std::mem::take(&mut self.actions);
        let mut old = std::mem::take(&mut self.instances);
        for inst in &mut next.instances {
            match old.iter().position(|o| o.name() == inst.name()) {
                Some(k) => inst.resume(now, &old.swap_remove(k)),
                None => inst.start(now),
            }
        }
        for gone in &mut old {
            gone.handle_command(now, &Command::Shutdown);
            drain(gone, &mut next.transmits, &mut next.actions);
        }
        *self = next;
        self.settle(now);
        Ok(())
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name() == name)
    }

    /// Datagrams dropped before reaching an instance, by reason.
    pub fn dropped(&self) -> &BTreeMap<&'static str, u64> {
        &self.dropped
    }

    /// A datagram arrived. Returns the reason it was dropped, if it was
    /// (counted either way), so the driver can log it.
    pub fn handle_packet(&mut self, now: Instant, rx: &Received) -> Result<(), &'static str> {
        let decoded = match instance::decode(rx) {
            Ok(d) => d,
            Err(e) => {
                *self.dropped.entry(e.reason()).or_default() += 1;
                return Err(e.reason());
            }
        };
        let v4 = decoded.src.is_ipv4();
        let matches = |inst: &&mut Instance| {
            let c = inst.config();
            c.iface == rx.iface && c.vrid == decoded.advert.vrid && c.src.is_ipv4() == v4
        };
        // Unicast instances may share a VRID on one interface: the peer decides.
        let mut candidates: Vec<&mut Instance> =
            self.instances.iter_mut().filter(matches).collect();
        let pick = candidates
            .iter()
            .position(|i| i.config().unicast_peers.contains(&decoded.src))
            .unwrap_or(0);
        let handled = match candidates.get_mut(pick) {
            Some(inst) => inst.handle_advert(now, &decoded),
            None => {
                *self.dropped.entry("unknown_vrid").or_default() += 1;
                Err("unknown_vrid")
            }
        };
        self.settle(now);
        handled
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        for inst in &mut self.instances {
            if inst.poll_timeout().is_some_and(|t| t <= now) {
                inst.handle_timeout(now);
            }
        }
        self.settle(now);
    }

    pub fn handle_command(&mut self, now: Instant, cmd: &Command) {
        for inst in &mut self.instances {
            inst.handle_command(now, cmd);
        }
        self.settle(now);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.instances
            .iter()
            .filter_map(Instance::poll_timeout)
            .min()
    }

    /// Lets the sync groups react until they are quiet, then gathers outputs.
    fn settle(&mut self, now: Instant) {
        for _ in 0..MAX_SETTLE_ROUNDS {
            let mut busy = false;
            for g in &mut self.groups {
                busy |= g.settle(now, &mut self.instances);
            }
            if !busy {
                break;
            }
        }
        for inst in &mut self.instances {
            drain(inst, &mut self.transmits, &mut self.actions);
        }
        for g in &mut self.groups {
            if let Some(a) = g.update_state(&self.instances) {
                self.actions.push_back(a);
            }
        }
    }
}

/// Moves an instance's outputs to the router's queues, in order.
fn drain(inst: &mut Instance, transmits: &mut VecDeque<Transmit>, actions: &mut VecDeque<Action>) {
    while let Some(t) = inst.poll_transmit() {
        transmits.push_back(t);
    }
    while let Some(a) = inst.poll_action() {
        actions.push_back(a);
    }
}

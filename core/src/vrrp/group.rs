//! Sync groups (`vrrp_sync_group`): members change state together, as
//! keepalived's vrrp_sync.c has them.
//!
//! - A member whose Master_Down_Timer expires goes Master only when every
//!   other member wants to as well (keepalived prefers Backup to thrashing);
//!   then all members go Master together.
//! - A member that yields to a better Master takes the others to Backup.
//! - A member in Fault holds every other member in Fault until it recovers.

use super::State;
use super::event::{Action, Reason};
use super::instance::{Instance, SyncEvent};
use crate::Instant;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    pub name: String,
    /// Instance names.
    pub members: Vec<String>,
}

/// A sync group, by index into the router's instances.
#[derive(Debug)]
pub(crate) struct SyncGroup {
    pub name: String,
    pub members: Vec<usize>,
    state: State,
}

impl SyncGroup {
    pub fn new(name: String, members: Vec<usize>) -> Self {
        SyncGroup {
            name,
            members,
            state: State::Init,
        }
    }

    /// The fault a member's siblings impose on it.
    pub fn fault_for(&self, instances: &[Instance], member: usize) -> bool {
        self.members
            .iter()
            .any(|&m| m != member && instances[m].own_fault())
    }

    /// Handles every pending report of the members; returns whether anything
    /// was reported (the caller loops until the group is quiet).
    pub fn settle(&mut self, now: Instant, instances: &mut [Instance]) -> bool {
        let mut busy = false;
        for i in 0..self.members.len() {
            let m = self.members[i];
            while let Some(event) = instances[m].poll_sync() {
                busy = true;
                self.react(now, instances, m, event);
            }
        }
        busy
    }

    fn react(&mut self, now: Instant, instances: &mut [Instance], from: usize, event: SyncEvent) {
        let follow = Reason::SyncGroup {
            group: self.name.clone(),
            member: instances[from].name().to_string(),
        };
        let others = self.members.iter().copied().filter(move |&m| m != from);
        match event {
            SyncEvent::WantMaster => {
                let all_want = self.state == State::Master
                    || self.members.iter().all(|&m| instances[m].wants_master());
                if all_want {
                    let reason = instances[from].next_master_reason();
                    instances[from].become_master(now, reason);
                }
            }
            SyncEvent::BecameMaster => {
                for m in others {
                    instances[m].become_master(now, follow.clone());
                }
            }
            SyncEvent::LeftMaster => {
                for m in others {
                    instances[m].sync_backup(now, follow.clone());
                }
            }
            SyncEvent::FaultChanged => {
                for i in 0..self.members.len() {
                    let m = self.members[i];
                    let fault = self.fault_for(instances, m);
                    instances[m].set_group_fault(now, fault);
                }
            }
        }
    }

    /// The group's state as its members show it, with a notify when it changes:
    /// Fault if any member is, Master when all are, else Backup.
    pub fn update_state(&mut self, instances: &[Instance]) -> Option<Action> {
        let states = self.members.iter().map(|&m| instances[m].state());
        let state = if states.clone().any(|s| s == State::Fault) {
            State::Fault
        } else if states.clone().all(|s| s == State::Master) {
            State::Master
        } else if states
            .clone()
            .all(|s| s == State::Backup || s == State::Master)
        {
            State::Backup
        } else {
            return None;
        };
        if state == self.state {
            return None;
        }
        let from = std::mem::replace(&mut self.state, state);
        Some(Action::GroupNotify {
            group: self.name.clone(),
            from,
            to: state,
        })
    }
}

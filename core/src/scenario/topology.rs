//! Who hears whom under a scenario's partitions, one-way cuts and freezes.

use super::format::Action;
use std::collections::BTreeSet;

/// Who can hear whom at a moment: partitions, one-way cuts and frozen nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    /// (from, to) pairs whose packets are dropped.
    pub cut: BTreeSet<(String, String)>,
    pub frozen: BTreeSet<String>,
}

impl Topology {
    /// Applies a step; `hosts` are every host a partition may separate
    /// (hosts a partition does not list stay together, apart from the listed ones).
    pub fn apply(&mut self, action: &Action, hosts: &[String]) {
        match action {
            Action::Partition(groups) => {
                let group_of = |h: &String| groups.iter().position(|g| g.contains(h));
                for a in hosts {
                    for b in hosts {
                        if a != b && group_of(a) != group_of(b) {
                            self.cut.insert((a.clone(), b.clone()));
                        }
                    }
                }
            }
            Action::PartitionOneway(o) => {
                self.cut.insert((o.from.clone(), o.to.clone()));
            }
            Action::Heal => self.cut.clear(),
            Action::Freeze(n) => {
                self.frozen.insert(n.clone());
            }
            Action::Thaw(n) => {
                self.frozen.remove(n);
            }
            _ => {}
        }
    }

    /// Whether `from`'s packets reach `to`.
    pub fn reaches(&self, from: &str, to: &str) -> bool {
        !self.cut.contains(&(from.to_string(), to.to_string()))
    }

    pub fn hear_each_other(&self, a: &str, b: &str) -> bool {
        !self.cut.contains(&(a.to_string(), b.to_string()))
            && !self.cut.contains(&(b.to_string(), a.to_string()))
    }
}

//! Scenario steps applied to the running simulation at their times, and the
//! clients' probes.

use crate::node;
use crate::world::{Order, World};
use crate::{Plant, PlantedBug};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use vigil_core::Instant;
use vigil_core::scenario::What;
use vigil_core::scenario::format::Action;

fn at(d: Duration) -> Instant {
    Instant::ZERO + d
}

/// The names a step may touch: turmoil hosts (nodes, then servers) and
/// everyone the topology knows (clients too).
pub(crate) struct Names {
    pub nodes: Vec<String>,
    pub servers: Vec<String>,
    pub everyone: Vec<String>,
}

/// Applies one scenario step at `t`.
pub(crate) fn apply(
    sim: &mut turmoil::Sim,
    world: &Rc<RefCell<World>>,
    names: &Names,
    t: Duration,
    action: &Action,
    plant: &mut Plant,
) {
    let (nodes, everyone) = (&names.nodes, &names.everyone);
    let mut w = world.borrow_mut();
    let index = |name: &str| nodes.iter().position(|n| n == name);
    let (host, text) = action.describe();
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
            // turmoil carries the frames between nodes and the TCP of the
            // health checks between nodes and servers.
            let hosts: Vec<&String> = nodes.iter().chain(&names.servers).collect();
            for &a in &hosts {
                for &b in hosts.iter().filter(|b| **b != a) {
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
        Action::ServerDown(n) | Action::ServerUp(n) => {
            if let Some(s) = w.servers.iter_mut().find(|s| &s.name == n) {
                s.up = matches!(action, Action::ServerUp(_));
                s.wake.notify_one();
            }
        }
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

/// One probe of client `c` at `t`; logged when the answer changes.
pub(crate) fn probe(world: &Rc<RefCell<World>>, c: usize, t: Duration) {
    let mut w = world.borrow_mut();
    let (answer, via) = w.probe(c, at(t));
    let client = &mut w.clients[c];
    if client.last.as_ref() == Some(&answer) && via.is_none() {
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
            via,
        },
    );
}

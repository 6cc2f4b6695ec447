//! Routes, rules and addresses beyond the virtual addresses, kept as
//! keepalived 2.2.7 keeps them:
//!
//! - an instance's `virtual_routes` and `virtual_rules` are in the kernel
//!   while it is Master and taken out when it leaves (`vrrp_iproute.c`,
//!   `vrrp_iprule.c`); a reload changes those of a Master to the new
//!   config's, and an instance the reload removes takes its own out;
//! - `static_ipaddress`, `static_routes` and `static_rules` go in at start,
//!   a reload removes those the new config dropped and adds the new ones
//!   (`clear_diff_static_*`), and they come out at exit, even with
//!   `--dont-release-vrrp` (`vrrp_terminate_phase1`).
//!
//! What went in is remembered, so that it is what comes out, whatever the
//! config says by then.

use std::collections::BTreeMap;

use tracing::{error, info};
use vigil_core::config::Config;
use vigil_core::config::model::{IpAddress, Route, Rule};
use vigil_core::vrrp::{State, Vip};

use super::host::Interfaces;
use super::netlink::{Netlink, RouteDevs};

/// The interface indexes a route names, or an error line when it names one
/// that does not exist (the route would go elsewhere without it).
fn devs(host: &Interfaces, route: &Route) -> Result<RouteDevs, String> {
    let index = |name: &Option<String>| match name {
        None => Ok(None),
        Some(n) => host
            .link(n)
            .map(|l| Some(l.index))
            .ok_or_else(|| format!("no interface {n}")),
    };
    Ok(RouteDevs {
        dev: index(&route.dev)?,
        nexthops: route
            .nexthop
            .iter()
            .map(|h| index(&h.dev))
            .collect::<Result<_, _>>()?,
    })
}

async fn add_route(netlink: &Netlink, host: &Interfaces, r: &Route) -> Result<(), String> {
    let d = devs(host, r)?;
    netlink.add_route(r, &d).await.map_err(|e| e.to_string())
}

async fn del_route(netlink: &Netlink, host: &Interfaces, r: &Route) -> Result<(), String> {
    let d = devs(host, r)?;
    netlink.del_route(r, &d).await.map_err(|e| e.to_string())
}

/// A static address as a [`Vip`], the form the address requests take.
fn static_vip(a: &IpAddress) -> Result<Vip, String> {
    let name = a
        .dev
        .as_deref()
        .ok_or("no dev given (keepalived needs one too)")?;
    Ok(Vip {
        iface: name.to_string(),
        addr: a.addr,
        prefix_len: a.prefix,
        broadcast: a.broadcast,
        scope: a.scope.clone(),
        label: a.label.clone(),
    })
}

fn index(host: &Interfaces, vip: &Vip) -> Result<u32, String> {
    host.link(&vip.iface)
        .map(|l| l.index)
        .ok_or_else(|| format!("no interface {}", vip.iface))
}

/// The static addresses, routes and rules that are in the kernel.
#[derive(Default)]
pub struct Statics {
    addresses: Vec<IpAddress>,
    routes: Vec<Route>,
    rules: Vec<Rule>,
}

impl Statics {
    /// Installs the config's static addresses, then routes, then rules (a
    /// route may need an address as its source, a rule a route's table);
    /// each failure is logged and the rest carry on.
    pub async fn install(netlink: &Netlink, host: &Interfaces, config: &Config) -> Statics {
        let mut s = Statics::default();
        s.add(netlink, host, config).await;
        s
    }

    /// SIGHUP: out with what the new config dropped (rules first, the
    /// reverse of adding), in with what it added.
    pub async fn reload(&mut self, netlink: &Netlink, host: &Interfaces, config: &Config) {
        let dropped = Statics {
            addresses: gone(&self.addresses, &config.static_ipaddress),
            routes: gone(&self.routes, &config.static_routes),
            rules: gone(&self.rules, &config.static_rules),
        };
        dropped.remove(netlink, host).await;
        self.add(netlink, host, config).await;
    }

    /// Adds every static item of `config` (one already there is success,
    /// and one deleted by hand comes back, as with keepalived's reload).
    async fn add(&mut self, netlink: &Netlink, host: &Interfaces, config: &Config) {
        for a in &config.static_ipaddress {
            let added = match static_vip(a) {
                Ok(vip) => match index(host, &vip) {
                    Ok(i) => netlink.add(i, &vip).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            if let Err(e) = added {
                error!("static_ipaddress {}/{}: {e}", a.addr, a.prefix);
            }
        }
        for r in &config.static_routes {
            if let Err(e) = add_route(netlink, host, r).await {
                error!("static_routes {}: {e}", r.dest);
            }
        }
        for r in &config.static_rules {
            if let Err(e) = netlink.add_rule(r).await {
                error!("static_rules: {e}");
            }
        }
        self.addresses.clone_from(&config.static_ipaddress);
        self.routes.clone_from(&config.static_routes);
        self.rules.clone_from(&config.static_rules);
    }

    /// The static addresses that are followed (not `no_track`), to be put
    /// back when deleted behind vigil's back, as keepalived reinstates them.
    pub fn tracked_addresses(&self) -> impl Iterator<Item = Vip> + '_ {
        self.addresses
            .iter()
            .filter(|a| !a.no_track)
            .filter_map(|a| static_vip(a).ok())
    }

    /// Takes everything out: rules, routes, then addresses.
    pub async fn remove(&self, netlink: &Netlink, host: &Interfaces) {
        for r in &self.rules {
            if let Err(e) = netlink.del_rule(r).await {
                error!("removing static rule: {e}");
            }
        }
        for r in &self.routes {
            if let Err(e) = del_route(netlink, host, r).await {
                error!("removing static route {}: {e}", r.dest);
            }
        }
        for a in &self.addresses {
            let removed = match static_vip(a).and_then(|v| index(host, &v)) {
                Ok(i) => netlink
                    .del(i, a.addr, a.prefix)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            if let Err(e) = removed {
                error!("removing static address {}/{}: {e}", a.addr, a.prefix);
            }
        }
    }
}

/// The items of `old` that `new` does not have.
fn gone<T: PartialEq + Clone>(old: &[T], new: &[T]) -> Vec<T> {
    old.iter().filter(|x| !new.contains(x)).cloned().collect()
}

/// One Master instance's routes and rules in the kernel.
#[derive(Default)]
struct Installed {
    routes: Vec<Route>,
    rules: Vec<Rule>,
}

impl Installed {
    /// Routes first: a rule may send traffic to a route's table.
    async fn add(&self, netlink: &Netlink, host: &Interfaces, instance: &str) {
        for r in &self.routes {
            if let Err(e) = add_route(netlink, host, r).await {
                error!("({instance}) cannot add route {}: {e}", r.dest);
            }
        }
        for r in &self.rules {
            if let Err(e) = netlink.add_rule(r).await {
                error!("({instance}) cannot add rule: {e}");
            }
        }
    }

    async fn remove(&self, netlink: &Netlink, host: &Interfaces, instance: &str) {
        for r in &self.rules {
            if let Err(e) = netlink.del_rule(r).await {
                error!("({instance}) cannot remove rule: {e}");
            }
        }
        for r in &self.routes {
            if let Err(e) = del_route(netlink, host, r).await {
                error!("({instance}) cannot remove route {}: {e}", r.dest);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }
}

/// The virtual routes and rules of the instances that are Master.
#[derive(Default)]
pub struct VirtualRoutes {
    installed: BTreeMap<String, Installed>,
}

impl VirtualRoutes {
    /// Follows `instance` into state `to`: in on becoming Master, out on
    /// leaving it, unless `keep` (a stop with `--dont-release-vrrp`).
    pub async fn follow(
        &mut self,
        netlink: &Netlink,
        host: &Interfaces,
        config: &Config,
        instance: &str,
        to: State,
        keep: bool,
    ) {
        if to != State::Master {
            if keep {
                return;
            }
            if let Some(set) = self.installed.remove(instance)
                && !set.is_empty()
            {
                info!("({instance}) removing virtual routes and rules.");
                set.remove(netlink, host, instance).await;
            }
            return;
        }
        if self.installed.contains_key(instance) {
            return;
        }
        // Remembered even when empty: a reload may give a Master routes.
        let set = config
            .instance(instance)
            .map_or_else(Installed::default, |i| Installed {
                routes: i.virtual_routes.clone(),
                rules: i.virtual_rules.clone(),
            });
        if !set.is_empty() {
            info!("({instance}) setting virtual routes and rules.");
            set.add(netlink, host, instance).await;
        }
        self.installed.insert(instance.to_string(), set);
    }

    /// SIGHUP: each Master that stays gets the new config's routes and
    /// rules, only the differences touched (`clear_diff_vrrp_vroutes`). A
    /// removed instance is left to [`follow`](Self::follow): the router
    /// stops it, and its Stopped takes them out.
    pub async fn reload(&mut self, netlink: &Netlink, host: &Interfaces, config: &Config) {
        for (name, set) in &mut self.installed {
            let Some(i) = config.instance(name) else {
                continue;
            };
            let dropped = Installed {
                routes: gone(&set.routes, &i.virtual_routes),
                rules: gone(&set.rules, &i.virtual_rules),
            };
            let added = Installed {
                routes: gone(&i.virtual_routes, &set.routes),
                rules: gone(&i.virtual_rules, &set.rules),
            };
            dropped.remove(netlink, host, name).await;
            added.add(netlink, host, name).await;
            set.routes.clone_from(&i.virtual_routes);
            set.rules.clone_from(&i.virtual_rules);
        }
    }
}

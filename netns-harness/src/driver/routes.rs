//! Routes, rules and addresses beyond the virtual addresses: an instance's
//! `virtual_routes` and `virtual_rules` are in the kernel while it is
//! Master and taken out when it leaves (`vrrp_iproute.c`, `vrrp_iprule.c`);
//! the `static_ipaddress`, `static_routes` and `static_rules` of
//! global scope are installed at start and, as keepalived does, left in
//! place at exit, so that a restart does not flap them.

use std::collections::BTreeSet;

use tracing::{error, info};
use vigil_core::config::Config;
use vigil_core::config::model::{IpAddress, Route};
use vigil_core::vrrp::{State, Vip};

use super::host::Interfaces;
use super::netlink::Netlink;

/// The interface index a route names, or an error line when it names one
/// that does not exist (the route would go elsewhere without it).
fn dev(host: &Interfaces, route: &Route) -> Result<Option<u32>, String> {
    match &route.dev {
        None => Ok(None),
        Some(name) => host
            .link(name)
            .map(|l| Some(l.index))
            .ok_or_else(|| format!("no interface {name}")),
    }
}

/// Installs the config's static addresses, then routes, then rules (a
/// route may need an address as its source, a rule a route's table);
/// each failure is logged and the rest carry on.
pub async fn install_static(netlink: &Netlink, host: &Interfaces, config: &Config) {
    for a in &config.static_ipaddress {
        if let Err(e) = add_address(netlink, host, a).await {
            error!("static_ipaddress {}/{}: {e}", a.addr, a.prefix);
        }
    }
    for r in &config.static_routes {
        let added = match dev(host, r) {
            Ok(d) => netlink.add_route(r, d).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        if let Err(e) = added {
            error!("static_routes {}: {e}", r.dest);
        }
    }
    for r in &config.static_rules {
        if let Err(e) = netlink.add_rule(r).await {
            error!("static_rules: {e}");
        }
    }
}

/// A static address goes through the same request as a virtual one.
async fn add_address(netlink: &Netlink, host: &Interfaces, a: &IpAddress) -> Result<(), String> {
    let name = a
        .dev
        .as_deref()
        .ok_or("no dev given (keepalived needs one too)")?;
    let index = host
        .link(name)
        .map(|l| l.index)
        .ok_or_else(|| format!("no interface {name}"))?;
    let vip = Vip {
        iface: name.to_string(),
        addr: a.addr,
        prefix_len: a.prefix,
        broadcast: a.broadcast,
        scope: a.scope.clone(),
        label: a.label.clone(),
    };
    netlink.add(index, &vip).await.map_err(|e| e.to_string())
}

/// Which instances have their virtual routes and rules in the kernel.
#[derive(Default)]
pub struct VirtualRoutes {
    installed: BTreeSet<String>,
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
        let Some(i) = config.instance(instance) else {
            return;
        };
        if i.virtual_routes.is_empty() && i.virtual_rules.is_empty() {
            return;
        }
        let master = to == State::Master;
        if master == self.installed.contains(instance) || (!master && keep) {
            return;
        }
        if master {
            self.installed.insert(instance.to_string());
            info!("({instance}) setting virtual routes and rules.");
            // Routes first: a rule may send traffic to a route's table.
            for r in &i.virtual_routes {
                let done = match dev(host, r) {
                    Ok(d) => netlink.add_route(r, d).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                if let Err(e) = done {
                    error!("({instance}) cannot add route {}: {e}", r.dest);
                }
            }
            for r in &i.virtual_rules {
                if let Err(e) = netlink.add_rule(r).await {
                    error!("({instance}) cannot add rule: {e}");
                }
            }
        } else {
            self.installed.remove(instance);
            info!("({instance}) removing virtual routes and rules.");
            for r in &i.virtual_rules {
                if let Err(e) = netlink.del_rule(r).await {
                    error!("({instance}) cannot remove rule: {e}");
                }
            }
            for r in &i.virtual_routes {
                let done = match dev(host, r) {
                    Ok(d) => netlink.del_route(r, d).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                if let Err(e) = done {
                    error!("({instance}) cannot remove route {}: {e}", r.dest);
                }
            }
        }
    }
}

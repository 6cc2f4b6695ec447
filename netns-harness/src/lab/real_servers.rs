//! The scenario's servers as its directors forward to them. DR and TUN
//! deliver packets still addressed to the VIP, so a real server must hold
//! the VIP without answering ARP for it: DR puts it on `lo` with
//! `arp_ignore` 1 and `arp_announce` 2 (seed 004's real server script),
//! TUN on `tunl0`, which decapsulates IPIP, with reverse path filtering
//! off (the client's packets arrive on `tunl0`, the route back is `eth0`).
//! NAT rewrites only the destination, so the server's answer must go back
//! through the director to be rewritten too: the lab gives each NAT real
//! server a default route via its director (via the director's VIP on that
//! subnet when it has one, as a director pair's servers would have) and
//! turns forwarding on in the director.

use std::collections::BTreeSet;
use std::net::IpAddr;

use vigil_core::config::Config;
use vigil_core::config::model::lvs::{LvsMethod, VsKey};
use vigil_core::scenario::Scenario;
use vigil_core::scenario::format::{Node, parse_cidr};

use super::netns::Lab;
use crate::error::{Error, Result};

/// What a server must hold: the VIP of a DR or TUN virtual server that
/// forwards to it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Role {
    pub server: String,
    pub vip: IpAddr,
    pub tunnel: bool,
}

/// Every role the nodes' `configs` give the scenario's servers (each
/// once, whichever nodes name it). A `virtual_server group` or `fwmark`
/// has no one VIP to hold: the lab does not prepare its real servers.
pub fn roles<'a>(scenario: &Scenario, configs: impl IntoIterator<Item = &'a Config>) -> Vec<Role> {
    let mut out = BTreeSet::new();
    for config in configs {
        for vs in &config.virtual_servers {
            let VsKey::Addr { ip: vip, .. } = vs.key else {
                continue;
            };
            for rs in &vs.real_servers {
                let tunnel = match rs.lvs_method {
                    LvsMethod::Nat => continue,
                    LvsMethod::Dr => false,
                    LvsMethod::Tun => true,
                };
                let server = scenario.server.iter().find(|s| is_addr(&s.addr, rs.ip));
                if let Some(s) = server {
                    out.insert(Role {
                        server: s.name.clone(),
                        vip,
                        tunnel,
                    });
                }
            }
        }
    }
    out.into_iter().collect()
}

/// A host that a NAT virtual server forwards to, and the director's
/// address its answers must go back through.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Gateway {
    pub host: String,
    pub via: IpAddr,
}

/// The gateways NAT real servers need, and the names of the nodes that
/// forward for them. A real server may be a server's address, a node's
/// address, or a VIP a node's config holds (seed 003's HAProxy pair):
/// every host that may answer for it goes back through the director
/// address on its subnet.
pub fn nat_gateways(scenario: &Scenario, configs: &[Config]) -> (Vec<Gateway>, Vec<String>) {
    let mut gateways = BTreeSet::new();
    let mut directors = BTreeSet::new();
    for (director, config) in scenario.node.iter().zip(configs) {
        let subnets = node_subnets(director);
        for vs in &config.virtual_servers {
            for rs in vs
                .real_servers
                .iter()
                .filter(|rs| rs.lvs_method == LvsMethod::Nat)
            {
                let Some((net, len)) = subnets
                    .iter()
                    .find(|&&(net, len)| in_prefix(rs.ip, net, len))
                else {
                    continue;
                };
                let via = vips(config)
                    .find(|&vip| in_prefix(vip, *net, *len))
                    .unwrap_or(*net);
                for host in owners(scenario, configs, rs.ip) {
                    if host != director.name {
                        gateways.insert(Gateway { host, via });
                        directors.insert(director.name.clone());
                    }
                }
            }
        }
    }
    (
        gateways.into_iter().collect(),
        directors.into_iter().collect(),
    )
}

/// The hosts that hold `ip`: a server or node by address, or a node
/// whose config has it as a VIP.
fn owners(scenario: &Scenario, configs: &[Config], ip: IpAddr) -> Vec<String> {
    let servers = scenario
        .server
        .iter()
        .filter(|s| is_addr(&s.addr, ip))
        .map(|s| s.name.clone());
    let nodes = scenario.node.iter().zip(configs).filter(|(node, config)| {
        node_subnets(node).iter().any(|&(a, _)| a == ip) || vips(config).any(|v| v == ip)
    });
    servers.chain(nodes.map(|(n, _)| n.name.clone())).collect()
}

/// Whether the scenario's address `text` (`ADDR/LEN`) is `ip`.
fn is_addr(text: &str, ip: IpAddr) -> bool {
    parse_cidr(text).is_some_and(|(a, _)| a == ip)
}

/// Every address a node has on its interfaces, with its prefix length.
fn node_subnets(node: &Node) -> Vec<(IpAddr, u8)> {
    let ifaces = node
        .ifaces
        .iter()
        .flat_map(|f| [Some(&f.addr), f.addr6.as_ref()]);
    [Some(&node.addr), node.addr6.as_ref()]
        .into_iter()
        .chain(ifaces)
        .flatten()
        .filter_map(|a| parse_cidr(a))
        .collect()
}

fn vips(config: &Config) -> impl Iterator<Item = IpAddr> + '_ {
    config
        .instances
        .iter()
        .flat_map(|i| &i.virtual_ipaddress)
        .map(|a| a.addr)
}

fn in_prefix(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    let (ip, net, bits) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u32::from(a) as u128, u32::from(n) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    let shift = bits - u32::from(len);
    shift >= bits || ip >> shift == net >> shift
}

/// Sends host `i`'s answers to anywhere off its subnets through `via`.
pub fn route_back(lab: &Lab, i: usize, via: IpAddr) -> Result<()> {
    let family = if via.is_ipv4() { "-4" } else { "-6" };
    lab.ip(
        i,
        &[
            family,
            "route",
            "replace",
            "default",
            "via",
            &via.to_string(),
        ],
    )?;
    Ok(())
}

/// Lets director `i` forward: its NAT answers pass through it.
pub fn forward(lab: &Lab, i: usize) -> Result<()> {
    lab.sysctl(
        lab.node(i),
        &["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"],
    )
}

/// Gives host `i` of the lab `role`'s VIP as its kind of real server.
pub fn prepare(lab: &Lab, i: usize, role: &Role) -> Result<()> {
    let ns = lab.node(i);
    let vip = match role.vip {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    };
    if !role.tunnel {
        lab.ip(i, &["addr", "add", &vip, "dev", "lo"])?;
        return lab.sysctl(
            ns,
            &[
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.lo.arp_ignore=1",
                "net.ipv4.conf.lo.arp_announce=2",
            ],
        );
    }
    // Loading ipip gives every namespace its tunl0.
    let loaded = std::process::Command::new("modprobe")
        .arg("ipip")
        .status()
        .is_ok_and(|s| s.success());
    if !loaded {
        return Err(Error::Command(format!(
            "{}: TUN real server needs the ipip module (modprobe ipip failed)",
            role.server
        )));
    }
    lab.ip(i, &["addr", "add", &vip, "dev", "tunl0"])?;
    lab.ip(i, &["link", "set", "tunl0", "up"])?;
    lab.sysctl(
        ns,
        &[
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.tunl0.rp_filter=0",
            "net.ipv4.conf.all.arp_ignore=1",
            "net.ipv4.conf.all.arp_announce=2",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library scenario and its nodes' configs.
    fn seed(text: &str) -> (Scenario, Vec<Config>) {
        let scenario = Scenario::parse(text).expect("the scenario");
        let configs = scenario
            .node
            .iter()
            .map(|n| vigil_core::config::parse_str(&n.config).model)
            .collect();
        (scenario, configs)
    }

    #[test]
    fn seed_004s_real_servers_hold_the_vip_for_dr() {
        let (scenario, configs) = seed(include_str!(
            "../../../scenarios/seed004-lvs-dr-real-server-failure.toml"
        ));
        let vip: IpAddr = "172.16.88.100".parse().expect("VIP");
        let role = |server: &str| Role {
            server: server.into(),
            vip,
            tunnel: false,
        };
        // Both directors name both: each role once.
        assert_eq!(roles(&scenario, &configs), [role("real1"), role("real2")]);
        // DR: nobody needs a way back.
        assert_eq!(nat_gateways(&scenario, &configs), (vec![], vec![]));
    }

    #[test]
    fn seed_003s_haproxy_pair_goes_back_through_the_host() {
        let (scenario, configs) = seed(include_str!(
            "../../../scenarios/seed003-haproxy-pair-behind-lvs-nat.toml"
        ));
        // The real server is the pair's VIP 172.18.0.201: both may hold it,
        // and the host's address on their subnet is their way back (its
        // own VIP is on the office LAN, not theirs).
        let via: IpAddr = "172.18.0.1".parse().expect("address");
        let gateway = |host: &str| Gateway {
            host: host.into(),
            via,
        };
        assert_eq!(
            nat_gateways(&scenario, &configs),
            (vec![gateway("h1"), gateway("h2")], vec!["host".to_string()])
        );
        assert!(roles(&scenario, &configs).is_empty());
    }

    #[test]
    fn prefixes() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        assert!(in_prefix(ip("10.9.9.9"), ip("10.0.0.1"), 8));
        assert!(!in_prefix(ip("11.0.0.1"), ip("10.0.0.1"), 8));
        assert!(in_prefix(ip("11.0.0.1"), ip("10.0.0.1"), 0));
        assert!(in_prefix(ip("fd00::9"), ip("fd00::1"), 64));
        assert!(!in_prefix(ip("10.0.0.1"), ip("fd00::1"), 0));
    }
}

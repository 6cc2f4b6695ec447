//! The scenario's servers as its directors forward to them. DR and TUN
//! deliver packets still addressed to the VIP, so a real server must hold
//! the VIP without answering ARP for it: DR puts it on `lo` with
//! `arp_ignore` 1 and `arp_announce` 2 (seed 004's real server script),
//! TUN on `tunl0`, which decapsulates IPIP, with reverse path filtering
//! off (the client's packets arrive on `tunl0`, the route back is `eth0`).
//! NAT asks nothing of the server but a route back through the director,
//! which the scenario's addresses decide.

use std::collections::BTreeSet;
use std::net::IpAddr;

use vigil_core::config::Config;
use vigil_core::config::model::lvs::{LvsMethod, VsKey};
use vigil_core::scenario::Scenario;

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
                let server = scenario
                    .server
                    .iter()
                    .find(|s| s.addr.split('/').next() == Some(&rs.ip.to_string()));
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

    #[test]
    fn seed_004s_real_servers_hold_the_vip_for_dr() {
        let text = include_str!("../../../scenarios/seed004-lvs-dr-real-server-failure.toml");
        let scenario = Scenario::parse(text).expect("the scenario");
        let configs: Vec<Config> = scenario
            .node
            .iter()
            .map(|n| vigil_core::config::parse_str(&n.config).model)
            .collect();
        let vip: IpAddr = "172.16.88.100".parse().expect("VIP");
        let role = |server: &str| Role {
            server: server.into(),
            vip,
            tunnel: false,
        };
        // Both directors name both: each role once.
        assert_eq!(roles(&scenario, &configs), [role("real1"), role("real2")]);
    }
}

//! The host's interfaces and addresses, read at start and kept current by
//! the kernel's announcements: what resolution asks of the host, where
//! announcements go, which configured addresses a previous vigil or
//! keepalived left behind, and which addresses are missing.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vigil_core::vrrp::Vip;
use vigil_core::vrrp::resolve::Host;

use super::netlink::{Address, Link, Netlink};
use crate::error::Result;

#[derive(Clone, Debug, Default)]
pub struct Interfaces {
    links: Vec<Link>,
    addrs: Vec<Address>,
}

impl Interfaces {
    pub async fn read(nl: &Netlink) -> Result<Interfaces> {
        Ok(Interfaces {
            links: nl.links().await?,
            addrs: nl.addresses().await?,
        })
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// Takes the kernel's news of one interface; a name that comes back
    /// with a new index (the interface was re-created) replaces the old one.
    pub fn update(&mut self, link: Link) {
        match self
            .links
            .iter_mut()
            .find(|l| l.index == link.index || l.name == link.name)
        {
            Some(l) => *l = link,
            None => self.links.push(link),
        }
    }

    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// An interface was deleted: it goes, with its addresses.
    pub fn remove(&mut self, index: u32) {
        self.links.retain(|l| l.index != index);
        self.addrs.retain(|a| a.index != index);
    }

    pub fn address_added(&mut self, a: Address) {
        if !self.addrs.contains(&a) {
            self.addrs.push(a);
        }
    }

    pub fn address_removed(&mut self, a: &Address) {
        self.addrs
            .retain(|o| (o.index, o.addr, o.prefix_len) != (a.index, a.addr, a.prefix_len));
    }

    pub fn addresses(&self) -> &[Address] {
        &self.addrs
    }

    /// Takes the addresses of a fresh read in place of those known.
    pub fn set_addresses(&mut self, addrs: Vec<Address>) {
        self.addrs = addrs;
    }

    /// The interfaces without the addresses in `ours`.
    pub fn without(&self, ours: &BTreeSet<IpAddr>) -> Interfaces {
        Interfaces {
            links: self.links.clone(),
            addrs: self
                .addrs
                .iter()
                .filter(|a| !ours.contains(&a.addr))
                .cloned()
                .collect(),
        }
    }

    /// Whether `vip` is on its interface, with its prefix.
    pub fn has(&self, vip: &Vip) -> bool {
        self.addrs_of(&vip.iface)
            .any(|a| a.addr == vip.addr && a.prefix_len == vip.prefix_len)
    }

    /// The configured addresses already on their interfaces: a SIGKILLed
    /// keepalived or vigil leaves its VIPs behind, and a Backup must not hold them.
    pub fn stale<'a>(&self, vips: impl IntoIterator<Item = &'a Vip>) -> Vec<(u32, Address)> {
        let mut out = Vec::new();
        for vip in vips {
            let Some(link) = self.link(&vip.iface) else {
                continue;
            };
            for a in &self.addrs {
                if a.index == link.index && a.addr == vip.addr && !out.iter().any(|(_, o)| o == a) {
                    out.push((link.index, a.clone()));
                }
            }
        }
        out
    }

    fn addrs_of(&self, iface: &str) -> impl Iterator<Item = &Address> {
        let index = self.link(iface).map(|l| l.index);
        self.addrs.iter().filter(move |a| Some(a.index) == index)
    }
}

impl Host for Interfaces {
    /// The first primary (not secondary) IPv4 address, as keepalived picks it.
    fn ipv4(&self, iface: &str) -> Option<Ipv4Addr> {
        self.addrs_of(iface).find_map(|a| match a.addr {
            IpAddr::V4(v4) if !a.secondary => Some(v4),
            _ => None,
        })
    }

    fn ipv6_link_local(&self, iface: &str) -> Option<Ipv6Addr> {
        self.addrs_of(iface).find_map(|a| match a.addr {
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(v6),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Interfaces {
        let link = |index, name: &str| Link {
            index,
            name: name.into(),
            mac: Some([2, 0, 0, 0, 0, index as u8]),
            up: true,
            macvlan: None,
        };
        let addr = |index, addr: &str, prefix_len, secondary| Address {
            index,
            addr: addr.parse().unwrap(),
            prefix_len,
            secondary,
        };
        Interfaces {
            links: vec![link(1, "lo"), link(2, "eth0")],
            addrs: vec![
                addr(1, "127.0.0.1", 8, false),
                addr(2, "10.0.0.100", 24, true),
                addr(2, "10.0.0.1", 24, false),
                addr(2, "fd00::1", 64, false),
                addr(2, "fe80::1", 64, false),
            ],
        }
    }

    #[test]
    fn resolution_sees_the_primary_ipv4_and_the_link_local() {
        let h = host();
        assert_eq!(h.ipv4("eth0"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(h.ipv6_link_local("eth0"), Some("fe80::1".parse().unwrap()));
        assert_eq!(h.ipv4("eth9"), None);
    }

    #[test]
    fn a_recreated_interface_replaces_its_old_index() {
        let mut h = host();
        h.update(Link {
            index: 7,
            name: "eth0".into(),
            mac: None,
            up: false,
            macvlan: None,
        });
        assert_eq!(h.link("eth0").map(|l| (l.index, l.up)), Some((7, false)));
        assert_eq!(h.links.len(), 2);
    }

    fn vip(addr: &str, prefix_len: u8, iface: &str) -> Vip {
        Vip {
            addr: addr.parse().unwrap(),
            prefix_len,
            iface: iface.into(),
            label: None,
            broadcast: None,
            scope: None,
        }
    }

    #[test]
    fn address_news_keep_the_addresses_current_and_a_removed_link_takes_its_own() {
        let mut h = host();
        let a = |addr: &str, secondary| Address {
            index: 2,
            addr: addr.parse().unwrap(),
            prefix_len: 24,
            secondary,
        };
        assert!(h.has(&vip("10.0.0.100", 24, "eth0")));
        assert!(!h.has(&vip("10.0.0.100", 32, "eth0")));
        // The kernel's news of a deletion may differ in flags from what was read.
        h.address_removed(&a("10.0.0.100", false));
        assert!(!h.has(&vip("10.0.0.100", 24, "eth0")));
        h.address_added(a("10.0.0.100", true));
        h.address_added(a("10.0.0.100", true));
        assert_eq!(h.addrs.len(), 5);
        h.remove(2);
        assert!(h.link("eth0").is_none());
        assert!(h.addrs.iter().all(|a| a.index == 1));
    }

    #[test]
    fn stale_vips_are_found_on_their_own_interface_only() {
        let h = host();
        let vips = [
            vip("10.0.0.100", 24, "eth0"),
            vip("10.0.0.100", 24, "lo"),
            vip("10.0.0.200", 24, "eth0"),
        ];
        let stale = h.stale(&vips);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].0, 2);
        assert_eq!(stale[0].1.prefix_len, 24);
    }
}

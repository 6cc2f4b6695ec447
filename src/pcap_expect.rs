//! What `vigil pcap check -f keepalived.conf` checks each advert against: the
//! configured `vrrp_instance`s, reduced to what keepalived compares in a
//! received advert ([`Expected`]).

use std::net::IpAddr;

use vigil_core::config::model::vrrp::Family;
use vigil_core::config::model::{Config, VrrpInstance};
use vigil_core::vrrp::resolve;
use vigil_core::vrrp::validate::{Expected, UnicastPeer};
use vigil_core::vrrp::{Auth, Decoded, Version};

/// One instance, owning what an [`Expected`] borrows.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub name: String,
    pub family: Family,
    pub version: Version,
    pub vrid: u8,
    pub auth: Auth,
    pub interval_cs: u16,
    pub addrs: Vec<IpAddr>,
    pub peers: Vec<UnicastPeer>,
    pub check_unicast_src: bool,
}

impl Instance {
    /// keepalived's view of a configured instance. AH authentication has no
    /// [`Auth`] form: such adverts travel inside IPsec AH, which the capture
    /// reader does not take for VRRP, so the instance is kept without auth.
    pub fn new(v: &VrrpInstance, check_unicast_src: bool) -> Self {
        Instance {
            name: v.name.clone(),
            family: v.family,
            version: resolve::version(v),
            vrid: v.virtual_router_id,
            auth: resolve::auth(v),
            interval_cs: v.advert_int_cs,
            // An instance's VIPs are all of its family (keepalived rejects
            // the others); excluded ones are not advertised.
            addrs: v.virtual_ipaddress.iter().map(|a| a.addr).collect(),
            peers: v
                .unicast_peer
                .iter()
                .map(|p| UnicastPeer {
                    addr: p.addr,
                    min_ttl: p.min_ttl.unwrap_or(0),
                    max_ttl: p.max_ttl.unwrap_or(u8::MAX),
                })
                .collect(),
            check_unicast_src: v.check_unicast_src || check_unicast_src,
        }
    }

    fn expected(&self) -> Expected<'_> {
        let mut e = Expected::new(
            self.version,
            self.vrid,
            &self.auth,
            self.interval_cs,
            &self.addrs,
        );
        e.unicast_peers = &self.peers;
        e.check_unicast_src = self.check_unicast_src;
        e
    }
}

/// Every configured instance.
#[derive(Clone, Debug, Default)]
pub struct Instances {
    pub list: Vec<Instance>,
}

impl Instances {
    pub fn new(config: &Config) -> Self {
        let global = config.global.vrrp_check_unicast_src;
        Instances {
            list: config
                .instances
                .iter()
                .map(|v| Instance::new(v, global))
                .collect(),
        }
    }

    /// The instance an advert is for: same VRID and family (keepalived's
    /// receive lookup); among several (one per interface), the one whose
    /// multicast/unicast mode and peers fit the packet. `None` when no
    /// instance has the VRID, so the advert is reported as unknown.
    pub fn lookup(&self, d: &Decoded) -> Option<Expected<'_>> {
        let family = Family::of(&d.src);
        let unicast = !d.dst.is_multicast();
        let score = |i: &Instance| {
            let mode = i.peers.is_empty() != unicast;
            let peer = i.peers.iter().any(|p| p.addr == d.src);
            u8::from(mode) * 2 + u8::from(peer)
        };
        self.list
            .iter()
            .filter(|i| i.vrid == d.advert.vrid && i.family == family)
            .rev()
            .max_by_key(|i| score(i))
            .map(Instance::expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use vigil_core::config::parse_str;
    use vigil_core::vrrp::Advert;
    use vigil_core::vrrp::validate::{self, Invalid};

    const CONF: &str = "
vrrp_instance A {
    interface eth0
    virtual_router_id 42
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        10.0.0.42/24
    }
}
vrrp_instance B {
    interface eth1
    virtual_router_id 42
    unicast_peer {
        10.0.1.2
    }
    virtual_ipaddress {
        10.0.1.42/24
    }
}
";

    fn decoded(dst: Ipv4Addr, addr: Ipv4Addr, vrid: u8) -> Decoded {
        let advert = Advert {
            version: Version::V2,
            vrid,
            priority: 100,
            interval_cs: 100,
            auth: Auth::pass(b"s3cret"),
            addrs: vec![IpAddr::V4(addr)],
        };
        Decoded {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2)),
            dst: IpAddr::V4(dst),
            ttl: 255,
            advert,
            legacy_checksum: false,
        }
    }

    #[test]
    fn instances_carry_what_keepalived_compares() {
        let p = parse_str(CONF);
        assert!(!p.has_errors(), "{:#?}", p.diagnostics);
        let all = Instances::new(&p.model);
        let a = &all.list[0];
        assert_eq!((a.version, a.vrid, a.interval_cs), (Version::V2, 42, 100));
        assert_eq!(a.auth, Auth::pass(b"s3cret"));
        assert_eq!(a.addrs, vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 42))]);
        assert!(a.peers.is_empty());
        assert_eq!(all.list[1].peers[0].max_ttl, 255);
    }

    #[test]
    fn lookup_picks_the_instance_by_vrid_family_and_mode() {
        let p = parse_str(CONF);
        let all = Instances::new(&p.model);
        let mcast = decoded(
            Ipv4Addr::new(224, 0, 0, 18),
            Ipv4Addr::new(10, 0, 0, 42),
            42,
        );
        let e = all.lookup(&mcast).expect("instance A");
        assert!(e.unicast_peers.is_empty());
        assert_eq!(validate::check(&mcast, &e), Ok(vec![]));
        let ucast = decoded(Ipv4Addr::new(10, 0, 1, 1), Ipv4Addr::new(10, 0, 1, 42), 42);
        let e = all.lookup(&ucast).expect("instance B");
        // B has no password: the PASS advert is refused for its auth type.
        assert!(matches!(
            validate::check(&ucast, &e),
            Err(Invalid::AuthType { .. })
        ));
        let other = decoded(Ipv4Addr::new(224, 0, 0, 18), Ipv4Addr::new(10, 0, 0, 42), 7);
        assert!(all.lookup(&other).is_none());
    }
}

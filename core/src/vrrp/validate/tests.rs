//! Instance checks, named after the RFC clause or keepalived behaviour.

use super::*;
use crate::vrrp::packet::{Advert, MCAST_V4};
use std::net::Ipv4Addr;

const OURS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(10, 77, 0, 100)),
    IpAddr::V4(Ipv4Addr::new(10, 77, 0, 101)),
];
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1));
const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2));

fn decoded(version: Version, auth: Auth, interval_cs: u16) -> Decoded {
    Decoded {
        src: PEER,
        dst: IpAddr::V4(MCAST_V4),
        ttl: 255,
        advert: Advert {
            version,
            vrid: 51,
            priority: 150,
            interval_cs,
            auth,
            addrs: OURS.to_vec(),
        },
        legacy_checksum: false,
    }
}

fn v3() -> Decoded {
    decoded(Version::V3, Auth::None, 100)
}

fn v2(auth: Auth) -> Decoded {
    decoded(Version::V2, auth, 100)
}

fn reason(r: Result<Vec<Warning>, Invalid>) -> &'static str {
    match r {
        Ok(w) if w.is_empty() => "ok",
        Ok(w) => w[0].reason(),
        Err(e) => e.reason(),
    }
}

const NONE: Auth = Auth::None;

fn expect_v3() -> Expected<'static> {
    Expected::new(Version::V3, 51, &NONE, 100, &OURS)
}

#[test]
fn a_matching_advert_passes_without_warnings() {
    assert_eq!(check(&v3(), &expect_v3()), Ok(vec![]));
}

#[test]
fn rfc5798_7_1_vrid_not_configured_is_dropped() {
    let e = Expected {
        vrid: 52,
        ..expect_v3()
    };
    assert_eq!(
        check(&v3(), &e),
        Err(Invalid::Vrid {
            expected: 52,
            found: 51
        })
    );
}

#[test]
fn rfc5798_7_1_version_mismatch_is_dropped() {
    let e = Expected {
        version: Version::V2,
        ..expect_v3()
    };
    assert_eq!(reason(check(&v3(), &e)), "version_mismatch");
}

#[test]
fn rfc3768_7_1_auth_type_mismatch_is_dropped() {
    let pass = Auth::pass(b"s3cret");
    let e = Expected::new(Version::V2, 51, &pass, 100, &OURS);
    assert_eq!(
        check(&v2(Auth::None), &e),
        Err(Invalid::AuthType {
            expected: 1,
            found: 0
        })
    );
    let e = Expected::new(Version::V2, 51, &NONE, 100, &OURS);
    assert_eq!(reason(check(&v2(pass.clone()), &e)), "auth_type_mismatch");
}

#[test]
fn rfc3768_7_1_pass_password_mismatch_is_dropped() {
    let ours = Auth::pass(b"s3cret");
    let e = Expected::new(Version::V2, 51, &ours, 100, &OURS);
    assert_eq!(check(&v2(Auth::pass(b"s3cret")), &e), Ok(vec![]));
    assert_eq!(check(&v2(Auth::pass(b"s3cre")), &e), Err(Invalid::Password));
}

#[test]
fn rfc3768_7_1_v2_interval_mismatch_is_dropped() {
    let e = Expected::new(Version::V2, 51, &NONE, 200, &OURS);
    assert_eq!(
        check(&v2(Auth::None), &e),
        Err(Invalid::Interval {
            expected_cs: 200,
            found_cs: 100
        })
    );
}

#[test]
fn rfc5798_6_4_2_v3_interval_difference_is_adopted_not_dropped() {
    let e = Expected {
        interval_cs: 50,
        ..expect_v3()
    };
    assert_eq!(
        check(&v3(), &e),
        Ok(vec![Warning::IntervalAdopted {
            ours_cs: 50,
            found_cs: 100
        }])
    );
}

#[test]
fn rfc5798_7_1_v3_auth_is_not_checked() {
    let pass = Auth::pass(b"x");
    let e = Expected {
        auth: &pass,
        ..expect_v3()
    };
    assert_eq!(check(&v3(), &e), Ok(vec![]));
}

#[test]
fn keepalived_drops_an_address_count_mismatch_even_from_the_owner() {
    // RFC 5798 §7.1 only logs this when the sender is the owner (priority
    // 255); keepalived drops it whatever the priority (vrrp.c:964).
    let mut d = v3();
    d.advert.priority = 255;
    d.advert.addrs.pop();
    assert_eq!(
        check(&d, &expect_v3()),
        Err(Invalid::AddrCount {
            expected: 2,
            found: 1
        })
    );
}

#[test]
fn keepalived_drops_an_address_list_mismatch_even_from_the_owner() {
    let mut d = v3();
    d.advert.priority = 255;
    d.advert.addrs[1] = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 199));
    assert_eq!(
        check(&d, &expect_v3()),
        Err(Invalid::AddrMissing { addr: OURS[1] })
    );
}

#[test]
fn keepalived_address_order_does_not_matter() {
    let mut d = v3();
    d.advert.addrs.reverse();
    assert_eq!(check(&d, &expect_v3()), Ok(vec![]));
}

#[test]
fn keepalived_skip_check_adv_addr_skips_the_address_checks() {
    let mut d = v3();
    d.advert.addrs.clear();
    let e = Expected {
        check_addrs: false,
        ..expect_v3()
    };
    assert_eq!(check(&d, &e), Ok(vec![]));
}

fn unicast_v3(ttl: u8) -> Decoded {
    Decoded {
        dst: ME,
        ttl,
        ..v3()
    }
}

#[test]
fn keepalived_unicast_advert_on_a_multicast_instance_is_dropped() {
    assert_eq!(
        check(&unicast_v3(255), &expect_v3()),
        Err(Invalid::Cast {
            expected_unicast: false
        })
    );
}

#[test]
fn keepalived_multicast_advert_on_a_unicast_instance_is_dropped() {
    let peers = [UnicastPeer::new(PEER)];
    let e = Expected {
        unicast_peers: &peers,
        ..expect_v3()
    };
    assert_eq!(reason(check(&v3(), &e)), "cast_mismatch");
    assert_eq!(check(&unicast_v3(64), &e), Ok(vec![]));
}

#[test]
fn keepalived_check_unicast_src_wants_a_peer_within_its_ttl_range() {
    let peers = [UnicastPeer {
        addr: PEER,
        min_ttl: 250,
        max_ttl: 255,
    }];
    let e = Expected {
        unicast_peers: &peers,
        check_unicast_src: true,
        ..expect_v3()
    };
    assert_eq!(check(&unicast_v3(255), &e), Ok(vec![]));
    assert_eq!(
        check(&unicast_v3(64), &e),
        Err(Invalid::UnicastTtl {
            ttl: 64,
            min: 250,
            max: 255
        })
    );
    let mut stranger = unicast_v3(255);
    stranger.src = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 9));
    assert_eq!(
        check(&stranger, &e),
        Err(Invalid::UnicastSrc { src: stranger.src })
    );
    // Without check_unicast_src anyone may send.
    let lax = Expected {
        check_unicast_src: false,
        ..e
    };
    assert_eq!(check(&stranger, &lax), Ok(vec![]));
}

#[test]
fn keepalived_legacy_unicast_checksum_follows_old_unicast_checksum() {
    let peers = [UnicastPeer::new(PEER)];
    let e = Expected {
        unicast_peers: &peers,
        ..expect_v3()
    };
    let mut legacy = unicast_v3(255);
    legacy.legacy_checksum = true;
    assert_eq!(check(&legacy, &e), Ok(vec![Warning::LegacyChecksum]));
    let never = Expected {
        unicast_checksum: UnicastChecksum::Never,
        ..e
    };
    assert_eq!(reason(check(&legacy, &never)), "checksum");
    let old = Expected {
        unicast_checksum: UnicastChecksum::Legacy,
        ..e
    };
    assert_eq!(check(&legacy, &old), Ok(vec![]));
    assert_eq!(
        check(&unicast_v3(255), &old),
        Err(Invalid::UnicastChecksum { legacy: false })
    );
}

#[test]
fn every_reason_reads_well() {
    let e = Invalid::Interval {
        expected_cs: 100,
        found_cs: 200,
    };
    assert_eq!(e.to_string(), "v2 advertisement interval 2s, ours is 1.00s");
    let w = Warning::IntervalAdopted {
        ours_cs: 100,
        found_cs: 50,
    };
    assert_eq!(
        w.to_string(),
        "v3 interval 0.50s differs from ours 1.00s (a Backup adopts it)"
    );
    assert_eq!(
        Invalid::Cast {
            expected_unicast: true
        }
        .to_string(),
        "multicast advert on a unicast instance"
    );
}

//! Properties of the codec: no input panics a decoder, and every valid advert
//! survives encode → decode unchanged (v2 over IPv4, v3 over IPv4 and IPv6).

use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use vigil_core::vrrp::packet::{
    Advert, Auth, MAX_V3_INTERVAL_CS, MCAST_V4, MCAST_V6, Version, decode_ipv4, decode_ipv6,
};

fn v4_addrs() -> impl Strategy<Value = Vec<IpAddr>> {
    prop::collection::vec(any::<Ipv4Addr>().prop_map(IpAddr::V4), 0..=20)
}

fn v6_addrs() -> impl Strategy<Value = Vec<IpAddr>> {
    prop::collection::vec(any::<Ipv6Addr>().prop_map(IpAddr::V6), 0..=20)
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![Just(Auth::None), any::<[u8; 8]>().prop_map(Auth::Pass)]
}

fn v2_advert() -> impl Strategy<Value = Advert> {
    (any::<u8>(), any::<u8>(), 1u16..=255, auth(), v4_addrs()).prop_map(
        |(vrid, priority, secs, auth, addrs)| Advert {
            version: Version::V2,
            vrid,
            priority,
            interval_cs: secs * 100,
            auth,
            addrs,
        },
    )
}

fn v3_advert(addrs: impl Strategy<Value = Vec<IpAddr>>) -> impl Strategy<Value = Advert> {
    (any::<u8>(), any::<u8>(), 1u16..=MAX_V3_INTERVAL_CS, addrs).prop_map(
        |(vrid, priority, interval_cs, addrs)| Advert {
            version: Version::V3,
            vrid,
            priority,
            interval_cs,
            auth: Auth::None,
            addrs,
        },
    )
}

/// The multicast group or any unicast address.
fn v4_dst() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        Just(MCAST_V4),
        any::<Ipv4Addr>().prop_filter("unicast", |a| !a.is_multicast())
    ]
}

fn v6_dst() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        Just(MCAST_V6),
        any::<Ipv6Addr>().prop_filter("unicast", |a| !a.is_multicast())
    ]
}

fn round_trip_v4(advert: &Advert, src: Ipv4Addr, dst: Ipv4Addr, ident: u16) {
    let datagram = advert.encode_ipv4(src, dst, ident);
    let decoded = decode_ipv4(&datagram);
    assert_eq!(decoded.as_ref().map(|d| &d.advert), Ok(advert));
    assert_eq!(
        decoded.map(|d| (d.src, d.dst, d.ttl, d.legacy_checksum)),
        Ok((IpAddr::V4(src), IpAddr::V4(dst), 255, false))
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_either_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..1200),
        src in any::<Ipv6Addr>(),
        dst in any::<Ipv6Addr>(),
        hop_limit in any::<u8>(),
    ) {
        let _ = decode_ipv4(&bytes);
        let _ = decode_ipv6(src, dst, hop_limit, &bytes);
        let _ = decode_ipv6(src, MCAST_V6, 255, &bytes);
    }

    /// Corrupting one byte of a valid datagram never panics, and is always
    /// caught: every byte is under the IP or the VRRP checksum.
    #[test]
    fn corrupted_datagrams_never_panic_and_are_caught(
        advert in prop_oneof![v2_advert(), v3_advert(v4_addrs())],
        at in any::<prop::sample::Index>(),
        xor in 1u8..,
        cut in any::<prop::sample::Index>(),
    ) {
        let mut datagram = advert.encode_ipv4(Ipv4Addr::new(10, 0, 0, 1), MCAST_V4, 1);
        let i = at.index(datagram.len());
        datagram[i] ^= xor;
        prop_assert!(decode_ipv4(&datagram).is_err(), "flip at {} undetected", i);
        let _ = decode_ipv4(&datagram[..cut.index(datagram.len())]);
        let _ = decode_ipv6(Ipv6Addr::LOCALHOST, MCAST_V6, 255, &datagram[20..]);
    }

    #[test]
    fn v2_over_ipv4_round_trips(
        advert in v2_advert(),
        src in any::<Ipv4Addr>(),
        dst in v4_dst(),
        ident in any::<u16>(),
    ) {
        round_trip_v4(&advert, src, dst, ident);
    }

    #[test]
    fn v3_over_ipv4_round_trips(
        advert in v3_advert(v4_addrs()),
        src in any::<Ipv4Addr>(),
        dst in v4_dst(),
        ident in any::<u16>(),
    ) {
        round_trip_v4(&advert, src, dst, ident);
    }

    #[test]
    fn v3_over_ipv6_round_trips(
        advert in v3_advert(v6_addrs()),
        src in any::<Ipv6Addr>(),
        dst in v6_dst(),
    ) {
        let msg = advert.encode(IpAddr::V6(src), IpAddr::V6(dst));
        let decoded = decode_ipv6(src, dst, 255, &msg);
        prop_assert_eq!(decoded.map(|d| (d.advert, d.src, d.dst)),
            Ok((advert, IpAddr::V6(src), IpAddr::V6(dst))));
    }
}

//! Codec tests, named after the RFC clause (or keepalived behaviour) they check.

use super::*;

/// keepalived 2.2.7's first v2 advert in `v2-pass.pcap` (VRID 42, prio 150,
/// PASS "s3cret", 1 s, 10.77.0.142), IP ident 1.
const V2_PASS_DATAGRAM: [u8; 40] = [
    0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x44, 0x0a, 0x4d, 0x00, 0x01,
    0xe0, 0x00, 0x00, 0x12, 0x21, 0x2a, 0x96, 0x01, 0x01, 0x01, 0x00, 0xde, 0x0a, 0x4d, 0x00, 0x8e,
    0x73, 0x33, 0x63, 0x72, 0x65, 0x74, 0x00, 0x00,
];
/// keepalived 2.2.7's first v3 advert in `v3-ipv4.pcap` (VRID 51, prio 150,
/// 0.5 s, 10.77.0.100), IP ident 1.
const V3_DATAGRAM: [u8; 32] = [
    0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x4c, 0x0a, 0x4d, 0x00, 0x01,
    0xe0, 0x00, 0x00, 0x12, 0x31, 0x33, 0x96, 0x01, 0x00, 0x32, 0x43, 0x0b, 0x0a, 0x4d, 0x00, 0x64,
];
/// A keepalived 2.2.7 v3 unicast advert, 10.77.0.1 → 10.77.0.2 (VRID 53, 1 s).
const V3_UNICAST_MSG: [u8; 12] = [
    0x31, 0x35, 0x96, 0x01, 0x00, 0x64, 0x18, 0x66, 0x0a, 0x4d, 0x00, 0x99,
];
/// A keepalived 2.2.7 v3 IPv6 advert, fe80::48a1:6cff:fe9c:c2dc → ff02::12
/// (VRID 61, 1 s, fe80::61 and fd77::161); the kernel computed its checksum.
const V3_IPV6_MSG: [u8; 40] = [
    0x31, 0x3d, 0x96, 0x02, 0x00, 0x64, 0xc5, 0x58, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0x61, 0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x61,
];

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::from(a)
}

const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

fn v3_advert() -> Advert {
    Advert {
        version: Version::V3,
        vrid: 51,
        priority: 150,
        interval_cs: 50,
        auth: Auth::None,
        addrs: vec![v4([10, 77, 0, 100])],
    }
}

fn v2_advert() -> Advert {
    Advert {
        version: Version::V2,
        vrid: 42,
        priority: 150,
        interval_cs: 100,
        auth: Auth::pass(b"s3cret"),
        addrs: vec![v4([10, 77, 0, 142])],
    }
}

fn ll_src() -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0x48a1, 0x6cff, 0xfe9c, 0xc2dc)
}

/// Re-encodes `msg` with its checksum fixed, as a sender would have.
fn with_checksum(mut msg: Vec<u8>, src: IpAddr, dst: IpAddr, v2: bool) -> Vec<u8> {
    msg[6..8].copy_from_slice(&[0, 0]);
    let base = if v2 {
        Sum::default()
    } else {
        pseudo_header(src, dst, msg_len_u16(&msg))
    };
    let c = base.add(&msg).finish();
    msg[6..8].copy_from_slice(&c.to_be_bytes());
    msg
}

fn reason(r: Result<Decoded, PacketError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.reason(),
    }
}

fn decode_v4_msg(msg: &[u8], dst: Ipv4Addr, ttl: u8) -> Result<Decoded, PacketError> {
    decode_message(IpAddr::V4(SRC), IpAddr::V4(dst), ttl, msg)
}

// ---- encoding ----

#[test]
fn rfc3768_5_1_v2_datagram_matches_keepalived_byte_for_byte() {
    assert_eq!(v2_advert().encode_ipv4(SRC, MCAST_V4, 1), V2_PASS_DATAGRAM);
}

#[test]
fn rfc5798_5_1_v3_datagram_matches_keepalived_byte_for_byte() {
    assert_eq!(v3_advert().encode_ipv4(SRC, MCAST_V4, 1), V3_DATAGRAM);
}

#[test]
fn rfc5798_5_2_8_v3_ipv4_checksum_covers_the_pseudo_header() {
    let unicast = v3_advert_unicast();
    let dst = v4([10, 77, 0, 2]);
    assert_eq!(unicast.encode(IpAddr::V4(SRC), dst), V3_UNICAST_MSG);
    // Another destination, another checksum.
    assert_ne!(
        unicast.encode(IpAddr::V4(SRC), v4([10, 77, 0, 3])),
        V3_UNICAST_MSG
    );
}

fn v3_advert_unicast() -> Advert {
    Advert {
        vrid: 53,
        interval_cs: 100,
        addrs: vec![v4([10, 77, 0, 153])],
        ..v3_advert()
    }
}

#[test]
fn rfc5798_5_2_8_v3_ipv6_checksum_covers_the_pseudo_header() {
    let advert = Advert {
        vrid: 61,
        priority: 150,
        interval_cs: 100,
        addrs: vec![
            "fe80::61".parse().unwrap_or(IpAddr::V4(SRC)),
            "fd77::161".parse().unwrap_or(IpAddr::V4(SRC)),
        ],
        ..v3_advert()
    };
    let msg = advert.encode(IpAddr::V6(ll_src()), IpAddr::V6(MCAST_V6));
    assert_eq!(msg, V3_IPV6_MSG);
    let d = decode_ipv6(ll_src(), MCAST_V6, 255, &msg);
    assert_eq!(d.map(|d| d.advert), Ok(advert));
}

#[test]
fn rfc3768_5_3_8_v2_checksum_has_no_pseudo_header() {
    let a = v2_advert();
    let one = a.encode(IpAddr::V4(SRC), IpAddr::V4(MCAST_V4));
    let other = a.encode(v4([192, 0, 2, 9]), v4([192, 0, 2, 10]));
    assert_eq!(one, other);
    assert_eq!(Sum::default().add(&one).finish(), 0);
}

#[test]
fn rfc3768_5_3_6_pass_auth_pads_to_8_bytes() {
    let msg = v2_advert().encode(IpAddr::V4(SRC), IpAddr::V4(MCAST_V4));
    assert_eq!(msg.len(), 8 + 4 + 8);
    assert_eq!(msg[4], 1, "auth type PASS");
    assert_eq!(&msg[12..], b"s3cret\0\0");
    // keepalived keeps the first 8 bytes of a longer auth_pass.
    assert_eq!(Auth::pass(b"0123456789"), Auth::Pass(*b"01234567"));
}

#[test]
fn rfc3768_5_3_6_no_auth_sends_type_0_and_8_zero_bytes() {
    let a = Advert {
        auth: Auth::None,
        ..v2_advert()
    };
    let msg = a.encode(IpAddr::V4(SRC), IpAddr::V4(MCAST_V4));
    assert_eq!(msg[4], 0);
    assert_eq!(&msg[12..], &[0; 8]);
}

#[test]
fn rfc3768_5_3_7_v2_interval_is_whole_seconds() {
    let a = Advert {
        interval_cs: 250,
        ..v2_advert()
    };
    assert_eq!(a.encode(IpAddr::V4(SRC), IpAddr::V4(MCAST_V4))[5], 2);
}

#[test]
fn rfc5798_5_2_7_v3_interval_is_12_bits_with_reserved_bits_zero() {
    let a = Advert {
        interval_cs: 5000,
        ..v3_advert()
    };
    let msg = a.encode(IpAddr::V4(SRC), IpAddr::V4(MCAST_V4));
    assert_eq!(
        u16::from_be_bytes([msg[4], msg[5]]),
        4095,
        "clamped, not masked"
    );
}

#[test]
fn rfc5798_5_2_6_reserved_bits_are_ignored_on_receipt() {
    let mut msg = v3_advert().encode(IpAddr::V4(SRC), IpAddr::V4(MCAST_V4));
    msg[4] |= 0xf0;
    let msg = with_checksum(msg, IpAddr::V4(SRC), IpAddr::V4(MCAST_V4), false);
    let d = decode_v4_msg(&msg, MCAST_V4, 255);
    assert_eq!(d.map(|d| d.advert.interval_cs), Ok(50));
}

#[test]
fn rfc5798_5_2_5_at_most_255_addresses_of_the_carrying_family() {
    let mut addrs: Vec<IpAddr> = (0..300u16)
        .map(|i| v4([10, 1, (i >> 8) as u8, i as u8]))
        .collect();
    addrs.push("fd00::1".parse().unwrap_or(IpAddr::V4(SRC)));
    let a = Advert {
        addrs,
        ..v3_advert()
    };
    let msg = a.encode(IpAddr::V4(SRC), IpAddr::V4(MCAST_V4));
    assert_eq!(msg[3], 255);
    assert_eq!(msg.len(), 8 + 255 * 4);
}

// ---- IPv4 checks ----

#[test]
fn rfc791_decodes_the_reference_datagrams() {
    let d = decode_ipv4(&V3_DATAGRAM);
    assert_eq!(d.as_ref().map(|d| &d.advert), Ok(&v3_advert()));
    assert_eq!(
        d.as_ref().map(|d| (d.src, d.dst, d.ttl)),
        Ok((IpAddr::V4(SRC), IpAddr::V4(MCAST_V4), 255))
    );
    assert_eq!(
        decode_ipv4(&V2_PASS_DATAGRAM).map(|d| d.advert),
        Ok(v2_advert())
    );
}

#[test]
fn rfc791_trailing_ethernet_padding_is_ignored() {
    let mut padded = V3_DATAGRAM.to_vec();
    padded.extend_from_slice(&[0; 14]);
    assert_eq!(reason(decode_ipv4(&padded)), "ok");
}

#[test]
fn rfc791_header_options_are_skipped_as_ihl_says() {
    let mut d = V3_DATAGRAM[..20].to_vec();
    d[0] = 0x46;
    d.extend_from_slice(&[1, 1, 1, 0]); // NOP NOP NOP EOL
    d.extend_from_slice(&V3_DATAGRAM[20..]);
    d[3] += 4;
    d[10..12].copy_from_slice(&[0, 0]);
    let c = Sum::default().add(&d[..24]).finish();
    d[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(decode_ipv4(&d).map(|d| d.advert), Ok(v3_advert()));
}

#[test]
fn rfc791_truncated_header_is_rejected() {
    assert_eq!(reason(decode_ipv4(&V3_DATAGRAM[..19])), "ip_truncated");
    assert_eq!(reason(decode_ipv4(&[])), "ip_truncated");
    let mut d = V3_DATAGRAM;
    d[0] = 0x4f; // 60-byte header in a 32-byte datagram
    assert_eq!(reason(decode_ipv4(&d)), "ip_truncated");
}

#[test]
fn rfc791_not_ipv4_is_rejected() {
    let mut d = V3_DATAGRAM;
    d[0] = 0x65;
    assert_eq!(decode_ipv4(&d), Err(PacketError::NotIpv4 { version: 6 }));
    d[0] = 0x44;
    assert_eq!(decode_ipv4(&d), Err(PacketError::BadIhl { ihl: 4 }));
}

#[test]
fn rfc791_total_length_beyond_the_buffer_is_rejected() {
    assert_eq!(reason(decode_ipv4(&V3_DATAGRAM[..31])), "ip_total_len");
}

#[test]
fn rfc791_bad_header_checksum_is_rejected_with_both_values() {
    let mut d = V3_DATAGRAM;
    d[11] ^= 0xff;
    assert_eq!(
        decode_ipv4(&d),
        Err(PacketError::IpChecksum {
            expected: 0xd04c,
            found: 0xd0b3
        })
    );
}

#[test]
fn rfc791_fragments_are_rejected() {
    let mut d = V3_DATAGRAM.to_vec();
    d[6] = 0x20; // more fragments
    d[10..12].copy_from_slice(&[0, 0]);
    let c = Sum::default().add(&d[..20]).finish();
    d[10..12].copy_from_slice(&c.to_be_bytes());
    assert_eq!(reason(decode_ipv4(&d)), "fragment");
}

fn with_ip_field(at: usize, value: u8) -> Vec<u8> {
    let mut d = V3_DATAGRAM.to_vec();
    d[at] = value;
    d[10..12].copy_from_slice(&[0, 0]);
    let c = Sum::default().add(&d[..20]).finish();
    d[10..12].copy_from_slice(&c.to_be_bytes());
    d
}

#[test]
fn rfc5798_5_1_1_4_protocol_not_112_is_rejected() {
    assert_eq!(
        decode_ipv4(&with_ip_field(9, 17)),
        Err(PacketError::Protocol { protocol: 17 })
    );
    assert_eq!(
        decode_ipv4(&with_ip_field(9, 51)),
        Err(PacketError::AhHeader)
    );
}

// ---- VRRP message checks ----

#[test]
fn rfc5798_7_1_ttl_not_255_is_dropped_for_multicast() {
    assert_eq!(
        decode_ipv4(&with_ip_field(8, 254)),
        Err(PacketError::Ttl { ttl: 254 })
    );
    let r = decode_ipv6(ll_src(), MCAST_V6, 1, &V3_IPV6_MSG);
    assert_eq!(r, Err(PacketError::Ttl { ttl: 1 }));
}

#[test]
fn keepalived_unicast_adverts_are_not_ttl_checked() {
    let d = decode_v4_msg(&V3_UNICAST_MSG, Ipv4Addr::new(10, 77, 0, 2), 64);
    assert_eq!(d.map(|d| (d.ttl, d.advert.vrid)), Ok((64, 53)));
}

#[test]
fn rfc5798_7_1_bad_checksum_is_dropped_with_both_values() {
    let mut msg = V3_DATAGRAM[20..].to_vec();
    msg[7] ^= 0x01;
    assert_eq!(
        decode_v4_msg(&msg, MCAST_V4, 255),
        Err(PacketError::Checksum {
            expected: 0x430b,
            found: 0x430a
        })
    );
    let mut v6 = V3_IPV6_MSG;
    v6[30] ^= 0x80;
    assert_eq!(
        reason(decode_ipv6(ll_src(), MCAST_V6, 255, &v6)),
        "checksum"
    );
}

#[test]
fn rfc3768_7_1_v2_bad_checksum_is_dropped() {
    let mut d = V2_PASS_DATAGRAM;
    d[33] ^= 0x20; // one password byte
    assert_eq!(reason(decode_ipv4(&d)), "checksum");
}

#[test]
fn rfc5798_7_1_version_other_than_2_or_3_is_dropped() {
    for version in [0u8, 1, 4, 15] {
        let mut msg = V3_UNICAST_MSG;
        msg[0] = (version << 4) | 1;
        assert_eq!(
            decode_v4_msg(&msg, Ipv4Addr::new(10, 77, 0, 2), 255),
            Err(PacketError::Version { version })
        );
    }
}

#[test]
fn rfc3768_5_1_v2_over_ipv6_is_dropped() {
    let mut msg = V3_IPV6_MSG;
    msg[0] = 0x21;
    assert_eq!(
        decode_ipv6(ll_src(), MCAST_V6, 255, &msg),
        Err(PacketError::V2OverIpv6)
    );
}

#[test]
fn rfc5798_5_2_2_type_other_than_advertisement_is_dropped() {
    let mut msg = V3_UNICAST_MSG;
    msg[0] = 0x32;
    assert_eq!(
        decode_v4_msg(&msg, Ipv4Addr::new(10, 77, 0, 2), 255),
        Err(PacketError::Type { kind: 2 })
    );
}

#[test]
fn rfc5798_7_1_message_shorter_than_its_count_is_dropped() {
    let short = &V3_DATAGRAM[20..30];
    assert_eq!(
        decode_v4_msg(short, MCAST_V4, 255),
        Err(PacketError::TooShort {
            count: 1,
            expected: 12,
            found: 10
        })
    );
    assert_eq!(
        decode_v4_msg(&V3_DATAGRAM[20..27], MCAST_V4, 255),
        Err(PacketError::TruncatedMessage { len: 7 })
    );
    // v2 needs its 8 bytes of auth data too.
    assert_eq!(
        reason(decode_v4_msg(&V2_PASS_DATAGRAM[20..36], MCAST_V4, 255)),
        "too_short"
    );
}

#[test]
fn keepalived_drops_bytes_after_the_addresses_as_too_long() {
    // vrrp.c:839: the received length must equal the expected one exactly.
    let mut msg = V3_DATAGRAM[20..].to_vec();
    msg.extend_from_slice(&[0, 0, 0, 0]);
    let msg = with_checksum(msg, IpAddr::V4(SRC), IpAddr::V4(MCAST_V4), false);
    assert_eq!(
        decode_v4_msg(&msg, MCAST_V4, 255),
        Err(PacketError::TooLong {
            count: 1,
            expected: 12,
            found: 16
        })
    );
}

#[test]
fn rfc3768_5_3_5_zero_addresses_are_legal_in_v2() {
    let a = Advert {
        addrs: vec![],
        ..v2_advert()
    };
    let d = decode_ipv4(&a.encode_ipv4(SRC, MCAST_V4, 7));
    assert_eq!(d.map(|d| d.advert), Ok(a));
}

#[test]
fn keepalived_accepts_zero_addresses_in_v3_packets() {
    // RFC 5798 §5.2.5 says at least 1, but vrrp_check_packet() only compares
    // the count with the instance's (a config check).
    let a = Advert {
        addrs: vec![],
        ..v3_advert()
    };
    let d = decode_ipv4(&a.encode_ipv4(SRC, MCAST_V4, 7));
    assert_eq!(d.map(|d| d.advert), Ok(a));
}

#[test]
fn vigil_drops_a_zero_interval() {
    for a in [v2_advert(), v3_advert()] {
        let a = Advert {
            interval_cs: 0,
            ..a
        };
        assert_eq!(
            decode_ipv4(&a.encode_ipv4(SRC, MCAST_V4, 1)),
            Err(PacketError::ZeroInterval)
        );
    }
}

fn v2_with_auth_type(auth_type: u8) -> Vec<u8> {
    let mut msg = V2_PASS_DATAGRAM[20..].to_vec();
    msg[4] = auth_type;
    with_checksum(msg, IpAddr::V4(SRC), IpAddr::V4(MCAST_V4), true)
}

#[test]
fn rfc3768_5_3_6_ah_auth_is_recognised_and_rejected() {
    assert_eq!(
        decode_v4_msg(&v2_with_auth_type(2), MCAST_V4, 255),
        Err(PacketError::AuthAh)
    );
}

#[test]
fn rfc3768_5_3_6_unknown_auth_type_is_rejected() {
    assert_eq!(
        decode_v4_msg(&v2_with_auth_type(3), MCAST_V4, 255),
        Err(PacketError::UnknownAuthType { auth_type: 3 })
    );
}

#[test]
fn rfc3768_5_3_6_no_auth_ignores_the_auth_data() {
    let d = decode_v4_msg(&v2_with_auth_type(0), MCAST_V4, 255);
    assert_eq!(d.map(|d| d.advert.auth), Ok(Auth::None));
}

#[test]
fn keepalived_accepts_the_legacy_unicast_checksum_and_flags_it() {
    let dst = Ipv4Addr::new(10, 77, 0, 2);
    let legacy = with_checksum(
        V3_UNICAST_MSG.to_vec(),
        IpAddr::V4(SRC),
        IpAddr::V4(MCAST_V4),
        false,
    );
    let d = decode_v4_msg(&legacy, dst, 255);
    assert_eq!(d.map(|d| d.legacy_checksum), Ok(true));
    let d = decode_v4_msg(&V3_UNICAST_MSG, dst, 255);
    assert_eq!(d.map(|d| d.legacy_checksum), Ok(false));
}

// ---- display ----

#[test]
fn display_is_one_line_for_the_cli() {
    assert_eq!(
        v3_advert().to_string(),
        "v3 vrid 51 prio 150 int 0.50s addrs 10.77.0.100 auth none"
    );
    assert_eq!(
        v2_advert().to_string(),
        "v2 vrid 42 prio 150 int 1.00s addrs 10.77.0.142 auth pass \"s3cret\""
    );
    let none = Advert {
        addrs: vec![],
        ..v3_advert()
    };
    assert!(none.to_string().contains("addrs - auth"));
}

#[test]
fn errors_name_the_offending_values() {
    let e = PacketError::Checksum {
        expected: 0x430b,
        found: 0x430a,
    };
    assert_eq!(e.to_string(), "bad VRRP checksum 0x430a, expected 0x430b");
    assert_eq!(e.reason(), "checksum");
}

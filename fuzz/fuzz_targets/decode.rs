//! Feeds arbitrary bytes to both VRRP decoders. Nothing may panic, and an
//! advert that decodes must survive encode → decode unchanged.
//!
//! `core/tests/fuzz_corpus.rs` replays `fuzz/corpus/decode/` the same way.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv6Addr};
use vigil_core::vrrp::packet::{MCAST_V6, decode_ipv4, decode_ipv6};

/// A link-local sender, as RFC 5798 §5.1.2.1 has them.
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = decode_ipv4(data) {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (d.src, d.dst) else {
            panic!("IPv4 datagram decoded with IPv6 addresses");
        };
        let again = decode_ipv4(&d.advert.encode_ipv4(src, dst, 0));
        assert_eq!(again.map(|a| a.advert), Ok(d.advert));
    }
    if let Ok(d) = decode_ipv6(SRC6, MCAST_V6, 255, data) {
        let again = decode_ipv6(SRC6, MCAST_V6, 255, &d.advert.encode(d.src, d.dst));
        assert_eq!(again.map(|a| a.advert), Ok(d.advert));
    }
});

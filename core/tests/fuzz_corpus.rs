//! Replays the cargo-fuzz corpus (`fuzz/corpus/decode/`) as an ordinary test,
//! so CI checks what the fuzzer found without a nightly toolchain. Does what
//! `fuzz/fuzz_targets/decode.rs` does with each input.

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use vigil_core::vrrp::packet::{MCAST_V6, decode_ipv4, decode_ipv6};

const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

/// Both decoders on one input; returns whether either accepted it.
fn replay(name: &str, data: &[u8]) -> bool {
    let mut accepted = false;
    if let Ok(d) = decode_ipv4(data) {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (d.src, d.dst) else {
            panic!("{name}: IPv4 datagram decoded with IPv6 addresses");
        };
        let again = decode_ipv4(&d.advert.encode_ipv4(src, dst, 0));
        assert_eq!(again.map(|a| a.advert), Ok(d.advert), "{name}");
        accepted = true;
    }
    if let Ok(d) = decode_ipv6(SRC6, MCAST_V6, 255, data) {
        let again = decode_ipv6(SRC6, MCAST_V6, 255, &d.advert.encode(d.src, d.dst));
        assert_eq!(again.map(|a| a.advert), Ok(d.advert), "{name}");
        accepted = true;
    }
    accepted
}

#[test]
fn every_corpus_input_replays_without_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/decode");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable directory entry").path())
        .collect();
    entries.sort();
    let mut seeds = 0;
    for path in &entries {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let accepted = replay(&name, &data);
        // Seeds from keepalived's captures must keep decoding: whole IPv4
        // datagrams, and the IPv6 message made for fe80::1 → ff02::12. (IPv4
        // messages alone are seeds for mutation, not valid input to either.)
        if name.starts_with("seed-") && (name.ends_with("-datagram") || name.contains("ipv6")) {
            assert!(accepted, "seed {name} no longer decodes");
            seeds += 1;
        }
    }
    assert!(
        entries.len() >= 13,
        "corpus has only {} inputs",
        entries.len()
    );
    assert!(seeds >= 7, "only {seeds} decodable seeds");
}

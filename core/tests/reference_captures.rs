//! keepalived 2.2.7's own adverts (`captures/reference/` from ../shared, and
//! the ones recorded here in `captures/`) are the truth for bytes: every one
//! must decode, and re-encode to the very same bytes.

use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use std::fs::File;
use std::net::IpAddr;
use std::path::PathBuf;
use vigil_core::vrrp::packet::{PROTO_VRRP, TOS, TTL};
use vigil_core::wire::{self, IpPacket};

fn capture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../captures")
        .join(name)
}

/// Every link-layer frame of an Ethernet capture.
fn frames(name: &str) -> Vec<Vec<u8>> {
    let file = File::open(capture(name)).expect("reference capture present");
    let mut reader = PcapReader::new(file).expect("a pcap file");
    assert_eq!(reader.header().datalink, DataLink::ETHERNET);
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        frames.push(packet.expect("a whole packet").data.into_owned());
    }
    frames
}

/// Decodes every VRRP packet in the frames, checks that re-encoding gives the
/// same bytes, and returns how many there were.
fn check_round_trip(frames: &[Vec<u8>]) -> usize {
    let mut count = 0;
    for (i, frame) in frames.iter().enumerate() {
        let Some(packet) = wire::from_ethernet(frame) else {
            continue;
        };
        if !packet.is_vrrp() {
            continue;
        }
        count += 1;
        let decoded = packet
            .decode_vrrp()
            .unwrap_or_else(|e| panic!("frame {i}: {e}"));
        let advert = &decoded.advert;
        match packet {
            IpPacket::V4(datagram) => {
                let ihl = usize::from(datagram[0] & 0x0f) * 4;
                let msg = advert.encode(decoded.src, decoded.dst);
                assert_eq!(msg, datagram[ihl..], "frame {i}: VRRP message");
                let (IpAddr::V4(src), IpAddr::V4(dst)) = (decoded.src, decoded.dst) else {
                    panic!("frame {i}: IPv4 packet with IPv6 addresses");
                };
                let ident = u16::from_be_bytes([datagram[4], datagram[5]]);
                let ours = advert.encode_ipv4(src, dst, ident);
                assert_eq!(
                    (datagram[1], datagram[8], datagram[9]),
                    (TOS, TTL, PROTO_VRRP),
                    "frame {i}: TOS, TTL, protocol as captured"
                );
                assert_eq!((ours[1], ours[8], ours[9]), (TOS, TTL, PROTO_VRRP));
                assert_eq!(ours, datagram, "frame {i}: whole datagram");
            }
            IpPacket::V6 { payload, .. } => {
                let msg = advert.encode(decoded.src, decoded.dst);
                assert_eq!(msg, payload, "frame {i}: VRRP message");
            }
        }
    }
    count
}

#[test]
fn v2_pass_capture_decodes_and_re_encodes_identically() {
    let frames = frames("reference/v2-pass.pcap");
    assert_eq!(check_round_trip(&frames), 6);
}

#[test]
fn v3_ipv4_capture_decodes_and_re_encodes_identically() {
    let frames = frames("reference/v3-ipv4.pcap");
    assert_eq!(check_round_trip(&frames), 12);
}

#[test]
fn v2_pass_capture_carries_what_the_config_says() {
    let frames = frames("reference/v2-pass.pcap");
    let adverts: Vec<String> = frames
        .iter()
        .filter_map(|f| wire::from_ethernet(f))
        .filter(|p| p.is_vrrp())
        .filter_map(|p| p.decode_vrrp().ok())
        .map(|d| d.advert.to_string())
        .collect();
    // Node 1 (150) is Master, sends priority 0 on SIGTERM, node 2 (100) takes over.
    let prio =
        |p: u8| format!("v2 vrid 42 prio {p} int 1.00s addrs 10.77.0.142 auth pass \"s3cret\"");
    assert_eq!(adverts.first(), Some(&prio(150)));
    assert!(adverts.contains(&prio(0)));
    assert_eq!(adverts.last(), Some(&prio(100)));
}

/// The same frames behind two VLAN tags (802.1ad outer, 802.1Q inner) and
/// padded to a 64-byte frame still decode and re-encode the same.
#[test]
fn tagged_and_padded_frames_decode_the_same() {
    for name in ["reference/v2-pass.pcap", "reference/v3-ipv4.pcap"] {
        let plain = frames(name);
        let mangled: Vec<Vec<u8>> = plain
            .iter()
            .map(|f| {
                let mut g = f[..12].to_vec();
                g.extend_from_slice(&[0x88, 0xa8, 0x00, 0x07, 0x81, 0x00, 0x00, 0x2a]);
                g.extend_from_slice(&f[12..]);
                g.resize(g.len().max(64), 0);
                g
            })
            .collect();
        assert_eq!(check_round_trip(&mangled), check_round_trip(&plain));
    }
}

#[test]
fn captures_recorded_here_decode_and_re_encode_identically() {
    // IPv6 (VRID 61, link-local source), v2 without auth, v3 unicast.
    for name in ["v3-ipv6.pcap", "v2-nopass.pcap", "v3-unicast.pcap"] {
        let frames = frames(name);
        assert_eq!(check_round_trip(&frames), 6, "{name}");
    }
}

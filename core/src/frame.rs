//! Ethernet frames a VRRP router puts on the wire besides its adverts'
//! payload: the Ethernet header around an IP packet, gratuitous ARPs and
//! unsolicited neighbour advertisements, byte for byte as keepalived 2.2.7
//! sends them (observed: docs/keepalived-2.2.7-observed.md).
//!
//! The simulator writes them to its pcap; the daemon sends the announcements
//! over AF_PACKET.

use crate::vrrp::checksum::Sum;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub type Mac = [u8; 6];

pub const BROADCAST: Mac = [0xff; 6];
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ICMPV6: u8 = 58;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The Ethernet address an IP destination maps to: the IPv4 (01:00:5e) and
/// IPv6 (33:33) multicast mappings, or `unicast` for anything else.
pub fn dst_mac(dst: IpAddr, unicast: Mac) -> Mac {
    match dst {
        IpAddr::V4(a) if a.is_multicast() => {
            let o = a.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        IpAddr::V6(a) if a.is_multicast() => {
            let o = a.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
        _ => unicast,
    }
}

/// An Ethernet frame around an IPv4 datagram or a whole IPv6 packet.
pub fn ethernet_ip(dst: Mac, src: Mac, packet: &[u8]) -> Vec<u8> {
    let ethertype = if packet.first().is_some_and(|b| b >> 4 == 6) {
        ETHERTYPE_IPV6
    } else {
        ETHERTYPE_IPV4
    };
    ethernet(dst, src, ethertype, packet)
}

fn ethernet(dst: Mac, src: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A gratuitous ARP as keepalived sends it: an ARP request to broadcast whose
/// sender and target address are both the virtual address.
pub fn gratuitous_arp(mac: Mac, addr: Ipv4Addr) -> Vec<u8> {
    let mut arp = Vec::with_capacity(28);
    arp.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    arp.extend_from_slice(&mac);
    arp.extend_from_slice(&addr.octets());
    arp.extend_from_slice(&BROADCAST);
    arp.extend_from_slice(&addr.octets());
    ethernet(BROADCAST, mac, ETHERTYPE_ARP, &arp)
}

/// An IPv6 header with a payload; traffic class 0, as keepalived's NAs have.
pub fn ipv6_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    traffic_class: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Vec::with_capacity(40 + payload.len());
    p.extend_from_slice(&[0x60 | (traffic_class >> 4), traffic_class << 4, 0, 0]);
    p.extend_from_slice(
        &u16::try_from(payload.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    p.push(next_header);
    p.push(hop_limit);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// An unsolicited neighbour advertisement for `addr` (RFC 4861 §7.2.6) as
/// keepalived sends it: from the address to all-nodes, hop limit 255, the
/// Override flag only, and the target link-layer address option.
pub fn unsolicited_na(mac: Mac, addr: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[136, 0, 0, 0]);
    icmp.extend_from_slice(&[0x20, 0, 0, 0]);
    icmp.extend_from_slice(&addr.octets());
    icmp.extend_from_slice(&[2, 1]);
    icmp.extend_from_slice(&mac);
    let len = u32::try_from(icmp.len()).unwrap_or(0).to_be_bytes();
    let sum = Sum::default()
        .add(&addr.octets())
        .add(&ALL_NODES.octets())
        .add(&len)
        .add(&[0, 0, 0, ICMPV6])
        .add(&icmp)
        .finish();
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let packet = ipv6_packet(addr, ALL_NODES, ICMPV6, 255, 0, &icmp);
    ethernet(
        dst_mac(IpAddr::V6(ALL_NODES), BROADCAST),
        mac,
        ETHERTYPE_IPV6,
        &packet,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [0x3a, 0xe7, 0xe4, 0x41, 0xb9, 0x7f];

    #[test]
    fn gratuitous_arp_matches_keepalived_on_the_wire() {
        // The first GARP of captures/reference/v3-ipv4.pcap, frame 5.
        let expected = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3a, 0xe7, 0xe4, 0x41, 0xb9, 0x7f, 0x08, 0x06,
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x3a, 0xe7, 0xe4, 0x41, 0xb9, 0x7f,
            0x0a, 0x4d, 0x00, 0x64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x4d, 0x00, 0x64,
        ];
        assert_eq!(gratuitous_arp(MAC, Ipv4Addr::new(10, 77, 0, 100)), expected);
    }

    #[test]
    fn multicast_destinations_map_to_their_ethernet_groups() {
        let vrrp4 = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(dst_mac(vrrp4, MAC), [0x01, 0x00, 0x5e, 0, 0, 0x12]);
        let vrrp6 = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12));
        assert_eq!(dst_mac(vrrp6, MAC), [0x33, 0x33, 0, 0, 0, 0x12]);
        assert_eq!(dst_mac(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), MAC), MAC);
    }

    #[test]
    fn unsolicited_na_checksum_verifies() {
        let addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 0x161);
        let f = unsolicited_na(MAC, addr);
        let ip = &f[14..];
        let icmp = &ip[40..];
        assert_eq!((ip[6], ip[7], icmp[0], icmp[4]), (ICMPV6, 255, 136, 0x20));
        let len = u32::try_from(icmp.len()).unwrap().to_be_bytes();
        let check = Sum::default()
            .add(&ip[8..24])
            .add(&ip[24..40])
            .add(&len)
            .add(&[0, 0, 0, ICMPV6])
            .add(icmp);
        assert_eq!(check.finish(), 0);
    }
}

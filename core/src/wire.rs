//! From captured link-layer frames to the IP packets the VRRP decoders take.
//!
//! Pure code over byte slices, shared by the capture tests and `vigil pcap
//! check`: Ethernet (with 802.1Q/802.1ad tags), Linux cooked captures and raw
//! IP. Anything that is not IPv4 or IPv6 gives `None`; malformed IP is passed
//! on as far as it can be, so the decoder names what is wrong with it.

use crate::vrrp::packet::{Decoded, PROTO_AH, PROTO_VRRP, PacketError, decode_ipv4, decode_ipv6};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q, 802.1ad and the old QinQ value: each adds a 4-byte tag.
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// More stacked tags than anyone uses; bounds the loop on hostile input.
const MAX_VLAN_TAGS: usize = 4;
const IPV6_HEADER_LEN: usize = 40;
/// IPv6 extension headers that may precede VRRP and share one length format.
const IPV6_EXTENSIONS: [u8; 3] = [0, 43, 60];
const MAX_IPV6_EXTENSIONS: usize = 8;

/// The link types a capture may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    /// Linux cooked capture v1 (`tcpdump -i any`).
    LinuxSll,
    /// Linux cooked capture v2.
    LinuxSll2,
    /// Bare IPv4 or IPv6, told apart by the version nibble.
    Raw,
}

/// An IP packet found in a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpPacket<'a> {
    /// A whole IPv4 datagram, cut to its total length when that fits the frame
    /// (dropping Ethernet padding), else left whole for the decoder to reject.
    V4(&'a [u8]),
    /// An IPv6 packet: the fixed header's facts and the upper-layer payload
    /// after any hop-by-hop, routing or destination-options headers, which is
    /// what a raw IPv6 socket hands keepalived.
    V6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        next_header: u8,
        payload: &'a [u8],
    },
}

impl<'a> IpPacket<'a> {
    /// The upper-layer protocol, if the header is long enough to say.
    pub fn protocol(&self) -> Option<u8> {
        match self {
            IpPacket::V4(d) => d.get(9).copied(),
            IpPacket::V6 { next_header, .. } => Some(*next_header),
        }
    }

    /// Whether this carries VRRP: protocol 112, or an IPv4 AH header whose
    /// next header is 112 (keepalived's v2 auth type 2, which the decoder names).
    pub fn is_vrrp(&self) -> bool {
        match (self.protocol(), self) {
            (Some(PROTO_VRRP), _) => true,
            (Some(PROTO_AH), IpPacket::V4(d)) => {
                let ihl = usize::from(d.first().map_or(0, |b| b & 0x0f)) * 4;
                d.get(ihl) == Some(&PROTO_VRRP)
            }
            _ => false,
        }
    }

    /// Source address, if the header holds one.
    pub fn src(&self) -> Option<IpAddr> {
        match self {
            IpPacket::V4(d) => v4_at(d, 12),
            IpPacket::V6 { src, .. } => Some(IpAddr::V6(*src)),
        }
    }

    /// Destination address, if the header holds one.
    pub fn dst(&self) -> Option<IpAddr> {
        match self {
            IpPacket::V4(d) => v4_at(d, 16),
            IpPacket::V6 { dst, .. } => Some(IpAddr::V6(*dst)),
        }
    }

    /// Runs the matching VRRP decoder.
    pub fn decode_vrrp(&self) -> Result<Decoded, PacketError> {
        match *self {
            IpPacket::V4(d) => decode_ipv4(d),
            IpPacket::V6 {
                src,
                dst,
                hop_limit,
                payload,
                ..
            } => decode_ipv6(src, dst, hop_limit, payload),
        }
    }
}

fn v4_at(d: &[u8], at: usize) -> Option<IpAddr> {
    let b: [u8; 4] = d.get(at..at + 4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(b)))
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

/// The IP packet in a frame of link type `link`, if any.
pub fn ip_packet(link: Link, frame: &[u8]) -> Option<IpPacket<'_>> {
    match link {
        Link::Ethernet => from_ethernet(frame),
        // SLL: 16-byte header, protocol (an ethertype) in its last 2 bytes.
        Link::LinuxSll => from_ethertype(be16(frame, 14)?, frame.get(16..)?),
        // SLL2: 20-byte header, protocol first.
        Link::LinuxSll2 => from_ethertype(be16(frame, 0)?, frame.get(20..)?),
        Link::Raw => from_ip(frame),
    }
}

/// The IP packet in an Ethernet II frame, looking through VLAN tags.
pub fn from_ethernet(frame: &[u8]) -> Option<IpPacket<'_>> {
    let mut at = 12;
    let mut ethertype = be16(frame, at)?;
    for _ in 0..MAX_VLAN_TAGS {
        if !ETHERTYPE_VLAN.contains(&ethertype) {
            break;
        }
        at += 4;
        ethertype = be16(frame, at)?;
    }
    from_ethertype(ethertype, frame.get(at + 2..)?)
}

fn from_ethertype(ethertype: u16, packet: &[u8]) -> Option<IpPacket<'_>> {
    match ethertype {
        ETHERTYPE_IPV4 => Some(ipv4(packet)),
        ETHERTYPE_IPV6 => ipv6(packet),
        _ => None,
    }
}

/// A bare IP packet, by its version nibble.
pub fn from_ip(packet: &[u8]) -> Option<IpPacket<'_>> {
    match packet.first()? >> 4 {
        4 => Some(ipv4(packet)),
        6 => ipv6(packet),
        _ => None,
    }
}

fn ipv4(packet: &[u8]) -> IpPacket<'_> {
    let trimmed = be16(packet, 2)
        .map(usize::from)
        .filter(|&total| total >= 20)
        .and_then(|total| packet.get(..total));
    IpPacket::V4(trimmed.unwrap_or(packet))
}

fn ipv6(packet: &[u8]) -> Option<IpPacket<'_>> {
    let header = packet.get(..IPV6_HEADER_LEN)?;
    let payload_len = usize::from(be16(header, 4)?);
    let rest = &packet[IPV6_HEADER_LEN..];
    // A payload length of 0 is a jumbogram or a lie; take what is there.
    let mut payload = match payload_len {
        0 => rest,
        n => rest.get(..n).unwrap_or(rest),
    };
    let mut next_header = header[6];
    for _ in 0..MAX_IPV6_EXTENSIONS {
        if !IPV6_EXTENSIONS.contains(&next_header) {
            break;
        }
        let (&nh, &len) = (payload.first()?, payload.get(1)?);
        next_header = nh;
        payload = payload.get((usize::from(len) + 1) * 8..)?;
    }
    let addr = |at: usize| -> Option<Ipv6Addr> {
        let b: [u8; 16] = header.get(at..at + 16)?.try_into().ok()?;
        Some(Ipv6Addr::from(b))
    };
    Some(IpPacket::V6 {
        src: addr(8)?,
        dst: addr(24)?,
        hop_limit: header[7],
        next_header,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ether(ethertype: &[u8], tags: &[[u8; 4]], payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for t in tags {
            f.extend_from_slice(t);
        }
        f.extend_from_slice(ethertype);
        f.extend_from_slice(payload);
        f
    }

    fn ipv4_header(total: u16, proto: u8) -> Vec<u8> {
        let t = total.to_be_bytes();
        vec![
            0x45, 0, t[0], t[1], 0, 0, 0, 0, 255, proto, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18,
        ]
    }

    #[test]
    fn ethernet_padding_is_trimmed_to_the_ipv4_total_length() {
        let mut ip = ipv4_header(24, 112);
        ip.extend_from_slice(&[1, 2, 3, 4]);
        let mut padded = ip.clone();
        padded.extend_from_slice(&[0; 18]);
        let frame = ether(&[0x08, 0x00], &[], &padded);
        assert_eq!(from_ethernet(&frame), Some(IpPacket::V4(&ip)));
    }

    #[test]
    fn vlan_tags_are_skipped() {
        let ip = ipv4_header(20, 112);
        let frame = ether(
            &[0x08, 0x00],
            &[[0x88, 0xa8, 0, 7], [0x81, 0x00, 0, 42]],
            &ip,
        );
        let p = from_ethernet(&frame);
        assert_eq!(p, Some(IpPacket::V4(&ip)));
        assert!(p.is_some_and(|p| p.is_vrrp()));
    }

    #[test]
    fn non_ip_frames_give_none() {
        assert_eq!(from_ethernet(&ether(&[0x08, 0x06], &[], &[0; 28])), None);
        assert_eq!(from_ethernet(&[0; 5]), None);
    }

    #[test]
    fn ipv6_extension_headers_are_skipped_to_vrrp() {
        let mut ip = vec![0x60, 0, 0, 0, 0, 12, 0, 255];
        ip.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        ip.extend_from_slice(&MCAST_DST);
        // hop-by-hop, 8 bytes, next header VRRP; then 4 bytes of VRRP.
        ip.extend_from_slice(&[112, 0, 5, 2, 0, 0, 1, 0, 9, 9, 9, 9]);
        match from_ip(&ip) {
            Some(IpPacket::V6 {
                next_header,
                payload,
                hop_limit,
                ..
            }) => {
                assert_eq!((next_header, payload, hop_limit), (112, &[9u8; 4][..], 255));
            }
            other => panic!("not IPv6: {other:?}"),
        }
    }

    const MCAST_DST: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];

    #[test]
    fn ah_wrapped_vrrp_counts_as_vrrp() {
        let mut ip = ipv4_header(24, 51);
        let c = crate::vrrp::checksum::Sum::default().add(&ip).finish();
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(&[112, 4, 0, 0]);
        assert!(IpPacket::V4(&ip).is_vrrp());
        assert_eq!(
            IpPacket::V4(&ip).decode_vrrp().map_err(|e| e.reason()),
            Err("auth_ah")
        );
    }
}

//! The VRRP wire format: v2 (RFC 3768) and v3 (RFC 5798 / RFC 9568).
//!
//! CONTRACT (the implementation is being written; keep these names):
//! - `Advert::encode(&self, src, dst) -> Vec<u8>`: the VRRP message, checksum included
//! - `Advert::encode_ipv4(&self, src, dst, ident) -> Vec<u8>`: a whole IPv4 datagram,
//!   TTL 255, TOS 0xc0, protocol 112, as keepalived 2.2.7 sends it
//! - `decode_ipv4(datagram) -> Result<Decoded, PacketError>`
//! - `decode_ipv6(src, dst, hop_limit, payload) -> Result<Decoded, PacketError>`

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;
/// TTL / hop limit every VRRP sender uses and multicast receivers require.
pub const TTL: u8 = 255;
/// The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    V2,
    V3,
}

/// v2 authentication (RFC 3768 §5.3.6). v3 has none.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Auth {
    None,
    /// Simple text password: 8 bytes on the wire, zero-padded.
    Pass([u8; 8]),
}

/// One advertisement, independent of the IP layer that carried it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds. v2 carries whole seconds on the
    /// wire, so a v2 advert always holds a multiple of 100 here.
    pub interval_cs: u16,
    /// v2 only; always `Auth::None` for v3.
    pub auth: Auth,
    /// The virtual addresses, all of the carrying IP family.
    pub addrs: Vec<IpAddr>,
}

/// An advert and the IP facts the checks need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decoded {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub advert: Advert,
}

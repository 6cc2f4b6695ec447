//! The VRRP wire format: v2 (RFC 3768) and v3 (RFC 5798 / RFC 9568).
//!
//! CONTRACT (keep these names):
//! - `Advert::encode(&self, src, dst) -> Vec<u8>`: the VRRP message, checksum included
//! - `Advert::encode_ipv4(&self, src, dst, ident) -> Vec<u8>`: a whole IPv4 datagram,
//!   TTL 255, TOS 0xc0, protocol 112, as keepalived 2.2.7 sends it
//! - `decode_ipv4(datagram) -> Result<Decoded, PacketError>`
//! - `decode_ipv6(src, dst, hop_limit, payload) -> Result<Decoded, PacketError>`
//!
//! The decoders make every check that needs no configuration; the ones that need
//! the receiving instance's config live in [`super::validate`]. References of the
//! form `vrrp.c:NNN` are to keepalived 2.2.7's `keepalived/vrrp/vrrp.c`.

use super::checksum::{self, Sum, pseudo_header};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;
/// IP protocol number of IPsec AH, which keepalived's v2 auth type 2 wraps VRRP in.
pub const PROTO_AH: u8 = 51;
/// TTL / hop limit every VRRP sender uses and multicast receivers require.
pub const TTL: u8 = 255;
/// The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TOS keepalived sets on IPv4 adverts: precedence "internetwork control".
pub const TOS: u8 = 0xc0;
/// Length of the fixed VRRP header, before the addresses.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data that follows the addresses (IPv4 only).
pub const AUTH_LEN: usize = 8;
/// Length of an IPv4 header without options, as keepalived sends it.
pub const IPV4_HEADER_LEN: usize = 20;
/// The largest v3 Max Adver Int: the field has 12 bits (RFC 5798 §5.2.7).
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;
/// The VRRP packet type of an advertisement, the only one defined.
const TYPE_ADVERT: u8 = 1;
/// v2 auth types (RFC 2338 §5.3.6; RFC 3768 keeps only 0).
const AUTH_NONE: u8 = 0;
const AUTH_PASS: u8 = 1;
const AUTH_AH: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    /// The number in the high nibble of the first byte.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// v2 authentication (RFC 3768 §5.3.6). v3 has none.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Auth {
    None,
    /// Simple text password: 8 bytes on the wire, zero-padded.
    Pass([u8; 8]),
}

impl Auth {
    /// A PASS password as keepalived stores `auth_pass`: the first 8 bytes,
    /// zero-padded (longer passwords are truncated, as keepalived does).
    pub fn pass(password: &[u8]) -> Auth {
        let mut data = [0u8; AUTH_LEN];
        for (d, s) in data.iter_mut().zip(password) {
            *d = *s;
        }
        Auth::Pass(data)
    }

    /// The auth type number on the wire.
    pub fn type_number(&self) -> u8 {
        match self {
            Auth::None => AUTH_NONE,
            Auth::Pass(_) => AUTH_PASS,
        }
    }
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
    /// A v3 IPv4 advert to a non-multicast address whose checksum is right only
    /// with 224.0.0.18 in the pseudo-header, as keepalived ≤ 1.3.6 sent unicast
    /// adverts. keepalived 2.2.7 (built with OLD_CHKSUM_COMPAT, as Debian's is)
    /// accepts these by default (vrrp.c:997-1016), so the decoder does too and
    /// [`super::validate`] decides with the instance's setting.
    #[serde(default)]
    pub legacy_checksum: bool,
}

/// Why a datagram is not a VRRP advertisement, before any configuration is
/// consulted. [`PacketError::reason`] names each for counters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("truncated IPv4 header: {len} bytes, need {need}")]
    TruncatedIpHeader { len: usize, need: usize },
    #[error("IP version {version}, expected 4")]
    NotIpv4 { version: u8 },
    #[error("IPv4 header length {ihl} words, below the minimum of 5")]
    BadIhl { ihl: u8 },
    #[error(
        "IPv4 total length {total_len} does not fit header {header_len} and {received} bytes received"
    )]
    BadTotalLength {
        total_len: u16,
        header_len: usize,
        received: usize,
    },
    #[error("bad IPv4 header checksum 0x{found:04x}, expected 0x{expected:04x}")]
    IpChecksum { expected: u16, found: u16 },
    #[error("IPv4 fragment (offset {offset}, more fragments {more}); VRRP is never fragmented")]
    Fragment { offset: u16, more: bool },
    #[error("IP protocol {protocol}, not VRRP (112)")]
    Protocol { protocol: u8 },
    #[error("IPsec AH-wrapped VRRP (IP protocol 51) is not supported")]
    AhHeader,
    #[error("truncated VRRP message: {len} bytes, the fixed header needs 8")]
    TruncatedMessage { len: usize },
    #[error("TTL/hop limit {ttl} on a multicast advert, must be 255")]
    Ttl { ttl: u8 },
    #[error("VRRP version {version}, expected 2 or 3")]
    Version { version: u8 },
    #[error("VRRPv2 over IPv6 (RFC 3768 is IPv4-only)")]
    V2OverIpv6,
    #[error("VRRP packet type {kind}, expected 1 (advertisement)")]
    Type { kind: u8 },
    #[error("VRRP message too short: {found} bytes, {count} addresses need {expected}")]
    TooShort {
        count: u8,
        expected: usize,
        found: usize,
    },
    #[error("VRRP message too long: {found} bytes, {count} addresses need {expected}")]
    TooLong {
        count: u8,
        expected: usize,
        found: usize,
    },
    #[error("bad VRRP checksum 0x{found:04x}, expected 0x{expected:04x}")]
    Checksum { expected: u16, found: u16 },
    #[error("advertisement interval 0")]
    ZeroInterval,
    #[error("v2 auth type 2 (IPsec AH) is not supported")]
    AuthAh,
    #[error("unknown v2 auth type {auth_type}")]
    UnknownAuthType { auth_type: u8 },
}

impl PacketError {
    /// A short stable name, for per-reason counters and test assertions.
    pub fn reason(&self) -> &'static str {
        match self {
            PacketError::TruncatedIpHeader { .. } => "ip_truncated",
            PacketError::NotIpv4 { .. } => "not_ipv4",
            PacketError::BadIhl { .. } => "ip_header_len",
            PacketError::BadTotalLength { .. } => "ip_total_len",
            PacketError::IpChecksum { .. } => "ip_checksum",
            PacketError::Fragment { .. } => "fragment",
            PacketError::Protocol { .. } => "protocol",
            PacketError::AhHeader | PacketError::AuthAh => "auth_ah",
            PacketError::TruncatedMessage { .. } => "truncated",
            PacketError::Ttl { .. } => "ttl",
            PacketError::Version { .. } => "version",
            PacketError::V2OverIpv6 => "v2_ipv6",
            PacketError::Type { .. } => "type",
            PacketError::TooShort { .. } => "too_short",
            PacketError::TooLong { .. } => "too_long",
            PacketError::Checksum { .. } => "checksum",
            PacketError::ZeroInterval => "interval_zero",
            PacketError::UnknownAuthType { .. } => "auth_type",
        }
    }
}

impl Advert {
    /// The VRRP message for `src` → `dst`, checksum included.
    ///
    /// The carrying family is `dst`'s: addresses of the other family are left
    /// out, and at most 255 are sent (the count is one byte; keepalived moves the
    /// excess to eVIPs, vrrp.c:3084). v2 over IPv4 carries 8 bytes of auth data
    /// and a checksum without pseudo-header (RFC 3768 §5.3.8); v3 has no auth and
    /// a checksum with the pseudo-header (RFC 5798 §5.2.8). v2 over IPv6 is what
    /// keepalived sends in non-strict mode: no auth data and the kernel's
    /// pseudo-header checksum (vrrp.c:1284); [`decode_ipv6`] rejects it.
    pub fn encode(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let addrs: Vec<&IpAddr> = self
            .addrs
            .iter()
            .filter(|a| a.is_ipv4() == dst.is_ipv4())
            .take(usize::from(u8::MAX))
            .collect();
        let count = u8::try_from(addrs.len()).unwrap_or(u8::MAX);
        let with_auth = self.version == Version::V2 && dst.is_ipv4();

        let mut msg = Vec::with_capacity(HEADER_LEN + addrs.len() * 16 + AUTH_LEN);
        msg.push((self.version.number() << 4) | TYPE_ADVERT);
        msg.push(self.vrid);
        msg.push(self.priority);
        msg.push(count);
        match self.version {
            Version::V2 => {
                msg.push(self.auth.type_number());
                // Whole seconds, truncated as keepalived does (vrrp.c:1258),
                // saturating where keepalived's u8 cast would wrap.
                msg.push(u8::try_from(self.interval_cs / 100).unwrap_or(u8::MAX));
            }
            Version::V3 => {
                // 4 reserved bits (zero), then 12 bits of centiseconds. Clamped
                // rather than masked: masking would turn 4096 into 0.
                let int = self.interval_cs.min(MAX_V3_INTERVAL_CS);
                msg.extend_from_slice(&int.to_be_bytes());
            }
        }
        msg.extend_from_slice(&[0, 0]); // checksum, filled below
        for a in &addrs {
            match a {
                IpAddr::V4(a) => msg.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => msg.extend_from_slice(&a.octets()),
            }
        }
        if with_auth {
            match &self.auth {
                Auth::None => msg.extend_from_slice(&[0; AUTH_LEN]),
                Auth::Pass(p) => msg.extend_from_slice(p),
            }
        }

        let checksum = checksum::vrrp(src, dst, &msg, !with_auth);
        msg[6..8].copy_from_slice(&checksum.to_be_bytes());
        msg
    }

    /// A whole IPv4 datagram as keepalived 2.2.7 builds it (vrrp.c:1162): no
    /// options, TOS 0xc0, ident `ident`, no fragmentation flags, TTL 255,
    /// protocol 112, header checksum, then [`Advert::encode`]'s message.
    pub fn encode_ipv4(&self, src: Ipv4Addr, dst: Ipv4Addr, ident: u16) -> Vec<u8> {
        let msg = self.encode(IpAddr::V4(src), IpAddr::V4(dst));
        let total = u16::try_from(IPV4_HEADER_LEN + msg.len()).unwrap_or(u16::MAX);
        let mut d = Vec::with_capacity(IPV4_HEADER_LEN + msg.len());
        d.push(0x45); // version 4, IHL 5
        d.push(TOS);
        d.extend_from_slice(&total.to_be_bytes());
        d.extend_from_slice(&ident.to_be_bytes());
        d.extend_from_slice(&[0, 0]); // flags, fragment offset
        d.push(TTL);
        d.push(PROTO_VRRP);
        d.extend_from_slice(&[0, 0]); // header checksum, filled below
        d.extend_from_slice(&src.octets());
        d.extend_from_slice(&dst.octets());
        let checksum = Sum::default().add(&d).finish();
        d[10..12].copy_from_slice(&checksum.to_be_bytes());
        d.extend_from_slice(&msg);
        d
    }
}

/// A message is at most 8 + 255 × 16 bytes, so its length always fits.
fn msg_len_u16(msg: &[u8]) -> u16 {
    u16::try_from(msg.len()).unwrap_or(u16::MAX)
}

/// Decodes a whole IPv4 datagram, as a raw socket returns it.
///
/// Bytes beyond the IPv4 total length (Ethernet padding of short frames) are
/// ignored; header options are skipped as IHL says. The kernel already drops
/// bad header checksums before a raw socket sees them, so that check matters
/// for captures. keepalived's own IPv4 checks are at vrrp.c:839 (length) and
/// vrrp.c:972 (total length vs received); it checks nothing about the source
/// address, and neither does this.
pub fn decode_ipv4(datagram: &[u8]) -> Result<Decoded, PacketError> {
    let header = datagram
        .get(..IPV4_HEADER_LEN)
        .ok_or(PacketError::TruncatedIpHeader {
            len: datagram.len(),
            need: IPV4_HEADER_LEN,
        })?;
    let version = header[0] >> 4;
    if version != 4 {
        return Err(PacketError::NotIpv4 { version });
    }
    let ihl = header[0] & 0x0f;
    if ihl < 5 {
        return Err(PacketError::BadIhl { ihl });
    }
    let header_len = usize::from(ihl) * 4;
    let header = datagram
        .get(..header_len)
        .ok_or(PacketError::TruncatedIpHeader {
            len: datagram.len(),
            need: header_len,
        })?;
    let total_len = u16::from_be_bytes([header[2], header[3]]);
    let datagram = match datagram.get(..usize::from(total_len)) {
        Some(d) if usize::from(total_len) >= header_len => d,
        _ => {
            return Err(PacketError::BadTotalLength {
                total_len,
                header_len,
                received: datagram.len(),
            });
        }
    };
    if Sum::default().add(header).finish() != 0 {
        let mut zeroed = header.to_vec();
        zeroed[10..12].copy_from_slice(&[0, 0]);
        return Err(PacketError::IpChecksum {
            expected: Sum::default().add(&zeroed).finish(),
            found: u16::from_be_bytes([header[10], header[11]]),
        });
    }
    let frag = u16::from_be_bytes([header[6], header[7]]);
    let (more, offset) = (frag & 0x2000 != 0, frag & 0x1fff);
    if more || offset != 0 {
        return Err(PacketError::Fragment { offset, more });
    }
    match header[9] {
        PROTO_VRRP => {}
        PROTO_AH => return Err(PacketError::AhHeader),
        protocol => return Err(PacketError::Protocol { protocol }),
    }
    let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
    let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
    decode_message(
        IpAddr::V4(src),
        IpAddr::V4(dst),
        header[8],
        &datagram[header_len..],
    )
}

/// Decodes a VRRP message received over IPv6: the kernel has stripped the IPv6
/// header, so the addresses and hop limit come from the socket's ancillary data.
///
/// keepalived checks no IPv6 source property: RFC 5798 §5.1.2.1 has senders use
/// their link-local address, but neither §7.1 nor vrrp.c verifies it on receipt.
pub fn decode_ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    payload: &[u8],
) -> Result<Decoded, PacketError> {
    decode_message(IpAddr::V6(src), IpAddr::V6(dst), hop_limit, payload)
}

/// Decodes the VRRP message `msg` carried from `src` to `dst` with `ttl`; the
/// shared back half of [`decode_ipv4`] and [`decode_ipv6`].
///
/// Checks, in order: fixed header present, version, v2 not over IPv6, type,
/// length against the address count, TTL, v2 auth type, checksum, interval.
/// The length must match exactly: keepalived 2.2.7 drops a packet with bytes
/// after the addresses (and auth data) just as one cut short — "vrrp packet too
/// long" (vrrp.c:839-846), so trailing bytes inside the IP payload are an error
/// (Ethernet padding never reaches this point: it is outside the IP length).
/// A count of 0 is accepted in both versions: vrrp_check_packet() has no lower
/// bound (only a mismatch with the instance's VIP count, a config check), and
/// RFC 5798 §5.2.5's minimum of 1 is enforced by keepalived on its own config
/// only (vrrp.c:2895-2901).
pub fn decode_message(
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    msg: &[u8],
) -> Result<Decoded, PacketError> {
    let Some(&[vers_type, vrid, priority, count, b4, b5, _, _]) = msg.get(..HEADER_LEN) else {
        return Err(PacketError::TruncatedMessage { len: msg.len() });
    };
    let version = match vers_type >> 4 {
        2 => Version::V2,
        3 => Version::V3,
        version => return Err(PacketError::Version { version }),
    };
    if version == Version::V2 && dst.is_ipv6() {
        return Err(PacketError::V2OverIpv6);
    }
    let kind = vers_type & 0x0f;
    if kind != TYPE_ADVERT {
        return Err(PacketError::Type { kind });
    }

    let addr_len = if dst.is_ipv4() { 4 } else { 16 };
    let auth_len = if version == Version::V2 { AUTH_LEN } else { 0 };
    let expected = HEADER_LEN + usize::from(count) * addr_len + auth_len;
    if msg.len() != expected {
        let (expected, found) = (expected, msg.len());
        return Err(if found < expected {
            PacketError::TooShort {
                count,
                expected,
                found,
            }
        } else {
            PacketError::TooLong {
                count,
                expected,
                found,
            }
        });
    }

    // RFC 5798 §7.1 wants 255 always; keepalived skips the check for unicast
    // instances (vrrp.c:850) and drops multicast packets on those and unicast
    // ones on multicast instances (vrrp.c:1061), so in effect only multicast
    // adverts are TTL-checked.
    if dst.is_multicast() && ttl != TTL {
        return Err(PacketError::Ttl { ttl });
    }

    let auth = match version {
        Version::V3 => Auth::None,
        Version::V2 => match b4 {
            AUTH_NONE => Auth::None,
            AUTH_PASS => {
                let mut data = [0u8; AUTH_LEN];
                data.copy_from_slice(&msg[expected - AUTH_LEN..]);
                Auth::Pass(data)
            }
            AUTH_AH => return Err(PacketError::AuthAh),
            auth_type => return Err(PacketError::UnknownAuthType { auth_type }),
        },
    };

    let legacy_checksum = verify_checksum(version, src, dst, msg)?;

    let interval_cs = match version {
        Version::V2 => u16::from(b5) * 100,
        // The 4 high bits are reserved: ignored on receipt (RFC 5798 §5.2.6),
        // as keepalived masks them (vrrp.c:1944, 2209).
        Version::V3 => u16::from_be_bytes([b4, b5]) & MAX_V3_INTERVAL_CS,
    };
    // keepalived does not check this: a v2 0 fails the config's interval match
    // anyway, and a v3 0 would be adopted as Master_Adver_Interval, leaving a
    // Backup's Master_Down_Interval at its skew time alone. No sane sender
    // produces it, so vigil drops it here (a deliberate difference).
    if interval_cs == 0 {
        return Err(PacketError::ZeroInterval);
    }

    let addrs = msg[HEADER_LEN..HEADER_LEN + usize::from(count) * addr_len]
        .chunks_exact(addr_len)
        .map(|a| match <[u8; 4]>::try_from(a) {
            Ok(v4) => IpAddr::from(v4),
            Err(_) => {
                let mut v6 = [0u8; 16];
                v6.copy_from_slice(a);
                IpAddr::from(v6)
            }
        })
        .collect();

    Ok(Decoded {
        src,
        dst,
        ttl,
        advert: Advert {
            version,
            vrid,
            priority,
            interval_cs,
            auth,
            addrs,
        },
        legacy_checksum,
    })
}

/// Checks the message checksum the way keepalived does: the sum over the
/// message, checksum field included, must come out zero (vrrp.c:997, 1038).
/// Returns whether only the legacy unicast form matched (see
/// [`Decoded::legacy_checksum`]).
fn verify_checksum(
    version: Version,
    src: IpAddr,
    dst: IpAddr,
    msg: &[u8],
) -> Result<bool, PacketError> {
    let base = match version {
        // RFC 3768 §5.3.8: v2 sums the message alone.
        Version::V2 => Sum::default(),
        Version::V3 => pseudo_header(src, dst, msg_len_u16(msg)),
    };
    if base.add(msg).finish() == 0 {
        return Ok(false);
    }
    let legacy_dst = IpAddr::V4(MCAST_V4);
    if version == Version::V3 && dst.is_ipv4() && !dst.is_multicast() {
        let legacy = pseudo_header(src, legacy_dst, msg_len_u16(msg));
        if legacy.add(msg).finish() == 0 {
            return Ok(true);
        }
    }
    let mut zeroed = msg.to_vec();
    zeroed[6..8].copy_from_slice(&[0, 0]);
    Err(PacketError::Checksum {
        expected: base.add(&zeroed).finish(),
        found: u16::from_be_bytes([msg[6], msg[7]]),
    })
}

impl fmt::Display for Advert {
    /// One line for the CLI, e.g.
    /// `v3 vrid 51 prio 150 int 0.50s addrs 10.77.0.100 auth none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v{} vrid {} prio {} int {}.{:02}s addrs ",
            self.version.number(),
            self.vrid,
            self.priority,
            self.interval_cs / 100,
            self.interval_cs % 100
        )?;
        if self.addrs.is_empty() {
            f.write_str("-")?;
        }
        for (i, a) in self.addrs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}")?;
        }
        match &self.auth {
            Auth::None => f.write_str(" auth none"),
            Auth::Pass(p) => {
                let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
                write!(f, " auth pass \"{}\"", p[..end].escape_ascii())
            }
        }
    }
}

#[cfg(test)]
mod tests;

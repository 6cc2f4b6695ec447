//! PING_CHECK as keepalived's `check_ping.c` does it: one ICMP (IPv4) or
//! ICMPv6 echo request with 128 bytes of filler; an echo reply within
//! `connect_timeout` passes.
//!
//! keepalived uses the kernel's ping sockets (SOCK_DGRAM, IPPROTO_ICMP),
//! widening `net.ipv4.ping_group_range` to be allowed to. Changing a sysctl
//! for the whole namespace is not a probe's business: when the range
//! refuses the socket, a raw socket is used instead (the daemon runs as
//! root), which sees all ICMP traffic and so matches replies by source,
//! identifier and sequence itself, and fails on a destination unreachable
//! that quotes the request.

use super::{Step, configure, failed, filler};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::net::UdpSocket;
use tokio::time::Instant;
use vigil_core::check::{Conn, ProbeResult};

/// keepalived's ICMP_BUFSIZE: the payload of the request.
const PAYLOAD_LEN: usize = 128;
const RECV_LEN: usize = 2048;
const IPV6_HEADER_LEN: usize = 40;

/// Sequence numbers, shared by all probes of the process like keepalived's.
static SEQ: AtomicU16 = AtomicU16::new(0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A ping socket: the kernel picks the identifier and passes us only
    /// the replies to it, without IP header.
    Datagram,
    /// A raw socket: every ICMP message, IPv4 ones with their IP header.
    Raw,
}

/// What one received message says about our request.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Reply,
    Unreachable(u8),
    Other,
}

pub(super) async fn probe(conn: &Conn) -> Step<ProbeResult> {
    let kind = match open(conn, Kind::Datagram) {
        Ok(s) => return exchange(conn, s, Kind::Datagram).await,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Kind::Raw,
        Err(e) => return Err(failed("ICMP socket", e)),
    };
    tracing::debug!("ping: ping_group_range refuses us, using a raw socket");
    probe_with(conn, kind).await
}

async fn probe_with(conn: &Conn, kind: Kind) -> Step<ProbeResult> {
    let sock = open(conn, kind).map_err(|e| failed("ICMP socket", e))?;
    exchange(conn, sock, kind).await
}

fn open(conn: &Conn, kind: Kind) -> std::io::Result<Socket> {
    let (domain, proto) = match conn.dst {
        SocketAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        SocketAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let ty = match kind {
        Kind::Datagram => Type::DGRAM,
        Kind::Raw => Type::RAW,
    };
    Socket::new(domain, ty, Some(proto))
}

async fn exchange(conn: &Conn, sock: Socket, kind: Kind) -> Step<ProbeResult> {
    // The "port" of a ping socket is its identifier: bind the address only.
    let local = Conn {
        bind_port: None,
        ..conn.clone()
    };
    configure(&sock, &local)?;
    let v6 = conn.dst.is_ipv6();
    if kind == Kind::Datagram {
        // Destination unreachable then fails the receive instead of
        // leaving us to time out.
        use nix::sys::socket::{setsockopt, sockopt};
        let set = if v6 {
            setsockopt(&sock, sockopt::Ipv6RecvErr, &true)
        } else {
            setsockopt(&sock, sockopt::Ipv4RecvErr, &true)
        };
        set.map_err(|e| failed("IP_RECVERR", e))?;
    }
    // tokio has no ICMP socket type; a datagram socket's send_to/recv_from
    // are the same system calls.
    let sock = UdpSocket::from_std(sock.into()).map_err(|e| failed("socket", e))?;
    let id = std::process::id() as u16;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut to = conn.dst;
    to.set_port(0);
    let deadline = Instant::now() + conn.connect_timeout;
    sock.send_to(&echo_request(v6, id, seq), to)
        .await
        .map_err(|e| failed("send", e))?;
    let mut buf = vec![0u8; RECV_LEN];
    // Only a raw socket needs the identifier checked, and the IPv4 header skipped.
    let (want_id, ip_header) = match kind {
        Kind::Datagram => (None, false),
        Kind::Raw => (Some(id), !v6),
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (len, from) = super::timed(left, "receive", sock.recv_from(&mut buf)).await?;
        let msg = if ip_header {
            strip_ipv4_header(&buf[..len])
        } else {
            Some(&buf[..len])
        };
        let seen = msg.map_or(Seen::Other, |m| classify(v6, m, want_id, seq));
        match seen {
            Seen::Reply if kind == Kind::Datagram || from.ip() == conn.dst.ip() => {
                return Ok(ProbeResult::Ok);
            }
            Seen::Unreachable(code) => {
                return Ok(ProbeResult::Failed(format!(
                    "destination unreachable (code {code}) from {}",
                    from.ip()
                )));
            }
            _ => {}
        }
    }
}

fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&filler(PAYLOAD_LEN));
    if !v6 {
        // ICMPv6 checksums cover a pseudo-header: the kernel fills them in.
        let sum = checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    m
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn strip_ipv4_header(packet: &[u8]) -> Option<&[u8]> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    packet.get(ihl..)
}

/// Whether `icmp` is the reply to our echo (`id` checked when given), a
/// destination unreachable quoting it, or something else.
fn classify(v6: bool, icmp: &[u8], id: Option<u16>, seq: u16) -> Seen {
    let (reply, unreach, request) = if v6 { (129, 1, 128) } else { (0, 3, 8) };
    let ours = |echo: &[u8], ty: u8| {
        echo.len() >= 8
            && echo[0] == ty
            && u16::from_be_bytes([echo[6], echo[7]]) == seq
            && id.is_none_or(|id| u16::from_be_bytes([echo[4], echo[5]]) == id)
    };
    let Some(&ty) = icmp.first() else {
        return Seen::Other;
    };
    if ty == reply && ours(icmp, reply) {
        return Seen::Reply;
    }
    if ty == unreach && icmp.len() > 8 {
        // The quoted request follows the 8-byte ICMP header, after the
        // original IP header.
        let inner = &icmp[8..];
        let quoted = if v6 {
            inner.get(IPV6_HEADER_LEN..)
        } else {
            strip_ipv4_header(inner)
        };
        if quoted.is_some_and(|q| ours(q, request)) {
            return Seen::Unreachable(icmp[1]);
        }
    }
    Seen::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_request_carries_a_valid_checksum() {
        let m = echo_request(false, 0x1234, 7);
        assert_eq!(m.len(), 8 + PAYLOAD_LEN);
        assert_eq!(&m[..2], &[8, 0]);
        assert_eq!(&m[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(checksum(&m), 0, "a message with its checksum sums to zero");
        assert_eq!(&m[8..27], b"keepalived check - ");
    }

    #[test]
    fn checksum_of_rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2, complemented 220d.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn reply_matches_sequence_and_identifier() {
        let mut r = echo_request(false, 9, 5);
        r[0] = 0;
        assert_eq!(classify(false, &r, Some(9), 5), Seen::Reply);
        assert_eq!(classify(false, &r, None, 5), Seen::Reply);
        assert_eq!(classify(false, &r, Some(8), 5), Seen::Other);
        assert_eq!(classify(false, &r, Some(9), 6), Seen::Other);
        // Our own request, as a raw socket on loopback sees it.
        assert_eq!(
            classify(false, &echo_request(false, 9, 5), Some(9), 5),
            Seen::Other
        );
    }

    #[test]
    fn unreachable_quoting_our_request_is_recognised() {
        let ip = [
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let mut icmp = vec![3, 1, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&ip);
        icmp.extend_from_slice(&echo_request(false, 9, 5)[..8]);
        assert_eq!(classify(false, &icmp, Some(9), 5), Seen::Unreachable(1));
        assert_eq!(classify(false, &icmp, Some(9), 4), Seen::Other);

        let mut icmp6 = vec![1, 4, 0, 0, 0, 0, 0, 0];
        icmp6.extend_from_slice(&[0; IPV6_HEADER_LEN]);
        icmp6.extend_from_slice(&echo_request(true, 9, 5)[..8]);
        assert_eq!(classify(true, &icmp6, Some(9), 5), Seen::Unreachable(4));
    }

    #[test]
    fn ipv4_header_length_comes_from_ihl() {
        let mut p = vec![0x46; 24];
        p.push(0xaa);
        assert_eq!(strip_ipv4_header(&p), Some(&[0xaa][..]));
        assert_eq!(strip_ipv4_header(&[]), None);
        assert_eq!(strip_ipv4_header(&[0x4f]), None);
    }
}

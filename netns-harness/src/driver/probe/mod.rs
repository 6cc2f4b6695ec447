//! Checker IO: runs the one probe a [`ProbeSpec`] describes and reports a
//! [`ProbeResult`] for the core's [`vigil_core::check::Checker`].
//!
//! Each kind does on the wire what keepalived 2.2.7's `check_*.c` does, so a
//! real server judged healthy by keepalived is judged healthy here. Every
//! wait is bounded by the probe's `connect_timeout` (per step, as keepalived
//! re-arms its timer for each read and write); an expired wait is
//! [`ProbeResult::Timeout`], any other error [`ProbeResult::Failed`].

mod dns;
mod http;
mod misc;
mod ping;
mod smtp;
mod tcp;
mod tls;
mod udp;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::fmt::Display;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use vigil_core::check::{Conn, ProbeResult, ProbeSpec};

/// Runs one probe to completion.
pub async fn run(spec: &ProbeSpec) -> ProbeResult {
    let step = match spec {
        ProbeSpec::Tcp { conn } => tcp::probe(conn).await,
        ProbeSpec::Http {
            conn,
            tls,
            url,
            http_protocol,
            enable_sni,
        } => {
            let req = http::Request {
                url,
                protocol: http_protocol.as_deref(),
                tls: *tls,
                enable_sni: *enable_sni,
            };
            http::probe(conn, &req).await
        }
        ProbeSpec::Smtp { conn, helo_name } => smtp::probe(conn, helo_name).await,
        ProbeSpec::Dns {
            conn,
            query_type,
            name,
        } => dns::probe(conn, query_type, name).await,
        ProbeSpec::Ping { conn } => ping::probe(conn).await,
        ProbeSpec::Udp {
            conn,
            payload,
            require_reply,
            min_reply_length,
            max_reply_length,
        } => {
            let check = udp::Check {
                payload: payload.as_deref(),
                require_reply: require_reply.as_deref(),
                min_reply_length: *min_reply_length,
                max_reply_length: *max_reply_length,
            };
            udp::probe(conn, &check).await
        }
        ProbeSpec::Misc { script, timeout } => misc::probe(script, *timeout).await,
    };
    let result = step.unwrap_or_else(|end| end);
    tracing::debug!(?spec, ?result, "probe done");
    result
}

/// One step of a probe: `Err` carries the result that ends the probe early,
/// so the steps chain with `?`.
pub(crate) type Step<T> = Result<T, ProbeResult>;

/// A failure whose reason names the step that failed.
pub(crate) fn failed(what: &str, err: impl Display) -> ProbeResult {
    ProbeResult::Failed(format!("{what}: {err}"))
}

/// Awaits `io` for at most `limit`.
pub(crate) async fn timed<T>(
    limit: Duration,
    what: &str,
    io: impl Future<Output = io::Result<T>>,
) -> Step<T> {
    match tokio::time::timeout(limit, io).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(failed(what, e)),
        Err(_) => Err(ProbeResult::Timeout),
    }
}

/// The local address to bind, if any. keepalived ignores `bind_port`
/// without `bindto`; here it binds the wildcard address of that port,
/// which is what the option asks for.
fn bind_addr(conn: &Conn) -> Option<SocketAddr> {
    let port = conn.bind_port.unwrap_or(0);
    match conn.bindto {
        Some(ip) => Some(SocketAddr::new(ip, port)),
        None if port != 0 => Some(SocketAddr::new(unspecified(conn.dst.ip()), port)),
        None => None,
    }
}

fn unspecified(like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// A non-blocking socket towards `conn.dst`, [`configure`]d.
pub(crate) fn socket(conn: &Conn, ty: Type, proto: Protocol) -> Step<Socket> {
    let sock = Socket::new(Domain::for_address(conn.dst), ty, Some(proto))
        .map_err(|e| failed("socket", e))?;
    configure(&sock, conn)?;
    Ok(sock)
}

/// Applies the connection options in keepalived's order
/// (`socket_bind_connect`): SO_MARK (fwmark, so policy routing can pick the
/// real server's path), SO_BINDTODEVICE (bind_if), then bind (bindto,
/// bind_port); and makes the socket non-blocking for tokio.
pub(crate) fn configure(sock: &Socket, conn: &Conn) -> Step<()> {
    sock.set_nonblocking(true)
        .map_err(|e| failed("socket", e))?;
    if let Some(mark) = conn.fwmark {
        sock.set_mark(mark)
            .map_err(|e| failed(&format!("fwmark {mark}"), e))?;
    }
    if let Some(dev) = &conn.bind_if {
        sock.bind_device(Some(dev.as_bytes()))
            .map_err(|e| failed(&format!("bind_if {dev}"), e))?;
    }
    if let Some(local) = bind_addr(conn) {
        if local.port() != 0 {
            // A fixed source port is reused every delay_loop while the
            // previous connection may be in TIME_WAIT: without this even
            // net.ipv4.tcp_tw_reuse could not help.
            sock.set_reuse_address(true)
                .map_err(|e| failed("SO_REUSEADDR", e))?;
        }
        sock.bind(&SockAddr::from(local))
            .map_err(|e| failed(&format!("bind {local}"), e))?;
    }
    Ok(())
}

/// A TCP connection to `conn.dst`, established within `connect_timeout`.
pub(crate) async fn connect_tcp(conn: &Conn) -> Step<TcpStream> {
    let sock = socket(conn, Type::STREAM, Protocol::TCP)?;
    let sock = TcpSocket::from_std_stream(sock.into());
    timed(conn.connect_timeout, "connect", sock.connect(conn.dst)).await
}

/// A UDP socket connected to `conn.dst`, with IP_RECVERR/IPV6_RECVERR set so
/// that an ICMP destination unreachable (not only port unreachable) fails
/// the next receive, as keepalived's `udp_bind_connect` arranges.
pub(crate) fn connect_udp(conn: &Conn) -> Step<UdpSocket> {
    use nix::sys::socket::{setsockopt, sockopt};
    let sock = socket(conn, Type::DGRAM, Protocol::UDP)?;
    let recverr = match conn.dst {
        SocketAddr::V4(_) => setsockopt(&sock, sockopt::Ipv4RecvErr, &true),
        SocketAddr::V6(_) => setsockopt(&sock, sockopt::Ipv6RecvErr, &true),
    };
    recverr.map_err(|e| failed("IP_RECVERR", e))?;
    sock.connect(&SockAddr::from(conn.dst))
        .map_err(|e| failed("connect", e))?;
    UdpSocket::from_std(sock.into()).map_err(|e| failed("socket", e))
}

/// What keepalived sends when it has nothing to say (`set_buf`): its
/// banner repeated, so no stale memory goes on the wire.
pub(crate) fn filler(len: usize) -> Vec<u8> {
    b"keepalived check - "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(dst: &str) -> Conn {
        Conn {
            dst: dst.parse().expect("test address"),
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn filler_repeats_keepalived_banner() {
        assert_eq!(filler(32), b"keepalived check - keepalived ch");
        assert!(filler(0).is_empty());
    }

    #[test]
    fn bind_port_alone_binds_the_wildcard_of_the_destination_family() {
        let mut c = conn("[::1]:80");
        assert_eq!(bind_addr(&c), None);
        c.bind_port = Some(4000);
        assert_eq!(bind_addr(&c), Some("[::]:4000".parse().expect("addr")));
        c.bindto = Some("::2".parse().expect("ip"));
        assert_eq!(bind_addr(&c), Some("[::2]:4000".parse().expect("addr")));
    }

    #[test]
    fn socket_carries_fwmark_and_device() {
        let mut c = conn("127.0.0.1:80");
        c.fwmark = Some(0x2a);
        c.bind_if = Some("lo".into());
        if !is_root() {
            println!("SKIPPED: SO_MARK and SO_BINDTODEVICE need CAP_NET_ADMIN/CAP_NET_RAW");
            return;
        }
        let s = socket(&c, Type::STREAM, Protocol::TCP).expect("socket");
        assert_eq!(s.mark().expect("mark"), 0x2a);
        assert_eq!(s.device().expect("device").as_deref(), Some(&b"lo"[..]));
    }

    #[test]
    fn unknown_device_fails_with_its_name() {
        let mut c = conn("127.0.0.1:80");
        c.bind_if = Some("nosuchdev0".into());
        match socket(&c, Type::STREAM, Protocol::TCP) {
            Err(ProbeResult::Failed(why)) => assert!(why.contains("nosuchdev0"), "{why}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }
}

//! UDP_CHECK against an echo server, a silent one and a closed port.

use crate::support::conn;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use vigil_core::check::{ProbeResult, ProbeSpec};
use vigil_netns::driver::probe::run;

/// Receives one datagram and echoes it unless `echo` is false; yields it,
/// and the socket, which stays open (silent) while the test holds it.
async fn peer(bind: &str, echo: bool) -> (SocketAddr, JoinHandle<(Vec<u8>, UdpSocket)>) {
    let s = UdpSocket::bind(bind).await.expect("bind");
    let a = s.local_addr().expect("addr");
    let h = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        let (n, from) = s.recv_from(&mut buf).await.expect("recv");
        if echo {
            let _ = s.send_to(&buf[..n], from).await;
        }
        (buf[..n].to_vec(), s)
    });
    (a, h)
}

fn spec(
    dst: SocketAddr,
    timeout_ms: u64,
    payload: Option<&str>,
    require_reply: Option<&str>,
    max: Option<u32>,
) -> ProbeSpec {
    ProbeSpec::Udp {
        conn: conn(dst, timeout_ms),
        payload: payload.map(str::to_string),
        require_reply: require_reply.map(str::to_string),
        min_reply_length: None,
        max_reply_length: max,
    }
}

#[tokio::test]
async fn echoed_payload_matches_required_reply() {
    let (addr, server) = peer("127.0.0.1:0", true).await;
    let s = spec(addr, 2000, Some("48 45 4c 4c 4f"), Some("48 45 4x"), None);
    assert_eq!(run(&s).await, ProbeResult::Ok);
    assert_eq!(server.await.expect("peer").0, b"HELLO");
}

#[tokio::test]
async fn reply_that_differs_fails() {
    let (addr, _s) = peer("127.0.0.1:0", true).await;
    let s = spec(addr, 2000, Some("48454c4c4f"), Some("4849"), None);
    let result = run(&s).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("byte 1")),
        "{result:?}"
    );
}

#[tokio::test]
async fn reply_longer_than_max_fails() {
    let (addr, _s) = peer("127.0.0.1:0", true).await;
    let s = spec(addr, 2000, Some("48454c4c4f"), Some("48"), Some(3));
    let result = run(&s).await;
    assert!(matches!(result, ProbeResult::Failed(_)), "{result:?}");
}

#[tokio::test]
async fn closed_port_fails() {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = s.local_addr().expect("addr");
    drop(s);
    let start = Instant::now();
    let result = run(&spec(addr, 3000, None, None, None)).await;
    assert!(matches!(result, ProbeResult::Failed(_)), "{result:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "port unreachable, not a timeout"
    );
}

#[tokio::test]
async fn silence_passes_without_require_reply_and_filler_is_sent() {
    let (addr, server) = peer("127.0.0.1:0", false).await;
    let result = run(&spec(addr, 300, None, None, None)).await;
    let (got, _open) = server.await.expect("peer");
    assert_eq!(result, ProbeResult::Ok);
    assert_eq!(got, b"keepalived check - keepalived ch");
}

#[tokio::test]
async fn silence_times_out_with_require_reply() {
    let (addr, server) = peer("127.0.0.1:0", false).await;
    let result = run(&spec(addr, 300, None, Some(""), None)).await;
    let (_got, _open) = server.await.expect("peer");
    assert_eq!(result, ProbeResult::Timeout);
}

#[tokio::test]
async fn echo_over_ipv6() {
    let (addr, _s) = peer("[::1]:0", true).await;
    let s = spec(addr, 2000, Some("01 02 03"), Some("01"), None);
    assert_eq!(run(&s).await, ProbeResult::Ok);
}

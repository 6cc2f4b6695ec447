//! DNS_CHECK against a hand-built UDP responder.

use crate::support::conn;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use vigil_core::check::{ProbeResult, ProbeSpec};
use vigil_netns::driver::probe::run;

/// What the responder sends back for a query.
#[derive(Clone, Copy)]
enum Reply {
    /// A response with one A record and this RCODE.
    Answer {
        rcode: u8,
    },
    /// First a response with another id, then the right one.
    ForeignThenAnswer,
    Silence,
}

/// A responder for one query; yields the query it got.
async fn responder(bind: &str, reply: Reply) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let s = UdpSocket::bind(bind).await.expect("bind");
    let a = s.local_addr().expect("addr");
    let h = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        let (n, peer) = s.recv_from(&mut buf).await.expect("recv");
        let query = buf[..n].to_vec();
        let answer = |id: [u8; 2], rcode: u8| {
            // Header: id, QR|RD|RA + rcode, 1 question, 1 answer.
            let mut m = vec![id[0], id[1], 0x81, 0x80 | rcode, 0, 1, 0, 1, 0, 0, 0, 0];
            m.extend_from_slice(&query[12..]);
            // Answer: pointer to the question name, A, IN, TTL 60, 4 bytes.
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
            m
        };
        let id = [query[0], query[1]];
        match reply {
            Reply::Answer { rcode } => {
                let _ = s.send_to(&answer(id, rcode), peer).await;
            }
            Reply::ForeignThenAnswer => {
                let _ = s.send_to(&answer([!id[0], id[1]], 0), peer).await;
                let _ = s.send_to(&answer(id, 0), peer).await;
            }
            Reply::Silence => tokio::time::sleep(Duration::from_secs(30)).await,
        }
        query
    });
    (a, h)
}

fn spec(dst: SocketAddr, timeout_ms: u64, qtype: &str, name: &str) -> ProbeSpec {
    ProbeSpec::Dns {
        conn: conn(dst, timeout_ms),
        query_type: qtype.into(),
        name: name.into(),
    }
}

#[tokio::test]
async fn response_with_the_query_id_passes_and_query_is_well_formed() {
    let (addr, server) = responder("127.0.0.1:0", Reply::Answer { rcode: 0 }).await;
    let result = run(&spec(addr, 2000, "aaaa", "www.example.org")).await;
    assert_eq!(result, ProbeResult::Ok);
    let q = server.await.expect("responder");
    // RD set, one question; QNAME, QTYPE AAAA (28), QCLASS IN.
    assert_eq!(&q[2..12], &[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&q[12..], b"\x03www\x07example\x03org\x00\x00\x1c\x00\x01");
}

#[tokio::test]
async fn error_rcode_fails() {
    let (addr, _s) = responder("127.0.0.1:0", Reply::Answer { rcode: 3 }).await;
    let result = run(&spec(addr, 2000, "A", "gone.example")).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("rcode 3")),
        "{result:?}"
    );
}

#[tokio::test]
async fn response_with_another_id_is_skipped() {
    let (addr, _s) = responder("127.0.0.1:0", Reply::ForeignThenAnswer).await;
    assert_eq!(run(&spec(addr, 2000, "SOA", "")).await, ProbeResult::Ok);
}

#[tokio::test]
async fn silence_times_out() {
    let (addr, _s) = responder("127.0.0.1:0", Reply::Silence).await;
    let start = Instant::now();
    assert_eq!(
        run(&spec(addr, 400, "A", "x.example")).await,
        ProbeResult::Timeout
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn closed_port_fails_at_once() {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = s.local_addr().expect("addr");
    drop(s);
    let start = Instant::now();
    let result = run(&spec(addr, 3000, "A", "x.example")).await;
    assert!(matches!(result, ProbeResult::Failed(_)), "{result:?}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "port unreachable, not a timeout"
    );
}

#[tokio::test]
async fn over_ipv6() {
    let (addr, _s) = responder("[::1]:0", Reply::Answer { rcode: 0 }).await;
    assert_eq!(
        run(&spec(addr, 2000, "MX", "example.org.")).await,
        ProbeResult::Ok
    );
}

#[tokio::test]
async fn unknown_query_type_fails() {
    let (addr, _s) = responder("127.0.0.1:0", Reply::Answer { rcode: 0 }).await;
    let result = run(&spec(addr, 2000, "SRV", "x.example")).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("SRV")),
        "{result:?}"
    );
}

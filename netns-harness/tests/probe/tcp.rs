//! TCP_CHECK: connect, nothing more.

use crate::require_root;
use crate::support::conn;
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use vigil_core::check::{ProbeResult, ProbeSpec};
use vigil_netns::driver::probe::run;

async fn listener(addr: &str) -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind(addr).await.expect("bind listener");
    let a = l.local_addr().expect("local addr");
    (l, a)
}

#[tokio::test]
async fn connect_to_a_listener_passes() {
    let (l, addr) = listener("127.0.0.1:0").await;
    let result = run(&ProbeSpec::Tcp {
        conn: conn(addr, 2000),
    })
    .await;
    assert_eq!(result, ProbeResult::Ok);
    let accepted = tokio::time::timeout(Duration::from_secs(1), l.accept()).await;
    assert!(matches!(accepted, Ok(Ok(_))), "the probe really connected");
}

#[tokio::test]
async fn connect_over_ipv6_passes() {
    let (_l, addr) = listener("[::1]:0").await;
    let result = run(&ProbeSpec::Tcp {
        conn: conn(addr, 2000),
    })
    .await;
    assert_eq!(result, ProbeResult::Ok);
}

#[tokio::test]
async fn refused_connection_fails() {
    let (l, addr) = listener("127.0.0.1:0").await;
    drop(l);
    let result = run(&ProbeSpec::Tcp {
        conn: conn(addr, 2000),
    })
    .await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("connect")),
        "{result:?}"
    );
}

/// A listener whose accept queue is full drops SYNs, so the connect
/// hangs until connect_timeout.
#[tokio::test]
async fn unanswered_syn_times_out_after_connect_timeout() {
    let server = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    server.bind(&any.into()).expect("bind");
    server.listen(0).expect("listen");
    let addr = server
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet");
    let fillers: Vec<Socket> = (0..4)
        .map(|_| {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
            s.set_nonblocking(true).expect("nonblocking");
            let _ = s.connect(&addr.into());
            s
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let result = run(&ProbeSpec::Tcp {
        conn: conn(addr, 400),
    })
    .await;
    let took = start.elapsed();
    assert_eq!(result, ProbeResult::Timeout);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "{took:?}"
    );
    drop(fillers);
}

#[tokio::test]
async fn source_address_and_port_are_bound() {
    let (l, addr) = listener("127.0.0.1:0").await;
    let port = {
        let probe = std::net::UdpSocket::bind("127.0.0.2:0").expect("find a free port");
        probe.local_addr().expect("addr").port()
    };
    let mut c = conn(addr, 2000);
    c.bindto = Some("127.0.0.2".parse().expect("ip"));
    c.bind_port = Some(port);
    assert_eq!(
        run(&ProbeSpec::Tcp { conn: c.clone() }).await,
        ProbeResult::Ok
    );
    let (_s, peer) = l.accept().await.expect("accept");
    assert_eq!(
        peer,
        SocketAddr::new("127.0.0.2".parse().expect("ip"), port)
    );
    // The probe closed first, so its side is in TIME_WAIT. With
    // SO_REUSEADDR the port can be bound again, and with tcp_tw_reuse
    // (loopback-only by default) the same connection can be made a second
    // later.
    let tw_reuse = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_tw_reuse").unwrap_or_default();
    if tw_reuse.trim() == "0" {
        println!("SKIPPED (second probe): net.ipv4.tcp_tw_reuse is 0");
        return;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(run(&ProbeSpec::Tcp { conn: c }).await, ProbeResult::Ok);
}

#[tokio::test]
async fn bindto_of_another_family_fails() {
    let (_l, addr) = listener("127.0.0.1:0").await;
    let mut c = conn(addr, 2000);
    c.bindto = Some("::1".parse().expect("ip"));
    let result = run(&ProbeSpec::Tcp { conn: c }).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("bind")),
        "{result:?}"
    );
}

#[tokio::test]
async fn bind_if_and_fwmark_are_applied() {
    require_root!("SO_BINDTODEVICE and SO_MARK");
    let (_l, addr) = listener("127.0.0.1:0").await;
    let mut c = conn(addr, 2000);
    c.bind_if = Some("lo".into());
    c.fwmark = Some(7);
    assert_eq!(
        run(&ProbeSpec::Tcp { conn: c.clone() }).await,
        ProbeResult::Ok
    );
    c.bind_if = Some("nosuchdev0".into());
    let result = run(&ProbeSpec::Tcp { conn: c }).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("nosuchdev0")),
        "{result:?}"
    );
}

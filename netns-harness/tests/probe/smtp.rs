//! SMTP_CHECK against a scripted SMTP sink that records what it was sent.

use crate::support::conn;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use vigil_core::check::{ProbeResult, ProbeSpec};
use vigil_netns::driver::probe::run;

/// A sink that sends `banner`, then answers each line it gets with the
/// next of `answers` (closing when they run out); yields the lines.
async fn sink(
    banner: &'static str,
    answers: &'static [&'static str],
) -> (SocketAddr, JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = l.local_addr().expect("addr");
    let h = tokio::spawn(async move {
        let (s, _) = l.accept().await.expect("accept");
        let (r, mut w) = s.into_split();
        let mut lines = BufReader::new(r);
        let mut got = Vec::new();
        if banner.is_empty() {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        let _ = w.write_all(banner.as_bytes()).await;
        for answer in answers {
            let mut line = String::new();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                break;
            }
            got.push(line);
            let _ = w.write_all(answer.as_bytes()).await;
        }
        got
    });
    (a, h)
}

fn spec(dst: SocketAddr, timeout_ms: u64) -> ProbeSpec {
    ProbeSpec::Smtp {
        conn: conn(dst, timeout_ms),
        helo_name: "checker.example".into(),
    }
}

#[tokio::test]
async fn greeting_helo_quit_passes() {
    let (addr, server) = sink(
        "220 mx.example ESMTP\r\n",
        &["250 mx.example\r\n", "221 bye\r\n"],
    )
    .await;
    assert_eq!(run(&spec(addr, 2000)).await, ProbeResult::Ok);
    assert_eq!(
        server.await.expect("sink"),
        ["HELO checker.example\r\n", "QUIT\r\n"]
    );
}

#[tokio::test]
async fn bad_greeting_fails_before_helo() {
    let (addr, server) = sink("554 go away\r\n", &["250 ok\r\n"]).await;
    let result = run(&spec(addr, 2000)).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("554")),
        "{result:?}"
    );
    assert!(
        server.await.expect("sink").is_empty(),
        "nothing sent after a bad greeting"
    );
}

#[tokio::test]
async fn refused_helo_fails() {
    let (addr, _s) = sink("220 mx\r\n", &["501 bad name\r\n"]).await;
    let result = run(&spec(addr, 2000)).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("501")),
        "{result:?}"
    );
}

/// keepalived reads only the first line of a greeting: `220-` fails.
#[tokio::test]
async fn multi_line_greeting_fails_as_in_keepalived() {
    let (addr, _s) = sink(
        "220-mx.example\r\n220 ready\r\n",
        &["250 ok\r\n", "221 bye\r\n"],
    )
    .await;
    let result = run(&spec(addr, 2000)).await;
    assert!(matches!(result, ProbeResult::Failed(_)), "{result:?}");
}

#[tokio::test]
async fn close_before_answering_quit_fails() {
    let (addr, _s) = sink("220 mx\r\n", &["250 ok\r\n"]).await;
    let result = run(&spec(addr, 2000)).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("closed")),
        "{result:?}"
    );
}

#[tokio::test]
async fn silent_server_times_out() {
    let (addr, _s) = sink("", &[]).await;
    let start = Instant::now();
    assert_eq!(run(&spec(addr, 400)).await, ProbeResult::Timeout);
    assert!(start.elapsed() < Duration::from_secs(2));
}

//! HTTP_GET and SSL_GET against a tiny server that records the request.

use crate::support::conn;
use md5::{Digest, Md5};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use vigil_core::check::{ProbeResult, ProbeSpec, UrlProbe};
use vigil_netns::driver::probe::run;

const BODY: &[u8] = b"<html>alive</html>";

fn md5_hex(b: &[u8]) -> String {
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn url(digest: Option<String>, codes: Vec<(u16, u16)>, vhost: Option<&str>) -> UrlProbe {
    UrlProbe {
        path: "/health?x=1".into(),
        digest,
        status_codes: codes,
        virtualhost: vhost.map(str::to_string),
    }
}

fn spec(dst: SocketAddr, timeout_ms: u64, url: UrlProbe) -> ProbeSpec {
    ProbeSpec::Http {
        conn: conn(dst, timeout_ms),
        tls: false,
        url,
        http_protocol: None,
        enable_sni: false,
    }
}

fn response(status: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.0 {status}\r\nServer: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Reads a request head (up to the blank line).
async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Answers one request on `stream` with `answer` (`None`: never answers).
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, answer: Option<Vec<u8>>) -> String {
    let head = read_head(s).await;
    match answer {
        Some(bytes) => {
            let _ = s.write_all(&bytes).await;
            let _ = s.shutdown().await;
        }
        None => tokio::time::sleep(Duration::from_secs(30)).await,
    }
    head
}

/// A server for one request; its handle yields the request head.
async fn serve(addr: &str, reply: Option<Vec<u8>>) -> (SocketAddr, JoinHandle<String>) {
    let l = TcpListener::bind(addr).await.expect("bind");
    let a = l.local_addr().expect("addr");
    let h = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.expect("accept");
        answer(&mut s, reply).await
    });
    (a, h)
}

#[tokio::test]
async fn good_status_and_digest_pass_and_request_is_keepalived_s() {
    let (addr, server) = serve("127.0.0.1:0", Some(response("200 OK", BODY))).await;
    let result = run(&spec(addr, 2000, url(Some(md5_hex(BODY)), vec![], None))).await;
    assert_eq!(result, ProbeResult::Ok);
    let want = format!(
        "GET /health?x=1 HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n",
        addr.port()
    );
    assert_eq!(server.await.expect("server"), want);
}

#[tokio::test]
async fn status_outside_the_default_range_fails() {
    let (addr, _s) = serve("127.0.0.1:0", Some(response("404 Not Found", BODY))).await;
    let result = run(&spec(addr, 2000, url(None, vec![], None))).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("404")),
        "{result:?}"
    );
}

#[tokio::test]
async fn written_status_codes_accept_a_404() {
    let (addr, _s) = serve("127.0.0.1:0", Some(response("404 Not Found", BODY))).await;
    let result = run(&spec(addr, 2000, url(None, vec![(404, 404)], None))).await;
    assert_eq!(result, ProbeResult::Ok);
}

#[tokio::test]
async fn digest_mismatch_fails() {
    let (addr, _s) = serve("127.0.0.1:0", Some(response("200 OK", b"changed"))).await;
    let result = run(&spec(addr, 2000, url(Some(md5_hex(BODY)), vec![], None))).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("MD5")),
        "{result:?}"
    );
}

#[tokio::test]
async fn stalled_server_times_out_within_connect_timeout() {
    let (addr, _s) = serve("127.0.0.1:0", None).await;
    let start = Instant::now();
    let result = run(&spec(addr, 400, url(None, vec![], None))).await;
    assert_eq!(result, ProbeResult::Timeout);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn close_without_a_header_is_no_data() {
    let (addr, _s) = serve("127.0.0.1:0", Some(b"HTTP/1.0 200 OK\r\n".to_vec())).await;
    let result = run(&spec(addr, 2000, url(None, vec![], None))).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("no data")),
        "{result:?}"
    );
}

#[tokio::test]
async fn refused_connection_fails() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    let result = run(&spec(addr, 2000, url(None, vec![], None))).await;
    assert!(matches!(result, ProbeResult::Failed(_)), "{result:?}");
}

#[tokio::test]
async fn http_1_1_over_ipv6_with_virtualhost() {
    let (addr, server) = serve("[::1]:0", Some(response("204 No Content", b""))).await;
    let ProbeSpec::Http { conn, url, .. } =
        spec(addr, 2000, url(None, vec![], Some("www.example.org")))
    else {
        unreachable!()
    };
    let s = ProbeSpec::Http {
        conn,
        tls: false,
        url,
        http_protocol: Some("1.1".into()),
        enable_sni: false,
    };
    assert_eq!(run(&s).await, ProbeResult::Ok);
    assert_eq!(
        server.await.expect("server"),
        "GET /health?x=1 HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.org\r\n\r\n"
    );
}

/// A TLS server with a fresh self-signed certificate; its handle yields
/// the SNI the client sent and the request head.
async fn serve_tls(
    reply: Vec<u8>,
    close_notify: bool,
) -> (SocketAddr, JoinHandle<(Option<String>, String)>) {
    let cert = rcgen::generate_simple_self_signed(vec!["real.example".into()]).expect("cert");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = l.local_addr().expect("addr");
    let h = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.expect("accept");
        let mut tls = acceptor.accept(tcp).await.expect("handshake");
        let sni = tls.get_ref().1.server_name().map(str::to_string);
        if close_notify {
            (sni, answer(&mut tls, Some(reply)).await)
        } else {
            let head = read_head(&mut tls).await;
            let _ = tls.write_all(&reply).await;
            let _ = tls.flush().await;
            // Dropped without close_notify, as many servers do.
            (sni, head)
        }
    });
    (a, h)
}

fn ssl_spec(dst: SocketAddr, url: UrlProbe, enable_sni: bool) -> ProbeSpec {
    ProbeSpec::Http {
        conn: conn(dst, 3000),
        tls: true,
        url,
        http_protocol: None,
        enable_sni,
    }
}

#[tokio::test]
async fn ssl_get_accepts_a_self_signed_certificate() {
    let (addr, server) = serve_tls(response("200 OK", BODY), true).await;
    let result = run(&ssl_spec(
        addr,
        url(Some(md5_hex(BODY)), vec![], None),
        false,
    ))
    .await;
    assert_eq!(result, ProbeResult::Ok);
    let (sni, head) = server.await.expect("server");
    assert_eq!(sni, None);
    assert!(head.starts_with("GET /health?x=1 HTTP/1.0\r\n"), "{head}");
}

#[tokio::test]
async fn ssl_get_sends_sni_only_when_enabled() {
    let vhost = Some("www.example.org");
    let (addr, server) = serve_tls(response("200 OK", BODY), false).await;
    let result = run(&ssl_spec(
        addr,
        url(Some(md5_hex(BODY)), vec![], vhost),
        true,
    ))
    .await;
    assert_eq!(
        result,
        ProbeResult::Ok,
        "judged although the server sent no close_notify"
    );
    assert_eq!(
        server.await.expect("server").0.as_deref(),
        Some("www.example.org")
    );

    let (addr, server) = serve_tls(response("200 OK", BODY), false).await;
    let result = run(&ssl_spec(addr, url(None, vec![], vhost), false)).await;
    assert_eq!(result, ProbeResult::Ok);
    assert_eq!(server.await.expect("server").0, None);
}

#[tokio::test]
async fn ssl_get_to_a_plain_server_fails() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    // A plain server answers the ClientHello as a bad request.
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.expect("accept");
        let _ = s.write_all(&response("400 Bad Request", b"")).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let result = run(&ssl_spec(addr, url(None, vec![], None), false)).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("TLS")),
        "{result:?}"
    );
}

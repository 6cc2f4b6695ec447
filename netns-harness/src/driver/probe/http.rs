//! HTTP_GET and SSL_GET as keepalived's `check_http.c` does them: one
//! request per url, read to the end of the stream, then judged by the
//! core's [`vigil_core::check::http`] (no data, status ranges, MD5).
//!
//! The request is keepalived's byte for byte:
//!
//! ```text
//! GET <path> HTTP/1.<0|1>\r\n
//! User-Agent: KeepAliveClient\r\n
//! [Connection: close\r\n]        only for http_protocol 1.0C and 1.1
//! Host: <virtualhost | ip:port | [ipv6]:port>\r\n
//! \r\n
//! ```
//!
//! The MD5 covers the body after the header, cut at Content-Length when
//! the header has one. Each read has `connect_timeout`; a plain read error
//! fails the probe, while over TLS any error (a peer that closes without
//! close_notify, typically) ends the stream and what came is judged, as
//! keepalived's `ssl_read_thread` does.

use super::{Step, connect_tcp, failed, timed, tls};
use md5::{Digest, Md5};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vigil_core::check::http::{HttpResponse, to_result};
use vigil_core::check::{Conn, ProbeResult, UrlProbe};

/// A header that has not ended by then is refused (keepalived's buffer is
/// 4 KiB; real servers with large cookies need more).
const HEAD_MAX: usize = 16 * 1024;

/// One url of an HTTP_GET or SSL_GET checker.
pub(super) struct Request<'a> {
    pub url: &'a UrlProbe,
    /// `http_protocol`: 1.0 (default), 1.0C or 1.1.
    pub protocol: Option<&'a str>,
    pub tls: bool,
    /// Send the virtualhost as TLS SNI (off unless `enable_sni`).
    pub enable_sni: bool,
}

pub(super) async fn probe(conn: &Conn, req: &Request<'_>) -> Step<ProbeResult> {
    let text = request_text(conn.dst, req.url, req.protocol);
    let limit = conn.connect_timeout;
    let tcp = connect_tcp(conn).await?;
    let resp = if req.tls {
        let sni = req.url.virtualhost.as_deref().filter(|_| req.enable_sni);
        let mut s = tls::connect(tcp, conn.dst.ip(), sni, limit).await?;
        exchange(&mut s, &text, limit, true).await?
    } else {
        let mut s = tcp;
        exchange(&mut s, &text, limit, false).await?
    };
    Ok(to_result(req.url, &resp))
}

fn request_text(dst: SocketAddr, url: &UrlProbe, protocol: Option<&str>) -> String {
    let (minor, close) = match protocol {
        Some("1.1") => (1, "Connection: close\r\n"),
        Some(p) if p.eq_ignore_ascii_case("1.0C") => (0, "Connection: close\r\n"),
        _ => (0, ""),
    };
    let host = match (&url.virtualhost, dst) {
        (Some(v), _) => v.clone(),
        (None, SocketAddr::V4(a)) => format!("{}:{}", a.ip(), a.port()),
        (None, SocketAddr::V6(a)) => format!("[{}]:{}", a.ip(), a.port()),
    };
    format!(
        "GET {} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n",
        url.path
    )
}

async fn exchange<S>(s: &mut S, text: &str, limit: Duration, tls: bool) -> Step<HttpResponse>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    timed(limit, "send request", async {
        s.write_all(text.as_bytes()).await?;
        s.flush().await
    })
    .await?;
    let mut reader = Reader::default();
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = match tokio::time::timeout(limit, s.read(&mut chunk)).await {
            Err(_) => return Err(ProbeResult::Timeout),
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => n,
            Ok(Err(e)) if tls => {
                tracing::debug!(error = %e, "http: TLS stream ended by an error");
                break;
            }
            Ok(Err(e)) => return Err(failed("read", e)),
        };
        reader
            .feed(&chunk[..n])
            .map_err(|e| failed("response", e))?;
    }
    Ok(reader.finish())
}

/// The response as it streams in: the header is kept until it ends, the
/// body only hashed.
#[derive(Default)]
struct Reader {
    head: Vec<u8>,
    /// Set once the header has ended.
    parsed: Option<Head>,
    md5: Md5,
    hashed: u64,
}

#[derive(Clone, Copy)]
struct Head {
    /// 0 when the status line cannot be read: no range accepts it.
    status: u16,
    content_length: Option<u64>,
}

impl Reader {
    fn feed(&mut self, data: &[u8]) -> Result<(), &'static str> {
        if self.parsed.is_some() {
            self.hash(data);
            return Ok(());
        }
        self.head.extend_from_slice(data);
        let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.head.len() > HEAD_MAX {
                return Err("header too long");
            }
            return Ok(());
        };
        self.parsed = Some(parse_head(&self.head[..end]));
        let body = self.head.split_off(end + 4);
        self.hash(&body);
        Ok(())
    }

    fn hash(&mut self, body: &[u8]) {
        let cap = self
            .parsed
            .and_then(|h| h.content_length)
            .unwrap_or(u64::MAX);
        let take = cap.saturating_sub(self.hashed).min(body.len() as u64) as usize;
        self.md5.update(&body[..take]);
        self.hashed += take as u64;
    }

    fn finish(self) -> HttpResponse {
        HttpResponse {
            status: self.parsed.map_or(0, |h| h.status),
            body_md5: self.md5.finalize().into(),
            // keepalived: "no data" unless a whole header came.
            empty: self.parsed.is_none(),
        }
    }
}

fn parse_head(head: &[u8]) -> Head {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines.next().map_or(0, status_code);
    let content_length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok());
    Head {
        status,
        content_length,
    }
}

/// keepalived's `extract_status_code`: the three digits after the first
/// space, followed by a space (or here also the end of the line).
fn status_code(line: &str) -> u16 {
    let Some((_, rest)) = line.split_once(' ') else {
        return 0;
    };
    let (code, tail) = rest.split_at_checked(3).unwrap_or((rest, "x"));
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(tail.is_empty() || tail.starts_with(' ')) {
        return 0;
    }
    code.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str, vhost: Option<&str>) -> UrlProbe {
        UrlProbe {
            path: path.into(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: vhost.map(str::to_string),
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn request_is_keepalived_http_1_0_by_default() {
        let t = request_text(addr("10.0.0.1:8080"), &url("/health", None), None);
        assert_eq!(
            t,
            "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:8080\r\n\r\n"
        );
    }

    #[test]
    fn virtualhost_replaces_address_and_port() {
        let t = request_text(
            addr("10.0.0.1:80"),
            &url("/", Some("www.example.org")),
            None,
        );
        assert!(t.ends_with("Host: www.example.org\r\n\r\n"), "{t}");
    }

    #[test]
    fn ipv6_host_is_bracketed() {
        let t = request_text(addr("[2001:db8::1]:443"), &url("/", None), None);
        assert!(t.ends_with("Host: [2001:db8::1]:443\r\n\r\n"), "{t}");
    }

    #[test]
    fn connection_close_only_for_1_0c_and_1_1() {
        let u = url("/", Some("h"));
        let d = addr("10.0.0.1:80");
        assert!(!request_text(d, &u, Some("1.0")).contains("Connection"));
        let c = request_text(d, &u, Some("1.0C"));
        assert!(c.starts_with("GET / HTTP/1.0\r\n") && c.contains("Connection: close\r\n"));
        let c = request_text(d, &u, Some("1.1"));
        assert!(c.starts_with("GET / HTTP/1.1\r\n") && c.contains("Connection: close\r\n"));
    }

    #[test]
    fn status_is_three_digits_after_the_first_space() {
        assert_eq!(status_code("HTTP/1.1 200 OK"), 200);
        assert_eq!(status_code("HTTP/1.0 404"), 404);
        assert_eq!(status_code("HTTP/1.0 2000 OK"), 0);
        assert_eq!(status_code("HTTP/1.0 20 OK"), 0);
        assert_eq!(status_code("garbage"), 0);
        assert_eq!(status_code("HTTP/1.0 é"), 0);
    }

    fn md5_of(b: &[u8]) -> [u8; 16] {
        Md5::digest(b).into()
    }

    #[test]
    fn body_hash_spans_reads_and_stops_at_content_length() {
        let mut r = Reader::default();
        for part in [
            &b"HTTP/1.0 200 OK\r\nconTent-LENGTH: 5\r"[..],
            b"\n\r\nhel",
            b"lo world",
        ] {
            r.feed(part).expect("feed");
        }
        let resp = r.finish();
        assert_eq!(resp.status, 200);
        assert!(!resp.empty);
        assert_eq!(resp.body_md5, md5_of(b"hello"));
    }

    #[test]
    fn without_content_length_the_whole_body_is_hashed() {
        let mut r = Reader::default();
        r.feed(b"HTTP/1.0 503 Busy\r\n\r\nbody").expect("feed");
        let resp = r.finish();
        assert_eq!((resp.status, resp.body_md5), (503, md5_of(b"body")));
    }

    #[test]
    fn unfinished_header_is_no_data() {
        let mut r = Reader::default();
        r.feed(b"HTTP/1.0 200 OK\r\nServer: x\r\n").expect("feed");
        assert!(r.finish().empty);
    }

    #[test]
    fn endless_header_is_refused() {
        let mut r = Reader::default();
        let line = [b'a'; 1024];
        let refused = (0..20).any(|_| r.feed(&line).is_err());
        assert!(refused);
    }
}

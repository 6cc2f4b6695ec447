//! The metrics endpoint (`--metrics-listen ADDR`): just enough HTTP/1.x
//! for a Prometheus scrape. `GET /metrics` (or `HEAD`) answers the
//! exposition of the daemon's status, anything else 404 or 405; one
//! request per connection, closed after the answer. It runs as tasks of the
//! main thread's runtime and asks the other threads through an [`Asker`],
//! as `vigil status` does, so a scraper never touches the VRRP loop.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

use super::control::Asker;
use super::metrics;

/// A request head larger than this is refused: a scrape's is a few
/// hundred bytes.
const MAX_HEAD: usize = 8192;

/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Answers scrapes on `listener` until the runtime ends.
pub async fn serve(listener: TcpListener, asker: Asker) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream, asker.clone()));
            }
            Err(e) => {
                debug!("metrics listener: {e}");
                // A persistent error (EMFILE) must not spin the thread.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn answer(mut stream: TcpStream, asker: Asker) {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(head)) => head,
        // Too slow, too big or gone: nothing worth answering.
        _ => return,
    };
    let (status, body, head_only) = match route(&head) {
        Route::Metrics { head_only } => {
            ("200 OK", metrics::render(&asker.status().await), head_only)
        }
        Route::NotFound => ("404 Not Found", "Not found: try /metrics\n".into(), false),
        Route::MethodNotAllowed => ("405 Method Not Allowed", String::new(), false),
        Route::Bad => ("400 Bad Request", String::new(), false),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        metrics::CONTENT_TYPE,
        body.len()
    );
    if status.starts_with("405") {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&body);
    }
    if let Err(e) = stream.write_all(out.as_bytes()).await {
        debug!("metrics client: {e}");
    }
    let _ = stream.shutdown().await;
}

/// The request head, up to its blank line; none when the client closes
/// first or sends more than [`MAX_HEAD`].
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_HEAD {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics { head_only: bool },
    NotFound,
    MethodNotAllowed,
    Bad,
}

/// What the request line asks for.
fn route(head: &str) -> Route {
    let line = head.lines().next().unwrap_or_default();
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Route::Bad;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::Bad;
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") => Route::Metrics { head_only: false },
        ("HEAD", "/metrics") => Route::Metrics { head_only: true },
        (_, "/metrics") => Route::MethodNotAllowed,
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_and_head_of_metrics_are_answered() {
        let r = |line: &str| route(&format!("{line}\r\nHost: x\r\n\r\n"));
        assert_eq!(
            r("GET /metrics HTTP/1.1"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            r("GET /metrics?name[]=x HTTP/1.0"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            r("HEAD /metrics HTTP/1.1"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(r("POST /metrics HTTP/1.1"), Route::MethodNotAllowed);
        assert_eq!(r("GET / HTTP/1.1"), Route::NotFound);
        assert_eq!(r("GET /metrics"), Route::Bad);
        assert_eq!(r("GET /metrics SPDY/3"), Route::Bad);
    }
}

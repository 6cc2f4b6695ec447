//! SMTP_CHECK as keepalived's `check_smtp.c` does it: read the greeting
//! (must be 220), send `HELO <helo_name>`, read the answer (must be 250),
//! send `QUIT` and read one more line, whatever it says. Each read and
//! write has `connect_timeout`.
//!
//! keepalived looks at the first line of what one read returns and drops
//! the rest, and a code counts only as three digits followed by a space or
//! the end of the line: a multi-line greeting (`220-...`) fails the check.
//! Both are kept so that verdicts match.

use super::{Step, connect_tcp, failed, timed};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vigil_core::check::{Conn, ProbeResult};

/// keepalived's SMTP_BUFF_MAX: a longer line wraps the buffer.
const LINE_MAX: usize = 512;

pub(super) async fn probe(conn: &Conn, helo_name: &str) -> Step<ProbeResult> {
    let limit = conn.connect_timeout;
    let mut s = connect_tcp(conn).await?;
    expect(&mut s, limit, "greeting", 220).await?;
    send(&mut s, limit, &format!("HELO {helo_name}\r\n")).await?;
    expect(&mut s, limit, "HELO answer", 250).await?;
    send(&mut s, limit, "QUIT\r\n").await?;
    read_line(&mut s, limit).await?;
    Ok(ProbeResult::Ok)
}

async fn expect(s: &mut TcpStream, limit: Duration, what: &str, code: u16) -> Step<()> {
    let line = read_line(s, limit).await?;
    if status(&line) == Some(code) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&line);
    Err(failed(
        what,
        format!("expected {code}, got {:?}", text.trim_end()),
    ))
}

async fn send(s: &mut TcpStream, limit: Duration, line: &str) -> Step<()> {
    timed(limit, "write", s.write_all(line.as_bytes())).await
}

/// The first line of the next read(s), without its `\n`; the bytes after
/// it are dropped.
async fn read_line(s: &mut TcpStream, limit: Duration) -> Step<Vec<u8>> {
    let mut buf = Vec::with_capacity(LINE_MAX);
    let mut chunk = [0u8; LINE_MAX];
    loop {
        let n = timed(limit, "read", s.read(&mut chunk)).await?;
        if n == 0 {
            return Err(failed("read", "connection closed"));
        }
        if buf.len() + n >= LINE_MAX {
            buf.clear();
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            buf.truncate(nl);
            return Ok(buf);
        }
    }
}

/// The reply code: exactly three digits, then a space or the end of the
/// line (a `\r` before the `\n` counts as the end).
fn status(line: &[u8]) -> Option<u16> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (code, rest) = line.split_at_checked(3)?;
    if !code.iter().all(u8::is_ascii_digit) || !(rest.is_empty() || rest[0] == b' ') {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_three_digits_then_space_or_end() {
        assert_eq!(status(b"220 mx.example.org ESMTP\r"), Some(220));
        assert_eq!(status(b"250"), Some(250));
        assert_eq!(status(b"250\r"), Some(250));
        assert_eq!(status(b"220-first line of many"), None);
        assert_eq!(status(b"2200 x"), None);
        assert_eq!(status(b"22 x"), None);
        assert_eq!(status(b"abc x"), None);
    }
}

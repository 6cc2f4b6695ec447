//! UDP_CHECK as keepalived's `check_udp.c` and `udp_socket_state` do it:
//! send one datagram (the `payload`, else 32 bytes of filler), then wait
//! `connect_timeout` for an answer.
//!
//! - Without `require_reply`, silence is success: only an ICMP destination
//!   unreachable (a receive error, thanks to IP_RECVERR) fails the check.
//! - With `require_reply`, a datagram must come back. When reply data is
//!   given, the reply's length must lie in `min_reply_length ..=
//!   max_reply_length` (default 0..=255) and its first bytes must match the
//!   data, `x` nibbles being wildcards. keepalived checks the lengths only
//!   when reply data is given, and so does this.

use super::{Step, connect_udp, failed, filler, timed};
use vigil_core::check::{Conn, ProbeResult};

/// keepalived's UDP_BUFSIZE: the size of the filler datagram.
const FILLER_LEN: usize = 32;
/// keepalived's default `max_reply_length` (UINT8_MAX).
const DEFAULT_MAX_REPLY: u32 = 255;

/// The UDP_CHECK options of one probe.
pub(super) struct Check<'a> {
    pub payload: Option<&'a str>,
    pub require_reply: Option<&'a str>,
    pub min_reply_length: Option<u32>,
    pub max_reply_length: Option<u32>,
}

/// Bytes to compare, and per byte the bits that are wildcards.
#[derive(Debug, PartialEq, Eq)]
struct Pattern {
    data: Vec<u8>,
    wildcard: Vec<u8>,
}

pub(super) async fn probe(conn: &Conn, check: &Check<'_>) -> Step<ProbeResult> {
    let payload = match check.payload {
        Some(hex) => parse_hex(hex, false).ok_or_else(|| failed("payload", "invalid hex"))?,
        None => Pattern {
            data: filler(FILLER_LEN),
            wildcard: Vec::new(),
        },
    };
    let expect = match check.require_reply {
        None | Some("") => None,
        Some(hex) => {
            Some(parse_hex(hex, true).ok_or_else(|| failed("require_reply", "invalid hex"))?)
        }
    };
    let max = check.max_reply_length.unwrap_or(DEFAULT_MAX_REPLY);
    let sock = connect_udp(conn)?;
    let sent = sock
        .send(&payload.data)
        .await
        .map_err(|e| failed("send", e))?;
    if sent != payload.data.len() {
        return Err(failed(
            "send",
            format!("{sent} of {} bytes", payload.data.len()),
        ));
    }
    // One byte more than the maximum, so that an over-long reply shows.
    let mut buf = vec![0u8; max as usize + 1];
    let got = timed(conn.connect_timeout, "receive", sock.recv(&mut buf)).await;
    match (got, check.require_reply) {
        (Err(ProbeResult::Timeout), None) => Ok(ProbeResult::Ok),
        (Err(end), _) => Err(end),
        (Ok(_), None) => Ok(ProbeResult::Ok),
        (Ok(len), Some(_)) => Ok(judge(&buf[..len], expect.as_ref(), check, max)),
    }
}

/// keepalived's `check_udp_reply`: lengths first, then the common prefix
/// of the reply and the pattern, wildcard bits ignored.
fn judge(reply: &[u8], expect: Option<&Pattern>, check: &Check<'_>, max: u32) -> ProbeResult {
    let Some(p) = expect else {
        return ProbeResult::Ok;
    };
    let min = check.min_reply_length.unwrap_or(0);
    let len = reply.len() as u64;
    if len < u64::from(min) || len > u64::from(max) {
        return ProbeResult::Failed(format!("reply of {len} bytes outside {min}..={max}"));
    }
    let mismatch = reply.iter().zip(&p.data).enumerate().find(|&(i, (r, d))| {
        let wild = p.wildcard.get(i).copied().unwrap_or(0);
        (r ^ d) & !wild != 0
    });
    match mismatch {
        Some((i, _)) => ProbeResult::Failed(format!("reply data differs at byte {i}")),
        None => ProbeResult::Ok,
    }
}

/// keepalived's `read_hex_str`: hex digits in pairs, spaces and tabs
/// between bytes ignored, a lone digit before a space or the end being a
/// byte of its own; with `wildcards`, `x`/`X` stands for any nibble.
/// `None` for an invalid or empty string.
fn parse_hex(s: &str, wildcards: bool) -> Option<Pattern> {
    let nibble = |c: u8| -> Option<(u8, u8)> {
        match c {
            b'x' | b'X' if wildcards => Some((0, 0xf)),
            _ => (c as char).to_digit(16).map(|d| (d as u8, 0)),
        }
    };
    let b = s.as_bytes();
    let (mut data, mut wildcard) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let (mut v, mut w) = nibble(b[i])?;
        i += 1;
        if i < b.len() && b[i] != b' ' {
            let (lo, lw) = nibble(b[i])?;
            v = v << 4 | lo;
            w = w << 4 | lw;
            i += 1;
        }
        data.push(v);
        wildcard.push(w);
    }
    (!data.is_empty()).then_some(Pattern { data, wildcard })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<'a>(min: Option<u32>) -> Check<'a> {
        Check {
            payload: None,
            require_reply: Some("41"),
            min_reply_length: min,
            max_reply_length: None,
        }
    }

    #[test]
    fn hex_pairs_spaces_and_lone_nibbles() {
        let p = parse_hex("0a0B ff\t1 2", false).expect("valid");
        assert_eq!(p.data, [0x0a, 0x0b, 0xff, 0x01, 0x02]);
        assert!(p.wildcard.iter().all(|&w| w == 0));
    }

    #[test]
    fn wildcards_only_where_allowed() {
        let p = parse_hex("4x X1", true).expect("valid");
        assert_eq!(p.data, [0x40, 0x01]);
        assert_eq!(p.wildcard, [0x0f, 0xf0]);
        assert_eq!(parse_hex("4x", false), None);
    }

    #[test]
    fn invalid_or_empty_hex_is_rejected() {
        assert_eq!(parse_hex("zz", false), None);
        assert_eq!(parse_hex("01 0g", false), None);
        assert_eq!(parse_hex("   ", false), None);
    }

    #[test]
    fn reply_compared_over_the_shorter_length_with_wildcards() {
        let p = parse_hex("48 4x 4c", true).expect("valid");
        let c = check(None);
        assert_eq!(judge(b"HELLO", Some(&p), &c, 255), ProbeResult::Ok);
        assert_eq!(judge(b"HE", Some(&p), &c, 255), ProbeResult::Ok);
        assert!(matches!(
            judge(b"HeLLO", Some(&p), &c, 255),
            ProbeResult::Failed(_)
        ));
    }

    #[test]
    fn reply_length_bounds_apply_with_reply_data() {
        let p = parse_hex("48", false).expect("valid");
        assert!(matches!(
            judge(b"H", Some(&p), &check(Some(2)), 255),
            ProbeResult::Failed(_)
        ));
        assert!(matches!(
            judge(b"HELLO", Some(&p), &check(None), 4),
            ProbeResult::Failed(_)
        ));
        assert_eq!(judge(b"H", None, &check(Some(2)), 255), ProbeResult::Ok);
    }
}

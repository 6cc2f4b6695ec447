//! DNS_CHECK as keepalived's `check_dns.c` does it: one recursive query of
//! `query_type` for `name`, class IN, over UDP to the real server. The
//! server passes when, within `connect_timeout` of the send, a response
//! (QR set) with the query's id arrives with RCODE 0; the answer section is
//! not looked at. Datagrams with another id, and queries, are skipped.

use super::{Step, connect_udp, failed, timed};
use std::hash::{BuildHasher, RandomState};
use tokio::time::Instant;
use vigil_core::check::{Conn, ProbeResult};

const HEADER_LEN: usize = 12;
/// Recursion Desired.
const FLAG_RD: u16 = 0x0100;
const FLAG_QR: u16 = 0x8000;
const CLASS_IN: u16 = 1;
/// keepalived's DNS_BUFFER_SIZE.
const RECV_LEN: usize = 768;

/// The query types keepalived knows, by name (any case).
const TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("RRSIG", 46),
    ("DNSKEY", 48),
];

pub(super) async fn probe(conn: &Conn, query_type: &str, name: &str) -> Step<ProbeResult> {
    let qtype = TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(query_type))
        .map(|&(_, t)| t)
        .ok_or_else(|| failed("query_type", format!("unknown type {query_type}")))?;
    let id = RandomState::new().hash_one(Instant::now()) as u16;
    let query = build_query(id, qtype, name).ok_or_else(|| failed("name", "not a DNS name"))?;
    let sock = connect_udp(conn)?;
    let deadline = Instant::now() + conn.connect_timeout;
    timed(conn.connect_timeout, "send", sock.send(&query)).await?;
    let mut buf = [0u8; RECV_LEN];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let len = timed(left, "receive", sock.recv(&mut buf)).await?;
        match judge(id, &buf[..len]) {
            Some(r) => return Ok(r),
            None => tracing::debug!(len, "dns: skipped a datagram that is not our response"),
        }
    }
}

/// The verdict on one datagram, `None` when it is not the response.
fn judge(id: u16, msg: &[u8]) -> Option<ProbeResult> {
    let header = msg.get(..HEADER_LEN)?;
    let got_id = u16::from_be_bytes([header[0], header[1]]);
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if got_id != id || flags & FLAG_QR == 0 {
        return None;
    }
    Some(match flags & 0x000f {
        0 => ProbeResult::Ok,
        rcode => ProbeResult::Failed(format!("response with rcode {rcode}")),
    })
}

/// The query message. The name is split at dots as keepalived does: "" and
/// "." are the root, a trailing dot is optional. `None` for an empty or
/// over-long label.
fn build_query(id: u16, qtype: u16, name: &str) -> Option<Vec<u8>> {
    let mut q = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&FLAG_RD.to_be_bytes());
    // One question, no answer, authority or additional records.
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    let relative = name.strip_suffix('.').unwrap_or(name);
    if !relative.is_empty() {
        for label in relative.split('.') {
            if label.is_empty() || label.len() > 63 {
                return None;
            }
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_one_recursive_question_in_class_in() {
        let q = build_query(0xbeef, 28, "www.example.org").expect("valid name");
        let mut want = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x03www\x07example\x03org\x00");
        want.extend_from_slice(&[0, 28, 0, 1]);
        assert_eq!(q, want);
    }

    #[test]
    fn root_and_trailing_dot() {
        let root = build_query(1, 6, "").expect("root");
        assert_eq!(&root[HEADER_LEN..], &[0, 0, 6, 0, 1]);
        assert_eq!(build_query(1, 6, ".").expect("root"), root);
        assert_eq!(
            build_query(1, 1, "a.b.").expect("valid"),
            build_query(1, 1, "a.b").expect("valid")
        );
    }

    #[test]
    fn empty_or_long_labels_are_refused() {
        assert_eq!(build_query(1, 1, "a..b"), None);
        assert_eq!(build_query(1, 1, &"x".repeat(64)), None);
        assert!(build_query(1, 1, &"x".repeat(63)).is_some());
    }

    #[test]
    fn only_a_response_with_our_id_counts() {
        let resp = |id: u16, flags: u16| {
            let mut m = id.to_be_bytes().to_vec();
            m.extend_from_slice(&flags.to_be_bytes());
            m.extend_from_slice(&[0; 8]);
            m
        };
        assert_eq!(judge(7, &resp(7, 0x8180)), Some(ProbeResult::Ok));
        assert_eq!(judge(7, &resp(8, 0x8180)), None);
        assert_eq!(judge(7, &resp(7, 0x0100)), None);
        assert_eq!(judge(7, &resp(7, 0x8180)[..11]), None);
        assert!(matches!(
            judge(7, &resp(7, 0x8183)),
            Some(ProbeResult::Failed(_))
        ));
    }
}

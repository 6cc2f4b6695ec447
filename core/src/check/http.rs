//! Judging an HTTP answer as keepalived's `http_handle_response` does.
//!
//! The driver fetches the url, hashes the body with MD5 and hands both here;
//! hashing stays in the driver so the core needs no crypto crate.

use serde::{Deserialize, Serialize};

use super::{ProbeResult, UrlProbe};

/// keepalived only records status codes in 100..=599; anything else never matches.
const STATUS_MIN: u16 = 100;
const STATUS_MAX: u16 = 599;
/// Accepted when a url lists no `status_code`.
const DEFAULT_STATUS: (u16, u16) = (200, 299);

/// What the driver read back for one url.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    /// MD5 of the body.
    pub body_md5: [u8; 16],
    /// Nothing at all came back (keepalived: "no data received").
    pub empty: bool,
}

/// Why an answer fails the url, in keepalived's order of checking.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpFailure {
    #[error("no data received")]
    NoData,
    #[error("HTTP status code {0} not accepted")]
    Status(u16),
    #[error("MD5 digest mismatch")]
    Digest,
}

/// Whether `status` is accepted by `url` (default 200-299).
pub fn status_accepted(url: &UrlProbe, status: u16) -> bool {
    if !(STATUS_MIN..=STATUS_MAX).contains(&status) {
        return false;
    }
    let ranges: &[(u16, u16)] = if url.status_codes.is_empty() {
        &[DEFAULT_STATUS]
    } else {
        &url.status_codes
    };
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
}

/// Whether `md5` is the digest `url` expects (always true without one).
pub fn digest_matches(url: &UrlProbe, md5: &[u8; 16]) -> bool {
    let Some(want) = &url.digest else { return true };
    parse_hex16(want).is_some_and(|w| &w == md5)
}

/// Judges one answer: empty body, then status code, then digest.
pub fn judge(url: &UrlProbe, resp: &HttpResponse) -> Result<(), HttpFailure> {
    if resp.empty {
        return Err(HttpFailure::NoData);
    }
    if !status_accepted(url, resp.status) {
        return Err(HttpFailure::Status(resp.status));
    }
    if !digest_matches(url, &resp.body_md5) {
        return Err(HttpFailure::Digest);
    }
    Ok(())
}

/// [`judge`], as the checker's input.
pub fn to_result(url: &UrlProbe, resp: &HttpResponse) -> ProbeResult {
    match judge(url, resp) {
        Ok(()) => ProbeResult::Ok,
        Err(e) => ProbeResult::Failed(e.to_string()),
    }
}

fn parse_hex16(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let text = core::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(codes: Vec<(u16, u16)>, digest: Option<&str>) -> UrlProbe {
        UrlProbe {
            path: "/".into(),
            digest: digest.map(str::to_string),
            status_codes: codes,
            virtualhost: None,
        }
    }

    fn resp(status: u16, md5: [u8; 16]) -> HttpResponse {
        HttpResponse {
            status,
            body_md5: md5,
            empty: false,
        }
    }

    /// MD5("") = d41d8cd98f00b204e9800998ecf8427e.
    const EMPTY_MD5: [u8; 16] = [
        0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42,
        0x7e,
    ];

    #[test]
    fn default_status_codes_are_200_to_299() {
        let u = url(Vec::new(), None);
        assert!(status_accepted(&u, 200));
        assert!(status_accepted(&u, 299));
        assert!(!status_accepted(&u, 199));
        assert!(!status_accepted(&u, 300));
        assert!(!status_accepted(&u, 404));
    }

    #[test]
    fn written_status_code_ranges_replace_the_default() {
        let u = url(vec![(301, 302), (404, 404)], None);
        assert!(status_accepted(&u, 302));
        assert!(status_accepted(&u, 404));
        assert!(!status_accepted(&u, 200));
    }

    #[test]
    fn status_codes_outside_100_to_599_never_match() {
        let u = url(vec![(0, 999)], None);
        assert!(!status_accepted(&u, 99));
        assert!(!status_accepted(&u, 600));
        assert!(status_accepted(&u, 100));
    }

    #[test]
    fn digest_compared_to_the_body_md5() {
        let u = url(Vec::new(), Some("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(judge(&u, &resp(200, EMPTY_MD5)), Ok(()));
        assert_eq!(judge(&u, &resp(200, [0; 16])), Err(HttpFailure::Digest));
        let upper = url(Vec::new(), Some("D41D8CD98F00B204E9800998ECF8427E"));
        assert!(digest_matches(&upper, &EMPTY_MD5));
    }

    #[test]
    fn malformed_digest_never_matches() {
        assert!(!digest_matches(&url(Vec::new(), Some("xyz")), &EMPTY_MD5));
        assert!(!digest_matches(&url(Vec::new(), Some("é")), &[0; 16]));
    }

    #[test]
    fn empty_answer_fails_before_status_and_digest() {
        let u = url(Vec::new(), Some("00000000000000000000000000000000"));
        let r = HttpResponse {
            status: 500,
            body_md5: EMPTY_MD5,
            empty: true,
        };
        assert_eq!(judge(&u, &r), Err(HttpFailure::NoData));
        assert_eq!(
            judge(&u, &resp(500, EMPTY_MD5)),
            Err(HttpFailure::Status(500))
        );
    }

    #[test]
    fn judged_failure_is_a_failed_probe() {
        let u = url(Vec::new(), None);
        assert_eq!(to_result(&u, &resp(204, [0; 16])), ProbeResult::Ok);
        assert!(matches!(
            to_result(&u, &resp(503, [0; 16])),
            ProbeResult::Failed(_)
        ));
    }
}

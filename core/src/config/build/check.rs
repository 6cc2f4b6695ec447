//! Checkers inside a `real_server` (HTTP_GET, SSL_GET, TCP_CHECK,
//! SMTP_CHECK, MISC_CHECK, DNS_CHECK, PING_CHECK, UDP_CHECK, FILE_CHECK,
//! BFD_CHECK) and how their timing values inherit from the real server.

use std::time::Duration;

use super::Cx;
use crate::config::diag::{DiagKind, Severity};
use crate::config::keywords::CONNECTION;
use crate::config::model::check::{
    BfdCheck, Checker, CheckerKind, Connection, DnsCheck, FileCheck, HttpCheck, MiscCheck,
    SmtpCheck, UdpCheck, Url,
};
use crate::config::model::lvs::RealServer;
use crate::config::parser::Node;
use crate::config::suggest;
use crate::config::value;

const MAX_US: u64 = u64::MAX / 2;

/// What a checker wrote, and its type's defaults, for `finish_checkers`.
#[derive(Default)]
pub(crate) struct CheckDraft {
    connect_timeout: Option<Duration>,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    delay_loop: Option<Duration>,
    alpha: Option<bool>,
    default_retry: u32,
    /// `None`: the delay_loop (DNS_CHECK).
    default_delay_before_retry: Option<Duration>,
}

const HTTP: &[&str] = &[
    "nb_get_retry",
    "virtualhost",
    "http_protocol",
    "enable_sni",
    "fast_recovery",
    "url",
];
const SMTP: &[&str] = &["helo_name", "host"];
const MISC: &[&str] = &[
    "misc_path",
    "misc_timeout",
    "misc_dynamic",
    "user",
    "retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
];
const DNS: &[&str] = &["type", "name"];
const UDP: &[&str] = &[
    "payload",
    "require_reply",
    "min_reply_length",
    "max_reply_length",
];
const FILE: &[&str] = &["track_file", "weight"];
const BFD: &[&str] = &["name", "alpha"];
const DNS_TYPES: &[&str] = &["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"];

/// Reads one checker block.
pub(crate) fn checker(cx: &mut Cx, n: &Node) -> Option<(Checker, CheckDraft)> {
    let kind_name = n.keyword();
    cx.extra(n, 0);
    let mut d = CheckDraft {
        default_retry: 1,
        default_delay_before_retry: Some(Duration::from_secs(1)),
        ..CheckDraft::default()
    };
    let mut kind = match kind_name {
        "HTTP_GET" | "SSL_GET" => {
            d.default_delay_before_retry = Some(Duration::from_secs(3));
            if kind_name == "HTTP_GET" {
                CheckerKind::HttpGet(HttpCheck::default())
            } else {
                CheckerKind::SslGet(HttpCheck::default())
            }
        }
        "TCP_CHECK" => CheckerKind::Tcp,
        "SMTP_CHECK" => CheckerKind::Smtp(SmtpCheck {
            helo_name: "smtpchecker.keepalived.org".into(),
            hosts: Vec::new(),
        }),
        "MISC_CHECK" => {
            d.default_retry = 0;
            CheckerKind::Misc(MiscCheck {
                misc_path: None,
                misc_timeout: None,
                misc_dynamic: false,
                user: None,
                group: None,
            })
        }
        "DNS_CHECK" => {
            d.default_retry = 3;
            d.default_delay_before_retry = None;
            CheckerKind::Dns(DnsCheck {
                query_type: "SOA".into(),
                name: String::new(),
            })
        }
        "PING_CHECK" => CheckerKind::Ping,
        "UDP_CHECK" => CheckerKind::Udp(UdpCheck::default()),
        "FILE_CHECK" => CheckerKind::File(FileCheck::default()),
        _ => CheckerKind::Bfd(BfdCheck::default()),
    };
    let (connection, specific): (bool, &[&str]) = match &kind {
        CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => (true, HTTP),
        CheckerKind::Smtp(_) => (true, SMTP),
        CheckerKind::Misc(_) => (false, MISC),
        CheckerKind::Dns(_) => (true, DNS),
        CheckerKind::Udp(_) => (true, UDP),
        CheckerKind::File(_) => (false, FILE),
        CheckerKind::Bfd(_) => (false, BFD),
        CheckerKind::Tcp | CheckerKind::Ping => (true, &[]),
    };
    let mut c = Checker {
        at: n.pos(),
        kind: CheckerKind::Ping,
        connection: Connection::default(),
        connect_timeout: Duration::ZERO,
        retry: 0,
        delay_before_retry: Duration::ZERO,
        warmup: Duration::ZERO,
        delay_loop: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
        unmodelled: Vec::new(),
    };
    let block = cx.block(n);
    for l in block.map_or(&[][..], |b| b.nodes.as_slice()) {
        let kw = l.keyword();
        let known = specific.contains(&kw) || (connection && CONNECTION.contains(&kw));
        if !known {
            let mut all: Vec<&str> = specific.to_vec();
            if connection {
                all.extend_from_slice(CONNECTION);
            }
            let hint = suggest::closest(kw, &all)
                .map(|s| format!("did you mean '{s}'?"))
                .unwrap_or_else(|| format!("{kind_name} keywords: {}", all.join(", ")));
            cx.warn(
                DiagKind::UnknownKeyword,
                l.pos(),
                l.text.clone(),
                format!("Unknown keyword '{kw}'"),
            )
            .hint = Some(hint);
            if let Some(b) = &l.block {
                cx.error(
                    DiagKind::UnexpectedBlock,
                    b.open,
                    "{",
                    "Unexpected '{' - ignoring",
                )
                .hint = Some(format!(
                    "keepalived 2.2.7 does not know '{kw}', so it would end the enclosing {kind_name} block at this block's '}}'"
                ));
            }
            continue;
        }
        if common(cx, l, &mut c, &mut d) {
            cx.no_block(l, crate::config::keywords::Ctx::Checker);
            continue;
        }
        match (&mut kind, kw) {
            (CheckerKind::HttpGet(h) | CheckerKind::SslGet(h), _) => {
                http_keyword(cx, l, h, &mut d);
                if kw == "url" {
                    continue;
                }
            }
            (CheckerKind::Smtp(s), "helo_name") => {
                if let Some(w) = cx.arg(l, 0) {
                    s.helo_name = w.text.clone();
                }
                cx.extra(l, 1);
            }
            (CheckerKind::Smtp(s), "host") => {
                cx.emit(
                    Severity::Note,
                    DiagKind::Deprecated,
                    l.pos(),
                    "host",
                    "The SMTP_CHECK host block is deprecated. Please define additional checkers.",
                );
                let mut conn = Connection::default();
                if let Some(b) = cx.block(l) {
                    for h in &b.nodes {
                        if !connection_keyword(cx, h, &mut conn)
                            && !CONNECTION.contains(&h.keyword())
                        {
                            cx.unknown(h, crate::config::keywords::Ctx::SmtpHost);
                        }
                    }
                }
                s.hosts.push(conn);
                continue;
            }
            (CheckerKind::Misc(m), "misc_path") => {
                if m.misc_path.is_none() {
                    m.misc_path = cx.script(l);
                } else {
                    cx.error(
                        DiagKind::Duplicate,
                        l.pos(),
                        l.text.clone(),
                        "misc_path already specified - ignoring",
                    );
                }
                continue;
            }
            (CheckerKind::Misc(m), "misc_timeout") => {
                if let Some(t) = cx.secs(
                    l,
                    0,
                    0,
                    (u32::MAX / 1_000_000) as u64,
                    "Invalid misc_timeout value - keepalived ignores it",
                ) {
                    m.misc_timeout = Some(t);
                }
                cx.extra(l, 1);
            }
            (CheckerKind::Misc(m), "misc_dynamic") => m.misc_dynamic = true,
            (CheckerKind::Misc(m), "user") => {
                if let Some(w) = cx.arg(l, 0) {
                    m.user = Some(w.text.clone());
                    m.group = l.arg(1).map(|g| g.text.clone());
                }
                cx.extra(l, 2);
            }
            (CheckerKind::Dns(x), "type") => {
                if let Some(t) = cx.choice(l, 0, DNS_TYPES, "Unknown DNS check type {} - ignoring")
                {
                    x.query_type = t.to_string();
                }
                cx.extra(l, 1);
            }
            (CheckerKind::Dns(x), "name") => {
                if let Some(w) = cx.arg(l, 0) {
                    x.name = w.text.clone();
                }
                cx.extra(l, 1);
            }
            (CheckerKind::Udp(u), _) => match kw {
                // keepalived joins every word into one hex string.
                "payload" => {
                    cx.arg(l, 0);
                    u.payload = Some(joined(l)).filter(|p| !p.is_empty());
                }
                "require_reply" => u.require_reply = Some(joined(l)),
                _ => {
                    let v = cx
                        .uint(l, 0, 0, 65535, "keepalived ignores it")
                        .map(|v| v as u32);
                    if kw == "min_reply_length" {
                        u.min_reply_length = v;
                    } else {
                        u.max_reply_length = v;
                    }
                }
            },
            (CheckerKind::File(f), "track_file") => {
                if let Some(w) = cx.arg(l, 0) {
                    f.track_file = Some(w.text.clone());
                }
                cx.extra(l, 1);
            }
            (CheckerKind::File(f), "weight") => {
                if let Some(w) = cx.int(l, 0, -254, 254, "keepalived ignores it") {
                    f.weight = Some(w as i32);
                }
                if let Some(r) = l.arg(1) {
                    if r.text == "reverse" {
                        f.reverse = true;
                    } else {
                        cx.error(
                            DiagKind::InvalidValue,
                            r.pos,
                            r.text.clone(),
                            format!("unknown weight option {}", r.text),
                        );
                    }
                }
                cx.extra(l, 2);
            }
            (CheckerKind::Bfd(x), "name") => {
                if let Some(w) = cx.arg(l, 0) {
                    x.name = Some(w.text.clone());
                }
                cx.extra(l, 1);
            }
            _ => {}
        }
        cx.no_block(l, crate::config::keywords::Ctx::Checker);
    }
    // End-of-block checks, as keepalived's end handlers do.
    match &kind {
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.urls.is_empty() => {
            cx.error(
                DiagKind::MissingSetting,
                n.pos(),
                kind_name,
                "HTTP/SSL_GET checker has no urls specified - ignoring",
            )
            .hint = Some("add `url { path / }`".into());
            return None;
        }
        CheckerKind::Misc(m) if m.misc_path.is_none() => {
            cx.error(
                DiagKind::MissingSetting,
                n.pos(),
                kind_name,
                "No script path has been specified for MISC_CHECKER - skipping",
            )
            .hint = Some("add `misc_path \"/path/to/check\"`".into());
            return None;
        }
        _ => {}
    }
    c.kind = kind;
    Some((c, d))
}

/// Keywords every checker with a connection understands. True if handled.
fn connection_keyword(cx: &mut Cx, l: &Node, conn: &mut Connection) -> bool {
    match l.keyword() {
        "connect_ip" | "bindto" => {
            let Some(w) = cx.arg(l, 0) else { return true };
            match value::parse_ip(&w.text) {
                Some(a) => {
                    if l.keyword() == "connect_ip" {
                        conn.connect_ip = Some(a);
                    } else {
                        conn.bindto = Some(a);
                    }
                }
                None => cx.bad_address(
                    w,
                    &format!("Invalid {} address {{}} - ignoring", l.keyword()),
                ),
            }
            cx.extra(l, 1);
        }
        "connect_port" | "bind_port" => {
            let Some(w) = cx.arg(l, 0) else { return true };
            match value::read_unsigned(&w.text, 0, 65535) {
                Ok(p) => {
                    if l.keyword() == "connect_port" {
                        conn.connect_port = Some(p as u16);
                    } else {
                        conn.bind_port = Some(p as u16);
                    }
                }
                Err(e) => {
                    cx.error(
                        DiagKind::InvalidNumber,
                        w.pos,
                        w.text.clone(),
                        format!("Invalid checker {} '{}'", l.keyword(), w.text),
                    )
                    .hint = Some(e);
                }
            }
            cx.extra(l, 1);
        }
        "bind_if" => {
            if let Some(w) = cx.arg(l, 0) {
                cx.interface(w, |i| {
                    format!("WARNING - interface {i} for bind_if doesn't exist")
                });
                conn.bind_if = Some(w.text.clone());
            }
            cx.extra(l, 1);
        }
        "fwmark" => {
            if let Some(m) = cx.uint(
                l,
                0,
                0,
                u64::from(u32::MAX),
                "Invalid fwmark connection value - keepalived ignores it",
            ) {
                conn.fwmark = Some(m as u32);
            }
            cx.extra(l, 1);
        }
        _ => return false,
    }
    true
}

/// Connection and timing keywords shared by checkers. True if handled.
fn common(cx: &mut Cx, l: &Node, c: &mut Checker, d: &mut CheckDraft) -> bool {
    if connection_keyword(cx, l, &mut c.connection) {
        return true;
    }
    match l.keyword() {
        "connect_timeout" => {
            d.connect_timeout = cx
                .timer(
                    l,
                    0,
                    1,
                    u64::from(u32::MAX),
                    "connect_timeout invalid - keepalived ignores it",
                )
                .or(d.connect_timeout)
        }
        "retry" => {
            d.retry = cx
                .uint(
                    l,
                    0,
                    0,
                    u64::from(u32::MAX),
                    "Invalid retry connection value - keepalived ignores it",
                )
                .map(|v| v as u32)
                .or(d.retry)
        }
        "delay_before_retry" => {
            d.delay_before_retry = cx
                .timer(l, 0, 0, MAX_US, "keepalived ignores it")
                .or(d.delay_before_retry)
        }
        "warmup" => {
            d.warmup = cx
                .timer(l, 0, 0, MAX_US, "keepalived ignores it")
                .or(d.warmup)
        }
        "delay_loop" => {
            d.delay_loop = cx
                .timer(
                    l,
                    0,
                    1,
                    MAX_US,
                    "delay_loop is invalid - keepalived ignores it",
                )
                .or(d.delay_loop)
        }
        "alpha" => {
            d.alpha = cx.flag(l, "alpha").or(d.alpha);
            return true;
        }
        "log_all_failures" => {
            c.log_all_failures = cx.flag(l, "log_all_failures").unwrap_or(c.log_all_failures);
            return true;
        }
        _ => return false,
    }
    cx.extra(l, 1);
    true
}

fn http_keyword(cx: &mut Cx, l: &Node, h: &mut HttpCheck, d: &mut CheckDraft) {
    match l.keyword() {
        "nb_get_retry" => {
            cx.emit(
                Severity::Note,
                DiagKind::Deprecated,
                l.pos(),
                "nb_get_retry",
                "nb_get_retry is deprecated - please use 'retry'",
            );
            d.retry = cx
                .uint(
                    l,
                    0,
                    0,
                    u64::from(u32::MAX),
                    "Invalid nb_get_retry value - keepalived ignores it",
                )
                .map(|v| v as u32)
                .or(d.retry);
            cx.extra(l, 1);
        }
        "virtualhost" => {
            h.virtualhost = cx
                .arg(l, 0)
                .map(|w| w.text.clone())
                .or(h.virtualhost.take());
            cx.extra(l, 1);
        }
        "http_protocol" => {
            if let Some(p) = cx.choice(
                l,
                0,
                &["1.0", "1.0C", "1.0K", "1.1"],
                "Invalid http_protocol version {}",
            ) {
                h.http_protocol = Some(p.to_string());
            }
            cx.extra(l, 1);
        }
        "enable_sni" => h.enable_sni = cx.flag(l, "enable_sni").or(h.enable_sni),
        "fast_recovery" => h.fast_recovery = cx.flag(l, "fast_recovery").or(h.fast_recovery),
        "url" => {
            cx.extra(l, 0);
            let Some(b) = cx.block(l) else { return };
            let mut u = Url {
                at: l.pos(),
                path: String::new(),
                digest: None,
                status_code: Vec::new(),
                virtualhost: None,
                regex: None,
            };
            let mut has_path = false;
            for x in &b.nodes {
                match x.keyword() {
                    "path" => {
                        if let Some(w) = cx.arg(x, 0) {
                            u.path = w.text.clone();
                            has_path = true;
                        }
                        cx.extra(x, 1);
                    }
                    "digest" => {
                        let Some(w) = cx.arg(x, 0) else { continue };
                        cx.extra(x, 1);
                        if u.digest.is_some() {
                            cx.error(
                                DiagKind::Duplicate,
                                w.pos,
                                w.text.clone(),
                                format!("Digest '{}' is a duplicate", w.text),
                            );
                        } else if w.text.len() != 32 {
                            cx.error(
                                DiagKind::InvalidValue,
                                w.pos,
                                w.text.clone(),
                                format!(
                                    "digest '{}' character length should be 32 rather than {}",
                                    w.text,
                                    w.text.len()
                                ),
                            )
                            .hint = Some("the MD5 of the page, as `genhash` prints it".into());
                        } else if !w.text.bytes().all(|c| c.is_ascii_hexdigit()) {
                            cx.error(
                                DiagKind::InvalidValue,
                                w.pos,
                                w.text.clone(),
                                format!("Unable to interpret hex digit in '{}'", w.text),
                            );
                        } else {
                            u.digest = Some(w.text.to_ascii_lowercase());
                        }
                    }
                    "status_code" => {
                        cx.arg(x, 0);
                        for w in x.args() {
                            let range = match w.text.split_once('-') {
                                Some((a, b)) => (a.parse::<u16>().ok(), b.parse::<u16>().ok()),
                                None => (w.text.parse().ok(), w.text.parse().ok()),
                            };
                            match range {
                                (Some(a), Some(b))
                                    if (100..=599).contains(&a)
                                        && (100..=599).contains(&b)
                                        && a <= b =>
                                {
                                    u.status_code.push((a, b))
                                }
                                _ => {
                                    cx.error(
                                        DiagKind::InvalidValue,
                                        w.pos,
                                        w.text.clone(),
                                        format!("Invalid HTTP_GET status code '{}'", w.text),
                                    )
                                    .hint =
                                        Some("a code 100..599, or a range such as 200-299".into());
                                }
                            }
                        }
                    }
                    "virtualhost" => {
                        u.virtualhost = cx.arg(x, 0).map(|w| w.text.clone());
                        cx.extra(x, 1);
                    }
                    "regex" => u.regex = cx.arg(x, 0).map(|w| w.text.clone()),
                    _ => {
                        let mut um = Vec::new();
                        cx.other(x, crate::config::keywords::Ctx::Url, &mut um);
                        continue;
                    }
                }
                cx.no_block(x, crate::config::keywords::Ctx::Url);
            }
            if !has_path {
                cx.error(
                    DiagKind::MissingSetting,
                    l.pos(),
                    "url",
                    "HTTP/SSL_GET checker url has no path - ignoring",
                );
                return;
            }
            if u.status_code.is_empty() {
                u.status_code.push((200, 299));
            }
            h.urls.push(u);
        }
        _ => {}
    }
}

/// Resolves inherited values: written on the checker, else the real
/// server's, else (for retry and delay_before_retry) the checker's default.
pub(crate) fn finish_checkers(_cx: &mut Cx, rs: &mut RealServer, drafts: Vec<CheckDraft>) {
    for (c, d) in rs.checkers.iter_mut().zip(drafts) {
        c.alpha = d.alpha.unwrap_or(rs.alpha);
        c.connect_timeout = d.connect_timeout.unwrap_or(rs.connect_timeout);
        c.delay_loop = d.delay_loop.unwrap_or(rs.delay_loop);
        c.retry = d.retry.or(rs.retry).unwrap_or(d.default_retry);
        c.warmup = d.warmup.or(rs.warmup).unwrap_or(c.delay_loop);
        c.delay_before_retry = d
            .delay_before_retry
            .or(rs.delay_before_retry)
            .or(d.default_delay_before_retry)
            .unwrap_or(c.delay_loop);
    }
}

/// A keyword's arguments as one string, as keepalived's `make_strvec_str`.
fn joined(l: &Node) -> String {
    l.args()
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

//! Health checkers of a `real_server`.

use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;

use super::{RawItem, Script, ser};
use crate::config::text::Pos;

/// Where a checker connects; defaults are the real server's address and port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
}

/// A checker, with the timing values it inherits resolved: written, else
/// the real server's, else the virtual server's, else the checker's default.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checker {
    #[serde(skip)]
    pub at: Pos,
    pub kind: CheckerKind,
    pub connection: Connection,
    /// Written, else real server's, else virtual server's (default 5 s).
    #[serde(serialize_with = "ser::secs")]
    pub connect_timeout: Duration,
    /// Default 1; DNS_CHECK 3; MISC_CHECK 0.
    pub retry: u32,
    /// Default 1 s; HTTP_GET/SSL_GET 3 s; DNS_CHECK the delay_loop.
    #[serde(serialize_with = "ser::secs")]
    pub delay_before_retry: Duration,
    /// Default the delay_loop.
    #[serde(serialize_with = "ser::secs")]
    pub warmup: Duration,
    /// Default the real server's (itself default the virtual server's, 60 s).
    #[serde(serialize_with = "ser::secs")]
    pub delay_loop: Duration,
    pub alpha: bool,
    pub log_all_failures: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<RawItem>,
}

/// The checker type and what is specific to it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum CheckerKind {
    #[serde(rename = "HTTP_GET")]
    HttpGet(HttpCheck),
    #[serde(rename = "SSL_GET")]
    SslGet(HttpCheck),
    #[serde(rename = "TCP_CHECK")]
    Tcp,
    #[serde(rename = "SMTP_CHECK")]
    Smtp(SmtpCheck),
    #[serde(rename = "MISC_CHECK")]
    Misc(MiscCheck),
    #[serde(rename = "DNS_CHECK")]
    Dns(DnsCheck),
    #[serde(rename = "PING_CHECK")]
    Ping,
    #[serde(rename = "UDP_CHECK")]
    Udp(UdpCheck),
    #[serde(rename = "FILE_CHECK")]
    File(FileCheck),
    #[serde(rename = "BFD_CHECK")]
    Bfd(BfdCheck),
}

impl CheckerKind {
    pub fn name(&self) -> &'static str {
        match self {
            CheckerKind::HttpGet(_) => "HTTP_GET",
            CheckerKind::SslGet(_) => "SSL_GET",
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
        }
    }
}

/// HTTP_GET / SSL_GET.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpCheck {
    pub urls: Vec<Url>,
    pub virtualhost: Option<String>,
    pub http_protocol: Option<String>,
    pub enable_sni: Option<bool>,
    pub fast_recovery: Option<bool>,
}

/// `url { path P  digest D  status_code C... }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Url {
    #[serde(skip)]
    pub at: Pos,
    pub path: String,
    /// MD5 of the body, 32 hex digits, lower case.
    pub digest: Option<String>,
    /// Accepted codes as inclusive ranges; default 200-299.
    pub status_code: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
    pub regex: Option<String>,
}

/// SMTP_CHECK; `host { }` blocks (deprecated) are extra connections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmtpCheck {
    /// Default `smtpchecker.keepalived.org`.
    pub helo_name: String,
    pub hosts: Vec<Connection>,
}

/// MISC_CHECK.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MiscCheck {
    pub misc_path: Option<Script>,
    /// `None`: the delay_loop.
    #[serde(serialize_with = "ser::opt_secs")]
    pub misc_timeout: Option<Duration>,
    pub misc_dynamic: bool,
    pub user: Option<String>,
    pub group: Option<String>,
}

/// DNS_CHECK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsCheck {
    /// Default SOA.
    pub query_type: String,
    /// Default "" (the root).
    pub name: String,
}

/// UDP_CHECK.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UdpCheck {
    pub payload: Option<String>,
    pub require_reply: Option<String>,
    pub min_reply_length: Option<u32>,
    pub max_reply_length: Option<u32>,
}

/// FILE_CHECK.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    pub track_file: Option<String>,
    pub weight: Option<i32>,
    pub reverse: bool,
}

/// BFD_CHECK.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BfdCheck {
    pub name: Option<String>,
}

//! What the driver needs to run one probe, resolved from the config.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::CheckError;
use crate::config::model::Script;
use crate::config::model::check::{Checker as CheckerConf, CheckerKind, Connection, Url};

/// Where and how to connect: the real server's address unless
/// `connect_ip`/`connect_port` override it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conn {
    pub dst: SocketAddr,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
    /// The driver gives up and reports [`super::ProbeResult::Timeout`] after this.
    pub connect_timeout: Duration,
}

impl Conn {
    pub(crate) fn new(c: &Connection, rs: SocketAddr, connect_timeout: Duration) -> Self {
        Conn {
            dst: SocketAddr::new(
                c.connect_ip.unwrap_or(rs.ip()),
                c.connect_port.unwrap_or(rs.port()),
            ),
            bindto: c.bindto,
            bind_port: c.bind_port,
            bind_if: c.bind_if.clone(),
            fwmark: c.fwmark,
            connect_timeout,
        }
    }
}

/// One `url { }` of HTTP_GET / SSL_GET: the probe fetches `path` and judges
/// the answer with [`super::http::judge`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlProbe {
    pub path: String,
    /// Expected MD5 of the body, hex.
    pub digest: Option<String>,
    /// Accepted codes, inclusive ranges; empty means keepalived's 200-299.
    pub status_codes: Vec<(u16, u16)>,
    /// The url's own virtualhost, else the checker's.
    pub virtualhost: Option<String>,
}

impl UrlProbe {
    fn new(u: &Url, vhost: &Option<String>) -> Self {
        UrlProbe {
            path: u.path.clone(),
            digest: u.digest.clone(),
            status_codes: u.status_code.clone(),
            virtualhost: u.virtualhost.clone().or_else(|| vhost.clone()),
        }
    }
}

/// Everything the driver needs to run one probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeSpec {
    Tcp {
        conn: Conn,
    },
    /// HTTP_GET (`tls` false) or SSL_GET: one url per probe, as keepalived
    /// walks the urls one at a time.
    Http {
        conn: Conn,
        tls: bool,
        url: UrlProbe,
        http_protocol: Option<String>,
        enable_sni: bool,
    },
    Smtp {
        conn: Conn,
        helo_name: String,
    },
    Dns {
        conn: Conn,
        query_type: String,
        name: String,
    },
    Ping {
        conn: Conn,
    },
    Udp {
        conn: Conn,
        payload: Option<String>,
        require_reply: Option<String>,
        min_reply_length: Option<u32>,
        max_reply_length: Option<u32>,
    },
    /// Run `script` without a shell; kill it after `timeout` and report
    /// [`super::ProbeResult::Timeout`]. Its `user`/`group` are the
    /// MISC_CHECK's `user` line; the driver falls back to global_defs'
    /// `script_user` as for any script.
    Misc {
        script: Script,
        timeout: Duration,
    },
}

/// The probe template and, for HTTP, the urls it walks.
pub(crate) fn resolve(
    c: &CheckerConf,
    rs: SocketAddr,
) -> Result<(ProbeSpec, Vec<UrlProbe>), CheckError> {
    let conn = Conn::new(&c.connection, rs, c.connect_timeout);
    let spec = match &c.kind {
        CheckerKind::Tcp => ProbeSpec::Tcp { conn },
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => {
            let urls: Vec<UrlProbe> = h
                .urls
                .iter()
                .map(|u| UrlProbe::new(u, &h.virtualhost))
                .collect();
            let first = urls.first().cloned().ok_or(CheckError::NoUrl)?;
            let tls = matches!(c.kind, CheckerKind::SslGet(_));
            let spec = ProbeSpec::Http {
                conn,
                tls,
                url: first,
                http_protocol: h.http_protocol.clone(),
                // Off unless written (keepalived zero-initialises it).
                enable_sni: h.enable_sni.unwrap_or(false),
            };
            return Ok((spec, urls));
        }
        CheckerKind::Smtp(s) => ProbeSpec::Smtp {
            conn,
            helo_name: s.helo_name.clone(),
        },
        CheckerKind::Dns(d) => ProbeSpec::Dns {
            conn,
            query_type: d.query_type.clone(),
            name: d.name.clone(),
        },
        CheckerKind::Ping => ProbeSpec::Ping { conn },
        CheckerKind::Udp(u) => ProbeSpec::Udp {
            conn,
            payload: u.payload.clone(),
            require_reply: u.require_reply.clone(),
            min_reply_length: u.min_reply_length,
            max_reply_length: u.max_reply_length,
        },
        CheckerKind::Misc(m) => {
            let script = m.misc_path.as_ref().ok_or(CheckError::NoMiscPath)?;
            let (user, group) = match &m.user {
                Some(user) => (Some(user.clone()), m.group.clone()),
                None => (script.user.clone(), script.group.clone()),
            };
            ProbeSpec::Misc {
                script: Script {
                    user,
                    group,
                    ..script.clone()
                },
                // keepalived falls back to the delay_loop (the virtual server's).
                timeout: m.misc_timeout.unwrap_or(c.delay_loop),
            }
        }
        CheckerKind::File(_) | CheckerKind::Bfd(_) => {
            return Err(CheckError::NotProbing(c.kind.name()));
        }
    };
    Ok((spec, Vec::new()))
}

//! keepalived's `smtp_alert` mails on VRRP state changes (`core/smtp.c`,
//! `vrrp_notify.c`): HELO, MAIL FROM, one RCPT TO per `notification_email`,
//! DATA with keepalived's headers, subject and body, QUIT.
//!
//! Each mail is a task of its own on the VRRP thread's runtime: it only
//! awaits the socket, so a slow or dead mail server never delays an advert.
//! Every step is bounded by `smtp_connect_timeout`, as keepalived bounds
//! each of its reads and writes.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tracing::{info, warn};
use vigil_core::config::Config;
use vigil_core::vrrp::State;

use super::notify;
use crate::error::{Error, Result};

/// What every mail shares, taken from global_defs.
#[derive(Clone, Debug)]
struct Envelope {
    server: SocketAddr,
    helo: String,
    from: String,
    to: Vec<String>,
    router_id: String,
    timeout: Duration,
}

/// Sends the alerts of a config; without `smtp_server` or recipients it
/// sends nothing, as keepalived.
pub struct SmtpAlerts(Option<Envelope>);

impl SmtpAlerts {
    pub fn new(config: &Config) -> SmtpAlerts {
        let g = &config.global;
        let server = g.smtp_server.as_ref().and_then(|s| {
            // keepalived resolves a name once at start; so do we.
            let ip = s.ip.or_else(|| resolve(&s.host))?;
            Some(SocketAddr::new(ip, s.port))
        });
        let envelope = server
            .filter(|_| !g.notification_email.is_empty())
            .map(|server| {
                let host = hostname();
                Envelope {
                    server,
                    helo: g
                        .smtp_helo_name
                        .clone()
                        .unwrap_or_else(|| "localhost".into()),
                    from: g
                        .notification_email_from
                        .clone()
                        .unwrap_or_else(|| format!("{}@{host}", user_name())),
                    to: g.notification_email.clone(),
                    router_id: g.router_id.clone().unwrap_or(host),
                    timeout: g.smtp_connect_timeout,
                }
            });
        SmtpAlerts(envelope)
    }

    /// Mails an instance's state change if the instance has `smtp_alert`.
    pub fn instance(&self, config: &Config, name: &str, to: State) {
        if config.instance(name).is_some_and(|i| i.smtp_alert) {
            self.send(false, name, to);
        }
    }

    /// Mails a sync group's state change if the group (else global_defs)
    /// asks for it.
    pub fn group(&self, config: &Config, name: &str, to: State) {
        let g = &config.global;
        let wanted = config
            .sync_groups
            .iter()
            .find(|s| s.name == name)
            .is_some_and(|s| {
                s.smtp_alert
                    .or(g.smtp_alert_vrrp)
                    .or(g.smtp_alert)
                    .unwrap_or(false)
            });
        if wanted {
            self.send(true, name, to);
        }
    }

    /// keepalived's subject and body lines for each state.
    fn send(&self, group: bool, name: &str, to: State) {
        let (Some(envelope), Some(word)) = (&self.0, notify::state_word(to)) else {
            return;
        };
        let subject = match to {
            State::Stopped => "Stopping".to_string(),
            _ => format!("Entering {word} state"),
        };
        let body = match (group, to) {
            (false, State::Master) => "VRRP Instance is now owning VRRP VIPs".to_string(),
            (false, State::Stopped) => "VRRP Instance stopping".to_string(),
            (false, _) => "VRRP Instance is no longer owning VRRP VIPs".to_string(),
            (true, State::Stopped) => "All VRRP group instances are now stopping".to_string(),
            (true, _) => format!("All VRRP group instances are now in {word} state"),
        };
        let kind = if group { "Group" } else { "Instance" };
        let subject = format!("[{}] VRRP {kind} {name} - {subject}", envelope.router_id);
        let body = format!("=> {body} <=");
        let envelope = envelope.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(envelope.timeout * 8, deliver(&envelope, &subject, &body))
                .await
            {
                Ok(Ok(())) => info!("SMTP alert successfully sent."),
                Ok(Err(e)) => warn!("SMTP alert to {}: {e}", envelope.server),
                Err(_) => warn!("SMTP alert to {}: timed out", envelope.server),
            }
        });
    }
}

/// The dialogue of `core/smtp.c`, each reply checked for its code.
async fn deliver(e: &Envelope, subject: &str, body: &str) -> Result<()> {
    let step = |what: &'static str| move |_| Error::Command(format!("SMTP {what}: timed out"));
    let stream = tokio::time::timeout(e.timeout, TcpStream::connect(e.server))
        .await
        .map_err(step("connect"))?
        .map_err(Error::io(format!("connecting to {}", e.server)))?;
    let mut s = BufReader::new(stream);
    let mut talk = async |line: Option<String>, code: u16| -> Result<()> {
        if let Some(line) = line {
            s.get_mut()
                .write_all(line.as_bytes())
                .await
                .map_err(Error::io("SMTP write"))?;
        }
        reply(&mut s, code, e.timeout).await
    };
    talk(None, 220).await?;
    talk(Some(format!("HELO {}\r\n", e.helo)), 250).await?;
    talk(Some(format!("MAIL FROM:<{}>\r\n", e.from)), 250).await?;
    for to in &e.to {
        talk(Some(format!("RCPT TO:<{to}>\r\n")), 250).await?;
    }
    talk(Some("DATA\r\n".into()), 354).await?;
    let data = format!(
        "Date: {}\r\nFrom: {}\r\nSubject: {subject}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{body}\r\n\r\n.\r\n",
        rfc822_now(),
        e.from,
        e.to.join(", ")
    );
    talk(Some(data), 250).await?;
    talk(Some("QUIT\r\n".into()), 221).await
}

/// Reads one reply (continuation lines `NNN-` included) and checks its code.
async fn reply(s: &mut BufReader<TcpStream>, code: u16, timeout: Duration) -> Result<()> {
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(timeout, s.read_line(&mut line))
            .await
            .map_err(|_| Error::Command("SMTP reply: timed out".into()))?
            .map_err(Error::io("SMTP read"))?;
        if n == 0 {
            return Err(Error::Command("SMTP server closed the connection".into()));
        }
        if line.as_bytes().get(3) == Some(&b'-') {
            continue;
        }
        return match line.get(..3).and_then(|c| c.parse::<u16>().ok()) {
            Some(c) if c == code => Ok(()),
            _ => Err(Error::Command(format!(
                "SMTP server said {:?}, expected {code}",
                line.trim_end()
            ))),
        };
    }
}

fn resolve(host: &str) -> Option<IpAddr> {
    use std::net::ToSocketAddrs;
    (host, 0).to_socket_addrs().ok()?.next().map(|a| a.ip())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The daemon's user name, for the default sender `user@host`.
fn user_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map_or_else(|| "root".into(), |u| u.name)
}

/// Local time as keepalived writes it: `Mon, 01 Mar 2021 09:44:08 +0000`.
fn rfc822_now() -> String {
    let mut buf = [0u8; 80];
    // SAFETY: time/localtime_r/strftime on our own buffers; strftime
    // returns how many bytes it wrote (0 on overflow).
    let n = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%a, %d %b %Y %H:%M:%S %z".as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

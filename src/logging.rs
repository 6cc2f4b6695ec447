//! Where `vigil run` logs: stderr (text or JSON lines), or syslog through
//! the local `/dev/log` datagram socket, as keepalived does by default.

use std::io::{self, IsTerminal, Write};
use std::os::unix::net::UnixDatagram;

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, fields included.
    Json,
}

/// The local syslog socket.
const DEV_LOG: &str = "/dev/log";

/// Installs the global subscriber; `RUST_LOG` overrides the `info` default.
pub fn init(format: LogFormat, syslog: bool) -> io::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let installed = if syslog {
        let sock = UnixDatagram::unbound()?;
        sock.connect(DEV_LOG)
            .map_err(|e| io::Error::new(e.kind(), format!("{DEV_LOG}: {e}")))?;
        let writer = Syslog::new(sock);
        // syslog stamps the time and carries the level as the priority.
        let builder = builder
            .with_writer(writer)
            .with_ansi(false)
            .without_time()
            .with_level(false);
        match format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().try_init(),
        }
    } else {
        let builder = builder
            .with_writer(io::stderr)
            .with_ansi(io::stderr().is_terminal());
        match format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().try_init(),
        }
    };
    installed.map_err(io::Error::other)
}

/// Sends each formatted event as one syslog datagram (RFC 3164 style, facility
/// daemon, tagged `vigil[pid]`).
struct Syslog {
    sock: UnixDatagram,
    tag: String,
}

impl Syslog {
    fn new(sock: UnixDatagram) -> Self {
        Syslog {
            sock,
            tag: format!("vigil[{}]", std::process::id()),
        }
    }
}

/// The facility `daemon` (3), shifted as syslog's PRI wants it.
const FACILITY_DAEMON: u8 = 3 << 3;

fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// One event, collected until the formatter drops it; the formatter writes an
/// event in one piece, so each drop is one whole line.
struct SyslogLine<'a> {
    syslog: &'a Syslog,
    severity: u8,
    buf: Vec<u8>,
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = SyslogLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        self.line(severity(&Level::INFO))
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        self.line(severity(meta.level()))
    }
}

impl Syslog {
    fn line(&self, severity: u8) -> SyslogLine<'_> {
        SyslogLine {
            syslog: self,
            severity,
            buf: Vec::new(),
        }
    }
}

impl Write for SyslogLine<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine<'_> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim_end();
        if text.is_empty() {
            return;
        }
        let pri = FACILITY_DAEMON | self.severity;
        let datagram = format!("<{pri}>{}: {text}", self.syslog.tag);
        // A syslog that is down or full must not stop the daemon: the line is lost.
        let _ = self.syslog.sock.send(datagram.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_is_one_datagram_with_priority_and_tag() {
        let (a, b) = UnixDatagram::pair().expect("socketpair");
        let syslog = Syslog::new(a);
        {
            let mut w = syslog.line(severity(&Level::WARN));
            w.write_all(b"(VI_1) Entering MASTER STATE\n").unwrap();
        }
        let mut buf = [0u8; 256];
        let n = b.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert_eq!(
            got,
            format!(
                "<28>vigil[{}]: (VI_1) Entering MASTER STATE",
                std::process::id()
            )
        );
    }
}

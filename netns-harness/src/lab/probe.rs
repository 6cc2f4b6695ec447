//! Who answers a client: every node and server runs a responder that
//! answers with its name (over TCP as an HTTP server, so that directors'
//! HTTP_GET checks pass too), and each client probes the scenario's address
//! from its own namespace, so the kernel's neighbour caches and the
//! addresses hosts really hold decide — as in the simulator's model.
//!
//! Responders and clients are threads of the lab that entered a namespace
//! with setns(2): a socket belongs to the namespace it was made in.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use vigil_core::scenario::What;

use super::record::Recorder;
use crate::error::{Error, Result};

/// The UDP port probes of a bare address go to.
pub const UDP_PORT: u16 = 7777;

/// How often an idle responder looks for work and for the end of the run.
const POLL: Duration = Duration::from_millis(5);

/// Moves the calling thread into network namespace `ns` (`ip netns` name).
pub(super) fn enter(ns: &str) -> Result<()> {
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path).map_err(Error::io(path.clone()))?;
    // SAFETY: setns(2) on a namespace fd we hold; it changes only this thread.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(Error::io(format!("setns {path}"))(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Spawns `f` on a thread inside `ns`; it reports a failure to enter as
/// a note, since a silent responder would only look like a wrong answer.
fn spawn_in(
    ns: String,
    host: String,
    rec: Recorder,
    f: impl FnOnce() + Send + 'static,
) -> JoinHandle<()> {
    std::thread::spawn(move || match enter(&ns) {
        Ok(()) => f(),
        Err(e) => rec.log(
            &host,
            What::Note {
                text: format!("lab: {e}"),
            },
        ),
    })
}

/// A host's answering service: TCP on `ports` (closed while `up` is
/// false, as a stopped server's port is) and UDP on [`UDP_PORT`].
pub struct Responder {
    pub up: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Responder {
    pub fn spawn(
        ns: &str,
        name: &str,
        ports: Vec<u16>,
        stop: Arc<AtomicBool>,
        rec: &Recorder,
    ) -> Responder {
        let up = Arc::new(AtomicBool::new(true));
        let (up2, name2) = (up.clone(), name.to_string());
        let thread = spawn_in(ns.into(), name.into(), rec.clone(), move || {
            serve(&name2, &ports, &up2, &stop)
        });
        Responder { up, thread }
    }

    pub fn join(self) {
        // A responder that panicked shows in the probes' answers.
        let _ = self.thread.join();
    }
}

fn any(port: u16) -> SocketAddr {
    // [::] takes IPv4 as well (IPV6_V6ONLY is off by default on Linux).
    SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
}

fn serve(name: &str, ports: &[u16], up: &AtomicBool, stop: &AtomicBool) {
    let udp = UdpSocket::bind(any(UDP_PORT)).ok();
    if let Some(u) = &udp {
        // Without non-blocking reads the loop could not see `stop`.
        let _ = u.set_nonblocking(true);
    }
    let mut listeners: Vec<TcpListener> = Vec::new();
    let mut buf = [0u8; 64];
    while !stop.load(Ordering::Relaxed) {
        let wanted = up.load(Ordering::Relaxed);
        if wanted && listeners.is_empty() {
            listeners = ports
                .iter()
                .filter_map(|p| TcpListener::bind(any(*p)).ok())
                .inspect(|l| {
                    let _ = l.set_nonblocking(true);
                })
                .collect();
        } else if !wanted {
            listeners.clear();
        }
        let mut busy = false;
        for l in &listeners {
            if let Ok((conn, _)) = l.accept() {
                busy = true;
                let name = name.to_owned();
                // A slow or silent client must not hold up the others.
                std::thread::spawn(move || answer(conn, &name));
            }
        }
        if wanted
            && let Some(u) = &udp
            && let Ok((n, from)) = u.recv_from(&mut buf)
        {
            busy = true;
            // The probe's sequence number, then our name.
            let mut reply = buf[..n].to_vec();
            reply.push(b' ');
            reply.extend_from_slice(name.as_bytes());
            let _ = u.send_to(&reply, from);
        }
        if !busy {
            std::thread::sleep(POLL);
        }
    }
}

/// The longest request a responder reads before answering.
const REQUEST_MAX: usize = 16 * 1024;

/// Answers one TCP connection as an HTTP server would, with the host's
/// name as the body; a TCP_CHECK only connects. The request is read first
/// (to its blank line, or a second of silence): closing with unread data
/// would reset the connection under the answer.
fn answer(mut conn: TcpStream, name: &str) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < REQUEST_MAX {
        match conn.read(&mut buf) {
            Ok(n) if n > 0 => request.extend_from_slice(&buf[..n]),
            // Gone, or silent: answer what was asked so far.
            _ => break,
        }
    }
    let reply = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{name}",
        name.len()
    );
    // A client that went away already has its answer or none.
    let _ = conn.write_all(reply.as_bytes());
}

/// A client probing its target every `every` from the scenario's start
/// until `end`; it logs an answer when it differs from the last one.
pub fn spawn_client(
    ns: &str,
    name: &str,
    target: &str,
    every: Duration,
    end: Duration,
    stop: Arc<AtomicBool>,
    rec: &Recorder,
) -> Result<JoinHandle<()>> {
    let addr: SocketAddr = target
        .parse::<IpAddr>()
        .map(|a| SocketAddr::new(a, UDP_PORT))
        .or_else(|_| target.parse::<SocketAddr>())
        .map_err(|_| {
            Error::Config(format!(
                "client {name}: probe {target:?} is not an address or address:port"
            ))
        })?;
    let tcp = target.parse::<IpAddr>().is_err();
    let every = every.max(Duration::from_millis(10));
    // Long enough for a loaded machine, short enough to keep the beat.
    let patience = every.min(Duration::from_millis(500));
    let (name2, target2, rec2) = (name.to_string(), target.to_string(), rec.clone());
    Ok(spawn_in(ns.into(), name.into(), rec.clone(), move || {
        let mut last: Option<Option<String>> = None;
        let mut seq = 0u64;
        let mut next = every;
        while next <= end && !stop.load(Ordering::Relaxed) {
            let now = rec2.elapsed();
            if now < next {
                std::thread::sleep((next - now).min(Duration::from_millis(50)));
                continue;
            }
            seq += 1;
            let answer = if tcp {
                ask_tcp(addr, patience)
            } else {
                ask_udp(addr, seq, patience)
            };
            if last.as_ref() != Some(&answer) {
                let what = What::Probe {
                    target: target2.clone(),
                    answered_by: answer.clone(),
                    via: None,
                };
                rec2.log_at(next, &name2, what);
                last = Some(answer);
            }
            // Beats missed while waiting are skipped, not made up.
            while next <= rec2.elapsed() {
                next += every;
            }
        }
    }))
}

/// The body of the answer to `GET /`: the responder's name.
fn ask_tcp(addr: SocketAddr, patience: Duration) -> Option<String> {
    let mut conn = TcpStream::connect_timeout(&addr, patience).ok()?;
    conn.set_read_timeout(Some(patience)).ok()?;
    conn.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply).ok()?;
    let (_, name) = reply.split_once("\r\n\r\n")?;
    Some(name.trim().to_string()).filter(|n| !n.is_empty())
}

fn ask_udp(addr: SocketAddr, seq: u64, patience: Duration) -> Option<String> {
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => "0.0.0.0:0".parse().ok()?,
        SocketAddr::V6(_) => "[::]:0".parse().ok()?,
    };
    let sock = UdpSocket::bind(local).ok()?;
    sock.set_read_timeout(Some(patience)).ok()?;
    sock.send_to(seq.to_string().as_bytes(), addr).ok()?;
    let mut buf = [0u8; 128];
    let until = std::time::Instant::now() + patience;
    while std::time::Instant::now() < until {
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                // Only the answer to this probe: a late one is for an earlier.
                if let Some((s, name)) = text.split_once(' ')
                    && s == seq.to_string()
                {
                    return Some(name.to_string());
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    None
}

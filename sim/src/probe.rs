//! Health-check probes of a director node, over turmoil's TCP.
//!
//! turmoil has no VIPs and no routes, so the address a probe targets is
//! resolved to a host by the world ([`World::reachable_from`]) and the probe
//! connects to that host's name. TCP_CHECK connects; HTTP_GET / SSL_GET
//! send keepalived's request and judge the answer with the core (TLS is
//! not simulated: the servers speak plain HTTP); SMTP, DNS and UDP checks
//! are judged by a TCP connect to their port; PING by reachability;
//! MISC_CHECK exits with the result a `script` step gave its program
//! (0 until then).

use crate::world::World;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::TcpStream;
use vigil_core::check::http::{HttpResponse, to_result};
use vigil_core::check::{Conn, ProbeResult, ProbeSpec};

/// Runs one probe from node host `i`.
pub async fn run(i: usize, world: Rc<RefCell<World>>, spec: ProbeSpec) -> ProbeResult {
    match &spec {
        ProbeSpec::Tcp { conn }
        | ProbeSpec::Smtp { conn, .. }
        | ProbeSpec::Dns { conn, .. }
        | ProbeSpec::Udp { conn, .. } => match connect(i, &world, conn).await {
            Ok(_) => ProbeResult::Ok,
            Err(r) => r,
        },
        ProbeSpec::Ping { conn } => {
            let mut w = world.borrow_mut();
            match w.reachable_from(i, conn.dst.ip()) {
                Some(_) => ProbeResult::Ok,
                None => ProbeResult::Timeout,
            }
        }
        ProbeSpec::Http { conn, url, .. } => {
            let mut stream = match connect(i, &world, conn).await {
                Ok(s) => s,
                Err(r) => return r,
            };
            let request = format!(
                "GET {} HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: {}\r\n\r\n",
                url.path,
                url.virtualhost
                    .clone()
                    .unwrap_or_else(|| conn.dst.to_string())
            );
            let exchange = async {
                stream.write_all(request.as_bytes()).await?;
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer).await?;
                Ok::<_, std::io::Error>(answer)
            };
            match tokio::time::timeout(conn.connect_timeout, exchange).await {
                Err(_) => ProbeResult::Timeout,
                Ok(Err(e)) => ProbeResult::Failed(e.to_string()),
                Ok(Ok(answer)) => to_result(url, &parse_response(&answer)),
            }
        }
        ProbeSpec::Misc { script, .. } => {
            let w = world.borrow();
            let program = script.args.first().cloned().unwrap_or_default();
            let code = w.hosts[i]
                .script_results
                .get(&program)
                .copied()
                .unwrap_or(0);
            ProbeResult::Exited(u8::try_from(code.clamp(0, 255)).unwrap_or(u8::MAX))
        }
    }
}

/// Connects to whoever answers `conn.dst` for host `i`, within the
/// connect timeout: refused by a host that does not listen, unanswered
/// when no host is there.
async fn connect(
    i: usize,
    world: &Rc<RefCell<World>>,
    conn: &Conn,
) -> Result<TcpStream, ProbeResult> {
    let target = world.borrow_mut().reachable_from(i, conn.dst.ip());
    let Some(host) = target else {
        // Nobody there: an unanswered SYN, as on a wire.
        tokio::time::sleep(conn.connect_timeout).await;
        return Err(ProbeResult::Timeout);
    };
    let dst = SocketAddr::new(turmoil::lookup(host.as_str()), conn.dst.port());
    match tokio::time::timeout(
        conn.connect_timeout.max(Duration::from_millis(1)),
        TcpStream::connect(dst),
    )
    .await
    {
        Err(_) => Err(ProbeResult::Timeout),
        Ok(Err(e)) => Err(ProbeResult::Failed(e.to_string())),
        Ok(Ok(s)) => Ok(s),
    }
}

/// The status line and the body's MD5 of an HTTP answer.
fn parse_response(answer: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&answer[answer.len()..], |p| &answer[p + 4..]);
    HttpResponse {
        status,
        body_md5: md5::compute(body).0,
        empty: answer.is_empty(),
    }
}

//! A `[[server]]` host: a real server behind the directors. It answers
//! every connection on its port with an HTTP/1.0 200 whose body is its
//! name, which satisfies TCP_CHECK and HTTP_GET alike; `server_down` closes
//! the port (connections are refused) and `server_up` opens it again.

use crate::world::World;
use std::cell::RefCell;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

/// How long a server waits for a request before answering anyway.
const REQUEST_WAIT: Duration = Duration::from_millis(500);

/// Runs server `i` for the whole scenario.
pub async fn host(i: usize, world: Rc<RefCell<World>>) -> turmoil::Result {
    let (wake, port, name) = {
        let w = world.borrow();
        let s = &w.servers[i];
        (s.wake.clone(), s.port, s.name.clone())
    };
    loop {
        while !world.borrow().servers[i].up {
            wake.notified().await;
        }
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).await?;
        while world.borrow().servers[i].up {
            tokio::select! {
                _ = wake.notified() => {}
                r = listener.accept() => {
                    let (stream, _) = r?;
                    tokio::spawn(answer(stream, name.clone()));
                }
            }
        }
    }
}

/// Reads the request (if one comes) and answers with the server's name.
async fn answer(mut stream: TcpStream, name: String) {
    let mut request = Vec::new();
    let mut buf = [0u8; 512];
    let _ = tokio::time::timeout(REQUEST_WAIT, async {
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let body = format!("{name}\n");
    let response = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

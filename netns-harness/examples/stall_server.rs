//! A real server that never answers, for scripts/bench-checkers.sh: it
//! listens on `COUNT` ports from `FIRST` on `ADDR`, accepts every
//! connection and holds it without a byte until the client gives up, so
//! every HTTP_GET waits its whole connect_timeout.
//!
//! Usage: stall_server ADDR FIRST COUNT

use std::net::{IpAddr, SocketAddr};

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, first, count] = args.as_slice() else {
        return Err("usage: stall_server ADDR FIRST COUNT".into());
    };
    let addr: IpAddr = addr.parse()?;
    let first: u16 = first.parse()?;
    let count: u16 = count.parse()?;
    // Thousands of held connections outgrow the usual soft limit of 1024.
    vigil_netns::driver::raise_file_limit();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        for port in first..first.saturating_add(count) {
            let listener = TcpListener::bind(SocketAddr::new(addr, port)).await?;
            tokio::spawn(async move {
                while let Ok((mut conn, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        // Read (and drop) what comes until the client closes.
                        let mut buf = [0u8; 512];
                        while matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {}
                    });
                }
            });
        }
        eprintln!("stalling on {count} ports from {addr}:{first}");
        std::future::pending::<std::io::Result<()>>().await
    })?;
    Ok(())
}

//! TCP_CHECK: the real server passes when a connection is established
//! within `connect_timeout` (`check_tcp.c`); nothing is sent.

use super::{Step, connect_tcp};
use vigil_core::check::{Conn, ProbeResult};

pub(super) async fn probe(conn: &Conn) -> Step<ProbeResult> {
    // Dropping the stream closes it at once, as keepalived does.
    connect_tcp(conn).await?;
    Ok(ProbeResult::Ok)
}

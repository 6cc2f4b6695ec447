//! PING_CHECK, in network namespaces made by each test: the ping socket
//! path needs `ping_group_range` to admit us, the raw path needs it not
//! to, and both are per-namespace settings.

use crate::support::{conn, has_ip, in_netns, is_root};
use std::time::{Duration, Instant};
use vigil_core::check::{ProbeResult, ProbeSpec};
use vigil_netns::driver::probe::run;

const RANGE: &str = "/proc/sys/net/ipv4/ping_group_range";
/// Admits every group: the kernel's ping sockets are used.
const PING_SOCKETS: (&str, &str) = (RANGE, "0 2147483647");
/// Admits none (the kernel's default): a raw socket is used.
const RAW_SOCKETS: (&str, &str) = (RANGE, "1 0");

fn can_run(what: &str) -> bool {
    if !is_root() {
        println!("SKIPPED: {what} needs root (network namespaces, raw sockets)");
        return false;
    }
    if !has_ip() {
        println!("SKIPPED: {what} needs ip from iproute2");
        return false;
    }
    true
}

async fn ping(dst: &str, timeout_ms: u64) -> ProbeResult {
    let dst = format!("{dst}:0").parse().expect("address");
    run(&ProbeSpec::Ping {
        conn: conn(dst, timeout_ms),
    })
    .await
}

#[test]
fn loopback_answers_through_a_ping_socket() {
    if !can_run("ping over ping sockets") {
        return;
    }
    let (v4, v6) = in_netns(&[], &[PING_SOCKETS], async || {
        (ping("127.0.0.1", 2000).await, ping("[::1]", 2000).await)
    });
    assert_eq!(v4, ProbeResult::Ok);
    assert_eq!(v6, ProbeResult::Ok);
}

#[test]
fn loopback_answers_through_a_raw_socket_when_ping_sockets_are_refused() {
    if !can_run("ping over raw sockets") {
        return;
    }
    let (v4, v6) = in_netns(&[], &[RAW_SOCKETS], async || {
        (ping("127.0.0.1", 2000).await, ping("[::1]", 2000).await)
    });
    assert_eq!(v4, ProbeResult::Ok);
    assert_eq!(v6, ProbeResult::Ok);
}

/// A neighbour that never answers ARP: the request goes nowhere.
#[test]
fn unanswered_echo_times_out() {
    if !can_run("ping timeout") {
        return;
    }
    let setup = [
        "link add vp0 type veth peer name vp1",
        "addr add 10.77.0.1/24 dev vp0",
        "link set vp0 up",
        "link set vp1 up",
    ];
    for range in [PING_SOCKETS, RAW_SOCKETS] {
        let (result, took) = in_netns(&setup, &[range], async || {
            let start = Instant::now();
            (ping("10.77.0.2", 400).await, start.elapsed())
        });
        assert_eq!(result, ProbeResult::Timeout, "{}", range.1);
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }
}

#[test]
fn no_route_fails() {
    if !can_run("ping without route") {
        return;
    }
    for range in [PING_SOCKETS, RAW_SOCKETS] {
        let result = in_netns(&[], &[range], async || ping("10.78.0.1", 2000).await);
        assert!(
            matches!(result, ProbeResult::Failed(_)),
            "{}: {result:?}",
            range.1
        );
    }
}

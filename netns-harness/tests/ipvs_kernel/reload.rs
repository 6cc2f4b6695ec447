//! SIGHUP against the kernel: `vigil run` with two NAT virtual servers
//! carries client connections, then a new config adds a real server,
//! removes one, changes a weight and adds a virtual server. After the
//! SIGHUP the kernel's table is the new config's, made by exactly those
//! changes, and the services that stayed were edited in place: their
//! connection counters (`ipvsadm -Ln --stats`), which a deleted and
//! re-added service would start again from 0, are as they were.
//!
//! ```text
//! client 10.79.0.2 ── 10.79.0.1, VIPs 10.79.0.100-102 director ── 10.79.N.1 ── 10.79.N.2:8080 rN
//! ```

use crate::require_ipvs;
use crate::support::{Netns, Server, cable_client, connect};
use crate::vigil_run::{Daemon, vigil_binary, wait_table};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};
use vigil_core::lvs::ipvs::IpvsState;

/// A = .100 with r1 and r2, B = .101 with r1.
const BEFORE: &str = "
virtual_server 10.79.0.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.79.1.2 8080 { weight 1 }
    real_server 10.79.2.2 8080 { weight 1 }
}
virtual_server 10.79.0.101 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.79.1.2 8080 { weight 1 }
}
";

/// A: r1's weight 3, r2 gone, r3 new; B unchanged; C = .102 with r2, new.
const AFTER: &str = "
virtual_server 10.79.0.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.79.1.2 8080 { weight 3 }
    real_server 10.79.3.2 8080 { weight 1 }
}
virtual_server 10.79.0.101 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.79.1.2 8080 { weight 1 }
}
virtual_server 10.79.0.102 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.79.2.2 8080 { weight 1 }
}
";

const A: &str = "10.79.0.100:80";
const B: &str = "10.79.0.101:80";
const C: &str = "10.79.0.102:80";

/// Connections each of A and B carries over the reload.
const KEPT: u64 = 2;

/// Each service's real servers and their weights, sorted.
fn weights(t: &IpvsState) -> Vec<(String, Vec<(String, u32)>)> {
    let mut out: Vec<(String, Vec<(String, u32)>)> = t
        .services
        .iter()
        .map(|s| {
            let mut d: Vec<(String, u32)> = s
                .dests
                .iter()
                .map(|d| (d.key.to_string(), d.weight))
                .collect();
            d.sort();
            (s.spec.key.to_string(), d)
        })
        .collect();
    out.sort();
    out
}

/// Each service's connection count in `ipvsadm -Ln --stats`.
fn conns(director: &Netns) -> Vec<(String, u64)> {
    let out = Command::new("ip")
        .args(["netns", "exec", &director.name, "ipvsadm", "-Ln", "--stats"])
        .output()
        .expect("run ipvsadm");
    assert!(out.status.success(), "ipvsadm -Ln --stats failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&"TCP")).then(|| (f[1].to_owned(), f[2].parse().expect("Conns")))
        })
        .collect()
}

#[test]
fn kernel_sighup_changes_only_what_the_config_changed() {
    require_ipvs!();
    let Some(vigil) = vigil_binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let client = Netns::new("hup-client");
    let director = Netns::new("hup-director");
    let servers: Vec<Netns> = (1..=3).map(|n| Netns::new(&format!("hup-r{n}"))).collect();
    cable_client(&client, &director);
    for vip in [A, B, C] {
        let ip = vip.trim_end_matches(":80");
        director.ip(&format!("addr add {ip}/32 dev d0"));
    }
    director.ip("link set d0 up");
    for (i, s) in servers.iter().enumerate() {
        let n = i + 1;
        director.ip(&format!(
            "link add s{n} type veth peer name eth0 netns {}",
            s.name
        ));
        director.ip(&format!("addr add 10.79.{n}.1/24 dev s{n}"));
        director.ip(&format!("link set s{n} up"));
        s.ip(&format!("addr add 10.79.{n}.2/24 dev eth0"));
        s.ip("link set eth0 up");
        s.ip(&format!("route add default via 10.79.{n}.1"));
    }
    director.run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("ip_forward"));
    let _listeners: Vec<Server> = servers
        .iter()
        .map(|s| s.run(|| Server::start(8080, "rN")))
        .collect();

    let daemon = Daemon::start(&vigil, &director, dir.path(), BEFORE, &[]);
    let w = |s: &str, d: &[(&str, u32)]| {
        let d = d.iter().map(|(a, w)| (format!("{a}:8080"), *w)).collect();
        (format!("-t {s}"), d)
    };
    wait_table(
        &director,
        &daemon,
        "BEFORE programmed",
        Duration::from_secs(10),
        |t| {
            weights(t)
                == vec![
                    w(A, &[("10.79.1.2", 1), ("10.79.2.2", 1)]),
                    w(B, &[("10.79.1.2", 1)]),
                ]
        },
    );

    // Connections through A and B, held open over the reload.
    let held: Vec<TcpStream> = client.run(|| {
        [A, A, B, B]
            .iter()
            .enumerate()
            .map(|(i, vip)| {
                let src: SocketAddr = format!("10.79.0.2:{}", 41000 + i).parse().expect("src");
                let dst: SocketAddr = vip.parse().expect("VIP");
                connect(src, dst).unwrap_or_else(|e| panic!("{src} -> {dst}: {e}"))
            })
            .collect()
    });
    // The kernel's estimator copies the counters out every 2 s.
    let counted = vec![(A.to_owned(), KEPT), (B.to_owned(), KEPT)];
    let started = Instant::now();
    while conns(&director) != counted {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the connections were never counted: {:?}",
            conns(&director)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let before = daemon.log().len();
    daemon.reload(AFTER);
    wait_table(
        &director,
        &daemon,
        "AFTER programmed",
        Duration::from_secs(20),
        |t| {
            weights(t)
                == vec![
                    w(A, &[("10.79.1.2", 3), ("10.79.3.2", 1)]),
                    w(B, &[("10.79.1.2", 1)]),
                    w(C, &[("10.79.2.2", 1)]),
                ]
        },
    );
    let log = daemon.log();
    let mut changes: Vec<&str> = log[before..]
        .lines()
        .filter_map(|l| l.split_once("INFO ipvsadm ").map(|(_, op)| op))
        .collect();
    changes.sort();
    assert_eq!(
        changes,
        [
            "-A -t 10.79.0.102:80 -s rr",
            "-a -t 10.79.0.100:80 -r 10.79.3.2:8080 -m -w 1",
            "-a -t 10.79.0.102:80 -r 10.79.2.2:8080 -m -w 1",
            "-d -t 10.79.0.100:80 -r 10.79.2.2:8080",
            "-e -t 10.79.0.100:80 -r 10.79.1.2:8080 -m -w 3",
        ],
        "the SIGHUP's changes, and no others:\n{log}"
    );
    let mut after = conns(&director);
    after.retain(|(s, _)| s != C);
    assert_eq!(after, counted, "A and B kept their counters");
    drop(held);
    daemon.stop();
}

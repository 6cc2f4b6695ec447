//! `vigil run` programming the kernel's IPVS: the built binary runs in a
//! director namespace with one NAT virtual server whose two real servers
//! are TCP listeners in namespaces of their own, and the test reads the
//! kernel's table (through [`Ipvs::dump`]) as its checks pass and fail.
//!
//! ```text
//! director ─ s1 10.78.1.1 ── 10.78.1.2:8080 r1
//!          ─ s2 10.78.2.1 ── 10.78.2.2:8080 r2      VIP 10.78.0.100:80, sorry 10.78.3.2:8080
//! ```

use crate::require_ipvs;
use crate::support::{Netns, Server, cable_client, connect};
use crate::vigil_run::{Daemon, table, vigil_binary, wait_table};
use std::io::Read;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use vigil_core::lvs::Protocol;
use vigil_core::lvs::ipvs::{DestEntry, Forward, IpvsOp, ServiceKey, ServiceSpec};
use vigil_core::lvs::{Algorithm, SchedFlags};
use vigil_netns::driver::ipvs::Ipvs;

const R1: &str = "10.78.1.2:8080";
const R2: &str = "10.78.2.2:8080";
const SORRY: &str = "10.78.3.2:8080";
/// A service the config does not name: vigil must leave it alone.
const FOREIGN: &str = "10.78.0.200:80";

/// How long a verdict may take: delay_loop 1 s + retry 1 × delay_before_retry
/// 1 s, plus slack for the emulated VM.
const VERDICT: Duration = Duration::from_secs(8);

const CONF: &str = "\
virtual_server 10.78.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server 10.78.3.2 8080
    real_server 10.78.1.2 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.78.2.2 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a literal address")
}

fn key(s: &str) -> ServiceKey {
    let a = addr(s);
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: a.ip(),
        port: a.port(),
    }
}

/// The destinations of `service` in the director's kernel table, `None`
/// when the service is not there.
fn dests(director: &Netns, service: &str) -> Option<Vec<SocketAddr>> {
    let k = key(service);
    let s = table(director)
        .services
        .into_iter()
        .find(|s| s.spec.key == k)?;
    let mut d: Vec<SocketAddr> = s.dests.iter().map(|d| d.key.into()).collect();
    d.sort();
    Some(d)
}

/// Polls until the table of `service` is `want`, failing with vigil's log.
fn wait_for(director: &Netns, daemon: &Daemon, service: &str, want: Option<&[&str]>, what: &str) {
    let mut want: Option<Vec<SocketAddr>> = want.map(|w| w.iter().map(|a| addr(a)).collect());
    if let Some(w) = &mut want {
        w.sort();
    }
    let k = key(service);
    wait_table(director, daemon, what, VERDICT, |t| {
        let got = t.service(k).map(|s| {
            let mut d: Vec<SocketAddr> = s.dests.iter().map(|d| d.key.into()).collect();
            d.sort();
            d
        });
        got == want
    });
}

#[test]
fn kernel_vigil_run_programs_ipvs_as_checks_pass_and_fail() {
    require_ipvs!();
    let Some(vigil) = vigil_binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let director = Netns::new("vsd");
    let r1 = Netns::new("r1");
    let r2 = Netns::new("r2");
    director.ip("addr add 10.78.0.100/32 dev lo");
    for (n, ns) in [(1, &r1), (2, &r2)] {
        director.ip(&format!(
            "link add s{n} type veth peer name eth0 netns {}",
            ns.name
        ));
        director.ip(&format!("addr add 10.78.{n}.1/24 dev s{n}"));
        director.ip(&format!("link set s{n} up"));
        ns.ip(&format!("addr add 10.78.{n}.2/24 dev eth0"));
        ns.ip("link set eth0 up");
    }
    // What an earlier run might have left: the configured service with a
    // real server the config no longer has, and a service of someone else.
    director.run(|| {
        let mut ipvs = Ipvs::open().expect("open IPVS");
        for s in [FOREIGN, "10.78.0.100:80"] {
            let spec = ServiceSpec {
                key: key(s),
                algorithm: Algorithm::Rr,
                flags: SchedFlags::default(),
                persistence: None,
                one_packet: false,
            };
            ipvs.apply(&IpvsOp::AddService(spec))
                .expect("add a service");
        }
        let dest = DestEntry {
            key: addr("10.78.9.9:8080").into(),
            weight: 1,
            forward: Forward::Nat,
            u_threshold: 0,
            l_threshold: 0,
        };
        ipvs.apply(&IpvsOp::AddDest {
            service: key("10.78.0.100:80"),
            dest,
        })
        .expect("add a stale real server");
    });
    let mut s1 = Some(r1.run(|| Server::start(8080, "r1")));
    let mut s2 = Some(r2.run(|| Server::start(8080, "r2")));

    let vs = "10.78.0.100:80";
    let daemon = Daemon::start(&vigil, &director, dir.path(), CONF, &[]);
    wait_for(
        &director,
        &daemon,
        vs,
        Some(&[R1, R2]),
        "both real servers in",
    );
    assert!(
        !daemon.log().contains("IPVS not available"),
        "{}",
        daemon.log()
    );
    s1.take();
    wait_for(
        &director,
        &daemon,
        vs,
        Some(&[R2]),
        "r1 out after its listener stopped",
    );
    s1 = Some(r1.run(|| Server::start(8080, "r1")));
    wait_for(&director, &daemon, vs, Some(&[R1, R2]), "r1 back");
    s1.take();
    s2.take();
    wait_for(
        &director,
        &daemon,
        vs,
        Some(&[SORRY]),
        "the sorry server alone",
    );
    assert_eq!(dests(&director, FOREIGN), Some(Vec::new()), "left alone");
    let log = daemon.stop();
    assert_eq!(dests(&director, vs), None, "released on SIGTERM:\n{log}");
    assert_eq!(dests(&director, FOREIGN), Some(Vec::new()), "left alone");

    s1 = Some(r1.run(|| Server::start(8080, "r1")));
    s2 = Some(r2.run(|| Server::start(8080, "r2")));
    let daemon = Daemon::start(
        &vigil,
        &director,
        dir.path(),
        CONF,
        &["--dont-release-ipvs"],
    );
    wait_for(&director, &daemon, vs, Some(&[R1, R2]), "both in again");
    let log = daemon.stop();
    let mut both = vec![addr(R1), addr(R2)];
    both.sort();
    assert_eq!(
        dests(&director, vs),
        Some(both),
        "--dont-release-ipvs keeps the service:\n{log}"
    );
    drop((s1, s2));
}

/// The numbers of the `ipvsadm -Ln --stats --exact` line that starts with
/// `start` (`TCP  VIP:PORT` or `  -> RIP:PORT`): conns, packets in and
/// out, bytes in and out.
fn ipvsadm_stats(listing: &str, start: &str) -> Vec<u64> {
    let line = listing
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no {start:?} in:\n{listing}"));
    line[start.len()..]
        .split_whitespace()
        .map(|n| n.parse().expect("a count"))
        .collect()
}

#[test]
fn kernel_vigil_status_shows_the_kernel_s_traffic_counters() {
    require_ipvs!();
    let Some(vigil) = vigil_binary() else {
        println!("SKIPPED: no target/debug/vigil beside this test (cargo build --bin vigil)");
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    // client 10.79.0.2 ── 10.79.0.1, VIP 10.79.0.100 director ── 10.79.1.1 ── 10.79.1.2:8080 t1
    let client = Netns::new("stc");
    let director = Netns::new("std");
    let real = Netns::new("st1");
    cable_client(&client, &director);
    director.ip("addr add 10.79.0.100/24 dev d0");
    director.ip("link set d0 up");
    director.ip(&format!(
        "link add s1 type veth peer name eth0 netns {}",
        real.name
    ));
    director.ip("addr add 10.79.1.1/24 dev s1");
    director.ip("link set s1 up");
    real.ip("addr add 10.79.1.2/24 dev eth0");
    real.ip("link set eth0 up");
    real.ip("route add default via 10.79.1.1");
    director.run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("ip_forward"));
    let _server = real.run(|| Server::start(8080, "t1"));
    let conf = "\
virtual_server 10.79.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.79.1.2 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
";
    let daemon = Daemon::start(&vigil, &director, dir.path(), conf, &[]);
    wait_for(
        &director,
        &daemon,
        "10.79.0.100:80",
        Some(&["10.79.1.2:8080"]),
        "the real server in",
    );
    client.run(|| {
        for _ in 0..3 {
            let mut c = connect("10.79.0.2:0".parse().unwrap(), addr("10.79.0.100:80"))
                .expect("connect to the VIP");
            // The server keeps the connection until we close it.
            let mut name = [0u8; 2];
            c.read_exact(&mut name).expect("the server's name");
            assert_eq!(&name, b"t1");
        }
    });
    let ipvsadm = || {
        let out = Command::new("ip")
            .args(["netns", "exec", &director.name])
            .args(["ipvsadm", "-Ln", "--stats", "--exact"])
            .output()
            .expect("ipvsadm");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let counts = |v: &serde_json::Value| -> Vec<u64> {
        [
            "connections",
            "packets_in",
            "packets_out",
            "bytes_in",
            "bytes_out",
        ]
        .iter()
        .map(|k| v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}")))
        .collect()
    };
    // The kernel publishes its counters every 2 s (the estimator's
    // tick): compare once they hold the three connections and stand
    // still on both sides of vigil's reading.
    let until = Instant::now() + Duration::from_secs(20);
    let (listing, json) = loop {
        let before = ipvsadm();
        let json: serde_json::Value = daemon.status();
        let after = ipvsadm();
        let conns = ipvsadm_stats(&after, "TCP  10.79.0.100:80")[0];
        if before == after && conns == 3 {
            break (after, json);
        }
        assert!(
            Instant::now() < until,
            "the kernel never counted 3:\n{after}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let vs = &json["virtual_servers"][0];
    let service = ipvsadm_stats(&listing, "TCP  10.79.0.100:80");
    assert_eq!(counts(&vs["ipvs_stats"]), service, "{json}\n{listing}");
    let rs = &vs["real_servers"][0]["ipvs_stats"];
    assert_eq!(
        counts(rs),
        ipvsadm_stats(&listing, "  -> 10.79.1.2:8080"),
        "{json}\n{listing}"
    );
    let text = daemon.status_text();
    assert!(text.contains("  IPVS: 3 conns, "), "{text}");
    daemon.stop();
}

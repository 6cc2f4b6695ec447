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
use crate::support::{Netns, Server};
use crate::vigil_run::{Daemon, table, vigil_binary, wait_table};
use std::net::SocketAddr;
use std::time::Duration;
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

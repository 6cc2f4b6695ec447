//! `vigil run` when the kernel refuses a change: the table is read back
//! and handed to the director, so its view (what `vigil status` reports as
//! in IPVS) stays the kernel's and what is missing is asked for again.
//!
//! Two refusals: a service whose scheduler the kernel lacks (Debian builds
//! no `twos`), tried once and then left out (the other service's changes
//! do not retry it); and a service deleted behind vigil's back with
//! `ipvsadm -D`, which vigil learns of when its next change to it (a real
//! server's check failing) is refused, and restores with the real servers
//! still alive.
//!
//! ```text
//! director ─ s1 10.81.1.1 ── 10.81.1.2:8080 r1     T 10.81.0.100:80 twos: r1
//!          ─ s2 10.81.2.1 ── 10.81.2.2:8080 r2     R 10.81.0.101:80 rr: r1, r2 (TCP_CHECK)
//! ```

use crate::require_ipvs;
use crate::support::{Netns, Server};
use crate::vigil_run::{Daemon, vigil_binary, wait_table};
use std::process::Command;
use std::time::Duration;
use vigil_core::lvs::ipvs::IpvsState;

const CONF: &str = "
virtual_server 10.81.0.100 80 {
    lb_algo twos
    lb_kind NAT
    protocol TCP
    real_server 10.81.1.2 8080 { weight 1 }
}
virtual_server 10.81.0.101 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.81.1.2 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.81.2.2 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
";

const TWOS_REFUSED: &str = "ERROR ipvsadm -A -t 10.81.0.100:80 -s twos: \
    the kernel has no such scheduler or persistence engine";
const DEL_REFUSED: &str = "ERROR ipvsadm -d -t 10.81.0.101:80 -r 10.81.1.2:8080: \
    no service -t 10.81.0.101:80";

/// R's real servers, sorted; `None` without R.
fn r_dests(t: &IpvsState) -> Option<Vec<String>> {
    let s = t
        .services
        .iter()
        .find(|s| s.spec.key.to_string() == "-t 10.81.0.101:80")?;
    let mut d: Vec<String> = s.dests.iter().map(|d| d.key.to_string()).collect();
    d.sort();
    Some(d)
}

/// What `vigil status` says is in IPVS for each real server of the
/// virtual server `name`.
fn ipvs_weights(daemon: &Daemon, name: &str) -> Vec<serde_json::Value> {
    let status = daemon.status();
    let vs = status["virtual_servers"]
        .as_array()
        .expect("virtual servers")
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {status}"))
        .clone();
    vs["real_servers"]
        .as_array()
        .expect("real servers")
        .iter()
        .map(|r| r["ipvs_weight"].clone())
        .collect()
}

#[test]
fn kernel_refused_changes_are_read_back_and_repaired() {
    require_ipvs!();
    let Some(vigil) = vigil_binary() else {
        return;
    };
    let twos = Command::new("modprobe").args(["-q", "ip_vs_twos"]).status();
    if twos.is_ok_and(|s| s.success()) {
        println!("SKIPPED: this kernel has the twos scheduler, which the test needs it to lack");
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let director = Netns::new("refuse-d");
    let r1 = Netns::new("refuse-r1");
    let r2 = Netns::new("refuse-r2");
    director.ip("addr add 10.81.0.100/32 dev lo");
    director.ip("addr add 10.81.0.101/32 dev lo");
    for (n, ns) in [(1, &r1), (2, &r2)] {
        director.ip(&format!(
            "link add s{n} type veth peer name eth0 netns {}",
            ns.name
        ));
        director.ip(&format!("addr add 10.81.{n}.1/24 dev s{n}"));
        director.ip(&format!("link set s{n} up"));
        ns.ip(&format!("addr add 10.81.{n}.2/24 dev eth0"));
        ns.ip("link set eth0 up");
    }
    let s1 = r1.run(|| Server::start(8080, "r1"));
    let _s2 = r2.run(|| Server::start(8080, "r2"));

    let daemon = Daemon::start(&vigil, &director, dir.path(), CONF, &[]);
    let both = ["10.81.1.2:8080".to_owned(), "10.81.2.2:8080".to_owned()];
    let t = wait_table(
        &director,
        &daemon,
        "R programmed",
        Duration::from_secs(10),
        |t| r_dests(t).as_deref() == Some(&both[..]),
    );
    assert_eq!(t.services.len(), 1, "T is not in the kernel: {t:#?}");
    let log = daemon.log();
    assert_eq!(
        log.matches(TWOS_REFUSED).count(),
        1,
        "T's add tried once:\n{log}"
    );
    assert!(
        !log.contains("Addr {"),
        "errors in Display form, not Debug:\n{log}"
    );
    assert_eq!(
        ipvs_weights(&daemon, "[10.81.0.100]:tcp:80"),
        [serde_json::Value::Null],
        "vigil knows T is not in IPVS"
    );
    assert_eq!(
        ipvs_weights(&daemon, "[10.81.0.101]:tcp:80"),
        [serde_json::json!(1), serde_json::json!(1)]
    );

    let out = Command::new("ip")
        .args(["netns", "exec", &director.name])
        .args(["ipvsadm", "-D", "-t", "10.81.0.101:80"])
        .output()
        .expect("run ipvsadm");
    assert!(out.status.success(), "ipvsadm -D failed");
    drop(s1);
    let only_r2 = ["10.81.2.2:8080".to_owned()];
    wait_table(
        &director,
        &daemon,
        "R back with r2",
        Duration::from_secs(15),
        |t| r_dests(t).as_deref() == Some(&only_r2[..]),
    );
    let log = daemon.log();
    assert!(log.contains(DEL_REFUSED), "{log}");
    assert!(log.contains("Reading the IPVS table back after the refusal"));
    assert_eq!(log.matches(TWOS_REFUSED).count(), 1, "{log}");
    assert_eq!(
        ipvs_weights(&daemon, "[10.81.0.101]:tcp:80"),
        [serde_json::Value::Null, serde_json::json!(1)]
    );
    daemon.stop();
    assert_eq!(r_dests(&crate::vigil_run::table(&director)), None);
}

//! The virtual servers of the seed configurations, turned into the
//! `ipvsadm` calls that build their table from nothing.

use std::path::Path;
use vigil_core::config::parse_str;
use vigil_core::lvs::ipvs::{IpvsState, ServiceKey, reconcile};
use vigil_core::lvs::service::{VirtualService, desired_table};

/// The operations for a fixture with every real server up, and the
/// service keys a later virtual server claimed again.
fn ops(fixture: &str) -> (Vec<String>, Vec<ServiceKey>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let text = std::fs::read_to_string(&path).expect("fixture");
    let parsed = parse_str(&text);
    let m = &parsed.model;
    let services: Vec<VirtualService> = m
        .virtual_servers
        .iter()
        .map(|vs| {
            let mut s = VirtualService::from_config(vs, &m.virtual_server_groups).expect("model");
            s.init(&[]);
            s
        })
        .collect();
    let (desired, dup) = desired_table(&services);
    let ops = reconcile(&IpvsState::default(), &desired)
        .iter()
        .map(ToString::to_string)
        .collect();
    (ops, dup)
}

#[test]
fn seed004_director_is_one_persistent_dr_service_and_the_duplicate_rs_is_dropped() {
    // real_server 172.16.88.10 80 is written twice: keepalived keeps the
    // first ("real server … is duplicated - removing second rs").
    let (ops, dup) = ops("seed004_director.conf");
    assert_eq!(
        ops,
        [
            "-A -t 172.16.88.1:80 -s rr -p 50",
            "-a -t 172.16.88.1:80 -r 172.16.88.10:80 -g -w 1",
            "-a -t 172.16.88.1:80 -r 172.16.88.20:80 -g -w 1",
        ]
    );
    assert!(dup.is_empty());
}

#[test]
fn seed003_host_is_two_nat_services() {
    let (ops, _) = ops("seed003_host.conf");
    assert_eq!(
        ops,
        [
            "-A -t 192.168.1.156:8888 -s rr -p 50",
            "-a -t 192.168.1.156:8888 -r 172.18.0.201:8888 -m -w 1",
            "-A -t 192.168.1.156:3306 -s rr -p 50",
            "-a -t 192.168.1.156:3306 -r 172.18.0.201:3306 -m -w 1",
        ]
    );
}

#[test]
fn seed002_group_expands_and_its_clash_with_the_plain_service_is_reported() {
    // `virtual_server group web` covers 172.16.100.1:80, .2:80 and fwmark
    // 1; the first of those is also `virtual_server 172.16.100.1 80`,
    // which comes first and keeps it.
    let (ops, dup) = ops("seed002_sections_concrete.conf");
    assert_eq!(
        ops,
        [
            "-A -t 172.16.100.1:80 -s wrr -p 360 -M 255.255.255.0",
            "-a -t 172.16.100.1:80 -r 172.16.100.11:80 -g -w 1",
            "-A -t 172.16.100.2:80 -s rr",
            "-a -t 172.16.100.2:80 -r 172.16.100.12:80 -g -w 1",
            "-A -f 1 -s rr",
            "-a -f 1 -r 172.16.100.12:80 -g -w 1",
        ]
    );
    assert_eq!(dup.len(), 1);
}

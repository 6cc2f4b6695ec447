//! Every `virtual_server` in the seed configs, started by the director:
//! the `ipvsadm` calls keepalived would make at start (all real servers
//! up, since none is alpha) — reviewed against each article's own
//! `ipvsadm -L -n` output where it shows one.

use std::path::Path;
use vigil_core::Instant;
use vigil_core::config::{MemoryLoader, parse};
use vigil_core::lvs::director::{Director, DirectorAction};
use vigil_core::lvs::ipvs::IpvsState;

fn start(fixture: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let text = std::fs::read_to_string(&path).unwrap();
    let loader = MemoryLoader::new().with("keepalived.conf", &text);
    let parsed = parse("keepalived.conf", &loader, None);
    let mut d = Director::new(Instant::ZERO, &parsed.model, &IpvsState::default(), &[], 0).unwrap();
    let mut out = String::new();
    while let Some(a) = d.poll_action() {
        if let DirectorAction::Ipvs(op) = a {
            out.push_str(&format!("ipvsadm {op}\n"));
        }
    }
    out
}

#[test]
fn seed002_sections_with_a_group_and_a_sorry_server() {
    insta::assert_snapshot!(start("seed002_sections_concrete.conf"));
}

#[test]
fn seed003_host_forwards_the_lan_vip_to_the_docker_vip() {
    insta::assert_snapshot!(start("seed003_host.conf"));
}

#[test]
fn seed004_director_lvs_dr() {
    insta::assert_snapshot!(start("seed004_director.conf"));
}

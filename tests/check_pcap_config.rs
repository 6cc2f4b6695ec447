//! `vigil pcap check -f keepalived.conf`: every capture recorded here checked
//! against the config it was recorded with, and against wrong ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// The capture's `.tmpl` made into a config, as the capture lab does for
/// node 1 (`@PRIO@`, `@ID@`).
fn config_for(capture: &Path, dir: &Path) -> PathBuf {
    let tmpl = capture.with_extension("tmpl");
    let text = std::fs::read_to_string(&tmpl)
        .unwrap_or_else(|e| panic!("{}: {e}", tmpl.display()))
        .replace("@PRIO@", "100")
        .replace("@ID@", "1");
    let name = capture.file_stem().map_or("x".into(), |s| s.to_owned());
    let path = dir.join(name).with_extension("conf");
    std::fs::write(&path, text).expect("write config");
    path
}

fn pcap_check(args: &[&Path], id: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.args(["pcap", "check"]);
    if let Some(id) = id {
        cmd.args(["-i", id]);
    }
    cmd.arg("-f").args(args).output().expect("vigil runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn every_capture() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [captures(), captures().join("reference")] {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "pcap") && p.with_extension("tmpl").exists() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_capture_is_valid_against_its_own_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let all = every_capture();
    assert!(all.len() >= 5, "{all:?}");
    for pcap in all {
        let conf = config_for(&pcap, dir.path());
        // The unicast template keeps one peer per node with `@nodeN` lines.
        let out = pcap_check(&[&conf, &pcap], Some("node1"));
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{}: {text}", pcap.display());
        assert!(
            text.lines()
                .last()
                .is_some_and(|l| l.ends_with(" vrrp packets, 0 invalid")),
            "{}: {text}",
            pcap.display()
        );
        assert!(!text.contains("0 vrrp packets"), "{text}");
    }
}

#[test]
fn another_password_makes_every_advert_invalid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = captures().join("reference/v2-pass.pcap");
    let conf = config_for(&pcap, dir.path());
    let text = std::fs::read_to_string(&conf).expect("config");
    std::fs::write(&conf, text.replace("auth_pass s3cret", "auth_pass other")).expect("write");
    let out = pcap_check(&[&conf, &pcap], None);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let (summary, packets) = lines.split_last().expect("output");
    assert_eq!(*summary, "6 vrrp packets, 6 invalid");
    for l in packets {
        assert!(
            l.ends_with("invalid: wrong PASS password [auth_mismatch]"),
            "{l}"
        );
    }
}

#[test]
fn an_unconfigured_vrid_is_invalid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = captures().join("reference/v3-ipv4.pcap");
    let conf = config_for(&pcap, dir.path());
    let text = std::fs::read_to_string(&conf).expect("config");
    std::fs::write(
        &conf,
        text.replace("virtual_router_id 51", "virtual_router_id 50"),
    )
    .expect("write");
    let out = pcap_check(&[&conf, &pcap], None);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("invalid: VRID 51 is not configured [vrid]"),
        "{text}"
    );
    assert!(text.ends_with("12 vrrp packets, 12 invalid\n"), "{text}");
}

#[test]
fn a_broken_or_missing_config_exits_2_before_any_packet() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = captures().join("reference/v3-ipv4.pcap");
    let conf = config_for(&pcap, dir.path());
    let text = std::fs::read_to_string(&conf).expect("config");
    std::fs::write(&conf, text.replace("priority 100", "priority 300")).expect("write");
    let out = pcap_check(&[&conf, &pcap], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:6:12: error: priority: number '300' outside range [1, 255]",
            conf.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("1 error in the config, no packet checked"),
        "{err}"
    );

    let missing = dir.path().join("missing.conf");
    let out = pcap_check(&[&missing, &pcap], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "vigil: Unable to find configuration file {}\n",
            missing.display()
        )
    );
}

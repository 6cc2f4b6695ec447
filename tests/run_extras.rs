//! `vigil run` features beyond VRRP itself — script users and script
//! security, virtual and static routes and addresses, track_process,
//! track_file —
//! checked in network namespaces of their own (vigil_netns::lab, unique
//! names, deleted even when a test fails). Without root or `ip netns` they
//! print `SKIPPED:` and pass.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Vigil, holds, lab, vrrp_conf_with, within};
use vigil_netns::lab::Lab;

const VIP4: &str = "10.77.0.100";

/// One instance on eth0 with `before` ahead of it and `inside` it.
fn conf(priority: u8, before: &str, inside: &str) -> String {
    vrrp_conf_with(priority, VIP4, "1", before, inside)
}

/// Writes an executable shell script `name` in `dir` with `mode`.
fn script(dir: &Path, name: &str, body: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.display().to_string()
}

/// A temp dir that other users may enter (scripts run as `nobody` must
/// reach their files) but not write.
fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A file anyone may write, for scripts run as another user to report in.
fn drop_box(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, "").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    path
}

fn uid_of(user: &str) -> String {
    let out = std::process::Command::new("id")
        .args(["-u", user])
        .output()
        .expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn scripts_run_as_script_user_and_their_own_user() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    let seen = drop_box(dir.path(), "seen");
    let noted = drop_box(dir.path(), "noted");
    let chk = script(
        dir.path(),
        "chk.sh",
        &format!("id -u > {}", seen.display()),
        0o755,
    );
    let note = script(
        dir.path(),
        "note.sh",
        &format!("id -u > {}", noted.display()),
        0o755,
    );
    let before = format!(
        "global_defs {{\n    script_user nobody\n}}\nvrrp_script chk {{\n    script {chk}\n    interval 1\n}}"
    );
    // A script's own user overrides script_user.
    let inside = format!("track_script {{\n        chk\n    }}\n    notify_master \"{note}\" root");
    let a = Vigil::start(&lab, 1, dir.path(), &conf(150, &before, &inside), &[]);
    assert!(
        within(Duration::from_secs(8), || holds(&lab, 1, VIP4)).is_some(),
        "the script as nobody did not succeed:\n{}",
        a.log()
    );
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    assert!(
        within(Duration::from_secs(2), || !read(&noted).is_empty()).is_some(),
        "notify_master did not run:\n{}",
        a.log()
    );
    assert_eq!(read(&seen), uid_of("nobody"), "{}", a.log());
    assert_eq!(read(&noted), "0", "{}", a.log());
}

#[test]
fn script_security_refuses_a_world_writable_script_run_as_root() {
    let Some(lab) = lab(1) else { return };
    if uid_of("keepalived_script").parse::<u32>().is_ok() {
        println!("SKIPPED: user keepalived_script exists, so scripts would not run as root");
        return;
    }
    let dir = open_dir();
    let ran = drop_box(dir.path(), "ran");
    let chk = script(
        dir.path(),
        "chk.sh",
        &format!("echo ran > {}", ran.display()),
        0o777,
    );
    let before = format!(
        "global_defs {{\n    enable_script_security\n}}\nvrrp_script chk {{\n    script {chk}\n    interval 1\n}}"
    );
    let inside = "track_script {\n        chk\n    }";
    let a = Vigil::start(&lab, 1, dir.path(), &conf(150, &before, inside), &[]);
    assert!(
        within(Duration::from_secs(6), || a
            .log()
            .contains("(VI_1) Entering FAULT STATE"))
        .is_some(),
        "{}",
        a.log()
    );
    assert!(
        a.log().contains("Unsafe permissions found for script"),
        "{}",
        a.log()
    );
    assert!(!holds(&lab, 1, VIP4), "{}", a.log());
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap_or_default(),
        "",
        "the script ran"
    );
}

/// `ip route show table all` in node `i`.
fn routes(lab: &Lab, node: usize) -> String {
    let out = lab
        .command(lab.node(node), "ip")
        .args(["route", "show", "table", "all"])
        .output()
        .expect("ip route");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn virtual_routes_follow_master_and_static_ones_outlive_the_daemon() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    let before = "static_ipaddress {\n    10.88.0.1/24 dev eth0\n}\nstatic_routes {\n    10.99.0.0/24 via 10.88.0.254 dev eth0\n}";
    // The route's source is the VIP: it can go in only once the VIP is there.
    let inside = "virtual_routes {\n        10.66.0.0/24 dev eth0 src 10.77.0.100 table 100\n    }";
    let mut a = Vigil::start(&lab, 1, dir.path(), &conf(150, before, inside), &[]);
    assert!(
        within(Duration::from_secs(6), || holds(&lab, 1, VIP4)).is_some(),
        "{}",
        a.log()
    );
    let has = |what: &str| routes(&lab, 1).contains(what);
    assert!(
        within(Duration::from_secs(2), || has(
            "10.66.0.0/24 dev eth0 table 100"
        ))
        .is_some(),
        "no virtual route:\n{}\n{}",
        routes(&lab, 1),
        a.log()
    );
    assert!(
        routes(&lab, 1).contains("proto keepalived"),
        "{}",
        routes(&lab, 1)
    );
    assert!(holds(&lab, 1, "10.88.0.1"), "{}", a.log());
    assert!(
        has("10.99.0.0/24 via 10.88.0.254 dev eth0"),
        "{}",
        routes(&lab, 1)
    );
    a.signal(libc::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(5)).is_some(), "{}", a.log());
    assert!(
        !has("10.66.0.0/24"),
        "virtual route left:\n{}",
        routes(&lab, 1)
    );
    assert!(!holds(&lab, 1, VIP4), "{}", a.log());
    assert!(holds(&lab, 1, "10.88.0.1"), "static address removed");
    assert!(has("10.99.0.0/24 via 10.88.0.254"), "static route removed");
}

#[test]
fn a_tracked_process_starting_and_ending_clears_and_sets_a_fault() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    // An argument no other process has: this test's own sleep only.
    let arg = format!("3000.{}", std::process::id());
    let before =
        format!("vrrp_track_process sleeper {{\n    process sleep {arg}\n    quorum 1\n}}");
    let inside = "track_process {\n        sleeper\n    }";
    let a = Vigil::start(&lab, 1, dir.path(), &conf(150, &before, inside), &[]);
    assert!(
        within(Duration::from_secs(4), || a
            .log()
            .contains("Entering FAULT STATE"))
        .is_some(),
        "no fault without the process:\n{}",
        a.log()
    );
    assert!(!holds(&lab, 1, VIP4), "{}", a.log());
    let mut sleeper = std::process::Command::new("sleep")
        .arg(&arg)
        .spawn()
        .expect("start sleep");
    let took = within(Duration::from_secs(8), || holds(&lab, 1, VIP4));
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(
        took.is_some(),
        "the process did not clear the fault:\n{}",
        a.log()
    );
    assert!(
        within(Duration::from_secs(4), || !holds(&lab, 1, VIP4)).is_some(),
        "the process ending did not fault the instance:\n{}",
        a.log()
    );
}

/// A track_file is watched (inotify on its directory), not polled: the
/// daemon's priority follows a write, a rename over the file and its
/// removal as they happen. The times printed include a `vigil status`
/// round trip each; only a generous bound is asserted.
#[test]
fn a_track_file_change_moves_the_priority_as_it_happens() {
    let Some(lab) = lab(1) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let drain = dir.path().join("drain");
    let before = format!(
        "track_file drain {{\n    file {}\n    weight -10\n}}",
        drain.display()
    );
    let inside = "track_file {\n        drain\n    }";
    let a = Vigil::start(&lab, 1, dir.path(), &conf(150, &before, inside), &[]);
    let file = || {
        let status = a.status()?;
        let i = status.instances.first()?;
        let t = i.trackers.iter().find(|t| t.kind == "file")?;
        Some((t.state.clone()?, i.effective_priority))
    };
    let read = within(Duration::from_secs(4), || file().is_some());
    assert!(read.is_some(), "the file was never read:\n{}", a.log());
    assert_eq!(file(), Some(("0".to_string(), 150)), "{}", a.log());
    // Polls without pausing: each status call is the only delay.
    let follows = |value: &str, priority: u8, what: &str| {
        let t = Instant::now();
        let want = Some((value.to_string(), priority));
        while t.elapsed() < Duration::from_secs(2) {
            if file() == want {
                println!("{what}: priority {priority} after {:?}", t.elapsed());
                return;
            }
        }
        panic!("{what}: not {want:?} but {:?}:\n{}", file(), a.log());
    };
    std::fs::write(&drain, "3\n").expect("write");
    follows("3", 120, "a write");
    let tmp = dir.path().join("drain.tmp");
    std::fs::write(&tmp, "6\n").expect("write");
    std::fs::rename(&tmp, &drain).expect("rename");
    follows("6", 90, "a rename over the file");
    std::fs::remove_file(&drain).expect("remove");
    follows("0", 150, "its removal");
}

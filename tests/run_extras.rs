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

use common::{Capture, Vigil, holds, lab, script, stat_fields, vrrp_conf_with, within};
use vigil_netns::lab::Lab;

const VIP4: &str = "10.77.0.100";

/// One instance on eth0 with `before` ahead of it and `inside` it.
fn conf(priority: u8, before: &str, inside: &str) -> String {
    vrrp_conf_with(priority, VIP4, "1", before, inside)
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

/// `ip rule show` in node `i`.
fn rules(lab: &Lab, node: usize) -> String {
    let out = lab.ip(node, &["rule", "show"]).expect("ip rule");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn virtual_routes_follow_master_and_static_ones_go_at_exit() {
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
    // keepalived 2.2.7 takes its static entries out at exit too.
    assert!(!holds(&lab, 1, "10.88.0.1"), "static address left");
    assert!(!has("10.99.0.0/24"), "static route left");
}

#[test]
fn a_nexthop_route_goes_in_with_both_hops_and_out_when_backup() {
    let Some(lab) = lab(2) else { return };
    let dir = open_dir();
    let inside = "virtual_routes {\n        192.168.50.0/24 nexthop via 10.77.0.3 dev eth0 weight 1 nexthop via 10.77.0.4 dev eth0 weight 2\n    }";
    let a = Vigil::start(&lab, 1, dir.path(), &conf(100, "", inside), &[]);
    let multipath = || {
        let out = lab
            .ip(1, &["route", "show", "192.168.50.0/24"])
            .expect("ip route");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let both = |text: &str| {
        text.contains("nexthop via 10.77.0.3 dev eth0 weight 1")
            && text.contains("nexthop via 10.77.0.4 dev eth0 weight 2")
    };
    assert!(
        within(Duration::from_secs(6), || both(&multipath())).is_some(),
        "no multipath route:\n{}\n{}",
        multipath(),
        a.log()
    );
    assert!(multipath().contains("proto keepalived"), "{}", multipath());
    // A higher priority preempts: node 1 becomes Backup and takes it out.
    let b = Vigil::start(&lab, 2, dir.path(), &conf(150, "", inside), &[]);
    assert!(
        within(Duration::from_secs(6), || holds(&lab, 2, VIP4)).is_some(),
        "{}",
        b.log()
    );
    assert!(
        within(Duration::from_secs(2), || multipath().is_empty()).is_some(),
        "route left on the Backup:\n{}\n{}",
        multipath(),
        a.log()
    );
    assert!(a.log().contains("Entering BACKUP STATE"), "{}", a.log());
}

/// Two instances on eth0, each with a VIP and virtual routes (`VI_1` also
/// a rule), after `before`.
fn two_instances(before: &str, vi1: bool, vi2_route: &str) -> String {
    let vi1 = if vi1 {
        "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.77.0.100/24
    }
    virtual_routes {
        10.66.0.0/24 via 10.77.0.254 dev eth0 table 100
    }
    virtual_rules {
        from 10.66.0.0/24 table 100 priority 100
    }
}"
    } else {
        ""
    };
    format!(
        "{before}
{vi1}
vrrp_instance VI_2 {{
    interface eth0
    virtual_router_id 52
    priority 150
    advert_int 1
    virtual_ipaddress {{
        10.77.0.102/24
    }}
    virtual_routes {{
        {vi2_route} via 10.77.0.254 dev eth0 table 102
    }}
}}
"
    )
}

#[test]
fn a_reload_takes_out_what_a_removed_master_and_dropped_statics_had() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    let statics = |third: &str| {
        format!(
            "static_ipaddress {{\n    10.88.0.1/24 dev eth0\n    {third}/24 dev eth0\n}}\nstatic_routes {{\n    10.99.0.0/24 via 10.88.0.254 dev eth0\n}}"
        )
    };
    let first = two_instances(&statics("10.88.1.1"), true, "10.65.0.0/24");
    let a = Vigil::start(&lab, 1, dir.path(), &first, &[]);
    let has = |what: &str| routes(&lab, 1).contains(what);
    assert!(
        within(Duration::from_secs(6), || has("10.66.0.0/24")
            && has("10.65.0.0/24"))
        .is_some(),
        "{}\n{}",
        routes(&lab, 1),
        a.log()
    );
    assert!(
        rules(&lab, 1).contains("from 10.66.0.0/24 lookup 100"),
        "{}",
        rules(&lab, 1)
    );
    assert!(
        holds(&lab, 1, VIP4) && holds(&lab, 1, "10.88.1.1"),
        "{}",
        a.log()
    );
    // VI_1 goes while Master, VI_2 stays Master with another route, and a
    // static address is swapped for another.
    std::fs::write(
        &a.conf,
        two_instances(&statics("10.88.2.1"), false, "10.64.0.0/24"),
    )
    .expect("write");
    a.signal(libc::SIGHUP);
    assert!(
        within(Duration::from_secs(3), || a
            .log()
            .contains("Reload finished"))
        .is_some(),
        "{}",
        a.log()
    );
    assert!(
        within(Duration::from_secs(2), || !holds(&lab, 1, VIP4)).is_some(),
        "the removed Master's VIP is left:\n{}",
        a.log()
    );
    let text = routes(&lab, 1);
    assert!(
        !text.contains("10.66.0.0/24"),
        "removed Master's route left:\n{text}"
    );
    assert!(
        !text.contains("10.65.0.0/24"),
        "dropped route left:\n{text}"
    );
    assert!(
        text.contains("10.64.0.0/24 via 10.77.0.254 dev eth0 table 102"),
        "{text}"
    );
    assert!(
        !rules(&lab, 1).contains("10.66.0.0/24"),
        "{}",
        rules(&lab, 1)
    );
    assert!(holds(&lab, 1, "10.77.0.102"), "{}", a.log());
    assert!(!holds(&lab, 1, "10.88.1.1"), "dropped static address left");
    assert!(
        holds(&lab, 1, "10.88.2.1") && holds(&lab, 1, "10.88.0.1"),
        "{}",
        a.log()
    );
    assert!(text.contains("10.99.0.0/24 via 10.88.0.254"), "{text}");
    assert!(a.log().contains("(VI_1) sent 0 priority"), "{}", a.log());
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

/// `ip -d link show dev NAME` and `ip addr show dev NAME` in node `i`
/// (empty when there is no such interface).
fn link_and_addresses(lab: &Lab, node: usize, name: &str) -> String {
    let mut text = String::new();
    for args in [
        &["-d", "link", "show", "dev", name][..],
        &["addr", "show", "dev", name],
    ] {
        // `ip` fails for a missing interface: that is the empty answer.
        let out = lab
            .command(lab.node(node), "ip")
            .args(args)
            .output()
            .expect("ip");
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    text
}

/// `sysctl -n KEY` in node `i`.
fn sysctl(lab: &Lab, node: usize, key: &str) -> String {
    let out = lab
        .command(lab.node(node), "sysctl")
        .args(["-n", key])
        .output()
        .expect("sysctl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The frames of a capture as (source MAC, what) where what is
/// `vrrp VRID`, `garp ADDR` or `rs` (an IPv6 router solicitation).
fn frames(pcap: &Path) -> Vec<(String, String)> {
    let file = std::fs::File::open(pcap).expect("open pcap");
    let mut reader = pcap_file::pcap::PcapReader::new(file).expect("pcap");
    let mut out = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let d = packet.expect("packet").data;
        let Some(src) = d.get(6..12) else { continue };
        let mac = src
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        let what = match (d.get(12..14), d.get(23), d.get(20), d.get(54)) {
            (Some([0x08, 0x00]), Some(112), ..) => d.get(35).map(|v| format!("vrrp {v}")),
            (Some([0x86, 0xdd]), _, Some(112), _) => d.get(55).map(|v| format!("vrrp {v}")),
            (Some([0x86, 0xdd]), _, Some(58), Some(133)) => Some("rs".to_string()),
            (Some([0x08, 0x00]), Some(2), ..) => Some("igmp".to_string()),
            // A hop-by-hop header (router alert) of 8 bytes, then ICMPv6.
            (Some([0x86, 0xdd]), _, Some(0), Some(58)) if d.get(62) == Some(&143) => {
                Some("mld".to_string())
            }
            (Some([0x08, 0x06]), ..) => d
                .get(28..32)
                .map(|a| format!("garp {}", std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]))),
            _ => None,
        };
        if let Some(what) = what {
            out.push((mac, what));
        }
    }
    out
}

/// The source MACs of the frames that are `what`.
fn sources(frames: &[(String, String)], what: &str) -> std::collections::BTreeSet<String> {
    frames
        .iter()
        .filter(|f| f.1 == what)
        .map(|f| f.0.clone())
        .collect()
}

/// What the VMAC tests capture: adverts, ARP, ICMPv6 and the IGMP and MLD
/// reports (MLD behind a hop-by-hop header).
fn vmac_capture(lab: &Lab, dir: &Path) -> Capture {
    let filter = "ip proto 112 or ip6 proto 112 or arp or icmp6 or igmp or ip6 proto 0";
    Capture::start_filtered(lab, &dir.join("bridge.pcap"), 0, filter)
        .expect("tcpdump on the bridge")
}

#[test]
fn use_vmac_puts_the_vip_on_a_private_macvlan_with_the_virtual_mac_and_removes_it_at_exit() {
    let Some(lab) = lab(2) else { return };
    let dir = open_dir();
    // A non-zero all.rp_filter would override the VMAC's 0: vigil moves it
    // onto the interfaces for the run, as keepalived does.
    lab.sysctl(lab.node(1), &["net.ipv4.conf.all.rp_filter=1"])
        .expect("sysctl");
    let capture = vmac_capture(&lab, dir.path());
    let mut a = Vigil::start(&lab, 1, dir.path(), &conf(150, "", "use_vmac"), &[]);
    let b = Vigil::start(&lab, 2, dir.path(), &conf(100, "", "use_vmac"), &[]);
    let vmac = |node| link_and_addresses(&lab, node, "vrrp.51");
    assert!(
        within(Duration::from_secs(6), || vmac(1)
            .contains("inet 10.77.0.100/24"))
        .is_some(),
        "no VIP on vrrp.51:\n{}\n{}",
        vmac(1),
        a.log()
    );
    let text = vmac(1);
    for want in [
        "vrrp.51@eth0",
        "link/ether 00:00:5e:00:01:33",
        "macvlan mode private",
        "addrgenmode none",
        "state UP",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(!holds(&lab, 1, VIP4), "the VIP is on eth0 too");
    // The Backup has its VMAC, without the address.
    assert!(
        vmac(2).contains("link/ether 00:00:5e:00:01:33"),
        "{}",
        b.log()
    );
    assert!(!vmac(2).contains("10.77.0.100"), "{}", vmac(2));
    let settings = |node| {
        [
            "net.ipv4.conf.vrrp/51.arp_ignore",
            "net.ipv4.conf.vrrp/51.accept_local",
            "net.ipv4.conf.vrrp/51.rp_filter",
            "net.ipv4.conf.eth0.arp_ignore",
            "net.ipv4.conf.eth0.arp_filter",
            "net.ipv4.conf.eth0.rp_filter",
            "net.ipv4.conf.all.rp_filter",
        ]
        .map(|k| sysctl(&lab, node, k))
    };
    assert_eq!(settings(1), ["1", "1", "0", "1", "1", "1", "0"]);
    a.signal(libc::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(5)).is_some(), "{}", a.log());
    assert!(vmac(1).is_empty(), "vrrp.51 left:\n{}", vmac(1));
    let base = ["arp_ignore", "arp_filter", "rp_filter"]
        .map(|k| sysctl(&lab, 1, &format!("net.ipv4.conf.eth0.{k}")));
    assert_eq!(base, ["0", "0", "0"], "eth0 not put back");
    assert_eq!(sysctl(&lab, 1, "net.ipv4.conf.all.rp_filter"), "1");
    assert!(
        within(Duration::from_secs(3), || vmac(2).contains("10.77.0.100")).is_some(),
        "node 2 did not take over on its VMAC:\n{}",
        b.log()
    );
    std::thread::sleep(Duration::from_millis(300));
    let seen = frames(&capture.stop());
    let virtual_mac = std::collections::BTreeSet::from(["00:00:5e:00:01:33".to_string()]);
    assert_eq!(sources(&seen, "vrrp 51"), virtual_mac, "adverts: {seen:?}");
    assert_eq!(sources(&seen, "garp 10.77.0.100"), virtual_mac, "{seen:?}");
    // The joins to 224.0.0.18 on the VMACs are reported from the nodes'
    // own MACs: a switch must not learn the virtual MAC from a Backup.
    let igmp = sources(&seen, "igmp");
    assert!(!igmp.is_empty(), "no IGMP report seen: {seen:?}");
    assert!(
        igmp.is_disjoint(&virtual_mac),
        "IGMP from the VMAC: {seen:?}"
    );
    assert!(!a.log().contains("IGMP/MLD"), "{}", a.log());
}

/// An IPv6 instance on a VMAC it names, and an IPv4 one whose adverts
/// leave from eth0 (`vmac_xmit_base`).
fn v6_and_xmit_base(with_v4: bool) -> String {
    let v4 = "vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 150
    advert_int 1
    use_vmac
    vmac_xmit_base
    virtual_ipaddress {
        10.77.0.102/24
    }
}";
    format!(
        "vrrp_instance VI_6 {{
    interface eth0
    virtual_router_id 61
    priority 150
    advert_int 1
    use_vmac vmx61
    virtual_ipaddress {{
        fd77::161/64
    }}
}}
{}
",
        if with_v4 { v4 } else { "" }
    )
}

#[test]
fn an_ipv6_vmac_sends_from_the_link_local_and_xmit_base_from_eth0_and_a_reload_removes_one() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    let capture = vmac_capture(&lab, dir.path());
    let a = Vigil::start(&lab, 1, dir.path(), &v6_and_xmit_base(true), &[]);
    let vmx61 = || link_and_addresses(&lab, 1, "vmx61");
    let vrrp52 = || link_and_addresses(&lab, 1, "vrrp.52");
    assert!(
        within(Duration::from_secs(6), || vmx61().contains("fd77::161/64")
            && vrrp52().contains("10.77.0.102/24"))
        .is_some(),
        "{}\n{}\n{}",
        vmx61(),
        vrrp52(),
        a.log()
    );
    let eth0 = link_and_addresses(&lab, 1, "eth0");
    let link_local = eth0
        .lines()
        .find(|l| l.contains("scope link"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("eth0's link-local")
        .to_string();
    let text = vmx61();
    assert!(text.contains("link/ether 00:00:5e:00:02:3d"), "{text}");
    assert!(text.contains("macvlan mode private"), "{text}");
    // eth0's link-local, deprecated so that nothing else sends from it.
    assert!(
        text.lines()
            .any(|l| l.contains(&link_local) && l.contains("deprecated")),
        "{link_local} not on vmx61:\n{text}"
    );
    assert!(
        vrrp52().contains("link/ether 00:00:5e:00:01:34"),
        "{}",
        vrrp52()
    );
    std::fs::write(&a.conf, v6_and_xmit_base(false)).expect("write");
    a.signal(libc::SIGHUP);
    assert!(
        within(Duration::from_secs(3), || vrrp52().is_empty()).is_some(),
        "vrrp.52 left after the reload:\n{}\n{}",
        vrrp52(),
        a.log()
    );
    assert!(a.log().contains("(VI_2) sent 0 priority"), "{}", a.log());
    assert!(vmx61().contains("fd77::161/64"), "{}", vmx61());
    std::thread::sleep(Duration::from_millis(1200));
    let seen = frames(&capture.stop());
    let eth0_mac = eth0
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .expect("eth0's MAC")
        .to_string();
    let one = |mac: &str| std::collections::BTreeSet::from([mac.to_string()]);
    assert_eq!(
        sources(&seen, "vrrp 61"),
        one("00:00:5e:00:02:3d"),
        "{seen:?}"
    );
    assert_eq!(sources(&seen, "vrrp 52"), one(&eth0_mac), "{seen:?}");
    assert_eq!(
        sources(&seen, "garp 10.77.0.102"),
        one("00:00:5e:00:01:34"),
        "{seen:?}"
    );
    assert!(
        !sources(&seen, "rs").contains("00:00:5e:00:02:3d"),
        "a router solicitation from the virtual MAC: {seen:?}"
    );
    // The VMAC's joins (ff02::12, its link-local's solicited node) are
    // reported from eth0; the firewall's maps followed the reload.
    let mld = sources(&seen, "mld");
    assert!(mld.contains(&eth0_mac), "no MLD report from eth0: {seen:?}");
    assert!(
        !mld.contains("00:00:5e:00:02:3d"),
        "MLD from the VMAC: {seen:?}"
    );
    assert!(!a.log().contains("IGMP/MLD"), "{}", a.log());
}

#[test]
fn a_vmac_left_by_a_sigkilled_run_is_adopted_and_its_stale_vip_removed() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    let vmac = || link_and_addresses(&lab, 1, "vrrp.51");
    let mut a = Vigil::start(&lab, 1, dir.path(), &conf(150, "", "use_vmac"), &[]);
    assert!(
        within(Duration::from_secs(6), || vmac().contains("10.77.0.100/24")).is_some(),
        "{}",
        a.log()
    );
    let index = |text: &str| text.split(':').next().unwrap_or_default().to_string();
    let before = index(&vmac());
    a.signal(libc::SIGKILL);
    let _ = a.wait_exit(Duration::from_secs(1));
    let b = Vigil::start(&lab, 1, dir.path(), &conf(150, "", "use_vmac"), &[]);
    assert!(
        within(Duration::from_secs(2), || b
            .log()
            .contains("Entering BACKUP STATE"))
        .is_some(),
        "{}",
        b.log()
    );
    assert!(
        b.log()
            .contains("removing VIP 10.77.0.100/24 left on the interface by an earlier run"),
        "{}",
        b.log()
    );
    assert!(
        !vmac().contains("10.77.0.100"),
        "a Backup holds the VIP:\n{}",
        vmac()
    );
    assert_eq!(
        index(&vmac()),
        before,
        "the VMAC was made anew:\n{}",
        b.log()
    );
    assert!(
        within(Duration::from_secs(5), || vmac().contains("10.77.0.100/24")).is_some(),
        "{}",
        b.log()
    );
}

/// The `/proc/PID/task/TID` directory of `pid`'s thread named `name`.
fn thread_dir(pid: u32, name: &str) -> Option<std::path::PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|t| std::fs::read_to_string(t.join("comm")).is_ok_and(|c| c.trim() == name))
}

/// A thread's nice value, real-time priority and policy (`/proc/…/stat`
/// fields 19, 40 and 41).
fn thread_sched(dir: &Path) -> (i64, i64, i64) {
    let f = stat_fields(&dir.join("stat")).expect("stat");
    let field = |n: usize| f[n - 3].parse().expect("a number");
    (field(19), field(40), field(41))
}

#[test]
fn vrrp_scheduling_settings_apply_to_the_vrrp_thread() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    let rt = "global_defs {\n vrrp_rt_priority 20\n vrrp_rlimit_rttime 50000\n vrrp_cpu_affinity 0\n vrrp_no_swap\n}\n";
    let mut a = Vigil::start(&lab, 1, dir.path(), &conf(150, rt, ""), &[]);
    let vrrp = || thread_dir(a.child.id(), "vrrp");
    assert!(
        within(Duration::from_secs(5), || vrrp().is_some()).is_some(),
        "{}",
        a.log()
    );
    let t = vrrp().expect("the VRRP thread");
    let (_, priority, policy) = thread_sched(&t);
    assert_eq!(
        (priority, policy),
        (20, 2),
        "not SCHED_RR at 20:\n{}",
        a.log()
    );
    let status = std::fs::read_to_string(t.join("status")).expect("status");
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Cpus_allowed_list:", "0"]),
        "{status}"
    );
    // The main thread keeps its own scheduling.
    let main = std::path::PathBuf::from(format!("/proc/{}/task/{}", a.child.id(), a.child.id()));
    assert_eq!(thread_sched(&main).2, 0, "main thread not SCHED_OTHER");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", a.child.id())).expect("limits");
    let rttime: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .map(|l| l.split_whitespace().skip(3).collect())
        .unwrap_or_default();
    assert_eq!(rttime, ["25000", "50000", "us"], "{limits}");
    let locked = std::fs::read_to_string(format!("/proc/{}/status", a.child.id())).expect("status");
    let vmlck: Option<u64> = locked
        .lines()
        .find(|l| l.starts_with("VmLck:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    assert!(vmlck.is_some_and(|kb| kb > 0), "not locked:\n{locked}");

    // A nice value instead, by a reload: it waits for a restart.
    std::fs::write(
        &a.conf,
        conf(150, "global_defs {\n vrrp_priority -5\n}\n", ""),
    )
    .expect("write");
    a.signal(libc::SIGHUP);
    a.wait_log(
        "takes effect when vigil restarts",
        1,
        Duration::from_secs(5),
    );
    assert_eq!(thread_sched(&t).2, 2, "a reload changed the policy");
    a.signal(libc::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(5)).is_some(), "{}", a.log());
    let b = Vigil::start(
        &lab,
        1,
        dir.path(),
        &conf(150, "global_defs {\n vrrp_priority -5\n}\n", ""),
        &[],
    );
    let bt = || thread_dir(b.child.id(), "vrrp");
    assert!(
        within(Duration::from_secs(5), || bt().is_some()).is_some(),
        "{}",
        b.log()
    );
    let (nice, _, policy) = thread_sched(&bt().expect("the VRRP thread"));
    assert_eq!((nice, policy), (-5, 0), "{}", b.log());
}

#[test]
fn vmac_prefix_names_the_vmac() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    let before = "global_defs {\n vmac_prefix vm\n}\n";
    let a = Vigil::start(&lab, 1, dir.path(), &conf(150, before, "use_vmac"), &[]);
    let vmac = || link_and_addresses(&lab, 1, "vm.51");
    assert!(
        within(Duration::from_secs(6), || vmac()
            .contains("inet 10.77.0.100/24"))
        .is_some(),
        "no VIP on vm.51:\n{}\n{}",
        vmac(),
        a.log()
    );
    assert!(link_and_addresses(&lab, 1, "vrrp.51").is_empty());
}

/// With no_accept (`vrrp_strict`) as well, the reports are moved before the
/// VIPs' drop rule, in the one keepalived table, which exit removes.
#[test]
fn vmac_reports_and_no_accept_share_the_keepalived_table() {
    let Some(lab) = lab(1) else { return };
    let dir = open_dir();
    let before = "global_defs {\n vrrp_strict\n}\n";
    let mut a = Vigil::start(&lab, 1, dir.path(), &conf(150, before, "use_vmac"), &[]);
    let vmac = || link_and_addresses(&lab, 1, "vrrp.51");
    assert!(
        within(Duration::from_secs(6), || vmac()
            .contains("inet 10.77.0.100/24"))
        .is_some(),
        "{}",
        a.log()
    );
    let nft = |args: &[&str]| {
        let out = lab
            .command(lab.node(1), "nft")
            .args(args)
            .output()
            .expect("nft");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = nft(&["list", "table", "ip", "keepalived"]);
    let at = |text: &str| {
        table
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} in:\n{table}"))
    };
    assert!(
        at("ip protocol igmp") < at("ip saddr @vips drop"),
        "{table}"
    );
    assert!(table.contains("\"vrrp.51\" : \"eth0\""), "{table}");
    a.signal(libc::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(5)).is_some(), "{}", a.log());
    assert!(
        !nft(&["list", "tables"]).contains("keepalived"),
        "table left at exit"
    );
}

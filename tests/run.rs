//! `vigil run` as an operator runs it: the built binary, one per network
//! namespace of a lab (vigil_netns::lab) bridged together, watched from the
//! outside with `ip addr`, signals and tcpdump. Each test builds its own lab
//! with unique names, so they run in parallel; the lab is deleted even when
//! a test fails. Without root or `ip netns` they print `SKIPPED:` and pass.

mod common;

use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    Capture, Keepalived, Vigil, holds, keepalived_missing, lab, spawn_in_node, vrrp_conf_with,
    within,
};
use vigil_netns::lab::Lab;

const VIP4: &str = "10.77.0.100";
const VIP6: &str = "fd77::161";

fn vrrp_conf(priority: u8, vip: &str, advert_int: &str) -> String {
    vrrp_conf_with(priority, vip, advert_int, "", "")
}

/// Starts node 1 (priority 150) and node 2 (priority 100) and waits until
/// node 1 alone holds `vip`.
fn pair(lab: &Lab, dir: &Path, vip: &str, advert_int: &str) -> (Vigil, Vigil) {
    let a = Vigil::start(lab, 1, dir, &vrrp_conf(150, vip, advert_int), &[]);
    let b = Vigil::start(lab, 2, dir, &vrrp_conf(100, vip, advert_int), &[]);
    let took = within(Duration::from_secs(6), || holds(lab, 1, vip));
    assert!(took.is_some(), "node 1 never took {vip}:\n{}", a.log());
    assert!(!holds(lab, 2, vip), "both hold {vip}:\n{}", b.log());
    (a, b)
}

#[test]
fn one_master_holds_the_vip_and_the_backup_takes_it_after_a_sigkill() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = Capture::start(&lab, dir.path());
    if capture.is_none() {
        println!("SKIPPED: the pcap part: tcpdump did not start on the bridge");
    }
    let (mut a, b) = pair(&lab, dir.path(), VIP4, "1");
    a.signal(libc::SIGKILL);
    let _ = a.wait_exit(Duration::from_secs(1));
    // A SIGKILLed vigil leaves its address behind, as keepalived does; the
    // Backup takes over Master_Down_Interval (3 × 1 s + 0.609 s) after the
    // last advert.
    let took = within(Duration::from_millis(4500), || holds(&lab, 2, VIP4));
    println!("takeover after SIGKILL: {took:?}");
    assert!(took.is_some(), "node 2 never took over:\n{}", b.log());
    assert!(
        b.log().contains("(VI_1) Entering MASTER STATE"),
        "{}",
        b.log()
    );
    if let Some(capture) = capture {
        std::thread::sleep(Duration::from_millis(200));
        let pcap = capture.stop();
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["pcap", "check"])
            .arg(&pcap)
            .output()
            .expect("vigil pcap check");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("prio 150") && text.contains("prio 100"),
            "{text}"
        );
        assert!(text.trim_end().ends_with(" 0 invalid"), "{text}");
        // keepalived's garp_master_repeat 5: five gratuitous ARPs per new Master.
        assert_eq!(gratuitous_arps(&pcap, VIP4), 10, "{text}");
    }
}

/// The gratuitous ARPs for `vip` in a capture (sender and target address both `vip`).
fn gratuitous_arps(pcap: &Path, vip: &str) -> usize {
    let vip: std::net::Ipv4Addr = vip.parse().expect("IPv4");
    let file = File::open(pcap).expect("open pcap");
    let mut reader = pcap_file::pcap::PcapReader::new(file).expect("pcap");
    let mut n = 0;
    while let Some(packet) = reader.next_packet() {
        let data = packet.expect("packet").data;
        let arp = data.get(12..14) == Some(&[0x08, 0x06][..]);
        if arp
            && data.get(28..32) == Some(&vip.octets()[..])
            && data.get(38..42) == Some(&vip.octets()[..])
        {
            n += 1;
        }
    }
    n
}

#[test]
fn sigterm_hands_over_at_once_releases_the_vip_and_exits_0() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("vigil.pid");
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let mut a = Vigil::start(
        &lab,
        1,
        dir.path(),
        &vrrp_conf(150, VIP4, "1"),
        &["--pid-file", &pid_arg],
    );
    let b = Vigil::start(&lab, 2, dir.path(), &vrrp_conf(100, VIP4, "1"), &[]);
    assert!(
        within(Duration::from_secs(6), || holds(&lab, 1, VIP4)).is_some(),
        "{}",
        a.log()
    );
    let pid = std::fs::read_to_string(&pid_file).expect("pid file");
    assert_eq!(pid.trim(), a.child.id().to_string());
    let sent = Instant::now();
    a.signal(libc::SIGTERM);
    let status = a.wait_exit(Duration::from_secs(1));
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{}", a.log());
    assert!(!holds(&lab, 1, VIP4), "the stopped Master kept its VIP");
    assert!(!pid_file.exists(), "pid file left behind");
    // Priority 0: the Backup waits only Skew_Time ((256 − 100) / 256 s).
    within(Duration::from_millis(1500), || holds(&lab, 2, VIP4))
        .unwrap_or_else(|| panic!("no takeover:\n{}", b.log()));
    let took = sent.elapsed();
    println!("takeover after SIGTERM: {took:?}");
    assert!(took < Duration::from_millis(1200), "took {took:?}");
    assert!(a.log().contains("(VI_1) sent 0 priority"), "{}", a.log());
}

#[test]
fn an_ipv6_pair_elects_one_master_and_hands_over() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut a = Vigil::start(
        &lab,
        1,
        dir.path(),
        &vrrp_conf(150, VIP6, "0.5"),
        &["--log-format", "json"],
    );
    let b = Vigil::start(&lab, 2, dir.path(), &vrrp_conf(100, VIP6, "0.5"), &[]);
    assert!(
        within(Duration::from_secs(4), || holds(&lab, 1, VIP6)).is_some(),
        "{}",
        a.log()
    );
    assert!(!holds(&lab, 2, VIP6), "{}", b.log());
    let log = a.log();
    assert!(
        log.lines()
            .any(|l| l.starts_with('{') && l.contains("Entering MASTER STATE")),
        "{log}"
    );
    a.signal(libc::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(1)).is_some());
    // Skew_Time at 0.5 s: (256 − 100) × 0.5 / 256 ≈ 0.3 s.
    let took = within(Duration::from_secs(1), || holds(&lab, 2, VIP6));
    assert!(took.is_some(), "{}", b.log());
}

#[test]
fn a_vip_left_by_an_earlier_run_is_removed_at_start() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    lab.ip(2, &["addr", "add", &format!("{VIP4}/24"), "dev", "eth0"])
        .expect("stale address");
    assert!(holds(&lab, 2, VIP4));
    // Node 1's VIP also says how to install it: brd and label as `ip addr` takes them.
    let conf = vrrp_conf(150, VIP4, "1").replace(
        "10.77.0.100/24",
        "10.77.0.100/24 brd 10.77.0.255 label eth0:vip",
    );
    let _a = Vigil::start(&lab, 1, dir.path(), &conf, &[]);
    let b = Vigil::start(&lab, 2, dir.path(), &vrrp_conf(100, VIP4, "1"), &[]);
    let gone = within(Duration::from_secs(1), || !holds(&lab, 2, VIP4));
    assert!(gone.is_some(), "stale VIP kept:\n{}", b.log());
    assert!(within(Duration::from_secs(5), || holds(&lab, 1, VIP4)).is_some());
    assert!(!holds(&lab, 2, VIP4), "{}", b.log());
    let addrs = lab.addresses(1).expect("ip addr");
    assert!(
        addrs.contains("inet 10.77.0.100/24 brd 10.77.0.255 scope global secondary eth0:vip"),
        "{addrs}"
    );
}

#[test]
fn sighup_keeps_running_on_a_broken_config_and_yields_on_a_lower_priority() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut a, b) = pair(&lab, dir.path(), VIP4, "1");
    std::fs::write(&a.conf, "vrrp_instance VI_1 {\n virtual_router_id 300\n}\n").expect("write");
    a.signal(libc::SIGHUP);
    let refused = within(Duration::from_secs(2), || a.log().contains("reload failed"));
    assert!(refused.is_some(), "{}", a.log());
    assert!(a.log().contains("outside range [1, 255]"), "{}", a.log());
    assert!(a.child.try_wait().expect("wait").is_none(), "vigil exited");
    assert!(holds(&lab, 1, VIP4));
    std::fs::write(&a.conf, vrrp_conf(50, VIP4, "1")).expect("write");
    a.signal(libc::SIGHUP);
    // The Master keeps its state and advertises 50 at once; the Backup
    // ignores the lower priority and preempts when its timer expires.
    let took = within(Duration::from_secs(5), || {
        holds(&lab, 2, VIP4) && !holds(&lab, 1, VIP4)
    });
    println!("yield after a reload to priority 50: {took:?}");
    assert!(took.is_some(), "{}\n{}", a.log(), b.log());
    assert!(a.log().contains("Reload finished"), "{}", a.log());
    assert!(
        a.log()
            .contains("Master received advert from 10.77.0.2 with higher priority 100, ours 50"),
        "{}",
        a.log()
    );
}

#[test]
fn a_config_error_at_start_prints_the_check_diagnostics_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 300\n priority 100\n}\n",
    )
    .expect("write");
    let vigil = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(args)
            .arg("-f")
            .arg(&conf)
            .output()
            .expect("vigil runs")
    };
    let run = vigil(&["run"]);
    let check = vigil(&["check", "--host-interfaces"]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    let diagnostics = String::from_utf8_lossy(&check.stdout);
    assert!(
        diagnostics.contains("outside range [1, 255]"),
        "{diagnostics}"
    );
    assert!(stderr.starts_with(diagnostics.as_ref()), "{stderr}");
}

#[test]
fn a_failing_track_script_faults_the_master_and_notify_scripts_run() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display();
    // keepalived runs scripts without a shell: `test ! -e FILE` fails once FILE exists.
    let script = format!(
        "vrrp_script chk {{\n    script \"/usr/bin/test ! -e {d}/down\"\n    interval 1\n}}"
    );
    let inside = format!(
        "track_script {{\n        chk\n    }}\n    notify_master \"/usr/bin/touch {d}/master\"\n    notify_fault \"/usr/bin/touch {d}/fault\""
    );
    let a = Vigil::start(
        &lab,
        1,
        dir.path(),
        &vrrp_conf_with(150, VIP4, "1", &script, &inside),
        &[],
    );
    let b = Vigil::start(&lab, 2, dir.path(), &vrrp_conf(100, VIP4, "1"), &[]);
    assert!(
        within(Duration::from_secs(6), || holds(&lab, 1, VIP4)).is_some(),
        "{}",
        a.log()
    );
    assert!(
        within(Duration::from_secs(1), || dir
            .path()
            .join("master")
            .exists())
        .is_some(),
        "notify_master did not run"
    );
    std::fs::write(dir.path().join("down"), "").expect("write");
    // The script fails within its interval; Fault sends priority 0, so the
    // Backup follows after Skew_Time.
    let took = within(Duration::from_secs(3), || {
        holds(&lab, 2, VIP4) && !holds(&lab, 1, VIP4)
    });
    assert!(took.is_some(), "{}\n{}", a.log(), b.log());
    assert!(
        a.log().contains("(VI_1) Entering FAULT STATE"),
        "{}",
        a.log()
    );
    assert!(
        within(Duration::from_secs(1), || dir.path().join("fault").exists()).is_some(),
        "notify_fault did not run"
    );
}

#[test]
fn a_track_file_raises_the_backup_above_the_master() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let boost = dir.path().join("boost");
    let track = format!(
        "track_file boost {{\n    file {}\n    weight 100\n}}",
        boost.display()
    );
    let inside = "track_file {\n        boost\n    }";
    let a = Vigil::start(&lab, 1, dir.path(), &vrrp_conf(150, VIP4, "1"), &[]);
    let b = Vigil::start(
        &lab,
        2,
        dir.path(),
        &vrrp_conf_with(100, VIP4, "1", &track, inside),
        &[],
    );
    assert!(
        within(Duration::from_secs(6), || holds(&lab, 1, VIP4)).is_some(),
        "{}",
        a.log()
    );
    // 1 × weight 100: node 2 advertises 200 once Master; as a Backup it
    // ignores the lower 150 and preempts when its down timer expires.
    std::fs::write(&boost, "1\n").expect("write");
    let took = within(Duration::from_secs(5), || {
        holds(&lab, 2, VIP4) && !holds(&lab, 1, VIP4)
    });
    println!("preempt after track_file raised the Backup: {took:?}");
    assert!(took.is_some(), "{}\n{}", a.log(), b.log());
    assert!(
        a.log().contains("with higher priority 200, ours 150"),
        "{}",
        a.log()
    );
}

#[test]
fn a_unicast_pair_hands_over_and_dont_release_vrrp_keeps_the_vip() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let unicast = |me: u8, peer: u8| {
        format!("unicast_src_ip 10.77.0.{me}\n    unicast_peer {{\n        10.77.0.{peer}\n    }}")
    };
    let mut a = Vigil::start(
        &lab,
        1,
        dir.path(),
        &vrrp_conf_with(150, VIP4, "1", "", &unicast(1, 2)),
        &["--dont-release-vrrp"],
    );
    let mut b = Vigil::start(
        &lab,
        2,
        dir.path(),
        &vrrp_conf_with(100, VIP4, "1", "", &unicast(2, 1)),
        &[],
    );
    assert!(
        within(Duration::from_secs(6), || holds(&lab, 1, VIP4)).is_some(),
        "{}",
        a.log()
    );
    // Node 2 hears node 1's unicast adverts: it stays Backup past its own
    // down timer (3.6 s).
    std::thread::sleep(Duration::from_secs(1));
    assert!(!holds(&lab, 2, VIP4), "{}", b.log());
    assert!(b.child.try_wait().expect("wait").is_none());
    a.signal(libc::SIGTERM);
    let took = within(Duration::from_millis(1500), || holds(&lab, 2, VIP4));
    assert!(took.is_some(), "{}", b.log());
    // --dont-release-vrrp: priority 0 was sent, the address stays.
    assert!(
        a.wait_exit(Duration::from_secs(1))
            .is_some_and(|s| s.success())
    );
    assert!(holds(&lab, 1, VIP4), "{}", a.log());
}

#[test]
fn keepalived_follows_vigil_and_takes_over_on_its_priority_0() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    if let Some(why) = keepalived_missing() {
        println!("SKIPPED: {why}");
        return;
    }
    let ka = Keepalived::start(&lab, 2, dir.path(), &vrrp_conf(100, VIP4, "1"));
    let mut a = Vigil::start(&lab, 1, dir.path(), &vrrp_conf(150, VIP4, "1"), &[]);
    assert!(
        within(Duration::from_secs(6), || holds(&lab, 1, VIP4)).is_some(),
        "{}",
        a.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !holds(&lab, 2, VIP4),
        "keepalived did not accept vigil's adverts"
    );
    a.signal(libc::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(1)).is_some());
    let took = within(Duration::from_millis(1500), || holds(&lab, 2, VIP4));
    println!("keepalived took over after vigil's SIGTERM in {took:?}");
    assert!(took.is_some());
    let log = ka.log();
    assert!(
        log.contains("Backup received priority 0 advertisement"),
        "{log}"
    );
}

#[test]
fn a_master_whose_link_goes_down_faults_and_comes_back_as_backup() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = pair(&lab, dir.path(), VIP4, "1");
    lab.ip(1, &["link", "set", "eth0", "down"])
        .expect("link down");
    let fault = within(Duration::from_secs(1), || {
        a.log().contains("(VI_1) Entering FAULT STATE")
    });
    assert!(fault.is_some(), "{}", a.log());
    assert!(a.log().contains("Netlink reports eth0 down"), "{}", a.log());
    assert!(!holds(&lab, 1, VIP4), "a faulted Master kept its VIP");
    // Its priority-0 advert cannot leave a downed link: the Backup waits the
    // whole Master_Down_Interval.
    assert!(
        within(Duration::from_secs(5), || holds(&lab, 2, VIP4)).is_some(),
        "{}",
        b.log()
    );
    lab.ip(1, &["link", "set", "eth0", "up"]).expect("link up");
    // Once at start (init), once when the fault clears.
    let back = within(Duration::from_secs(2), || {
        a.log().matches("(VI_1) Entering BACKUP STATE").count() == 2
    });
    assert!(back.is_some(), "{}", a.log());
}

/// The output of `program args…` run in node `i`.
fn run_in(lab: &Lab, node: usize, program: &str, args: &[&str]) -> std::process::Output {
    lab.command(lab.node(node), program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// Whether `addr` answers node `from` at all: a TCP connection to a closed
/// port is refused by a host that accepts the traffic, and times out where
/// it is dropped (the lab has no `ping`).
fn answers(lab: &Lab, from: usize, addr: &str) -> bool {
    let connect = format!("echo > /dev/tcp/{addr}/9");
    let out = run_in(lab, from, "timeout", &["1", "bash", "-c", &connect]);
    String::from_utf8_lossy(&out.stderr).contains("Connection refused")
}

#[test]
fn no_accept_drops_traffic_to_the_vip_and_the_table_goes_at_exit() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let tables = || {
        String::from_utf8_lossy(&run_in(&lab, 1, "nft", &["list", "tables"]).stdout).into_owned()
    };
    for accept in [true, false] {
        let inside = if accept { "" } else { "no_accept" };
        let conf = vrrp_conf_with(150, VIP4, "0.5", "", inside);
        let mut a = Vigil::start(&lab, 1, dir.path(), &conf, &[]);
        let took = within(Duration::from_secs(4), || holds(&lab, 1, VIP4));
        assert!(took.is_some(), "node 1 never took the VIP:\n{}", a.log());
        // The firewall follows the address within the same flush.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            answers(&lab, 2, VIP4),
            accept,
            "accept {accept}:\n{}",
            a.log()
        );
        assert_eq!(
            tables().contains("table ip keepalived"),
            !accept,
            "{}",
            tables()
        );
        a.signal(libc::SIGTERM);
        assert!(
            a.wait_exit(Duration::from_secs(2))
                .is_some_and(|s| s.success())
        );
        assert!(
            !tables().contains("keepalived"),
            "left behind:\n{}",
            tables()
        );
    }
}

#[test]
fn notify_fifo_gets_keepalived_lines_and_is_created_and_removed() {
    let Some(lab) = lab(1) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("notify.fifo");
    let before = format!("global_defs {{\n    notify_fifo {}\n}}\n", fifo.display());
    let conf = vrrp_conf_with(150, VIP4, "0.5", &before, "");
    let mut a = Vigil::start(&lab, 1, dir.path(), &conf, &[]);
    let made = within(Duration::from_secs(2), || fifo.exists());
    assert!(made.is_some(), "no fifo:\n{}", a.log());
    // vigil holds the FIFO open read-write, so this open does not block.
    let mut reader = std::io::BufReader::new(File::open(&fifo).expect("open fifo"));
    assert!(within(Duration::from_secs(4), || holds(&lab, 1, VIP4)).is_some());
    a.signal(libc::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(2)).is_some());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).expect("read fifo");
        lines.push(line);
    }
    assert_eq!(
        lines,
        [
            "INSTANCE \"VI_1\" BACKUP 150\n",
            "INSTANCE \"VI_1\" MASTER 150\n",
            "INSTANCE \"VI_1\" STOP 150\n"
        ],
        "{}",
        a.log()
    );
    assert!(!fifo.exists(), "the fifo vigil made is left behind");
}

/// A mail sink in node `node`'s namespace on 127.0.0.1:2525: it answers as
/// an SMTP server and records each connection's lines, until `count`
/// connections ended or 8 s passed.
fn smtp_sink(lab: &Lab, node: usize, count: usize) -> std::thread::JoinHandle<Vec<Vec<String>>> {
    use std::io::{BufRead, BufReader, Write};
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let sink = spawn_in_node(lab, node, move || {
        let listener = std::net::TcpListener::bind("127.0.0.1:2525").expect("bind the sink");
        listener.set_nonblocking(true).expect("nonblocking");
        ready_tx.send(()).expect("ready");
        let until = Instant::now() + Duration::from_secs(8);
        let mut mails = Vec::new();
        while mails.len() < count && Instant::now() < until {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            stream.set_nonblocking(false).expect("blocking");
            stream
                .set_read_timeout(Some(Duration::from_secs(3)))
                .expect("timeout");
            let mut out = stream.try_clone().expect("clone");
            let mut lines = Vec::new();
            let _ = out.write_all(b"220 sink\r\n");
            let mut data = false;
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                lines.push(line.clone());
                let answer: &[u8] = match line.as_str() {
                    "." if data => {
                        data = false;
                        b"250 queued\r\n"
                    }
                    _ if data => continue,
                    "DATA" => {
                        data = true;
                        b"354 go on\r\n"
                    }
                    "QUIT" => {
                        let _ = out.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                let _ = out.write_all(answer);
            }
            mails.push(lines);
        }
        mails
    });
    ready.recv().expect("the sink started");
    sink
}

#[test]
fn smtp_alert_mails_the_state_changes_as_keepalived() {
    let Some(lab) = lab(1) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = smtp_sink(&lab, 1, 2);
    let before = "global_defs {
    router_id lb1
    notification_email {
        ops@example.org
        oncall@example.org
    }
    notification_email_from vigil@example.org
    smtp_server 127.0.0.1 2525
    smtp_connect_timeout 3
    smtp_helo_name lb1.example.org
}
";
    let conf = vrrp_conf_with(150, VIP4, "0.5", before, "smtp_alert");
    let a = Vigil::start(&lab, 1, dir.path(), &conf, &[]);
    let mails = sink.join().expect("the sink");
    assert_eq!(mails.len(), 2, "{mails:?}\n{}", a.log());
    let master = &mails[1];
    assert_eq!(
        master[..5],
        [
            "HELO lb1.example.org",
            "MAIL FROM:<vigil@example.org>",
            "RCPT TO:<ops@example.org>",
            "RCPT TO:<oncall@example.org>",
            "DATA"
        ],
        "{master:?}"
    );
    assert!(
        master
            .iter()
            .any(|l| l == "Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state"),
        "{master:?}"
    );
    assert!(
        master
            .iter()
            .any(|l| l == "=> VRRP Instance is now owning VRRP VIPs <="),
        "{master:?}"
    );
    assert!(
        master
            .iter()
            .any(|l| l == "To: ops@example.org, oncall@example.org"),
        "{master:?}"
    );
    assert_eq!(master.last().map(String::as_str), Some("QUIT"));
    assert!(
        mails[0]
            .iter()
            .any(|l| l.ends_with("VI_1 - Entering BACKUP state")),
        "{mails:?}"
    );
}

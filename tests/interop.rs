//! vigil beside real keepalived 2.2.7: one of each in two namespaces on a
//! bridge, in every mode (VRRPv2 with PASS auth, VRRPv3 over IPv4 and IPv6,
//! VRRPv3 unicast), with vigil first the Master and then the Backup, the
//! Master stopped by SIGKILL and by SIGTERM. Each case checks that exactly
//! one node holds the VIP once elected, that the Backup takes over, that the
//! VIP was never on both live nodes nor did adverts from two Masters
//! alternate for longer than one interval, and that `vigil pcap check` (also
//! with `-f` the vigil config) accepts every packet on the bridge.
//!
//! The four cases of a mode run in parallel labs. With
//! `VIGIL_INTEROP_CAPTURES=DIR` each case's capture is kept as
//! `DIR/<mode>-<master>-<signal>.pcap`, and each mode's vigil config as
//! `DIR/<mode>.vigil.conf` (see captures/README.md).

mod common;

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Capture, Keepalived, Vigil, holds, keepalived_missing, within};
use vigil_netns::lab::{self, Lab};

#[derive(Clone, Copy, Debug)]
enum Mode {
    V2Pass,
    V3Ipv4,
    V3Ipv6,
    V3Unicast,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::V2Pass => "v2-pass",
            Mode::V3Ipv4 => "v3-ipv4",
            Mode::V3Ipv6 => "v3-ipv6",
            Mode::V3Unicast => "v3-unicast",
        }
    }

    /// v2 counts whole seconds; v3 runs at 0.1 s to keep the file quick.
    fn interval(self) -> Duration {
        match self {
            Mode::V2Pass => Duration::from_secs(1),
            _ => Duration::from_millis(100),
        }
    }

    /// The VIP watched on the nodes.
    fn vip(self) -> &'static str {
        match self {
            Mode::V2Pass => "10.77.0.152",
            Mode::V3Ipv4 => "10.77.0.151",
            Mode::V3Ipv6 => "fd77::161",
            Mode::V3Unicast => "10.77.0.153",
        }
    }

    /// The same instance for both daemons; only the priority (and for
    /// unicast the addresses) differ between the nodes.
    fn conf(self, node: usize, priority: u8) -> String {
        let (vrid, version, extra, vips) = match self {
            Mode::V2Pass => (
                52,
                2,
                "authentication {\n        auth_type PASS\n        auth_pass vigil1\n    }".into(),
                "10.77.0.152/24",
            ),
            Mode::V3Ipv4 => (51, 3, String::new(), "10.77.0.151/24"),
            // keepalived wants a link-local address first.
            Mode::V3Ipv6 => (61, 3, String::new(), "fe80::61/64\n        fd77::161/64"),
            Mode::V3Unicast => (
                53,
                3,
                format!(
                    "unicast_src_ip 10.77.0.{node}\n    unicast_peer {{\n        10.77.0.{}\n    }}",
                    3 - node
                ),
                "10.77.0.153/24",
            ),
        };
        let int = self.interval().as_secs_f64();
        format!(
            "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int {int}
    version {version}
    {extra}
    virtual_ipaddress {{
        {vips}
    }}
}}
"
        )
    }
}

/// Whether the cases cannot run here (after printing `SKIPPED:`).
fn skipped() -> bool {
    let why = lab::available().or_else(keepalived_missing);
    if let Some(why) = &why {
        println!("SKIPPED: {why}");
    }
    why.is_some()
}

/// Runs the four cases of `mode` in parallel: vigil (node 1) or keepalived
/// (node 2) as the Master, stopped by SIGKILL or SIGTERM.
fn run_mode(mode: Mode) {
    if skipped() {
        return;
    }
    std::thread::scope(|s| {
        for vigil_master in [true, false] {
            for sig in [libc::SIGKILL, libc::SIGTERM] {
                s.spawn(move || run_case(mode, vigil_master, sig));
            }
        }
    });
}

#[test]
fn v2_pass_auth_hands_over_both_ways() {
    run_mode(Mode::V2Pass);
}

#[test]
fn v3_ipv4_hands_over_both_ways() {
    run_mode(Mode::V3Ipv4);
}

#[test]
fn v3_ipv6_hands_over_both_ways() {
    run_mode(Mode::V3Ipv6);
}

#[test]
fn v3_unicast_hands_over_both_ways() {
    run_mode(Mode::V3Unicast);
}

/// vigil or keepalived, stopped the same way.
enum Daemon {
    Vigil(Vigil),
    Keepalived(Keepalived),
}

impl Daemon {
    fn signal(&self, sig: libc::c_int) {
        match self {
            Daemon::Vigil(v) => v.signal(sig),
            Daemon::Keepalived(k) => k.signal(sig),
        }
    }

    fn exited_within(&mut self, limit: Duration) -> bool {
        match self {
            Daemon::Vigil(v) => v.wait_exit(limit).is_some(),
            Daemon::Keepalived(k) => k.wait_exit(limit).is_some(),
        }
    }

    fn log(&self) -> String {
        match self {
            Daemon::Vigil(v) => format!("vigil:\n{}", v.log()),
            Daemon::Keepalived(k) => format!("keepalived:\n{}", k.log()),
        }
    }
}

fn run_case(mode: Mode, vigil_master: bool, sig: libc::c_int) {
    let int = mode.interval();
    let vip = mode.vip();
    let signame = if sig == libc::SIGKILL { "kill" } else { "term" };
    let who = if vigil_master { "vigil" } else { "keepalived" };
    let name = format!("{}-{who}-master-{signame}", mode.name());
    let lab = Lab::new(2).expect("build the lab");
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = dir.path().join(format!("{name}.pcap"));
    let capture = Capture::start_to(&lab, &pcap, 128).expect("tcpdump on the bridge");
    let watches = [VipWatch::start(&lab, 1, vip), VipWatch::start(&lab, 2, vip)];
    std::thread::sleep(Duration::from_millis(100));

    let (vigil_prio, ka_prio) = if vigil_master { (150, 100) } else { (100, 150) };
    let vigil_conf = mode.conf(1, vigil_prio);
    let vigil = Vigil::start(&lab, 1, dir.path(), &vigil_conf, &[]);
    let ka = Keepalived::start(&lab, 2, dir.path(), &mode.conf(2, ka_prio));
    let (m, b, mut master, backup) = if vigil_master {
        (1, 2, Daemon::Vigil(vigil), Daemon::Keepalived(ka))
    } else {
        (2, 1, Daemon::Keepalived(ka), Daemon::Vigil(vigil))
    };

    // Master_Down_Interval of the Master (< 3.7 intervals), plus keepalived's start.
    let elected = within(int * 4 + Duration::from_secs(2), || holds(&lab, m, vip));
    assert!(
        elected.is_some(),
        "{name}: no Master\n{}",
        logs(&master, &backup)
    );
    std::thread::sleep(int * 4);
    assert!(
        holds(&lab, m, vip) && !holds(&lab, b, vip),
        "{name}: not exactly one holder\n{}",
        logs(&master, &backup)
    );

    let signalled = Instant::now();
    master.signal(sig);
    // SIGKILL: Master_Down_Interval after the last advert; SIGTERM: Skew_Time
    // after the priority-0 advert.
    let took = within(int * 4 + Duration::from_secs(2), || holds(&lab, b, vip));
    assert!(
        took.is_some(),
        "{name}: no takeover\n{}",
        logs(&master, &backup)
    );
    if sig == libc::SIGTERM {
        assert!(
            master.exited_within(Duration::from_secs(3)),
            "{name}: still running\n{}",
            logs(&master, &backup)
        );
        assert!(
            !holds(&lab, m, vip),
            "{name}: VIP kept\n{}",
            logs(&master, &backup)
        );
    }
    std::thread::sleep(int * 2 + Duration::from_millis(200));
    assert!(
        holds(&lab, b, vip),
        "{name}: lost the VIP\n{}",
        logs(&master, &backup)
    );
    let pcap = capture.stop();
    let [w1, w2] = watches.map(VipWatch::stop);

    // A SIGKILLed Master leaves its VIP behind: count only while it lived.
    let until = if sig == libc::SIGKILL {
        signalled
    } else {
        Instant::now()
    };
    let both = longest_overlap(&w1, &w2, until);
    // A keepalived Master stopped by SIGTERM sends priority 0 and only then
    // removes its VIPs; under load that second step has been seen 140 ms
    // late, past vigil's Skew_Time takeover (61 ms at 0.1 s). The overlap
    // is then keepalived's lateness in letting go, not a contest vigil
    // started: it gets three intervals rather than one.
    let allowed = if !vigil_master && sig == libc::SIGTERM {
        int * 3
    } else {
        int
    };
    assert!(both <= allowed, "{name}: VIP on both nodes for {both:?}");

    let adverts = adverts(&pcap);
    let dual = longest_alternation(&adverts, int);
    assert!(
        dual <= int + Duration::from_millis(20),
        "{name}: two Masters for {dual:?}: {adverts:?}"
    );
    // The capture ends with the Master's adverts, then the Backup's.
    let prios: Vec<u8> = adverts.iter().map(|a| a.prio).collect();
    let last_master = prios
        .iter()
        .rposition(|&p| p == 150)
        .expect("Master adverts");
    assert!(
        prios[last_master + 1..].iter().all(|&p| p != 150)
            && prios[last_master + 1..].contains(&100),
        "{name}: {prios:?}"
    );
    let released = prios[last_master + 1..].first() == Some(&0);
    assert_eq!(released, sig == libc::SIGTERM, "{name}: {prios:?}");
    // From the last advert (the priority-0 one after SIGTERM) to the Backup's first.
    let last = last_master + usize::from(released);
    let gap = adverts[last + 1].at - adverts[last].at;
    println!("{name}: takeover {took:?} after the signal, {gap:?} on the wire");

    let conf = dir.path().join("vigil.conf");
    std::fs::write(&conf, &vigil_conf).expect("write");
    for with_conf in [false, true] {
        let mut check = Command::new(env!("CARGO_BIN_EXE_vigil"));
        check.args(["pcap", "check"]);
        if with_conf {
            check.arg("-f").arg(&conf);
        }
        let out = check.arg(&pcap).output().expect("vigil pcap check");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {text}");
        assert!(text.trim_end().ends_with(" 0 invalid"), "{name}: {text}");
    }
    if let Some(keep) = std::env::var_os("VIGIL_INTEROP_CAPTURES") {
        let keep = Path::new(&keep);
        std::fs::copy(&pcap, keep.join(format!("{name}.pcap"))).expect("keep pcap");
        if vigil_master && sig == libc::SIGKILL {
            std::fs::write(
                keep.join(format!("{}.vigil.conf", mode.name())),
                mode.conf(1, 150),
            )
            .expect("keep config");
        }
    }
}

fn logs(master: &Daemon, backup: &Daemon) -> String {
    format!("{}\n{}", master.log(), backup.log())
}

/// When a node gained (`true`) and lost (`false`) a VIP, from `ip monitor address`.
struct VipWatch {
    child: Child,
    events: Arc<Mutex<Vec<(Instant, bool)>>>,
}

impl VipWatch {
    fn start(lab: &Lab, node: usize, vip: &str) -> VipWatch {
        let mut child = lab
            .command(lab.node(node), "ip")
            .args(["-o", "monitor", "address"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("ip monitor");
        let events = Arc::new(Mutex::new(Vec::new()));
        let (out, sink, needle) = (
            child.stdout.take().expect("stdout"),
            events.clone(),
            format!(" {vip}/"),
        );
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains(&needle) {
                    let added = !line.starts_with("Deleted");
                    sink.lock().expect("lock").push((Instant::now(), added));
                }
            }
        });
        VipWatch { child, events }
    }

    fn stop(mut self) -> Vec<(Instant, bool)> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::take(&mut *self.events.lock().expect("lock"))
    }
}

/// The longest time before `until` that both nodes held the VIP.
fn longest_overlap(a: &[(Instant, bool)], b: &[(Instant, bool)], until: Instant) -> Duration {
    let mut all: Vec<(Instant, usize, bool)> = a.iter().map(|&(t, h)| (t, 0, h)).collect();
    all.extend(b.iter().map(|&(t, h)| (t, 1, h)));
    all.sort_by_key(|e| e.0);
    let (mut held, mut since, mut longest) = ([false; 2], None, Duration::ZERO);
    for (t, node, h) in all
        .into_iter()
        .filter(|e| e.0 <= until)
        .chain([(until, 2, false)])
    {
        if let Some(s) = since {
            longest = longest.max(t - s);
        }
        if node < 2 {
            held[node] = h;
        }
        since = (held[0] && held[1]).then(|| since.unwrap_or(t));
    }
    longest
}

/// A VRRP advert on the wire.
#[derive(Debug)]
struct Advert {
    at: Duration,
    src: IpAddr,
    prio: u8,
}

/// Every VRRP advert in an Ethernet capture.
fn adverts(pcap: &Path) -> Vec<Advert> {
    let file = std::fs::File::open(pcap).expect("open pcap");
    let mut reader = pcap_file::pcap::PcapReader::new(file).expect("pcap");
    let mut out = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.expect("packet");
        let d = &packet.data;
        let (src, vrrp): (IpAddr, usize) = match d.get(12..14) {
            Some([0x08, 0x00]) if d.get(23) == Some(&112) => {
                let src: [u8; 4] = d[26..30].try_into().expect("4 bytes");
                (src.into(), 14 + usize::from(d[14] & 0x0f) * 4)
            }
            Some([0x86, 0xdd]) if d.get(20) == Some(&112) => {
                let src: [u8; 16] = d[22..38].try_into().expect("16 bytes");
                (src.into(), 54)
            }
            _ => continue,
        };
        if let Some(&prio) = d.get(vrrp + 2) {
            out.push(Advert {
                at: packet.timestamp,
                src,
                prio,
            });
        }
    }
    out
}

/// How long adverts with a priority from two senders alternated (A B A …)
/// while A kept its pace (it resumed within two intervals; after a down
/// timer of over three it is a new election, not a second Master): from B's
/// first advert to the start of the last run in the longest such stretch.
/// A clean handover (A A A B B B) gives zero.
fn longest_alternation(adverts: &[Advert], interval: Duration) -> Duration {
    // (sender, first advert, last advert) of each run from one sender.
    let mut runs: Vec<(IpAddr, Duration, Duration)> = Vec::new();
    for a in adverts.iter().filter(|a| a.prio > 0) {
        match runs.last_mut() {
            Some(run) if run.0 == a.src => run.2 = a.at,
            _ => runs.push((a.src, a.at, a.at)),
        }
    }
    let (mut longest, mut from) = (Duration::ZERO, None);
    for i in 2..runs.len() {
        if runs[i].0 == runs[i - 2].0 && runs[i].1 - runs[i - 2].2 <= interval * 2 {
            let start = *from.get_or_insert(runs[i - 1].1);
            longest = longest.max(runs[i].1 - start);
        } else {
            from = None;
        }
    }
    longest
}

#[test]
fn alternating_adverts_count_from_the_second_sender() {
    let ms = Duration::from_millis;
    let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    let adv = |at, src| Advert {
        at: ms(at),
        src,
        prio: 100,
    };
    let int = ms(100);
    let clean = [adv(0, a), adv(100, a), adv(460, b), adv(560, b)];
    assert_eq!(longest_alternation(&clean, int), Duration::ZERO);
    let preempt = [
        adv(0, a),
        adv(100, a),
        adv(150, b),
        adv(151, a),
        adv(250, b),
    ];
    assert_eq!(longest_alternation(&preempt, int), ms(100));
    let dual = [adv(0, a), adv(50, b), adv(100, a), adv(150, b), adv(200, a)];
    assert_eq!(longest_alternation(&dual, int), ms(150));
    // B Master at start, A preempts, A dies and B takes over again.
    let back = [adv(0, b), adv(40, a), adv(140, a), adv(500, b)];
    assert_eq!(longest_alternation(&back, int), Duration::ZERO);
}

/// The addresses on node `i`'s `vrrp.51` (empty when there is none).
fn on_vmac(lab: &Lab, i: usize) -> String {
    let out = lab
        .command(lab.node(i), "ip")
        .args(["addr", "show", "dev", "vrrp.51"])
        .output()
        .expect("ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// With `use_vmac` on both, each one's adverts reach the other through its
/// own VMAC (a private macvlan gets the frames whose source is its MAC):
/// vigil stays Backup under keepalived and takes the VIP onto its VMAC when
/// keepalived stops; keepalived, restarted lower, stays Backup under vigil.
#[test]
fn use_vmac_interoperates_both_ways() {
    if skipped() {
        return;
    }
    let lab = Lab::new(2).expect("build the lab");
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = |priority: u8| {
        format!(
            "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    use_vmac
    virtual_ipaddress {{
        10.77.0.100/24
    }}
}}
"
        )
    };
    let mut ka = Keepalived::start(&lab, 1, dir.path(), &conf(150));
    let vigil = Vigil::start(&lab, 2, dir.path(), &conf(100), &[]);
    let both = || format!("keepalived:\n{}\nvigil:\n{}", ka.log(), vigil.log());
    assert!(
        within(Duration::from_secs(7), || on_vmac(&lab, 1)
            .contains("10.77.0.100"))
        .is_some(),
        "keepalived never took the VIP onto vrrp.51\n{}",
        both()
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !on_vmac(&lab, 2).contains("10.77.0.100"),
        "both hold it\n{}",
        both()
    );
    assert!(!vigil.log().contains("Entering MASTER STATE"), "{}", both());
    ka.signal(libc::SIGTERM);
    assert!(
        within(Duration::from_secs(3), || on_vmac(&lab, 2)
            .contains("10.77.0.100"))
        .is_some(),
        "vigil did not take over on its VMAC\n{}",
        both()
    );
    let _ = ka.wait_exit(Duration::from_secs(3));
    // And the other way: keepalived, back as a Backup, hears vigil's adverts.
    let ka = Keepalived::start(&lab, 1, dir.path(), &conf(50));
    std::thread::sleep(Duration::from_secs(5));
    assert!(ka.log().contains("Entering BACKUP STATE"), "{}", ka.log());
    assert!(!ka.log().contains("Entering MASTER STATE"), "{}", ka.log());
    assert!(!on_vmac(&lab, 1).contains("10.77.0.100"), "{}", ka.log());
}

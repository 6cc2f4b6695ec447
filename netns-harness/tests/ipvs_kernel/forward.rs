//! Forwarding end to end, one test per method: a client namespace
//! connects to the VIP of a director namespace whose table vigil's driver
//! programmed; three real server namespaces answer with their names, and
//! the answers come back from the VIP in the order the core's rr
//! predicts. NAT routes through the director; DR and TUN put everyone on
//! one segment and the real servers answer the client directly, so the
//! director's IPVS sees no outgoing packet.
//!
//! ```text
//! NAT:     client 10.77.0.2 ── 10.77.0.1, VIP 10.77.0.100 director ── 10.77.N.1 ── 10.77.N.2:80 sN
//! DR, TUN: client .2, director .1 + VIP .100, sN .1N, all on br0 in 10.80.0.0/24
//!          (DR: VIP on each sN's lo; TUN: VIP on each sN's tunl0)
//! ```

use crate::require_ipvs;
use crate::support::{Netns, Server, connect};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use vigil_core::Instant;
use vigil_core::lvs::ipvs::{DestEntry, Forward, IpvsOp, ServiceKey, ServiceSpec, Tunnel};
use vigil_core::lvs::{
    Algorithm, DestKey, DestSpec, Options, Packet, Protocol, SchedFlags, Scheduler,
};
use vigil_netns::driver::ipvs::Ipvs;

const NAMES: [&str; 3] = ["s1", "s2", "s3"];
const PORT: u16 = 80;
/// Connections per test: each real server twice.
const CONNECTIONS: u16 = 6;

#[test]
fn kernel_nat_forwards_to_real_servers_that_answer_with_their_names() {
    require_ipvs!();
    let client = Netns::new("client");
    let director = Netns::new("director");
    let servers: Vec<Netns> = NAMES.iter().map(|n| Netns::new(n)).collect();
    client.ip(&format!(
        "link add c0 type veth peer name d0 netns {}",
        director.name
    ));
    client.ip("addr add 10.77.0.2/24 dev c0");
    client.ip("link set c0 up");
    client.ip("route add default via 10.77.0.1");
    director.ip("addr add 10.77.0.1/24 dev d0");
    director.ip("addr add 10.77.0.100/24 dev d0");
    director.ip("link set d0 up");
    let mut real = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let n = i + 1;
        director.ip(&format!(
            "link add s{n} type veth peer name eth0 netns {}",
            s.name
        ));
        director.ip(&format!("addr add 10.77.{n}.1/24 dev s{n}"));
        director.ip(&format!("link set s{n} up"));
        s.ip(&format!("addr add 10.77.{n}.2/24 dev eth0"));
        s.ip("link set eth0 up");
        s.ip(&format!("route add default via 10.77.{n}.1"));
        real.push(SocketAddr::new(
            Ipv4Addr::new(10, 77, n as u8, 2).into(),
            PORT,
        ));
    }
    director.run(|| std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("ip_forward"));
    let vip = SocketAddr::new(Ipv4Addr::new(10, 77, 0, 100).into(), PORT);
    let client_ip = Ipv4Addr::new(10, 77, 0, 2).into();
    let outgoing = balance(
        &client,
        client_ip,
        &director,
        vip,
        Forward::Nat,
        &servers,
        &real,
    );
    assert!(outgoing > 0, "NAT: the replies go out through the director");
}

#[test]
fn kernel_dr_real_servers_answer_the_client_directly() {
    require_ipvs!();
    let lan = Lan::new("dr");
    // The seed's real server script: the VIP on lo, and ARP neither
    // answered for it (arp_ignore 1: only for addresses of the asking
    // interface) nor sourced from it (arp_announce 2).
    for s in &lan.servers {
        s.ip(&format!("addr add {VIP}/32 dev lo"));
        s.run(|| {
            sysctls(&[
                ("conf/lo/arp_ignore", "1"),
                ("conf/lo/arp_announce", "2"),
                ("conf/all/arp_ignore", "1"),
                ("conf/all/arp_announce", "2"),
            ])
        });
    }
    lan.balance(Forward::Dr);
    let neigh = Command::new("ip")
        .args(["-n", &lan.client.name, "neigh", "show", VIP])
        .output()
        .expect("ip neigh");
    let director_mac = mac(&lan.director);
    assert!(
        String::from_utf8_lossy(&neigh.stdout).contains(&director_mac),
        "the client's ARP for the VIP reached only the director ({director_mac}): {}",
        String::from_utf8_lossy(&neigh.stdout)
    );
}

#[test]
fn kernel_tun_real_servers_decapsulate_ipip_and_answer_directly() {
    require_ipvs!();
    let probe = Command::new("modprobe").arg("ipip").output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        println!("SKIPPED: this kernel has no ipip module: {probe:?}");
        return;
    }
    let lan = Lan::new("tun");
    // Loading ipip gave every namespace a tunl0 that takes IPIP to any
    // local address; the VIP on it makes the inner packet local, and the
    // inner source (the client) arrives on tunl0 but routes back through
    // eth0, which reverse path filtering would drop.
    for s in &lan.servers {
        s.ip(&format!("addr add {VIP}/32 dev tunl0"));
        s.ip("link set tunl0 up");
        s.run(|| {
            sysctls(&[
                ("conf/tunl0/rp_filter", "0"),
                ("conf/all/rp_filter", "0"),
                ("conf/all/arp_ignore", "1"),
                ("conf/all/arp_announce", "2"),
            ])
        });
    }
    lan.balance(Forward::Tun(Tunnel::default()));
    for (s, name) in lan.servers.iter().zip(NAMES) {
        let rx = s.run(|| rx_packets("tunl0"));
        assert!(rx > 0, "{name} received its connections through tunl0");
    }
}

const VIP: &str = "10.80.0.100";

/// DR and TUN's topology: client, director and real servers each a port
/// of one bridge, in 10.80.0.0/24; the director holds the VIP.
struct Lan {
    client: Netns,
    director: Netns,
    servers: Vec<Netns>,
    real: Vec<SocketAddr>,
    // Dropped last: the hosts' veths go with their namespaces.
    _bridge: Netns,
}

impl Lan {
    fn new(tag: &str) -> Lan {
        let bridge = Netns::new(&format!("{tag}-lan"));
        bridge.ip("link add br0 type bridge");
        bridge.ip("link set br0 up");
        let plug = |host: &Netns, port: &str, addr: &str| {
            bridge.ip(&format!(
                "link add {port} type veth peer name eth0 netns {}",
                host.name
            ));
            bridge.ip(&format!("link set {port} master br0 up"));
            host.ip(&format!("addr add {addr}/24 dev eth0"));
            host.ip("link set eth0 up");
        };
        let client = Netns::new(&format!("{tag}-client"));
        plug(&client, "pc", "10.80.0.2");
        let director = Netns::new(&format!("{tag}-director"));
        plug(&director, "pd", "10.80.0.1");
        director.ip(&format!("addr add {VIP}/24 dev eth0"));
        let mut servers = Vec::new();
        let mut real = Vec::new();
        for (i, name) in NAMES.iter().enumerate() {
            let s = Netns::new(&format!("{tag}-{name}"));
            let addr = Ipv4Addr::new(10, 80, 0, 11 + i as u8);
            plug(&s, &format!("p{name}"), &addr.to_string());
            servers.push(s);
            real.push(SocketAddr::new(addr.into(), PORT));
        }
        Lan {
            client,
            director,
            servers,
            real,
            _bridge: bridge,
        }
    }

    /// [`balance`] on this segment; asserts that no reply went back
    /// through the director.
    fn balance(&self, forward: Forward) {
        let vip = SocketAddr::new(VIP.parse().expect("VIP"), PORT);
        let client_ip = Ipv4Addr::new(10, 80, 0, 2).into();
        let outgoing = balance(
            &self.client,
            client_ip,
            &self.director,
            vip,
            forward,
            &self.servers,
            &self.real,
        );
        assert_eq!(outgoing, 0, "{forward:?}: no reply passed the director");
    }
}

/// Programs `vip` with rr over `real` through vigil's driver, starts each
/// server answering with its name, and connects from `client_ip`
/// [`CONNECTIONS`] times: each answer must come from the VIP and from the
/// server the core's rr picks. Returns the director's count of IPVS
/// outgoing packets.
fn balance(
    client: &Netns,
    client_ip: IpAddr,
    director: &Netns,
    vip: SocketAddr,
    forward: Forward,
    servers: &[Netns],
    real: &[SocketAddr],
) -> u64 {
    let _servers: Vec<Server> = servers
        .iter()
        .zip(NAMES)
        .map(|(s, name)| s.run(move || Server::start(PORT, name)))
        .collect();
    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: vip.ip(),
        port: vip.port(),
    };
    let dests: Vec<DestEntry> = real
        .iter()
        .map(|r| DestEntry {
            key: (*r).into(),
            weight: 1,
            forward,
            u_threshold: 0,
            l_threshold: 0,
        })
        .collect();
    director.run(move || {
        let mut ipvs = Ipvs::open().expect("open IPVS");
        let spec = ServiceSpec {
            key,
            algorithm: Algorithm::Rr,
            flags: SchedFlags::default(),
            persistence: None,
            one_packet: false,
        };
        ipvs.apply(&IpvsOp::AddService(spec))
            .expect("add the service");
        for dest in dests {
            ipvs.apply(&IpvsOp::AddDest { service: key, dest })
                .expect("add a real server");
        }
    });

    let srcs: Vec<SocketAddr> = (0..CONNECTIONS)
        .map(|i| SocketAddr::new(client_ip, 40000 + i))
        .collect();
    let packets: Vec<Packet> = srcs
        .iter()
        .map(|src| Packet {
            src: src.ip(),
            sport: src.port(),
            dst: vip.ip(),
            dport: vip.port(),
            protocol: Protocol::Tcp,
        })
        .collect();
    let answers: Vec<String> = client.run(move || {
        srcs.iter()
            .map(|src| {
                let mut c = connect(*src, vip).unwrap_or_else(|e| panic!("{src} -> {vip}: {e}"));
                assert_eq!(
                    c.peer_addr().expect("peer"),
                    vip,
                    "replies come from the VIP"
                );
                let mut name = [0u8; 2];
                c.read_exact(&mut name).expect("the server's name");
                String::from_utf8_lossy(&name).into_owned()
            })
            .collect()
    });

    let mut rr = Scheduler::new(Algorithm::Rr, SchedFlags::default(), Options::default());
    for r in real {
        rr.add_dest(&DestSpec::new((*r).into(), 1)).expect("add");
    }
    let want: Vec<String> = packets
        .iter()
        .map(|pkt| {
            let pick: DestKey = rr.connect(Instant::ZERO, pkt).expect("a pick");
            let i = real
                .iter()
                .position(|r| DestKey::from(*r) == pick)
                .expect("one of the servers");
            NAMES[i].to_owned()
        })
        .collect();
    assert_eq!(answers, want, "{forward:?}");
    assert_eq!(answers.iter().filter(|a| *a == "s1").count(), 2);
    director.run(outgoing_packets)
}

/// The outgoing packets IPVS saw in this thread's namespace (from a real
/// server back to a client), once its totals count this test's
/// connections: the kernel's estimator copies the counters into
/// `/proc/net/ip_vs_stats` every 2 s.
fn outgoing_packets() -> u64 {
    let started = std::time::Instant::now();
    loop {
        let text =
            std::fs::read_to_string("/proc/thread-self/net/ip_vs_stats").expect("read ip_vs_stats");
        // Two header lines, then Conns InPkts OutPkts InBytes OutBytes in hex.
        let totals: Vec<u64> = text
            .lines()
            .nth(2)
            .expect("the totals line")
            .split_whitespace()
            .map(|n| u64::from_str_radix(n, 16).expect("a hexadecimal count"))
            .collect();
        if totals[0] >= u64::from(CONNECTIONS) {
            return totals[2];
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "ip_vs_stats never counted {CONNECTIONS} connections:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Writes `/proc/sys/net/ipv4/KEY` = value in the calling thread's namespace.
fn sysctls(settings: &[(&str, &str)]) {
    for (key, value) in settings {
        let path = format!("/proc/sys/net/ipv4/{key}");
        std::fs::write(&path, value).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

/// Packets received on `dev` of the calling thread's namespace (sysfs
/// would show the namespace it was mounted in).
fn rx_packets(dev: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/net/dev").expect("read net/dev");
    let line = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(&format!("{dev}:")))
        .unwrap_or_else(|| panic!("no {dev} in net/dev:\n{text}"));
    // bytes packets errs ...
    let packets = line.split_whitespace().nth(1).expect("a packet count");
    packets.parse().expect("a count")
}

/// The MAC address of `ns`'s eth0.
fn mac(ns: &Netns) -> String {
    let out = Command::new("ip")
        .args(["-n", &ns.name, "-o", "link", "show", "eth0"])
        .output()
        .expect("ip link");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    words.find(|w| *w == "link/ether");
    words.next().expect("eth0's MAC").to_owned()
}

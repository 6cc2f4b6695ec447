//! NAT forwarding end to end: a client namespace connects to the VIP of a
//! director namespace, which masquerades each connection to one of three
//! real server namespaces; each server answers with its name, and the
//! answers come back from the VIP in the order the core's rr predicts.
//!
//! ```text
//! client 10.77.0.2 ── 10.77.0.1, VIP 10.77.0.100 director ── 10.77.N.1 ── 10.77.N.2:8080 sN
//! ```

use crate::require_ipvs;
use crate::support::{Netns, Server, connect};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use vigil_core::Instant;
use vigil_core::lvs::ipvs::{DestEntry, Forward, IpvsOp, ServiceKey, ServiceSpec};
use vigil_core::lvs::{
    Algorithm, DestKey, DestSpec, Options, Packet, Protocol, SchedFlags, Scheduler,
};
use vigil_netns::driver::ipvs::Ipvs;

const NAMES: [&str; 3] = ["s1", "s2", "s3"];

fn server_addr(i: usize) -> SocketAddr {
    SocketAddr::new(Ipv4Addr::new(10, 77, i as u8 + 1, 2).into(), 8080)
}

#[test]
fn kernel_nat_forwards_to_real_servers_that_answer_with_their_names() {
    require_ipvs!();
    let vip: SocketAddr = "10.77.0.100:80".parse().expect("VIP");
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
    }
    let _servers: Vec<Server> = servers
        .iter()
        .zip(NAMES)
        .map(|(s, name)| s.run(move || Server::start(8080, name)))
        .collect();

    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: vip.ip(),
        port: vip.port(),
    };
    director.run(move || {
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("ip_forward");
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
        for i in 0..NAMES.len() {
            let dest = DestEntry {
                key: server_addr(i).into(),
                weight: 1,
                forward: Forward::Nat,
                u_threshold: 0,
                l_threshold: 0,
            };
            ipvs.apply(&IpvsOp::AddDest { service: key, dest })
                .expect("add a real server");
        }
    });

    let srcs: Vec<SocketAddr> = (0..6)
        .map(|i| SocketAddr::new(Ipv4Addr::new(10, 77, 0, 2).into(), 40000 + i))
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
    for i in 0..NAMES.len() {
        rr.add_dest(&DestSpec::new(server_addr(i).into(), 1))
            .expect("add");
    }
    let want: Vec<String> = (0..answers.len() as u16)
        .map(|i| {
            let pkt = Packet {
                src: Ipv4Addr::new(10, 77, 0, 2).into(),
                sport: 40000 + i,
                dst: vip.ip(),
                dport: vip.port(),
                protocol: Protocol::Tcp,
            };
            let pick: DestKey = rr.connect(Instant::ZERO, &pkt).expect("a pick");
            let i = (0..NAMES.len())
                .position(|i| DestKey::from(server_addr(i)) == pick)
                .expect("one of the servers");
            NAMES[i].to_owned()
        })
        .collect();
    assert_eq!(answers, want);
    assert_eq!(answers.iter().filter(|a| *a == "s1").count(), 2);
}

//! The generic netlink driver against the kernel: what it writes reads back
//! the same, the kernel refuses what the core's model refuses, and
//! `ipvsadm -Ln` prints what `vigil ipvs list` prints.

use crate::require_ipvs;
use crate::support::{Server, connect, in_netns, ip};
use nix::libc::ESRCH;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;
use vigil_core::lvs::ipvs::{
    DestEntry, Forward, IpvsOp, IpvsOpError, IpvsState, Persistence, ServiceEntry, ServiceKey,
    ServiceSpec, Tunnel, TunnelCsum, TunnelKind, reconcile,
};
use vigil_core::lvs::{Algorithm, DestKey, Protocol, SchedFlags};
use vigil_netns::driver::ipvs::{Ipvs, IpvsError, SyncDaemon, SyncRole};

fn v4(a: [u8; 4]) -> IpAddr {
    Ipv4Addr::from(a).into()
}

fn v6(s: &str) -> IpAddr {
    s.parse::<Ipv6Addr>().expect("an IPv6 address").into()
}

fn addr_key(protocol: Protocol, addr: IpAddr, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol,
        addr,
        port,
    }
}

fn spec(key: ServiceKey, algorithm: Algorithm) -> ServiceSpec {
    ServiceSpec {
        key,
        algorithm,
        flags: SchedFlags::default(),
        persistence: None,
        one_packet: false,
    }
}

fn dest(addr: IpAddr, port: u16, forward: Forward, weight: u32) -> DestEntry {
    DestEntry {
        key: DestKey::new(addr, port),
        weight,
        forward,
        u_threshold: 0,
        l_threshold: 0,
    }
}

fn tun(kind: TunnelKind, port: u16, csum: TunnelCsum) -> Forward {
    Forward::Tun(Tunnel { kind, port, csum })
}

/// A table with every kind of service and destination setting: each
/// protocol and family, fwmarks, every scheduler of Debian's kernel, every
/// flag, persistence with and without a netmask, one-packet scheduling,
/// every forwarding method and tunnel type, thresholds, weight 0, and an
/// IPv6 tunnel destination of an IPv4 service.
fn every_variety() -> IpvsState {
    let mut services = Vec::new();
    let mut first = spec(
        addr_key(Protocol::Tcp, v4([10, 1, 0, 1]), 80),
        Algorithm::Wlc,
    );
    first.flags = SchedFlags::FLAG3;
    let mut thresholds = dest(v4([10, 2, 0, 2]), 80, Forward::Dr, 0);
    thresholds.u_threshold = 10;
    thresholds.l_threshold = 5;
    services.push(ServiceEntry {
        spec: first,
        dests: vec![
            dest(v4([10, 2, 0, 1]), 8080, Forward::Nat, 3),
            thresholds,
            dest(v4([10, 2, 0, 3]), 80, Forward::Tun(Tunnel::default()), 1),
            dest(
                v4([10, 2, 0, 4]),
                80,
                tun(TunnelKind::Gue, 6080, TunnelCsum::RemCsum),
                2,
            ),
            dest(
                v4([10, 2, 0, 5]),
                80,
                tun(TunnelKind::Gre, 0, TunnelCsum::Csum),
                1,
            ),
            dest(
                v4([10, 2, 0, 6]),
                80,
                tun(TunnelKind::Gue, 5555, TunnelCsum::NoCsum),
                7,
            ),
            dest(v6("2001:db8::99"), 80, Forward::Tun(Tunnel::default()), 1),
        ],
    });
    let mut sh = spec(
        addr_key(Protocol::Udp, v4([10, 1, 0, 2]), 53),
        Algorithm::Sh,
    );
    sh.flags = SchedFlags::FALLBACK
        .with(SchedFlags::PORT)
        .with(SchedFlags::FLAG3);
    sh.one_packet = true;
    sh.persistence = Some(Persistence {
        timeout: 300,
        netmask: u32::from(Ipv4Addr::new(255, 255, 255, 0)),
    });
    services.push(ServiceEntry {
        spec: sh,
        dests: vec![dest(v4([10, 2, 0, 1]), 53, Forward::Nat, 1)],
    });
    let mut mh = spec(
        addr_key(Protocol::Sctp, v4([10, 1, 0, 3]), 5000),
        Algorithm::Mh,
    );
    mh.flags = SchedFlags::FLAG1
        .with(SchedFlags::FLAG2)
        .with(SchedFlags::FLAG3);
    services.push(ServiceEntry {
        spec: mh,
        dests: vec![dest(v4([10, 2, 0, 7]), 5000, Forward::Dr, 4)],
    });
    let mut persistent = spec(
        addr_key(Protocol::Tcp, v4([10, 1, 0, 4]), 443),
        Algorithm::Rr,
    );
    persistent.persistence = Some(Persistence {
        timeout: 60,
        netmask: u32::MAX,
    });
    services.push(ServiceEntry {
        spec: persistent,
        dests: vec![],
    });
    let mut six = spec(
        addr_key(Protocol::Tcp, v6("2001:db8::1"), 443),
        Algorithm::Lc,
    );
    six.persistence = Some(Persistence {
        timeout: 30,
        netmask: 96,
    });
    services.push(ServiceEntry {
        spec: six,
        dests: vec![
            dest(v6("2001:db8::2"), 443, Forward::Nat, 1),
            dest(v6("2001:db8::3"), 8443, Forward::Nat, 2),
        ],
    });
    services.push(ServiceEntry {
        spec: spec(
            ServiceKey::Fwmark {
                mark: 7,
                ipv6: false,
            },
            Algorithm::Rr,
        ),
        dests: vec![dest(v4([10, 2, 0, 1]), 0, Forward::Dr, 1)],
    });
    let mut fwm6 = spec(
        ServiceKey::Fwmark {
            mark: 8,
            ipv6: true,
        },
        Algorithm::Wrr,
    );
    fwm6.persistence = Some(Persistence {
        timeout: 10,
        netmask: 64,
    });
    services.push(ServiceEntry {
        spec: fwm6,
        dests: vec![dest(v6("2001:db8::4"), 0, Forward::Dr, 5)],
    });
    // Every other scheduler by name.
    for (i, algorithm) in [
        Algorithm::Sed,
        Algorithm::Nq,
        Algorithm::Fo,
        Algorithm::Ovf,
        Algorithm::Lblc,
        Algorithm::Lblcr,
        Algorithm::Dh,
    ]
    .into_iter()
    .enumerate()
    {
        let port = 9000 + i as u16;
        services.push(ServiceEntry {
            spec: spec(addr_key(Protocol::Tcp, v4([10, 1, 0, 9]), port), algorithm),
            dests: vec![dest(v4([10, 2, 0, 9]), port, Forward::Nat, 1)],
        });
    }
    services.sort_by_key(|s| s.spec.key);
    IpvsState { services }
}

/// Applies every op, failing on the first the kernel refuses.
/// Applies `ops`, each in one netlink round trip.
fn apply_all(ipvs: &mut Ipvs, ops: &[IpvsOp]) {
    let before = ipvs.round_trips();
    for op in ops {
        ipvs.apply(op)
            .unwrap_or_else(|e| panic!("ipvsadm {op}: {e}"));
    }
    assert_eq!(ipvs.round_trips() - before, ops.len() as u64);
}

#[test]
fn kernel_round_trip_of_every_field_variety() {
    require_ipvs!();
    in_netns(|| {
        let mut ipvs = Ipvs::open().expect("open IPVS");
        assert_eq!(ipvs.dump().expect("dump"), IpvsState::default());
        let want = every_variety();
        apply_all(&mut ipvs, &reconcile(&IpvsState::default(), &want));
        assert_eq!(ipvs.dump().expect("dump"), want);

        // Edits in place, deletes, new ones: reconcile's ops take the
        // kernel to the next table too.
        let mut next = want.clone();
        next.services.retain(|s| s.spec.algorithm != Algorithm::Dh);
        let first = &mut next.services[0];
        first.spec.algorithm = Algorithm::Wrr;
        first.spec.persistence = Some(Persistence {
            timeout: 5,
            netmask: u32::from(Ipv4Addr::new(255, 255, 0, 0)),
        });
        first.dests.remove(1);
        first.dests[0].weight = 9;
        first.dests[0].forward = Forward::Dr;
        first.dests[2].forward = tun(TunnelKind::Gre, 0, TunnelCsum::NoCsum);
        first
            .dests
            .push(dest(v4([10, 2, 0, 10]), 80, Forward::Nat, 1));
        next.services[1].spec.flags = SchedFlags::default();
        next.services[1].spec.persistence = None;
        let ops = reconcile(&ipvs.dump().expect("dump"), &next);
        assert!(
            ops.iter().any(|o| matches!(o, IpvsOp::EditService(_)))
                && ops.iter().any(|o| matches!(o, IpvsOp::EditDest { .. }))
                && ops.iter().any(|o| matches!(o, IpvsOp::DelDest { .. }))
                && ops.iter().any(|o| matches!(o, IpvsOp::DelService(_))),
            "{ops:?}"
        );
        apply_all(&mut ipvs, &ops);
        assert_eq!(ipvs.dump().expect("dump"), next);

        ipvs.flush().expect("flush");
        assert_eq!(ipvs.dump().expect("dump"), IpvsState::default());
    });
}

#[test]
fn kernel_refuses_what_the_core_refuses() {
    require_ipvs!();
    in_netns(|| {
        let mut ipvs = Ipvs::open().expect("open IPVS");
        let svc = spec(
            addr_key(Protocol::Tcp, v4([10, 1, 0, 1]), 80),
            Algorithm::Rr,
        );
        let missing = addr_key(Protocol::Tcp, v4([10, 1, 0, 1]), 81);
        let d = dest(v4([10, 2, 0, 1]), 80, Forward::Nat, 1);
        let other = dest(v4([10, 2, 0, 2]), 80, Forward::Nat, 1);
        let ops = [
            IpvsOp::AddService(svc),
            IpvsOp::AddService(svc),
            IpvsOp::AddDest {
                service: svc.key,
                dest: d,
            },
            IpvsOp::AddDest {
                service: svc.key,
                dest: d,
            },
            IpvsOp::AddDest {
                service: missing,
                dest: d,
            },
            IpvsOp::EditDest {
                service: svc.key,
                dest: other,
            },
            IpvsOp::DelDest {
                service: svc.key,
                key: other.key,
            },
            IpvsOp::EditService(spec(missing, Algorithm::Rr)),
            IpvsOp::DelService(missing),
            IpvsOp::DelDest {
                service: svc.key,
                key: d.key,
            },
            IpvsOp::DelService(svc.key),
            IpvsOp::DelService(svc.key),
        ];
        let mut model = IpvsState::default();
        let mut refused = 0;
        for op in &ops {
            let want = model.apply(op);
            let got = ipvs.apply(op);
            match (&want, &got) {
                (Ok(()), Ok(())) => {}
                (Err(w), Err(IpvsError::Op(g))) if w == g => refused += 1,
                _ => panic!("ipvsadm {op}: the core says {want:?}, the kernel {got:?}"),
            }
            assert_eq!(ipvs.dump().expect("dump"), model, "after ipvsadm {op}");
        }
        assert_eq!(refused, 8);

        // A refusal outside the model: Debian's kernel has no twos module.
        let twos = spec(
            addr_key(Protocol::Tcp, v4([10, 1, 0, 1]), 80),
            Algorithm::Twos,
        );
        match ipvs.apply(&IpvsOp::AddService(twos)) {
            Err(e @ IpvsError::NoScheduler { .. }) => assert_eq!(
                e.to_string(),
                "ipvsadm -A -t 10.1.0.1:80 -s twos: \
                 the kernel has no such scheduler or persistence engine"
            ),
            other => panic!("a twos service on Debian's kernel: {other:?}"),
        }
        assert!(matches!(
            ipvs.apply(&IpvsOp::DelService(missing)),
            Err(IpvsError::Op(IpvsOpError::NoSuchService(k))) if k == missing
        ));
    });
}

fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .expect("run ipvsadm");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kernel_ipvsadm_ln_prints_what_vigil_lists() {
    require_ipvs!();
    in_netns(|| {
        let mut ipvs = Ipvs::open().expect("open IPVS");
        apply_all(
            &mut ipvs,
            &reconcile(&IpvsState::default(), &every_variety()),
        );
        // A live service, for connection counters: local real servers
        // behind a local VIP, as in the scheduler test.
        let vip: SocketAddr = "10.3.0.100:80".parse().expect("VIP");
        for a in ["10.3.0.100", "10.3.0.1", "10.3.0.2", "10.3.1.1"] {
            ip(&format!("addr add {a}/32 dev lo"));
        }
        let live = spec(addr_key(Protocol::Tcp, vip.ip(), 80), Algorithm::Rr);
        apply_all(
            &mut ipvs,
            &[
                IpvsOp::AddService(live),
                IpvsOp::AddDest {
                    service: live.key,
                    dest: dest(v4([10, 3, 0, 1]), 80, Forward::Dr, 1),
                },
                IpvsOp::AddDest {
                    service: live.key,
                    dest: dest(v4([10, 3, 0, 2]), 80, Forward::Dr, 2),
                },
            ],
        );
        let _server = Server::start(80, "rs");
        let mut conns: Vec<_> = (0..3)
            .map(|i| connect(SocketAddr::new(v4([10, 3, 1, 1]), 30000 + i), vip).expect("connect"))
            .collect();
        // One closed: an inactive connection (FIN_WAIT, TIME_WAIT).
        drop(conns.pop());

        let mut last = (String::new(), String::new());
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(200));
            let listing = ipvs.list().expect("list");
            let ours = listing.to_string();
            let theirs = ipvsadm(&["-Ln"]);
            if ours == theirs {
                let counters: Vec<_> = listing
                    .services
                    .iter()
                    .filter(|s| s.spec.key == live.key)
                    .flat_map(|s| &s.dests)
                    .map(|d| d.counters)
                    .collect();
                let active: u32 = counters.iter().map(|c| c.active).sum();
                let inactive: u32 = counters.iter().map(|c| c.inactive).sum();
                assert_eq!((active, inactive), (2, 1), "{ours}");
                return;
            }
            last = (ours, theirs);
        }
        panic!("vigil ipvs list:\n{}\nipvsadm -Ln:\n{}", last.0, last.1);
    });
}

#[test]
fn kernel_sync_daemons_start_list_and_stop() {
    require_ipvs!();
    in_netns(|| {
        ip("link add vsync0 type veth peer name vsync1");
        ip("addr add 10.4.0.1/24 dev vsync0");
        ip("link set vsync0 up");
        ip("link set vsync1 up");
        let mut ipvs = Ipvs::open().expect("open IPVS");
        let master = SyncDaemon {
            role: SyncRole::Master,
            interface: "vsync0".into(),
            syncid: 3,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        };
        let backup = SyncDaemon {
            role: SyncRole::Backup,
            interface: "vsync0".into(),
            syncid: 4,
            maxlen: Some(1024),
            group: Some(v4([224, 0, 0, 82])),
            port: Some(8850),
            ttl: Some(2),
        };
        ipvs.start_daemon(&master).expect("start the master");
        ipvs.start_daemon(&backup).expect("start the backup");
        // The kernel's defaults fill in what the master left out.
        let running = ipvs.daemons().expect("daemons");
        let with_defaults = SyncDaemon {
            maxlen: Some(1472),
            group: Some(v4([224, 0, 0, 81])),
            port: Some(8848),
            ttl: Some(1),
            ..master.clone()
        };
        assert_eq!(running, vec![with_defaults, backup.clone()]);
        let shown = ipvsadm(&["-Ln", "--daemon"]);
        assert_eq!(
            shown,
            "master sync daemon (mcast=vsync0, syncid=3, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n\
             backup sync daemon (mcast=vsync0, syncid=4, maxlen=1024, group=224.0.0.82, port=8850, ttl=2)\n"
        );
        ipvs.stop_daemon(SyncRole::Master).expect("stop the master");
        assert_eq!(ipvs.daemons().expect("daemons"), vec![backup]);
        ipvs.stop_daemon(SyncRole::Backup).expect("stop the backup");
        assert_eq!(ipvs.daemons().expect("daemons"), vec![]);
        match ipvs.stop_daemon(SyncRole::Backup) {
            Err(IpvsError::Kernel { errno, .. }) => assert_eq!(errno, ESRCH),
            other => panic!("stopping a stopped daemon: {other:?}"),
        }
    });
}

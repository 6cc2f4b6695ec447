//! The schedulers of Debian's kernel (all but twos, which it does not
//! build) against the core's, connection by connection: the recorded jobs
//! of `core/tests/lvs_kernel_answers.txt`, and a seeded random workload for
//! each scheduler.
//!
//! Each job gets a network namespace of its own, so a fresh IPVS table: a
//! service on a local VIP, its real servers added over generic netlink in
//! order (direct routing to local addresses, where one TCP server answers
//! them all), then TCP clients bound to each `SRC:PORT` connect one after
//! the other and stay connected. The real server of each connection is
//! read from `/proc/net/ip_vs_conn`; a connection IPVS refused (no real
//! server available) has none.

use crate::require_ipvs;
use crate::support::{IN_VM, Server, connect, in_netns, ip, ip_vs_conns};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use vigil_core::lvs::ipvs::{DestEntry, Forward, IpvsOp, ServiceKey, ServiceSpec};
use vigil_core::lvs::workload::{self, Job};
use vigil_core::lvs::{Algorithm, DestKey, DestSpec, Protocol, SchedFlags};
use vigil_netns::driver::ipvs::Ipvs;

const ANSWERS: &str = include_str!("../../../core/tests/lvs_kernel_answers.txt");

/// Where to write the kernel's answers to the recorded jobs, if asked to
/// (see `RECORD` in main.rs).
fn record_path() -> Option<PathBuf> {
    let asked = std::env::var_os(crate::RECORD)?;
    match std::env::var_os("VIGIL_VM_RUN") {
        Some(run) if std::env::var_os(IN_VM).is_some() => {
            Some(PathBuf::from(run).join("answers.txt"))
        }
        _ => Some(asked.into()),
    }
}

/// A connection from `src`, or `None` when IPVS refused it (it answers a
/// SYN it cannot schedule with ICMP port unreachable).
fn try_connect(src: SocketAddr, dst: SocketAddr) -> Option<TcpStream> {
    match connect(src, dst) {
        Ok(c) => Some(c),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => None,
        Err(e) => panic!("connect {src} -> {dst}: {e}"),
    }
}

/// The kernel's real server for each of the job's connections.
fn kernel_picks(job: &Job) -> Vec<Option<DestKey>> {
    let job = job.clone();
    in_netns(move || {
        // Every address of the job is local: clients, VIP, real servers.
        ip("route add local 10.0.0.0/8 dev lo");
        ip("route add local 192.168.0.0/16 dev lo");
        let _server = Server::start(80, "rs");
        let mut ipvs = Ipvs::open().expect("open IPVS");
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: job.service.ip(),
            port: job.service.port(),
        };
        let spec = ServiceSpec {
            key,
            algorithm: job.algorithm,
            flags: job.flags,
            persistence: None,
            one_packet: false,
        };
        ipvs.apply(&IpvsOp::AddService(spec))
            .expect("add the service");
        for d in &job.dests {
            let dest = DestEntry {
                key: d.key,
                weight: d.weight,
                forward: Forward::Dr,
                u_threshold: d.u_threshold,
                l_threshold: d.l_threshold,
            };
            ipvs.apply(&IpvsOp::AddDest { service: key, dest })
                .unwrap_or_else(|e| panic!("add {}: {e}", d.key));
        }
        let open: Vec<Option<TcpStream>> = job
            .conns
            .iter()
            .map(|(src, _)| try_connect(*src, job.service))
            .collect();
        let bound: HashMap<SocketAddr, DestKey> = ip_vs_conns().into_iter().collect();
        let picks = job
            .conns
            .iter()
            .zip(&open)
            .map(|((src, _), conn)| {
                let pick = bound.get(src).copied();
                assert_eq!(
                    conn.is_some(),
                    pick.is_some(),
                    "{src}: connected without IPVS, or refused with it"
                );
                pick
            })
            .collect();
        drop(open);
        picks
    })
}

/// splitmix64: a seeded sequence for the random workloads.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
}

/// A random workload for `algorithm`: 2 to 6 real servers with weights
/// 0 to 9, some with thresholds, sh/mh flags, and 40 clients.
fn random_job(algorithm: Algorithm, index: u8, rng: &mut Rng) -> Job {
    let dests = (0..2 + rng.below(5))
        .map(|i| {
            let addr = Ipv4Addr::new(10, 0, 0, i as u8 + 1);
            let mut d = DestSpec::new(DestKey::new(addr.into(), 80), rng.below(10));
            if rng.below(4) == 0 {
                d.u_threshold = 1 + rng.below(4);
                d.l_threshold = rng.below(d.u_threshold);
            }
            d
        })
        .collect();
    let mut flags = SchedFlags::default();
    if matches!(algorithm, Algorithm::Sh | Algorithm::Mh) {
        for f in [SchedFlags::FALLBACK, SchedFlags::PORT] {
            if rng.below(2) == 0 {
                flags = flags.with(f);
            }
        }
    }
    let conns = (0..40u16)
        .map(|i| {
            let src = Ipv4Addr::new(192, 168, rng.below(256) as u8, 1 + rng.below(254) as u8);
            (SocketAddr::new(src.into(), 20000 + i), None)
        })
        .collect();
    Job {
        algorithm,
        service: SocketAddr::new(Ipv4Addr::new(10, 200, index, 100).into(), 80),
        flags,
        dests,
        conns,
    }
}

/// The core's picks against the kernel's, the first difference named.
fn check(job: &Job, kernel: &[Option<DestKey>]) -> Result<(), String> {
    let core = job.core_picks().map_err(|e| format!("{job}: {e}"))?;
    match core.iter().zip(kernel).position(|(c, k)| c != k) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{}connection {} from {}: the kernel picked {:?}, the core {:?}",
            job.to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned()
                + "\n",
            i + 1,
            job.conns[i].0,
            kernel[i],
            core[i]
        )),
    }
}

#[test]
fn kernel_schedulers_pick_what_the_core_picks() {
    require_ipvs!();
    let recorded = workload::parse(ANSWERS).expect("the recorded answers parse");
    let mut failures = Vec::new();
    let mut record = String::new();
    let mut conns = 0;
    for job in &recorded {
        let kernel = kernel_picks(job);
        conns += kernel.len();
        let mut seen = job.clone();
        for ((_, dest), pick) in seen.conns.iter_mut().zip(&kernel) {
            *dest = *pick;
        }
        record += &seen.to_string();
        if seen != *job {
            failures.push(format!("the kernel no longer answers as recorded:\n{seen}"));
        }
        failures.extend(check(job, &kernel).err());
    }
    if let Some(path) = record_path() {
        std::fs::write(&path, &record)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    let mut rng = Rng(0x05ee_d1f5);
    let mut random = 0;
    for (i, algorithm) in Algorithm::ALL
        .into_iter()
        .filter(|a| *a != Algorithm::Twos)
        .enumerate()
    {
        let job = random_job(algorithm, i as u8, &mut rng);
        let kernel = kernel_picks(&job);
        conns += kernel.len();
        random += 1;
        failures.extend(check(&job, &kernel).err());
    }
    println!(
        "{} recorded and {random} random jobs, {conns} connections",
        recorded.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! vigil's schedulers against choices recorded from a real kernel.
//!
//! `lvs_kernel_answers.txt` was recorded from Debian's 6.1.192 kernel
//! (linux-image-6.1.0-56-amd64) booted under qemu: for each job a fresh
//! service `VIP:80` got its real servers with successive `ipvsadm -a -g -w`
//! calls in the order listed (local addresses, so IPVS forwarded to the
//! local node), then TCP clients bound to each `SRC:PORT` connected one
//! after the other and stayed connected; the real server of each
//! connection was read from `/proc/net/ip_vs_conn`. A `none` is a
//! connection IPVS did not schedule. Each job used its own VIP so that no
//! destination came back from the kernel's trash with old connections.
//!
//! The last ten jobs add upper/lower thresholds (`ipvsadm -x/-y`), weight 0
//! and sh/mh fallback.
//!
//! Format: `job ALGO VIP:PORT FLAGS|- DEST=WEIGHT[,u=U,l=L]...`, then one
//! `SRC:PORT DEST|none` line per connection.

use std::net::SocketAddr;
use vigil_core::Instant;
use vigil_core::lvs::{
    Algorithm, DestKey, DestSpec, Options, Packet, Protocol, SchedFlags, Scheduler,
};

const ANSWERS: &str = include_str!("lvs_kernel_answers.txt");

struct Job {
    header: String,
    sched: Scheduler,
    service: SocketAddr,
    conns: Vec<(SocketAddr, Option<DestKey>)>,
}

fn parse() -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    for line in ANSWERS.lines().filter(|l| !l.trim().is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words[0] == "job" {
            let algo: Algorithm = words[1].parse().expect("algorithm");
            let service: SocketAddr = words[2].parse().expect("service");
            let flags = match words[3] {
                "-" => SchedFlags::default(),
                f => SchedFlags::parse_list(f).expect("flags"),
            };
            let mut sched = Scheduler::new(algo, flags, Options::default());
            for d in &words[4..] {
                let (addr, rest) = d.split_once('=').expect("DEST=WEIGHT");
                let addr: SocketAddr = addr.parse().expect("dest");
                let mut parts = rest.split(',');
                let w = parts.next().expect("weight").parse().expect("weight");
                let mut spec = DestSpec::new(addr.into(), w);
                for p in parts {
                    match p.split_once('=') {
                        Some(("u", v)) => spec.u_threshold = v.parse().expect("u"),
                        Some(("l", v)) => spec.l_threshold = v.parse().expect("l"),
                        _ => panic!("bad destination option {p}"),
                    }
                }
                sched.add_dest(&spec).expect("add");
            }
            jobs.push(Job {
                header: line.to_string(),
                sched,
                service,
                conns: Vec::new(),
            });
        } else {
            let src: SocketAddr = words[0].parse().expect("source");
            let dest = match words[1] {
                "none" => None,
                d => Some(d.parse::<SocketAddr>().expect("dest").into()),
            };
            jobs.last_mut()
                .expect("a job first")
                .conns
                .push((src, dest));
        }
    }
    jobs
}

#[test]
fn every_deterministic_scheduler_matches_the_recorded_kernel_choices() {
    let jobs = parse();
    assert_eq!(jobs.len(), 33);
    let mut seen = std::collections::HashSet::new();
    for mut job in jobs {
        seen.insert(job.sched.algorithm());
        for (i, (src, want)) in job.conns.iter().enumerate() {
            let pkt = Packet {
                src: src.ip(),
                sport: src.port(),
                dst: job.service.ip(),
                dport: job.service.port(),
                protocol: Protocol::Tcp,
            };
            let got = job.sched.connect(Instant::ZERO, &pkt);
            assert_eq!(
                got,
                *want,
                "{}: connection {} from {src}",
                job.header,
                i + 1
            );
        }
    }
    // All but twos, which Debian's kernel does not build.
    assert_eq!(seen.len(), 13);
    assert!(!seen.contains(&Algorithm::Twos));
}

//! IPVS scheduler costs: one pick per scheduler at 10 and 1000
//! destinations (weights 1..=10), and mh's table build for 1000
//! destinations at M = 65521.
//!
//! `cargo bench -p vigil-core --bench lvs`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Duration;
use vigil_core::Instant;
use vigil_core::lvs::{
    Algorithm, DestKey, DestSpec, Options, Packet, Protocol, SchedFlags, Scheduler,
};

/// Weights 1..=10 from a fixed LCG, so every run measures the same service.
fn weights(n: usize) -> Vec<u32> {
    let mut x: u32 = 12345;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) % 10 + 1
        })
        .collect()
}

fn key(i: usize) -> DestKey {
    let i = i as u32;
    DestKey::new(Ipv4Addr::from(0x0a00_0000 + i + 1).into(), 80)
}

fn service(algo: Algorithm, n: usize, opts: Options) -> Scheduler {
    let mut s = Scheduler::new(algo, SchedFlags::default(), opts);
    for (i, w) in weights(n).into_iter().enumerate() {
        s.add_dest(&DestSpec::new(key(i), w)).expect("add");
    }
    s
}

fn packets() -> Vec<Packet> {
    (0..1024u32)
        .map(|i| Packet {
            src: Ipv4Addr::from(0xc0a8_0000 + i * 7919).into(),
            sport: 1024 + i as u16,
            dst: Ipv4Addr::new(10, 255, 0, 1).into(),
            dport: 80,
            protocol: Protocol::Tcp,
        })
        .collect()
}

fn picks(c: &mut Criterion) {
    let pkts = packets();
    for n in [10usize, 1000] {
        let mut g = c.benchmark_group(format!("pick/{n}"));
        g.sample_size(30)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for algo in Algorithm::ALL {
            let mut s = service(algo, n, Options::default());
            let mut i = 0usize;
            g.bench_function(algo.name(), |b| {
                b.iter(|| {
                    i = (i + 1) & 1023;
                    black_box(s.schedule(Instant::ZERO, &pkts[i]))
                })
            });
        }
        g.finish();
    }
}

fn mh_build(c: &mut Criterion) {
    let opts = Options {
        mh_tab_index: 16,
        ..Options::default()
    };
    let mut s = service(Algorithm::Mh, 1000, opts);
    let mut w = 1u32;
    let mut g = c.benchmark_group("mh_build");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    // A weight change rebuilds the whole table (ip_vs_mh_dest_changed).
    g.bench_function("1000_dests_m65521", |b| {
        b.iter(|| {
            w = w % 10 + 1;
            s.edit_dest(&DestSpec::new(key(0), w)).expect("edit");
        })
    });
    g.finish();
}

criterion_group!(benches, picks, mh_build);
criterion_main!(benches);

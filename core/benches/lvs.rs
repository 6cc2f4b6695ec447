//! IPVS scheduler costs: one pick per scheduler at 10 and 1000
//! destinations (weights 1..=10), wrr's pick as the weights spread, and
//! mh's table build and lookup for 1000 destinations at M = 65521, side by
//! side with the `maglev` crate's.
//!
//! `cargo bench -p vigil-core --bench lvs`

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use maglev::{ConsistentHasher, Maglev};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use vigil_core::Instant;
use vigil_core::lvs::hash::{HsipKey, fold_addr, hsiphash_u32};
use vigil_core::lvs::sched::MH_PRIMES;
use vigil_core::lvs::{
    Algorithm, DestKey, DestSpec, Options, Packet, Protocol, SchedFlags, Scheduler,
};

/// `CONFIG_IP_VS_MH_TAB_INDEX` for a table of 65521 slots.
const MH_TAB_INDEX: u8 = 16;
const MH_SIZE: u32 = MH_PRIMES[(MH_TAB_INDEX - 8) as usize];

/// The first key mh hashes with (`ip_vs_mh.c: generate_hash_secret`).
const MH_HASH1: HsipKey = [2_654_435_761, 2_654_435_761];

/// Weights 1..=10 from a fixed LCG, so every run measures the same service
/// (for 1000 destinations: 86 to 111 of each weight).
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

fn service_with(algo: Algorithm, weights: &[u32], opts: Options) -> Scheduler {
    let mut s = Scheduler::new(algo, SchedFlags::default(), opts);
    for (i, &w) in weights.iter().enumerate() {
        s.add_dest(&DestSpec::new(key(i), w)).expect("add");
    }
    s
}

fn service(algo: Algorithm, n: usize, opts: Options) -> Scheduler {
    service_with(algo, &weights(n), opts)
}

fn mh_opts() -> Options {
    Options {
        mh_tab_index: MH_TAB_INDEX,
        ..Options::default()
    }
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

fn quick(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
}

fn picks(c: &mut Criterion) {
    let pkts = packets();
    for n in [10usize, 1000] {
        let mut g = c.benchmark_group(format!("pick/{n}"));
        quick(&mut g);
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

/// wrr walks the list once per weight bar (max weight / gcd bars per
/// round) and picks Σ weight / gcd times per round, so a pick walks about
/// max weight / mean weight entries.
fn wrr_weights(c: &mut Criterion) {
    let pkt = packets()[0];
    let mut skewed = vec![1u32; 1000];
    skewed[500] = 100;
    let cases = [
        ("all_1", vec![1u32; 1000]),
        ("uniform_1_10", weights(1000)),
        ("all_10", vec![10u32; 1000]),
        ("one_100_rest_1", skewed),
    ];
    let mut g = c.benchmark_group("wrr_pick_1000");
    quick(&mut g);
    for (name, w) in cases {
        let mut s = service_with(Algorithm::Wrr, &w, Options::default());
        g.bench_function(name, |b| {
            b.iter(|| black_box(s.schedule(Instant::ZERO, &pkt)))
        });
    }
    g.finish();
}

/// The crate's nodes: the same 1000 (address, port) keys.
fn crate_nodes() -> Vec<DestKey> {
    (0..1000).map(key).collect()
}

fn mh_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("mh_build");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    // A weight change rebuilds the whole table (ip_vs_mh_dest_changed):
    // permutation setup for every destination, then the fill.
    let mut s = service(Algorithm::Mh, 1000, mh_opts());
    let mut w = 1u32;
    g.bench_function("vigil", |b| {
        b.iter(|| {
            w = w % 10 + 1;
            s.edit_dest(&DestSpec::new(key(0), w)).expect("edit");
        })
    });
    // Every weight 1: one slot per destination per round, like the crate.
    let mut s = service_with(Algorithm::Mh, &[1; 1000], mh_opts());
    g.bench_function("vigil_weights_1", |b| {
        b.iter(|| s.edit_dest(&DestSpec::new(key(0), 1)).expect("edit"))
    });
    let nodes = crate_nodes();
    let m = Maglev::with_capacity(nodes.clone(), MH_SIZE as usize);
    assert_eq!(m.capacity(), MH_SIZE as usize, "the crate's table size");
    // The crate builds in one call (no weights), from the node list.
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("maglev_crate", |b| {
        b.iter(|| black_box(Maglev::with_capacity(nodes.clone(), MH_SIZE as usize)))
    });
    g.finish();
}

/// vigil's slot for a client address without mh-port: the hash and the
/// index that `ip_vs_mh_schedule` does, without the scheduler around it.
fn vigil_slot(table: &[Option<u32>], src: IpAddr) -> Option<u32> {
    let h = hsiphash_u32(&MH_HASH1, fold_addr(src)) % table.len() as u32;
    table[h as usize]
}

fn mh_lookup(c: &mut Criterion) {
    let pkts = packets();
    let mut s = service(Algorithm::Mh, 1000, mh_opts());
    let table = s.table().expect("mh has a table").to_vec();
    assert_eq!(table.len(), MH_SIZE as usize);
    for p in &pkts {
        let raw = vigil_slot(&table, p.src).map(|x| x as usize);
        assert_eq!(raw, s.schedule(Instant::ZERO, p), "raw lookup = pick");
    }
    // The crate hashes the client address as the u32 vigil folds it to.
    let srcs: Vec<u32> = pkts.iter().map(|p| fold_addr(p.src)).collect();
    let m = Maglev::with_capacity(crate_nodes(), MH_SIZE as usize);

    let mut g = c.benchmark_group("mh_lookup");
    quick(&mut g);
    let mut i = 0usize;
    g.bench_function("vigil", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(s.schedule(Instant::ZERO, &pkts[i]))
        })
    });
    g.bench_function("vigil_table", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(vigil_slot(&table, pkts[i].src))
        })
    });
    g.bench_function("maglev_crate", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(m.get(&srcs[i]))
        })
    });
    g.finish();
}

criterion_group!(benches, picks, wrr_weights, mh_build, mh_lookup);
criterion_main!(benches);

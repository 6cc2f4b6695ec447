//! Properties of the IPVS schedulers over arbitrary services and operation
//! sequences: the guarantees the kernel's code gives, and no panic.

use proptest::prelude::*;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use vigil_core::Instant;
use vigil_core::lvs::{
    Accounting, Algorithm, DestKey, DestSpec, Options, Packet, Protocol, SchedFlags, Scheduler,
};

fn key(n: u8) -> DestKey {
    DestKey::new(Ipv4Addr::new(10, 0, 0, n).into(), 80)
}

fn packet(src: u32, sport: u16) -> Packet {
    Packet {
        src: IpAddr::V4(Ipv4Addr::from(src)),
        sport,
        dst: Ipv4Addr::new(10, 0, 0, 100).into(),
        dport: 80,
        protocol: Protocol::Tcp,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Add { n: u8, weight: u32, u: u32, l: u32 },
    Edit { n: u8, weight: u32, u: u32, l: u32 },
    Del { n: u8 },
    Connect { src: u32, sport: u16, secs: u64 },
    Close { n: u8, active: bool },
    Open { n: u8, active: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let n = 1u8..8;
    let w = prop_oneof![Just(0u32), 1u32..20, Just(1000)];
    let thr = prop_oneof![Just((0u32, 0u32)), (1u32..6, 0u32..6)];
    prop_oneof![
        (n.clone(), w.clone(), thr.clone()).prop_map(|(n, weight, (u, l))| Op::Add {
            n,
            weight,
            u,
            l
        }),
        (n.clone(), w, thr).prop_map(|(n, weight, (u, l))| Op::Edit { n, weight, u, l }),
        n.clone().prop_map(|n| Op::Del { n }),
        (any::<u32>(), any::<u16>(), 0u64..200_000)
            .prop_map(|(src, sport, secs)| { Op::Connect { src, sport, secs } }),
        (n.clone(), any::<bool>()).prop_map(|(n, active)| Op::Close { n, active }),
        (n, any::<bool>()).prop_map(|(n, active)| Op::Open { n, active }),
    ]
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

fn flags() -> impl Strategy<Value = SchedFlags> {
    (0u8..4).prop_map(|b| {
        let mut f = SchedFlags::default();
        if b & 1 != 0 {
            f = f.with(SchedFlags::FALLBACK);
        }
        if b & 2 != 0 {
            f = f.with(SchedFlags::PORT);
        }
        f
    })
}

/// Whether the kernel's code guarantees a pick when some destination has
/// weight above 0 and no overload flag.
fn always_finds(algo: Algorithm) -> bool {
    match algo {
        // ovf also wants active ≤ weight; dh/sh/mh look up one bucket. Even
        // sh-fallback promises nothing: a destination can own no bucket (a
        // weight above the 256-bucket table lets the first one take them
        // all), and ip_vs_sh_get_fallback probes 256 hashed buckets, not
        // every bucket. (Found by this proptest: weights 1000 and 1, the
        // first overloaded, no pick — the kernel's answer too.) The fallback
        // itself is pinned by sh_without_fallback_fails_on_a_quiesced_bucket_
        // and_with_it_walks_on and by the recorded kernel answers.
        Algorithm::Ovf | Algorithm::Dh | Algorithm::Mh | Algorithm::Sh => false,
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_scheduler_picks_a_quiesced_or_overloaded_dest_when_another_is_usable(
        algo in algorithm(),
        flags in flags(),
        totalconns in any::<bool>(),
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let accounting = if totalconns { Accounting::TotalConns } else { Accounting::Classic };
        let opts = Options { accounting, seed, ..Options::default() };
        let mut s = Scheduler::new(algo, flags, opts);
        let mut now = Instant::ZERO;
        for op in ops {
            match op {
                Op::Add { n, weight, u, l } => {
                    let _ = s.add_dest(&DestSpec { key: key(n), weight, u_threshold: u, l_threshold: l });
                }
                Op::Edit { n, weight, u, l } => {
                    let _ = s.edit_dest(&DestSpec { key: key(n), weight, u_threshold: u, l_threshold: l });
                }
                Op::Del { n } => {
                    let _ = s.del_dest(key(n));
                }
                Op::Close { n, active } => {
                    let ok = s.find(key(n)).is_some_and(|d| {
                        if active { d.active() > 0 } else { d.inactive() > 0 }
                    });
                    if ok {
                        s.unbind(key(n), active).unwrap();
                    }
                }
                Op::Open { n, active } => {
                    let _ = s.bind(key(n), active);
                }
                Op::Connect { src, sport, secs } => {
                    now = now + Duration::from_secs(secs);
                    let usable = s.dests().iter().any(|d| d.available());
                    let before: Vec<_> = s.dests().to_vec();
                    let pick = s.schedule(now, &packet(src, sport));
                    match pick {
                        Some(pos) => {
                            let d = &before[pos];
                            prop_assert!(d.weight() > 0, "{algo}: picked weight 0: {d:?}");
                            // lblc reuses its cached destination without
                            // looking at the overload flag.
                            if algo != Algorithm::Lblc {
                                prop_assert!(!d.overloaded(), "{algo}: picked overloaded {d:?}");
                            }
                            s.bind(d.key(), true).unwrap();
                        }
                        None => {
                            prop_assert!(
                                !(usable && always_finds(algo)),
                                "{algo}: none although usable: {before:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn wrr_gives_each_dest_its_weight_share(
        weights in prop::collection::vec(1u32..12, 1..6),
        rounds in 2usize..6,
    ) {
        let mut s = Scheduler::new(Algorithm::Wrr, SchedFlags::default(), Options::default());
        for (i, w) in weights.iter().enumerate() {
            s.add_dest(&DestSpec::new(key(i as u8 + 1), *w)).unwrap();
        }
        let di = weights.iter().fold(0, |g, &w| gcd(g, w));
        let sum: u32 = weights.iter().sum();
        let picks = (sum / di) as usize * rounds;
        let mut counts: HashMap<DestKey, u32> = HashMap::new();
        for i in 0..picks {
            let pos = s.schedule(Instant::ZERO, &packet(i as u32, 1)).unwrap();
            *counts.entry(s.dests()[pos].key()).or_default() += 1;
        }
        for (i, w) in weights.iter().enumerate() {
            let got = f64::from(counts.get(&key(i as u8 + 1)).copied().unwrap_or(0));
            let want = picks as f64 * f64::from(*w) / f64::from(sum);
            // A partial round at each end: at most one round's share off.
            let slack = 2.0 * f64::from(w / di) + 1.0;
            prop_assert!((got - want).abs() <= slack, "weights {weights:?}: dest {i} got {got}, want {want}");
        }
    }

    #[test]
    fn mh_moves_about_one_nth_of_the_table_when_a_dest_is_added(n in 2u8..30) {
        let mut s = Scheduler::new(Algorithm::Mh, SchedFlags::default(), Options::default());
        for i in 1..=n {
            s.add_dest(&DestSpec::new(key(i), 1)).unwrap();
        }
        let owners = |s: &Scheduler| -> Vec<Option<DestKey>> {
            s.table().unwrap().iter().map(|p| p.map(|p| s.dests()[p as usize].key())).collect()
        };
        let before = owners(&s);
        s.add_dest(&DestSpec::new(key(n + 1), 1)).unwrap();
        let after = owners(&s);
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count() as f64;
        let m = before.len() as f64;
        let ideal = m / f64::from(n + 1);
        // The new destination takes 1/(N+1); Maglev shuffles a little more.
        prop_assert!(moved >= ideal * 0.9 && moved <= ideal * 2.0, "n {n}: moved {moved}, ideal {ideal}");
    }

    #[test]
    fn sh_dh_mh_are_pure_functions_of_their_inputs(
        algo in prop::sample::select(vec![Algorithm::Sh, Algorithm::Dh, Algorithm::Mh]),
        flags in flags(),
        weights in prop::collection::vec(0u32..6, 1..8),
        clients in prop::collection::vec((any::<u32>(), any::<u16>()), 1..20),
    ) {
        let build = || {
            let mut s = Scheduler::new(algo, flags, Options::default());
            for (i, w) in weights.iter().enumerate() {
                s.add_dest(&DestSpec::new(key(i as u8 + 1), *w)).unwrap();
            }
            s
        };
        let (mut a, mut b) = (build(), build());
        prop_assert_eq!(a.table(), b.table());
        for (src, sport) in clients {
            let p = packet(src, sport);
            prop_assert_eq!(a.connect(Instant::ZERO, &p), b.connect(Instant::ZERO, &p));
            // Open connections change nothing for a hashing scheduler.
            prop_assert_eq!(a.schedule(Instant::ZERO, &p), b.schedule(Instant::ZERO, &p));
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

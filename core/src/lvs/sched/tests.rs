//! Known answers per scheduler, worked by hand from the kernel's code.
//!
//! Destinations are named A, B, C, D (10.0.0.1..4, port 80) and are added
//! in the order written, each to the head of the list as the kernel links
//! them; a sequence lists the picks of successive connections that stay
//! open ("-" when there is none).

use super::*;
use crate::lvs::dest::DestSpec;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn key(name: char) -> DestKey {
    let n = name as u8 - b'A' + 1;
    DestKey::new(Ipv4Addr::new(10, 0, 0, n).into(), 80)
}

fn name(k: DestKey) -> char {
    match k.addr {
        IpAddr::V4(a) => (b'A' + a.octets()[3] - 1) as char,
        IpAddr::V6(_) => '?',
    }
}

fn vip() -> IpAddr {
    Ipv4Addr::new(10, 0, 0, 100).into()
}

fn svc_with(algo: Algorithm, flags: SchedFlags, opts: Options, dests: &[(char, u32)]) -> Scheduler {
    let mut s = Scheduler::new(algo, flags, opts);
    for &(n, w) in dests {
        s.add_dest(&DestSpec::new(key(n), w)).unwrap();
    }
    s
}

fn svc(algo: Algorithm, dests: &[(char, u32)]) -> Scheduler {
    svc_with(algo, SchedFlags::default(), Options::default(), dests)
}

fn packet(src: Ipv4Addr, sport: u16) -> Packet {
    Packet {
        src: src.into(),
        sport,
        dst: vip(),
        dport: 80,
        protocol: Protocol::Tcp,
    }
}

/// One connection from `src` at `now`, staying open.
fn conn_at(s: &mut Scheduler, now: Instant, src: Ipv4Addr, sport: u16) -> char {
    s.connect(now, &packet(src, sport)).map_or('-', name)
}

/// `n` connections from distinct clients at time zero.
fn seq(s: &mut Scheduler, n: usize) -> String {
    (0..n)
        .map(|i| {
            let src = Ipv4Addr::new(192, 168, 1, (i % 250) as u8 + 1);
            conn_at(s, Instant::ZERO, src, 1024 + i as u16).to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn order(s: &Scheduler) -> String {
    s.dests().iter().map(|d| name(d.key())).collect()
}

fn set_weight(s: &mut Scheduler, n: char, w: u32) {
    s.edit_dest(&DestSpec::new(key(n), w)).unwrap();
}

fn set_thresholds(s: &mut Scheduler, n: char, w: u32, u: u32, l: u32) {
    let spec = DestSpec {
        key: key(n),
        weight: w,
        u_threshold: u,
        l_threshold: l,
    };
    s.edit_dest(&spec).unwrap();
}

mod list {
    use super::*;

    #[test]
    fn add_dest_links_at_the_head_of_the_list() {
        let s = svc(Algorithm::Rr, &[('A', 1), ('B', 1), ('C', 1)]);
        assert_eq!(order(&s), "CBA");
    }

    #[test]
    fn readding_a_deleted_dest_brings_its_connections_back() {
        let mut s = svc(Algorithm::Lc, &[('A', 1)]);
        assert_eq!(seq(&mut s, 2), "A A");
        s.del_dest(key('A')).unwrap();
        assert_eq!(seq(&mut s, 1), "-");
        s.add_dest(&DestSpec::new(key('A'), 1)).unwrap();
        assert_eq!(s.find(key('A')).map(Dest::active), Some(2));
    }

    #[test]
    fn add_edit_del_refuse_what_the_kernel_refuses() {
        let mut s = svc(Algorithm::Rr, &[('A', 1)]);
        assert_eq!(
            s.add_dest(&DestSpec::new(key('A'), 1)),
            Err(LvsError::DestExists(key('A')))
        );
        assert_eq!(s.del_dest(key('B')), Err(LvsError::NoSuchDest(key('B'))));
        let bad = DestSpec {
            key: key('A'),
            weight: 1,
            u_threshold: 1,
            l_threshold: 2,
        };
        assert!(matches!(
            s.edit_dest(&bad),
            Err(LvsError::ThresholdOrder { .. })
        ));
        let heavy = DestSpec::new(key('B'), u32::MAX);
        assert_eq!(
            s.add_dest(&heavy),
            Err(LvsError::WeightOutOfRange(u32::MAX))
        );
    }

    #[test]
    fn flags_parse_as_ipvsadm_names_them() {
        let f = SchedFlags::parse_list("sh-port,mh-fallback").unwrap();
        assert!(f.contains(SchedFlags::PORT) && f.contains(SchedFlags::FALLBACK));
        assert!(SchedFlags::parse_list("sh-nonsense").is_err());
        assert_eq!("mh".parse::<Algorithm>(), Ok(Algorithm::Mh));
        assert!("foo".parse::<Algorithm>().is_err());
    }
}

mod rr {
    use super::*;

    #[test]
    fn rr_walks_the_list_from_the_most_recently_added() {
        let mut s = svc(Algorithm::Rr, &[('A', 1), ('B', 1), ('C', 1)]);
        assert_eq!(seq(&mut s, 7), "C B A C B A C");
    }

    #[test]
    fn rr_skips_quiesced_and_ignores_weights_above_zero() {
        let mut s = svc(Algorithm::Rr, &[('A', 5), ('B', 0), ('C', 1)]);
        assert_eq!(seq(&mut s, 4), "C A C A");
    }

    #[test]
    fn rr_has_no_add_hook_so_its_cursor_stays_on_its_dest() {
        // List C B A; after C, B the cursor is on B. D goes to the head;
        // the walk goes on after B: A, then wraps to D.
        let mut s = svc(Algorithm::Rr, &[('A', 1), ('B', 1), ('C', 1)]);
        assert_eq!(seq(&mut s, 2), "C B");
        s.add_dest(&DestSpec::new(key('D'), 1)).unwrap();
        assert_eq!(seq(&mut s, 5), "A D C B A");
    }

    #[test]
    fn rr_del_hook_moves_the_cursor_to_the_previous_dest() {
        // Cursor on B (list C B A); deleting B leaves it on C: next is A.
        let mut s = svc(Algorithm::Rr, &[('A', 1), ('B', 1), ('C', 1)]);
        assert_eq!(seq(&mut s, 2), "C B");
        s.del_dest(key('B')).unwrap();
        assert_eq!(seq(&mut s, 3), "A C A");
        // Deleting the first entry under the cursor goes back to the head.
        let mut s = svc(Algorithm::Rr, &[('A', 1), ('B', 1)]);
        assert_eq!(seq(&mut s, 1), "B");
        s.del_dest(key('B')).unwrap();
        assert_eq!(seq(&mut s, 2), "A A");
    }

    #[test]
    fn rr_returns_none_when_all_are_quiesced_or_overloaded() {
        let mut s = svc(Algorithm::Rr, &[('A', 0), ('B', 1)]);
        set_thresholds(&mut s, 'B', 1, 1, 0);
        assert_eq!(seq(&mut s, 2), "B -");
    }
}

mod wrr {
    use super::*;

    #[test]
    fn wrr_weights_4_3_2_interleave_by_a_falling_bar() {
        // List A(4) B(3) C(2); gcd 1. Added one at a time, the first add
        // sets the bar to C's 2 − (2 − 1) = 1 and the later ones keep it
        // (ip_vs_wrr_dest_changed only lowers a bar above the new max), so
        // the first round is the bar-1 pass: A B C. Then full rounds of
        // bar 4: A; bar 3: A B; bar 2: A B C; bar 1: A B C.
        let mut s = svc(Algorithm::Wrr, &[('C', 2), ('B', 3), ('A', 4)]);
        assert_eq!(order(&s), "ABC");
        assert_eq!(seq(&mut s, 18), "A B C A A B A B C A B C A A B A B C");
    }

    #[test]
    fn wrr_order_follows_the_kernel_list_not_the_add_order() {
        // Added A, B, C: the list is C(2) B(3) A(4).
        let mut s = svc(Algorithm::Wrr, &[('A', 4), ('B', 3), ('C', 2)]);
        assert_eq!(seq(&mut s, 12), "C B A A B A C B A C B A");
    }

    #[test]
    fn wrr_steps_the_bar_by_the_gcd() {
        // Weights 4 and 2: gcd 2, rounds of bar 3 (= 4 − (2 − 1)): A, and
        // bar 1: A B. The adds leave the bar at (1 / 2) · 2 + 1 = 1, so the
        // first round is only the bar-1 pass.
        let mut s = svc(Algorithm::Wrr, &[('B', 2), ('A', 4)]);
        assert_eq!(seq(&mut s, 8), "A B A A B A A B");
    }

    #[test]
    fn wrr_update_hook_restarts_from_the_list_head() {
        // After A B C A A the bar is 3 and the cursor on A: next would be
        // B. Any update sends the cursor back to the head, so A comes again.
        let mut s = svc(Algorithm::Wrr, &[('C', 2), ('B', 3), ('A', 4)]);
        assert_eq!(seq(&mut s, 5), "A B C A A");
        let mut same = s.clone();
        set_weight(&mut s, 'C', 2);
        assert_eq!(seq(&mut s, 5), "A B A B C");
        assert_eq!(seq(&mut same, 5), "B A B C A");
    }

    #[test]
    fn wrr_quiesced_dest_gets_nothing_and_all_zero_gets_none() {
        let mut s = svc(Algorithm::Wrr, &[('B', 2), ('A', 0)]);
        assert_eq!(seq(&mut s, 3), "B B B");
        set_weight(&mut s, 'B', 0);
        assert_eq!(seq(&mut s, 1), "-");
    }

    #[test]
    fn wrr_skips_overloaded_and_gives_up_when_all_are() {
        let mut s = svc(Algorithm::Wrr, &[('B', 1), ('A', 3)]);
        set_thresholds(&mut s, 'A', 3, 2, 0);
        // Bar 1: A B; bar 3: A, now at 2 connections and overloaded; then
        // only B qualifies.
        assert_eq!(seq(&mut s, 4), "A B A B");
        // Thresholds only set the flag when a connection is bound: B
        // takes one more, reaches 3 and is overloaded too.
        set_thresholds(&mut s, 'B', 1, 3, 0);
        assert_eq!(seq(&mut s, 2), "B -");
    }
}

mod least_connection {
    use super::*;

    #[test]
    fn lc_ties_go_to_the_first_in_list_order_and_weights_do_not_count() {
        let mut s = svc(Algorithm::Lc, &[('A', 100), ('B', 1), ('C', 1)]);
        assert_eq!(seq(&mut s, 6), "C B A C B A");
    }

    #[test]
    fn lc_counts_inactive_connections_as_a_256th() {
        // A has one inactive connection: overhead 1 against B's 0.
        let mut s = svc(Algorithm::Lc, &[('B', 1), ('A', 1)]);
        s.bind(key('A'), false).unwrap();
        assert_eq!(seq(&mut s, 1), "B");
    }

    #[test]
    fn wlc_compares_overhead_per_weight_by_multiplying() {
        // List A(3) B(1). Overheads 0/0: A (first). 256·1 > 0·3: B.
        // 256·1 > 256·3? no: A. 512 > 768? no: A. 768 > 768? no (a tie
        // keeps the first): A. 1024 > 768: B.
        let mut s = svc(Algorithm::Wlc, &[('B', 1), ('A', 3)]);
        assert_eq!(seq(&mut s, 6), "A B A A A B");
    }

    #[test]
    fn wlc_never_picks_weight_zero_even_when_idle() {
        let mut s = svc(Algorithm::Wlc, &[('B', 0), ('A', 1)]);
        assert_eq!(seq(&mut s, 3), "A A A");
    }

    #[test]
    fn sed_counts_active_plus_one_per_weight() {
        // List A(3) B(1): (a+1)·1 > (b+1)·3 picks B only at a = 3 and 7.
        let mut s = svc(Algorithm::Sed, &[('B', 1), ('A', 3)]);
        assert_eq!(seq(&mut s, 8), "A A A B A A A B");
    }

    #[test]
    fn sed_ignores_inactive_connections() {
        let mut s = svc(Algorithm::Sed, &[('B', 1), ('A', 1)]);
        for _ in 0..10 {
            s.bind(key('A'), false).unwrap();
        }
        assert_eq!(seq(&mut s, 1), "A");
    }

    #[test]
    fn nq_takes_an_idle_dest_at_once_then_behaves_like_sed() {
        // A idle: A. B idle: B. Then sed: 2·1 > 2·3? no: A, ... until
        // 7·1 > 2·3: B.
        let mut s = svc(Algorithm::Nq, &[('B', 1), ('A', 3)]);
        assert_eq!(seq(&mut s, 8), "A B A A A A A B");
    }
}

mod failover {
    use super::*;

    #[test]
    fn fo_picks_the_heaviest_and_the_first_of_equals() {
        let mut s = svc(Algorithm::Fo, &[('C', 10), ('B', 5), ('A', 5)]);
        assert_eq!(order(&s), "ABC");
        assert_eq!(seq(&mut s, 2), "C C");
        set_weight(&mut s, 'C', 0);
        assert_eq!(seq(&mut s, 2), "A A");
    }

    #[test]
    fn fo_skips_an_overloaded_dest() {
        let mut s = svc(Algorithm::Fo, &[('B', 1), ('A', 2)]);
        set_thresholds(&mut s, 'A', 2, 1, 0);
        assert_eq!(seq(&mut s, 3), "A B B");
    }

    #[test]
    fn ovf_fills_the_heaviest_up_to_its_weight_then_overflows() {
        // List A(2) B(1): A while its active ≤ 2, then B while ≤ 1.
        let mut s = svc(Algorithm::Ovf, &[('B', 1), ('A', 2)]);
        assert_eq!(seq(&mut s, 6), "A A A B B -");
    }
}

mod twos {
    use super::*;

    fn dests(active_a: i32) -> Vec<Dest> {
        let mut v = Vec::new();
        for (n, w) in [('A', 1), ('B', 2), ('C', 1)] {
            let mut d = Dest::new(key(n));
            d.update(&DestSpec::new(key(n), w), true, Accounting::Classic);
            v.push(d);
        }
        for _ in 0..active_a {
            v[0].bind(true, Accounting::Classic);
        }
        v
    }

    #[test]
    fn twos_draws_two_by_weight_and_keeps_the_less_loaded() {
        // Weights A1 B2 C1 (total 4): draw 0 lands on A, draw 3 on B
        // (3 − 1 = 2, 2 − 2 = 0). Both idle: A stays (2·0 > 1·0 is false).
        let d = dests(0);
        assert_eq!(
            super::super::twos::pick(&d, Accounting::Classic, 0, 3),
            Some(0)
        );
        // A busy: 2·256 > 1·0, so B.
        let d = dests(1);
        assert_eq!(
            super::super::twos::pick(&d, Accounting::Classic, 0, 3),
            Some(1)
        );
        // Draw 4 (the top, included) lands on C.
        assert_eq!(
            super::super::twos::pick(&d, Accounting::Classic, 4, 4),
            Some(2)
        );
    }

    #[test]
    fn twos_replays_for_the_same_seed() {
        let opts = Options {
            seed: 42,
            ..Options::default()
        };
        let d = [('A', 1), ('B', 2), ('C', 3)];
        let mut a = svc_with(Algorithm::Twos, SchedFlags::default(), opts, &d);
        let mut b = svc_with(Algorithm::Twos, SchedFlags::default(), opts, &d);
        assert_eq!(seq(&mut a, 50), seq(&mut b, 50));
    }
}

mod hashing {
    use super::*;

    fn client(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 168, 0, n)
    }

    #[test]
    fn dh_fills_buckets_round_robin_and_hashes_the_destination_address() {
        // List B A: bucket i holds B for even i, A for odd. The VIP
        // 10.0.0.100 = 0x0a000064 lands in hash_32(.., 8) = 248: B.
        let mut s = svc(Algorithm::Dh, &[('A', 1), ('B', 5)]);
        let t = s.table().unwrap();
        assert_eq!((t[0], t[1], t[255]), (Some(0), Some(1), Some(1)));
        assert_eq!(seq(&mut s, 3), "B B B");
        // No update hook: a weight change leaves the table; weight 0
        // makes the bucket find nobody.
        set_weight(&mut s, 'B', 0);
        assert_eq!(seq(&mut s, 1), "-");
    }

    #[test]
    fn sh_gives_each_dest_weight_consecutive_buckets() {
        // List B(2) A(1): buckets B B A B B A …
        let s = svc(Algorithm::Sh, &[('A', 1), ('B', 2)]);
        let t = s.table().unwrap();
        assert_eq!(
            &t[..6],
            &[Some(0), Some(0), Some(1), Some(0), Some(0), Some(1)]
        );
        assert_eq!(t[255], Some(0));
    }

    #[test]
    fn sh_hashes_the_source_address_with_the_golden_ratio() {
        // hash_32 of 192.168.0.1..4: buckets 192, 34, 131, 229; with the
        // list B A (weights 1): even buckets B, odd A.
        let mut s = svc(Algorithm::Sh, &[('A', 1), ('B', 1)]);
        let got: String = (1..=4)
            .map(|n| conn_at(&mut s, Instant::ZERO, client(n), 1234))
            .collect();
        assert_eq!(got, "BBAA");
    }

    #[test]
    fn sh_port_mixes_the_source_port_in() {
        // With port 1234 added: buckets 24, 122, 220, 62, all even: B.
        let mut s = svc_with(
            Algorithm::Sh,
            SchedFlags::PORT,
            Options::default(),
            &[('A', 1), ('B', 1)],
        );
        let got: String = (1..=4)
            .map(|n| conn_at(&mut s, Instant::ZERO, client(n), 1234))
            .collect();
        assert_eq!(got, "BBBB");
    }

    #[test]
    fn sh_without_fallback_fails_on_a_quiesced_bucket_and_with_it_walks_on() {
        // 192.168.0.1 hashes to bucket 192 (B in list B A). With B
        // quiesced sh finds nobody; sh-fallback walks buckets from
        // (192 + 192) & 255 = 128 (B, unusable), then 129: A.
        let mut s = svc(Algorithm::Sh, &[('A', 1), ('B', 1)]);
        set_weight(&mut s, 'B', 0);
        // Still two buckets each? No: weight 0 takes one bucket per turn,
        // the same as weight 1 here, so the table is unchanged.
        assert_eq!(conn_at(&mut s, Instant::ZERO, client(1), 1), '-');
        let mut s = svc_with(
            Algorithm::Sh,
            SchedFlags::FALLBACK,
            Options::default(),
            &[('A', 1), ('B', 1)],
        );
        set_weight(&mut s, 'B', 0);
        assert_eq!(conn_at(&mut s, Instant::ZERO, client(1), 1), 'A');
    }

    #[test]
    fn mh_equal_weights_split_4093_slots_with_the_head_getting_the_extra() {
        // Three destinations claim one slot each per round: 1364 rounds
        // and one more slot for the first in the list.
        let s = svc(Algorithm::Mh, &[('A', 1), ('B', 1), ('C', 1)]);
        let t = s.table().unwrap();
        assert_eq!(t.len(), 4093);
        let count = |p: u32| t.iter().filter(|s| **s == Some(p)).count();
        assert_eq!((count(0), count(1), count(2)), (1365, 1364, 1364));
    }

    #[test]
    fn mh_weights_give_turns_per_round() {
        // Weights 2 and 1 (list B A): rounds of 3 slots, 1364 of them,
        // then B claims the last slot: 2729 and 1364.
        let s = svc(Algorithm::Mh, &[('A', 1), ('B', 2)]);
        let t = s.table().unwrap();
        let count = |p: u32| t.iter().filter(|s| **s == Some(p)).count();
        assert_eq!((count(0), count(1)), (2729, 1364));
    }

    #[test]
    fn mh_head_dest_owns_its_own_offset_slot() {
        // 10.0.0.3:80's offset is hsiphash(80 + 0x0a000003) % 4093 = 1631
        // under the first fixed key: the head claims it first, unopposed.
        // 10.0.0.2 starts at 1231 and 10.0.0.1 at 3167, both free then.
        let s = svc(Algorithm::Mh, &[('A', 1), ('B', 1), ('C', 1)]);
        let t = s.table().unwrap();
        assert_eq!((t[1631], t[1231], t[3167]), (Some(0), Some(1), Some(2)));
    }

    #[test]
    fn mh_lookups_match_an_independent_reference_build() {
        // Worked with a separate Python model of ip_vs_mh.c (hsiphash and
        // populate): 192.168.0.1..4 land in slots 1278, 1806, 1692, 2261,
        // held by B, C, B, B.
        let mut s = svc(Algorithm::Mh, &[('A', 1), ('B', 1), ('C', 1)]);
        let t = s.table().unwrap();
        assert_eq!(&t[..12], &[2, 1, 1, 0, 0, 2, 1, 0, 0, 2, 2, 1].map(Some));
        let got: String = (1..=4)
            .map(|n| conn_at(&mut s, Instant::ZERO, client(n), 1))
            .collect();
        assert_eq!(got, "BCBB");
    }

    #[test]
    fn mh_quiesced_dest_keeps_its_slots_through_last_weight() {
        let mut s = svc(Algorithm::Mh, &[('A', 1), ('B', 1), ('C', 1)]);
        let before = s.table().unwrap().to_vec();
        set_weight(&mut s, 'B', 0);
        assert_eq!(s.table().unwrap(), &before[..]);
        // Its clients find nobody without fallback …
        assert_eq!(conn_at(&mut s, Instant::ZERO, client(1), 1), '-');
        // … and added with weight 0 a destination takes no slot.
        let s = svc(Algorithm::Mh, &[('A', 1), ('B', 0)]);
        assert!(s.table().unwrap().iter().all(|x| *x == Some(1)));
    }

    #[test]
    fn mh_fallback_rehashes_until_a_usable_dest() {
        let mut s = svc_with(
            Algorithm::Mh,
            SchedFlags::FALLBACK,
            Options::default(),
            &[('A', 1), ('B', 1), ('C', 1)],
        );
        set_weight(&mut s, 'B', 0);
        let got = conn_at(&mut s, Instant::ZERO, client(1), 1);
        assert!(got == 'A' || got == 'C', "{got}");
    }

    #[test]
    fn mh_table_size_follows_the_config_index() {
        let opts = Options {
            mh_tab_index: 16,
            ..Options::default()
        };
        let s = svc_with(Algorithm::Mh, SchedFlags::default(), opts, &[('A', 1)]);
        assert_eq!(s.table().unwrap().len(), 65521);
    }
}

mod locality {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn at(t: Duration) -> Instant {
        Instant::ZERO + t
    }

    #[test]
    fn lblc_sticks_until_its_dest_is_over_weight_while_another_is_under_half() {
        // List A(1) B(1), every packet to the VIP. A; A (1 > 1 is false);
        // A has 2 > 1 and B 0·2 < 1: wlc moves the entry to B; then B
        // keeps it, as nobody is under half its weight any more.
        let mut s = svc(Algorithm::Lblc, &[('B', 1), ('A', 1)]);
        assert_eq!(seq(&mut s, 6), "A A B B B B");
        assert_eq!(s.cache_entries(), Some(1));
    }

    #[test]
    fn lblc_ignores_the_overload_flag_of_a_cached_dest() {
        let mut s = svc(Algorithm::Lblc, &[('B', 10), ('A', 10)]);
        assert_eq!(seq(&mut s, 1), "A");
        set_thresholds(&mut s, 'A', 10, 1, 0);
        s.bind(key('A'), true).unwrap();
        assert!(s.find(key('A')).unwrap().overloaded());
        assert_eq!(seq(&mut s, 1), "A");
    }

    #[test]
    fn lblc_entry_expires_at_the_first_full_check_a_day_after_last_use() {
        // Full checks run every 30 minutes from the service's start. An
        // entry last used at 0 goes at the 24 h check; until then a busy
        // A (wlc would pick B) keeps its clients.
        let mut s = svc(Algorithm::Lblc, &[('B', 10), ('A', 10)]);
        let src = Ipv4Addr::new(192, 168, 0, 1);
        assert_eq!(conn_at(&mut s, at(Duration::ZERO), src, 1), 'A');
        let mut later = s.clone();
        assert_eq!(conn_at(&mut s, at(24 * 60 * MIN - MIN), src, 2), 'A');
        assert_eq!(conn_at(&mut later, at(24 * 60 * MIN + MIN), src, 2), 'B');
    }

    #[test]
    fn lblcr_grows_the_set_when_its_least_loaded_member_is_overloaded() {
        // A; A (1 > 1 is false); A over weight with B idle: B joins the
        // set {B, A}. Then the least loaded member serves: B at 1 and 2
        // (ties keep B, the newest), A once B has 3.
        let mut s = svc(Algorithm::Lblcr, &[('B', 1), ('A', 1)]);
        assert_eq!(seq(&mut s, 6), "A A B B B A");
    }

    #[test]
    fn lblcr_set_sheds_its_most_loaded_member_after_the_expiration() {
        let run = |expiration: Duration| {
            let opts = Options {
                lblc_expiration: expiration,
                ..Options::default()
            };
            let mut s = svc_with(
                Algorithm::Lblcr,
                SchedFlags::default(),
                opts,
                &[('B', 1), ('A', 1)],
            );
            let src = Ipv4Addr::new(192, 168, 0, 1);
            // A A B: the set is {B, A}, last changed at 0.
            let mut got = String::new();
            for p in 0..3 {
                got.push(conn_at(&mut s, at(Duration::ZERO), src, p));
            }
            for m in 11..14 {
                got.push(conn_at(&mut s, at(m * MIN), src, m as u16));
            }
            got
        };
        // Expiring after 10 min: at 11 min A (overhead 512 against B's
        // 256) leaves the set; B then serves even when A is less loaded.
        assert_eq!(run(10 * MIN), "AABBBB");
        // With the default day, A stays a member and wins back at 13 min
        // (B 768 against A 512).
        assert_eq!(run(DEFAULT_EXPIRATION), "AABBBA");
    }
}

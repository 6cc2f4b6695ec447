//! The instance state machine against RFC 5798 §6.4 and keepalived 2.2.7,
//! driven through the public API on a zero-latency LAN. Timings are exact:
//! v3, 1 s interval, priority 100 → Skew_Time 609 375 µs, Master_Down_Interval
//! 3 609 375 µs; priority 150 → 414 062 µs and 3 414 062 µs.

mod lan;

use lan::{Lan, instance, ms, track, tracked, us, v4, vip};
use std::time::Duration;
use vigil_core::vrrp::event::Reason;
use vigil_core::vrrp::group::GroupConfig;
use vigil_core::vrrp::track::{TrackKind, TrackState};
use vigil_core::vrrp::{Action, Command, State, Version};

fn pair(p1: u8, p2: u8) -> Lan {
    let mut lan = Lan::new();
    lan.add("lb1", instance(1, p1));
    lan.add("lb2", instance(2, p2));
    lan
}

fn assert_clean(lan: &Lan) {
    assert!(
        lan.violations.is_empty(),
        "violations: {:?}",
        lan.violations
    );
}

#[test]
fn rfc5798_6_4_1_non_owner_starts_in_backup() {
    let lan = pair(150, 100);
    assert_eq!(lan.state(0, "VI_1"), Some(State::Backup));
    assert_eq!(
        lan.transitions("lb1"),
        vec![(ms(0), State::Init, State::Backup)]
    );
    assert!(lan.adverts("lb1").is_empty());
}

#[test]
fn rfc5798_6_4_1_owner_becomes_master_at_once() {
    let mut lan = Lan::new();
    let mut cfg = instance(1, 255);
    cfg.initial_master = true;
    lan.add("lb1", cfg);
    lan.run_until(ms(1));
    assert_eq!(
        lan.transitions("lb1"),
        vec![(us(1), State::Init, State::Master)]
    );
    let adverts = lan.adverts("lb1");
    assert_eq!(adverts[0].1.advert.priority, 255);
    assert!(
        lan.actions("lb1")
            .iter()
            .any(|(_, a)| matches!(a, Action::AddVip { .. }))
    );
}

#[test]
fn keepalived_state_master_below_255_waits_like_backup() {
    // Observed with keepalived 2.2.7 (docs/keepalived-2.2.7-observed.md).
    let mut lan = Lan::new();
    let mut cfg = instance(1, 100);
    cfg.initial_master = true;
    lan.add("lb1", cfg);
    lan.run_until(ms(5000));
    assert_eq!(lan.entered("lb1", State::Master), Some(us(3_609_375)));
}

#[test]
fn keepalived_owner_in_state_backup_waits_three_intervals_and_its_skew() {
    let mut lan = Lan::new();
    lan.add("lb1", instance(1, 255));
    lan.run_until(ms(5000));
    // 3 × 1 s + 1 × 100 × 625 / 16 µs (observed: 3.004 s).
    assert_eq!(lan.entered("lb1", State::Master), Some(us(3_003_906)));
}

#[test]
fn rfc5798_6_4_2_backup_takes_over_when_master_down_timer_expires() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(5000));
    assert_eq!(lan.entered("lb1", State::Master), Some(us(3_414_062)));
    assert_eq!(lan.masters("VI_1"), vec![0]);
    assert_eq!(
        lan.transitions("lb2"),
        vec![(ms(0), State::Init, State::Backup)]
    );
    assert_clean(&lan);
}

#[test]
fn rfc5798_6_4_2_master_down_interval_after_last_advert_on_crash() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(10_000));
    lan.crash(0);
    lan.run_until(ms(20_000));
    // lb1's last advert left at 9.414062 s; lb2 waits 3 × 1 s + 609 375 µs.
    assert_eq!(
        lan.entered("lb2", State::Master),
        Some(us(9_414_062 + 3_609_375))
    );
    assert_clean(&lan);
}

#[test]
fn rfc5798_6_4_2_priority_zero_makes_backup_wait_only_skew_time() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(10_000));
    lan.command(0, Command::Shutdown);
    let last = lan.adverts("lb1").last().cloned().expect("an advert");
    assert_eq!(last.1.advert.priority, 0);
    assert_eq!(lan.state(0, "VI_1"), Some(State::Stopped));
    lan.run_until(ms(20_000));
    assert_eq!(
        lan.entered("lb2", State::Master),
        Some(us(10_000_000 + 609_375))
    );
    let stop = lan.transitions("lb1");
    assert_eq!(
        stop.last(),
        Some(&(ms(10_000), State::Master, State::Stopped))
    );
    assert!(
        lan.actions("lb1")
            .iter()
            .any(|(_, a)| matches!(a, Action::DelVip { .. }))
    );
}

#[test]
fn rfc5798_6_4_2_backup_ignores_lower_priority_without_resetting_its_timer() {
    // lb2 (100) is Master alone; lb1 (150) starts later and preempts when its
    // own Master_Down_Timer expires, not at the first lower advert.
    let mut lan = Lan::new();
    lan.add("lb2", instance(2, 100));
    lan.run_until(ms(5000));
    assert_eq!(lan.masters("VI_1"), vec![0]);
    lan.add("lb1", instance(1, 150));
    lan.run_until(ms(12_000));
    assert_eq!(
        lan.entered("lb1", State::Master),
        Some(us(5_000_000 + 3_414_062))
    );
    assert_eq!(lan.masters("VI_1"), vec![1]);
    let lb2 = lan.transitions("lb2");
    assert_eq!(
        lb2.last().map(|t| (t.1, t.2)),
        Some((State::Master, State::Backup))
    );
    assert_clean(&lan);
}

#[test]
fn rfc5798_6_4_2_nopreempt_backup_accepts_lower_priority_master() {
    let mut lan = Lan::new();
    lan.add("lb2", instance(2, 100));
    lan.run_until(ms(5000));
    let mut cfg = instance(1, 150);
    cfg.preempt = false;
    lan.add("lb1", cfg);
    lan.run_until(ms(30_000));
    assert_eq!(lan.masters("VI_1"), vec![0]);
    assert_eq!(lan.state(1, "VI_1"), Some(State::Backup));
}

#[test]
fn keepalived_preempt_delay_postpones_preemption() {
    let mut lan = Lan::new();
    lan.add("lb2", instance(2, 100));
    lan.run_until(ms(5000));
    let mut cfg = instance(1, 150);
    cfg.preempt_delay = Duration::from_secs(10);
    lan.add("lb1", cfg);
    lan.run_until(ms(30_000));
    // lb2 stays Master for the delay (counted from lb1's first lower advert,
    // heard at 5.609375 s), then lb1 discards adverts and its timer runs out.
    let took = lan.entered("lb1", State::Master).expect("lb1 preempts");
    assert!(took > us(15_609_375), "preempted at {took:?}");
    assert!(
        took <= us(15_609_375 + 1_000_000 + 3_414_062),
        "preempted at {took:?}"
    );
    assert_eq!(lan.masters("VI_1"), vec![1]);
}

#[test]
fn rfc5798_6_4_2_v3_backup_adopts_the_masters_interval() {
    let mut lan = Lan::new();
    let mut fast = instance(1, 150);
    fast.interval_cs = 50;
    lan.add("lb1", fast);
    lan.add("lb2", instance(2, 100));
    lan.run_until(ms(10_000));
    lan.crash(0);
    let last = lan.adverts("lb1").last().map(|a| a.0).expect("adverts");
    lan.run_until(ms(20_000));
    // With the Master's 0.5 s: 3 × 0.5 s + 156 × 50 × 625 / 16 µs.
    assert_eq!(
        lan.entered("lb2", State::Master),
        Some(last + Duration::from_micros(1_500_000 + 304_687))
    );
}

#[test]
fn rfc3768_v2_backup_drops_adverts_with_another_interval() {
    let mut lan = Lan::new();
    let mut a = instance(1, 150);
    a.version = Version::V2;
    a.interval_cs = 200;
    let mut b = instance(2, 100);
    b.version = Version::V2;
    lan.add("lb1", a);
    lan.add("lb2", b);
    lan.run_until(ms(20_000));
    // Neither accepts the other's adverts: both end up Master (keepalived does the same).
    assert_eq!(lan.masters("VI_1").len(), 2);
    let lb2 = lan.nodes[1]
        .router
        .as_ref()
        .unwrap()
        .instance("VI_1")
        .unwrap();
    assert!(
        lb2.stats().dropped.values().sum::<u64>() > 0,
        "{:?}",
        lb2.stats()
    );
}

#[test]
fn every_transition_is_counted_by_the_state_entered_and_its_cause() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(10_000));
    lan.command(0, Command::Shutdown);
    lan.run_until(ms(12_000));
    let counts = |node: usize| {
        let router = lan.nodes[node].router.as_ref().expect("running");
        let stats = router.instance("VI_1").expect("VI_1").stats().clone();
        (stats.transitions, stats.became_master)
    };
    let (lb1, became) = counts(0);
    assert_eq!(
        lb1.into_iter().collect::<Vec<_>>(),
        [
            ((State::Backup, "startup"), 1),
            ((State::Master, "master_down"), 1),
            ((State::Stopped, "shutdown"), 1)
        ]
    );
    assert_eq!(became, 1);
    let (lb2, _) = counts(1);
    assert_eq!(lb2.get(&(State::Master, "master_resigned")), Some(&1));
}

#[test]
fn rfc5798_6_4_3_master_advertises_every_interval() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(10_000));
    let times: Vec<_> = lan.adverts("lb1").iter().map(|a| a.0).collect();
    assert_eq!(times.len(), 7, "{times:?}");
    for w in times.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_secs(1));
    }
}

#[test]
fn rfc9568_master_answers_a_lower_priority_advert_at_once() {
    // Two Masters after a heal: the higher one answers at once and the lower yields.
    let mut lan = pair(150, 100);
    lan.cut.insert((0, 1));
    lan.cut.insert((1, 0));
    lan.run_until(ms(5000));
    assert_eq!(lan.masters("VI_1").len(), 2);
    lan.cut.clear();
    lan.run_until(ms(7000));
    assert_eq!(lan.masters("VI_1"), vec![0]);
    let yielded = lan.entered("lb2", State::Backup).expect("lb2 yields");
    // lb2's next advert (lower) makes lb1 answer in the same instant, and lb2 yields to it.
    let lb1_answers: Vec<_> = lan
        .adverts("lb1")
        .into_iter()
        .filter(|a| a.0 == yielded)
        .collect();
    assert_eq!(lb1_answers.len(), 1);
    assert!(
        lan.actions("lb2")
            .iter()
            .any(|(t, a)| *t == yielded && matches!(a, Action::DelVip { .. }))
    );
}

#[test]
fn rfc5798_6_4_3_master_yields_to_higher_priority_without_priority_zero() {
    let mut lan = Lan::new();
    lan.add("lb2", instance(2, 100));
    lan.run_until(ms(5000));
    lan.add("lb1", instance(1, 150));
    lan.run_until(ms(10_000));
    assert!(
        lan.adverts("lb2")
            .iter()
            .all(|a| a.1.advert.priority == 100)
    );
    let reason = lan.actions("lb2").into_iter().find_map(|(_, a)| match a {
        Action::Notify {
            to: State::Backup,
            reason,
            from: State::Master,
            ..
        } => Some(reason),
        _ => None,
    });
    assert_eq!(
        reason,
        Some(Reason::HigherPriority {
            from: v4(1),
            priority: 150
        })
    );
}

#[test]
fn rfc5798_6_4_3_equal_priority_is_won_by_the_higher_address() {
    let mut lan = pair(100, 100);
    lan.run_until(ms(10_000));
    assert_eq!(lan.masters("VI_1"), vec![1], "10.0.0.2 beats 10.0.0.1");
    assert_clean(&lan);
}

#[test]
fn rfc5798_6_4_3_master_answers_priority_zero_with_an_advert() {
    // lb2 cannot hear lb1, so both become Master; when lb2 resigns with
    // priority 0, lb1 asserts itself with an advert in the same instant.
    let mut lan = pair(150, 100);
    lan.cut.insert((0, 1));
    lan.run_until(ms(10_000));
    assert_eq!(lan.masters("VI_1"), vec![0, 1]);
    let before = lan.adverts("lb1").len();
    lan.command(1, Command::Shutdown);
    let after = lan.adverts("lb1");
    assert_eq!(
        after.len(),
        before + 1,
        "lb1 answered the priority 0 advert"
    );
    assert_eq!(
        after.last().map(|a| (a.0, a.1.advert.priority)),
        Some((ms(10_000), 150))
    );
}

#[test]
fn fault_on_unweighted_tracker_sends_priority_zero_and_recovers() {
    let mut lan = Lan::new();
    let mut cfg = instance(1, 150);
    cfg.tracks.push(track(TrackKind::Script, "chk", 0));
    lan.add("lb1", cfg);
    lan.add("lb2", instance(2, 100));
    // Until the script reports, lb1 waits in Init.
    assert_eq!(lan.state(0, "VI_1"), Some(State::Init));
    let up = tracked(TrackKind::Script, "chk", TrackState::Up);
    lan.command(0, up.clone());
    lan.run_until(ms(5000));
    assert_eq!(lan.masters("VI_1"), vec![0]);
    lan.command(0, tracked(TrackKind::Script, "chk", TrackState::Down));
    assert_eq!(lan.state(0, "VI_1"), Some(State::Fault));
    assert_eq!(
        lan.adverts("lb1").last().map(|a| a.1.advert.priority),
        Some(0)
    );
    lan.run_until(ms(6000));
    assert_eq!(
        lan.entered("lb2", State::Master),
        Some(us(5_000_000 + 609_375))
    );
    lan.command(0, up);
    assert_eq!(lan.state(0, "VI_1"), Some(State::Backup));
    lan.run_until(ms(12_000));
    assert_eq!(lan.masters("VI_1"), vec![0], "lb1 preempts again");
    assert_clean(&lan);
}

#[test]
fn weighted_tracker_demotes_and_priority_is_clamped() {
    // Seed 004's maintenance trick: weight -5 takes 101 below 100.
    let mut lan = Lan::new();
    let mut cfg = instance(1, 101);
    cfg.tracks.push(track(TrackKind::Script, "down", -5));
    lan.add("lb1", cfg);
    lan.add("lb2", instance(2, 100));
    let ok = |s| tracked(TrackKind::Script, "down", s);
    lan.command(0, ok(TrackState::Up));
    lan.run_until(ms(5000));
    assert_eq!(lan.masters("VI_1"), vec![0]);
    lan.command(0, ok(TrackState::Down));
    let inst = lan.nodes[0]
        .router
        .as_ref()
        .unwrap()
        .instance("VI_1")
        .unwrap();
    assert_eq!(inst.effective_priority(), 96);
    lan.run_until(ms(12_000));
    assert_eq!(
        lan.masters("VI_1"),
        vec![1],
        "lb2 preempts the demoted master"
    );
    lan.command(0, ok(TrackState::Up));
    lan.run_until(ms(20_000));
    assert_eq!(lan.masters("VI_1"), vec![0]);

    let mut solo = Lan::new();
    let mut cfg = instance(1, 250);
    cfg.tracks.push(track(TrackKind::Interface, "eth1", 50));
    solo.add("x", cfg);
    let inst = solo.nodes[0]
        .router
        .as_ref()
        .unwrap()
        .instance("VI_1")
        .unwrap();
    assert_eq!(
        inst.effective_priority(),
        254,
        "clamped below the owner's 255"
    );
}

#[test]
fn owner_priority_is_never_changed_by_trackers() {
    let mut lan = Lan::new();
    let mut cfg = instance(1, 255);
    cfg.tracks.push(track(TrackKind::Script, "s", -50));
    lan.add("lb1", cfg);
    lan.command(0, tracked(TrackKind::Script, "s", TrackState::Down));
    let inst = lan.nodes[0]
        .router
        .as_ref()
        .unwrap()
        .instance("VI_1")
        .unwrap();
    assert_eq!(inst.effective_priority(), 255);
}

#[test]
fn link_down_on_tracked_interface_is_a_fault() {
    let mut lan = Lan::new();
    let mut cfg = instance(1, 150);
    cfg.tracks.push(track(TrackKind::Interface, "eth0", 0));
    lan.add("lb1", cfg);
    lan.run_until(ms(5000));
    lan.command(0, tracked(TrackKind::Interface, "eth0", TrackState::Down));
    assert_eq!(lan.state(0, "VI_1"), Some(State::Fault));
    let last = lan.transitions("lb1").pop().expect("transition");
    assert_eq!((last.1, last.2), (State::Master, State::Fault));
}

#[test]
fn gratuitous_arps_now_and_after_garp_master_delay() {
    let mut lan = Lan::new();
    lan.add("lb1", instance(1, 150));
    lan.run_until(ms(20_000));
    let garps: Vec<_> = lan
        .actions("lb1")
        .into_iter()
        .filter_map(|(t, a)| match a {
            Action::Garp { repeat, .. } => Some((t, repeat)),
            _ => None,
        })
        .collect();
    let became = us(3_414_062);
    assert_eq!(
        garps,
        vec![(became, 5), (became + Duration::from_secs(5), 5)]
    );
}

#[test]
fn garp_master_refresh_repeats_while_master() {
    let mut lan = Lan::new();
    let mut cfg = instance(1, 150);
    cfg.garp.master_delay = Duration::ZERO;
    cfg.garp.master_refresh = Some(Duration::from_secs(4));
    cfg.garp.master_refresh_repeat = 2;
    lan.add("lb1", cfg);
    lan.run_until(ms(14_000));
    let refresh: Vec<_> = lan
        .actions("lb1")
        .into_iter()
        .filter_map(|(t, a)| matches!(a, Action::Garp { repeat: 2, .. }).then_some(t))
        .collect();
    // First advert strictly after became + 4 s, then 4 s after that one.
    assert_eq!(
        refresh,
        vec![us(3_414_062 + 5_000_000), us(3_414_062 + 10_000_000)]
    );
}

#[test]
fn unicast_peers_get_their_own_copy_and_other_sources_are_dropped() {
    let mut lan = Lan::new();
    let mut a = instance(1, 150);
    a.unicast_peers = vec![v4(2)];
    let mut b = instance(2, 100);
    b.unicast_peers = vec![v4(1)];
    let mut c = instance(3, 200);
    c.unicast_peers = vec![v4(2)];
    lan.add("lb1", a);
    lan.add("lb2", b);
    lan.run_until(ms(5000));
    assert_eq!(lan.masters("VI_1"), vec![0]);
    assert!(lan.adverts("lb1").iter().all(|a| a.1.dst == v4(2)));
    // A third router that lb2 does not list cannot take over lb2's view.
    lan.add("rogue", c);
    lan.run_until(ms(15_000));
    assert_eq!(lan.state(1, "VI_1"), Some(State::Backup));
    let lb2 = lan.nodes[1]
        .router
        .as_ref()
        .unwrap()
        .instance("VI_1")
        .unwrap();
    assert!(lb2.stats().dropped.get("unicast_src").copied().unwrap_or(0) > 0);
}

#[test]
fn ipv6_instances_elect_a_master() {
    use std::net::{IpAddr, Ipv6Addr};
    let ll = |n| IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n));
    let mut lan = Lan::new();
    for (name, n, prio) in [("lb1", 1, 150), ("lb2", 2, 100)] {
        let mut c =
            vigil_core::vrrp::InstanceConfig::new("VI_6", "eth0", Version::V3, 61, prio, ll(n));
        c.vips = vec![vip(IpAddr::V6(Ipv6Addr::new(
            0xfd77, 0, 0, 0, 0, 0, 0, 0x100,
        )))];
        lan.add(name, c);
    }
    lan.run_until(ms(10_000));
    assert_eq!(lan.masters("VI_6"), vec![0]);
    assert!(
        lan.actions("lb1")
            .iter()
            .any(|(_, a)| matches!(a, Action::UnsolicitedNa { .. }))
    );
    assert_clean(&lan);
}

fn group_node(last: u8, prio: u8) -> (Vec<vigil_core::vrrp::InstanceConfig>, Vec<GroupConfig>) {
    let mut a = instance(last, prio);
    a.name = "http".into();
    a.tracks.push(track(TrackKind::Interface, "eth1", 0));
    let mut b = instance(last, prio);
    b.name = "mysql".into();
    b.vrid = 52;
    b.vips = vec![vip(v4(101))];
    let g = GroupConfig {
        name: "VG_1".into(),
        members: vec!["http".into(), "mysql".into()],
    };
    (vec![a, b], vec![g])
}

#[test]
fn sync_group_members_go_master_together_and_fault_together() {
    let mut lan = Lan::new();
    let (c, g) = group_node(1, 150);
    lan.add_node("lb1", c, g);
    let (c, g) = group_node(2, 100);
    lan.add_node("lb2", c, g);
    lan.run_until(ms(5000));
    assert_eq!(lan.masters("http"), vec![0]);
    assert_eq!(lan.masters("mysql"), vec![0]);
    // eth1 goes down under http only: mysql follows it into Fault.
    lan.command(0, tracked(TrackKind::Interface, "eth1", TrackState::Down));
    assert_eq!(lan.state(0, "http"), Some(State::Fault));
    assert_eq!(lan.state(0, "mysql"), Some(State::Fault));
    lan.run_until(ms(7000));
    assert_eq!(lan.masters("http"), vec![1]);
    assert_eq!(lan.masters("mysql"), vec![1]);
    assert!(lan.actions("lb1").iter().any(|(_, a)| matches!(
        a,
        Action::GroupNotify {
            to: State::Fault,
            ..
        }
    )));
    lan.command(0, tracked(TrackKind::Interface, "eth1", TrackState::Up));
    lan.run_until(ms(15_000));
    assert_eq!(lan.masters("http"), vec![0]);
    assert_eq!(lan.masters("mysql"), vec![0]);
    assert_clean(&lan);
}

#[test]
fn sync_group_member_yielding_takes_the_others_to_backup() {
    let mut lan = Lan::new();
    let (c, g) = group_node(2, 100);
    lan.add_node("lb2", c, g);
    lan.run_until(ms(5000));
    assert_eq!(lan.masters("mysql"), vec![0]);
    // A better router for http only: lb2's mysql follows http to Backup.
    let mut better = instance(1, 150);
    better.name = "http".into();
    lan.add("lb1", better);
    lan.run_until(ms(12_000));
    assert_eq!(lan.masters("http"), vec![1]);
    assert_eq!(lan.state(0, "mysql"), Some(State::Backup));
}

#[test]
fn keepalived_reload_keeps_a_master_master_and_it_advertises_at_once() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(5_500));
    let before = lan.events.len();
    lan.reload(0, vec![instance(1, 150)]);
    let after: Vec<_> = lan.events[before..].to_vec();
    assert_eq!(
        after.len(),
        1,
        "only an advert, no transition, no address change: {after:?}"
    );
    assert_eq!(lan.adverts("lb1").last().map(|a| a.0), Some(ms(5_500)));
    lan.run_until(ms(20_000));
    assert_eq!(lan.masters("VI_1"), vec![0]);
    assert_eq!(
        lan.transitions("lb1").len(),
        2,
        "Init -> Backup -> Master only"
    );
}

#[test]
fn keepalived_reload_with_a_lower_priority_lets_the_backup_preempt() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(5_500));
    lan.reload(0, vec![instance(1, 50)]);
    assert_eq!(
        lan.adverts("lb1").last().map(|a| a.1.advert.priority),
        Some(50)
    );
    lan.run_until(ms(12_000));
    // lb2 discards the lower adverts and takes over when the timer it
    // started at lb1's last priority-150 advert (5.414062 s) runs out.
    assert_eq!(
        lan.entered("lb2", State::Master),
        Some(us(5_414_062 + 3_609_375))
    );
    assert_eq!(lan.masters("VI_1"), vec![1]);
}

#[test]
fn keepalived_reload_changes_only_the_addresses_that_changed() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(5_500));
    let mut changed = instance(1, 150);
    changed.vips = vec![vip(v4(100)), vip(v4(101))];
    let before = lan.events.len();
    lan.reload(0, vec![changed]);
    let added: Vec<_> = lan.events[before..]
        .iter()
        .filter_map(|e| match e {
            lan::Event::Action {
                action: Action::AddVip { vip, .. },
                ..
            } => Some(vip.addr),
            lan::Event::Action {
                action: Action::DelVip { .. },
                ..
            } => panic!("nothing removed"),
            _ => None,
        })
        .collect();
    assert_eq!(added, vec![v4(101)]);
}

#[test]
fn keepalived_reload_removing_a_master_instance_resigns_it() {
    let mut lan = pair(150, 100);
    lan.run_until(ms(5_500));
    lan.reload(0, vec![]);
    assert_eq!(
        lan.adverts("lb1").last().map(|a| a.1.advert.priority),
        Some(0)
    );
    assert!(
        lan.actions("lb1")
            .iter()
            .any(|(t, a)| *t == ms(5_500) && matches!(a, Action::DelVip { .. }))
    );
    lan.run_until(ms(7_000));
    assert_eq!(
        lan.entered("lb2", State::Master),
        Some(us(5_500_000 + 609_375))
    );
}

#[test]
fn rfc5798_6_1_without_accept_mode_a_master_has_its_addresses_blocked() {
    let mut lan = Lan::new();
    let mut cfg = instance(1, 150);
    cfg.accept = false;
    lan.add("lb1", cfg);
    lan.run_until(ms(5000));
    lan.command(0, Command::Shutdown);
    let blocks: Vec<_> = lan
        .actions("lb1")
        .into_iter()
        .filter_map(|(t, a)| match a {
            Action::NoAccept { addrs, block, .. } => Some((t, addrs, block)),
            _ => None,
        })
        .collect();
    assert_eq!(
        blocks,
        vec![
            (us(3_414_062), vec![v4(100)], true),
            (ms(5000), vec![v4(100)], false)
        ]
    );
}

#[test]
fn values_the_config_layer_rejects_cannot_spin_or_resign_the_core() {
    let mut lan = Lan::new();
    let mut cfg = instance(1, 0);
    cfg.interval_cs = 0;
    lan.add("lb1", cfg);
    lan.run_until(ms(1000));
    let adverts = lan.adverts("lb1");
    assert!(
        !adverts.is_empty() && adverts.len() < 200,
        "{} adverts in 1 s",
        adverts.len()
    );
    assert!(
        adverts
            .iter()
            .all(|a| a.1.advert.priority == 1 && a.1.advert.interval_cs == 1)
    );
}

#[test]
fn a_master_woken_late_keeps_its_advert_cadence() {
    // A real driver wakes after the deadline (tokio rounds timers up to the
    // millisecond); the adverts must still come every interval from the
    // first, not every interval plus the lateness.
    let mut router =
        vigil_core::vrrp::Router::new(vec![instance(1, 255)], vec![], ms(0)).expect("valid");
    let mut advert_dues = Vec::new();
    for _ in 0..40 {
        let Some(due) = router.poll_timeout() else {
            break;
        };
        router.handle_timeout(due + Duration::from_micros(1300));
        let mut sent = false;
        while router.poll_transmit().is_some() {
            sent = true;
        }
        while router.poll_action().is_some() {}
        if sent {
            advert_dues.push(due);
        }
        if advert_dues.len() == 10 {
            break;
        }
    }
    // The first advert comes with the takeover, at the late wake-up (not at
    // the due time recorded here); from there each one is due exactly one
    // interval after the one before.
    let gaps: Vec<Duration> = advert_dues[1..]
        .windows(2)
        .map(|w| w[1].saturating_since(w[0]))
        .collect();
    assert_eq!(gaps, vec![Duration::from_secs(1); 8]);
}

//! The invariants judged over a timeline, on hand-made timelines.

use std::net::IpAddr;
use std::time::Duration;
use vigil_core::Instant;
use vigil_core::scenario::expect::{self, InstanceInfo};
use vigil_core::scenario::{Event, Scenario, What};
use vigil_core::vrrp::State;

fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * 1_000_000)
}

fn info(node: &str) -> InstanceInfo {
    InstanceInfo {
        node: node.into(),
        instance: "VI_1".into(),
        vrid: 51,
        v6: false,
        interval: Duration::from_secs(1),
        segment: "lan".into(),
        vips: vec![vip()],
    }
}

fn vip() -> IpAddr {
    "10.0.0.100".parse().unwrap()
}

fn state(at: u64, host: &str, from: State, to: State, reason: &str) -> Event {
    let what = What::State {
        instance: "VI_1".into(),
        from,
        to,
        reason: reason.into(),
    };
    Event {
        at: ms(at),
        host: host.into(),
        what,
    }
}

fn added(at: u64, host: &str) -> Event {
    Event {
        at: ms(at),
        host: host.into(),
        what: What::VipAdded {
            addr: vip(),
            iface: "eth0".into(),
        },
    }
}

fn scenario(steps: &str) -> Scenario {
    let text = format!(
        "name = \"t\"\nduration = \"30s\"\n[[node]]\nname = \"a\"\naddr = \"10.0.0.1/24\"\nconfig = ''\n\
         [[node]]\nname = \"b\"\naddr = \"10.0.0.2/24\"\nconfig = ''\n{steps}"
    );
    Scenario::parse(&text).expect("valid")
}

fn names(v: &[Event]) -> Vec<String> {
    v.iter()
        .map(|e| match &e.what {
            What::Violation { invariant, .. } => format!("{} {invariant}", e.millis()),
            What::Note { text } => format!("{} note {text}", e.millis()),
            other => format!("{other}"),
        })
        .collect()
}

#[test]
fn two_masters_that_hear_each_other_break_single_master_after_the_window() {
    let s = scenario("");
    let events = vec![
        state(0, "a", State::Init, State::Backup, "startup"),
        state(0, "b", State::Init, State::Backup, "startup"),
        state(3000, "a", State::Backup, State::Master, "x"),
        state(3500, "b", State::Backup, State::Master, "x"),
    ];
    let v = expect::invariants(&s, &events, &[info("a"), info("b")], Duration::ZERO);
    assert_eq!(names(&v), vec!["4500.000 single_master"]);
}

#[test]
fn a_contest_resolved_within_one_interval_is_allowed() {
    let s = scenario("");
    let events = vec![
        state(3000, "a", State::Backup, State::Master, "x"),
        state(3500, "b", State::Backup, State::Master, "x"),
        state(4200, "b", State::Master, State::Backup, "higher priority"),
    ];
    assert!(expect::invariants(&s, &events, &[info("a"), info("b")], Duration::ZERO).is_empty());
}

#[test]
fn masters_on_both_sides_of_a_partition_are_not_a_violation() {
    let s = scenario("[[step]]\nat = \"1s\"\npartition = [[\"a\"], [\"b\"]]\n");
    let events = vec![
        state(3000, "a", State::Backup, State::Master, "x"),
        state(3500, "b", State::Backup, State::Master, "x"),
    ];
    assert!(expect::single_master(&s, &events, &[info("a"), info("b")], Duration::ZERO).is_empty());
}

#[test]
fn an_address_held_without_a_master_is_a_violation_unless_vigil_crashed() {
    let s = scenario("");
    let held = vec![added(1000, "a")];
    assert_eq!(
        names(&expect::vip_master(&held, &[info("a")], Duration::ZERO)),
        vec!["1000.000 vip_master"]
    );

    let crashed = vec![
        state(0, "a", State::Backup, State::Master, "x"),
        added(0, "a"),
        state(
            5000,
            "a",
            State::Master,
            State::Stopped,
            "crashed (SIGKILL)",
        ),
    ];
    let v = expect::invariants(&s, &crashed, &[info("a")], Duration::ZERO);
    assert_eq!(
        names(&v),
        vec!["5000.000 note stale address 10.0.0.100: left by a crashed vigil"]
    );
}

#[test]
fn a_failed_master_must_be_replaced_while_a_backup_is_there() {
    let s = scenario("");
    let mut events = vec![
        state(0, "a", State::Init, State::Backup, "startup"),
        state(0, "b", State::Init, State::Backup, "startup"),
        state(3000, "a", State::Backup, State::Master, "x"),
        state(10_000, "a", State::Master, State::Stopped, "shutdown"),
    ];
    let infos = [info("a"), info("b")];
    assert_eq!(
        names(&expect::takeover(&s, &events, &infos, Duration::ZERO)),
        vec!["14000.000 takeover"]
    );
    events.push(state(
        10_600,
        "b",
        State::Backup,
        State::Master,
        "master sent priority 0",
    ));
    assert!(expect::takeover(&s, &events, &infos, Duration::ZERO).is_empty());
}

/// The Master `a` stops at 10 s while `b` waits as Backup.
fn master_stops() -> Vec<Event> {
    vec![
        state(0, "a", State::Init, State::Backup, "startup"),
        state(0, "b", State::Init, State::Backup, "startup"),
        state(3000, "a", State::Backup, State::Master, "x"),
        state(10_000, "a", State::Master, State::Stopped, "shutdown"),
    ]
}

#[test]
fn a_backup_that_faults_or_freezes_meanwhile_owes_no_takeover() {
    let s = scenario("");
    let infos = [info("a"), info("b")];
    let mut faulted = master_stops();
    faulted.push(state(
        10_700,
        "b",
        State::Backup,
        State::Fault,
        "fault: eth0",
    ));
    assert!(expect::takeover(&s, &faulted, &infos, Duration::ZERO).is_empty());
    let mut frozen = master_stops();
    frozen.push(Event {
        at: ms(8000),
        host: "b".into(),
        what: What::Step {
            action: "freeze".into(),
        },
    });
    frozen.sort_by_key(|e| e.at);
    assert!(expect::takeover(&s, &frozen, &infos, Duration::ZERO).is_empty());
}

/// keepalived's reload starts a Backup's Master_Down_Timer again (found by
/// the simulator soak: reload-lower-priority, seed 1007004).
#[test]
fn a_backup_reloaded_meanwhile_starts_its_timer_again() {
    let s = scenario("");
    let infos = [info("a"), info("b")];
    let events = master_stops();
    assert_eq!(
        names(&expect::takeover(&s, &events, &infos, Duration::ZERO)),
        vec!["14000.000 takeover"],
        "without the reload, b owes a takeover"
    );
    let mut reloaded = events;
    reloaded.push(Event {
        at: ms(12_000),
        host: "b".into(),
        what: What::Step {
            action: "reload".into(),
        },
    });
    assert!(expect::takeover(&s, &reloaded, &infos, Duration::ZERO).is_empty());
}

#[test]
fn a_master_restarted_before_the_backups_timers_is_a_takeover() {
    let s = scenario("");
    let infos = [info("a"), info("b")];
    let mut events = master_stops();
    events.push(state(
        10_000,
        "a",
        State::Init,
        State::Master,
        "address owner (priority 255)",
    ));
    assert!(expect::takeover(&s, &events, &infos, Duration::ZERO).is_empty());
}

#[test]
fn a_transition_needs_a_cause() {
    let events = vec![state(5, "a", State::Init, State::Backup, "")];
    assert_eq!(names(&expect::cause(&events)), vec!["5.000 cause"]);
}

#[test]
fn an_address_dropped_within_the_settling_time_after_master_is_no_violation() {
    let removed = Event {
        at: ms(5002),
        host: "a".into(),
        what: What::VipRemoved {
            addr: vip(),
            iface: "eth0".into(),
        },
    };
    let events = vec![
        state(0, "a", State::Backup, State::Master, "x"),
        added(0, "a"),
        state(5000, "a", State::Master, State::Backup, "higher priority"),
        removed,
    ];
    assert_eq!(
        names(&expect::vip_master(&events, &[info("a")], Duration::ZERO)),
        vec!["5000.000 vip_master"]
    );
    let settle = Duration::from_millis(300);
    assert!(expect::vip_master(&events, &[info("a")], settle).is_empty());
}

#[test]
fn a_tolerance_lets_an_expectation_hold_near_its_time() {
    let s = scenario(
        "[[expect]]\nat = \"3.1s\"\nstate = { node = \"a\", instance = \"VI_1\", is = \"MASTER\" }\n",
    );
    let events = vec![state(3300, "a", State::Backup, State::Master, "x")];
    let verdict = |tolerance| {
        let v = expect::check_within(&s, &events, &[], tolerance);
        matches!(v[0].what, What::Expectation { passed: true, .. })
    };
    assert!(!verdict(Duration::ZERO));
    assert!(verdict(Duration::from_millis(300)));
    assert!(!verdict(Duration::from_millis(100)));
}

#[test]
fn a_backup_already_master_elsewhere_is_a_takeover() {
    // A one-way partition had made b Master too; when a stops, b is the
    // Master and nothing has to happen.
    let s = scenario("");
    let infos = [info("a"), info("b"), info("c")];
    let mut events = master_stops();
    events.insert(3, state(3100, "b", State::Backup, State::Master, "x"));
    events.push(state(0, "c", State::Init, State::Backup, "startup"));
    events.sort_by_key(|e| e.at);
    assert!(expect::takeover(&s, &events, &infos, Duration::ZERO).is_empty());
}

#[test]
fn a_backup_with_a_longer_interval_gets_its_own_master_down_interval() {
    // b advertises every 2 s and never heard a (it started as a crashed):
    // its down timer is 3 x 2 s + skew, past a's 4 x 1 s.
    let s = scenario("");
    let slow = InstanceInfo {
        interval: Duration::from_secs(2),
        ..info("b")
    };
    let infos = [info("a"), slow];
    let mut events = master_stops();
    events.push(state(16_700, "b", State::Backup, State::Master, "x"));
    assert!(expect::takeover(&s, &events, &infos, Duration::ZERO).is_empty());
}

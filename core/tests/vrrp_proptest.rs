//! Properties of the state machine under arbitrary input sequences on a LAN:
//! a Backup never sends an advert, no timer points into the past, and once
//! the routers hear each other again and have exchanged adverts there is
//! exactly one Master.

mod lan;

use lan::{Lan, instance};
use proptest::prelude::*;
use std::time::Duration;
use vigil_core::vrrp::track::{Track, TrackKind, TrackState};
use vigil_core::vrrp::{Command, State, Version};

#[derive(Clone, Debug)]
enum Op {
    Run(u64),
    Crash(usize),
    Start(usize),
    Stop(usize),
    Cut(usize, usize),
    Heal,
    Script(usize, bool),
}

fn op(nodes: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u64..5000).prop_map(Op::Run),
        1 => (0..nodes).prop_map(Op::Crash),
        2 => (0..nodes).prop_map(Op::Start),
        1 => (0..nodes).prop_map(Op::Stop),
        1 => (0..nodes, 0..nodes).prop_map(|(a, b)| Op::Cut(a, b)),
        1 => Just(Op::Heal),
        2 => (0..nodes, any::<bool>()).prop_map(|(n, ok)| Op::Script(n, ok)),
    ]
}

#[derive(Clone, Debug)]
struct NodeSpec {
    priority: u8,
    v2: bool,
    initial_master: bool,
    preempt: bool,
    weight: i32,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (
        1u8..=255,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        -60i32..=60,
    )
        .prop_map(|(priority, v2, initial_master, preempt, weight)| NodeSpec {
            priority,
            v2,
            initial_master,
            preempt,
            weight,
        })
}

fn build(specs: &[NodeSpec], all_v2: bool) -> Lan {
    let mut lan = Lan::new();
    for (i, s) in specs.iter().enumerate() {
        let mut c = instance(i as u8 + 1, s.priority);
        if all_v2 {
            c.version = Version::V2;
        }
        c.initial_master = s.initial_master;
        c.preempt = s.preempt;
        c.tracks.push(Track {
            kind: TrackKind::Script,
            name: "chk".into(),
            weight: s.weight,
            reverse: false,
        });
        lan.add(&format!("n{i}"), c);
        lan.command(i, script(true));
    }
    lan
}

fn script(ok: bool) -> Command {
    Command::Track {
        kind: TrackKind::Script,
        name: "chk".into(),
        state: if ok { TrackState::Up } else { TrackState::Down },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn one_master_after_any_history(
        specs in prop::collection::vec(node_spec(), 2..=4),
        ops in prop::collection::vec(op(4), 0..40),
    ) {
        let n = specs.len();
        // One version for the whole LAN: mixed v2/v3 routers do not talk.
        let all_v2 = specs[0].v2;
        let mut lan = build(&specs, all_v2);
        for o in ops {
            match o {
                Op::Run(t) => lan.run_for(Duration::from_millis(t)),
                Op::Crash(i) if i < n => lan.crash(i),
                Op::Start(i) if i < n && lan.nodes[i].router.is_none() => {
                    lan.start(i);
                    lan.command(i, script(true));
                }
                Op::Stop(i) if i < n => lan.command(i, Command::Shutdown),
                Op::Cut(a, b) if a < n && b < n => { lan.cut.insert((a, b)); }
                Op::Heal => lan.cut.clear(),
                Op::Script(i, ok) if i < n => lan.command(i, script(ok)),
                _ => {}
            }
            prop_assert!(lan.violations.is_empty(), "{:?}", lan.violations);
        }
        // Heal everything, bring every node back with its script passing.
        lan.cut.clear();
        for i in 0..n {
            if lan.nodes[i].router.is_none() || lan.state(i, "VI_1") == Some(State::Stopped) {
                lan.crash(i);
                lan.start(i);
            }
            lan.command(i, script(true));
        }
        // Long enough for any Master_Down_Interval plus a preemption round.
        lan.run_for(Duration::from_secs(20));
        let t = lan.now;
        lan.run_until(t + Duration::from_secs(1));
        prop_assert!(lan.violations.is_empty(), "{:?}", lan.violations);
        prop_assert_eq!(lan.masters("VI_1").len(), 1, "states: {:?}",
            (0..n).map(|i| lan.state(i, "VI_1")).collect::<Vec<_>>());
    }
}

//! `--explore` against a bug planted in the driver: it finds the bug in a few
//! runs, shrinks the finding to a file of at most three steps that
//! reproduces it, and the same runs without the bug are clean.

use vigil_core::scenario::{Event, Scenario, What};
use vigil_sim::explore::{self, Explore};
use vigil_sim::{Options, PlantedBug};

/// Two nodes, one VIP, a client, no steps of its own: every fault is random.
const PAIR: &str = r#"
name = "pair"
duration = "8s"

[[node]]
name = "lb1"
addr = "10.0.0.1/24"
config = '''
vrrp_script chk {
    script "/bin/true"
    interval 1
    weight -60
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    track_script { chk }
    virtual_ipaddress { 10.0.0.100/24 }
}
'''

[[node]]
name = "lb2"
addr = "10.0.0.2/24"
config = '''
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress { 10.0.0.100/24 }
}
'''

[[client]]
name = "c1"
addr = "10.0.0.50/24"
probe = "10.0.0.100"
every = "100ms"

[[expect]]
always = "single_master"
"#;

const PLANT: Option<PlantedBug> = Some(PlantedBug::IgnoreAdvertsAfterHeal);

fn pair() -> Scenario {
    Scenario::parse(PAIR).expect("valid scenario")
}

fn opts(plant: Option<PlantedBug>) -> Explore {
    Explore {
        runs: 15,
        seed: Some(0),
        plant,
        ..Explore::default()
    }
}

fn violations(report: &vigil_sim::Report) -> Vec<&Event> {
    let broken = |e: &&Event| matches!(&e.what, What::Violation { invariant, .. } if invariant == "single_master");
    report.judged.timeline.iter().filter(broken).collect()
}

#[test]
fn finds_shrinks_and_reproduces_the_planted_bug() {
    let scenario = pair();
    let opts = opts(PLANT);
    let found = explore::runs(&scenario, &opts)
        .map(|r| r.expect("the run completes"))
        .find(|r| r.violation.is_some())
        .expect("a violation within 15 runs");
    let violation = found.violation.as_ref().expect("found");

    let shrunk = explore::shrink(&found.scenario, violation, PLANT).expect("shrinks");
    let steps = &shrunk.scenario.step;
    assert!(!steps.is_empty() && steps.len() <= 3, "{steps:#?}");
    assert_eq!(shrunk.scenario.sim.seed, found.seed);
    assert_eq!(shrunk.scenario.node, scenario.node);
    assert_eq!(shrunk.scenario.expect, scenario.expect);

    // The written file, read back and run as `vigil sim` runs it.
    let text = explore::to_toml(&shrunk.scenario).expect("writes");
    let back = Scenario::parse(&text).expect("reads back");
    let with_bug = Options {
        plant: PLANT,
        ..Options::default()
    };
    let report = vigil_sim::run(&back, &with_bug).expect("runs");
    let found_again = violations(&report);
    assert_eq!(
        found_again.first(),
        Some(&&shrunk.violation),
        "{}",
        report.judged.render()
    );
    assert!(report.judged.failed > 0, "`always single_master` fails");

    // The bug is the cause: the same file without it is clean.
    let report = vigil_sim::run(&back, &Options::default()).expect("runs");
    assert!(violations(&report).is_empty(), "{}", report.judged.render());
}

/// Seeds 0..15 of this pair. Not every seed is clean: seed 15 (and 218,
/// below) trips a false positive of the checker.
#[test]
fn without_the_plant_the_same_runs_are_clean() {
    let scenario = pair();
    for r in explore::runs(&scenario, &opts(None)) {
        let r = r.expect("the run completes");
        assert!(
            r.violation.is_none(),
            "seed {}: {:?}\n{}",
            r.seed,
            r.violation,
            explore::to_toml(&r.scenario).unwrap_or_default()
        );
    }
}

#[test]
fn schedules_are_deterministic_sensible_and_written_back_exactly() {
    let scenario = pair();
    for seed in 0..50 {
        let (a, faults) = explore::with_faults(&scenario, seed, 8);
        let (b, _) = explore::with_faults(&scenario, seed, 8);
        assert_eq!(a, b, "seed {seed}");
        assert!(faults <= 8);
        assert_eq!(a.sim.seed, seed);
        assert!(a.step.windows(2).all(|w| w[0].at <= w[1].at));
        a.check().expect("names exist, steps inside the run");
        let text = explore::to_toml(&a).expect("round trip");
        assert_eq!(Scenario::parse(&text).expect("parses"), a);
    }
}

/// A false positive `--explore` found in the invariant checker (core's
/// `expect::single_master`), shrunk from seed 218 of this pair: lb1 becomes
/// Master at 3414 ms while its adverts cannot reach lb2, the heal comes at
/// 4000 ms and lb2 yields at 4609 ms, within one advert interval of the heal.
/// The checker probes at lb1's transition + one interval (4414 ms) and
/// reported both Masters, although the heal's own settling window was still
/// open; the checker now waits out the window of the latest change.
#[test]
fn a_heal_gets_its_settling_window() {
    let mut scenario = pair();
    scenario.sim.seed = 218;
    let step = |at: &str, action| {
        explore::step(
            vigil_core::scenario::Dur::parse(at).expect("duration"),
            action,
        )
    };
    use vigil_core::scenario::format::{Action, OneWay};
    scenario.step = vec![
        step(
            "0s",
            Action::PartitionOneway(OneWay {
                from: "lb1".into(),
                to: "lb2".into(),
            }),
        ),
        step("4s", Action::Heal),
    ];
    let report = vigil_sim::run(&scenario, &Options::default()).expect("runs");
    assert!(violations(&report).is_empty(), "{}", report.judged.render());
}

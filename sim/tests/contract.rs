//! The example in SCENARIOS.md (the contract, verbatim in
//! `core/tests/scenarios/contract.toml`) runs unchanged in the simulator.
//!
//! The example's steps and expectations speak of `lb2` without declaring it,
//! so the only change is an `lb2` node (priority 100, the example's own
//! instance otherwise) inserted before `[[client]]`. Everything else is the
//! file's text, byte for byte.
//!
//! Five of its six expectations pass. The third cannot, by the contract's
//! own rules: `crash` "dies at once: no priority-0 advert, VIPs left as they
//! were", so lb1's host still has 10.0.0.100 at 15 s, while `vip` asks that
//! "exactly one node holds it". Holders at 15 s are lb1 (stale, from the
//! crash at 10 s) and lb2 (Master since 13.023 s). A real keepalived behaves
//! the same (SIGKILL leaves the address on the interface), so the lab driver
//! would fail it too. The test pins exactly that: every other expectation
//! passes, and the vip one fails with both holders named.

use std::path::Path;
use vigil_core::scenario::{Scenario, What};
use vigil_sim::Options;

const LB2: &str = r"[[node]]
name = 'lb2'
addr = '10.0.0.2/24'
config = '''
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    version 3
    virtual_ipaddress { 10.0.0.100/24 }
}
'''

";

fn contract_with_lb2() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/scenarios/contract.toml");
    let text = std::fs::read_to_string(&path).expect("the contract example is readable");
    let at = text.find("[[client]]").expect("the example has a client");
    format!("{}{LB2}{}", &text[..at], &text[at..])
}

#[test]
fn the_scenarios_md_example_runs_unchanged_but_for_lb2() {
    let text = contract_with_lb2();
    let scenario = Scenario::parse(&text).expect("the contract example parses");
    assert_eq!(scenario.node.len(), 2);
    assert_eq!(
        scenario.server.len(),
        1,
        "the [[server]] block is accepted as written"
    );
    let report = vigil_sim::run(&scenario, &Options::default()).expect("the example runs");

    let verdicts: Vec<(usize, bool, String)> = report
        .timeline
        .iter()
        .filter_map(|e| match &e.what {
            What::Expectation {
                index,
                passed,
                detail,
                ..
            } => Some((*index, *passed, detail.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(verdicts.len(), 6, "{}", report.render());
    for (index, passed, detail) in &verdicts {
        if *index == 3 {
            // `vip = { addr = "10.0.0.100", holder = "lb2" }` at 15 s: the
            // crashed lb1 still holds the address, as the contract says a
            // crash leaves it.
            assert!(!passed, "{}", report.render());
            assert_eq!(detail, "held by: lb1, lb2", "{}", report.render());
        } else {
            assert!(passed, "expectation {index} failed:\n{}", report.render());
        }
    }
    assert_eq!((report.passed, report.failed), (5, 1));

    // The stale address is the crash's: lb1 never removed it.
    let lb1_removed = report
        .timeline
        .iter()
        .any(|e| e.host == "lb1" && matches!(e.what, What::VipRemoved { .. }));
    assert!(!lb1_removed, "{}", report.render());
}

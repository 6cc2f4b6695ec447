//! The example in SCENARIOS.md (the contract, verbatim in
//! `core/tests/scenarios/contract.toml`) runs unchanged in the simulator.
//!
//! The example's steps and expectations speak of `lb2` without declaring it,
//! so the only change is an `lb2` node (priority 100, the example's own
//! instance otherwise) inserted before `[[client]]`. Everything else is the
//! file's text, byte for byte.
//!
//! All six of its expectations pass. Its `vip` expectation at 15 s names
//! lb2 as the only holder although the crashed lb1's host still has the
//! address ("VIPs left as they were"): an address a crashed vigil left
//! behind is stale, not held (see `Run::holders`), and the timeline says so.

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
        .judged
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
    assert_eq!(verdicts.len(), 6, "{}", report.judged.render());
    for (index, passed, detail) in &verdicts {
        assert!(
            passed,
            "expectation {index} failed ({detail}):\n{}",
            report.judged.render()
        );
    }
    assert_eq!(report.judged.failed, 0);
    assert!(
        report
            .judged
            .render()
            .contains("note: stale address 10.0.0.100: left by a crashed vigil")
    );
}

//! What the `scenario` fuzz target and its corpus replay
//! (`core/tests/scenario_fuzz_corpus.rs`) both do with one input: both
//! include this file, so the two cannot drift apart.

use vigil_core::scenario::expect;
use vigil_core::scenario::format::Scenario;

/// Parses `text` as a scenario; one that parses must print as TOML and
/// parse back equal, and its expectations must be judged (against an empty
/// timeline) without a panic. Returns whether it parsed.
pub fn exercise(text: &str) -> bool {
    let Ok(scenario) = Scenario::parse(text) else {
        return false;
    };
    for step in &scenario.step {
        let _ = step.actions();
    }
    let _ = scenario.segments();
    let verdicts = expect::check(&scenario, &[], &[]);
    assert_eq!(verdicts.len(), scenario.expect.len());
    let printed = toml::to_string(&scenario).expect("a parsed scenario prints");
    let again = Scenario::parse(&printed).expect("a printed scenario parses");
    assert_eq!(again, scenario, "{printed}");
    true
}

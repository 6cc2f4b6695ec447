//! Feeds arbitrary text to the scenario parser (see `scenario_check.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "scenario_check.rs"]
mod scenario_check;

fuzz_target!(|data: &[u8]| {
    scenario_check::exercise(&String::from_utf8_lossy(data));
});

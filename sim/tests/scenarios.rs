//! Every scenario in `scenarios/` runs in the simulator, meets its
//! expectations, and prints the timeline its reviewed snapshot holds
//! (`scenarios/snapshots/`).

use std::path::{Path, PathBuf};
use vigil_core::scenario::Scenario;
use vigil_sim::{Options, Report};

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn run(path: &Path, seed: Option<u64>) -> Report {
    let text = std::fs::read_to_string(path).expect("readable scenario");
    let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    vigil_sim::run(
        &scenario,
        &Options {
            seed,
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_scenario_meets_its_expectations_and_matches_its_snapshot() {
    let files = scenario_files();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name")
            .to_string();
        let report = run(path, None);
        if report.judged.failed > 0 {
            failures.push(format!("{name}:\n{}", report.judged.render()));
        }
        insta::with_settings!({
            snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, report.judged.render());
        });
    }
    assert!(
        failures.is_empty(),
        "failed expectations:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_same_file_and_seed_give_the_same_bytes() {
    for path in scenario_files() {
        assert_eq!(
            run(&path, Some(3)).judged.render(),
            run(&path, Some(3)).judged.render(),
            "{}",
            path.display()
        );
    }
}

//! Replays the cargo-fuzz corpus of the scenario parser
//! (`fuzz/corpus/scenario/`) as an ordinary test, doing what the fuzz target
//! does with each input.

use std::path::PathBuf;

#[path = "../../fuzz/fuzz_targets/scenario_check.rs"]
mod scenario_check;

#[test]
fn every_corpus_input_replays_without_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/scenario");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable directory entry").path())
        .collect();
    entries.sort();
    let mut parsed = 0;
    for path in &entries {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ok = scenario_check::exercise(&String::from_utf8_lossy(&data));
        let seed = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("seed-"));
        assert!(
            !seed || ok,
            "{}: the library's scenarios parse",
            path.display()
        );
        parsed += usize::from(ok);
    }
    assert!(parsed >= 20, "only {parsed} corpus inputs parse");
}

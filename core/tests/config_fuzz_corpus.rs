//! Replays the cargo-fuzz corpus of the config parser (`fuzz/corpus/config/`)
//! as an ordinary test, so CI checks what the fuzzer found without a nightly
//! toolchain. Does what `fuzz/fuzz_targets/config.rs` does with each input.

use std::path::PathBuf;

use vigil_core::config::{DiagKind, MemoryLoader, Options, parse_str, parse_with, print::print};

/// Parse, check every diagnostic's place, print, parse again.
fn replay(name: &str, data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let loader = MemoryLoader::new()
        .with("/etc/keepalived/keepalived.conf", text.as_ref())
        .with("/etc/keepalived/conf.d/a.conf", text.as_ref());
    let opts = Options {
        config_id: Some("n1".into()),
        interfaces: Some(vec!["eth0".into(), "lo".into()]),
        random_seed: 1,
    };
    let parsed = parse_with("/etc/keepalived/keepalived.conf", &loader, &opts);
    for d in &parsed.diagnostics {
        assert!(parsed.files.contains(&d.file), "{name}: {d}");
        assert!(d.line > 0 || d.kind == DiagKind::FileRead, "{name}: {d}");
    }
    let _ = parse_str(&print(&parsed.model));
    parsed.model.instances.len() + parsed.model.virtual_servers.len()
}

#[test]
fn every_corpus_input_replays_without_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/config");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut seeds_with_content = 0;
    for path in &entries {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let built = replay(&name, &data);
        if name.starts_with("seed-seed") {
            assert!(built > 0, "seed {name} no longer builds anything");
            seeds_with_content += 1;
        }
    }
    assert!(
        (30..=100).contains(&entries.len()),
        "corpus has {} inputs",
        entries.len()
    );
    assert_eq!(
        seeds_with_content, 10,
        "the seed fixtures are in the corpus"
    );
}

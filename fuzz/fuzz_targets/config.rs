//! Feeds arbitrary text to the keepalived.conf parser, then prints the model
//! and parses that again. Nothing may panic, and every diagnostic must point
//! at a line of a file that was read.
//!
//! `core/tests/config_fuzz_corpus.rs` replays `fuzz/corpus/config/` the same way.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::config::{MemoryLoader, Options, parse_with, print::print};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The same text is also an include target, so `include` lines and
    // nesting limits are reached.
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
        assert!(parsed.files.contains(&d.file), "{d}");
        assert!(d.line > 0 || d.kind == vigil_core::config::DiagKind::FileRead, "{d}");
    }
    let printed = print(&parsed.model);
    let _ = vigil_core::config::parse_str(&printed);
});

//! What the parser makes of every fixture, as insta snapshots: each seed
//! fixture's model (YAML) and diagnostics, and the diagnostics of one broken
//! config per [`DiagKind`] (`tests/fixtures/bad/KIND.conf`).
//!
//! Diagnostics are rendered as `vigil check` prints them, so a snapshot shows
//! exactly what a user reads. Review changes with `cargo insta review` (or
//! `INSTA_UPDATE=new` and the `.snap.new` files).

use std::path::{Path, PathBuf};

use vigil_core::config::{DiagKind, MemoryLoader, Options, Parsed, Severity, parse_with};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The `.conf` files of a directory, sorted, as (stem, text).
fn confs(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .map(|p| {
            let stem = p
                .file_stem()
                .map_or(String::new(), |s| s.to_string_lossy().into_owned());
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (stem, text)
        })
        .collect();
    out.sort();
    out
}

/// Diagnostics and the summary line, as `vigil check` prints them.
fn render(p: &Parsed) -> String {
    let mut out = String::new();
    for d in &p.diagnostics {
        out.push_str(&format!("{d}\n"));
    }
    let count = |s| p.diagnostics.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    out.push_str(&plural(count(Severity::Error), "error"));
    out.push_str(", ");
    out.push_str(&plural(count(Severity::Warning), "warning"));
    let notes = count(Severity::Note);
    if notes > 0 {
        out.push_str(", ");
        out.push_str(&plural(notes, "note"));
    }
    out.push('\n');
    out
}

fn parse_one(path: &str, text: &str, opts: &Options) -> Parsed {
    let loader = MemoryLoader::new().with(path, text);
    parse_with(path, &loader, opts)
}

#[test]
fn seed_fixtures() {
    let all = confs(&fixtures());
    assert_eq!(all.len(), 10);
    for (stem, text) in all {
        let p = parse_one(&format!("{stem}.conf"), &text, &Options::default());
        insta::assert_yaml_snapshot!(format!("{stem}.model"), p.model);
        insta::assert_snapshot!(format!("{stem}.diagnostics"), render(&p));
    }
}

/// Every kind of diagnostic, by its stable name (`--json`'s `kind`).
const KINDS: &[DiagKind] = &[
    DiagKind::FileRead,
    DiagKind::Include,
    DiagKind::UnmatchedQuote,
    DiagKind::ExtraCloseBrace,
    DiagKind::MissingCloseBrace,
    DiagKind::UnexpectedBlock,
    DiagKind::MissingBlock,
    DiagKind::UnknownKeyword,
    DiagKind::ExtraWords,
    DiagKind::MissingParameter,
    DiagKind::InvalidNumber,
    DiagKind::InvalidValue,
    DiagKind::InvalidAddress,
    DiagKind::UndefinedReference,
    DiagKind::Duplicate,
    DiagKind::DuplicateVrid,
    DiagKind::MissingSetting,
    DiagKind::Conflict,
    DiagKind::UnknownInterface,
    DiagKind::Adjusted,
    DiagKind::Script,
    DiagKind::Deprecated,
    DiagKind::Definition,
    DiagKind::Unsupported,
];

fn kind_name(k: DiagKind) -> String {
    match serde_json::to_value(k) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("{k:?} serialises as {other:?}"),
    }
}

#[test]
fn one_bad_config_per_kind() {
    let bad = confs(&fixtures().join("bad"));
    let names: Vec<&str> = bad.iter().map(|(s, _)| s.as_str()).collect();
    for k in KINDS {
        let n = kind_name(*k);
        // The main file itself missing is the one FileRead there is;
        // nothing vigil reads is unsupported today (`~LST` was the last).
        assert!(
            matches!(k, DiagKind::FileRead | DiagKind::Unsupported) || names.contains(&n.as_str()),
            "no bad/{n}.conf"
        );
    }
    for (stem, text) in &bad {
        let opts = Options {
            // As `vigil check --host-interfaces` on a host with these.
            interfaces: (stem == "unknown_interface").then(|| vec!["eth0".into(), "lo".into()]),
            ..Options::default()
        };
        let p = parse_one(&format!("bad/{stem}.conf"), text, &opts);
        let kinds: Vec<String> = p.diagnostics.iter().map(|d| kind_name(d.kind)).collect();
        assert!(kinds.contains(stem), "bad/{stem}.conf gives {kinds:?}");
        insta::assert_snapshot!(format!("bad_{stem}"), render(&p));
    }
    let p = parse_with(
        "/etc/keepalived/keepalived.conf",
        &MemoryLoader::new(),
        &Options::default(),
    );
    assert!(p.unreadable());
    insta::assert_snapshot!("bad_file_read", render(&p));
}

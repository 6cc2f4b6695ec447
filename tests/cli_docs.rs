//! `docs/cli.md` is the `--help` of every command, generated from clap by
//! this test so it cannot drift: the test fails when the file differs from
//! what the binary says, and `VIGIL_BLESS=1 cargo test --test cli_docs`
//! writes it anew.

use std::path::Path;
use std::process::Command;

/// `vigil ARGS… --help`, as a user sees it.
fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .expect("vigil --help");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The subcommands a help text lists under `Commands:`, but `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Every command's help, depth first, each under its own heading.
fn reference() -> String {
    let mut doc = String::from(
        "# Command-line reference\n\n\
         Generated from the binary's `--help` by `tests/cli_docs.rs`\n\
         (`VIGIL_BLESS=1 cargo test --test cli_docs` rewrites it); do not edit by hand.\n",
    );
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        let name = std::iter::once("vigil")
            .chain(args.iter().copied())
            .collect::<Vec<_>>();
        doc.push_str(&format!(
            "\n## `{}`\n\n```text\n{}```\n",
            name.join(" "),
            text
        ));
        for sub in subcommands(&text).into_iter().rev() {
            let mut next = path.clone();
            next.push(sub);
            todo.push(next);
        }
    }
    doc
}

#[test]
fn docs_cli_md_is_the_binarys_help() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let now = reference();
    if std::env::var_os("VIGIL_BLESS").is_some() {
        std::fs::write(&path, &now).expect("write docs/cli.md");
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == now,
        "docs/cli.md is not what `vigil … --help` prints; run \
         `VIGIL_BLESS=1 cargo test --test cli_docs` and review the diff"
    );
}

/// The first scenario of docs/scenarios.md runs and passes as printed there.
#[test]
fn the_scenario_guides_example_passes() {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenarios.md"))
            .expect("docs/scenarios.md");
    let example = guide
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("first.toml");
    std::fs::write(&file, example).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("sim")
        .arg(&file)
        .output()
        .expect("vigil sim");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.ends_with("expectations: 3 passed, 0 failed\n"),
        "{text}"
    );
}

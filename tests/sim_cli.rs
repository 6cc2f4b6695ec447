//! `vigil sim` as a user runs it: the built binary on scenario files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
        .expect("vigil runs")
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_scenario_prints_its_timeline_and_passes() {
    let file = scenario("master-crash.toml");
    let out = vigil(&["sim", file.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains(" 13023.437 lb2      VI_1 BACKUP -> MASTER (master down timer expired)"),
        "{t}"
    );
    assert_eq!(t.lines().last(), Some("expectations: 6 passed, 0 failed"));
}

#[test]
fn json_lines_parse_and_end_with_the_summary() {
    let file = scenario("master-crash.toml");
    let out = vigil(&["sim", "--json", file.to_str().unwrap()]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = t
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.last().unwrap()["expectations"]["failed"], 0);
    assert!(lines.iter().any(|l| l["what"]["event"] == "state"), "{t}");
}

#[test]
fn a_failed_expectation_exits_1_and_a_bad_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("failing.toml");
    let text_in = std::fs::read_to_string(scenario("master-crash.toml")).unwrap();
    std::fs::write(
        &failing,
        text_in.replace(
            "node = \"lb2\" }\n\n[[expect]]\nat = \"15s\"",
            "node = \"lb1\" }\n\n[[expect]]\nat = \"15s\"",
        ),
    )
    .unwrap();
    let out = vigil(&["sim", failing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("FAILED"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\nduration = \"1s\"\nbogus = 1\n").unwrap();
    let out = vigil(&["sim", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));
    let out = vigil(&["sim", dir.path().join("missing.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn explore_finds_the_planted_bug_and_writes_a_reproducer() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("found.toml");
    let file = scenario("master-crash.toml");
    let out = vigil(&[
        "sim",
        "--explore",
        "20",
        "--plant",
        "ignore-adverts-after-heal",
        "--out",
        out_file.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("VIOLATION"), "{t}");
    let written = std::fs::read_to_string(&out_file).expect("the reproducer was written");
    let again = vigil(&[
        "sim",
        "--plant",
        "ignore-adverts-after-heal",
        out_file.to_str().unwrap(),
    ]);
    assert!(
        text(&again).contains("VIOLATION"),
        "{written}\n{}",
        text(&again)
    );
}

#[test]
fn svg_draws_a_lane_per_instance_address_and_client() {
    let file = scenario("master-crash.toml");
    let dir = tempfile::tempdir().expect("temp dir");
    let svg = dir.path().join("run.svg");
    let out = vigil(&[
        "sim",
        "--svg",
        svg.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        text(&out).lines().last(),
        Some("expectations: 6 passed, 0 failed")
    );
    let svg = std::fs::read_to_string(&svg).expect("the SVG");
    assert!(svg.starts_with("<svg "), "{svg}");
    for lane in [
        "lb1 VI_1",
        "lb2 VI_1",
        "10.0.0.100",
        "c1 → 10.0.0.100",
        "lb1 crash",
    ] {
        assert!(svg.contains(&format!(">{lane}</text>")), "{lane}:\n{svg}");
    }
}

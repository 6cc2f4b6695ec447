//! `vigil check` as a user runs it: the built binary on the seed fixtures and
//! on broken configs (exit codes, positions, `--strict`, `--json`, includes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("core/tests/fixtures")
        .join(name)
}

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("check")
        .args(args)
        .output()
        .expect("vigil runs")
}

fn check(path: &Path, extra: &[&str]) -> Output {
    let p = path.to_string_lossy();
    let mut args = vec!["-f", p.as_ref()];
    args.extend_from_slice(extra);
    vigil(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or_default()
}

/// A config in a fresh directory; the directory lives as long as the guard.
fn write_conf(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keepalived.conf");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

const GOOD: &str = "vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.1/24
    }
}
";

#[test]
fn seed_fixtures_pass_except_the_template() {
    for (name, status, summary) in [
        ("seed001_master.conf", 0, "0 errors, 2 warnings"),
        ("seed001_backup.conf", 0, "0 errors, 1 warning"),
        ("seed002_script.conf", 0, "0 errors, 1 warning"),
        ("seed002_sections.conf", 1, "13 errors, 13 warnings"),
        (
            "seed002_sections_concrete.conf",
            0,
            "0 errors, 11 warnings, 2 notes",
        ),
        ("seed003_annotated.conf", 0, "0 errors, 0 warnings"),
        ("seed003_h1.conf", 0, "0 errors, 0 warnings"),
        ("seed003_h2.conf", 0, "0 errors, 0 warnings"),
        ("seed003_host.conf", 0, "0 errors, 0 warnings"),
        ("seed004_director.conf", 0, "0 errors, 7 warnings, 3 notes"),
    ] {
        let out = check(&fixture(name), &[]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(status), "{name}: {text}");
        assert_eq!(last_line(&text), summary, "{name}: {text}");
    }
}

#[test]
fn diagnostics_name_file_line_and_column_with_text_and_hint() {
    let path = fixture("seed002_sections.conf");
    let out = check(&path, &[]);
    let text = stdout(&out);
    let want = format!(
        "{}:50:9: warning: Unknown keyword 'autp_pass'\n    | autp_pass 1234\n    = hint: did you mean 'auth_pass'?\n",
        path.display()
    );
    assert!(text.contains(&want), "{text}");
}

#[test]
fn an_error_exits_1_and_points_at_the_value() {
    let (_dir, path) = write_conf(&GOOD.replace("virtual_router_id 51", "virtual_router_id 300"));
    let out = check(&path, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let want = format!(
        "{}:4:23: error: virtual_router_id: number '300' outside range [1, 255]",
        path.display()
    );
    assert!(text.lines().any(|l| l == want), "{text}");
    assert!(text.contains("    | 300\n"), "{text}");
    assert_eq!(last_line(&text), "2 errors, 0 warnings");
}

#[test]
fn unbalanced_braces_are_an_error_at_the_brace() {
    let (_dir, path) = write_conf(&format!("{GOOD}}}\n"));
    let out = check(&path, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with(&format!("{}:10:1: error:", path.display())),
        "{text}"
    );
}

#[test]
fn strict_turns_warnings_into_errors() {
    let conf = GOOD.replace("priority 100", "priority 100\n    autp_pass 1234");
    let (_dir, path) = write_conf(&conf);
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(last_line(&stdout(&out)), "0 errors, 1 warning");
    let out = check(&path, &["--strict"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{}:6:5: error: Unknown keyword 'autp_pass'",
            path.display()
        )),
        "{text}"
    );
    assert_eq!(last_line(&text), "1 error, 0 warnings");
    // A clean config stays clean under --strict.
    let (_dir, good) = write_conf(GOOD);
    assert_eq!(check(&good, &["--strict"]).status.code(), Some(0));
}

#[test]
fn json_prints_the_model_and_keeps_diagnostics_off_stdout() {
    let out = check(&fixture("seed001_master.conf"), &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let model: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(model["instances"][0]["priority"], 100);
    assert_eq!(model["instances"][0]["state"], "MASTER");
    assert_eq!(model["global"]["router_id"], "master");
    assert_eq!(last_line(&stderr(&out)), "0 errors, 2 warnings");
    // Errors still set the status.
    let out = check(&fixture("seed002_sections.conf"), &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok());
}

#[test]
fn an_unreadable_file_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing.conf");
    let out = check(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert_eq!(
        err,
        format!(
            "vigil: Unable to find configuration file {}\n",
            path.display()
        )
    );
    // A directory is not a config either.
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn includes_go_through_the_filesystem_with_globs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir(d.join("conf.d")).expect("mkdir");
    std::fs::write(
        d.join("keepalived.conf"),
        "global_defs {\n    router_id lb1\n}\ninclude conf.d/*.conf\n",
    )
    .expect("write");
    std::fs::write(d.join("conf.d/10-vi1.conf"), GOOD).expect("write");
    std::fs::write(
        d.join("conf.d/20-vi2.conf"),
        GOOD.replace("VI_1", "VI_2")
            .replace("virtual_router_id 51", "virtual_router_id 52")
            .replace("priority 100", "priority 0"),
    )
    .expect("write");
    std::fs::write(d.join("conf.d/ignored.txt"), "garbage {").expect("write");
    let out = check(&d.join("keepalived.conf"), &["--json"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // The error is in the second included file, at its own line and column.
    let want = format!(
        "{}:5:14: error: priority: number '0' outside range [1, 255]",
        d.join("conf.d/20-vi2.conf").display()
    );
    assert!(err.lines().any(|l| l == want), "{err}");
    let model: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = model["instances"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["VI_1", "VI_2"]);
}

#[test]
fn config_id_selects_lines() {
    let conf = GOOD.replace(
        "    priority 100\n",
        "@lb1 priority 150\n@^lb1 priority 50\n",
    );
    let (_dir, path) = write_conf(&conf);
    let prio = |extra: &[&str]| {
        let out = check(&path, &[&["--json"], extra].concat());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        v["instances"][0]["priority"].as_u64()
    };
    assert_eq!(prio(&["--config-id", "lb1"]), Some(150));
    assert_eq!(prio(&[]), Some(50));
    assert_eq!(prio(&["-i", "lb2"]), Some(50));
}

#[test]
fn host_interfaces_only_when_asked() {
    let conf = GOOD.replace("interface eth0", "interface vigil-nosuch0");
    let (_dir, path) = write_conf(&conf);
    let out = check(&path, &[]);
    assert_eq!(last_line(&stdout(&out)), "0 errors, 0 warnings");
    if !Path::new("/sys/class/net").is_dir() {
        println!("SKIPPED: no /sys/class/net on this host");
        return;
    }
    let out = check(&path, &["--host-interfaces"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "warning: WARNING - interface vigil-nosuch0 for vrrp_instance VI_1 doesn't exist"
        ),
        "{text}"
    );
    assert_eq!(
        check(&path, &["--host-interfaces", "--strict"])
            .status
            .code(),
        Some(1)
    );
}

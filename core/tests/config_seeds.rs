//! Every keepalived.conf in the seed articles (`tests/fixtures/seeds/`), as a
//! fixture. A fixture may only differ from the article by whitespace (the
//! pages lost line breaks and spaces): each chunk between `#%` lines, with
//! whitespace removed, must appear in the article with whitespace removed.
//! Fixtures named `*_concrete.conf` are templates filled in, and must have
//! no errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vigil_core::config::model::CheckerKind;
use vigil_core::config::model::lvs::{LvsMethod, Scheduler};
use vigil_core::config::model::vrrp::VrrpState;
use vigil_core::config::{MemoryLoader, Parsed, parse};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn load(name: &str) -> (String, Parsed) {
    let text = std::fs::read_to_string(dir().join(name)).unwrap_or_default();
    let loader = MemoryLoader::new().with(name, text.clone());
    let p = parse(name, &loader, None);
    (text, p)
}

/// The fixture's chunks (split at `#%` lines), whitespace removed.
fn chunks(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for line in text.lines() {
        if line.trim_start().starts_with("#%") {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push_str(line);
        }
    }
    out.into_iter()
        .map(|c| squeeze(&c))
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn fixtures_differ_from_the_seeds_only_by_whitespace() {
    let seeds = dir().join("seeds");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir()).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".conf") || name.contains("_concrete") {
            continue;
        }
        let number = &name[4..7];
        let seed = std::fs::read_dir(&seeds)
            .into_iter()
            .flatten()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(number))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .unwrap_or_default();
        let seed = squeeze(&seed);
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for c in chunks(&text) {
            assert!(seed.contains(&c), "{name}: chunk not in seed {number}: {c}");
        }
        checked += 1;
    }
    assert_eq!(checked, 9);
}

/// (errors, warnings) of a fixture.
fn counts(p: &Parsed) -> (usize, usize) {
    (p.errors().count(), p.warnings().count())
}

#[test]
fn seed001_master_and_backup() {
    let (_, m) = load("seed001_master.conf");
    assert_eq!(counts(&m), (0, 2), "{:#?}", m.diagnostics);
    let i = &m.model.instances[0];
    assert_eq!(
        (i.state, i.priority, i.virtual_router_id),
        (VrrpState::Master, 100, 254)
    );
    // nopreempt with state MASTER: keepalived clears it, with a warning.
    assert!(!i.nopreempt);
    let w: Vec<_> = m.warnings().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        w[1],
        (
            13,
            "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing"
        )
    );
    assert_eq!(i.track_script[0].name, "chk_nginx_port");
    assert_eq!(i.virtual_ipaddress[0].label.as_deref(), Some("eth0:0"));
    assert_eq!(m.model.vrrp_scripts[0].interval, Duration::from_secs(3));
    assert_eq!(m.model.global.router_id.as_deref(), Some("master"));

    let (_, b) = load("seed001_backup.conf");
    assert_eq!(counts(&b), (0, 1), "{:#?}", b.diagnostics);
    let i = &b.model.instances[0];
    assert_eq!(
        (i.state, i.priority, i.nopreempt),
        (VrrpState::Backup, 99, true)
    );
}

#[test]
fn seed002_sections_template() {
    let (_, p) = load("seed002_sections.conf");
    assert_eq!(counts(&p), (13, 13), "{:#?}", p.diagnostics);
    let typos: Vec<_> = p
        .diagnostics
        .iter()
        .filter(|d| d.message.starts_with("Unknown keyword"))
        .map(|d| (d.message.as_str(), d.hint.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        typos,
        vec![
            (
                "Unknown keyword 'stmp_connect_timeout'",
                "did you mean 'smtp_connect_timeout'?"
            ),
            ("Unknown keyword 'autp_pass'", "did you mean 'auth_pass'?"),
            (
                "Unknown keyword 'preemtp_delay'",
                "did you mean 'preempt_delay'?"
            ),
            (
                "Unknown keyword 'nat_mask'",
                "keepalived 2.x has no nat_mask: delete the line"
            ),
            (
                "Unknown keyword 'persistent_timeout'",
                "did you mean 'persistence_timeout'?"
            ),
            (
                "Unknown keyword 'persistent_granularity'",
                "did you mean 'persistence_granularity'?"
            ),
        ]
    );
    let i = &p.model.instances[0];
    assert_eq!(
        (i.name.as_str(), i.virtual_router_id, i.priority),
        ("http", 51, 100)
    );
    assert!(
        i.authentication.is_none(),
        "autp_pass is a typo: no password"
    );
    assert_eq!(i.virtual_routes.len(), 4);
}

#[test]
fn seed002_sections_concrete_has_no_errors() {
    let (_, p) = load("seed002_sections_concrete.conf");
    let errors: Vec<_> = p.errors().collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(counts(&p), (0, 11), "{:#?}", p.diagnostics);
    assert_eq!(p.model.sync_groups[0].group, vec!["http", "mysql"]);
    assert_eq!(p.model.static_routes.len(), 2);
    let vs = &p.model.virtual_servers[0];
    assert_eq!(
        (vs.lb_algo, vs.lb_kind, vs.persistence_timeout),
        (Scheduler::Wrr, LvsMethod::Dr, 360)
    );
    let kinds: Vec<_> = vs.real_servers[0]
        .checkers
        .iter()
        .map(|c| c.kind.name())
        .collect();
    assert_eq!(
        kinds,
        vec!["HTTP_GET", "TCP_CHECK", "SMTP_CHECK", "MISC_CHECK"]
    );
    let http = &vs.real_servers[0].checkers[0];
    assert_eq!(
        (http.retry, http.delay_before_retry),
        (3, Duration::from_secs(3))
    );
}

#[test]
fn seed002_script() {
    let (_, p) = load("seed002_script.conf");
    assert_eq!(counts(&p), (0, 1), "{:#?}", p.diagnostics);
    let s = &p.model.vrrp_scripts[0];
    assert_eq!(
        (s.interval, s.weight, s.fall, s.rise),
        (Duration::from_secs(10), 10, 2, 1)
    );
    let i = &p.model.instances[0];
    assert_eq!((i.advert_int_cs, i.smtp_alert), (300, true));
    assert_eq!(i.track_script[0].weight, Some(20));
}

#[test]
fn seed003_configs() {
    for (name, prio) in [
        ("seed003_annotated.conf", 100),
        ("seed003_h1.conf", 101),
        ("seed003_h2.conf", 100),
    ] {
        let (_, p) = load(name);
        assert_eq!(counts(&p), (0, 0), "{name}: {:#?}", p.diagnostics);
        let i = &p.model.instances[0];
        assert_eq!((i.priority, i.state), (prio, VrrpState::Master), "{name}");
        assert_eq!(i.virtual_ipaddress[0].addr.to_string(), "172.18.0.201");
        assert_eq!(
            i.authentication.as_ref().map(|a| a.auth_pass.as_str()),
            Some("123456")
        );
    }
    let (_, p) = load("seed003_host.conf");
    assert_eq!(counts(&p), (0, 0), "{:#?}", p.diagnostics);
    let ports: Vec<u16> = p
        .model
        .virtual_servers
        .iter()
        .map(|v| v.real_servers[0].port)
        .collect();
    assert_eq!(ports, vec![8888, 3306]);
    assert_eq!(p.model.virtual_servers[0].persistence_timeout, 50);
}

#[test]
fn seed004_director() {
    let (_, p) = load("seed004_director.conf");
    assert_eq!(counts(&p), (0, 7), "{:#?}", p.diagnostics);
    let script = &p.model.vrrp_scripts[0];
    // Written for keepalived 1.2.7's shell: under 2.x `[` gets `&&` as an argument.
    assert_eq!(
        script.script.as_ref().map(|s| s.args[0].as_str()),
        Some("[")
    );
    assert_eq!(script.weight, -5);
    assert_eq!(
        script.interval,
        Duration::from_secs(1),
        "`inerval` is a typo: default 1 s"
    );
    let shell = p
        .diagnostics
        .iter()
        .find(|d| d.kind == vigil_core::config::DiagKind::Script && d.line == 16);
    assert!(shell.is_some_and(|d| {
        d.hint
            .as_deref()
            .unwrap_or("")
            .starts_with("run it through a shell: \"/bin/sh -c '")
    }));
    let i = &p.model.instances[0];
    assert_eq!(
        i.authentication.as_ref().map(|a| a.auth_pass.as_str()),
        Some("keepaliv")
    );
    assert_eq!(i.virtual_ipaddress[0].prefix, 16);
    let vs = &p.model.virtual_servers[0];
    assert_eq!(
        vs.real_servers.len(),
        2,
        "the duplicated real server is removed"
    );
    assert!(vs.sorry_server.is_none(), "sorry_service is a typo");
    let http = &vs.real_servers[0].checkers[0];
    assert!(matches!(http.kind, CheckerKind::HttpGet(_)));
    assert_eq!(
        (http.retry, http.connect_timeout),
        (3, Duration::from_secs(3))
    );
}

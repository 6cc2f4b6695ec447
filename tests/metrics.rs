//! `vigil run --metrics-listen`: the built binary in the nodes of a lab,
//! scraped over TCP from inside a node's namespace as Prometheus would,
//! and the exposition checked by value (and by `promtool check metrics`
//! where the `prometheus` package is installed). Without root they print
//! `SKIPPED:`.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Vigil, holds, lab, spawn_in_node, vrrp_conf_with, within};
use vigil_netns::lab::Lab;

const VIP: &str = "10.77.0.100";
const LISTEN: &str = "127.0.0.1:9650";

/// One HTTP/1.1 request to the metrics endpoint of node `node`, from
/// inside its namespace: the status line and the body.
fn request(lab: &Lab, node: usize, line: &str) -> (String, String) {
    let line = line.to_string();
    spawn_in_node(lab, node, move || {
        let mut s = TcpStream::connect(LISTEN).expect("connect to the metrics endpoint");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        write!(s, "{line}\r\nHost: {LISTEN}\r\nAccept: text/plain\r\n\r\n").expect("send");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("read the answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
        (
            head.lines().next().unwrap_or_default().to_string(),
            body.to_string(),
        )
    })
    .join()
    .expect("the scrape")
}

fn scrape(lab: &Lab, node: usize) -> String {
    let (status, body) = request(lab, node, "GET /metrics HTTP/1.1");
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    body
}

/// The value of the series written exactly as `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a number"))
}

/// `promtool check metrics` on `text`, where promtool is installed.
fn promtool(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("SKIPPED: the promtool check: promtool is not installed (Debian: prometheus)");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "{said}\n{text}"
    );
}

#[test]
fn a_scrape_shows_states_priorities_transitions_adverts_checks_and_scripts() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    // A real server that accepts (the listener's backlog answers TCP_CHECK)
    // and one where nothing listens, both in node 1.
    let _listener: TcpListener = spawn_in_node(&lab, 1, || {
        TcpListener::bind("127.0.0.1:8080").expect("bind the real server")
    })
    .join()
    .expect("the real server");
    let before = "vrrp_script chk {\n    script /bin/true\n    interval 1\n    weight 10\n}";
    let inside = "track_script {\n        chk\n    }
    notify_backup /bin/false
    notify_master /bin/true";
    let lvs = "
virtual_server 10.77.0.100 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 8080 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 127.0.0.1 8081 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
";
    let conf = vrrp_conf_with(150, VIP, "0.5", before, inside) + lvs;
    let listen = ["--metrics-listen", LISTEN];
    let a = Vigil::start(&lab, 1, dir.path(), &conf, &listen);
    let b = Vigil::start(
        &lab,
        2,
        dir.path(),
        &vrrp_conf_with(100, VIP, "0.5", "", ""),
        &listen,
    );
    assert!(
        within(Duration::from_secs(4), || holds(&lab, 1, VIP)).is_some(),
        "{}",
        a.log()
    );
    // One check interval for the verdicts, and a few adverts.
    std::thread::sleep(Duration::from_millis(1500));
    let text = scrape(&lab, 1);
    let vi = r#"instance="VI_1""#;
    let want = [
        (
            format!(r#"vigil_vrrp_instance_state{{{vi},state="MASTER"}}"#),
            1.0,
        ),
        (
            format!(r#"vigil_vrrp_instance_state{{{vi},state="BACKUP"}}"#),
            0.0,
        ),
        (format!("vigil_vrrp_instance_base_priority{{{vi}}}"), 150.0),
        // The script succeeds: weight 10 is added.
        (format!("vigil_vrrp_instance_priority{{{vi}}}"), 160.0),
        (
            format!(r#"vigil_vrrp_transitions_total{{{vi},to="BACKUP",cause="startup"}}"#),
            1.0,
        ),
        (
            format!(r#"vigil_vrrp_transitions_total{{{vi},to="MASTER",cause="master_down"}}"#),
            1.0,
        ),
        // notify_backup failed at startup, notify_master ran.
        ("vigil_notify_script_runs_total".into(), 2.0),
        ("vigil_notify_script_failures_total".into(), 1.0),
        (
            r#"vigil_lvs_virtual_server_quorum_up{virtual_server="[10.77.0.100]:tcp:80"}"#.into(),
            1.0,
        ),
    ];
    for (series, v) in &want {
        assert_eq!(value(&text, series), Some(*v), "{series} in:\n{text}");
    }
    let rs = |port: u16| {
        format!(r#"virtual_server="[10.77.0.100]:tcp:80",real_server="127.0.0.1:{port}""#)
    };
    for (port, up, weight) in [(8080, 1.0, 3.0), (8081, 0.0, 2.0)] {
        let labels = rs(port);
        let up_series = format!("vigil_lvs_real_server_up{{{labels}}}");
        assert_eq!(value(&text, &up_series), Some(up), "{text}");
        let check = format!(r#"vigil_lvs_check_up{{{labels},check="TCP_CHECK"}}"#);
        assert_eq!(value(&text, &check), Some(up), "{text}");
        let w = format!("vigil_lvs_real_server_weight{{{labels}}}");
        assert_eq!(value(&text, &w), Some(weight), "{text}");
    }
    // The host's kernel has no IPVS: no kernel counters are made up.
    if !vigil_netns::vm::host_has_ipvs() {
        assert!(!text.contains("vigil_ipvs_"), "{text}");
    }
    let sent = format!("vigil_vrrp_adverts_sent_total{{{vi}}}");
    assert!(value(&text, &sent).is_some_and(|n| n >= 2.0), "{text}");
    assert!(
        text.contains("# TYPE vigil_vrrp_adverts_sent_total counter\n"),
        "{text}"
    );
    promtool(&text);

    let backup = scrape(&lab, 2);
    let state = format!(r#"vigil_vrrp_instance_state{{{vi},state="BACKUP"}}"#);
    assert_eq!(value(&backup, &state), Some(1.0), "{backup}");
    let received = format!("vigil_vrrp_adverts_received_total{{{vi}}}");
    assert!(
        value(&backup, &received).is_some_and(|n| n >= 2.0),
        "{backup}"
    );
    assert!(!backup.contains("vigil_lvs_"), "{backup}");
    promtool(&backup);

    // Counters only grow between scrapes.
    std::thread::sleep(Duration::from_millis(600));
    let later = scrape(&lab, 1);
    assert!(value(&later, &sent) > value(&text, &sent), "{later}");

    let (status, _) = request(&lab, 1, "GET / HTTP/1.1");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, _) = request(&lab, 1, "POST /metrics HTTP/1.1");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    let (status, body) = request(&lab, 1, "HEAD /metrics HTTP/1.1");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", ""));
    assert!(
        b.log()
            .contains("Serving metrics on http://127.0.0.1:9650/metrics")
    );
}

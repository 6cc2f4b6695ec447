//! LVS side of the config: virtual servers, real servers and checkers, with
//! keepalived 2.2.7's defaults and messages.

use std::time::Duration;
use vigil_core::config::model::CheckerKind;
use vigil_core::config::model::lvs::{LvsMethod, Protocol, Scheduler, VsKey, VsgEntry};
use vigil_core::config::{DiagKind, Severity, parse_str};

fn vs(body: &str) -> String {
    format!("virtual_server 10.0.0.1 80 {{\n lb_algo rr\n lb_kind DR\n protocol TCP\n{body}}}\n")
}

#[test]
fn defaults_and_inheritance() {
    let p = parse_str(&vs(
        " real_server 10.0.1.1 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n  TCP_CHECK {\n   connect_timeout 2\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n  DNS_CHECK {\n  }\n }\n",
    ));
    let errs: Vec<_> = p.errors().collect();
    assert!(errs.is_empty(), "{errs:?}");
    let v = &p.model.virtual_servers[0];
    assert_eq!(v.delay_loop, Duration::from_secs(60));
    assert_eq!(
        (v.lb_algo, v.lb_kind, v.protocol),
        (Scheduler::Rr, LvsMethod::Dr, Some(Protocol::Tcp))
    );
    assert_eq!(v.quorum, 1);
    let rs = &v.real_servers[0];
    assert_eq!(
        (rs.weight, rs.lvs_method, rs.connect_timeout),
        (1, LvsMethod::Dr, Duration::from_secs(5))
    );
    let c = &rs.checkers;
    // HTTP_GET: retry 1, delay_before_retry 3 s, status 200-299.
    assert_eq!(
        (c[0].retry, c[0].delay_before_retry),
        (1, Duration::from_secs(3))
    );
    let CheckerKind::HttpGet(h) = &c[0].kind else {
        panic!("not HTTP_GET")
    };
    assert_eq!(h.urls[0].status_code, vec![(200, 299)]);
    // TCP_CHECK: its own connect_timeout, retry 1, delay_before_retry 1 s.
    assert_eq!(
        (c[1].connect_timeout, c[1].retry, c[1].delay_before_retry),
        (Duration::from_secs(2), 1, Duration::from_secs(1))
    );
    // MISC_CHECK: retry 0.
    assert_eq!(c[2].retry, 0);
    // DNS_CHECK: retry 3, delay_before_retry = delay_loop, SOA query.
    assert_eq!(
        (c[3].retry, c[3].delay_before_retry),
        (3, Duration::from_secs(60))
    );
    assert_eq!(c[3].warmup, Duration::from_secs(60));
}

#[test]
fn unset_protocol_scheduler_and_method() {
    let p = parse_str("virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n }\n}\n");
    let m: Vec<(Severity, u32, u32, &str)> = p
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.line, d.col, d.message.as_str()))
        .collect();
    assert_eq!(
        m,
        vec![
            (
                Severity::Warning,
                1,
                16,
                "Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP"
            ),
            (
                Severity::Warning,
                1,
                16,
                "Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'"
            ),
            (
                Severity::Warning,
                1,
                16,
                "Virtual server [10.0.0.1]:udp:80: no forwarding method set, setting default NAT"
            ),
        ]
    );
    let v = &p.model.virtual_servers[0];
    assert_eq!(
        (v.lb_algo, v.lb_kind, v.protocol),
        (Scheduler::Wlc, LvsMethod::Nat, Some(Protocol::Udp))
    );
}

#[test]
fn unknown_lb_algo() {
    let p = parse_str(&vs(" lb_algo rr|wrr|lc\n real_server 10.0.1.1 80 {\n }\n"));
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Error, DiagKind::InvalidValue, 5, 10)
    );
    assert_eq!(d.message, "Invalid lvs_scheduler 'rr|wrr|lc' - ignoring");
    assert!(
        d.hint
            .as_deref()
            .unwrap_or("")
            .starts_with("pick one scheduler: rr, wrr")
    );
    let p = parse_str(&vs(" lb_algo wrrr\n real_server 10.0.1.1 80 {\n }\n"));
    assert!(
        p.diagnostics[0]
            .hint
            .as_deref()
            .unwrap_or("")
            .starts_with("did you mean 'wrr'?")
    );
}

#[test]
fn unknown_lb_kind() {
    let p = parse_str(&vs(" lb_kind dr\n real_server 10.0.1.1 80 {\n }\n"));
    let d = &p.diagnostics[0];
    assert_eq!((d.line, d.col), (5, 10));
    assert_eq!(
        d.message,
        "PARSER : unknown [dr] routing method for virtual server."
    );
    assert_eq!(d.hint.as_deref(), Some("write it in capitals: DR"));
}

#[test]
fn invalid_addresses() {
    let p = parse_str(
        "virtual_server <IPADDR> 80 {\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.1.1 99999 {\n }\n}\n",
    );
    let m: Vec<(u32, u32, &str)> = p
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.message.as_str()))
        .collect();
    assert_eq!(
        m,
        vec![
            (
                1,
                16,
                "Invalid virtual server IP address/port <IPADDR>/80 - skipping"
            ),
            (
                3,
                16,
                "Virtual server [10.0.0.1]:tcp:80 has no real servers - ignoring"
            ),
            (
                5,
                23,
                "Invalid real server ip address/port 10.0.1.1/99999 - skipping"
            ),
        ]
    );
}

#[test]
fn dr_real_server_port_must_match() {
    let p = parse_str(&vs(" real_server 10.0.1.1 8080 {\n }\n"));
    let d = &p.diagnostics[0];
    assert_eq!((d.line, d.col), (5, 2));
    assert_eq!(
        d.message,
        "WARNING - virtual server [10.0.0.1]:tcp:80 and real server [10.0.1.1]:tcp:8080 ports don't match - resetting"
    );
    assert_eq!(p.model.virtual_servers[0].real_servers[0].port, 80);
}

#[test]
fn quorum_and_hysteresis() {
    let p = parse_str(&vs(
        " quorum 5\n hysteresis 9\n real_server 10.0.1.1 80 {\n  weight 2\n }\n",
    ));
    let m: Vec<&str> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        m,
        vec![
            "Warning - quorum 5 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 2, reducing quorum to 2",
            "Virtual server [10.0.0.1]:tcp:80: hysteresis 9 >= quorum 2; setting hysteresis to 1",
        ]
    );
}

#[test]
fn http_checker_without_url_and_bad_status() {
    let p = parse_str(&vs(
        " real_server 10.0.1.1 80 {\n  HTTP_GET {\n  }\n  SSL_GET {\n   url {\n    path /\n    status_code 200 700\n    digest abc\n   }\n  }\n }\n",
    ));
    let m: Vec<(u32, u32, &str)> = p
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.message.as_str()))
        .collect();
    assert_eq!(
        m,
        vec![
            (
                6,
                3,
                "HTTP/SSL_GET checker has no urls specified - ignoring"
            ),
            (11, 21, "Invalid HTTP_GET status code '700'"),
            (
                12,
                12,
                "digest 'abc' character length should be 32 rather than 3"
            ),
        ]
    );
    assert_eq!(p.model.virtual_servers[0].real_servers[0].checkers.len(), 1);
}

#[test]
fn checker_keyword_checks_are_per_type() {
    let p = parse_str(&vs(
        " real_server 10.0.1.1 80 {\n  TCP_CHECK {\n   connect_timout 3\n   misc_path /x\n  }\n }\n",
    ));
    let m: Vec<(u32, &str, Option<&str>)> = p
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str(), d.hint.as_deref()))
        .collect();
    assert_eq!(
        m[0],
        (
            7,
            "Unknown keyword 'connect_timout'",
            Some("did you mean 'connect_timeout'?")
        )
    );
    assert_eq!(m[1].1, "Unknown keyword 'misc_path'");
}

#[test]
fn misc_check_needs_a_path() {
    let p = parse_str(&vs(
        " real_server 10.0.1.1 80 {\n  MISC_CHECK {\n   misc_timeout 5\n  }\n }\n",
    ));
    let d = &p.diagnostics[0];
    assert_eq!((d.severity, d.line, d.col), (Severity::Error, 6, 3));
    assert_eq!(
        d.message,
        "No script path has been specified for MISC_CHECKER - skipping"
    );
}

#[test]
fn groups_and_fwmarks() {
    let p = parse_str(
        "virtual_server_group G {\n 10.0.0.1-10 80\n 10.0.1.0/30 443\n fwmark 7\n}\nvirtual_server group G {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.2.1 80 {\n }\n}\nvirtual_server group H {\n}\n",
    );
    let m: Vec<&str> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        m,
        vec!["Virtual server group H not found - ignoring virtual server"]
    );
    let g = &p.model.virtual_server_groups[0];
    assert_eq!(g.entries.len(), 3);
    assert!(
        matches!(&g.entries[0], VsgEntry::Addr { end: Some(e), port: 80, .. } if e.to_string() == "10.0.0.10")
    );
    assert!(
        matches!(&g.entries[1], VsgEntry::Addr { end: Some(e), .. } if e.to_string() == "10.0.1.3")
    );
    assert_eq!(p.model.virtual_servers[0].key, VsKey::Group("G".into()));
}

#[test]
fn sorry_server_and_typo() {
    let p = parse_str(&vs(
        " sorry_service 127.0.0.1:80\n sorry_server 127.0.0.1 80\n sorry_server_inhibit\n real_server 10.0.1.1 80 {\n }\n",
    ));
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.line, d.col, d.message.as_str()),
        (5, 2, "Unknown keyword 'sorry_service'")
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean 'sorry_server'?"));
    let s = p.model.virtual_servers[0].sorry_server.clone().unwrap();
    assert!(s.inhibit);
    assert_eq!(s.lvs_method, Some(LvsMethod::Dr));
}

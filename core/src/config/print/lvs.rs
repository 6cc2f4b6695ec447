//! The LVS side: `virtual_server_group`, `virtual_server`, `real_server`
//! and checkers. Values a real server or checker inherits are written only
//! where they differ from what it would inherit.

use std::time::Duration;

use super::{Out, secs};
use crate::config::model::check::{Checker, CheckerKind, Connection, HttpCheck};
use crate::config::model::lvs::{RealServer, VirtualServer, VsKey, VsgEntry};
use crate::config::model::{Config, GlobalDefs};

pub(super) fn print_lvs(o: &mut Out, cfg: &Config) {
    for g in &cfg.virtual_server_groups {
        o.open(&["virtual_server_group", g.name.as_str()]);
        for e in &g.entries {
            match e {
                VsgEntry::Addr { ip, end, port } => {
                    let mut w = vec![match end {
                        Some(e) => format!("{ip}-{e}"),
                        None => ip.to_string(),
                    }];
                    if *port != 0 {
                        w.push(port.to_string());
                    }
                    o.line(&w);
                }
                VsgEntry::Fwmark { mark, family } => {
                    let mut w = vec!["fwmark".to_string(), mark.to_string()];
                    w.extend(family.clone());
                    o.line(&w);
                }
            }
        }
        o.close();
    }
    for vs in &cfg.virtual_servers {
        virtual_server(o, &cfg.global, vs);
    }
}

fn port_words(ip: impl ToString, port: u16) -> Vec<String> {
    let mut w = vec![ip.to_string()];
    if port != 0 {
        w.push(port.to_string());
    }
    w
}

fn opt_secs(o: &mut Out, key: &str, v: Option<Duration>, inherited: Option<Duration>) {
    if let Some(d) = v
        && v != inherited
    {
        o.kv(key, secs(d));
    }
}

fn virtual_server(o: &mut Out, g: &GlobalDefs, vs: &VirtualServer) {
    let mut head = vec!["virtual_server".to_string()];
    match &vs.key {
        VsKey::Addr { ip, port } => head.extend(port_words(ip, *port)),
        VsKey::Fwmark(m) => head.extend(["fwmark".into(), m.to_string()]),
        VsKey::Group(n) => head.extend(["group".into(), n.clone()]),
    }
    o.open(&head);
    if let Some(f) = &vs.ip_family {
        o.kv("ip_family", f);
    }
    if vs.delay_loop != Duration::from_secs(60) {
        o.kv("delay_loop", secs(vs.delay_loop));
    }
    o.kv("lb_algo", vs.lb_algo.name());
    o.kv("lb_kind", vs.lb_kind.name());
    for f in &vs.sched_flags {
        o.line(&[f]);
    }
    if vs.persistence_timeout != 0 {
        o.kv("persistence_timeout", vs.persistence_timeout);
    }
    if let Some(p) = &vs.persistence_granularity {
        o.kv("persistence_granularity", p);
    }
    if let Some(p) = &vs.persistence_engine {
        o.kv("persistence_engine", p);
    }
    if let Some(p) = vs.protocol {
        o.kv("protocol", p.name());
    }
    if vs.quorum != 1 {
        o.kv("quorum", vs.quorum);
    }
    if vs.hysteresis != 0 {
        o.kv("hysteresis", vs.hysteresis);
    }
    o.script("quorum_up", &vs.quorum_up);
    o.script("quorum_down", &vs.quorum_down);
    if let Some(s) = &vs.sorry_server {
        let mut w = vec!["sorry_server".to_string()];
        w.extend(port_words(s.ip, s.port));
        o.line(&w);
        o.bare("sorry_server_inhibit", s.inhibit);
        if let Some(m) = s.lvs_method {
            o.kv("sorry_server_lvs_method", m.name());
        }
    }
    o.bare("inhibit_on_failure", vs.inhibit_on_failure);
    o.bare("alpha", vs.alpha);
    o.bare("omega", vs.omega);
    o.bare("ha_suspend", vs.ha_suspend);
    if let Some(h) = &vs.virtualhost {
        o.kv("virtualhost", h);
    }
    if vs.connect_timeout != Duration::from_secs(5) {
        o.kv("connect_timeout", secs(vs.connect_timeout));
    }
    if let Some(r) = vs.retry {
        o.kv("retry", r);
    }
    opt_secs(o, "delay_before_retry", vs.delay_before_retry, None);
    opt_secs(o, "warmup", vs.warmup, None);
    if vs.weight != 1 {
        o.kv("weight", vs.weight);
    }
    let alert = g.smtp_alert_checker.or(g.smtp_alert).unwrap_or(false);
    if vs.smtp_alert != alert {
        o.flag("smtp_alert", vs.smtp_alert);
    }
    for rs in &vs.real_servers {
        real_server(o, g, vs, rs);
    }
    for item in &vs.unmodelled {
        o.raw(item);
    }
    o.close();
}

fn real_server(o: &mut Out, g: &GlobalDefs, vs: &VirtualServer, rs: &RealServer) {
    let mut head = vec!["real_server".to_string()];
    head.extend(port_words(rs.ip, rs.port));
    o.open(&head);
    if rs.weight != vs.weight {
        o.kv("weight", rs.weight);
    }
    if rs.lvs_method != vs.lb_kind {
        o.kv("lvs_method", rs.lvs_method.name());
    }
    if rs.inhibit_on_failure != vs.inhibit_on_failure {
        o.flag("inhibit_on_failure", rs.inhibit_on_failure);
    }
    o.script("notify_up", &rs.notify_up);
    o.script("notify_down", &rs.notify_down);
    if let Some(t) = rs.uthreshold {
        o.kv("uthreshold", t);
    }
    if let Some(t) = rs.lthreshold {
        o.kv("lthreshold", t);
    }
    if rs.alpha != vs.alpha {
        o.flag("alpha", rs.alpha);
    }
    if rs.connect_timeout != vs.connect_timeout {
        o.kv("connect_timeout", secs(rs.connect_timeout));
    }
    if rs.delay_loop != vs.delay_loop {
        o.kv("delay_loop", secs(rs.delay_loop));
    }
    if let Some(r) = rs.retry
        && rs.retry != vs.retry
    {
        o.kv("retry", r);
    }
    opt_secs(
        o,
        "delay_before_retry",
        rs.delay_before_retry,
        vs.delay_before_retry,
    );
    opt_secs(o, "warmup", rs.warmup, vs.warmup);
    let alert = g.smtp_alert_checker.or(g.smtp_alert).unwrap_or(true);
    if rs.smtp_alert != alert {
        o.flag("smtp_alert", rs.smtp_alert);
    }
    if let Some(h) = &rs.virtualhost {
        o.kv("virtualhost", h);
    }
    for c in &rs.checkers {
        checker(o, rs, c);
    }
    for item in &rs.unmodelled {
        o.raw(item);
    }
    o.close();
}

fn connection(o: &mut Out, c: &Connection) {
    if let Some(a) = c.connect_ip {
        o.kv("connect_ip", a);
    }
    if let Some(p) = c.connect_port {
        o.kv("connect_port", p);
    }
    if let Some(a) = c.bindto {
        o.kv("bindto", a);
    }
    if let Some(p) = c.bind_port {
        o.kv("bind_port", p);
    }
    if let Some(i) = &c.bind_if {
        o.kv("bind_if", i);
    }
    if let Some(m) = c.fwmark {
        o.kv("fwmark", m);
    }
}

fn checker(o: &mut Out, rs: &RealServer, c: &Checker) {
    o.open(&[c.kind.name()]);
    // Which keywords the checker type takes (keepalived installs the
    // connection and timing ones only for some).
    let (conn, timing) = match &c.kind {
        CheckerKind::Misc(_) => (false, true),
        CheckerKind::File(_) | CheckerKind::Bfd(_) => (false, false),
        _ => (true, true),
    };
    if conn {
        connection(o, &c.connection);
        if c.connect_timeout != rs.connect_timeout {
            o.kv("connect_timeout", secs(c.connect_timeout));
        }
    }
    if timing {
        let (default_retry, default_dbr) = match &c.kind {
            CheckerKind::Misc(_) => (0, Some(Duration::from_secs(1))),
            CheckerKind::Dns(_) => (3, None),
            CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => (1, Some(Duration::from_secs(3))),
            _ => (1, Some(Duration::from_secs(1))),
        };
        if c.delay_loop != rs.delay_loop {
            o.kv("delay_loop", secs(c.delay_loop));
        }
        if c.retry != rs.retry.unwrap_or(default_retry) {
            o.kv("retry", c.retry);
        }
        let dbr = rs
            .delay_before_retry
            .or(default_dbr)
            .unwrap_or(c.delay_loop);
        if c.delay_before_retry != dbr {
            o.kv("delay_before_retry", secs(c.delay_before_retry));
        }
        if c.warmup != rs.warmup.unwrap_or(c.delay_loop) {
            o.kv("warmup", secs(c.warmup));
        }
        if c.alpha != rs.alpha {
            o.flag("alpha", c.alpha);
        }
        if c.log_all_failures {
            o.flag("log_all_failures", true);
        }
    }
    kind(o, &c.kind);
    for item in &c.unmodelled {
        o.raw(item);
    }
    o.close();
}

fn http(o: &mut Out, h: &HttpCheck) {
    for u in &h.urls {
        o.open(&["url"]);
        o.kv("path", &u.path);
        if let Some(d) = &u.digest {
            o.kv("digest", d);
        }
        let mut w = vec!["status_code".to_string()];
        w.extend(u.status_code.iter().map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        }));
        o.line(&w);
        if let Some(v) = &u.virtualhost {
            o.kv("virtualhost", v);
        }
        if let Some(r) = &u.regex {
            o.kv("regex", r);
        }
        o.close();
    }
    if let Some(v) = &h.virtualhost {
        o.kv("virtualhost", v);
    }
    if let Some(p) = &h.http_protocol {
        o.kv("http_protocol", p);
    }
    if let Some(b) = h.enable_sni {
        o.flag("enable_sni", b);
    }
    if let Some(b) = h.fast_recovery {
        o.flag("fast_recovery", b);
    }
}

fn kind(o: &mut Out, k: &CheckerKind) {
    match k {
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => http(o, h),
        CheckerKind::Smtp(s) => {
            if s.helo_name != "smtpchecker.keepalived.org" {
                o.kv("helo_name", &s.helo_name);
            }
            for h in &s.hosts {
                o.open(&["host"]);
                connection(o, h);
                o.close();
            }
        }
        CheckerKind::Misc(m) => {
            o.script("misc_path", &m.misc_path);
            if let Some(t) = m.misc_timeout {
                o.kv("misc_timeout", t.as_secs());
            }
            o.bare("misc_dynamic", m.misc_dynamic);
            if let Some(u) = &m.user {
                let mut w = vec!["user".to_string(), u.clone()];
                w.extend(m.group.clone());
                o.line(&w);
            }
        }
        CheckerKind::Dns(d) => {
            if d.query_type != "SOA" {
                o.kv("type", &d.query_type);
            }
            if !d.name.is_empty() {
                o.kv("name", &d.name);
            }
        }
        CheckerKind::Udp(u) => {
            if let Some(p) = &u.payload {
                o.kv("payload", p);
            }
            if let Some(r) = &u.require_reply {
                let mut w = vec!["require_reply".to_string()];
                w.extend(r.split_whitespace().map(str::to_string));
                o.line(&w);
            }
            if let Some(n) = u.min_reply_length {
                o.kv("min_reply_length", n);
            }
            if let Some(n) = u.max_reply_length {
                o.kv("max_reply_length", n);
            }
        }
        CheckerKind::File(f) => {
            if let Some(t) = &f.track_file {
                o.kv("track_file", t);
            }
            if let Some(w) = f.weight {
                let mut words = vec!["weight".to_string(), w.to_string()];
                if f.reverse {
                    words.push("reverse".into());
                }
                o.line(&words);
            }
        }
        CheckerKind::Bfd(b) => {
            if let Some(n) = &b.name {
                o.kv("name", n);
            }
        }
        CheckerKind::Tcp | CheckerKind::Ping => {}
    }
}

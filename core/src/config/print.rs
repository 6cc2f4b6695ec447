//! From the model back to keepalived.conf text.
//!
//! The text says everything the model holds that keepalived would otherwise
//! derive differently, so parsing it gives the same model again (positions
//! aside); values equal to what keepalived derives are left out to keep the
//! file short. Blocks come in the order keepalived needs: `global_defs` first
//! (instances take their defaults from it), tracked objects before the
//! instances that name them.
//!
//! ```
//! use vigil_core::config::{parse_str, print::print};
//!
//! let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n";
//! let once = parse_str(text).model;
//! let again = parse_str(&print(&once)).model;
//! assert_eq!(again.instances[0].virtual_ipaddress, once.instances[0].virtual_ipaddress);
//! ```
//!
//! What cannot be written back: a word containing `"` (keepalived has no
//! escape for it in a plain word), script commands containing `\` or `"`,
//! and `$`, `~` or `@` at the start of a word (they would be read as
//! definitions or conditionals).

mod lvs;
mod vrrp;

use std::fmt::Write as _;
use std::time::Duration;

use super::model::addr::{IpAddress, IpPrefix, Route, Rule};
use super::model::global::{GlobalDefs, Scheduling};
use super::model::{Config, RawItem, Script};

/// The config as keepalived.conf text.
pub fn print(cfg: &Config) -> String {
    let mut o = Out::default();
    global_defs(&mut o, &cfg.global);
    for item in &cfg.unmodelled {
        o.raw(item);
    }
    if !cfg.static_ipaddress.is_empty() {
        o.open(&["static_ipaddress"]);
        for a in &cfg.static_ipaddress {
            o.line(&address(a));
        }
        o.close();
    }
    if !cfg.static_routes.is_empty() {
        o.open(&["static_routes"]);
        for r in &cfg.static_routes {
            o.line(&route(r));
        }
        o.close();
    }
    if !cfg.static_rules.is_empty() {
        o.open(&["static_rules"]);
        for r in &cfg.static_rules {
            o.line(&rule(r));
        }
        o.close();
    }
    vrrp::print_vrrp(&mut o, cfg);
    lvs::print_lvs(&mut o, cfg);
    o.text
}

/// Indented output, one statement per line.
#[derive(Default)]
pub(crate) struct Out {
    text: String,
    depth: usize,
}

impl Out {
    /// One statement; words are quoted where keepalived needs it.
    pub fn line<S: AsRef<str>>(&mut self, words: &[S]) {
        self.indent();
        let mut first = true;
        for w in words {
            if !first {
                self.text.push(' ');
            }
            first = false;
            self.text.push_str(&quote(w.as_ref()));
        }
        self.text.push('\n');
    }

    /// A keyword and a value.
    pub fn kv(&mut self, key: &str, value: impl std::fmt::Display) {
        self.line(&[key.to_string(), value.to_string()]);
    }

    /// A keyword that takes `true`/`false`.
    pub fn flag(&mut self, key: &str, value: bool) {
        self.line(&[key, if value { "true" } else { "false" }]);
    }

    /// A keyword alone, when `on`.
    pub fn bare(&mut self, key: &str, on: bool) {
        if on {
            self.line(&[key]);
        }
    }

    pub fn open<S: AsRef<str>>(&mut self, words: &[S]) {
        self.indent();
        for w in words {
            self.text.push_str(&quote(w.as_ref()));
            self.text.push(' ');
        }
        self.text.push_str("{\n");
        self.depth += 1;
    }

    pub fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.text.push_str("}\n");
    }

    /// `key "command" [user [group]]`.
    pub fn script(&mut self, key: &str, s: &Option<Script>) {
        let Some(s) = s else { return };
        self.indent();
        let _ = write!(self.text, "{key} \"{}\"", s.command);
        for w in [&s.user, &s.group].into_iter().flatten() {
            let _ = write!(self.text, " {}", quote(w));
        }
        self.text.push('\n');
    }

    /// A block of one-item lines, left out when empty.
    pub fn list(&mut self, key: &str, lines: Vec<Vec<String>>) {
        if lines.is_empty() {
            return;
        }
        self.open(&[key]);
        for l in &lines {
            self.line(l);
        }
        self.close();
    }

    pub fn raw(&mut self, item: &RawItem) {
        match &item.block {
            Some(b) => {
                self.open(&item.words);
                for i in b {
                    self.raw(i);
                }
                self.close();
            }
            None => self.line(&item.words),
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.text.push_str("    ");
        }
    }
}

/// A word as keepalived reads it back: quoted when it holds a blank, a
/// comment or brace character, or is empty.
fn quote(w: &str) -> std::borrow::Cow<'_, str> {
    let plain = !w.is_empty()
        && !w
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '#' | '!' | '{' | '}' | '"'));
    if plain || w.contains('"') {
        w.into()
    } else {
        format!("\"{w}\"").into()
    }
}

/// Seconds as keepalived's `read_timer` reads them: `1`, `1.5`, `0.000001`.
pub(crate) fn secs(d: Duration) -> String {
    let us = d.subsec_micros();
    if us == 0 {
        d.as_secs().to_string()
    } else {
        let frac = format!("{us:06}");
        format!("{}.{}", d.as_secs(), frac.trim_end_matches('0'))
    }
}

fn prefix(p: &IpPrefix) -> String {
    format!("{}/{}", p.addr, p.len)
}

fn opt<T: ToString>(words: &mut Vec<String>, key: &str, v: &Option<T>) {
    if let Some(v) = v {
        words.push(key.to_string());
        words.push(v.to_string());
    }
}

/// One `virtual_ipaddress` / `static_ipaddress` line.
pub(crate) fn address(a: &IpAddress) -> Vec<String> {
    let mut w = vec![format!("{}/{}", a.addr, a.prefix)];
    opt(&mut w, "brd", &a.broadcast);
    opt(&mut w, "peer", &a.peer);
    opt(&mut w, "dev", &a.dev);
    opt(&mut w, "scope", &a.scope);
    opt(&mut w, "label", &a.label);
    w.extend(a.flags.iter().cloned());
    match a.preferred_lft {
        Some(u32::MAX) => w.extend(["preferred_lft".into(), "forever".into()]),
        other => opt(&mut w, "preferred_lft", &other),
    }
    if a.no_track {
        w.push("no_track".into());
    }
    if a.use_vmac {
        w.push("use_vmac".into());
    }
    opt(&mut w, "track_group", &a.track_group);
    w
}

/// One `virtual_routes` / `static_routes` line.
pub(crate) fn route(r: &Route) -> Vec<String> {
    let mut w = Vec::new();
    w.extend(r.route_type.clone());
    w.push(prefix(&r.dest));
    opt(&mut w, "src", &r.src);
    opt(&mut w, "via", &r.via);
    opt(&mut w, "dev", &r.dev);
    opt(&mut w, "scope", &r.scope);
    opt(&mut w, "table", &r.table);
    opt(&mut w, "metric", &r.metric);
    opt(&mut w, "protocol", &r.protocol);
    if r.onlink {
        w.push("onlink".into());
    }
    if r.no_track {
        w.push("no_track".into());
    }
    opt(&mut w, "track_group", &r.track_group);
    for (k, v) in &r.options {
        w.push(k.clone());
        w.extend(v.split_whitespace().map(str::to_string));
    }
    for h in &r.nexthop {
        w.push("nexthop".into());
        opt(&mut w, "via", &h.via);
        opt(&mut w, "dev", &h.dev);
        opt(&mut w, "weight", &h.weight);
        if h.onlink {
            w.push("onlink".into());
        }
    }
    w
}

/// One `virtual_rules` / `static_rules` line.
pub(crate) fn rule(r: &Rule) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(p) = &r.from {
        w.extend(["from".into(), prefix(p)]);
    }
    if let Some(p) = &r.to {
        w.extend(["to".into(), prefix(p)]);
    }
    opt(&mut w, "table", &r.table);
    opt(&mut w, "priority", &r.priority);
    for (k, v) in &r.options {
        w.extend([k.clone(), v.clone()]);
    }
    w.extend(r.flags.iter().cloned());
    if r.no_track {
        w.push("no_track".into());
    }
    w
}

/// `who`'s `*_priority`, `*_rt_priority`, … lines.
fn scheduling(o: &mut Out, who: &str, s: &Scheduling) {
    if let Some(n) = s.nice {
        o.kv(&format!("{who}_priority"), n);
    }
    if let Some(p) = s.rt_priority {
        o.kv(&format!("{who}_rt_priority"), p);
    }
    if let Some(l) = s.rlimit_rttime {
        o.kv(&format!("{who}_rlimit_rttime"), l);
    }
    if !s.cpu_affinity.is_empty() {
        let mut w = vec![format!("{who}_cpu_affinity")];
        w.extend(s.cpu_affinity.iter().map(u16::to_string));
        o.line(&w);
    }
    o.bare(&format!("{who}_no_swap"), s.no_swap);
}

fn global_defs(o: &mut Out, g: &GlobalDefs) {
    let d = GlobalDefs::default();
    if *g == d {
        return;
    }
    o.open(&["global_defs"]);
    if let Some(r) = &g.router_id {
        o.kv("router_id", r);
    }
    if !g.notification_email.is_empty() {
        o.open(&["notification_email"]);
        for e in &g.notification_email {
            o.line(&[e]);
        }
        o.close();
    }
    if let Some(f) = &g.notification_email_from {
        o.kv("notification_email_from", f);
    }
    if let Some(s) = &g.smtp_server {
        let mut w = vec!["smtp_server".to_string(), s.host.clone()];
        if s.port != 25 {
            w.push(s.port.to_string());
        }
        o.line(&w);
    }
    if let Some(h) = &g.smtp_helo_name {
        o.kv("smtp_helo_name", h);
    }
    if g.smtp_connect_timeout != d.smtp_connect_timeout {
        o.kv("smtp_connect_timeout", g.smtp_connect_timeout.as_secs());
    }
    for (k, v) in [
        ("smtp_alert", g.smtp_alert),
        ("smtp_alert_vrrp", g.smtp_alert_vrrp),
        ("smtp_alert_checker", g.smtp_alert_checker),
    ] {
        if let Some(v) = v {
            o.flag(k, v);
        }
    }
    if g.vrrp_version != d.vrrp_version {
        o.kv("vrrp_version", g.vrrp_version);
    }
    o.bare("vrrp_strict", g.vrrp_strict);
    if let Some(u) = &g.script_user {
        let mut w = vec!["script_user".to_string(), u.clone()];
        w.extend(g.script_group.clone());
        o.line(&w);
    }
    o.bare("enable_script_security", g.enable_script_security);
    for (k, fifo) in [
        ("notify_fifo", &g.notify_fifo),
        ("vrrp_notify_fifo", &g.vrrp_notify_fifo),
        ("lvs_notify_fifo", &g.lvs_notify_fifo),
    ] {
        if let Some(f) = fifo {
            let mut w = vec![k.to_string(), f.path.clone()];
            w.extend(f.user.clone());
            w.extend(f.group.clone());
            o.line(&w);
        }
    }
    let secs_keys = [
        (
            "vrrp_garp_master_delay",
            g.vrrp_garp_master_delay,
            d.vrrp_garp_master_delay,
        ),
        (
            "vrrp_garp_master_refresh",
            g.vrrp_garp_master_refresh,
            d.vrrp_garp_master_refresh,
        ),
    ];
    for (k, v, def) in secs_keys {
        if v != def {
            o.kv(k, v.as_secs());
        }
    }
    for (k, v, def) in [
        (
            "vrrp_garp_master_repeat",
            g.vrrp_garp_master_repeat,
            d.vrrp_garp_master_repeat,
        ),
        (
            "vrrp_garp_master_refresh_repeat",
            g.vrrp_garp_master_refresh_repeat,
            d.vrrp_garp_master_refresh_repeat,
        ),
        (
            "vrrp_down_timer_adverts",
            g.vrrp_down_timer_adverts,
            d.vrrp_down_timer_adverts,
        ),
    ] {
        if v != def {
            o.kv(k, v);
        }
    }
    if let Some(t) = g.vrrp_garp_lower_prio_delay {
        o.kv("vrrp_garp_lower_prio_delay", t.as_secs());
    }
    if let Some(r) = g.vrrp_garp_lower_prio_repeat {
        o.kv("vrrp_garp_lower_prio_repeat", r);
    }
    for (k, v) in [
        ("vrrp_garp_interval", g.vrrp_garp_interval),
        ("vrrp_gna_interval", g.vrrp_gna_interval),
    ] {
        if !v.is_zero() {
            o.kv(k, secs(v));
        }
    }
    for (k, v) in [
        ("vrrp_lower_prio_no_advert", g.vrrp_lower_prio_no_advert),
        (
            "vrrp_higher_prio_send_advert",
            g.vrrp_higher_prio_send_advert,
        ),
        (
            "vrrp_notify_priority_changes",
            g.vrrp_notify_priority_changes,
        ),
        ("checker_log_all_failures", g.checker_log_all_failures),
    ] {
        if v {
            o.flag(k, true);
        }
    }
    o.bare("vrrp_check_unicast_src", g.vrrp_check_unicast_src);
    o.bare("vrrp_skip_check_adv_addr", g.vrrp_skip_check_adv_addr);
    if g.vrrp_mcast_group4 != d.vrrp_mcast_group4 {
        o.kv("vrrp_mcast_group4", g.vrrp_mcast_group4);
    }
    if g.vrrp_mcast_group6 != d.vrrp_mcast_group6 {
        o.kv("vrrp_mcast_group6", g.vrrp_mcast_group6);
    }
    if let Some(l) = &g.lvs_sync_daemon {
        let mut w = vec!["lvs_sync_daemon".to_string(), l.interface.clone()];
        w.extend(l.instance.clone());
        opt(&mut w, "id", &l.id);
        opt(&mut w, "maxlen", &l.maxlen);
        opt(&mut w, "port", &l.port);
        opt(&mut w, "ttl", &l.ttl);
        opt(&mut w, "group", &l.group);
        o.line(&w);
    }
    if let Some(i) = &g.default_interface {
        o.kv("default_interface", i);
    }
    if let Some(p) = &g.vmac_prefix {
        o.kv("vmac_prefix", p);
    }
    // `dynamic_interfaces` is also kept raw, with its options.
    let raw_dynamic = g
        .unmodelled
        .iter()
        .any(|r| r.words.first().is_some_and(|w| w == "dynamic_interfaces"));
    o.bare("dynamic_interfaces", g.dynamic_interfaces && !raw_dynamic);
    o.bare("lvs_flush", g.lvs_flush);
    for (who, s) in [("vrrp", &g.vrrp_process), ("checker", &g.checker_process)] {
        scheduling(o, who, s);
    }
    for item in &g.unmodelled {
        o.raw(item);
    }
    o.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("eth0"), "eth0");
        assert_eq!(quote("my router"), "\"my router\"");
        assert_eq!(quote("a#b"), "\"a#b\"");
        assert_eq!(quote(""), "\"\"");
        let mut c = Config::default();
        c.global.router_id = Some("lb one # main".into());
        let again = parse_str(&print(&c)).model;
        assert_eq!(again.global.router_id, c.global.router_id);
    }

    #[test]
    fn seconds_keep_microseconds() {
        assert_eq!(secs(Duration::from_secs(3)), "3");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5");
        assert_eq!(secs(Duration::from_micros(1)), "0.000001");
    }

    #[test]
    fn an_empty_config_prints_nothing() {
        assert_eq!(print(&Config::default()), "");
    }
}

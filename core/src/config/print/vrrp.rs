//! The VRRP side: `vrrp_script`, `track_file`, `vrrp_track_process`,
//! `vrrp_instance` and `vrrp_sync_group`.

use super::{Out, address, route, rule, secs};
use crate::config::model::Config;
use crate::config::model::global::GlobalDefs;
use crate::config::model::track::{SyncGroup, TrackFile, TrackProcess, VrrpScript};
use crate::config::model::vrrp::{AuthType, TrackedInterface, TrackedRef, VrrpInstance, VrrpState};

pub(super) fn print_vrrp(o: &mut Out, cfg: &Config) {
    for s in &cfg.vrrp_scripts {
        script(o, s);
    }
    for t in &cfg.track_files {
        track_file(o, t);
    }
    for t in &cfg.track_processes {
        track_process(o, t);
    }
    for v in &cfg.instances {
        instance(o, &cfg.global, v);
    }
    for g in &cfg.sync_groups {
        sync_group(o, g);
    }
}

fn script(o: &mut Out, s: &VrrpScript) {
    o.open(&["vrrp_script", s.name.as_str()]);
    o.script("script", &s.script);
    if s.interval.as_secs() != 1 {
        o.kv("interval", s.interval.as_secs());
    }
    if !s.timeout.is_zero() {
        o.kv("timeout", s.timeout.as_secs());
    }
    if s.weight != 0 || s.weight_reverse {
        let mut w = vec!["weight".to_string(), s.weight.to_string()];
        if s.weight_reverse {
            w.push("reverse".into());
        }
        o.line(&w);
    }
    if s.rise != 1 {
        o.kv("rise", s.rise);
    }
    if s.fall != 1 {
        o.kv("fall", s.fall);
    }
    o.bare("init_fail", s.init_fail);
    if let Some(u) = &s.user {
        let mut w = vec!["user".to_string(), u.clone()];
        w.extend(s.group.clone());
        o.line(&w);
    }
    o.close();
}

fn track_file(o: &mut Out, t: &TrackFile) {
    o.open(&["track_file", t.name.as_str()]);
    if let Some(f) = &t.file {
        o.kv("file", f);
    }
    if t.weight != 1 || t.reverse {
        let mut w = vec!["weight".to_string(), t.weight.to_string()];
        if t.reverse {
            w.push("reverse".into());
        }
        o.line(&w);
    }
    if let Some(i) = &t.init_file {
        let mut w = vec!["init_file".to_string(), i.value.to_string()];
        if i.overwrite {
            w.push("overwrite".into());
        }
        o.line(&w);
    }
    o.close();
}

fn track_process(o: &mut Out, t: &TrackProcess) {
    o.open(&["vrrp_track_process", t.name.as_str()]);
    if let Some(p) = &t.process {
        let mut w = vec!["process".to_string(), p.clone()];
        w.extend(t.params.iter().cloned());
        o.line(&w);
    }
    // Parameters after the process name imply `param_match exact` and
    // `full_command`.
    let implied = !t.params.is_empty();
    match t.param_match.as_deref() {
        Some("exact") if implied => {}
        Some("exact") => o.line(&["param_match"]),
        Some(m) => o.line(&["param_match", m]),
        None => {}
    }
    let full_implied = implied || t.param_match.is_some();
    o.bare("full_command", t.full_command && !full_implied);
    if t.weight != 0 || t.reverse {
        let mut w = vec!["weight".to_string(), t.weight.to_string()];
        if t.reverse {
            w.push("reverse".into());
        }
        o.line(&w);
    }
    if t.quorum_max != 65535 {
        o.kv("quorum_max", t.quorum_max);
    }
    let quorum_default = if t.quorum_max == 0 { 0 } else { 1 };
    if t.quorum != quorum_default {
        o.kv("quorum", t.quorum);
    }
    if let Some(d) = t.terminate_delay {
        o.kv("terminate_delay", secs(d));
    }
    if let Some(d) = t.fork_delay {
        o.kv("fork_delay", secs(d));
    }
    o.close();
}

fn tracked_refs(o: &mut Out, key: &str, refs: &[TrackedRef]) {
    let lines = refs
        .iter()
        .map(|r| {
            let mut w = vec![r.name.clone()];
            if let Some(weight) = r.weight {
                w.extend(["weight".into(), weight.to_string()]);
                match r.reverse {
                    Some(true) => w.push("reverse".into()),
                    Some(false) => w.push("noreverse".into()),
                    None => {}
                }
            }
            w
        })
        .collect();
    o.list(key, lines);
}

fn tracked_interfaces(o: &mut Out, list: &[TrackedInterface]) {
    let lines = list
        .iter()
        .map(|t| {
            let mut w = vec![t.name.clone()];
            if t.weight != 0 || t.reverse {
                w.extend(["weight".into(), t.weight.to_string()]);
                if t.reverse {
                    w.push("reverse".into());
                }
            }
            w
        })
        .collect();
    o.list("track_interface", lines);
}

/// `advert_int` in seconds from centiseconds: `1`, `0.5`, `0.05`.
fn advert_int(cs: u16) -> String {
    let (s, c) = (cs / 100, cs % 100);
    if c == 0 {
        s.to_string()
    } else if c % 10 == 0 {
        format!("{s}.{}", c / 10)
    } else {
        format!("{s}.{c:02}")
    }
}

fn instance(o: &mut Out, g: &GlobalDefs, v: &VrrpInstance) {
    o.open(&["vrrp_instance", v.name.as_str()]);
    let state = match v.state {
        VrrpState::Master => "MASTER",
        VrrpState::Backup => "BACKUP",
    };
    o.kv("state", state);
    if let Some(i) = &v.interface {
        o.kv("interface", i);
    }
    if v.virtual_router_id != 0 {
        o.kv("virtual_router_id", v.virtual_router_id);
    }
    o.kv("priority", v.priority);
    o.kv("advert_int", advert_int(v.advert_int_cs));
    o.kv("version", v.version);
    let strict = v.strict_mode;
    if strict != g.vrrp_strict {
        o.flag("strict_mode", strict);
    }
    o.bare("native_ipv6", v.native_ipv6);
    o.bare("nopreempt", v.nopreempt);
    if !v.preempt_delay.is_zero() {
        o.kv("preempt_delay", secs(v.preempt_delay));
    }
    if let Some(a) = &v.authentication {
        o.open(&["authentication"]);
        o.kv(
            "auth_type",
            match a.auth_type {
                AuthType::Pass => "PASS",
                AuthType::Ah => "AH",
            },
        );
        o.kv("auth_pass", &a.auth_pass);
        o.close();
    }
    addresses(o, v);
    tracking(o, v);
    timers_and_modes(o, g, v);
    for (k, s) in [
        ("notify_master", &v.notify_master),
        ("notify_backup", &v.notify_backup),
        ("notify_fault", &v.notify_fault),
        ("notify_stop", &v.notify_stop),
        ("notify_deleted", &v.notify_deleted),
        ("notify_master_rx_lower_pri", &v.notify_master_rx_lower_pri),
        ("notify", &v.notify),
    ] {
        o.script(k, s);
    }
    if v.smtp_alert != g.smtp_alert_vrrp.or(g.smtp_alert).unwrap_or(false) {
        o.flag("smtp_alert", v.smtp_alert);
    }
    if let Some(n) = v.notify_priority_changes {
        o.flag("notify_priority_changes", n);
    }
    if v.debug != 0 {
        o.kv("debug", v.debug);
    }
    if let Some(i) = &v.lvs_sync_daemon_interface {
        o.kv("lvs_sync_daemon_interface", i);
    }
    if let Some(k) = v.kernel_rx_buf_size {
        o.kv("kernel_rx_buf_size", k);
    }
    for item in &v.unmodelled {
        o.raw(item);
    }
    o.close();
}

fn addresses(o: &mut Out, v: &VrrpInstance) {
    if let Some(a) = v.mcast_src_ip {
        o.kv("mcast_src_ip", a);
    }
    if let Some(a) = v.unicast_src_ip {
        o.kv("unicast_src_ip", a);
    }
    if let Some(a) = v.mcast_dst_ip {
        o.kv("mcast_dst_ip", a);
    }
    let peers = v
        .unicast_peer
        .iter()
        .map(|p| {
            let mut w = vec![p.addr.to_string()];
            if let Some(t) = p.min_ttl {
                w.extend(["min_ttl".into(), t.to_string()]);
            }
            if let Some(t) = p.max_ttl {
                w.extend(["max_ttl".into(), t.to_string()]);
            }
            w
        })
        .collect();
    o.list("unicast_peer", peers);
    if let Some(t) = v.unicast_ttl {
        o.kv("unicast_ttl", t);
    }
    o.bare("check_unicast_src", v.check_unicast_src);
    o.bare("unicast_fault_no_peer", v.unicast_fault_no_peer);
    o.list(
        "virtual_ipaddress",
        v.virtual_ipaddress.iter().map(address).collect(),
    );
    o.list(
        "virtual_ipaddress_excluded",
        v.virtual_ipaddress_excluded.iter().map(address).collect(),
    );
    o.list(
        "virtual_routes",
        v.virtual_routes.iter().map(route).collect(),
    );
    o.list("virtual_rules", v.virtual_rules.iter().map(rule).collect());
}

fn tracking(o: &mut Out, v: &VrrpInstance) {
    tracked_interfaces(o, &v.track_interface);
    tracked_refs(o, "track_script", &v.track_script);
    tracked_refs(o, "track_file", &v.track_file);
    tracked_refs(o, "track_process", &v.track_process);
    o.bare("dont_track_primary", v.dont_track_primary);
    o.bare("track_src_ip", v.track_src_ip);
}

/// Gratuitous ARP timing and the mode switches, where they differ from what
/// keepalived derives from `global_defs` and strict mode.
fn timers_and_modes(o: &mut Out, g: &GlobalDefs, v: &VrrpInstance) {
    let strict = v.strict_mode;
    if v.garp_master_delay != g.vrrp_garp_master_delay {
        o.kv("garp_master_delay", v.garp_master_delay.as_secs());
    }
    if v.garp_master_repeat != g.vrrp_garp_master_repeat {
        o.kv("garp_master_repeat", v.garp_master_repeat);
    }
    if v.garp_master_refresh != g.vrrp_garp_master_refresh {
        o.kv("garp_master_refresh", v.garp_master_refresh.as_secs());
    }
    if v.garp_master_refresh_repeat != g.vrrp_garp_master_refresh_repeat {
        o.kv("garp_master_refresh_repeat", v.garp_master_refresh_repeat);
    }
    if !strict {
        if let Some(d) = v
            .garp_lower_prio_delay
            .filter(|_| v.garp_lower_prio_delay != g.vrrp_garp_lower_prio_delay)
        {
            o.kv("garp_lower_prio_delay", d.as_secs());
        }
        if let Some(r) = v
            .garp_lower_prio_repeat
            .filter(|_| v.garp_lower_prio_repeat != g.vrrp_garp_lower_prio_repeat)
        {
            o.kv("garp_lower_prio_repeat", r);
        }
    }
    if v.down_timer_adverts != g.vrrp_down_timer_adverts {
        o.kv("down_timer_adverts", v.down_timer_adverts);
    }
    if v.accept != (v.priority == 255 || !strict) {
        o.bare(if v.accept { "accept" } else { "no_accept" }, true);
    }
    if let Some(m) = &v.use_vmac {
        let mut w = vec!["use_vmac".to_string()];
        w.extend(m.interface.clone());
        w.extend(m.mac.clone());
        o.line(&w);
    }
    o.bare("use_vmac_addr", v.use_vmac_addr);
    o.bare("vmac_xmit_base", v.vmac_xmit_base);
    o.bare(
        "skip_check_adv_addr",
        v.skip_check_adv_addr && !g.vrrp_skip_check_adv_addr,
    );
    o.bare("promote_secondaries", v.promote_secondaries);
    if v.lower_prio_no_advert != (strict || g.vrrp_lower_prio_no_advert) {
        o.flag("lower_prio_no_advert", v.lower_prio_no_advert);
    }
    if v.higher_prio_send_advert != (!strict && g.vrrp_higher_prio_send_advert) {
        o.flag("higher_prio_send_advert", v.higher_prio_send_advert);
    }
}

fn sync_group(o: &mut Out, g: &SyncGroup) {
    o.open(&["vrrp_sync_group", g.name.as_str()]);
    o.open(&["group"]);
    for m in &g.group {
        o.line(&[m]);
    }
    o.close();
    tracked_interfaces(o, &g.track_interface);
    tracked_refs(o, "track_script", &g.track_script);
    tracked_refs(o, "track_file", &g.track_file);
    tracked_refs(o, "track_process", &g.track_process);
    for (k, s) in [
        ("notify_master", &g.notify_master),
        ("notify_backup", &g.notify_backup),
        ("notify_fault", &g.notify_fault),
        ("notify_stop", &g.notify_stop),
        ("notify", &g.notify),
    ] {
        o.script(k, s);
    }
    if let Some(a) = g.smtp_alert {
        o.flag("smtp_alert", a);
    }
    o.bare("global_tracking", g.global_tracking);
    o.bare(
        "sync_group_tracking_weight",
        g.sync_group_tracking_weight && !g.global_tracking,
    );
    if let Some(n) = g.notify_priority_changes {
        o.flag("notify_priority_changes", n);
    }
    for item in &g.unmodelled {
        o.raw(item);
    }
    o.close();
}

//! `global_defs`.

use std::time::Duration;

use super::{Builder, Cx};
use crate::config::diag::DiagKind;
use crate::config::keywords::Ctx;
use crate::config::model::global::{GlobalDefs, LvsSyncDaemon, NotifyFifo, SmtpServer};
use crate::config::parser::Node;
use crate::config::value;

const U32_SECS: u64 = (u32::MAX / 1_000_000) as u64;

pub(crate) fn global_defs(b: &mut Builder, n: &Node) {
    b.cx.extra(n, 0);
    let Some(block) = b.cx.block(n) else { return };
    let mut g = std::mem::take(&mut b.cfg.global);
    let cx = &mut *b.cx;
    for n in &block.nodes {
        let kw = n.keyword();
        match kw {
            "router_id" => {
                if let Some(w) = cx.arg(n, 0) {
                    g.router_id = Some(w.text.clone());
                    cx.extra(n, 1);
                }
            }
            "notification_email" => {
                // Every word of every line is an address.
                cx.extra(n, 0);
                if let Some(bl) = cx.block(n) {
                    for l in &bl.nodes {
                        cx.no_block(l, Ctx::GlobalDefs);
                        g.notification_email
                            .extend(l.words.iter().map(|w| w.text.clone()));
                    }
                    if bl.nodes.is_empty() {
                        cx.warn(
                            DiagKind::MissingSetting,
                            n.pos(),
                            n.text.clone(),
                            "Warning - empty notification_email block",
                        );
                    }
                }
                continue;
            }
            "notification_email_from" => {
                if let Some(w) = cx.arg(n, 0) {
                    g.notification_email_from = Some(w.text.clone());
                    cx.extra(n, 1);
                }
            }
            "smtp_server" => {
                if let Some(w) = cx.arg(n, 0) {
                    let mut port = 25;
                    if let Some(p) = n.arg(1) {
                        match value::read_unsigned(&p.text, 1, 65535) {
                            Ok(v) => port = v as u16,
                            Err(_) => {
                                cx.error(
                                    DiagKind::InvalidValue,
                                    p.pos,
                                    p.text.clone(),
                                    format!("Invalid smtp server {} {}", w.text, p.text),
                                )
                                .hint = Some("the port must be 1..65535".into());
                            }
                        }
                        cx.extra(n, 2);
                    }
                    let ip = if w.text.contains(['-', '/']) {
                        None
                    } else {
                        value::parse_ip(&w.text)
                    };
                    g.smtp_server = Some(SmtpServer {
                        host: w.text.clone(),
                        ip,
                        port,
                    });
                }
            }
            "smtp_helo_name" => {
                if let Some(w) = cx.arg(n, 0) {
                    g.smtp_helo_name = Some(w.text.clone());
                    cx.extra(n, 1);
                }
            }
            "smtp_connect_timeout" => {
                if let Some(t) = cx.uint(n, 0, 0, U32_SECS, "keepalived ignores it and keeps 30 s")
                {
                    cx.extra(n, 1);
                    if t == 0 {
                        cx.warn(
                            DiagKind::Adjusted,
                            n.pos(),
                            n.text.clone(),
                            "smtp_conect_timeout must be greater than 0, setting to 1",
                        );
                    }
                    g.smtp_connect_timeout = Duration::from_secs(t.max(1));
                }
            }
            "smtp_alert" => g.smtp_alert = cx.flag(n, "global smtp_alert").or(g.smtp_alert),
            "smtp_alert_vrrp" => {
                g.smtp_alert_vrrp = cx.flag(n, "global smtp_alert_vrrp").or(g.smtp_alert_vrrp)
            }
            "smtp_alert_checker" => {
                g.smtp_alert_checker = cx
                    .flag(n, "global smtp_alert_checker")
                    .or(g.smtp_alert_checker)
            }
            "vrrp_version" => {
                if let Some(v) = cx.int(n, 0, 2, 3, "VRRP Error: Version must be either 2 or 3") {
                    g.vrrp_version = v as u8;
                    cx.extra(n, 1);
                }
            }
            "vrrp_strict" => {
                cx.extra(n, 0);
                g.vrrp_strict = true;
            }
            "script_user" => {
                if let Some(w) = cx.arg(n, 0) {
                    g.script_user = Some(w.text.clone());
                    g.script_group = n.arg(1).map(|w| w.text.clone());
                    cx.extra(n, 2);
                }
            }
            "enable_script_security" => {
                cx.extra(n, 0);
                g.enable_script_security = true;
            }
            "vrrp_garp_master_delay" => {
                if let Some(d) = cx.secs(n, 0, 0, U32_SECS, "keepalived ignores it") {
                    g.vrrp_garp_master_delay = d;
                    cx.extra(n, 1);
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(r) = repeat(cx, n) {
                    g.vrrp_garp_master_repeat = r;
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(d) = cx.secs(
                    n,
                    0,
                    0,
                    u64::from(u32::MAX),
                    "keepalived sets it to 0 (no refresh)",
                ) {
                    g.vrrp_garp_master_refresh = d;
                    cx.extra(n, 1);
                } else {
                    g.vrrp_garp_master_refresh = Duration::ZERO;
                }
            }
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(r) = repeat(cx, n) {
                    g.vrrp_garp_master_refresh_repeat = r;
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                if let Some(d) = cx.secs(n, 0, 0, U32_SECS, "keepalived ignores it") {
                    g.vrrp_garp_lower_prio_delay = Some(d);
                    cx.extra(n, 1);
                }
            }
            "vrrp_garp_lower_prio_repeat" => {
                if let Some(r) = cx.uint(n, 0, 0, i32::MAX as u64, "keepalived ignores it") {
                    g.vrrp_garp_lower_prio_repeat = Some(r as u32);
                    cx.extra(n, 1);
                }
            }
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                if let Some(d) = cx.timer(n, 0, 1, u64::from(u32::MAX), "keepalived ignores it") {
                    cx.extra(n, 1);
                    if kw == "vrrp_garp_interval" {
                        g.vrrp_garp_interval = d;
                    } else {
                        g.vrrp_gna_interval = d;
                    }
                }
            }
            "vrrp_down_timer_adverts" => {
                if let Some(v) = cx.uint(
                    n,
                    0,
                    1,
                    100,
                    "Invalid vrrp_down_timer_adverts [1:100] - keepalived ignores it",
                ) {
                    g.vrrp_down_timer_adverts = v as u32;
                    cx.extra(n, 1);
                }
            }
            "vrrp_lower_prio_no_advert" => {
                g.vrrp_lower_prio_no_advert = cx
                    .flag(n, "vrrp_lower_prio_no_advert")
                    .unwrap_or(g.vrrp_lower_prio_no_advert)
            }
            "vrrp_higher_prio_send_advert" => {
                g.vrrp_higher_prio_send_advert = cx
                    .flag(n, "vrrp_higher_prio_send_advert")
                    .unwrap_or(g.vrrp_higher_prio_send_advert)
            }
            "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
            "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = true,
            "vrrp_notify_priority_changes" => {
                g.vrrp_notify_priority_changes = cx
                    .flag(n, "global vrrp_notify_priority_changes")
                    .unwrap_or(g.vrrp_notify_priority_changes)
            }
            "vrrp_mcast_group4" => {
                if let Some(w) = cx.arg(n, 0) {
                    cx.extra(n, 1);
                    match w.text.parse::<std::net::Ipv4Addr>() {
                        Ok(a) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                        Ok(_) => {
                            cx.error(
                                DiagKind::InvalidAddress,
                                w.pos,
                                w.text.clone(),
                                format!(
                                    "vrrp_mcast_group4 [{}] is not multicast. Skipping",
                                    w.text
                                ),
                            );
                        }
                        Err(_) => cx.bad_address(w, "Can't parse vrrp_mcast_group4 [{}]. Skipping"),
                    }
                }
            }
            "vrrp_mcast_group6" => {
                if let Some(w) = cx.arg(n, 0) {
                    cx.extra(n, 1);
                    match w.text.parse::<std::net::Ipv6Addr>() {
                        Ok(a) if a.is_multicast() => {
                            if a.segments()[0] & 0xff0f != 0xff02 {
                                cx.warn(
                                    DiagKind::InvalidAddress,
                                    w.pos,
                                    w.text.clone(),
                                    format!(
                                        "vrrp_mcast_group6 [{}] should be link-local multicast.",
                                        w.text
                                    ),
                                );
                            }
                            g.vrrp_mcast_group6 = a;
                        }
                        Ok(_) => {
                            cx.error(
                                DiagKind::InvalidAddress,
                                w.pos,
                                w.text.clone(),
                                format!(
                                    "vrrp_mcast_group6 [{}] is not multicast. Skipping",
                                    w.text
                                ),
                            );
                        }
                        Err(_) => cx.bad_address(w, "Can't parse vrrp_mcast_group6 [{}]. Skipping"),
                    }
                }
            }
            "lvs_sync_daemon" => lvs_sync_daemon(cx, n, &mut g.lvs_sync_daemon),
            "default_interface" => {
                if let Some(w) = cx.arg(n, 0) {
                    g.default_interface = Some(w.text.clone());
                    cx.extra(n, 1);
                    cx.interface(w, |i| {
                        format!("WARNING - default interface {i} doesn't exist")
                    });
                }
            }
            "vmac_prefix" => {
                if let Some(w) = cx.arg(n, 0) {
                    if g.vmac_prefix.is_some() {
                        cx.error(
                            DiagKind::Duplicate,
                            w.pos,
                            w.text.clone(),
                            format!(
                                "vmac prefix has already been specified - ignoring {}",
                                w.text
                            ),
                        );
                    } else {
                        g.vmac_prefix = Some(w.text.clone());
                    }
                    cx.extra(n, 1);
                }
            }
            "dynamic_interfaces" => {
                g.dynamic_interfaces = true;
                g.unmodelled.push(super::raw(n));
            }
            "checker_log_all_failures" => {
                g.checker_log_all_failures = cx
                    .flag(n, "checker_log_all_failures")
                    .unwrap_or(g.checker_log_all_failures)
            }
            "lvs_flush" => g.lvs_flush = true,
            "notify_fifo" | "vrrp_notify_fifo" | "lvs_notify_fifo" => {
                if let Some(w) = cx.arg(n, 0) {
                    let fifo = NotifyFifo {
                        path: w.text.clone(),
                        user: n.arg(1).map(|w| w.text.clone()),
                        group: n.arg(2).map(|w| w.text.clone()),
                    };
                    cx.extra(n, 3);
                    let slot = match kw {
                        "notify_fifo" => &mut g.notify_fifo,
                        "vrrp_notify_fifo" => &mut g.vrrp_notify_fifo,
                        _ => &mut g.lvs_notify_fifo,
                    };
                    *slot = Some(fifo);
                }
            }
            kw if scheduling(cx, n, kw, &mut g) => {}
            _ => {
                cx.other(n, Ctx::GlobalDefs, &mut g.unmodelled);
                continue;
            }
        }
        cx.no_block(n, Ctx::GlobalDefs);
    }
    b.cfg.global = g;
}

/// `vrrp_*` and `checker_*` scheduling keywords, with keepalived's checks
/// and messages; false for any other keyword.
fn scheduling(cx: &mut Cx, n: &Node, kw: &str, g: &mut GlobalDefs) -> bool {
    let Some((who, setting)) = kw.split_once('_') else {
        return false;
    };
    let s = match who {
        "vrrp" => &mut g.vrrp_process,
        "checker" => &mut g.checker_process,
        _ => return false,
    };
    match setting {
        "priority" => {
            let then = format!("Invalid {who} process priority specified - keepalived ignores it");
            s.nice = cx.int(n, 0, -20, 19, &then).map(|v| v as i8).or(s.nice);
            cx.extra(n, 1);
        }
        "rt_priority" => {
            let Some(w) = cx.arg(n, 0) else { return true };
            let v = match value::read_int(&w.text, i64::from(i32::MIN), i64::from(i32::MAX)) {
                Ok(v) => v,
                Err(e) => {
                    let then = format!("{who} process real-time priority '{}' invalid", w.text);
                    cx.bad_number(n, w, e, &then);
                    return true;
                }
            };
            // SCHED_RR's range on Linux, as sched_get_priority_min/max say.
            let clamped = v.clamp(1, 99);
            if clamped != v {
                let edge = if v < 1 {
                    "less than minimum 1"
                } else {
                    "greater than maximum 99"
                };
                let end = if v < 1 { "minimum" } else { "maximum" };
                cx.warn(
                    DiagKind::Adjusted,
                    w.pos,
                    w.text.clone(),
                    format!("{who} process real-time priority {v} {edge} - setting to {end}"),
                );
            }
            s.rt_priority = Some(clamped as u8);
            cx.extra(n, 1);
        }
        "rlimit_rttime" | "rlimit_rtime" => {
            if setting == "rlimit_rtime" {
                cx.warn(
                    DiagKind::Deprecated,
                    n.pos(),
                    kw.to_string(),
                    format!("Keyword '{kw}' is deprecated - please use '{who}_rlimit_rttime'"),
                );
            }
            let then = format!("Invalid {who} real-time limit - keepalived ignores it");
            if let Some(v) = cx.uint(n, 0, 1, u64::from(u32::MAX), &then) {
                // Halved for the warning, which must not be 0.
                s.rlimit_rttime = Some((v as u32).max(2));
            }
            cx.extra(n, 1);
        }
        "cpu_affinity" => {
            // CPU_SETSIZE bounds it here; keepalived's bound, the CPUs
            // online, is the host's, which the daemon checks.
            let mut cpus = Vec::new();
            for i in 0..n.args().len().max(1) {
                let Some(cpu) = cx.uint(n, i, 0, 1023, "keepalived ignores the whole list") else {
                    return true;
                };
                cpus.push(cpu as u16);
            }
            s.cpu_affinity = cpus;
        }
        "no_swap" => {
            s.no_swap = true;
            cx.extra(n, 0);
        }
        _ => return false,
    }
    true
}

/// `*_repeat`: 0 is accepted and made 1, with keepalived's warning.
fn repeat(cx: &mut Cx, n: &Node) -> Option<u32> {
    let r = cx.uint(n, 0, 0, u64::from(u32::MAX), "keepalived ignores it")?;
    cx.extra(n, 1);
    if r == 0 {
        cx.warn(
            DiagKind::Adjusted,
            n.pos(),
            n.text.clone(),
            format!("{} must be greater than 0, setting to 1", n.keyword()),
        );
        return Some(1);
    }
    Some(r as u32)
}

fn lvs_sync_daemon(cx: &mut Cx, n: &Node, out: &mut Option<LvsSyncDaemon>) {
    if let Some(prev) = out {
        cx.error(
            DiagKind::Duplicate,
            n.pos(),
            n.text.clone(),
            format!(
                "lvs_sync_daemon has already been specified as {} - ignoring",
                prev.interface
            ),
        );
        return;
    }
    let Some(w) = cx.arg(n, 0) else { return };
    let mut d = LvsSyncDaemon {
        interface: w.text.clone(),
        instance: None,
        id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let args = n.args();
    let mut i = 1;
    while i < args.len() {
        let opt = &args[i];
        let val = args.get(i + 1);
        let (min, max) = match opt.text.as_str() {
            "id" => (0, 255),
            "maxlen" => (1, 65535 - 20 - 8),
            "port" => (1, 65535),
            "ttl" => (1, 255),
            "group" | "inst" => (0, 0),
            _ => {
                if i == 1 {
                    d.instance = Some(opt.text.clone());
                } else if i == 2
                    && let Ok(v) = value::read_unsigned(&opt.text, 0, 255)
                {
                    cx.warn(
                        DiagKind::Deprecated,
                        opt.pos,
                        opt.text.clone(),
                        "Please use keyword \"id\" before lvs_sync_daemon SYNCID",
                    );
                    d.id = Some(v as u8);
                } else {
                    cx.error(
                        DiagKind::InvalidValue,
                        opt.pos,
                        opt.text.clone(),
                        format!("Unknown option {} specified for lvs_sync_daemon", opt.text),
                    );
                }
                i += 1;
                continue;
            }
        };
        let Some(v) = val else {
            cx.error(
                DiagKind::MissingParameter,
                opt.pos,
                opt.text.clone(),
                format!("No value specified for lvs_sync_daemon {}", opt.text),
            );
            break;
        };
        match opt.text.as_str() {
            "inst" => d.instance = Some(v.text.clone()),
            "group" => match value::parse_ip(&v.text) {
                Some(a) if a.is_multicast() => d.group = Some(a),
                Some(_) => {
                    cx.error(
                        DiagKind::InvalidAddress,
                        v.pos,
                        v.text.clone(),
                        format!(
                            "lvs_sync_daemon group address {} is not multicast - ignoring",
                            v.text
                        ),
                    );
                }
                None => cx.bad_address(v, "Invalid lvs_sync_daemon group ({}) - ignoring"),
            },
            o => match value::read_unsigned(&v.text, min, max) {
                Ok(x) => match o {
                    "id" => d.id = Some(x as u8),
                    "maxlen" => d.maxlen = Some(x as u16),
                    "port" => d.port = Some(x as u16),
                    _ => d.ttl = Some(x as u8),
                },
                Err(e) => cx.bad_number(n, v, e, "keepalived ignores it"),
            },
        }
        i += 2;
    }
    *out = Some(d);
}

//! `vrrp_instance`, and the adjustments keepalived makes once the whole
//! config is read (`vrrp_complete_instance`, `check_vrid_conflicts`,
//! `vrrp_sync_set_group`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::track::{block_name, track_interfaces, tracked_refs};
use super::{Builder, Cx, addr};
use crate::config::diag::{DiagKind, Severity};
use crate::config::keywords::Ctx;
use crate::config::model::vrrp::{
    AuthType, Authentication, Family, UnicastPeer, Vmac, VrrpInstance, VrrpState,
};
use crate::config::parser::Node;
use crate::config::text::Pos;
use crate::config::value;

/// What was written in an instance, for the defaults that depend on the
/// rest of the config.
#[derive(Default)]
pub(crate) struct Draft {
    state: Option<VrrpState>,
    state_pos: Pos,
    priority: Option<u8>,
    advert_us: Option<(u64, Pos, String)>,
    version: Option<u8>,
    family: Option<Family>,
    strict: Option<bool>,
    accept: Option<bool>,
    smtp_alert: Option<bool>,
    lower_prio_no_advert: Option<bool>,
    higher_prio_send_advert: Option<bool>,
    nopreempt_pos: Option<Pos>,
    preempt_delay_pos: Option<Pos>,
    unicast_configured: Option<Pos>,
    unicast_ttl_pos: Option<Pos>,
    auth_type: Option<(AuthType, Pos)>,
    auth_pass: Option<String>,
    interface_pos: Option<Pos>,
    down_timer_pos: Option<Pos>,
}

const U32_SECS: u64 = (u32::MAX / 1_000_000) as u64;

/// Sets the instance family from an address, or reports a mismatch.
fn family_of(
    cx: &mut Cx,
    d: &mut Draft,
    iname: &str,
    a: &IpAddr,
    pos: Pos,
    text: &str,
    what: &str,
) -> bool {
    let f = Family::of(a);
    match d.family {
        None => {
            d.family = Some(f);
            true
        }
        Some(x) if x == f => true,
        Some(_) => {
            cx.error(DiagKind::InvalidAddress, pos, text, format!("Configuration error: VRRP instance[{iname}] and {what} [{text}] MUST be of the same family !!! Skipping..."));
            false
        }
    }
}

pub(crate) fn vrrp_instance(b: &mut Builder, n: &Node) {
    let Some(name) = block_name(b.cx, n, "vrrp_instance must have a name") else {
        return;
    };
    if !b.instance_names.insert(name.text.clone()) {
        b.cx.error(
            DiagKind::Duplicate,
            name.pos,
            name.text.clone(),
            format!("vrrp instance {} already defined", name.text),
        )
        .hint = Some("keepalived skips this whole block".into());
        return;
    }
    let g = b.cfg.global.clone();
    let mut v = VrrpInstance::new(&name.text);
    v.at = name.pos;
    v.garp_master_delay = g.vrrp_garp_master_delay;
    v.garp_master_repeat = g.vrrp_garp_master_repeat;
    v.garp_master_refresh = g.vrrp_garp_master_refresh;
    v.garp_master_refresh_repeat = g.vrrp_garp_master_refresh_repeat;
    v.down_timer_adverts = g.vrrp_down_timer_adverts;
    v.skip_check_adv_addr = g.vrrp_skip_check_adv_addr;
    let mut d = Draft::default();
    let Some(block) = b.cx.block(n) else { return };
    let iname = name.text.clone();
    for l in &block.nodes {
        let cx = &mut *b.cx;
        let kw = l.keyword();
        match kw {
            "state" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                d.state_pos = w.pos;
                match w.text.as_str() {
                    "MASTER" => d.state = Some(VrrpState::Master),
                    "BACKUP" => {
                        if d.state == Some(VrrpState::Master) {
                            cx.warn(
                                DiagKind::Conflict,
                                w.pos,
                                "BACKUP",
                                format!(
                                    "({iname}) state previously set as MASTER - ignoring BACKUP"
                                ),
                            );
                        } else {
                            d.state = Some(VrrpState::Backup);
                        }
                    }
                    other => {
                        let hint = if other.eq_ignore_ascii_case("master")
                            || other.eq_ignore_ascii_case("backup")
                        {
                            format!("write it in capitals: {}", other.to_ascii_uppercase())
                        } else {
                            "use MASTER or BACKUP".into()
                        };
                        cx.error(
                            DiagKind::InvalidValue,
                            w.pos,
                            other,
                            format!("({iname}) unknown state '{other}', defaulting to BACKUP"),
                        )
                        .hint = Some(hint);
                        d.state = Some(VrrpState::Backup);
                    }
                }
            }
            "interface" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                if w.text.chars().count() >= 16 {
                    cx.error(
                        DiagKind::InvalidValue,
                        w.pos,
                        w.text.clone(),
                        format!("Interface name '{}' too long - ignoring", w.text),
                    );
                    continue;
                }
                if w.text == "lo" {
                    cx.error(
                        DiagKind::InvalidValue,
                        w.pos,
                        "lo",
                        format!(
                            "({iname}) cannot use a loopback interface (lo) for vrrp - ignoring"
                        ),
                    );
                    continue;
                }
                cx.interface(w, |i| {
                    format!("WARNING - interface {i} for vrrp_instance {iname} doesn't exist")
                });
                d.interface_pos = Some(w.pos);
                v.interface = Some(w.text.clone());
            }
            "virtual_router_id" => {
                if let Some(x) = cx.uint(
                    l,
                    0,
                    1,
                    255,
                    &format!("({iname}): VRID must be between 1 & 255"),
                ) {
                    v.virtual_router_id = x as u8;
                }
                cx.extra(l, 1);
            }
            "priority" => {
                match cx.uint(
                    l,
                    0,
                    1,
                    255,
                    &format!(
                        "({iname}) Priority not valid! must be between 1 & 255. Using default 100"
                    ),
                ) {
                    Some(x) => d.priority = Some(x as u8),
                    None if l.arg(0).is_some() => d.priority = Some(100),
                    None => {}
                }
                cx.extra(l, 1);
            }
            "advert_int" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                match value::read_decimal(&w.text, 10_000, 255_000_000, value::TIMER_DIGITS) {
                    Ok((us, warn)) => {
                        if let Some(m) = warn {
                            cx.warn(
                                DiagKind::Adjusted,
                                w.pos,
                                w.text.clone(),
                                format!("advert_int: {m}"),
                            );
                        }
                        d.advert_us = Some((us, w.pos, w.text.clone()));
                    }
                    Err(e) => {
                        cx.error(
                            DiagKind::InvalidNumber,
                            w.pos,
                            w.text.clone(),
                            format!(
                                "({iname}) Advert interval ({}) not valid! Must be > 0 - ignoring",
                                w.text
                            ),
                        )
                        .hint = Some(format!("{e}; the default is 1 second"));
                    }
                }
            }
            "version" => {
                let Some(x) = cx.int(
                    l,
                    0,
                    2,
                    3,
                    &format!("({iname}): Version must be either 2 or 3"),
                ) else {
                    continue;
                };
                cx.extra(l, 1);
                if d.version.is_some_and(|p| p != x as u8)
                    || (x == 2 && d.family == Some(Family::Inet6))
                {
                    cx.error(DiagKind::Conflict, l.pos(), l.text.clone(), format!("({iname}) vrrp_version {x} conflicts with configured or deduced version; ignoring."));
                } else {
                    d.version = Some(x as u8);
                }
            }
            "nopreempt" => {
                cx.extra(l, 0);
                v.nopreempt = true;
                d.nopreempt_pos = Some(l.pos());
            }
            "preempt" => {
                cx.extra(l, 0);
                v.nopreempt = false;
                d.nopreempt_pos = None;
            }
            "preempt_delay" => {
                match cx.timer(
                    l,
                    0,
                    0,
                    1000 * 1_000_000,
                    &format!("({iname}) Preempt_delay not valid! must be between 0-1000"),
                ) {
                    Some(t) => {
                        v.preempt_delay = t;
                        d.preempt_delay_pos = Some(l.pos());
                    }
                    None => v.preempt_delay = Duration::ZERO,
                }
                cx.extra(l, 1);
            }
            "authentication" => {
                cx.extra(l, 0);
                if let Some(bl) = cx.block(l) {
                    for a in &bl.nodes {
                        match a.keyword() {
                            "auth_type" => {
                                let msg = format!("({iname}) unknown authentication type '{{}}'");
                                let Some(t) = cx.choice(a, 0, &["PASS", "AH"], &msg) else {
                                    continue;
                                };
                                let pos = a.words[1].pos;
                                d.auth_type = Some((
                                    if t == "AH" {
                                        AuthType::Ah
                                    } else {
                                        AuthType::Pass
                                    },
                                    pos,
                                ));
                                cx.extra(a, 1);
                            }
                            "auth_pass" => {
                                let Some(w) = cx.arg(a, 0) else { continue };
                                cx.extra(a, 1);
                                let mut p = w.text.clone();
                                if p.len() > 8 {
                                    let cut: String = p.bytes().take(8).map(char::from).collect();
                                    cx.warn(
                                        DiagKind::Adjusted,
                                        w.pos,
                                        w.text.clone(),
                                        "Truncating auth_pass to 8 characters",
                                    )
                                    .hint = Some(format!(
                                        "only '{cut}' is used; peers must use the same first 8 characters"
                                    ));
                                    p = cut;
                                }
                                d.auth_pass = Some(p);
                            }
                            _ => {
                                cx.unknown(a, Ctx::Authentication);
                                continue;
                            }
                        }
                        cx.no_block(a, Ctx::Authentication);
                    }
                }
                continue;
            }
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                for (a, w) in addr::address_lines(cx, l, false) {
                    if kw == "virtual_ipaddress_excluded" {
                        v.virtual_ipaddress_excluded.push(a);
                    } else if family_of_vip(cx, &mut d, &iname, &a.addr, w.pos, &w.text) {
                        v.virtual_ipaddress.push(a);
                    }
                }
                continue;
            }
            "virtual_routes" => {
                addr::route_block(cx, l, false, &mut v.virtual_routes);
                continue;
            }
            "virtual_rules" => {
                addr::rule_block(cx, l, false, &mut v.virtual_rules);
                continue;
            }
            "track_interface" => {
                v.track_interface =
                    track_interfaces(cx, l, &iname, std::mem::take(&mut v.track_interface));
                continue;
            }
            "track_script" => {
                tracked_refs(cx, &b.cfg, &b.later, l, &iname, &mut v.track_script);
                continue;
            }
            "track_file" => {
                tracked_refs(cx, &b.cfg, &b.later, l, &iname, &mut v.track_file);
                continue;
            }
            "track_process" => {
                tracked_refs(cx, &b.cfg, &b.later, l, &iname, &mut v.track_process);
                continue;
            }
            "dont_track_primary" => v.dont_track_primary = true,
            "track_src_ip" => v.track_src_ip = true,
            "mcast_src_ip" | "unicast_src_ip" => {
                if kw == "unicast_src_ip" {
                    d.unicast_configured.get_or_insert(l.pos());
                }
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                match value::parse_ip(&w.text) {
                    Some(a) => {
                        if family_of(cx, &mut d, &iname, &a, w.pos, &w.text, "src address") {
                            if kw == "unicast_src_ip" {
                                v.unicast_src_ip = Some(a);
                            } else {
                                v.mcast_src_ip = Some(a);
                            }
                        }
                    }
                    None => cx.bad_address(w, &format!("Configuration error: VRRP instance[{iname}] malformed src address[{{}}]. Skipping...")),
                }
            }
            "mcast_dst_ip" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                match value::parse_ip(&w.text) {
                    Some(a) => {
                        let ok = match a {
                            IpAddr::V4(x) => x.is_multicast(),
                            IpAddr::V6(x) => x.segments()[0] & 0xff0f == 0xff02,
                        };
                        if !ok {
                            cx.error(
                                DiagKind::InvalidAddress,
                                w.pos,
                                w.text.clone(),
                                format!(
                                    "({iname}) mcast_dst_ip {} not{} multicast. Skipping...",
                                    w.text,
                                    if a.is_ipv6() { " link-local" } else { "" }
                                ),
                            );
                        } else if family_of(
                            cx,
                            &mut d,
                            &iname,
                            &a,
                            w.pos,
                            &w.text,
                            "mcast dest address",
                        ) {
                            v.mcast_dst_ip = Some(a);
                        }
                    }
                    None => cx.bad_address(
                        w,
                        &format!("({iname}) malformed mcast dest address {{}}. Skipping..."),
                    ),
                }
            }
            "unicast_peer" => {
                d.unicast_configured.get_or_insert(l.pos());
                cx.extra(l, 0);
                let Some(bl) = cx.block(l) else { continue };
                for p in &bl.nodes {
                    cx.no_block(p, Ctx::VrrpInstance);
                    let Some(w) = p.words.first() else { continue };
                    let Some(a) = value::parse_ip(&w.text) else {
                        cx.bad_address(w, &format!("Configuration error: VRRP instance[{iname}] malformed unicast peer address[{{}}]. Skipping..."));
                        continue;
                    };
                    if !family_of(
                        cx,
                        &mut d,
                        &iname,
                        &a,
                        w.pos,
                        &w.text,
                        "unicast peer address",
                    ) {
                        continue;
                    }
                    let mut peer = UnicastPeer {
                        addr: a,
                        min_ttl: None,
                        max_ttl: None,
                    };
                    let opts = p.args();
                    let mut i = 0;
                    while i < opts.len() {
                        let o = &opts[i];
                        let Some(val) = opts.get(i + 1) else {
                            let d = cx.warn(
                                DiagKind::ExtraWords,
                                o.pos,
                                o.text.clone(),
                                format!("({iname}) {} is missing a value", o.text),
                            );
                            if value::parse_ip(&o.text).is_some() {
                                d.hint = Some(format!(
                                    "one peer per line: put '{}' on a line of its own",
                                    o.text
                                ));
                            }
                            break;
                        };
                        match value::read_unsigned(&val.text, 0, 255) {
                            Ok(t) => {
                                match o.text.as_str() {
                                    "min_ttl" => peer.min_ttl = Some(t as u8),
                                    "max_ttl" => peer.max_ttl = Some(t as u8),
                                    _ => {
                                        cx.warn(DiagKind::ExtraWords, o.pos, o.text.clone(), format!("({iname}) unknown unicast_peer option {}", o.text))
                                        .hint = Some("one peer per line; options are min_ttl N and max_ttl N".into());
                                        break;
                                    }
                                }
                            }
                            Err(e) => cx.bad_number(p, val, e, "keepalived ignores it"),
                        }
                        i += 2;
                    }
                    if peer.min_ttl.unwrap_or(0) > peer.max_ttl.unwrap_or(255) {
                        cx.warn(
                            DiagKind::Conflict,
                            w.pos,
                            w.text.clone(),
                            format!(
                                "({iname}) min_ttl {} > max_ttl {} - all packets will be discarded",
                                peer.min_ttl.unwrap_or(0),
                                peer.max_ttl.unwrap_or(255)
                            ),
                        );
                    }
                    if peer.min_ttl.is_some() || peer.max_ttl.is_some() {
                        v.check_unicast_src = true;
                    }
                    v.unicast_peer.push(peer);
                }
                continue;
            }
            "unicast_ttl" => {
                if let Some(x) = cx.uint(
                    l,
                    0,
                    0,
                    255,
                    &format!("({iname}): TTL not valid - must be between 0 & 255"),
                ) {
                    v.unicast_ttl = Some(x as u8);
                    d.unicast_ttl_pos = Some(l.pos());
                }
                cx.extra(l, 1);
            }
            "unicast_fault_no_peer" => {
                d.unicast_configured.get_or_insert(l.pos());
                v.unicast_fault_no_peer = true;
            }
            "check_unicast_src" => {
                d.unicast_configured.get_or_insert(l.pos());
                v.check_unicast_src = true;
            }
            "native_ipv6" => {
                if d.family == Some(Family::Inet) {
                    cx.error(
                        DiagKind::Conflict,
                        l.pos(),
                        l.text.clone(),
                        format!("({iname}) Cannot specify native_ipv6 with IPv4 addresses"),
                    );
                } else {
                    v.native_ipv6 = true;
                    d.family = Some(Family::Inet6);
                    d.version = Some(3);
                }
            }
            "garp_master_delay" => {
                if let Some(t) = cx.secs(l, 0, 0, U32_SECS, "keepalived ignores it") {
                    v.garp_master_delay = t;
                }
                cx.extra(l, 1);
            }
            "garp_master_refresh" => {
                v.garp_master_refresh = cx
                    .secs(
                        l,
                        0,
                        0,
                        u64::from(u32::MAX),
                        "keepalived uses 0 (no refresh)",
                    )
                    .unwrap_or(Duration::ZERO);
                cx.extra(l, 1);
            }
            "garp_master_repeat" | "garp_master_refresh_repeat" => {
                if let Some(r) = cx.uint(l, 0, 0, u64::from(u32::MAX), "keepalived ignores it") {
                    let r = if r == 0 {
                        cx.warn(
                            DiagKind::Adjusted,
                            l.pos(),
                            l.text.clone(),
                            format!("({iname}): {kw} must be greater than 0, setting to 1"),
                        );
                        1
                    } else {
                        r as u32
                    };
                    if kw == "garp_master_repeat" {
                        v.garp_master_repeat = r;
                    } else {
                        v.garp_master_refresh_repeat = r;
                    }
                }
                cx.extra(l, 1);
            }
            "garp_lower_prio_delay" => {
                if let Some(t) = cx.secs(l, 0, 0, U32_SECS, "keepalived ignores it") {
                    v.garp_lower_prio_delay = Some(t);
                }
                cx.extra(l, 1);
            }
            "garp_lower_prio_repeat" => {
                if let Some(r) = cx.uint(l, 0, 0, i32::MAX as u64, "keepalived ignores it") {
                    v.garp_lower_prio_repeat = Some(r as u32);
                }
                cx.extra(l, 1);
            }
            "down_timer_adverts" => {
                if let Some(r) = cx.uint(
                    l,
                    0,
                    1,
                    100,
                    &format!("({iname}): Invalid down_timer_adverts [1:100]"),
                ) {
                    v.down_timer_adverts = r as u32;
                    d.down_timer_pos = Some(l.pos());
                }
                cx.extra(l, 1);
            }
            "accept" => d.accept = Some(true),
            "no_accept" => d.accept = Some(false),
            "use_vmac" => {
                let mut vm = Vmac::default();
                for w in l.args().iter().take(2) {
                    if w.text.contains(':') {
                        if let Some(why) = vmac_mac_fault(&w.text) {
                            cx.error(
                                DiagKind::InvalidValue,
                                w.pos,
                                w.text.clone(),
                                format!("VMAC {why} {} - ignoring", w.text),
                            )
                            .hint = Some(
                                "write six octets (02:00:00:00:00:01), or five to end in the VRID"
                                    .into(),
                            );
                        } else {
                            vm.mac = Some(w.text.clone());
                        }
                    } else if w.text.chars().count() >= 16 || w.text.contains(['/', ':']) {
                        cx.error(DiagKind::InvalidValue, w.pos, w.text.clone(), format!("VMAC interface name '{}' too long or invalid characters - ignoring", w.text));
                    } else {
                        vm.interface = Some(w.text.clone());
                    }
                }
                cx.extra(l, 2);
                v.use_vmac = Some(vm);
            }
            "use_vmac_addr" => v.use_vmac_addr = true,
            "vmac_xmit_base" => v.vmac_xmit_base = true,
            "skip_check_adv_addr" => {
                if let Some(x) = cx.flag(l, &format!("({iname}) skip_check_adv_addr")) {
                    v.skip_check_adv_addr = x || l.arg(0).is_some();
                }
            }
            "strict_mode" => d.strict = cx.flag(l, &format!("({iname}) strict_mode")).or(d.strict),
            "promote_secondaries" => v.promote_secondaries = true,
            "lower_prio_no_advert" => {
                d.lower_prio_no_advert = cx
                    .flag(l, &format!("({iname}) lower_prio_no_advert"))
                    .or(d.lower_prio_no_advert)
            }
            "higher_prio_send_advert" => {
                d.higher_prio_send_advert = cx
                    .flag(l, &format!("({iname}) higher_prio_send_advert"))
                    .or(d.higher_prio_send_advert)
            }
            "notify_master"
            | "notify_backup"
            | "notify_fault"
            | "notify_stop"
            | "notify_deleted"
            | "notify_master_rx_lower_pri"
            | "notify" => {
                let slot = match kw {
                    "notify_master" => &mut v.notify_master,
                    "notify_backup" => &mut v.notify_backup,
                    "notify_fault" => &mut v.notify_fault,
                    "notify_stop" => &mut v.notify_stop,
                    "notify_deleted" => &mut v.notify_deleted,
                    "notify_master_rx_lower_pri" => &mut v.notify_master_rx_lower_pri,
                    _ => &mut v.notify,
                };
                if slot.is_some() {
                    let w = l.arg(0).map_or("", |w| w.text.as_str());
                    cx.error(
                        DiagKind::Duplicate,
                        l.pos(),
                        l.text.clone(),
                        format!("({iname}) {kw} script already specified - ignoring {w}"),
                    );
                } else if kw == "notify_deleted" && l.arg(0).is_none() {
                    // notify_deleted alone only asks for the deleted state in notifications.
                } else {
                    *slot = cx.script(l);
                }
            }
            "smtp_alert" => d.smtp_alert = cx.flag(l, "vrrp_instance smtp_alert").or(d.smtp_alert),
            "notify_priority_changes" => {
                v.notify_priority_changes = cx
                    .flag(l, &format!("({iname}) notify_priority_changes"))
                    .or(v.notify_priority_changes)
            }
            "debug" => {
                if let Some(x) = cx.uint(
                    l,
                    0,
                    0,
                    4,
                    &format!("({iname}) Debug value not valid; must be between 0-4"),
                ) {
                    v.debug = x as u8;
                }
                cx.extra(l, 1);
            }
            "lvs_sync_daemon_interface" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                cx.emit(Severity::Warning, DiagKind::Deprecated, l.pos(), l.text.clone(), format!("({iname}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated."))
                    .hint = Some(format!("use `lvs_sync_daemon {} {iname}` in global_defs", w.text));
                v.lvs_sync_daemon_interface = Some(w.text.clone());
            }
            "kernel_rx_buf_size" => {
                if let Some(x) = cx.uint(
                    l,
                    0,
                    0,
                    u64::from(u32::MAX),
                    &format!("({iname}) invalid kernel_rx_buf_size specified"),
                ) {
                    v.kernel_rx_buf_size = Some(x as u32);
                }
                cx.extra(l, 1);
            }
            _ => {
                cx.other(l, Ctx::VrrpInstance, &mut v.unmodelled);
                continue;
            }
        }
        b.cx.no_block(l, Ctx::VrrpInstance);
    }
    b.cfg.instances.push(v);
    b.drafts.push(d);
}

fn family_of_vip(
    cx: &mut Cx,
    d: &mut Draft,
    iname: &str,
    a: &IpAddr,
    pos: Pos,
    text: &str,
) -> bool {
    let f = Family::of(a);
    match d.family {
        None => {
            d.family = Some(f);
            true
        }
        Some(x) if x == f => true,
        Some(_) => {
            cx.error(DiagKind::InvalidAddress, pos, text, format!("({iname}): address family must match VRRP instance [{text}] - ignoring"))
                .hint = Some("put addresses of the other family in virtual_ipaddress_excluded, or in another instance".into());
            false
        }
    }
}

/// The defaults and adjustments keepalived applies after reading everything.
pub(crate) fn finish(b: &mut Builder) {
    let g = b.cfg.global.clone();
    let drafts = std::mem::take(&mut b.drafts);
    for (v, d) in b.cfg.instances.iter_mut().zip(drafts.iter()) {
        complete_instance(b.cx, &g, v, d);
    }
    vrid_conflicts(b);
    vmac_names(b);
    sync_groups(b);
}

/// A VMAC interface name already taken by an earlier instance is dropped,
/// as keepalived's `use_vmac` handler does: the instance gets a default name.
fn vmac_names(b: &mut Builder) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for v in &mut b.cfg.instances {
        let Some(vm) = &mut v.use_vmac else { continue };
        let Some(name) = vm.interface.clone() else {
            continue;
        };
        match seen.get(&name) {
            Some(other) => {
                b.cx.error(
                    DiagKind::Duplicate,
                    v.at,
                    name.clone(),
                    format!(
                        "({}) VRRP instance {other} is already using {name} - ignoring name",
                        v.name
                    ),
                );
                vm.interface = None;
            }
            None => {
                seen.insert(name, v.name.clone());
            }
        }
    }
}

fn complete_instance(
    cx: &mut Cx,
    g: &crate::config::model::GlobalDefs,
    v: &mut VrrpInstance,
    d: &Draft,
) {
    let iname = v.name.clone();
    let at = v.at;
    v.strict_mode = d.strict.unwrap_or(g.vrrp_strict);
    let strict = v.strict_mode;
    v.family = d.family.unwrap_or(Family::Inet);
    v.version = match (v.family, d.version) {
        (Family::Inet6, Some(2)) if strict => {
            cx.warn(
                DiagKind::Conflict,
                at,
                iname.clone(),
                format!("({iname}) cannot use IPv6 with VRRP version 2; setting version 3"),
            );
            3
        }
        (_, Some(x)) => x,
        (Family::Inet6, None) => 3,
        (Family::Inet, None) => g.vrrp_version,
    };
    if v.virtual_router_id == 0 {
        cx.error(
            DiagKind::MissingSetting,
            at,
            iname.clone(),
            format!("({iname}) the virtual router id must be set"),
        )
        .hint = Some(
            "add `virtual_router_id N` (1..255), the same on every router of this instance".into(),
        );
    }
    if v.interface.is_none() && v.unicast_peer.is_empty() {
        cx.error(
            DiagKind::MissingSetting,
            at,
            iname.clone(),
            format!("({iname}) Unknown interface!"),
        )
        .hint = Some("add `interface IFNAME`".into());
    } else if v.interface.is_none() && v.src_ip().is_none() {
        cx.error(
            DiagKind::MissingSetting,
            at,
            iname.clone(),
            format!("({iname}): Unicast instances must have unicast_src_ip or interface"),
        );
    }
    if v.virtual_ipaddress.is_empty() {
        if v.version == 3 || strict {
            cx.error(
                DiagKind::MissingSetting,
                at,
                iname.clone(),
                format!("({iname}) No VIP specified; at least one is required"),
            );
        } else {
            cx.warn(
                DiagKind::MissingSetting,
                at,
                iname.clone(),
                format!("({iname}) No VIP specified; at least one is sensible"),
            );
        }
    }
    v.priority = d.priority.unwrap_or(if d.state == Some(VrrpState::Master) {
        255
    } else {
        100
    });
    v.state = match d.state {
        None => {
            if v.priority == 255 {
                VrrpState::Master
            } else {
                VrrpState::Backup
            }
        }
        Some(s) => {
            if strict && ((s == VrrpState::Master) != (v.priority == 255)) {
                let written = if s == VrrpState::Master {
                    "MASTER"
                } else {
                    "BACKUP"
                };
                cx.warn(
                    DiagKind::Conflict,
                    d.state_pos,
                    written,
                    format!("({iname}) State MASTER must match being address owner"),
                );
                if v.priority == 255 {
                    VrrpState::Master
                } else {
                    VrrpState::Backup
                }
            } else {
                s
            }
        }
    };
    // Authentication (VRRPv2 only).
    if let Some((t, pos)) = d.auth_type {
        let tname = match t {
            AuthType::Pass => "PASS",
            AuthType::Ah => "AH",
        };
        let ignore = if strict {
            Some((
                format!("({iname}) Strict mode does not support authentication. Ignoring."),
                "RFC 5798 has no authentication: remove the authentication block",
            ))
        } else if v.version == 3 {
            Some((
                format!("({iname}) VRRP version 3 does not support authentication. Ignoring."),
                "remove the authentication block, or use `version 2` if the peers authenticate",
            ))
        } else if d.auth_pass.as_deref().unwrap_or("").is_empty() {
            Some((
                format!("({iname}) Authentication specified but no password given. Ignoring"),
                "add `auth_pass PASSWORD` (up to 8 characters) to the authentication block",
            ))
        } else if v.family == Family::Inet6 && t == AuthType::Ah {
            Some((
                format!("({iname}) Cannot use AH authentication with IPv6. ignoring"),
                "AH is IPv4 only",
            ))
        } else {
            None
        };
        match ignore {
            Some((m, hint)) => {
                cx.warn(DiagKind::Conflict, pos, tname, m).hint = Some(hint.into());
            }
            None => {
                if t == AuthType::Ah && v.state == VrrpState::Master && v.priority != 255 {
                    cx.warn(DiagKind::Conflict, pos, tname, format!("({iname}) Initial state master is incompatible with AH authentication - clearing"));
                    v.state = VrrpState::Backup;
                }
                v.authentication = Some(Authentication {
                    auth_type: t,
                    auth_pass: d.auth_pass.clone().unwrap_or_default(),
                });
            }
        }
    }
    if let Some(pos) = d.unicast_configured
        && v.unicast_peer.is_empty()
        && !v.unicast_fault_no_peer
    {
        cx.emit(Severity::Warning, DiagKind::Deprecated, pos, iname.clone(), format!("({iname}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."));
    }
    if let Some(pos) = d.unicast_ttl_pos
        && v.unicast_peer.is_empty()
    {
        cx.warn(
            DiagKind::Conflict,
            pos,
            iname.clone(),
            format!("({iname}): Cannot use unicast_ttl without unicast peers - resetting"),
        );
        v.unicast_ttl = None;
    }
    // The VIPs must fit in one advert (default MTU 1500, count field 8 bits);
    // keepalived moves the rest to the excluded list.
    let max_addr = match v.family {
        Family::Inet => 255,
        Family::Inet6 => (1500 - 14 - 40 - 8) / 16,
    };
    if v.virtual_ipaddress.len() > max_addr {
        cx.warn(
            DiagKind::Adjusted,
            at,
            iname.clone(),
            format!(
                "({iname}) Number of VIPs ({}) exceeds maximum/space available in packet (max {max_addr} addresses) - excess moved to eVIPs",
                v.virtual_ipaddress.len()
            ),
        );
        let extra = v.virtual_ipaddress.split_off(max_addr);
        v.virtual_ipaddress_excluded.extend(extra);
    }
    if v.priority == 255
        && let Some(pos) = d.nopreempt_pos
        && v.nopreempt
    {
        cx.warn(
            DiagKind::Conflict,
            pos,
            "nopreempt",
            format!("({iname}) nopreempt is incompatible with priority 255. resetting nopreempt"),
        );
        v.nopreempt = false;
    }
    if v.state == VrrpState::Master {
        if v.nopreempt {
            let pos = d.nopreempt_pos.unwrap_or(at);
            cx.warn(DiagKind::Conflict, pos, "nopreempt", format!("({iname}) Warning - nopreempt will not work with initial state MASTER - clearing"))
                .hint = Some("nopreempt needs `state BACKUP` on every router (and the highest priority on the preferred one)".into());
            v.nopreempt = false;
        }
        if !v.preempt_delay.is_zero() {
            let pos = d.preempt_delay_pos.unwrap_or(at);
            cx.warn(DiagKind::Conflict, pos, "preempt_delay", format!("({iname}) Warning - preempt delay will not work with initial state MASTER - clearing"))
                .hint = Some("preempt_delay needs `state BACKUP`".into());
            v.preempt_delay = Duration::ZERO;
        }
    }
    if !v.preempt_delay.is_zero() {
        let pos = d.preempt_delay_pos.unwrap_or(at);
        if strict {
            cx.warn(
                DiagKind::Conflict,
                pos,
                "preempt_delay",
                format!("({iname}) preempt_delay is incompatible with strict mode - resetting"),
            );
            v.preempt_delay = Duration::ZERO;
        } else if v.nopreempt {
            cx.warn(
                DiagKind::Conflict,
                pos,
                "preempt_delay",
                format!("({iname}) preempt_delay is incompatible with nopreempt mode - resetting"),
            );
            v.preempt_delay = Duration::ZERO;
        }
    }
    if v.down_timer_adverts != 3 && strict {
        cx.warn(
            DiagKind::Conflict,
            d.down_timer_pos.unwrap_or(at),
            "down_timer_adverts",
            format!("({iname}) down_timer_adverts is incompatible with strict mode - resetting"),
        );
        v.down_timer_adverts = 3;
    }
    v.accept = d.accept.unwrap_or(v.priority == 255 || !strict);
    if v.accept && v.priority != 255 && strict && v.version == 2 {
        cx.warn(DiagKind::Conflict, at, iname.clone(), format!("({iname}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"));
        v.accept = false;
    }
    if v.is_unicast() && v.mcast_dst_ip.is_some() {
        cx.warn(
            DiagKind::Conflict,
            at,
            iname.clone(),
            format!("({iname}) multicast destination specified with unicast - ignoring"),
        );
        v.mcast_dst_ip = None;
    }
    if strict {
        if v.garp_lower_prio_repeat.is_some_and(|r| r != 0) {
            cx.warn(
                DiagKind::Conflict,
                at,
                iname.clone(),
                format!("({iname}) Strict mode requires no repeat garps. resetting"),
            );
        }
        v.garp_lower_prio_repeat = Some(0);
        if v.garp_lower_prio_delay.is_some_and(|t| !t.is_zero()) {
            cx.warn(
                DiagKind::Conflict,
                at,
                iname.clone(),
                format!("({iname}) Strict mode requires no repeat garp delay. resetting"),
            );
        }
        v.garp_lower_prio_delay = Some(Duration::ZERO);
    } else {
        v.garp_lower_prio_repeat = v.garp_lower_prio_repeat.or(g.vrrp_garp_lower_prio_repeat);
        v.garp_lower_prio_delay = v.garp_lower_prio_delay.or(g.vrrp_garp_lower_prio_delay);
    }
    v.lower_prio_no_advert = match d.lower_prio_no_advert {
        None => strict || g.vrrp_lower_prio_no_advert,
        Some(false) if strict => {
            cx.warn(
                DiagKind::Conflict,
                at,
                iname.clone(),
                format!("({iname}) Strict mode requires no lower priority advert. resetting"),
            );
            true
        }
        Some(x) => x,
    };
    v.higher_prio_send_advert = match d.higher_prio_send_advert {
        None => !strict && g.vrrp_higher_prio_send_advert,
        Some(true) if strict => {
            cx.warn(
                DiagKind::Conflict,
                at,
                iname.clone(),
                format!(
                    "({iname}) strict mode requires higher_prio_send_advert to be clear. resetting"
                ),
            );
            false
        }
        Some(x) => x,
    };
    v.smtp_alert = d
        .smtp_alert
        .or(g.smtp_alert_vrrp)
        .or(g.smtp_alert)
        .unwrap_or(false);
    // The advert interval, in microseconds as keepalived keeps it.
    let mut us = d.advert_us.as_ref().map_or(1_000_000, |a| a.0);
    let (pos, text) = d
        .advert_us
        .as_ref()
        .map_or((at, String::new()), |a| (a.1, a.2.clone()));
    if v.version == 2 {
        if !us.is_multiple_of(1_000_000) {
            cx.warn(
                DiagKind::Adjusted,
                pos,
                text.clone(),
                format!(
                    "({iname}) VRRPv2 advertisement interval {:.6}s must be an integer. rounding",
                    us as f64 / 1e6
                ),
            )
            .hint = Some(
                "VRRPv2 adverts carry whole seconds; use `version 3` for sub-second intervals"
                    .into(),
            );
            us = (us + 500_000) / 1_000_000 * 1_000_000;
            if us == 0 {
                us = 1_000_000;
            }
        }
    } else if us >= 4096 * 10_000 {
        cx.error(DiagKind::InvalidNumber, pos, text.clone(), format!("({iname}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s", us as f64 / 1e6));
        us = 4095 * 10_000;
    } else if !us.is_multiple_of(10_000) {
        cx.warn(DiagKind::Adjusted, pos, text, format!("({iname}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding", us as f64 / 1e6));
        us = (us + 5_000) / 10_000 * 10_000;
        if us == 0 {
            us = 10_000;
        }
    }
    v.advert_int_cs = (us / 10_000).min(u64::from(u16::MAX)) as u16;
    if v.family == Family::Inet6
        && !v.is_unicast()
        && let Some(first) = v.virtual_ipaddress.first()
        && let IpAddr::V6(a) = first.addr
        && a.segments()[0] & 0xffc0 != 0xfe80
    {
        let sev = if strict {
            Severity::Error
        } else {
            Severity::Note
        };
        cx.emit(
            sev,
            DiagKind::Conflict,
            at,
            iname.clone(),
            format!(
                "({iname}) the first IPv6 VIP address {} link local",
                if strict { "must be" } else { "should be" }
            ),
        );
    }
    complete_vmac(cx, v, d);
    // track_interface naming the instance's own interface.
    if let Some(ifname) = v.interface.clone() {
        let before = v.track_interface.len();
        v.track_interface.retain(|t| t.name != ifname);
        if v.track_interface.len() != before {
            cx.warn(
                DiagKind::Conflict,
                at,
                ifname.clone(),
                format!("({iname}) Ignoring track_interface {ifname} since own interface"),
            );
        }
    }
}

/// Why keepalived refuses a `use_vmac` MAC address, if it does.
fn vmac_mac_fault(text: &str) -> Option<&'static str> {
    let Some(mac) = value::parse_vmac_mac(text) else {
        return Some("invalid MAC address");
    };
    if mac[0] & 1 != 0 {
        Some("MAC address is multicast")
    } else if mac[..4] == [0, 0, 0x5e, 0] && matches!(mac[4], 1 | 2) {
        Some("MAC address not allowed to be RFC5798 address")
    } else {
        None
    }
}

/// keepalived's `use_vmac` adjustments (`vrrp_end_handler`,
/// `vrrp_complete_instance`): unicast adverts leave from the base
/// interface, strict mode takes the RFC's MAC and sends from the VMAC.
fn complete_vmac(cx: &mut Cx, v: &mut VrrpInstance, d: &Draft) {
    let iname = v.name.clone();
    let mut adjust = |v: &mut VrrpInstance, what: String| {
        cx.warn(DiagKind::Conflict, v.at, iname.clone(), what);
    };
    match &mut v.use_vmac {
        None if v.vmac_xmit_base => {
            v.vmac_xmit_base = false;
            adjust(
                v,
                format!("({iname}) vmac_xmit_base is only valid with a vmac"),
            );
        }
        None => {}
        Some(vm) => {
            let mac = v.strict_mode && vm.mac.take().is_some();
            if d.unicast_configured.is_some() && !v.vmac_xmit_base {
                v.vmac_xmit_base = true;
                adjust(
                    v,
                    format!("({iname}) unicast with use_vmac requires vmac_xmit_base - setting"),
                );
            }
            if mac {
                adjust(
                    v,
                    format!("({iname}): cannot specify MAC address with strict mode - clearing"),
                );
            }
            if v.strict_mode && v.vmac_xmit_base {
                v.vmac_xmit_base = false;
                adjust(
                    v,
                    format!("({iname}) xmit_base is incompatible with strict mode - resetting"),
                );
            }
        }
    }
}

/// Two instances with the same VRID, family and interface (and multicast
/// group), or unicast ones sharing a source and a peer.
fn vrid_conflicts(b: &mut Builder) {
    let g = &b.cfg.global;
    let list = &b.cfg.instances;
    // Only instances with the same VRID, family and mode can conflict (a
    // BTreeMap keeps the reporting order stable).
    let mut buckets: BTreeMap<(u8, Family, bool), Vec<usize>> = BTreeMap::new();
    for (i, v) in list.iter().enumerate() {
        if v.virtual_router_id != 0 {
            let key = (v.virtual_router_id, v.family, v.is_unicast());
            buckets.entry(key).or_default().push(i);
        }
    }
    let pairs = buckets.values().flat_map(|ix| {
        ix.iter()
            .enumerate()
            .flat_map(move |(k, &i)| ix[k + 1..].iter().map(move |&j| (i, j)))
    });
    for (i, j) in pairs {
        let (a, c) = (&list[i], &list[j]);
        {
            if a.is_unicast() {
                if let (Some(x), Some(y)) = (&a.interface, &c.interface)
                    && x != y
                {
                    continue;
                }
                if a.src_ip().is_some() && c.src_ip().is_some() && a.src_ip() != c.src_ip() {
                    continue;
                }
                if !a
                    .unicast_peer
                    .iter()
                    .any(|p| c.unicast_peer.iter().any(|q| q.addr == p.addr))
                {
                    continue;
                }
                b.cx.error(
                    DiagKind::DuplicateVrid,
                    c.at,
                    c.name.clone(),
                    format!(
                        "({}) duplicate VRID conflict with {} VRID {}",
                        a.name, c.name, a.virtual_router_id
                    ),
                )
                .hint = Some(format!(
                    "{} is at line {}; give one of them another virtual_router_id",
                    a.name, a.at.line
                ));
                continue;
            }
            let (Some(x), Some(y)) = (&a.interface, &c.interface) else {
                continue;
            };
            if x != y {
                continue;
            }
            let group = |v: &VrrpInstance| -> IpAddr {
                v.mcast_dst_ip.unwrap_or(match v.family {
                    Family::Inet => IpAddr::V4(g.vrrp_mcast_group4),
                    Family::Inet6 => IpAddr::V6(g.vrrp_mcast_group6),
                })
            };
            if group(a) != group(c) {
                continue;
            }
            let fam = if a.family == Family::Inet { 4 } else { 6 };
            b.cx.error(
                DiagKind::DuplicateVrid,
                c.at,
                c.name.clone(),
                format!(
                    "{} and {} both use VRID {} with IPv{fam} on interface {x}",
                    a.name, c.name, a.virtual_router_id
                ),
            )
            .hint = Some(format!(
                "{} is at line {}; give one of them another virtual_router_id",
                a.name, a.at.line
            ));
        }
    }
}

/// Resolves sync group members.
fn sync_groups(b: &mut Builder) {
    let mut groups = std::mem::take(&mut b.cfg.sync_groups);
    groups.retain_mut(|sg| {
        if sg.group.is_empty() {
            b.cx.error(DiagKind::MissingSetting, sg.at, sg.name.clone(), format!("Sync group {} has no virtual router(s). removing", sg.name));
            return false;
        }
        let mut members = Vec::new();
        let mut owner = None;
        let mut mixed = false;
        for name in &sg.group {
            let Some(inst) = b.cfg.instances.iter_mut().find(|i| &i.name == name) else {
                let names: Vec<&str> = b.cfg.instances.iter().map(|i| i.name.as_str()).collect();
                let hint = crate::config::suggest::closest(name, &names).map(|s| format!("did you mean '{s}'?"));
                b.cx.error(DiagKind::UndefinedReference, sg.at, name.clone(), format!("Virtual router {name} specified in sync group {} doesn't exist - ignoring", sg.name))
                    .hint = hint;
                continue;
            };
            if let Some(other) = &inst.sync_group {
                b.cx.error(DiagKind::Duplicate, sg.at, name.clone(), format!("Virtual router {name} cannot exist in more than one sync group; ignoring {}", sg.name))
                    .hint = Some(format!("it is already in {other}"));
                continue;
            }
            inst.sync_group = Some(sg.name.clone());
            let is_owner = inst.state == VrrpState::Master && inst.priority == 255;
            match owner {
                None => owner = Some(is_owner),
                Some(o) if o != is_owner => mixed = true,
                _ => {}
            }
            members.push(name.clone());
        }
        if mixed {
            b.cx.warn(DiagKind::Conflict, sg.at, sg.name.clone(), format!("Sync group {} has some member(s) as address owner and some not as address owner. This won't work.", sg.name));
        }
        if members.is_empty() {
            b.cx.error(DiagKind::UndefinedReference, sg.at, sg.name.clone(), format!("Sync group {}, no matching virtual router found in group declaration - removing", sg.name));
            return false;
        }
        if members.len() == 1 {
            b.cx.warn(DiagKind::MissingSetting, sg.at, sg.name.clone(), format!("Sync group {} has only 1 virtual router(s) - this probably isn't what you want", sg.name));
        }
        sg.group = members;
        true
    });
    b.cfg.sync_groups = groups;
}

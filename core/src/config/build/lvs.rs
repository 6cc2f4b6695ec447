//! `virtual_server`, `virtual_server_group` and `real_server`, and the
//! checks and defaults of keepalived's `validate_check_config`.

use std::net::IpAddr;
use std::time::Duration;

use super::check::checker;
use super::{Builder, Cx};
use crate::config::diag::{DiagKind, Severity};
use crate::config::keywords::{CHECKERS, Ctx};
use crate::config::model::lvs::{
    LvsMethod, Protocol, RealServer, Scheduler, SorryServer, VirtualServer, VirtualServerGroup,
    VsKey, VsgEntry,
};
use crate::config::parser::Node;
use crate::config::suggest;
use crate::config::text::Pos;
use crate::config::value;

/// Timer bounds keepalived uses (microseconds).
const MAX_US: u64 = u64::MAX / 2;

/// What was written in a virtual server, for `finish`.
pub(crate) struct VsDraft {
    sched: Option<Scheduler>,
    method: Option<LvsMethod>,
    protocol: Option<Protocol>,
    rs_written: Vec<RsDraft>,
    sorry_method: Option<LvsMethod>,
    checker_drafts: Vec<Vec<super::check::CheckDraft>>,
}

#[derive(Default, Clone)]
pub(crate) struct RsDraft {
    weight: Option<u32>,
    method: Option<LvsMethod>,
    inhibit: Option<bool>,
    alpha: Option<bool>,
    connect_timeout: Option<Duration>,
    delay_loop: Option<Duration>,
    smtp_alert: Option<bool>,
}

/// keepalived's `FMT_VS`: `[IP]:proto:port`, `FWM n` or `GROUP name`.
/// `retry`, `delay_before_retry` or `warmup` on a virtual or a real server:
/// a default its checkers inherit. A bad value keeps the previous one.
fn checker_default(
    cx: &mut Cx,
    l: &Node,
    retry: &mut Option<u32>,
    delay_before_retry: &mut Option<Duration>,
    warmup: &mut Option<Duration>,
) {
    let timer = |cx: &mut Cx| cx.timer(l, 0, 0, MAX_US, "keepalived ignores it");
    match l.keyword() {
        "retry" => {
            let v = cx.uint(l, 0, 1, u64::from(u32::MAX), "keepalived ignores it");
            *retry = v.map(|v| v as u32).or(*retry);
        }
        "delay_before_retry" => *delay_before_retry = timer(cx).or(*delay_before_retry),
        "warmup" => *warmup = timer(cx).or(*warmup),
        _ => return,
    }
    cx.extra(l, 1);
}

fn fmt_vs(key: &VsKey, proto: Option<Protocol>) -> String {
    match key {
        VsKey::Addr { ip, port } => {
            let p = proto.map_or("none", |p| match p {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
                Protocol::Sctp => "sctp",
            });
            format!("[{ip}]:{p}:{port}")
        }
        VsKey::Fwmark(m) => format!("FWM {m}"),
        VsKey::Group(g) => format!("[{g}]:0"),
    }
}

fn fmt_rs(ip: &IpAddr, port: u16, proto: Option<Protocol>) -> String {
    fmt_vs(&VsKey::Addr { ip: *ip, port }, proto)
}

/// `IP PORT` of a real or sorry server (`inet_stosockaddr`).
fn server_addr(cx: &mut Cx, n: &Node, what: &str) -> Option<(IpAddr, u16)> {
    let ipw = cx.arg(n, 0)?;
    // keepalived words the two messages differently (check_data.c:574, 869).
    let msg = |ip: &str, port: &str| {
        if what == "sorry server" {
            format!("Invalid sorry server IP address {ip} - skipping")
        } else {
            format!("Invalid {what} ip address/port {ip}/{port} - skipping")
        }
    };
    if value::parse_sock_ip(&ipw.text).is_none() {
        let p = n.arg(1).map_or("", |w| w.text.as_str());
        cx.error(
            DiagKind::InvalidAddress,
            ipw.pos,
            ipw.text.clone(),
            msg(&ipw.text, p),
        )
        .hint = Some(super::address_hint(&ipw.text));
        return None;
    }
    let port = match n.arg(1) {
        Some(p) => match value::read_port(&p.text) {
            Ok(v) => v,
            Err(_) => {
                cx.error(
                    DiagKind::InvalidAddress,
                    p.pos,
                    p.text.clone(),
                    msg(&ipw.text, &p.text),
                )
                .hint = Some("the port must be 1..65535".into());
                return None;
            }
        },
        None => 0,
    };
    match value::parse_sock_ip(&ipw.text) {
        Some(ip) => Some((ip, port)),
        None => {
            let p = n.arg(1).map_or("", |w| w.text.as_str());
            cx.error(
                DiagKind::InvalidAddress,
                ipw.pos,
                ipw.text.clone(),
                msg(&ipw.text, p),
            )
            .hint = Some(super::address_hint(&ipw.text));
            None
        }
    }
}

fn method(cx: &mut Cx, n: &Node, kind: &str) -> Option<LvsMethod> {
    let w = cx.arg(n, 0)?;
    match LvsMethod::from_name(&w.text) {
        Some(m) => {
            if m != LvsMethod::Tun {
                cx.extra(n, 1);
            }
            Some(m)
        }
        None => {
            let hint = match suggest::closest(&w.text, &["NAT", "DR", "TUN"]) {
                Some(s) if s.eq_ignore_ascii_case(&w.text) => format!("write it in capitals: {s}"),
                _ => "use NAT, DR or TUN".into(),
            };
            cx.error(
                DiagKind::InvalidValue,
                w.pos,
                w.text.clone(),
                format!(
                    "PARSER : unknown [{}] routing method for {kind} server.",
                    w.text
                ),
            )
            .hint = Some(hint);
            None
        }
    }
}

pub(crate) fn virtual_server(b: &mut Builder, n: &Node) {
    let cx = &mut *b.cx;
    let Some(first) = cx.arg(n, 0) else { return };
    let key = match first.text.as_str() {
        "group" => {
            let Some(g) = cx.arg(n, 1) else { return };
            VsKey::Group(g.text.clone())
        }
        "fwmark" => {
            let Some(m) = cx.uint(
                n,
                1,
                0,
                u64::from(u32::MAX),
                "keepalived skips this virtual server",
            ) else {
                return;
            };
            VsKey::Fwmark(m as u32)
        }
        _ => {
            let port_text = n.arg(1).map_or("", |w| w.text.as_str());
            let port = if port_text.is_empty() {
                Ok(0)
            } else {
                value::read_port(port_text)
            };
            match (value::parse_sock_ip(&first.text), port) {
                (Some(ip), Ok(port)) => VsKey::Addr { ip, port },
                _ => {
                    let sep = if port_text.is_empty() { "" } else { "/" };
                    cx.error(
                        DiagKind::InvalidAddress,
                        first.pos,
                        n.text.clone(),
                        format!(
                            "Invalid virtual server IP address{} {}{sep}{port_text} - skipping",
                            if port_text.is_empty() { "" } else { "/port" },
                            first.text
                        ),
                    )
                    .hint = Some(super::address_hint(&first.text));
                    return;
                }
            }
        }
    };
    cx.extra(n, 2);
    let mut vs = VirtualServer {
        at: first.pos,
        key,
        ip_family: None,
        delay_loop: Duration::from_secs(60),
        lb_algo: Scheduler::Wlc,
        lb_kind: LvsMethod::Nat,
        sched_flags: Vec::new(),
        persistence_timeout: 0,
        persistence_granularity: None,
        persistence_engine: None,
        protocol: None,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        sorry_server: None,
        inhibit_on_failure: false,
        alpha: false,
        omega: false,
        ha_suspend: false,
        virtualhost: None,
        connect_timeout: Duration::from_secs(5),
        retry: None,
        delay_before_retry: None,
        warmup: None,
        weight: 1,
        smtp_alert: false,
        real_servers: Vec::new(),
        unmodelled: Vec::new(),
    };
    let mut d = VsDraft {
        sched: None,
        method: None,
        protocol: None,
        rs_written: Vec::new(),
        sorry_method: None,
        checker_drafts: Vec::new(),
    };
    let mut smtp_alert = None;
    let Some(block) = cx.block(n) else { return };
    for l in &block.nodes {
        let kw = l.keyword();
        match kw {
            "ip_family" => {
                let msg = "unknown address family {}";
                if let Some(f) = cx.choice(l, 0, &["inet", "inet6"], msg) {
                    vs.ip_family = Some(f.to_string());
                }
                cx.extra(l, 1);
            }
            "retry" | "delay_before_retry" | "warmup" => {
                checker_default(
                    cx,
                    l,
                    &mut vs.retry,
                    &mut vs.delay_before_retry,
                    &mut vs.warmup,
                );
            }
            "connect_timeout" => {
                if let Some(t) = cx.timer(l, 0, 1, u64::from(u32::MAX), "keepalived ignores it") {
                    vs.connect_timeout = t;
                }
                cx.extra(l, 1);
            }
            "delay_loop" => {
                if let Some(t) = cx.timer(l, 0, 1, MAX_US, "keepalived ignores it") {
                    vs.delay_loop = t;
                }
                cx.extra(l, 1);
            }
            "inhibit_on_failure" => vs.inhibit_on_failure = true,
            "lb_algo" | "lvs_sched" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                match Scheduler::from_name(&w.text) {
                    Some(s) => d.sched = Some(s),
                    None => {
                        let names: Vec<&str> = Scheduler::ALL.iter().map(|(n, _)| *n).collect();
                        let hint = if w.text.contains('|') {
                            format!("pick one scheduler: {}", names.join(", "))
                        } else {
                            match suggest::closest(&w.text, &names) {
                                Some(s) => {
                                    format!("did you mean '{s}'? schedulers: {}", names.join(", "))
                                }
                                None => format!("schedulers: {}", names.join(", ")),
                            }
                        };
                        cx.error(
                            DiagKind::InvalidValue,
                            w.pos,
                            w.text.clone(),
                            format!("Invalid lvs_scheduler '{}' - ignoring", w.text),
                        )
                        .hint = Some(hint);
                    }
                }
            }
            "hashed" | "ops" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback"
            | "mh-port" | "mh-fallback" => {
                vs.sched_flags.push(kw.to_string());
            }
            "lb_kind" | "lvs_method" => {
                if let Some(m) = method(cx, l, "virtual") {
                    d.method = Some(m);
                }
            }
            "persistence_engine" => {
                if let Some(w) = cx.arg(l, 0) {
                    vs.persistence_engine = Some(w.text.clone());
                }
                cx.extra(l, 1);
            }
            "persistence_timeout" => {
                if l.arg(0).is_none() {
                    vs.persistence_timeout = 360;
                } else if let Some(t) = cx.uint(l, 0, 1, 86400 * 31, "persistence_timeout invalid")
                {
                    vs.persistence_timeout = t as u32;
                }
                cx.extra(l, 1);
            }
            "persistence_granularity" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                let ok = if w.text.contains('.') {
                    value::parse_ipv4(&w.text).is_some()
                } else {
                    value::read_unsigned(&w.text, 1, 128).is_ok()
                };
                if ok {
                    vs.persistence_granularity = Some(w.text.clone());
                    if vs.persistence_timeout == 0 {
                        vs.persistence_timeout = 360;
                    }
                } else {
                    cx.error(
                        DiagKind::InvalidValue,
                        w.pos,
                        w.text.clone(),
                        format!(
                            "Invalid {} persistence_granularity specified - {}",
                            if w.text.contains('.') { "IPv4" } else { "IPv6" },
                            w.text
                        ),
                    )
                    .hint = Some(
                        "a netmask such as 255.255.255.0 (IPv4) or a prefix length 1..128 (IPv6)"
                            .into(),
                    );
                }
            }
            "protocol" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                cx.extra(l, 1);
                match w.text.to_ascii_uppercase().as_str() {
                    "TCP" => d.protocol = Some(Protocol::Tcp),
                    "UDP" => d.protocol = Some(Protocol::Udp),
                    "SCTP" => d.protocol = Some(Protocol::Sctp),
                    _ => {
                        cx.error(
                            DiagKind::InvalidValue,
                            w.pos,
                            w.text.clone(),
                            format!("Unknown protocol {} - ignoring", w.text),
                        )
                        .hint = Some("use TCP, UDP or SCTP".into());
                    }
                }
            }
            "ha_suspend" => vs.ha_suspend = true,
            "smtp_alert" => smtp_alert = cx.flag(l, "virtual_server smtp_alert").or(smtp_alert),
            "virtualhost" => {
                if let Some(w) = cx.arg(l, 0) {
                    vs.virtualhost = Some(w.text.clone());
                }
                cx.extra(l, 1);
            }
            "alpha" => vs.alpha = true,
            "omega" => vs.omega = true,
            "quorum_up" | "quorum_down" => {
                let slot = if kw == "quorum_up" {
                    &mut vs.quorum_up
                } else {
                    &mut vs.quorum_down
                };
                if slot.is_some() {
                    cx.error(
                        DiagKind::Duplicate,
                        l.pos(),
                        l.text.clone(),
                        format!("{kw} script already specified - ignoring"),
                    );
                } else {
                    *slot = cx.script(l);
                }
            }
            "quorum" => {
                vs.quorum = cx
                    .uint(l, 0, 1, u64::from(u32::MAX), "keepalived sets it to 1")
                    .map_or(1, |v| v as u32);
                cx.extra(l, 1);
            }
            "hysteresis" => {
                if let Some(h) = cx.uint(l, 0, 0, u64::from(u32::MAX), "keepalived ignores it") {
                    vs.hysteresis = h as u32;
                }
                cx.extra(l, 1);
            }
            "weight" => {
                if let Some(w) = cx.uint(
                    l,
                    0,
                    1,
                    65535,
                    "Virtual server weight is outside range 1-65535 - keepalived ignores it",
                ) {
                    vs.weight = w as u32;
                }
                cx.extra(l, 1);
            }
            "sorry_server" => {
                if let Some((ip, port)) = server_addr(cx, l, "sorry server") {
                    vs.sorry_server = Some(SorryServer {
                        ip,
                        port,
                        inhibit: false,
                        lvs_method: None,
                    });
                }
                cx.extra(l, 2);
            }
            "sorry_server_inhibit" => match &mut vs.sorry_server {
                Some(s) => s.inhibit = true,
                None => {
                    cx.error(
                        DiagKind::Conflict,
                        l.pos(),
                        l.text.clone(),
                        "Ignoring sorry_server inhibit used before or without sorry_server",
                    );
                }
            },
            "sorry_server_lvs_method" => {
                if vs.sorry_server.is_none() {
                    cx.error(
                        DiagKind::Conflict,
                        l.pos(),
                        l.text.clone(),
                        "sorry_server forwarding used without sorry_server",
                    );
                } else {
                    d.sorry_method = method(cx, l, "sorry").or(d.sorry_method);
                }
            }
            "real_server" => {
                if let Some((rs, rd, cds)) = real_server(cx, l, &vs) {
                    vs.real_servers.push(rs);
                    d.rs_written.push(rd);
                    d.checker_drafts.push(cds);
                }
                continue;
            }
            _ => {
                cx.other(l, Ctx::VirtualServer, &mut vs.unmodelled);
                continue;
            }
        }
        cx.no_block(l, Ctx::VirtualServer);
    }
    if let Some(s) = smtp_alert {
        vs.smtp_alert = s;
    } else {
        vs.smtp_alert = b
            .cfg
            .global
            .smtp_alert_checker
            .or(b.cfg.global.smtp_alert)
            .unwrap_or(false);
    }
    b.cfg.virtual_servers.push(vs);
    b.vs_drafts.push(d);
}

/// A `real_server` block; its values are resolved against the virtual
/// server in `finish`.
fn real_server(
    cx: &mut Cx,
    n: &Node,
    vs: &VirtualServer,
) -> Option<(RealServer, RsDraft, Vec<super::check::CheckDraft>)> {
    let (ip, port) = server_addr(cx, n, "real server")?;
    cx.extra(n, 2);
    let at = n.pos();
    let mut rs = RealServer {
        at,
        ip,
        port,
        weight: 1,
        lvs_method: LvsMethod::Nat,
        inhibit_on_failure: false,
        notify_up: None,
        notify_down: None,
        uthreshold: None,
        lthreshold: None,
        alpha: false,
        connect_timeout: vs.connect_timeout,
        delay_loop: vs.delay_loop,
        retry: None,
        delay_before_retry: None,
        warmup: None,
        smtp_alert: true,
        virtualhost: None,
        checkers: Vec::new(),
        unmodelled: Vec::new(),
    };
    let mut d = RsDraft::default();
    let mut cds = Vec::new();
    let Some(block) = cx.block(n) else {
        return Some((rs, d, cds));
    };
    for l in &block.nodes {
        let kw = l.keyword();
        match kw {
            "weight" => {
                d.weight = cx
                    .uint(
                        l,
                        0,
                        0,
                        65535,
                        "Real server weight is outside range 0-65535 - keepalived ignores it",
                    )
                    .map(|v| v as u32)
                    .or(d.weight);
                cx.extra(l, 1);
            }
            "lvs_method" => d.method = method(cx, l, "real").or(d.method),
            "uthreshold" | "lthreshold" => {
                let v = cx
                    .uint(l, 0, 0, u64::from(u32::MAX), "keepalived ignores it")
                    .map(|v| v as u32);
                if kw == "uthreshold" {
                    rs.uthreshold = v.or(rs.uthreshold);
                } else {
                    rs.lthreshold = v.or(rs.lthreshold);
                }
                cx.extra(l, 1);
            }
            "inhibit_on_failure" => d.inhibit = cx.flag(l, "inhibit_on_failure").or(d.inhibit),
            "notify_up" | "notify_down" => {
                let slot = if kw == "notify_up" {
                    &mut rs.notify_up
                } else {
                    &mut rs.notify_down
                };
                if slot.is_some() {
                    cx.error(
                        DiagKind::Duplicate,
                        l.pos(),
                        l.text.clone(),
                        format!("{kw} script already specified - ignoring"),
                    );
                } else {
                    *slot = cx.script(l);
                }
            }
            "alpha" => d.alpha = cx.flag(l, "alpha").or(d.alpha),
            "retry" | "delay_before_retry" | "warmup" => {
                checker_default(
                    cx,
                    l,
                    &mut rs.retry,
                    &mut rs.delay_before_retry,
                    &mut rs.warmup,
                );
            }
            "connect_timeout" => {
                d.connect_timeout = cx
                    .timer(l, 0, 1, u64::from(u32::MAX), "keepalived ignores it")
                    .or(d.connect_timeout);
                cx.extra(l, 1);
            }
            "delay_loop" => {
                d.delay_loop = cx
                    .timer(l, 0, 1, MAX_US, "keepalived ignores it")
                    .or(d.delay_loop);
                cx.extra(l, 1);
            }
            "smtp_alert" => d.smtp_alert = cx.flag(l, "real_server smtp_alert").or(d.smtp_alert),
            "virtualhost" => {
                if let Some(w) = cx.arg(l, 0) {
                    rs.virtualhost = Some(w.text.clone());
                }
                cx.extra(l, 1);
            }
            k if CHECKERS.contains(&k) => {
                if let Some((c, cd)) = checker(cx, l) {
                    rs.checkers.push(c);
                    cds.push(cd);
                }
                continue;
            }
            _ => {
                cx.other(l, Ctx::RealServer, &mut rs.unmodelled);
                continue;
            }
        }
        cx.no_block(l, Ctx::RealServer);
    }
    Some((rs, d, cds))
}

pub(crate) fn virtual_server_group(b: &mut Builder, n: &Node) {
    let cx = &mut *b.cx;
    let Some(name) = cx.arg(n, 0) else { return };
    let mut g = VirtualServerGroup {
        at: name.pos,
        name: name.text.clone(),
        entries: Vec::new(),
    };
    let Some(block) = cx.block(n) else { return };
    let gname = g.name.clone();
    for l in &block.nodes {
        cx.no_block(l, Ctx::VirtualServer);
        let Some(w) = l.words.first() else { continue };
        if w.text == "fwmark" {
            let Some(m) = cx.uint(
                l,
                0,
                0,
                u64::from(u32::MAX),
                &format!(
                    "({gname}): fwmark '{}' must be in [0, 4294967295] - ignoring",
                    l.arg(0).map_or("", |w| w.text.as_str())
                ),
            ) else {
                continue;
            };
            let family = l.arg(1).map(|f| f.text.clone());
            if let Some(f) = &family
                && f != "inet"
                && f != "inet6"
            {
                let fw = &l.words[2];
                cx.error(
                    DiagKind::InvalidValue,
                    fw.pos,
                    f.clone(),
                    format!("({gname}): fwmark '{m}' family {f} unknown - ignoring"),
                );
                continue;
            }
            cx.extra(l, 2);
            g.entries.push(VsgEntry::Fwmark {
                mark: m as u32,
                family,
            });
            continue;
        }
        let port = match l.arg(0) {
            Some(p) => match value::read_port(&p.text) {
                Ok(v) => v,
                Err(_) => {
                    cx.error(
                        DiagKind::InvalidAddress,
                        p.pos,
                        p.text.clone(),
                        format!(
                            "Invalid virtual server group IP address {} /port/{} - skipping",
                            w.text, p.text
                        ),
                    );
                    continue;
                }
            },
            None => 0,
        };
        cx.extra(l, 1);
        let Some(ip) = value::parse_sock_ip(&w.text) else {
            cx.error(
                DiagKind::InvalidAddress,
                w.pos,
                w.text.clone(),
                format!(
                    "Invalid virtual server group IP address {} - skipping",
                    w.text
                ),
            )
            .hint = Some(super::address_hint(&w.text));
            continue;
        };
        let end = range_end(cx, w, &ip);
        let Ok(end) = end else { continue };
        g.entries.push(VsgEntry::Addr { ip, end, port });
    }
    if g.entries.is_empty() {
        cx.error(
            DiagKind::MissingSetting,
            name.pos,
            name.text.clone(),
            format!("virtual server group {} has no entries - removing", g.name),
        );
        return;
    }
    b.cfg.virtual_server_groups.push(g);
}

/// The end of `IP-LAST` or `IP-END_IP` ranges and `IP/LEN` blocks.
fn range_end(
    cx: &mut Cx,
    w: &crate::config::text::Word,
    ip: &IpAddr,
) -> Result<Option<IpAddr>, ()> {
    let t = &w.text;
    if let Some((_, len)) = t.split_once('/') {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let Ok(len) = value::read_unsigned(len, 1, max) else {
            cx.error(
                DiagKind::InvalidAddress,
                w.pos,
                t.clone(),
                format!("Invalid netmask - {t} - skipping"),
            );
            return Err(());
        };
        let (base, end) = match ip {
            IpAddr::V4(a) => {
                let host = u32::MAX.checked_shr(len as u32).unwrap_or(0);
                let v = u32::from(*a);
                (v & host != 0, IpAddr::V4((v | host).into()))
            }
            IpAddr::V6(a) => {
                let host = u128::MAX.checked_shr(len as u32).unwrap_or(0);
                let v = u128::from(*a);
                (v & host != 0, IpAddr::V6((v | host).into()))
            }
        };
        if base {
            cx.error(
                DiagKind::InvalidAddress,
                w.pos,
                t.clone(),
                format!("Address mask bits not empty - {t} - skipping"),
            );
            return Err(());
        }
        return Ok(if end == *ip { None } else { Some(end) });
    }
    let Some((_, last)) = t.split_once('-') else {
        return Ok(None);
    };
    if let Some(e) = value::parse_ip(last) {
        if e.is_ipv4() != ip.is_ipv4() {
            cx.error(
                DiagKind::InvalidAddress,
                w.pos,
                t.clone(),
                format!("Range address families do not match {t} - skipping"),
            );
            return Err(());
        }
        let less = match (ip, e) {
            (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(b) < u32::from(*a),
            (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(b) < u128::from(*a),
            _ => false,
        };
        if less {
            cx.error(
                DiagKind::InvalidAddress,
                w.pos,
                t.clone(),
                format!("Address range end is less than address range start - {t} - skipping"),
            );
            return Err(());
        }
        return Ok(Some(e));
    }
    let (max, start) = match ip {
        IpAddr::V4(a) => (255, u64::from(a.octets()[3])),
        IpAddr::V6(a) => (0xffff, u64::from(a.segments()[7])),
    };
    let parsed = if ip.is_ipv6() {
        u64::from_str_radix(last, 16).ok()
    } else {
        last.parse().ok()
    };
    let Some(endv) = parsed.filter(|v| *v <= max) else {
        cx.error(
            DiagKind::InvalidAddress,
            w.pos,
            t.clone(),
            format!("Invalid range end {t} - skipping"),
        );
        return Err(());
    };
    if start >= endv {
        cx.error(
            DiagKind::InvalidAddress,
            w.pos,
            t.clone(),
            format!("Address range end is not greater than address range start - {t} - skipping"),
        );
        return Err(());
    }
    Ok(Some(match ip {
        IpAddr::V4(a) => {
            let mut o = a.octets();
            o[3] = endv as u8;
            IpAddr::V4(o.into())
        }
        IpAddr::V6(a) => {
            let mut s = a.segments();
            s[7] = endv as u16;
            IpAddr::V6(s.into())
        }
    }))
}

/// `validate_check_config`: defaults that depend on the whole virtual
/// server, and its warnings.
pub(crate) fn finish(b: &mut Builder) {
    let drafts = std::mem::take(&mut b.vs_drafts);
    let groups = b.cfg.virtual_server_groups.clone();
    let mut kept = Vec::new();
    let servers = std::mem::take(&mut b.cfg.virtual_servers);
    for (mut vs, d) in servers.into_iter().zip(drafts) {
        let cx = &mut *b.cx;
        let at = vs.at;
        let group = match &vs.key {
            VsKey::Group(name) => match groups.iter().find(|g| &g.name == name) {
                Some(g) => Some(g.clone()),
                None => {
                    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                    cx.error(
                        DiagKind::UndefinedReference,
                        at,
                        name.clone(),
                        format!("Virtual server group {name} not found - ignoring virtual server"),
                    )
                    .hint = suggest::closest(name, &names).map(|s| format!("did you mean '{s}'?"));
                    continue;
                }
            },
            _ => None,
        };
        let has_addrs = match &group {
            Some(g) => g.entries.iter().any(|e| matches!(e, VsgEntry::Addr { .. })),
            None => matches!(vs.key, VsKey::Addr { .. }),
        };
        let fwmark_only = !has_addrs;
        let name0 = fmt_vs(&vs.key, d.protocol);
        if vs.real_servers.is_empty() {
            cx.warn(
                DiagKind::MissingSetting,
                at,
                name0.clone(),
                format!("Virtual server {name0} has no real servers - ignoring"),
            );
            continue;
        }
        if vs.ha_suspend && fwmark_only {
            cx.warn(DiagKind::Conflict, at, name0.clone(), format!("Virtual server {name0}: cannot use ha_suspend with fwmarks - clearing ha_suspend"));
            vs.ha_suspend = false;
        }
        vs.protocol = d.protocol;
        if has_addrs {
            if vs.protocol.is_none() {
                cx.warn(
                    DiagKind::MissingSetting,
                    at,
                    name0.clone(),
                    format!("Virtual server {name0}: no protocol set - defaulting to UDP"),
                )
                .hint = Some("add `protocol TCP` (most services), UDP or SCTP".into());
                vs.protocol = Some(Protocol::Udp);
            }
            if vs.sched_flags.iter().any(|f| f == "ops") && vs.protocol != Some(Protocol::Udp) {
                let nm = fmt_vs(&vs.key, vs.protocol);
                cx.warn(
                    DiagKind::Conflict,
                    at,
                    nm.clone(),
                    format!("Virtual server {nm}: one packet scheduling requires UDP - resetting"),
                );
                vs.sched_flags.retain(|f| f != "ops");
            }
            if let VsKey::Addr { port: 0, .. } = vs.key
                && vs.persistence_timeout == 0
            {
                let nm = fmt_vs(&vs.key, vs.protocol);
                cx.warn(DiagKind::Adjusted, at, nm.clone(), format!("Virtual server {nm}: zero port only valid for persistent services - setting"));
                vs.persistence_timeout = 360;
            }
        }
        if vs.persistence_timeout == 0
            && let Some(g) = &group
            && g.entries
                .iter()
                .any(|e| matches!(e, VsgEntry::Addr { port: 0, .. }))
        {
            let nm = fmt_vs(&vs.key, vs.protocol);
            cx.warn(
                DiagKind::Adjusted,
                at,
                nm.clone(),
                format!(
                    "Virtual server {nm}: zero port only valid for persistent services - setting"
                ),
            );
            vs.persistence_timeout = 360;
        }
        if fwmark_only && vs.protocol.is_some() {
            let nm = fmt_vs(&vs.key, vs.protocol);
            cx.warn(DiagKind::Conflict, at, nm.clone(), format!("Warning: Virtual server {nm}: protocol specified for fwmark - protocol will be ignored"));
            vs.protocol = None;
        }
        let nm = fmt_vs(&vs.key, vs.protocol);
        match d.sched {
            Some(s) => vs.lb_algo = s,
            None => {
                cx.warn(
                    DiagKind::MissingSetting,
                    at,
                    nm.clone(),
                    format!("Virtual server {nm}: no scheduler set, setting default 'wlc'"),
                )
                .hint = Some("add `lb_algo rr` (or wrr, lc, wlc, ...)".into());
            }
        }
        let mut method_warned = false;
        let mut vs_method = d.method;
        let mut default_method = |cx: &mut Cx, vm: &mut Option<LvsMethod>| -> LvsMethod {
            if vm.is_none() && !method_warned {
                method_warned = true;
                cx.warn(
                    DiagKind::MissingSetting,
                    at,
                    nm.clone(),
                    format!("Virtual server {nm}: no forwarding method set, setting default NAT"),
                )
                .hint = Some("add `lb_kind NAT` (or DR, TUN)".into());
                *vm = Some(LvsMethod::Nat);
            }
            vm.unwrap_or(LvsMethod::Nat)
        };
        let mut weight_sum: u64 = 0;
        let mut seen: Vec<(IpAddr, u16)> = Vec::new();
        let mut rss = Vec::new();
        for ((mut rs, rd), cds) in std::mem::take(&mut vs.real_servers)
            .into_iter()
            .zip(d.rs_written)
            .zip(d.checker_drafts)
        {
            if seen.contains(&(rs.ip, rs.port)) {
                let r = fmt_rs(&rs.ip, rs.port, vs.protocol);
                cx.warn(
                    DiagKind::Duplicate,
                    rs.at,
                    r.clone(),
                    format!("VS {nm}: real server {r} is duplicated - removing second rs"),
                );
                continue;
            }
            seen.push((rs.ip, rs.port));
            rs.lvs_method = match rd.method {
                Some(m) => m,
                None => default_method(cx, &mut vs_method),
            };
            rs.alpha = rd.alpha.unwrap_or(vs.alpha);
            rs.inhibit_on_failure = rd.inhibit.unwrap_or(vs.inhibit_on_failure);
            rs.retry = rs.retry.or(vs.retry);
            rs.connect_timeout = rd.connect_timeout.unwrap_or(vs.connect_timeout);
            rs.delay_loop = rd.delay_loop.unwrap_or(vs.delay_loop);
            rs.warmup = rs.warmup.or(vs.warmup);
            rs.delay_before_retry = rs.delay_before_retry.or(vs.delay_before_retry);
            rs.weight = rd.weight.unwrap_or(vs.weight);
            rs.smtp_alert = rd
                .smtp_alert
                .or(b.cfg.global.smtp_alert_checker)
                .or(b.cfg.global.smtp_alert)
                .unwrap_or(true);
            weight_sum += u64::from(rs.weight);
            // Ports: only NAT may map them.
            if rs.lvs_method != LvsMethod::Nat
                && rs.port != 0
                && let Some(g) = &group
                && g.entries
                    .iter()
                    .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
            {
                let r = fmt_rs(&rs.ip, rs.port, vs.protocol);
                cx.warn(DiagKind::Adjusted, rs.at, r.clone(), format!("WARNING - fwmark virtual server {nm}, real server {r} has port specified - port will be ignored"));
            }
            if rs.lvs_method != LvsMethod::Nat && group.is_none() {
                let r = fmt_rs(&rs.ip, rs.port, vs.protocol);
                match vs.key {
                    VsKey::Fwmark(_) if rs.port != 0 => {
                        cx.warn(DiagKind::Adjusted, rs.at, r.clone(), format!("WARNING - fwmark virtual server {nm}, real server {r} has port specified - clearing"));
                        rs.port = 0;
                    }
                    VsKey::Addr { port, .. } if rs.port == 0 => rs.port = port,
                    VsKey::Addr { port, .. } if rs.port != port => {
                        cx.warn(DiagKind::Adjusted, rs.at, r.clone(), format!("WARNING - virtual server {nm} and real server {r} ports don't match - resetting"))
                            .hint = Some(format!("only NAT can map ports; with {} the real server must use port {port}", rs.lvs_method.name()));
                        rs.port = port;
                    }
                    _ => {}
                }
            }
            super::check::finish_checkers(cx, &mut rs, cds);
            rss.push(rs);
        }
        vs.real_servers = rss;
        if let Some(s) = &mut vs.sorry_server {
            s.lvs_method = Some(match d.sorry_method {
                Some(m) => m,
                None => default_method(cx, &mut vs_method),
            });
        }
        vs.lb_kind = vs_method.unwrap_or(LvsMethod::Nat);
        if u64::from(vs.quorum) > weight_sum {
            cx.warn(DiagKind::Adjusted, at, nm.clone(), format!("Warning - quorum {} for {nm} exceeds total weight of real servers {weight_sum}, reducing quorum to {weight_sum}", vs.quorum));
            vs.quorum = weight_sum as u32;
        }
        if vs.hysteresis >= vs.quorum {
            let h = vs.quorum.saturating_sub(1);
            cx.warn(
                DiagKind::Adjusted,
                at,
                nm.clone(),
                format!(
                    "Virtual server {nm}: hysteresis {} >= quorum {}; setting hysteresis to {h}",
                    vs.hysteresis, vs.quorum
                ),
            );
            vs.hysteresis = h;
        }
        kept.push(vs);
    }
    b.cfg.virtual_servers = kept;
    script_security(b);
}

/// keepalived warns when scripts run without `enable_script_security`.
fn script_security(b: &mut Builder) {
    if b.cfg.global.enable_script_security {
        return;
    }
    let c = &b.cfg;
    let vrrp = c
        .vrrp_scripts
        .iter()
        .map(|s| s.at)
        .chain(
            c.instances
                .iter()
                .filter(|i| {
                    i.notify_master.is_some()
                        || i.notify_backup.is_some()
                        || i.notify_fault.is_some()
                        || i.notify_stop.is_some()
                        || i.notify_deleted.is_some()
                        || i.notify_master_rx_lower_pri.is_some()
                        || i.notify.is_some()
                })
                .map(|i| i.at),
        )
        .chain(
            c.sync_groups
                .iter()
                .filter(|g| {
                    g.notify_master.is_some()
                        || g.notify_backup.is_some()
                        || g.notify_fault.is_some()
                        || g.notify_stop.is_some()
                        || g.notify.is_some()
                })
                .map(|g| g.at),
        );
    let check = c.virtual_servers.iter().flat_map(|vs| {
        vs.real_servers
            .iter()
            .filter(|rs| {
                rs.notify_up.is_some()
                    || rs.notify_down.is_some()
                    || rs
                        .checkers
                        .iter()
                        .any(|ch| matches!(ch.kind, crate::config::model::CheckerKind::Misc(_)))
            })
            .map(|rs| rs.at)
    });
    let first: Option<Pos> = vrrp.chain(check).min();
    if let Some(pos) = first {
        b.cx.emit(Severity::Warning, DiagKind::Script, pos, "", "SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
            .hint = Some("add `enable_script_security` to global_defs and make the scripts owned by root and not writable by others".into());
    }
}

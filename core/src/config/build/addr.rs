//! Address, route and rule lines (`virtual_ipaddress`, `virtual_routes`,
//! `virtual_rules` and their `static_*` twins). These blocks are
//! line-oriented: one item per line, and further words on a line are options
//! of that item — so a second address on the same line is an unknown option
//! of the first, as keepalived 2.2.7 reads it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Cx;
use crate::config::diag::DiagKind;
use crate::config::keywords::Ctx;
use crate::config::model::addr::{IpAddress, IpPrefix, Nexthop, Route, Rule};
use crate::config::parser::Node;
use crate::config::suggest;
use crate::config::text::Word;
use crate::config::value;

const ADDR_OPTS: &[&str] = &[
    "dev",
    "scope",
    "broadcast",
    "brd",
    "label",
    "peer",
    "home",
    "-nodad",
    "mngtmpaddr",
    "noprefixroute",
    "autojoin",
    "no_track",
    "preferred_lft",
    "track_group",
    "use_vmac",
];

const SCOPES: &[&str] = &["global", "universe", "site", "link", "host", "nowhere"];

/// The lines of a value block (a `{ }` of items, no keywords).
fn lines<'n>(cx: &mut Cx, n: &'n Node) -> &'n [Node] {
    if let Some(w) = n.arg(0) {
        cx.warn(
            DiagKind::ExtraWords,
            w.pos,
            w.text.clone(),
            format!("Block {} has extra parameters {} ...", n.keyword(), w.text),
        );
    }
    match cx.block(n) {
        Some(b) => &b.nodes,
        None => &[],
    }
}

/// A block of addresses; `is_static` for `static_ipaddress`.
pub(crate) fn address_block(cx: &mut Cx, n: &Node, is_static: bool, out: &mut Vec<IpAddress>) {
    out.extend(address_lines(cx, n, is_static).into_iter().map(|(a, _)| a));
}

/// A block of addresses, each with the word it was read from.
pub(crate) fn address_lines<'n>(
    cx: &mut Cx,
    n: &'n Node,
    is_static: bool,
) -> Vec<(IpAddress, &'n Word)> {
    let mut out = Vec::new();
    for l in lines(cx, n) {
        cx.no_block(l, Ctx::VrrpInstance);
        if let Some(a) = address_line(cx, l, is_static)
            && let Some(w) = l.words.first()
        {
            out.push((a, w));
        }
    }
    out
}

/// `prefix` of an address written `ADDR/LEN`, else the host length.
fn prefix_of(cx: &mut Cx, w: &Word, addr: &IpAddr, len_text: Option<&str>) -> u8 {
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let Some(t) = len_text else { return max };
    if t.is_empty() {
        // keepalived's strtoul reads "" as 0 without complaint.
        cx.warn(
            DiagKind::Adjusted,
            w.pos,
            w.text.clone(),
            format!(
                "Empty prefix length for address {} - keepalived uses /0",
                w.text
            ),
        )
        .hint = Some(format!("write the length, e.g. {}{max}", w.text));
        return 0;
    }
    match value::read_unsigned(t, 0, u64::from(max)) {
        Ok(v) => v as u8,
        Err(e) => {
            cx.error(
                DiagKind::InvalidNumber,
                w.pos,
                w.text.clone(),
                format!(
                    "Invalid address prefix len {t} for address {} - using {max}",
                    w.text
                ),
            )
            .hint = Some(e);
            max
        }
    }
}

/// One address line (`alloc_ipaddress`).
pub(crate) fn address_line(cx: &mut Cx, l: &Node, is_static: bool) -> Option<IpAddress> {
    let w = l.words.first()?;
    let (addr_text, len_text) = match w.text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (w.text.as_str(), None),
    };
    let Some(ip) = value::parse_ip(addr_text) else {
        cx.error(
            DiagKind::InvalidAddress,
            w.pos,
            w.text.clone(),
            format!("VRRP parsed invalid IP {}. skipping IP...", w.text),
        )
        .hint = Some(super::address_hint(&w.text));
        return None;
    };
    let mut a = IpAddress::new(ip);
    a.prefix = prefix_of(cx, w, &ip, len_text);
    let mut brd: Option<(&Word, &Word)> = None;
    let words = &l.words;
    let mut i = 1;
    while i < words.len() {
        let opt = &words[i];
        let o = opt.text.as_str();
        let takes_value = matches!(
            o,
            "dev" | "scope" | "broadcast" | "brd" | "label" | "peer" | "preferred_lft"
        ) || (is_static && o == "track_group");
        let val = if takes_value {
            match words.get(i + 1) {
                Some(v) => Some(v),
                None => {
                    cx.error(
                        DiagKind::MissingParameter,
                        opt.pos,
                        o,
                        format!("No {o} parameter specified for {}", w.text),
                    );
                    return None;
                }
            }
        } else {
            None
        };
        match (o, val) {
            ("dev", Some(v)) => {
                if a.dev.is_some() {
                    cx.error(
                        DiagKind::Duplicate,
                        opt.pos,
                        o,
                        format!(
                            "Cannot specify ipaddress device more than once for {}",
                            w.text
                        ),
                    );
                    return None;
                }
                cx.interface(v, |i| {
                    format!(
                        "WARNING - interface {i} for ip address {} doesn't exist",
                        w.text
                    )
                });
                a.dev = Some(v.text.clone());
            }
            ("scope", Some(v)) => {
                if SCOPES.contains(&v.text.as_str())
                    || value::read_unsigned(&v.text, 0, 255).is_ok()
                {
                    a.scope = Some(v.text.clone());
                } else {
                    cx.error(
                        DiagKind::InvalidValue,
                        v.pos,
                        v.text.clone(),
                        format!(
                            "Invalid scope '{}' specified for {} - ignoring",
                            v.text, w.text
                        ),
                    )
                    .hint = Some(format!("one of {} or a number", SCOPES.join(", ")));
                }
            }
            ("broadcast" | "brd", Some(v)) => {
                if ip.is_ipv6() {
                    cx.error(
                        DiagKind::InvalidValue,
                        opt.pos,
                        o,
                        format!(
                            "VRRP is trying to assign a broadcast {} to the IPv6 address {} !!?? WTF... skipping VIP...",
                            o, w.text
                        ),
                    );
                    return None;
                }
                if v.text != "+" && v.text != "-" {
                    match value::parse_ipv4(&v.text) {
                        Some(b) => a.broadcast = Some(b),
                        None => {
                            cx.error(
                                DiagKind::InvalidAddress,
                                v.pos,
                                v.text.clone(),
                                format!("VRRP is trying to assign invalid broadcast {}. skipping VIP...", v.text),
                            );
                            return None;
                        }
                    }
                }
                brd = Some((opt, v));
            }
            ("label", Some(v)) => {
                if v.text.chars().count() >= 16 {
                    cx.error(
                        DiagKind::InvalidValue,
                        v.pos,
                        v.text.clone(),
                        format!(
                            "Address label {} is longer than maximum length 15 - removing address",
                            v.text
                        ),
                    );
                    return None;
                }
                a.label = Some(v.text.clone());
            }
            ("peer", Some(v)) => match value::parse_ip(&v.text) {
                Some(p) if p.is_ipv4() == ip.is_ipv4() => {
                    if a.peer.is_some() {
                        cx.error(
                            DiagKind::Duplicate,
                            v.pos,
                            v.text.clone(),
                            format!("Peer {} - another peer has already been specified", v.text),
                        );
                    } else {
                        a.peer = Some(p);
                    }
                }
                Some(_) => {
                    cx.error(
                        DiagKind::InvalidAddress,
                        v.pos,
                        v.text.clone(),
                        format!("Peer address {} does not match address family", v.text),
                    );
                }
                None => cx.bad_address(v, "Invalid peer address {}"),
            },
            ("preferred_lft", Some(v)) => {
                if v.text == "forever" {
                    a.preferred_lft = Some(u32::MAX);
                } else {
                    match value::read_unsigned(&v.text, 0, u64::from(u32::MAX)) {
                        Ok(x) => a.preferred_lft = Some(x as u32),
                        Err(_) => {
                            cx.error(
                                DiagKind::InvalidNumber,
                                v.pos,
                                v.text.clone(),
                                format!("preferred_lft {} is invalid", v.text),
                            );
                        }
                    }
                }
            }
            ("track_group", Some(v)) => a.track_group = Some(v.text.clone()),
            ("home" | "-nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin", _) => {
                a.flags.push(o.to_string())
            }
            ("no_track", _) => a.no_track = true,
            ("use_vmac", _) if !is_static => a.use_vmac = true,
            _ => {
                let d = cx.warn(
                    DiagKind::ExtraWords,
                    opt.pos,
                    o,
                    format!("Unknown configuration entry '{o}' for ip address - ignoring"),
                );
                d.hint = Some(
                    if value::parse_ip(o.split('/').next().unwrap_or(o)).is_some() {
                        format!("one address per line: put '{o}' on a line of its own")
                    } else if let Some(s) = suggest::closest(o, ADDR_OPTS) {
                        format!("did you mean '{s}'?")
                    } else {
                        format!("address options: {}", ADDR_OPTS.join(", "))
                    },
                );
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    if let Some((opt, v)) = brd {
        if a.peer.is_some() {
            cx.warn(
                DiagKind::Conflict,
                opt.pos,
                opt.text.clone(),
                "Cannot specify broadcast and peer addresses - ignoring broadcast address",
            );
            a.broadcast = None;
        } else if v.text == "+" || v.text == "-" {
            if a.prefix <= 30 {
                if let IpAddr::V4(v4) = ip {
                    let mask = u32::MAX.checked_shr(u32::from(a.prefix)).unwrap_or(0);
                    let base = u32::from(v4);
                    a.broadcast = Some(Ipv4Addr::from(if v.text == "+" {
                        base | mask
                    } else {
                        base & !mask
                    }));
                }
            } else {
                cx.error(
                    DiagKind::InvalidValue,
                    v.pos,
                    v.text.clone(),
                    format!("Address prefix length {} too long for broadcast", a.prefix),
                );
            }
        }
    }
    if ip.is_ipv6() {
        if a.scope.take().is_some() {
            cx.warn(
                DiagKind::Conflict,
                w.pos,
                w.text.clone(),
                format!(
                    "Cannot specify scope for IPv6 addresses ({}) - ignoring scope",
                    w.text
                ),
            );
        }
        if a.label.take().is_some() {
            cx.warn(
                DiagKind::Conflict,
                w.pos,
                w.text.clone(),
                format!(
                    "Cannot specify label for IPv6 addresses ({}) - ignoring label",
                    w.text
                ),
            );
        }
    }
    Some(a)
}

/// `default` or `ADDR[/LEN]` (`parse_route`).
fn route_prefix(text: &str) -> Option<IpPrefix> {
    if text == "default" || text == "any" || text == "all" {
        return Some(IpPrefix {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 0,
        });
    }
    let (a, l) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr = value::parse_ip(a)?;
    let max: u64 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match l {
        Some(l) => value::read_unsigned(l, 0, max).ok()? as u8,
        None => max as u8,
    };
    Some(IpPrefix { addr, len })
}

const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
];

/// Route options that take one value and that vigil keeps as written.
const ROUTE_VALUE_OPTS: &[&str] = &[
    "tos",
    "dsfield",
    "expires",
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "ttl-propagate",
    "fastopen_no_cookie",
    "from",
    "vrf",
    "as",
];

pub(crate) fn route_block(cx: &mut Cx, n: &Node, is_static: bool, out: &mut Vec<Route>) {
    for l in lines(cx, n) {
        cx.no_block(l, Ctx::VrrpInstance);
        if let Some(r) = route_line(cx, l, is_static) {
            out.push(r);
        }
    }
}

/// One route line (`alloc_route`).
pub(crate) fn route_line(cx: &mut Cx, l: &Node, is_static: bool) -> Option<Route> {
    let mut r = Route {
        dest: IpPrefix {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 0,
        },
        route_type: None,
        src: None,
        via: None,
        dev: None,
        scope: None,
        table: None,
        metric: None,
        protocol: None,
        onlink: false,
        no_track: false,
        track_group: None,
        options: Vec::new(),
        nexthop: Vec::new(),
    };
    let mut dest: Option<&Word> = None;
    let words = &l.words;
    let mut i = 0;
    let value_at = |cx: &mut Cx, i: usize| -> Option<&Word> {
        let v = words.get(i + 1);
        if v.is_none() {
            let o = &words[i];
            cx.error(
                DiagKind::MissingParameter,
                o.pos,
                o.text.clone(),
                format!("No value specified for route option {}", o.text),
            );
        }
        v
    };
    while i < words.len() {
        let w = &words[i];
        let o = w.text.as_str();
        match o {
            "inet" | "inet6" | "onlink" | "no_track" | "add" | "prepend" | "append" => {
                match o {
                    "onlink" => r.onlink = true,
                    "no_track" => r.no_track = true,
                    "add" | "prepend" | "append" => r.options.push((o.to_string(), String::new())),
                    _ => {}
                }
                i += 1;
                continue;
            }
            "nexthop" => {
                if !r.nexthop.is_empty() {
                    cx.error(
                        DiagKind::Conflict,
                        w.pos,
                        o,
                        "Cannot specify nexthops with \"or\" route",
                    );
                    return None;
                }
                r.nexthop = nexthops(cx, &words[i..])?;
                break;
            }
            "or" => {
                cx.emit(
                    crate::config::diag::Severity::Note,
                    DiagKind::Deprecated,
                    w.pos,
                    o,
                    "\"or\" for routes is deprecated. Please use \"nexthop\"",
                )
                .hint = Some("write `nexthop via A nexthop via B`".into());
                let v = value_at(cx, i)?;
                if !r.nexthop.is_empty() {
                    cx.warn(
                        DiagKind::Duplicate,
                        w.pos,
                        o,
                        "\"or\" route already specified - ignoring subsequent",
                    );
                } else if value::parse_ip(&v.text).is_none() {
                    cx.bad_address(v, "Invalid \"or\" address {}");
                    return None;
                } else {
                    // As keepalived does: the via becomes the first nexthop.
                    if let Some(via) = r.via.take() {
                        r.nexthop.push(Nexthop {
                            via: Some(via),
                            ..Nexthop::default()
                        });
                    }
                    r.nexthop.push(Nexthop {
                        via: value::parse_ip(&v.text),
                        ..Nexthop::default()
                    });
                }
            }
            "src" | "via" | "gw" => {
                let mut j = i + 1;
                if (o == "via" || o == "gw")
                    && words
                        .get(j)
                        .is_some_and(|v| v.text == "inet" || v.text == "inet6")
                {
                    j += 1;
                }
                let Some(v) = words.get(j) else {
                    value_at(cx, i)?;
                    return None;
                };
                if o == "gw" {
                    cx.emit(
                        crate::config::diag::Severity::Note,
                        DiagKind::Deprecated,
                        w.pos,
                        o,
                        "\"gw\" for routes is deprecated. Please use \"via\"",
                    );
                }
                match value::parse_ip(&v.text) {
                    Some(a) => {
                        if o == "src" {
                            r.src = Some(a);
                        } else {
                            r.via = Some(a);
                        }
                    }
                    None => {
                        cx.bad_address(
                            v,
                            &format!(
                                "invalid route {} address {{}}",
                                if o == "src" { "src" } else { "via" }
                            ),
                        );
                        return None;
                    }
                }
                i = j + 1;
                continue;
            }
            "dev" | "oif" => {
                let v = value_at(cx, i)?;
                cx.interface(v, |i| {
                    format!("WARNING - interface {i} for VROUTE nexthop doesn't exist")
                });
                r.dev = Some(v.text.clone());
            }
            "table" => r.table = Some(value_at(cx, i)?.text.clone()),
            "protocol" => r.protocol = Some(value_at(cx, i)?.text.clone()),
            "scope" => {
                let v = value_at(cx, i)?;
                if !(SCOPES.contains(&v.text.as_str())
                    || value::read_unsigned(&v.text, 0, 255).is_ok())
                {
                    cx.error(
                        DiagKind::InvalidValue,
                        v.pos,
                        v.text.clone(),
                        format!("Scope {} not found or invalid for route", v.text),
                    );
                    return None;
                }
                r.scope = Some(v.text.clone());
            }
            "metric" | "priority" | "preference" => {
                let v = value_at(cx, i)?;
                match value::read_unsigned(&v.text, 0, u64::from(u32::MAX)) {
                    Ok(m) => r.metric = Some(m as u32),
                    Err(e) => {
                        cx.bad_number(l, v, e, "the route is ignored");
                        return None;
                    }
                }
            }
            "track_group" if is_static => r.track_group = Some(value_at(cx, i)?.text.clone()),
            o if ROUTE_VALUE_OPTS.contains(&o) => {
                let mut v = value_at(cx, i)?.text.clone();
                if v == "lock" {
                    i += 1;
                    v = format!("lock {}", value_at(cx, i)?.text);
                }
                r.options.push((o.to_string(), v));
            }
            _ => {
                let mut j = i;
                if o == "to" {
                    j += 1;
                }
                if let Some(t) = words.get(j)
                    && ROUTE_TYPES.contains(&t.text.as_str())
                {
                    r.route_type = Some(t.text.clone());
                    j += 1;
                }
                let Some(d) = words.get(j) else {
                    cx.error(
                        DiagKind::MissingParameter,
                        w.pos,
                        o,
                        "Route must have a destination",
                    );
                    return None;
                };
                let Some(p) = route_prefix(&d.text) else {
                    cx.error(
                        DiagKind::InvalidAddress,
                        d.pos,
                        d.text.clone(),
                        format!("unknown route keyword {}", d.text),
                    )
                    .hint = Some(super::address_hint(&d.text));
                    return None;
                };
                if let Some(prev) = dest {
                    cx.warn(
                        DiagKind::ExtraWords,
                        d.pos,
                        d.text.clone(),
                        format!(
                            "route already has destination {} - keepalived replaces it with {}",
                            prev.text, d.text
                        ),
                    )
                    .hint = Some("one route per line: put each route on a line of its own".into());
                }
                dest = Some(d);
                r.dest = p;
                i = j + 1;
                continue;
            }
        }
        i += 2;
    }
    let Some(d) = dest else {
        let w = words.first()?;
        cx.error(
            DiagKind::MissingParameter,
            w.pos,
            l.text.clone(),
            "Route must have a destination",
        );
        return None;
    };
    let hops = || r.nexthop.iter().filter_map(|h| h.via);
    // `default` takes the family of the gateway, source or first nexthop.
    if r.dest.len == 0
        && r.dest.addr.is_unspecified()
        && r.via
            .or(r.src)
            .or(hops().next())
            .is_some_and(|a| a.is_ipv6())
    {
        r.dest.addr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    }
    let other_family = |a: &IpAddr| a.is_ipv4() != r.dest.addr.is_ipv4();
    let any_family = r.dest.len == 0 && r.dest.addr.is_unspecified();
    if !any_family && [r.via, r.src].iter().flatten().any(other_family) {
        cx.error(
            DiagKind::InvalidAddress,
            d.pos,
            d.text.clone(),
            format!("Cannot mix IPv4 and IPv6 addresses for route ({})", d.text),
        );
        return None;
    }
    if hops().any(|a| other_family(&a)) {
        cx.error(
            DiagKind::InvalidAddress,
            d.pos,
            d.text.clone(),
            format!("Address family mismatch for next hop of route {}", d.text),
        );
        return None;
    }
    // keepalived looks only at the route's own interface, not its nexthops'
    // (vrrp_iproute.c:1875).
    if !r.no_track && r.dev.is_none() {
        cx.warn(
            DiagKind::Conflict,
            d.pos,
            d.text.clone(),
            format!(
                "Warning - cannot track route {} with no interface specified, not tracking",
                d.text
            ),
        )
        .hint = Some("add `dev IFNAME`, or `no_track` to silence this".into());
        r.no_track = true;
    }
    Some(r)
}

/// `nexthop via ADDR dev IF weight N onlink nexthop ...` (`parse_nexthops`),
/// from the first `nexthop` to the end of the line. keepalived drops a bad
/// hop and installs the rest; vigil refuses the route, since with a hop
/// fewer it is another route.
fn nexthops(cx: &mut Cx, words: &[Word]) -> Option<Vec<Nexthop>> {
    let mut out = Vec::new();
    let mut i = 0;
    while words.get(i).is_some_and(|w| w.text == "nexthop") {
        let start = &words[i];
        i += 1;
        let mut h = Nexthop::default();
        while let Some(w) = words.get(i) {
            let value = |cx: &mut Cx, at: usize| {
                let v = words.get(at);
                if v.is_none() {
                    cx.error(
                        DiagKind::MissingParameter,
                        w.pos,
                        w.text.clone(),
                        format!("No value specified for nexthop option {}", w.text),
                    );
                }
                v
            };
            match w.text.as_str() {
                "via" => {
                    let mut at = i + 1;
                    if words
                        .get(at)
                        .is_some_and(|v| v.text == "inet" || v.text == "inet6")
                    {
                        at += 1;
                    }
                    let v = value(cx, at)?;
                    let Some(a) = value::parse_ip(&v.text) else {
                        cx.bad_address(v, "invalid nexthop address {}");
                        return None;
                    };
                    h.via = Some(a);
                    i = at + 1;
                }
                "dev" => {
                    let v = value(cx, i + 1)?;
                    cx.interface(v, |i| {
                        format!("WARNING - interface {i} for VROUTE nexthop doesn't exist")
                    });
                    h.dev = Some(v.text.clone());
                    i += 2;
                }
                "weight" => {
                    let v = value(cx, i + 1)?;
                    match value::read_unsigned(&v.text, 1, 256) {
                        Ok(n) => h.weight = Some(n as u16),
                        Err(e) => {
                            cx.error(
                                DiagKind::InvalidNumber,
                                v.pos,
                                v.text.clone(),
                                format!("Invalid weight {} specified for route", v.text),
                            )
                            .hint = Some(format!("{e}; a weight is 1 to 256"));
                            return None;
                        }
                    }
                    i += 2;
                }
                "onlink" => {
                    h.onlink = true;
                    i += 1;
                }
                "realms" | "encap" | "as" => {
                    cx.error(
                        DiagKind::Unsupported,
                        w.pos,
                        w.text.clone(),
                        format!("nexthop {} is not supported by vigil", w.text),
                    )
                    .hint = Some("write the route without it".into());
                    return None;
                }
                _ => break,
            }
        }
        if h.via.is_none() && h.dev.is_none() {
            cx.error(
                DiagKind::MissingParameter,
                start.pos,
                "nexthop",
                "nexthop needs a via address or a dev",
            )
            .hint = Some("write `nexthop via ADDR [dev IF] [weight N]`".into());
            return None;
        }
        out.push(h);
    }
    if let Some(w) = words.get(i) {
        cx.error(
            DiagKind::ExtraWords,
            w.pos,
            w.text.clone(),
            format!("Route has trailing nonsense after nexthops - {}", w.text),
        )
        .hint = Some("a nexthop takes via, dev, weight and onlink".into());
        return None;
    }
    Some(out)
}

const RULE_VALUE_OPTS: &[&str] = &[
    "iif",
    "dev",
    "oif",
    "fwmark",
    "tos",
    "dsfield",
    "realms",
    "suppress_prefixlength",
    "sup_pl",
    "suppress_ifgroup",
    "sup_group",
    "tunnel-id",
    "uidrange",
    "protocol",
    "ipproto",
    "sport",
    "dport",
    "goto",
    "type",
];
const RULE_FLAGS: &[&str] = &[
    "l3mdev",
    "nop",
    "inet",
    "inet6",
    "blackhole",
    "prohibit",
    "unreachable",
    "unicast",
    "not",
];

pub(crate) fn rule_block(cx: &mut Cx, n: &Node, is_static: bool, out: &mut Vec<Rule>) {
    for l in lines(cx, n) {
        cx.no_block(l, Ctx::VrrpInstance);
        if let Some(r) = rule_line(cx, l, is_static) {
            out.push(r);
        }
    }
}

/// One rule line (`alloc_rule`).
pub(crate) fn rule_line(cx: &mut Cx, l: &Node, is_static: bool) -> Option<Rule> {
    let mut r = Rule {
        from: None,
        to: None,
        table: None,
        priority: None,
        no_track: false,
        options: Vec::new(),
        flags: Vec::new(),
    };
    let words = &l.words;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let o = w.text.as_str();
        if o == "no_track" {
            r.no_track = true;
            i += 1;
            continue;
        }
        if RULE_FLAGS.contains(&o) {
            r.flags.push(o.to_string());
            i += 1;
            continue;
        }
        let known = matches!(
            o,
            "from" | "to" | "table" | "lookup" | "priority" | "preference" | "order"
        ) || RULE_VALUE_OPTS.contains(&o)
            || (is_static && o == "track_group");
        if !known {
            cx.error(
                DiagKind::InvalidValue,
                w.pos,
                o,
                format!("Unknown rule option {o}"),
            )
            .hint = suggest::closest(o, RULE_VALUE_OPTS).map(|s| format!("did you mean '{s}'?"));
            return None;
        }
        let Some(v) = words.get(i + 1) else {
            cx.error(
                DiagKind::MissingParameter,
                w.pos,
                o,
                format!("No value specified for rule option {o}"),
            );
            return None;
        };
        match o {
            "from" | "to" => {
                let Some(p) = route_prefix(&v.text) else {
                    cx.bad_address(v, &format!("Invalid rule {o} address {{}}"));
                    return None;
                };
                if o == "from" {
                    r.from = Some(p);
                } else {
                    r.to = Some(p);
                }
            }
            "table" | "lookup" => r.table = Some(v.text.clone()),
            "priority" | "preference" | "order" => {
                match value::read_unsigned(&v.text, 0, u64::from(u32::MAX)) {
                    Ok(p) => r.priority = Some(p as u32),
                    Err(_) => {
                        cx.error(
                            DiagKind::InvalidNumber,
                            v.pos,
                            v.text.clone(),
                            format!("Invalid rule preference {} specified", v.text),
                        );
                        return None;
                    }
                }
            }
            _ => r.options.push((o.to_string(), v.text.clone())),
        }
        i += 2;
    }
    if r.priority.is_none() {
        // keepalived gives each such rule the next preference down from
        // 16384, per family (vrrp_iprule.c:853).
        let v6 = r.flags.iter().any(|f| f == "inet6")
            || [r.from, r.to].iter().flatten().any(|p| p.addr.is_ipv6());
        let slot = &mut cx.next_rule_priority[usize::from(v6)];
        let p = *slot;
        *slot = slot.saturating_sub(1);
        r.priority = Some(p);
        if let Some(w) = words.first() {
            cx.warn(
                DiagKind::Adjusted,
                w.pos,
                l.text.clone(),
                format!("Rule has no preference specified - setting to {p}. This is probably not what you want."),
            )
            .hint = Some("add `priority N`: rules are matched by preference".into());
        }
    }
    Some(r)
}

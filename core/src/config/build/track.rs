//! `vrrp_script`, `track_file`, `vrrp_track_process`, `vrrp_sync_group`, and
//! the `track_*` lists of instances and sync groups.

use std::time::Duration;

use super::{Builder, Cx, Later};
use crate::config::diag::DiagKind;
use crate::config::keywords::Ctx;
use crate::config::model::Config;
use crate::config::model::track::{InitFile, SyncGroup, TrackFile, TrackProcess, VrrpScript};
use crate::config::model::vrrp::{TrackedInterface, TrackedRef};
use crate::config::parser::Node;
use crate::config::text::{Pos, Word};
use crate::config::value;

const U32_SECS: u64 = (u32::MAX / 1_000_000) as u64;

/// The name after a block keyword (`vrrp_script NAME {`).
pub(crate) fn block_name<'n>(cx: &mut Cx, n: &'n Node, msg: &str) -> Option<&'n Word> {
    match n.arg(0) {
        Some(w) if n.words.len() == 2 => Some(w),
        _ => {
            cx.error(
                DiagKind::MissingParameter,
                n.pos(),
                n.text.clone(),
                msg.to_string(),
            )
            .hint = Some(format!("write `{} NAME {{`", n.keyword()));
            None
        }
    }
}

pub(crate) fn vrrp_script(b: &mut Builder, n: &Node) {
    let Some(name) = b.cx.arg(n, 0) else { return };
    b.cx.extra(n, 1);
    let mut s = VrrpScript::new(&name.text);
    s.at = name.pos;
    if b.cfg.vrrp_scripts.iter().any(|o| o.name == name.text) {
        b.cx.error(
            DiagKind::Duplicate,
            name.pos,
            name.text.clone(),
            format!("vrrp_script {} already defined", name.text),
        )
        .hint = Some("keepalived uses the first definition when tracking by name".into());
    }
    let Some(block) = b.cx.block(n) else { return };
    let cx = &mut *b.cx;
    for l in &block.nodes {
        match l.keyword() {
            "script" => {
                if let Some(sc) = cx.script(l) {
                    s.script = Some(sc);
                }
            }
            "interval" => {
                if let Some(v) = cx.uint(l, 0, 0, U32_SECS, "keepalived ignores it and keeps 1 s") {
                    cx.extra(l, 1);
                    if v == 0 {
                        cx.warn(
                            DiagKind::Adjusted,
                            l.pos(),
                            l.text.clone(),
                            format!(
                                "({}): vrrp script interval must be greater than 0, setting to 1",
                                s.name
                            ),
                        );
                    }
                    s.interval = Duration::from_secs(v.max(1));
                }
            }
            "timeout" => {
                if let Some(v) = cx.uint(l, 0, 0, U32_SECS, "keepalived ignores it") {
                    cx.extra(l, 1);
                    if v == 0 {
                        cx.warn(
                            DiagKind::Adjusted,
                            l.pos(),
                            l.text.clone(),
                            format!(
                                "({}): vrrp script timeout must be greater than 0, setting to 1",
                                s.name
                            ),
                        );
                    }
                    s.timeout = Duration::from_secs(v.max(1));
                }
            }
            "weight" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                match value::read_int(&w.text, -253, 253) {
                    Ok(v) => s.weight = v as i32,
                    Err(e) => {
                        cx.error(
                            DiagKind::InvalidNumber,
                            w.pos,
                            w.text.clone(),
                            format!(
                                "vrrp_script {} weight {} must be in [-253, 253]",
                                s.name, w.text
                            ),
                        )
                        .hint = Some(e);
                    }
                }
                if let Some(o) = l.arg(1) {
                    if o.text == "reverse" {
                        s.weight_reverse = true;
                    } else {
                        cx.error(
                            DiagKind::InvalidValue,
                            o.pos,
                            o.text.clone(),
                            format!("vrrp_script {} unknown weight option {}", s.name, o.text),
                        );
                    }
                    cx.extra(l, 2);
                }
            }
            "rise" | "fall" => {
                let kw = l.keyword();
                let v = cx
                    .uint(l, 0, 1, i32::MAX as u64, &format!("keepalived uses 1 ({}): vrrp script {kw} value invalid, defaulting to 1", s.name))
                    .unwrap_or(1) as u32;
                cx.extra(l, 1);
                if kw == "rise" {
                    s.rise = v;
                } else {
                    s.fall = v;
                }
            }
            "user" => {
                if let Some(u) = cx.arg(l, 0) {
                    s.user = Some(u.text.clone());
                    s.group = l.arg(1).map(|g| g.text.clone());
                    cx.extra(l, 2);
                }
            }
            "init_fail" => {
                cx.extra(l, 0);
                s.init_fail = true;
            }
            _ => {
                let mut um = Vec::new();
                cx.other(l, Ctx::VrrpScript, &mut um);
                continue;
            }
        }
        cx.no_block(l, Ctx::VrrpScript);
    }
    if s.script.is_none() {
        cx.error(
            DiagKind::MissingSetting,
            name.pos,
            name.text.clone(),
            format!("No script set for vrrp_script {} - removing", s.name),
        )
        .hint = Some("add `script \"/path/to/check\"` to the block".into());
        return;
    }
    b.later
        .defined
        .entry(("track_script", s.name.clone()))
        .or_insert(s.weight);
    b.cfg.vrrp_scripts.push(s);
}

pub(crate) fn track_file(b: &mut Builder, n: &Node) {
    let Some(name) = b.cx.arg(n, 0) else { return };
    b.cx.extra(n, 1);
    if n.keyword() == "vrrp_track_file" {
        b.cx.emit(
            crate::config::diag::Severity::Note,
            DiagKind::Deprecated,
            n.pos(),
            n.keyword(),
            "\"vrrp_track_file\" is deprecated, please use \"track_file\"",
        );
    }
    let mut t = TrackFile {
        at: name.pos,
        name: name.text.clone(),
        file: None,
        weight: 1,
        reverse: false,
        init_file: None,
    };
    let Some(block) = b.cx.block(n) else { return };
    let cx = &mut *b.cx;
    let mut weight_set = false;
    for l in &block.nodes {
        match l.keyword() {
            "file" => {
                let Some(f) = cx.arg(l, 0) else { continue };
                if t.file.is_some() {
                    cx.error(
                        DiagKind::Duplicate,
                        f.pos,
                        f.text.clone(),
                        format!(
                            "File already set for track file {} - ignoring {}",
                            t.name, f.text
                        ),
                    );
                } else {
                    t.file = Some(f.text.clone());
                }
                cx.extra(l, 1);
            }
            "weight" => {
                let Some(w) = cx.arg(l, 0) else { continue };
                if weight_set {
                    cx.error(
                        DiagKind::Duplicate,
                        w.pos,
                        w.text.clone(),
                        format!(
                            "Weight already set for track file {} - ignoring {}",
                            t.name, w.text
                        ),
                    );
                    continue;
                }
                weight_set = true;
                match value::read_int(&w.text, -254, 254) {
                    Ok(v) => t.weight = v as i32,
                    Err(e) => {
                        cx.error(DiagKind::InvalidNumber, w.pos, w.text.clone(), format!("Weight ({}) for track_file {} must be between [-254..254] inclusive. Ignoring...", w.text, t.name))
                            .hint = Some(e);
                    }
                }
                if let Some(o) = l.arg(1) {
                    if o.text == "reverse" {
                        t.reverse = true;
                    } else {
                        cx.error(
                            DiagKind::InvalidValue,
                            o.pos,
                            o.text.clone(),
                            format!("track_file {} unknown weight option {}", t.name, o.text),
                        );
                    }
                    cx.extra(l, 2);
                }
            }
            "init_file" => {
                let mut init = InitFile {
                    value: 0,
                    overwrite: false,
                };
                for w in l.args() {
                    if w.text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                        match value::read_int(&w.text, i64::from(i32::MIN), i64::from(i32::MAX)) {
                            Ok(v) => init.value = v as i32,
                            Err(_) => {
                                cx.error(
                                    DiagKind::InvalidNumber,
                                    w.pos,
                                    w.text.clone(),
                                    format!(
                                        "Track file {} init value {} is invalid",
                                        t.name, w.text
                                    ),
                                );
                            }
                        }
                    } else if w.text == "overwrite" {
                        init.overwrite = true;
                    } else {
                        cx.error(
                            DiagKind::InvalidValue,
                            w.pos,
                            w.text.clone(),
                            format!("Unknown track file init option {}", w.text),
                        );
                    }
                }
                t.init_file = Some(init);
            }
            _ => {
                let mut um = Vec::new();
                cx.other(l, Ctx::TrackFile, &mut um);
                continue;
            }
        }
        cx.no_block(l, Ctx::TrackFile);
    }
    if t.file.is_none() {
        cx.error(
            DiagKind::MissingSetting,
            name.pos,
            name.text.clone(),
            format!("No file set for track_file {} - ignoring", t.name),
        );
        return;
    }
    b.later
        .defined
        .entry(("track_file", t.name.clone()))
        .or_insert(t.weight);
    b.cfg.track_files.push(t);
}

pub(crate) fn track_process(b: &mut Builder, n: &Node) {
    let Some(name) = b.cx.arg(n, 0) else { return };
    b.cx.extra(n, 1);
    let mut t = TrackProcess::new(&name.text);
    t.at = name.pos;
    let Some(block) = b.cx.block(n) else { return };
    let cx = &mut *b.cx;
    let mut quorum_set = false;
    for l in &block.nodes {
        match l.keyword() {
            "process" => {
                let Some(p) = cx.arg(l, 0) else { continue };
                if t.process.is_some() {
                    cx.error(
                        DiagKind::Duplicate,
                        p.pos,
                        p.text.clone(),
                        format!(
                            "Process already set for track process {} - ignoring {}",
                            t.name, p.text
                        ),
                    );
                    continue;
                }
                t.process = Some(p.text.clone());
                t.params = l.args()[1..].iter().map(|w| w.text.clone()).collect();
                if !t.params.is_empty() {
                    t.full_command = true;
                    t.param_match.get_or_insert_with(|| "exact".into());
                }
            }
            "param_match" => match l.arg(0).map(|w| w.text.as_str()) {
                None => {
                    t.param_match = Some("exact".into());
                    t.full_command = true;
                }
                Some(m @ ("initial" | "partial")) => {
                    t.param_match = Some(m.into());
                    t.full_command = true;
                }
                Some(m) => {
                    let w = &l.words[1];
                    cx.error(
                        DiagKind::InvalidValue,
                        w.pos,
                        m,
                        format!("Invalid param_match type {m} - ignoring"),
                    );
                }
            },
            "weight" => {
                let Some(v) = cx.int(l, 0, -254, 254, "keepalived ignores it") else {
                    continue;
                };
                t.weight = v as i32;
                if let Some(o) = l.arg(1) {
                    if o.text == "reverse" {
                        t.reverse = true;
                    } else {
                        cx.error(
                            DiagKind::InvalidValue,
                            o.pos,
                            o.text.clone(),
                            format!(
                                "vrrp_track_process {} unknown weight option {}",
                                t.name, o.text
                            ),
                        );
                    }
                }
            }
            "quorum" => {
                if let Some(v) = cx.uint(l, 0, 1, 65535, "keepalived ignores it") {
                    if v > u64::from(t.quorum_max) {
                        cx.error(
                            DiagKind::Conflict,
                            l.pos(),
                            l.text.clone(),
                            "Quorum is greater than quorum_max - ignoring",
                        );
                    } else {
                        t.quorum = v as u32;
                        quorum_set = true;
                    }
                }
            }
            "quorum_max" => {
                if let Some(v) = cx.uint(l, 0, 0, 65535, "keepalived ignores it") {
                    if (v != 0 || t.quorum > 1) && v < u64::from(t.quorum) {
                        cx.error(
                            DiagKind::Conflict,
                            l.pos(),
                            l.text.clone(),
                            "quorum_max is less than quorum - ignoring",
                        );
                    } else {
                        t.quorum_max = v as u32;
                        if v == 0 {
                            t.quorum = 0;
                        } else if !quorum_set && t.quorum == 0 {
                            t.quorum = 1;
                        }
                    }
                }
            }
            kw @ ("delay" | "terminate_delay" | "fork_delay") => {
                if let Some(d) = cx.timer(l, 0, 1, 3600 * 1_000_000, "keepalived ignores it") {
                    if kw != "fork_delay" {
                        t.terminate_delay = Some(d);
                    }
                    if kw != "terminate_delay" {
                        t.fork_delay = Some(d);
                    }
                }
            }
            "full_command" => t.full_command = true,
            _ => {
                let mut um = Vec::new();
                cx.other(l, Ctx::TrackProcess, &mut um);
                continue;
            }
        }
        cx.no_block(l, Ctx::TrackProcess);
    }
    if t.process.is_none() {
        cx.error(
            DiagKind::MissingSetting,
            name.pos,
            name.text.clone(),
            format!("track process '{}' process name not specified", t.name),
        );
        return;
    }
    b.later
        .defined
        .entry(("track_process", t.name.clone()))
        .or_insert(t.weight);
    b.cfg.track_processes.push(t);
}

pub(crate) fn sync_group(b: &mut Builder, n: &Node) {
    let Some(name) = block_name(b.cx, n, "vrrp_sync_group must have a name - skipping") else {
        return;
    };
    if b.cfg.sync_groups.iter().any(|g| g.name == name.text) {
        b.cx.error(
            DiagKind::Duplicate,
            name.pos,
            name.text.clone(),
            format!("vrrp sync group {} already defined", name.text),
        );
        return;
    }
    let mut g = SyncGroup::new(&name.text);
    g.at = name.pos;
    let Some(block) = b.cx.block(n) else { return };
    let mut group_seen = false;
    for l in &block.nodes {
        let cx = &mut *b.cx;
        match l.keyword() {
            "group" => {
                if group_seen {
                    cx.error(
                        DiagKind::Duplicate,
                        l.pos(),
                        l.text.clone(),
                        format!("Group list already specified for sync group {}", g.name),
                    );
                    continue;
                }
                group_seen = true;
                cx.extra(l, 0);
                if let Some(bl) = cx.block(l) {
                    for m in &bl.nodes {
                        cx.no_block(m, Ctx::SyncGroup);
                        g.group.extend(m.words.iter().map(|w| w.text.clone()));
                    }
                }
                if g.group.is_empty() {
                    cx.warn(
                        DiagKind::MissingSetting,
                        l.pos(),
                        l.text.clone(),
                        format!("Warning - sync group {} has empty group block", g.name),
                    );
                }
                continue;
            }
            "track_interface" => {
                g.track_interface = track_interfaces(cx, l, &g.name, g.track_interface.clone());
                continue;
            }
            "track_script" | "track_file" | "track_process" => {
                let kind = l.keyword();
                let mut list = match kind {
                    "track_script" => std::mem::take(&mut g.track_script),
                    "track_file" => std::mem::take(&mut g.track_file),
                    _ => std::mem::take(&mut g.track_process),
                };
                tracked_refs(cx, &b.cfg, &b.later, l, &g.name, &mut list);
                match kind {
                    "track_script" => g.track_script = list,
                    "track_file" => g.track_file = list,
                    _ => g.track_process = list,
                }
                continue;
            }
            kw
            @ ("notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify") => {
                let slot = match kw {
                    "notify_master" => &mut g.notify_master,
                    "notify_backup" => &mut g.notify_backup,
                    "notify_fault" => &mut g.notify_fault,
                    "notify_stop" => &mut g.notify_stop,
                    _ => &mut g.notify,
                };
                if slot.is_some() {
                    let w = l.arg(0).map_or("", |w| w.text.as_str());
                    cx.error(
                        DiagKind::Duplicate,
                        l.pos(),
                        l.text.clone(),
                        format!(
                            "vrrp group {}: {kw} script already specified - ignoring {w}",
                            g.name
                        ),
                    );
                } else {
                    *slot = cx.script(l);
                }
            }
            "smtp_alert" => g.smtp_alert = cx.flag(l, "vrrp_group smtp_alert").or(g.smtp_alert),
            "global_tracking" => {
                cx.warn(DiagKind::Deprecated, l.pos(), l.text.clone(), format!("({}) global_tracking is deprecated. Use track_interface/script/file on the sync group", g.name));
                g.global_tracking = true;
                g.sync_group_tracking_weight = true;
            }
            "sync_group_tracking_weight" => g.sync_group_tracking_weight = true,
            "notify_priority_changes" => {
                g.notify_priority_changes = cx
                    .flag(l, "sync group notify_priority_changes")
                    .or(g.notify_priority_changes)
            }
            _ => {
                cx.other(l, Ctx::SyncGroup, &mut g.unmodelled);
                continue;
            }
        }
        b.cx.no_block(l, Ctx::SyncGroup);
    }
    b.cfg.sync_groups.push(g);
}

/// The lines of a track list block (one item per line).
fn list_lines<'n>(cx: &mut Cx, n: &'n Node) -> &'n [Node] {
    cx.extra(n, 0);
    cx.block(n).map_or(&[], |b| b.nodes.as_slice())
}

/// `track_interface { IF [weight N [reverse]] ... }` (`alloc_track_if`).
pub(crate) fn track_interfaces(
    cx: &mut Cx,
    n: &Node,
    owner: &str,
    mut out: Vec<TrackedInterface>,
) -> Vec<TrackedInterface> {
    for l in list_lines(cx, n) {
        cx.no_block(l, Ctx::VrrpInstance);
        let Some(w) = l.words.first() else { continue };
        let name = w.text.as_str();
        cx.interface(w, |i| {
            format!("({owner}) tracked interface {i} doesn't exist")
        });
        if out.iter().any(|t| t.name == name) {
            cx.warn(
                DiagKind::Duplicate,
                w.pos,
                name,
                format!("({owner}) duplicate track_interface {name} - ignoring"),
            );
            continue;
        }
        let Some((weight, reverse)) = weight_opts(cx, l, owner, "track_interface", 0, false) else {
            continue;
        };
        out.push(TrackedInterface {
            name: name.to_string(),
            weight: weight.unwrap_or(0),
            reverse: reverse.unwrap_or(false),
        });
    }
    out
}

/// `NAME weight N [reverse]`: returns (weight, reverse) or None when keepalived
/// drops the whole line. `default_weight` is used when the value is invalid.
fn weight_opts(
    cx: &mut Cx,
    l: &Node,
    owner: &str,
    what: &str,
    default_weight: i32,
    noreverse: bool,
) -> Option<(Option<i32>, Option<bool>)> {
    let name = l.words.first().map_or("", |w| w.text.as_str());
    let Some(o) = l.arg(0) else {
        return Some((None, None));
    };
    if o.text != "weight" {
        cx.warn(
            DiagKind::ExtraWords,
            o.pos,
            o.text.clone(),
            format!(
                "({owner}) unknown {what} {name} option {} - ignoring",
                o.text
            ),
        )
        .hint = Some(format!(
            "keepalived ignores the whole line, so {name} is not tracked either: one item per line, options are `weight N [reverse]`"
        ));
        return None;
    }
    let Some(v) = l.arg(1) else {
        cx.error(
            DiagKind::MissingParameter,
            o.pos,
            o.text.clone(),
            format!("({owner}) weight without value specified for {what} {name} - ignoring"),
        );
        return None;
    };
    let mut weight = match value::read_int(&v.text, -254, 254) {
        Ok(x) => Some(x as i32),
        Err(e) => {
            cx.error(DiagKind::InvalidNumber, v.pos, v.text.clone(), format!("({owner}) weight {} for {name} must be between [-253..253] inclusive. Ignoring...", v.text))
                .hint = Some(e);
            Some(default_weight)
        }
    };
    if let Some(x) = weight
        && x.abs() == 254
    {
        cx.warn(
            DiagKind::Adjusted,
            v.pos,
            v.text.clone(),
            format!("({owner}) weight for {name} cannot be +/-254. Setting to +/-253"),
        );
        weight = Some(x.signum() * 253);
    }
    let mut reverse = None;
    if let Some(r) = l.arg(2) {
        match r.text.as_str() {
            "reverse" => reverse = Some(true),
            "noreverse" if noreverse => reverse = Some(false),
            _ => {
                cx.warn(
                    DiagKind::InvalidValue,
                    r.pos,
                    r.text.clone(),
                    format!(
                        "({owner}) unknown {what} {name} weight option {} - ignoring",
                        r.text
                    ),
                );
            }
        }
        cx.extra(l, 3);
    }
    Some((weight, reverse))
}

/// `track_script`/`track_file`/`track_process` lists. keepalived looks the
/// name up while reading, so an object defined further down the file is not
/// found.
pub(crate) fn tracked_refs(
    cx: &mut Cx,
    cfg: &Config,
    later: &Later,
    n: &Node,
    owner: &str,
    out: &mut Vec<TrackedRef>,
) {
    let kind = n.keyword();
    let (what, later_list, default): (&str, &[(String, Pos)], &str) = match kind {
        "track_script" => ("track script", &later.scripts, "vrrp_script"),
        "track_file" => ("track file", &later.files, "track_file"),
        _ => ("track process", &later.processes, "vrrp_track_process"),
    };
    let key: &'static str = match kind {
        "track_script" => "track_script",
        "track_file" => "track_file",
        _ => "track_process",
    };
    for l in list_lines(cx, n) {
        cx.no_block(l, Ctx::VrrpInstance);
        let Some(w) = l.words.first() else { continue };
        let name = w.text.as_str();
        let Some(&own_weight) = later.defined.get(&(key, name.to_string())) else {
            let d = cx.error(
                DiagKind::UndefinedReference,
                w.pos,
                name,
                format!("({owner}) {what} {name} not found, ignoring..."),
            );
            d.hint = Some(match later_list.iter().find(|(x, _)| x == name) {
                Some((_, p)) => format!(
                    "{default} {name} is defined further down (line {}); keepalived only finds it if it comes before this use",
                    p.line
                ),
                None => {
                    let names: Vec<&str> = match key {
                        "track_script" => {
                            cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect()
                        }
                        "track_file" => cfg.track_files.iter().map(|s| s.name.as_str()).collect(),
                        _ => cfg
                            .track_processes
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect(),
                    };
                    match crate::config::suggest::closest(name, &names) {
                        Some(s) => format!("did you mean '{s}'?"),
                        None => format!(
                            "define it with `{default} {name} {{ ... }}` before this instance"
                        ),
                    }
                }
            });
            continue;
        };
        if out.iter().any(|t| t.name == name) {
            cx.warn(
                DiagKind::Duplicate,
                w.pos,
                name,
                format!("({owner}) duplicate {kind} {name} - ignoring"),
            );
            continue;
        }
        let Some((weight, reverse)) =
            weight_opts(cx, l, owner, what, own_weight, kind != "track_process")
        else {
            continue;
        };
        out.push(TrackedRef {
            name: name.to_string(),
            weight,
            reverse,
        });
    }
}

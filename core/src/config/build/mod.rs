//! From the block tree to the typed model: one function per block kind, each
//! mirroring the keepalived 2.2.7 handlers for its keywords (what they accept,
//! their defaults, their messages).

pub(crate) mod addr;
pub(crate) mod check;
pub(crate) mod global;
pub(crate) mod lvs;
pub(crate) mod track;
pub(crate) mod vrrp;

use std::time::Duration;

use super::Options;
use super::diag::{DiagKind, Diagnostic, Severity};
use super::keywords::{self, Ctx};
use super::model::{Config, RawItem, Script};
use super::parser::{Block, Node};
use super::suggest;
use super::text::{Pos, SplitError, Word, make, split_command};
use super::value;

/// Diagnostics sink and options, passed to every builder.
pub(crate) struct Cx<'a> {
    pub files: &'a [String],
    pub diags: Vec<Diagnostic>,
    pub opts: &'a Options,
    /// The preference keepalived gives the next rule written without one,
    /// per family (IPv4, IPv6); it counts down from 16384.
    pub next_rule_priority: [u32; 2],
}

impl<'a> Cx<'a> {
    pub fn new(files: &'a [String], opts: &'a Options) -> Self {
        Cx {
            files,
            diags: Vec::new(),
            opts,
            next_rule_priority: [16384; 2],
        }
    }

    pub fn emit(
        &mut self,
        severity: Severity,
        kind: DiagKind,
        pos: Pos,
        text: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let d = make(self.files, severity, kind, pos, text, message, None);
        self.diags.push(d);
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    pub fn error(
        &mut self,
        kind: DiagKind,
        pos: Pos,
        text: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.emit(Severity::Error, kind, pos, text, message)
    }

    pub fn warn(
        &mut self,
        kind: DiagKind,
        pos: Pos,
        text: impl Into<String>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.emit(Severity::Warning, kind, pos, text, message)
    }

    /// Argument `i` (0 is the first word after the keyword). A missing one
    /// is an error: keepalived 2.2.7 stops reading the config there.
    pub fn arg<'n>(&mut self, n: &'n Node, i: usize) -> Option<&'n Word> {
        if let Some(w) = n.arg(i) {
            return Some(w);
        }
        let kw = n.keyword().to_string();
        let last = n.words.last().map(|w| w.text.clone()).unwrap_or_default();
        let msg = if n.words.len() == i + 1 {
            format!(
                "Configuration line starting `{kw}` is missing a parameter after keyword `{last}` at word position {}",
                i + 2
            )
        } else {
            format!(
                "Configuration line starting `{kw}` is missing a parameter at word position {}",
                i + 2
            )
        };
        self.error(DiagKind::MissingParameter, n.pos(), n.text.clone(), msg)
            .hint =
            Some("add the value; keepalived 2.2.7 exits when a parameter is missing".into());
        None
    }

    /// Warns about words after the `takes` arguments a keyword uses:
    /// keepalived silently ignores them, which usually means a lost line break.
    pub fn extra(&mut self, n: &Node, takes: usize) {
        let Some(first) = n.words.get(takes + 1) else {
            return;
        };
        let extra: Vec<&str> = n.words[takes + 1..]
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        let used: Vec<&str> = n.words[..takes + 1]
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        self.warn(
            DiagKind::ExtraWords,
            first.pos,
            extra.join(" "),
            format!(
                "'{}' takes {} - keepalived ignores the rest: '{}'",
                used.join(" "),
                match takes {
                    0 => "no parameter".to_string(),
                    1 => "one parameter".to_string(),
                    k => format!("{k} parameters"),
                },
                extra.join(" ")
            ),
        )
        .hint = Some("one setting per line; was a line break lost?".into());
    }

    /// Reports a block after a keyword that takes none.
    pub fn no_block(&mut self, n: &Node, ctx: Ctx) {
        if let Some(b) = &n.block {
            self.error(
                DiagKind::UnexpectedBlock,
                b.open,
                "{",
                "Unexpected '{' - ignoring",
            )
            .hint = Some(format!(
                "'{}' takes no block; keepalived 2.2.7 would also end the enclosing {} block at this block's '}}'",
                n.keyword(),
                ctx.name()
            ));
        }
    }

    /// The block of a keyword that needs one.
    pub fn block<'n>(&mut self, n: &'n Node) -> Option<&'n Block> {
        if n.block.is_none() {
            self.error(
                DiagKind::MissingBlock,
                n.pos(),
                n.text.clone(),
                "Missing '{' at beginning of configuration block",
            )
            .hint = Some(format!("'{}' needs a {{ }} block", n.keyword()));
        }
        n.block.as_ref()
    }

    /// A keyword this builder does not handle: kept raw if keepalived knows it
    /// in this context, otherwise an unknown keyword with a did-you-mean.
    pub fn other(&mut self, n: &Node, ctx: Ctx, unmodelled: &mut Vec<RawItem>) {
        let kw = n.keyword();
        if ctx.keywords().contains(&kw) {
            unmodelled.push(raw(n));
            return;
        }
        self.unknown(n, ctx);
    }

    /// Reports an unknown keyword.
    pub fn unknown(&mut self, n: &Node, ctx: Ctx) {
        let kw = n.keyword().to_string();
        let elsewhere = keywords::known_elsewhere(&kw, ctx);
        let mut hint = match removed(&kw) {
            Some(h) => Some(h.to_string()),
            None => match suggest::closest(&kw, ctx.keywords()) {
                Some(s) => Some(format!("did you mean '{s}'?")),
                None => elsewhere.first().map(|c| match c {
                    Ctx::Root => format!("'{kw}' belongs at the top level, outside any block"),
                    c => format!("'{kw}' belongs in {} {} block", article(c.name()), c.name()),
                }),
            },
        };
        if n.block.is_some() {
            let h = format!("its block is ignored; {}", hint.as_deref().unwrap_or(""));
            hint = Some(h.trim_end_matches([' ', ';']).to_string());
        }
        let pos = n.pos();
        self.warn(
            DiagKind::UnknownKeyword,
            pos,
            n.text.clone(),
            format!("Unknown keyword '{kw}'"),
        )
        .hint = hint;
        if let Some(b) = &n.block
            && ctx != Ctx::Root
        {
            self.error(
                DiagKind::UnexpectedBlock,
                b.open,
                "{",
                "Unexpected '{' - ignoring",
            )
            .hint = Some(format!(
                "keepalived 2.2.7 does not know '{kw}', so it would end the enclosing {} block at this block's '}}'",
                ctx.name()
            ));
        }
    }

    /// An unsigned argument in `[min, max]`; on error says what keepalived
    /// does instead (`then`).
    pub fn uint(&mut self, n: &Node, i: usize, min: u64, max: u64, then: &str) -> Option<u64> {
        let w = self.arg(n, i)?;
        match value::read_unsigned(&w.text, min, max) {
            Ok(v) => Some(v),
            Err(e) => {
                self.bad_number(n, w, e, then);
                None
            }
        }
    }

    /// A signed argument in `[min, max]`.
    pub fn int(&mut self, n: &Node, i: usize, min: i64, max: i64, then: &str) -> Option<i64> {
        let w = self.arg(n, i)?;
        match value::read_int(&w.text, min, max) {
            Ok(v) => Some(v),
            Err(e) => {
                self.bad_number(n, w, e, then);
                None
            }
        }
    }

    /// A time in (decimal) seconds, in `[min_us, max_us]` microseconds.
    pub fn timer(
        &mut self,
        n: &Node,
        i: usize,
        min_us: u64,
        max_us: u64,
        then: &str,
    ) -> Option<Duration> {
        let w = self.arg(n, i)?;
        match value::read_timer(&w.text, min_us, max_us) {
            Ok((d, warn)) => {
                if let Some(m) = warn {
                    self.warn(
                        DiagKind::Adjusted,
                        w.pos,
                        w.text.clone(),
                        format!("{}: {m}", n.keyword()),
                    )
                    .hint = Some("keepalived keeps microseconds and rounds the rest".into());
                }
                Some(d)
            }
            Err(e) => {
                self.bad_number(n, w, e, then);
                None
            }
        }
    }

    /// Whole seconds, as most keepalived intervals are read.
    pub fn secs(&mut self, n: &Node, i: usize, min: u64, max: u64, then: &str) -> Option<Duration> {
        self.uint(n, i, min, max, then).map(Duration::from_secs)
    }

    pub fn bad_number(&mut self, n: &Node, w: &Word, e: String, then: &str) {
        let d = self.error(
            DiagKind::InvalidNumber,
            w.pos,
            w.text.clone(),
            format!("{}: {e}", n.keyword()),
        );
        if !then.is_empty() {
            d.hint = Some(then.to_string());
        }
    }

    /// An optional `true|false|yes|no|on|off` argument, true when absent.
    pub fn flag(&mut self, n: &Node, what: &str) -> Option<bool> {
        let Some(w) = n.arg(0) else { return Some(true) };
        match value::check_true_false(&w.text) {
            Some(b) => {
                self.extra(n, 1);
                Some(b)
            }
            None => {
                self.error(
                    DiagKind::InvalidValue,
                    w.pos,
                    w.text.clone(),
                    format!("Invalid {what} parameter {}", w.text),
                )
                .hint =
                    Some("use one of true, false, yes, no, on, off (or nothing for true)".into());
                None
            }
        }
    }

    /// One word from a fixed list.
    pub fn choice<'n>(
        &mut self,
        n: &'n Node,
        i: usize,
        allowed: &[&str],
        msg: &str,
    ) -> Option<&'n str> {
        let w = self.arg(n, i)?;
        if allowed.contains(&w.text.as_str()) {
            return Some(w.text.as_str());
        }
        let hint = match suggest::closest(&w.text, allowed) {
            Some(s) => format!("did you mean '{s}'? allowed: {}", allowed.join(", ")),
            None => format!("allowed: {}", allowed.join(", ")),
        };
        self.error(
            DiagKind::InvalidValue,
            w.pos,
            w.text.clone(),
            msg.replace("{}", &w.text),
        )
        .hint = Some(hint);
        None
    }

    pub fn bad_address(&mut self, w: &Word, msg: &str) {
        self.error(
            DiagKind::InvalidAddress,
            w.pos,
            w.text.clone(),
            msg.replace("{}", &w.text),
        )
        .hint = Some(address_hint(&w.text));
    }

    /// A script command (`notify_*`, `script`, `misc_path`, `quorum_up`...):
    /// the line is re-split with quotes and escapes, as keepalived does, and
    /// the command is split again into program and arguments — no shell.
    pub fn script(&mut self, n: &Node) -> Option<Script> {
        let w = self.arg(n, 0)?;
        let words = match split_command(&n.text) {
            Ok(ws) => ws,
            // An unclosed '"' was reported when the line was read.
            Err(SplitError::UnterminatedQuote('"')) => {
                n.words.iter().map(|w| w.text.clone()).collect()
            }
            Err(e) => {
                self.script_split_error(w, e);
                return None;
            }
        };
        let command = words.get(1).cloned().unwrap_or_default();
        let args = match split_command(&command) {
            Ok(a) => a,
            Err(e) => {
                self.script_split_error(w, e);
                return None;
            }
        };
        if args.is_empty() {
            self.error(
                DiagKind::Script,
                w.pos,
                w.text.clone(),
                format!("Unable to parse script '{command}' - ignoring"),
            );
            return None;
        }
        if words.len() > 4 {
            self.extra_script_words(n, &words[4..]);
        }
        let script = Script {
            command,
            args,
            user: words.get(2).cloned(),
            group: words.get(3).cloned(),
        };
        self.check_shell(w, &script);
        Some(script)
    }

    fn extra_script_words(&mut self, n: &Node, extra: &[String]) {
        let pos = n.words.get(4).map_or(n.pos(), |w| w.pos);
        self.warn(
            DiagKind::ExtraWords,
            pos,
            extra.join(" "),
            format!(
                "'{}' takes a command, a user and a group - keepalived ignores the rest: '{}'",
                n.keyword(),
                extra.join(" ")
            ),
        )
        .hint = Some("quote the whole command: notify \"/path/script arg1 arg2\"".into());
    }

    fn script_split_error(&mut self, w: &Word, e: SplitError) {
        let why = match e {
            SplitError::UnterminatedQuote(q) => format!("missing terminating {q}"),
            SplitError::TrailingBackslash => "Missing escape char at end".into(),
        };
        self.error(
            DiagKind::Script,
            w.pos,
            w.text.clone(),
            format!("Unable to parse script '{}': {why}", w.text),
        );
    }

    /// keepalived 2.x execs scripts directly: shell syntax is passed to the
    /// program as arguments and does not do what it looks like.
    fn check_shell(&mut self, w: &Word, s: &Script) {
        const OPS: &[&str] = &["&&", "||", "|", ";", ">", ">>", "<", "2>&1", "&>", "&"];
        let op = s
            .args
            .iter()
            .find(|a| OPS.contains(&a.as_str()) || a.starts_with("$(") || a.contains('`'));
        let test = matches!(s.args[0].as_str(), "[" | "[[" | "test");
        if op.is_none() && !test {
            return;
        }
        let what = match op {
            Some(o) => format!("'{o}' is passed to '{}' as an argument", s.args[0]),
            None => format!("'{}' is run directly", s.args[0]),
        };
        self.warn(
            DiagKind::Script,
            w.pos,
            w.text.clone(),
            format!("keepalived 2.x runs scripts without a shell: {what}"),
        )
        .hint = Some(format!(
            "run it through a shell: \"/bin/sh -c '{}'\"",
            s.command.replace('\'', "'\\''")
        ));
    }

    /// Checks an interface name against the host's interfaces, when known.
    pub fn interface(&mut self, w: &Word, msg: impl FnOnce(&str) -> String) {
        let Some(known) = &self.opts.interfaces else {
            return;
        };
        if known.iter().any(|k| k == &w.text) {
            return;
        }
        let list: Vec<&str> = known.iter().map(String::as_str).collect();
        let hint = match suggest::closest(&w.text, &list) {
            Some(s) => format!("did you mean '{s}'? interfaces here: {}", list.join(", ")),
            None => format!("interfaces here: {}", list.join(", ")),
        };
        let m = msg(&w.text);
        self.warn(DiagKind::UnknownInterface, w.pos, w.text.clone(), m)
            .hint = Some(hint);
    }
}

/// Keywords older keepalived versions had, with what to do instead.
fn removed(kw: &str) -> Option<&'static str> {
    Some(match kw {
        "nat_mask" => "keepalived 2.x has no nat_mask: delete the line",
        "lvs_sync_daemon_interface" => "use `lvs_sync_daemon IFNAME INSTANCE` in global_defs",
        _ => return None,
    })
}

fn article(name: &str) -> &'static str {
    if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Why an address might not parse, for hints.
pub(crate) fn address_hint(text: &str) -> String {
    if text.starts_with('$') {
        "a $NAME reference is only substituted when followed by a blank, ',' or ')' - write ${NAME}/24, or define NAME first".into()
    } else if text.starts_with('<') || text.contains('|') {
        "this looks like a template placeholder: put a real address here".into()
    } else if let Some((addr, _)) = text.split_once('/') {
        if value::parse_ip(addr).is_some() {
            "expected an address; a /prefix is not allowed here".into()
        } else {
            format!("'{addr}' is not an IPv4 (a.b.c.d) or IPv6 address")
        }
    } else {
        "expected an IPv4 (a.b.c.d) or IPv6 address".into()
    }
}

/// The node as a raw item.
pub(crate) fn raw(n: &Node) -> RawItem {
    RawItem {
        words: n.words.iter().map(|w| w.text.clone()).collect(),
        block: n.block.as_ref().map(|b| b.nodes.iter().map(raw).collect()),
    }
}

/// What the builders produce besides the config.
pub(crate) struct Builder<'c, 'a> {
    pub cx: &'c mut Cx<'a>,
    pub cfg: Config,
    /// Per instance, what was written (before defaults), for `finish`.
    pub drafts: Vec<vrrp::Draft>,
    /// Instance names seen so far (a linear search is quadratic for the
    /// generated configs with thousands of instances).
    pub instance_names: std::collections::HashSet<String>,
    /// Per virtual server, what was written, for `lvs::finish`.
    pub vs_drafts: Vec<lvs::VsDraft>,
    /// Names and positions of every vrrp_script / track_file / track process
    /// in the file, to explain references that come before the definition.
    pub later: Later,
}

#[derive(Default)]
pub(crate) struct Later {
    pub scripts: Vec<(String, Pos)>,
    pub files: Vec<(String, Pos)>,
    pub processes: Vec<(String, Pos)>,
    /// Name -> weight of what is defined so far, per kind (`track_script`,
    /// `track_file`, `track_process`): lookups stay cheap with thousands.
    pub defined: std::collections::HashMap<(&'static str, String), i32>,
}

/// Builds the model from the tree.
pub(crate) fn build(nodes: &[Node], cx: &mut Cx) -> Config {
    let mut later = Later::default();
    for n in nodes {
        let name = n.arg(0).map(|w| (w.text.clone(), w.pos));
        match (n.keyword(), name) {
            ("vrrp_script", Some(x)) => later.scripts.push(x),
            ("track_file" | "vrrp_track_file", Some(x)) => later.files.push(x),
            ("vrrp_track_process", Some(x)) => later.processes.push(x),
            _ => {}
        }
    }
    let mut b = Builder {
        cx,
        cfg: Config::default(),
        drafts: Vec::new(),
        vs_drafts: Vec::new(),
        instance_names: std::collections::HashSet::new(),
        later,
    };
    for n in nodes {
        match n.keyword() {
            "global_defs" => global::global_defs(&mut b, n),
            "vrrp_instance" => vrrp::vrrp_instance(&mut b, n),
            "vrrp_script" => track::vrrp_script(&mut b, n),
            "vrrp_sync_group" => track::sync_group(&mut b, n),
            "track_file" | "vrrp_track_file" => track::track_file(&mut b, n),
            "vrrp_track_process" => track::track_process(&mut b, n),
            "static_ipaddress" => {
                let mut v = std::mem::take(&mut b.cfg.static_ipaddress);
                addr::address_block(b.cx, n, true, &mut v);
                b.cfg.static_ipaddress = v;
            }
            "static_routes" => {
                let mut v = std::mem::take(&mut b.cfg.static_routes);
                addr::route_block(b.cx, n, true, &mut v);
                b.cfg.static_routes = v;
            }
            "static_rules" => {
                let mut v = std::mem::take(&mut b.cfg.static_rules);
                addr::rule_block(b.cx, n, true, &mut v);
                b.cfg.static_rules = v;
            }
            "virtual_server" => lvs::virtual_server(&mut b, n),
            "virtual_server_group" => lvs::virtual_server_group(&mut b, n),
            _ => {
                let mut um = std::mem::take(&mut b.cfg.unmodelled);
                b.cx.other(n, Ctx::Root, &mut um);
                b.cfg.unmodelled = um;
            }
        }
    }
    vrrp::finish(&mut b);
    lvs::finish(&mut b);
    b.cfg
}

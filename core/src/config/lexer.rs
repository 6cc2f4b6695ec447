//! Turns config files into logical lines of words, doing everything keepalived
//! 2.2.7's `read_line()` does before a keyword is looked up: comments,
//! `@id`/`@^id` conditional lines, `$NAME=` definitions and substitution,
//! `include` (with globs, relative to the including file), and splitting at
//! braces so that every `{` and `}` is a line of its own.

use std::collections::VecDeque;

use super::defs::{Definitions, Subst};
use super::diag::{DiagKind, Diagnostic, Severity};
use super::glob;
use super::include::{self, Checks};
use super::loader::{LoadError, Loader, dir_of, join, normalize_path};
use super::lst;
use super::text::{AText, Pos, Word, decomment, make, split_braces, tokenize};

/// How deep includes may nest before vigil assumes a loop.
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// How many files one config may read in all. keepalived has no limit,
/// but without one a few files that each include the next twice would be
/// read billions of times.
pub const MAX_FILES_READ: usize = 10_000;

/// One logical line: a keyword and its arguments, or a lone `{` / `}`.
#[derive(Clone, Debug)]
pub struct Line {
    pub words: Vec<Word>,
    /// The line's text after comments and substitution, for keywords that
    /// re-split it (scripts keep `'…'` quoting and `\` escapes).
    pub text: String,
}

/// A running `~SEQ(var, start, step, end) text` or `~LST(vars, sets) text`.
struct Seq {
    values: SeqValues,
    text: AText,
}

/// What a generated line's variables take next.
enum SeqValues {
    Numbers {
        var: String,
        next: i64,
        step: i64,
        last: i64,
        hex: bool,
    },
    Lists {
        vars: Vec<String>,
        sets: Vec<Vec<String>>,
        next: usize,
    },
}

struct Frame {
    file: u32,
    /// The path with `.`, `..` and repeated slashes resolved: a file that
    /// includes itself by another spelling is still the same file.
    key: String,
    text: String,
    offset: usize,
    line: u32,
    dir: String,
}

/// The line reader. Create with [`Lexer::new`], then call
/// [`next_line`](Lexer::next_line) until it returns `None`.
pub(crate) struct Lexer<'a> {
    loader: &'a dyn Loader,
    config_id: Option<String>,
    pub files: Vec<String>,
    pub diags: Vec<Diagnostic>,
    stack: Vec<Frame>,
    /// Files pushed so far, the main one and every include, and whether
    /// that reached [`MAX_FILES_READ`].
    files_read: usize,
    files_exhausted: bool,
    residue: Option<AText>,
    queued: VecDeque<AText>,
    defs: Definitions,
    multiline_def: Option<String>,
    /// Active `~SEQ` blocks, innermost last.
    seqs: Vec<Seq>,
    /// `seqs.len()` when a multi-line definition was expanded: its lines are
    /// read before the sequence goes on, as keepalived does.
    ml_seq_depth: usize,
    /// Line (file, line) whose unterminated quote was already reported.
    quote_reported: Option<(u32, u32)>,
}

impl<'a> Lexer<'a> {
    /// Opens `main_path` (which, like keepalived's `-f`, may be a pattern).
    pub fn new(
        main_path: &str,
        loader: &'a dyn Loader,
        config_id: Option<&str>,
        seed: u64,
    ) -> Self {
        let mut lx = Lexer {
            loader,
            config_id: config_id.map(str::to_string),
            files: vec![main_path.to_string()],
            diags: Vec::new(),
            stack: Vec::new(),
            files_read: 0,
            files_exhausted: false,
            residue: None,
            queued: VecDeque::new(),
            defs: Definitions::new(seed),
            multiline_def: None,
            seqs: Vec::new(),
            ml_seq_depth: 0,
            quote_reported: None,
        };
        lx.open_main(main_path);
        lx
    }

    fn open_main(&mut self, main_path: &str) {
        let paths = if glob::has_magic(main_path) {
            self.loader.glob(main_path).unwrap_or_default()
        } else {
            vec![main_path.to_string()]
        };
        if paths.len() > 1 {
            let first = paths.first().cloned().unwrap_or_default();
            self.diag(
                Severity::Warning,
                DiagKind::Include,
                Pos::default(),
                main_path,
                format!(
                    "WARNING, multiple configuration file matches of {main_path}, starting with {first}"
                ),
                None,
            );
        }
        let Some(path) = paths.first() else {
            self.diag(
                Severity::Error,
                DiagKind::FileRead,
                Pos::default(),
                main_path,
                format!("Unable to find configuration file {main_path}"),
                None,
            );
            return;
        };
        match self.loader.read(path) {
            Ok(text) => {
                let id = self.file_id(path);
                self.push_file(id, path, text);
            }
            Err(e) => {
                let msg = match e {
                    LoadError::NotFound => format!("Unable to find configuration file {path}"),
                    LoadError::Other(why) => {
                        format!("Unable to read configuration file {path}: {why}")
                    }
                };
                self.diag(
                    Severity::Error,
                    DiagKind::FileRead,
                    Pos::default(),
                    path.clone(),
                    msg,
                    None,
                );
            }
        }
    }

    fn file_id(&mut self, path: &str) -> u32 {
        if let Some(i) = self.files.iter().position(|f| f == path) {
            return i as u32;
        }
        self.files.push(path.to_string());
        (self.files.len() - 1) as u32
    }

    fn push_file(&mut self, file: u32, path: &str, text: String) {
        self.files_read += 1;
        self.stack.push(Frame {
            file,
            key: normalize_path(path),
            text,
            offset: 0,
            line: 0,
            dir: dir_of(path).to_string(),
        });
    }

    fn diag(
        &mut self,
        severity: Severity,
        kind: DiagKind,
        pos: Pos,
        text: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let d = make(&self.files, severity, kind, pos, text, message, hint);
        self.diags.push(d);
    }

    /// The next logical line, or `None` at the end of the last file.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            let mut buf = if let Some(r) = self.residue.take() {
                r
            } else if self.seqs.len() > self.ml_seq_depth {
                self.seq_next()
            } else if let Some(q) = self.queued.pop_front() {
                if self.queued.is_empty() {
                    self.ml_seq_depth = 0;
                }
                q
            } else {
                let l = self.read_physical()?;
                if let Some(name) = self.multiline_def.clone() {
                    if !self.defs.continue_multiline(&name, &l) {
                        self.multiline_def = None;
                    }
                    continue;
                }
                l
            };
            if buf.is_empty() {
                continue;
            }
            self.expand(&mut buf);
            if buf.is_empty() {
                continue;
            }
            if self.try_include(&buf) {
                continue;
            }
            let (head, residue) = split_braces(&buf);
            self.residue = residue;
            let reported = self.quote_reported == Some((head.file, head.line));
            let words = tokenize(&head, reported, &self.files, &mut self.diags);
            if words.is_empty() {
                continue;
            }
            return Some(Line {
                words,
                text: head.text(),
            });
        }
    }

    /// Reads the next non-blank line (comments removed) from the innermost
    /// open file, closing finished files.
    fn read_physical(&mut self) -> Option<AText> {
        loop {
            let frame = self.stack.last_mut()?;
            if frame.offset >= frame.text.len() {
                self.stack.pop();
                continue;
            }
            let rest = &frame.text[frame.offset..];
            let (raw, advance) = match rest.find('\n') {
                Some(i) => (&rest[..i], i + 1),
                None => (rest, rest.len()),
            };
            frame.offset += advance;
            frame.line += 1;
            let raw = raw.trim_end_matches(['\r', '\n']).to_string();
            let (file, line) = (frame.file, frame.line);
            if raw.is_empty() {
                // A blank line ends a multi-line definition.
                if let Some(name) = self.multiline_def.take() {
                    self.defs.end_multiline(&name);
                }
                continue;
            }
            let mut t = AText::new(&raw, file, line);
            let d = decomment(&mut t);
            if let Some(pos) = d.unterminated_quote {
                self.quote_reported = Some((file, line));
                self.diag(
                    Severity::Error,
                    DiagKind::UnmatchedQuote,
                    pos,
                    raw.trim(),
                    format!("Unterminated quote '{}'", t.text()),
                    Some("close the string with a matching '\"'".into()),
                );
            }
            if t.is_empty() {
                continue;
            }
            return Some(t);
        }
    }

    /// Conditional lines, definitions and substitution, repeated while a
    /// substitution produces something new to look at.
    fn expand(&mut self, buf: &mut AText) {
        let mut rounds = 0;
        loop {
            rounds += 1;
            if buf.starts_with("@") && !self.conditional(buf) {
                buf.chars.clear();
                return;
            }
            if buf.starts_with("$")
                && let Some((name, multiline)) = self.defs.define(buf)
            {
                if multiline {
                    self.multiline_def = Some(name);
                }
                buf.chars.clear();
                return;
            }
            if buf.starts_with("~SEQ") {
                if !self.add_seq(buf) {
                    let text = buf.text();
                    let pos = buf.pos(0);
                    self.diag(
                        Severity::Error,
                        DiagKind::Definition,
                        pos,
                        text.clone(),
                        format!("Invalid ~SEQ specification '{text}'"),
                        Some("~SEQ(var, end), ~SEQ(var, start, end) or ~SEQ(var, start, step, end), then the text to repeat".into()),
                    );
                }
                buf.chars.clear();
                return;
            }
            if buf.starts_with("~LST") {
                if let Err(e) = self.add_lst(buf) {
                    let text = buf.text();
                    let pos = buf.pos(0);
                    let msg = match e {
                        lst::LstError::TooManyValues => {
                            format!("~LST specification has too many values '{text}'")
                        }
                        lst::LstError::Invalid => format!("Invalid ~LST specification '{text}'"),
                    };
                    self.diag(
                        Severity::Error,
                        DiagKind::Definition,
                        pos,
                        text,
                        msg,
                        Some("~LST(VAR, V1, V2, ...) or ~LST({VAR1, VAR2}, {V1, V2}, ...), then the text to repeat".into()),
                    );
                }
                buf.chars.clear();
                return;
            }
            if buf.starts_with("~") || !buf.chars.contains(&'$') {
                return;
            }
            let pwd = self
                .stack
                .last()
                .map(|f| {
                    if f.dir.is_empty() {
                        ".".to_string()
                    } else {
                        f.dir.clone()
                    }
                })
                .unwrap_or_else(|| ".".into());
            let instance = self.config_id.clone().unwrap_or_default();
            let before = buf.text();
            match self.defs.substitute(buf, &pwd, &instance) {
                Subst::Unchanged => return,
                Subst::Runaway => {
                    let pos = buf.pos(0);
                    self.diag(
                        Severity::Error,
                        DiagKind::Definition,
                        pos,
                        before,
                        "definition expansion does not terminate - line ignored",
                        Some(
                            "a $NAME definition refers to itself, directly or through others"
                                .into(),
                        ),
                    );
                    buf.chars.clear();
                    return;
                }
                Subst::Changed { more } => {
                    let (file, line) = (buf.file, buf.line);
                    if !more.is_empty() {
                        self.ml_seq_depth = self.seqs.len();
                    }
                    let col = buf.cols.first().copied().unwrap_or(1);
                    for (i, l) in more.into_iter().enumerate() {
                        let mut t = AText::new(&l, file, line);
                        t.cols.iter_mut().for_each(|c| *c = col);
                        self.queued.insert(i, t);
                    }
                    let d = decomment(buf);
                    if let Some(pos) = d.unterminated_quote
                        && self.quote_reported != Some((file, line))
                    {
                        self.quote_reported = Some((file, line));
                        self.diag(
                            Severity::Error,
                            DiagKind::UnmatchedQuote,
                            pos,
                            buf.text(),
                            format!("Unterminated quote '{}'", buf.text()),
                            None,
                        );
                    }
                    if rounds > 64 {
                        return;
                    }
                    if !(buf.starts_with("@") || buf.chars.contains(&'$')) {
                        return;
                    }
                }
            }
        }
    }

    /// The next line of the innermost `~SEQ` or `~LST`, with its variables set.
    fn seq_next(&mut self) -> AText {
        let Some(seq) = self.seqs.last_mut() else {
            return AText::default();
        };
        let text = seq.text.clone();
        let (assign, done) = match &mut seq.values {
            SeqValues::Numbers {
                var,
                next,
                step,
                last,
                hex,
            } => {
                let value = if *hex {
                    format!("{next:x}")
                } else {
                    next.to_string()
                };
                *next = next.saturating_add(*step);
                let done = (*step > 0 && *next > *last) || (*step < 0 && *next < *last);
                (vec![(var.clone(), value)], done)
            }
            SeqValues::Lists { vars, sets, next } => {
                let set = sets.get(*next).cloned().unwrap_or_default();
                *next += 1;
                let assign = vars.iter().cloned().zip(set).collect();
                (assign, *next >= sets.len())
            }
        };
        if done {
            self.seqs.pop();
        }
        for (var, value) in assign {
            self.defs.set(&var, value, false);
        }
        text
    }

    /// keepalived's `add_lst`: see [`lst`].
    fn add_lst(&mut self, buf: &AText) -> Result<(), lst::LstError> {
        let l = lst::parse(&buf.chars)?;
        if self.seqs.len() >= 16 {
            return Err(lst::LstError::Invalid);
        }
        self.seqs.push(Seq {
            values: SeqValues::Lists {
                vars: l.vars,
                sets: l.sets,
                next: 0,
            },
            text: buf.slice(l.text_at, buf.len()),
        });
        Ok(())
    }

    /// keepalived's `add_seq`: `~SEQ(var, [start,] [step,] end) text`, or
    /// `~SEQx(...)` for hexadecimal values. Numbers are C literals (`0x90`),
    /// and may be `$NAME`s.
    fn add_seq(&mut self, buf: &AText) -> bool {
        let c = &buf.chars;
        let mut p = 4;
        let hex = c.get(p) == Some(&'x');
        if hex {
            p += 1;
        }
        let skip_blank = |p: &mut usize| {
            while c.get(*p).is_some_and(|ch| *ch == ' ' || *ch == '\t') {
                *p += 1;
            }
        };
        skip_blank(&mut p);
        if c.get(p) != Some(&'(') {
            return false;
        }
        p += 1;
        skip_blank(&mut p);
        let var_start = p;
        while c
            .get(p)
            .is_some_and(|ch| !matches!(ch, ' ' | '\t' | ',' | ')'))
        {
            p += 1;
        }
        let var: String = c[var_start..p].iter().collect();
        skip_blank(&mut p);
        if var.is_empty() || c.get(p) != Some(&',') {
            return false;
        }
        p += 1;
        let Some(close) = c[p..].iter().position(|ch| *ch == ')').map(|o| o + p) else {
            return false;
        };
        // The parameters may use definitions.
        let mut params = buf.slice(p, close);
        let pwd = self.stack.last().map(|f| f.dir.clone()).unwrap_or_default();
        let inst = self.config_id.clone().unwrap_or_default();
        if let Subst::Runaway = self.defs.substitute(&mut params, &pwd, &inst) {
            return false;
        }
        let nums: Option<Vec<i64>> = params
            .text()
            .split(',')
            .map(|t| parse_c_long(t.trim()))
            .collect();
        let Some(nums) = nums else { return false };
        let (start, step, end) = match nums.as_slice() {
            [end] => {
                let end = *end;
                (
                    if end < 0 { -1 } else { 1 },
                    if end < 1 { -1 } else { 1 },
                    end,
                )
            }
            [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
            [start, step, end] => {
                if *step == 0 || (start < end && *step < 0) || (start > end && *step > 0) {
                    return false;
                }
                (*start, *step, *end)
            }
            _ => return false,
        };
        if hex && (start < 0 || end < 0) {
            return false;
        }
        if self.seqs.len() >= 16 {
            return false;
        }
        let mut t = close + 1;
        skip_blank(&mut t);
        self.seqs.push(Seq {
            values: SeqValues::Numbers {
                var,
                next: start,
                step,
                last: end,
                hex,
            },
            text: buf.slice(t, buf.len()),
        });
        true
    }

    /// `@id rest` keeps `rest` only when `id` is the config id; `@^id rest`
    /// only when it is not. Returns false if the line is dropped; otherwise
    /// strips the prefix from `buf`.
    fn conditional(&mut self, buf: &mut AText) -> bool {
        let rev = buf.chars.get(1) == Some(&'^');
        let ofs = if rev { 2 } else { 1 };
        let Some(sp) = buf.chars[ofs.min(buf.len())..]
            .iter()
            .position(|c| *c == ' ' || *c == '\t')
            .map(|p| p + ofs)
        else {
            return false;
        };
        let id: String = buf.chars[ofs..sp].iter().collect();
        let matches = self.config_id.as_deref() == Some(id.as_str());
        if matches == rev {
            return false;
        }
        let mut start = sp;
        while start < buf.len() && (buf.chars[start] == ' ' || buf.chars[start] == '\t') {
            start += 1;
        }
        *buf = buf.slice(start, buf.len());
        true
    }

    /// `include PATTERN`, or `includer`/`includem`/`includew`/`includeb`/
    /// `includea`, which make some problems errors (see [`include`]). The
    /// pattern is the rest of the line, relative to the including file.
    fn try_include(&mut self, buf: &AText) -> bool {
        let c = &buf.chars;
        if !buf.starts_with("include") || c.len() < 8 {
            return false;
        }
        let (letter, pat_start) = if c[7].is_whitespace() {
            (None, 8)
        } else if c.len() > 8 && c[8].is_whitespace() {
            (Some(c[7]), 9)
        } else {
            return false;
        };
        let Some(checks) = Checks::from_letter(letter) else {
            return false;
        };
        let mut p = pat_start;
        while p < c.len() && (c[p] == ' ' || c[p] == '\t') {
            p += 1;
        }
        let pattern: String = c[p..].iter().collect();
        let pos = buf.pos(p.min(c.len().saturating_sub(1)));
        let dir = self.stack.last().map(|f| f.dir.clone()).unwrap_or_default();
        let full = join(&dir, &pattern);
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            let msg = format!("includes nested more than {MAX_INCLUDE_DEPTH} deep - not including");
            self.include_error(pos, pattern, msg, None);
            return true;
        }
        let found = match include::expand(self.loader, &full) {
            Ok(e) => e,
            Err(e) => {
                let sev = severity(checks.read);
                let msg = format!("Error reading config file(s): {full}: {e}, skipping.");
                self.diag(sev, DiagKind::Include, pos, pattern, msg, None);
                return true;
            }
        };
        if found.files.is_empty() && found.dirs.is_empty() {
            self.nothing_included(&found, checks, pos, &pattern, &full);
            return true;
        }
        if found.missing {
            let msg = format!("Some config files missing: \"{full}\".");
            self.diag(
                severity(checks.brace),
                DiagKind::Include,
                pos,
                pattern.clone(),
                msg,
                None,
            );
            if checks.brace {
                return true;
            }
        }
        for d in &found.dirs {
            let msg = format!("Configuration file '{d}' is a directory - skipping");
            self.diag(
                severity(checks.read),
                DiagKind::Include,
                pos,
                d.clone(),
                msg,
                None,
            );
        }
        let mut texts = Vec::new();
        for path in &found.files {
            if self.stack.iter().any(|f| f.key == normalize_path(path)) {
                let msg = format!("'{path}' includes itself - not including");
                self.include_error(pos, path.clone(), msg, None);
                continue;
            }
            if self.files_read + texts.len() >= MAX_FILES_READ {
                // Said once; every include after it is skipped the same way.
                if !std::mem::replace(&mut self.files_exhausted, true) {
                    let msg = format!("more than {MAX_FILES_READ} files read - not including");
                    let hint = Some("files probably include each other more than once".into());
                    self.include_error(pos, path.clone(), msg, hint);
                }
                break;
            }
            match self.loader.read(path) {
                Ok(t) => texts.push((path.clone(), t)),
                Err(e) => self.diag(
                    severity(checks.read),
                    DiagKind::Include,
                    pos,
                    path.clone(),
                    format!("Configuration file '{path}' open problem ({e}) - skipping"),
                    None,
                ),
            }
        }
        // Number the files in reading order, then push in reverse so the
        // first match is read first.
        let ids: Vec<u32> = texts.iter().map(|(p, _)| self.file_id(p)).collect();
        for ((path, text), id) in texts.into_iter().zip(ids).rev() {
            self.push_file(id, &path, text);
        }
        true
    }

    /// An include that would never end, refused.
    fn include_error(&mut self, pos: Pos, text: String, message: String, hint: Option<String>) {
        self.diag(Severity::Error, DiagKind::Include, pos, text, message, hint);
    }

    /// Reports an include that matched nothing, as keepalived does: a
    /// missing file or directory is always said, a wildcard matching nothing
    /// only with `includew`/`includea`.
    fn nothing_included(
        &mut self,
        found: &include::Expansion,
        checks: Checks,
        pos: Pos,
        pattern: &str,
        full: &str,
    ) {
        if found.missing {
            let error = if found.brace {
                checks.brace
            } else {
                checks.missing
            };
            let hint = if pattern.contains([' ', '\t']) {
                format!(
                    "the pattern is the whole rest of the line, here '{pattern}': put the include on a line of its own"
                )
            } else if error {
                "fix the path, or create the file".into()
            } else {
                "the include is skipped; use `includem` to make a missing file an error".into()
            };
            self.diag(
                severity(error),
                DiagKind::Include,
                pos,
                pattern,
                format!("Config files missing '{full}'."),
                Some(hint),
            );
        } else if checks.wildcard {
            self.diag(
                Severity::Error,
                DiagKind::Include,
                pos,
                pattern,
                format!("No config files matched '{full}'."),
                None,
            );
        }
    }
}

/// Error when the include's checks ask for it, else a warning.
fn severity(error: bool) -> Severity {
    if error {
        Severity::Error
    } else {
        Severity::Warning
    }
}

/// `strtol(s, _, 0)`: decimal, `0x` hex or `0` octal, with a sign.
fn parse_c_long(s: &str) -> Option<i64> {
    let (neg, t) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::super::loader::MemoryLoader;
    use super::*;

    fn lines(l: &MemoryLoader, main: &str, id: Option<&str>) -> (Vec<String>, Vec<Diagnostic>) {
        let mut lx = Lexer::new(main, l, id, 0);
        let mut out = Vec::new();
        while let Some(line) = lx.next_line() {
            let ws: Vec<String> = line
                .words
                .iter()
                .map(|w| {
                    format!(
                        "{}@{}:{}:{}",
                        w.text, lx.files[w.pos.file as usize], w.pos.line, w.pos.col
                    )
                })
                .collect();
            out.push(ws.join(" "));
        }
        (out, lx.diags)
    }

    #[test]
    fn braces_become_lines_with_positions() {
        let l = MemoryLoader::new().with("k.conf", "vrrp_instance VI_1 { state MASTER }\n");
        let (out, d) = lines(&l, "k.conf", None);
        assert_eq!(
            out,
            vec![
                "vrrp_instance@k.conf:1:1 VI_1@k.conf:1:15",
                "{@k.conf:1:20",
                "state@k.conf:1:22 MASTER@k.conf:1:28",
                "}@k.conf:1:35",
            ]
        );
        assert!(d.is_empty());
    }

    #[test]
    fn include_is_relative_to_the_including_file() {
        let l = MemoryLoader::new()
            .with("/etc/k/k.conf", "a 1\ninclude conf.d/*.conf\nb 2\n")
            .with("/etc/k/conf.d/2.conf", "y\n")
            .with("/etc/k/conf.d/1.conf", "x {\n include ../leaf.inc\n}\n")
            .with("/etc/k/leaf.inc", "leaf\n");
        let (out, d) = lines(&l, "/etc/k/k.conf", None);
        assert_eq!(
            out,
            vec![
                "a@/etc/k/k.conf:1:1 1@/etc/k/k.conf:1:3",
                "x@/etc/k/conf.d/1.conf:1:1",
                "{@/etc/k/conf.d/1.conf:1:3",
                "leaf@/etc/k/leaf.inc:1:1",
                "}@/etc/k/conf.d/1.conf:3:1",
                "y@/etc/k/conf.d/2.conf:1:1",
                "b@/etc/k/k.conf:3:1 2@/etc/k/k.conf:3:3",
            ]
        );
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn missing_includes() {
        // As keepalived 2.2.7 -t reports them: a missing file or directory
        // is said (an error with includem/w/a), an empty match only with w/a.
        let l = MemoryLoader::new()
            .with(
                "/k.conf",
                "include /nope.conf\ninclude /d/*.conf\nincluder /nope2.conf\n\
                 include /e/*.txt\nincludew /e/*.txt\nincludem /nope3.conf\n\
                 includeb /e/{x,y}.conf\nincludex /nope4.conf\n",
            )
            .with("/e/x.conf", "x\n");
        let (out, d) = lines(&l, "/k.conf", None);
        assert_eq!(out, vec!["includex@/k.conf:8:1 /nope4.conf@/k.conf:8:10"]);
        let got: Vec<_> = d
            .iter()
            .map(|d| (d.line, d.col, d.severity, d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    1,
                    9,
                    Severity::Warning,
                    "Config files missing '/nope.conf'."
                ),
                (2, 9, Severity::Warning, "Config files missing '/d/*.conf'."),
                (
                    3,
                    10,
                    Severity::Warning,
                    "Config files missing '/nope2.conf'."
                ),
                (
                    5,
                    10,
                    Severity::Error,
                    "No config files matched '/e/*.txt'."
                ),
                (
                    6,
                    10,
                    Severity::Error,
                    "Config files missing '/nope3.conf'."
                ),
                (
                    7,
                    10,
                    Severity::Error,
                    "Some config files missing: \"/e/{x,y}.conf\"."
                ),
            ]
        );
    }

    #[test]
    fn include_takes_the_rest_of_the_line() {
        // As in keepalived, the closing brace becomes part of the pattern.
        let l = MemoryLoader::new()
            .with("/k.conf", "x { include a.conf }\n")
            .with("/a.conf", "y\n");
        let (out, d) = lines(&l, "/k.conf", None);
        assert_eq!(out, vec!["x@/k.conf:1:1", "{@/k.conf:1:3"]);
        assert_eq!(d[0].message, "Config files missing '/a.conf }'.");
        assert_eq!(
            d[0].hint.as_deref(),
            Some(
                "the pattern is the whole rest of the line, here 'a.conf }': put the include on a line of its own"
            )
        );
    }

    #[test]
    fn self_include_stops() {
        // Under any spelling, and through another file.
        let l = MemoryLoader::new()
            .with("/k/k.conf", "include /k/./k.conf\ninclude b.conf\n")
            .with("/k/b.conf", "include ../k//k.conf\n");
        let (_, d) = lines(&l, "/k/k.conf", None);
        let said: Vec<_> = d.iter().map(|d| (d.kind, d.message.as_str())).collect();
        assert_eq!(
            said,
            [
                (
                    DiagKind::Include,
                    "'/k/k.conf' includes itself - not including"
                ),
                (
                    DiagKind::Include,
                    "'/k/k.conf' includes itself - not including"
                ),
            ]
        );
    }

    #[test]
    fn nesting_is_limited() {
        // Each file includes the next: 40 distinct files, no loop.
        let mut l = MemoryLoader::new();
        for i in 0..40 {
            l = l.with(&format!("/{i}.conf"), format!("include /{}.conf\n", i + 1));
        }
        let (_, d) = lines(&l, "/0.conf", None);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].message,
            "includes nested more than 32 deep - not including"
        );
    }

    #[test]
    fn files_read_are_limited() {
        // Twenty files, each including the next twice: 2^21 readings
        // without the limit; one error with it.
        let mut l = MemoryLoader::new().with("/20.conf", "");
        for i in 0..20 {
            let next = format!("include /{}.conf\n", i + 1);
            l = l.with(&format!("/{i}.conf"), format!("{next}{next}"));
        }
        let (_, d) = lines(&l, "/0.conf", None);
        let said: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(said, ["more than 10000 files read - not including"]);
    }

    #[test]
    fn conditional_lines() {
        let text = "@n1 a 1\n@^n1 b 2\n@n2 c 3\n@n1\n";
        let l = MemoryLoader::new().with("k", text);
        assert_eq!(lines(&l, "k", Some("n1")).0, vec!["a@k:1:5 1@k:1:7"]);
        assert_eq!(
            lines(&l, "k", Some("n2")).0,
            vec!["b@k:2:6 2@k:2:8", "c@k:3:5 3@k:3:7"]
        );
        assert_eq!(lines(&l, "k", None).0, vec!["b@k:2:6 2@k:2:8"]);
    }

    #[test]
    fn substituted_words_point_at_the_reference() {
        let text = "$IP=10.0.0.1\n$BLK=virtual_ipaddress { \\\n  ${IP}/24 \\\n}\nvip $IP\n  $BLK\n";
        let l = MemoryLoader::new().with("k", text);
        let (out, d) = lines(&l, "k", None);
        assert_eq!(
            out,
            vec![
                "vip@k:5:1 10.0.0.1@k:5:5",
                "virtual_ipaddress@k:6:3",
                "{@k:6:3",
                "10.0.0.1/24@k:6:3",
                "}@k:6:3",
            ]
        );
        assert!(d.is_empty());
    }

    #[test]
    fn unterminated_quote_reported_once() {
        let l = MemoryLoader::new().with("k", "script \"abc\n");
        let (out, d) = lines(&l, "k", None);
        assert_eq!(out, vec!["script@k:1:1 abc@k:1:8"]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "Unterminated quote 'script \"abc'");
        assert_eq!((d[0].line, d[0].col), (1, 8));
    }

    #[test]
    fn recursive_definition_is_an_error() {
        let l = MemoryLoader::new().with("k", "$A=x $A\nv $A\nw 1\n");
        let (out, d) = lines(&l, "k", None);
        assert_eq!(out, vec!["w@k:3:1 1@k:3:3"]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, DiagKind::Definition);
        assert_eq!((d[0].line, d[0].col), (2, 1));
    }

    #[test]
    fn seq_repeats_lines_and_nests() {
        let text =
            "~SEQ(N, 0, 2) ip 10.0.${N}.1\n~SEQx(A, 0x90, 0x10, 0xa0) ~SEQ(B, 2) x${A}:${B}\n";
        let l = MemoryLoader::new().with("k", text);
        let (out, d) = lines(&l, "k", None);
        let texts: Vec<String> = out
            .iter()
            .map(|l| {
                l.split(' ')
                    .map(|w| w.split('@').next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                "ip 10.0.0.1",
                "ip 10.0.1.1",
                "ip 10.0.2.1",
                "x90:1",
                "x90:2",
                "xa0:1",
                "xa0:2"
            ]
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(out[1], "ip@k:1:15 10.0.1.1@k:1:18");
    }

    #[test]
    fn seq_with_a_multiline_definition() {
        let text = "$BLK=a ${I} \\\nb ${I}\n~SEQ(I, 2) $BLK\n";
        let l = MemoryLoader::new().with("k", text);
        let (out, _) = lines(&l, "k", None);
        let firsts: Vec<&str> = out.iter().map(|l| l.as_str()).collect();
        assert_eq!(firsts.len(), 4);
        assert!(firsts[0].starts_with("a@k:3:12 1@"));
        assert!(firsts[1].starts_with("b@k:3:12 1@"));
        assert!(firsts[2].starts_with("a@k:3:12 2@"));
        assert!(firsts[3].starts_with("b@k:3:12 2@"));
    }

    #[test]
    fn bad_seq() {
        let l = MemoryLoader::new().with("k", "~SEQ(N, 1, -1, 5) x\n");
        let (out, d) = lines(&l, "k", None);
        assert!(out.is_empty());
        assert_eq!(
            d[0].message,
            "Invalid ~SEQ specification '~SEQ(N, 1, -1, 5) x'"
        );
    }

    #[test]
    fn missing_main_file() {
        let l = MemoryLoader::new();
        let (out, d) = lines(&l, "/etc/keepalived/keepalived.conf", None);
        assert!(out.is_empty());
        assert_eq!(d[0].kind, DiagKind::FileRead);
        assert_eq!(
            d[0].message,
            "Unable to find configuration file /etc/keepalived/keepalived.conf"
        );
    }
}

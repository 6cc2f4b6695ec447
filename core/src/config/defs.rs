//! `$NAME=value` definitions and their substitution, as keepalived 2.2.7's
//! parser does them (`check_definition`, `find_definition`, `replace_param`).
//!
//! A definition line starts with `$`, then a name (`[A-Za-z_][A-Za-z0-9_]*`)
//! immediately followed by `=`. A value ending in `\` continues on the next
//! lines (a multi-line definition). A reference is `$NAME` followed by a
//! blank, `,`, `)` or the end of the line — so `$IP/24` is *not* substituted
//! while `${IP}/24` is. A multi-line value is only expanded when its reference
//! ends the line; its further lines follow as lines of their own. The text
//! after substitution is substituted again, so definitions can nest; vigil
//! stops after [`MAX_EXPANSIONS`] where keepalived would loop forever.

use super::text::AText;

/// Substitutions allowed on one line before vigil calls the definitions
/// recursive.
pub const MAX_EXPANSIONS: usize = 1000;
/// Longest line substitution may build.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Clone, Debug)]
struct Def {
    name: String,
    value: String,
    multiline: bool,
    builtin: Option<Builtin>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Builtin {
    Pwd,
    Instance,
    Random,
}

/// All definitions seen so far (they are global across included files).
#[derive(Clone, Debug)]
pub(crate) struct Definitions {
    defs: Vec<Def>,
    rng: u64,
}

/// Result of substituting a line.
pub(crate) enum Subst {
    /// No reference to a known definition.
    Unchanged,
    /// Substituted; `more` holds the further lines of a multi-line value.
    Changed { more: Vec<String> },
    /// Expansion did not terminate or grew too long.
    Runaway,
}

impl Definitions {
    /// The standard definitions keepalived predefines: `_PWD`, `_INSTANCE`,
    /// `_RANDOM`, `_HASH` (`#`) and `_BANG` (`!`). `_RANDOM` is drawn from
    /// `seed`, so a parse is reproducible.
    pub fn new(seed: u64) -> Self {
        let b = |name: &str, builtin| Def {
            name: name.into(),
            value: String::new(),
            multiline: false,
            builtin: Some(builtin),
        };
        let v = |name: &str, value: &str| Def {
            name: name.into(),
            value: value.into(),
            multiline: false,
            builtin: None,
        };
        Definitions {
            defs: vec![
                b("_PWD", Builtin::Pwd),
                b("_INSTANCE", Builtin::Instance),
                b("_RANDOM", Builtin::Random),
                v("_HASH", "#"),
                v("_BANG", "!"),
            ],
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// If `line` is a definition (`$NAME=value`), records it and returns the
    /// name and whether its value continues on following lines.
    pub fn define(&mut self, line: &AText) -> Option<(String, bool)> {
        let c = &line.chars;
        if c.first() != Some(&'$') {
            return None;
        }
        let first = *c.get(1)?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let mut i = 2;
        while i < c.len() && c[i] != '=' {
            if !(c[i].is_ascii_alphanumeric() || c[i] == '_') {
                return None;
            }
            i += 1;
        }
        if i >= c.len() {
            return None;
        }
        let name: String = c[1..i].iter().collect();
        let mut v = i + 1;
        while v < c.len() && (c[v] == ' ' || c[v] == '\t') {
            v += 1;
        }
        let mut value: Vec<char> = c[v..].to_vec();
        let multiline = value.last() == Some(&'\\');
        if multiline {
            value.pop();
            while value.last().is_some_and(|ch| *ch == ' ' || *ch == '\t') {
                value.pop();
            }
            if !value.is_empty() {
                value.push('\n');
            }
        }
        let value: String = value.into_iter().collect();
        self.set(&name, value, multiline);
        Some((name, multiline))
    }

    pub fn set(&mut self, name: &str, value: String, multiline: bool) {
        match self.defs.iter_mut().find(|d| d.name == name) {
            Some(d) => {
                d.value = value;
                d.multiline = multiline;
                d.builtin = None;
            }
            None => self.defs.push(Def {
                name: name.into(),
                value,
                multiline,
                builtin: None,
            }),
        }
    }

    /// Appends a continuation line to the multi-line definition `name`.
    /// Returns false when this line ends the definition.
    pub fn continue_multiline(&mut self, name: &str, line: &AText) -> bool {
        let mut chars = line.chars.clone();
        let more = chars.last() == Some(&'\\');
        if more {
            chars.pop();
            while chars.last().is_some_and(|ch| *ch == ' ' || *ch == '\t') {
                chars.pop();
            }
            chars.push('\n');
        }
        let Some(d) = self.defs.iter_mut().find(|d| d.name == name) else {
            return false;
        };
        // keepalived does not add a line holding nothing but the `\`.
        if chars.len() >= 2 || (!chars.is_empty() && !more) {
            d.value.extend(chars);
        }
        if !more {
            self.end_multiline(name);
        }
        more
    }

    /// Ends a multi-line definition (at a blank line or its last line).
    pub fn end_multiline(&mut self, name: &str) {
        if let Some(d) = self.defs.iter_mut().find(|d| d.name == name) {
            if d.value.ends_with('\n') {
                d.value.pop();
            }
            if d.value.is_empty() {
                d.multiline = false;
            }
        }
    }

    /// Substitutes every reference in `line`, re-scanning substituted text.
    pub fn substitute(&mut self, line: &mut AText, pwd: &str, instance: &str) -> Subst {
        let mut changed = false;
        let mut more: Vec<String> = Vec::new();
        let mut count = 0usize;
        let mut i = 0usize;
        while i + 1 < line.chars.len() {
            if line.chars[i] != '$' {
                i += 1;
                continue;
            }
            let Some(r) = self.find_reference(&line.chars, i + 1) else {
                i += 1;
                continue;
            };
            count += 1;
            if count > MAX_EXPANSIONS || line.len() > MAX_LINE {
                return Subst::Runaway;
            }
            let d = &self.defs[r.def];
            let value = match d.builtin {
                Some(Builtin::Pwd) => pwd.to_string(),
                Some(Builtin::Instance) => instance.to_string(),
                Some(Builtin::Random) => {
                    let (lo, hi) = r.params.unwrap_or((0, 32767));
                    self.random(lo, hi).to_string()
                }
                None => self.defs[r.def].value.clone(),
            };
            let multiline = self.defs[r.def].multiline;
            let first = if multiline {
                let mut parts = value.split('\n');
                let first = parts.next().unwrap_or("").to_string();
                // Lines of a nested multi-line value come before the rest of
                // an outer one, as keepalived's multiline stack does.
                let rest: Vec<String> = parts.map(str::to_string).collect();
                more.splice(0..0, rest);
                first
            } else {
                value
            };
            let col = line.cols[i];
            line.splice(i, r.end, &first, col);
            changed = true;
            if first.trim_start_matches([' ', '\t']).starts_with('~') {
                break;
            }
        }
        if changed {
            Subst::Changed { more }
        } else {
            Subst::Unchanged
        }
    }

    /// `find_definition()` for a reference whose name starts at `start` (just
    /// after the `$`).
    fn find_reference(&self, c: &[char], start: usize) -> Option<Ref> {
        let braces = c.get(start) == Some(&'{');
        let name_start = if braces { start + 1 } else { start };
        let first = *c.get(name_start)?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let mut p = name_start + 1;
        while p < c.len() && (c[p].is_ascii_alphanumeric() || c[p] == '_') {
            p += 1;
        }
        let name: String = c[name_start..p].iter().collect();
        let mut params = None;
        let end;
        if braces {
            let mut param_start = None;
            let mut param_end = None;
            while p < c.len() && (c[p] == ' ' || c[p].is_ascii_digit()) {
                if c[p] != ' ' {
                    param_start.get_or_insert(p);
                    param_end = Some(p);
                }
                p += 1;
            }
            if let Some(pe) = param_end
                && pe + 1 != p
            {
                return None;
            }
            if c.get(p) != Some(&'}') {
                return None;
            }
            end = p + 1;
            if let Some(ps) = param_start {
                let text: String = c[ps..p].iter().collect();
                let nums: Vec<u64> = text
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect();
                params = Some(match nums.as_slice() {
                    [] => (0, 32767),
                    [lo] => (*lo, 32767),
                    [lo, hi, ..] => (*lo, *hi),
                });
            }
        } else {
            match c.get(p) {
                None | Some(' ') | Some('\t') | Some(',') | Some(')') => {}
                _ => return None,
            }
            end = p;
        }
        let allow_multiline = end >= c.len();
        let def = self
            .defs
            .iter()
            .position(|d| d.name == name && (allow_multiline || !d.multiline))?;
        if params.is_some() && self.defs[def].builtin != Some(Builtin::Random) {
            return None;
        }
        Some(Ref { def, end, params })
    }

    fn random(&mut self, lo: u64, hi: u64) -> u64 {
        // splitmix64: deterministic for a given seed, no dependency.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        let span = hi - lo;
        if span == u64::MAX {
            z
        } else {
            lo + z % (span + 1)
        }
    }
}

struct Ref {
    def: usize,
    end: usize,
    params: Option<(u64, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(d: &mut Definitions, s: &str) -> (String, Vec<String>) {
        let mut t = AText::new(s, 0, 1);
        match d.substitute(&mut t, "/etc/keepalived", "node1") {
            Subst::Changed { more } => (t.text(), more),
            Subst::Unchanged => (t.text(), vec![]),
            Subst::Runaway => ("RUNAWAY".into(), vec![]),
        }
    }

    fn def(d: &mut Definitions, s: &str) -> Option<(String, bool)> {
        d.define(&AText::new(s, 0, 1))
    }

    #[test]
    fn definition_syntax() {
        let mut d = Definitions::new(0);
        assert_eq!(def(&mut d, "$IP=10.0.0.1"), Some(("IP".into(), false)));
        assert_eq!(def(&mut d, "$IP =10.0.0.1"), None);
        assert_eq!(def(&mut d, "$1X=1"), None);
        assert_eq!(def(&mut d, "$NOEQ"), None);
        assert_eq!(sub(&mut d, "$IP dev eth0").0, "10.0.0.1 dev eth0");
    }

    #[test]
    fn reference_must_end_at_a_separator() {
        let mut d = Definitions::new(0);
        def(&mut d, "$IP=10.0.0.1");
        assert_eq!(sub(&mut d, "$IP/24").0, "$IP/24");
        assert_eq!(sub(&mut d, "${IP}/24").0, "10.0.0.1/24");
        assert_eq!(sub(&mut d, "a $IP,$IP)").0, "a 10.0.0.1,10.0.0.1)");
        assert_eq!(sub(&mut d, "$UNKNOWN x").0, "$UNKNOWN x");
    }

    #[test]
    fn nested_and_runaway() {
        let mut d = Definitions::new(0);
        def(&mut d, "$A=$B x");
        def(&mut d, "$B=b");
        assert_eq!(sub(&mut d, "v $A").0, "v b x");
        def(&mut d, "$L=$L");
        assert_eq!(sub(&mut d, "v $L").0, "RUNAWAY");
    }

    #[test]
    fn multiline_expands_only_at_line_end() {
        let mut d = Definitions::new(0);
        assert_eq!(def(&mut d, "$M=one \\"), Some(("M".into(), true)));
        assert!(d.continue_multiline("M", &AText::new("two \\", 0, 2)));
        assert!(!d.continue_multiline("M", &AText::new("three", 0, 3)));
        assert_eq!(
            sub(&mut d, "x $M"),
            ("x one".into(), vec!["two".into(), "three".into()])
        );
        assert_eq!(sub(&mut d, "$M y").0, "$M y");
    }

    #[test]
    fn builtins() {
        let mut d = Definitions::new(7);
        assert_eq!(sub(&mut d, "$_HASH $_BANG").0, "# !");
        assert_eq!(sub(&mut d, "$_INSTANCE").0, "node1");
        assert_eq!(sub(&mut d, "$_PWD").0, "/etc/keepalived");
        let r: u64 = sub(&mut d, "${_RANDOM 5 6}").0.parse().unwrap();
        assert!((5..=6).contains(&r));
        def(&mut d, "$_HASH=x");
        assert_eq!(sub(&mut d, "$_HASH").0, "x");
    }
}

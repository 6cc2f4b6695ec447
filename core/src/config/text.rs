//! Line text with a source column for every character, and the character-level
//! steps keepalived applies to a line: comment stripping, brace splitting and
//! splitting into words.
//!
//! Carrying the column through every rewrite (comment removal, `$NAME`
//! substitution, splitting at braces) is what lets every word, and so every
//! diagnostic, point at the right place in the original file.

use super::diag::{DiagKind, Diagnostic, Severity};
use serde::Serialize;

/// A place in a source file; `file` indexes [`Sink::files`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    pub file: u32,
    pub line: u32,
    pub col: u32,
}

/// One word of a config line, after quotes are removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub pos: Pos,
    /// Written in double quotes.
    pub quoted: bool,
}

/// Characters of one line, each with the column it came from.
#[derive(Clone, Debug, Default)]
pub(crate) struct AText {
    pub chars: Vec<char>,
    pub cols: Vec<u32>,
    pub file: u32,
    pub line: u32,
}

/// keepalived's whitespace for splitting words.
pub(crate) fn is_white(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}' | '\n' | '\r' | '\u{b}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

impl AText {
    pub fn new(text: &str, file: u32, line: u32) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let cols = (1..=chars.len() as u32).collect();
        AText {
            chars,
            cols,
            file,
            line,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(i) == Some(&c))
    }

    /// Position of character `i` (or of the line end when `i` is past it).
    pub fn pos(&self, i: usize) -> Pos {
        let col = match self.cols.get(i) {
            Some(c) => *c,
            None => self.cols.last().map_or(1, |c| c + 1),
        };
        Pos {
            file: self.file,
            line: self.line,
            col,
        }
    }

    /// Keeps characters `from..to`.
    pub fn slice(&self, from: usize, to: usize) -> AText {
        let to = to.min(self.chars.len());
        let from = from.min(to);
        AText {
            chars: self.chars[from..to].to_vec(),
            cols: self.cols[from..to].to_vec(),
            file: self.file,
            line: self.line,
        }
    }

    /// Replaces `from..to` with `with`, every new character taking column `col`.
    pub fn splice(&mut self, from: usize, to: usize, with: &str, col: u32) {
        let new: Vec<char> = with.chars().collect();
        let n = new.len();
        self.chars.splice(from..to, new);
        self.cols.splice(from..to, std::iter::repeat_n(col, n));
    }

    fn remove(&mut self, i: usize) {
        self.chars.remove(i);
        self.cols.remove(i);
    }

    fn truncate(&mut self, len: usize) {
        self.chars.truncate(len);
        self.cols.truncate(len);
    }

    fn push(&mut self, c: char, col: u32) {
        self.chars.push(c);
        self.cols.push(col);
    }

    /// Drops leading spaces and tabs.
    pub fn trim_start_blanks(&mut self) {
        let n = self.chars.iter().take_while(|c| is_blank(**c)).count();
        self.chars.drain(..n);
        self.cols.drain(..n);
    }

    pub fn trim_end_blanks(&mut self) {
        while self.chars.last().is_some_and(|c| is_blank(*c)) {
            self.chars.pop();
            self.cols.pop();
        }
    }
}

/// What `decomment` found that deserves a diagnostic.
pub(crate) struct Decommented {
    /// Index (in the line before stripping) of an opening quote never closed.
    pub unterminated_quote: Option<Pos>,
}

/// keepalived's `decomment()`: removes leading blanks, a comment starting at
/// the first `!` or `#` outside double quotes (anywhere in the line, not only
/// at a word start), the `\` of `\#` and `\!` outside quotes, and trailing
/// blanks. A final `\` (a continuation, only meaningful in `$NAME=` values) is
/// kept at the end even after the comment is removed, as keepalived does.
pub(crate) fn decomment(t: &mut AText) -> Decommented {
    t.trim_start_blanks();
    let mut quote_at: Option<usize> = None;
    let mut in_quote = false;
    let mut skip: Option<usize> = None;
    let mut cont: Option<u32> = None;
    let mut unterminated = None;
    let mut i = 0;
    while i < t.chars.len() {
        match t.chars[i] {
            '"' => {
                if skip.is_none() {
                    in_quote = !in_quote;
                    quote_at = Some(i);
                }
                i += 1;
            }
            '\\' => {
                if i + 1 < t.chars.len() {
                    if !in_quote && (t.chars[i + 1] == '#' || t.chars[i + 1] == '!') {
                        t.remove(i);
                        i += 1;
                    } else {
                        i += 2;
                    }
                } else {
                    cont = Some(t.cols[i]);
                    t.truncate(i);
                    break;
                }
            }
            '!' | '#' => {
                if !in_quote && skip.is_none() {
                    skip = Some(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if in_quote && let Some(q) = quote_at {
        unterminated = Some(t.pos(q));
    }
    if let Some(s) = skip {
        t.truncate(s);
    }
    t.trim_end_blanks();
    if let Some(col) = cont {
        t.push('\\', col);
    }
    Decommented {
        unterminated_quote: unterminated,
    }
}

/// Splits a line at its first `{` or `}` outside double quotes, as keepalived
/// does so that every brace is a line of its own: `a b { c` gives `a b` and
/// the residue `{ c`; `{ c` gives `{` and the residue `c`.
pub(crate) fn split_braces(t: &AText) -> (AText, Option<AText>) {
    let n = t.chars.len();
    let mut at = None;
    if n > 0 && (t.chars[0] == '{' || t.chars[0] == '}') {
        at = Some(0);
    } else {
        let mut i = 0;
        while i < n {
            match t.chars[i] {
                '{' | '}' => {
                    at = Some(i);
                    break;
                }
                '"' => match t.chars[i + 1..].iter().position(|c| *c == '"') {
                    Some(off) => i += off + 2,
                    None => break,
                },
                _ => i += 1,
            }
        }
    }
    let Some(p) = at else {
        return (t.clone(), None);
    };
    let skip = if p == 0 {
        1 + t.chars[1..].iter().take_while(|c| is_blank(**c)).count()
    } else {
        0
    };
    let mut head = t.slice(0, p + skip);
    let mut rest = t.slice(p + skip, n);
    rest.trim_end_blanks();
    head.trim_end_blanks();
    if rest.is_empty() {
        (head, None)
    } else {
        (head, Some(rest))
    }
}

/// keepalived's `alloc_strvec`: words split at whitespace; a word starting
/// with `"` runs to the next `"` (quotes removed, no escapes); an unquoted
/// word also ends at a `"`. An unclosed quote ends the line (the word is
/// dropped) and is reported unless `quote_reported`.
pub(crate) fn tokenize(
    t: &AText,
    quote_reported: bool,
    files: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Word> {
    let mut words = Vec::new();
    let c = &t.chars;
    let mut i = 0;
    while i < c.len() {
        while i < c.len() && is_white(c[i]) {
            i += 1;
        }
        if i >= c.len() {
            break;
        }
        let start = i;
        if c[i] == '"' {
            match c[i + 1..].iter().position(|ch| *ch == '"') {
                Some(off) => {
                    words.push(Word {
                        text: c[i + 1..i + 1 + off].iter().collect(),
                        pos: t.pos(start),
                        quoted: true,
                    });
                    i += off + 2;
                }
                None => {
                    // keepalived drops the word; vigil keeps the rest of the
                    // line as one, so one typo gives one diagnostic.
                    words.push(Word {
                        text: c[i + 1..].iter().collect(),
                        pos: t.pos(start),
                        quoted: true,
                    });
                    if !quote_reported {
                        let text = t.text();
                        diags.push(make(
                            files,
                            Severity::Error,
                            DiagKind::UnmatchedQuote,
                            t.pos(start),
                            text.clone(),
                            format!("Unmatched quote: '{text}'"),
                            Some("close the string with a matching '\"'".into()),
                        ));
                    }
                    break;
                }
            }
        } else {
            while i < c.len() && !is_white(c[i]) && c[i] != '"' {
                i += 1;
            }
            words.push(Word {
                text: c[start..i].iter().collect(),
                pos: t.pos(start),
                quoted: false,
            });
        }
    }
    words
}

/// Builds a diagnostic, resolving the file index to its path.
pub(crate) fn make(
    files: &[String],
    severity: Severity,
    kind: DiagKind,
    pos: Pos,
    text: impl Into<String>,
    message: impl Into<String>,
    hint: Option<String>,
) -> Diagnostic {
    Diagnostic {
        severity,
        kind,
        file: files
            .get(pos.file as usize)
            .cloned()
            .unwrap_or_else(|| "<unknown>".into()),
        line: pos.line,
        col: pos.col,
        text: text.into(),
        message: message.into(),
        hint,
    }
}

/// Why a script command line could not be split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// A quote (`'` or `"`) that is never closed.
    UnterminatedQuote(char),
    /// A `\` at the very end.
    TrailingBackslash,
}

/// keepalived's `alloc_strvec_quoted_escaped`, used for script command lines:
/// words split at whitespace, `"…"` and `'…'` group (and may join with
/// adjacent text), `\` escapes (`\n`, `\t`, `\xHH`, `\ooo`, `\cX`, `\E`, ...).
pub fn split_command(src: &str) -> Result<Vec<String>, SplitError> {
    let c: Vec<char> = src.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < c.len() {
        while i < c.len() && is_white(c[i]) {
            i += 1;
        }
        if i >= c.len() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while i < c.len() {
            let ch = c[i];
            if ch == '\\' {
                i += 1;
                let Some(&e) = c.get(i) else {
                    return Err(SplitError::TrailingBackslash);
                };
                if e == 'x' && c.get(i + 1).is_some_and(|h| h.is_ascii_hexdigit()) {
                    i += 1;
                    let mut v: u32 = 0;
                    while let Some(d) = c.get(i).and_then(|h| h.to_digit(16)) {
                        v = (v << 4 | d) & 0xff;
                        i += 1;
                    }
                    word.push(char::from(v as u8));
                } else if e == 'c' && i + 1 < c.len() {
                    word.push(char::from((c[i + 1] as u32 & 0x1f) as u8));
                    i += 2;
                } else if ('0'..='7').contains(&e) {
                    let mut v = e as u32 - '0' as u32;
                    i += 1;
                    for _ in 0..2 {
                        match c.get(i) {
                            Some(d) if ('0'..='7').contains(d) => {
                                v = (v << 3) + (*d as u32 - '0' as u32);
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    word.push(char::from((v & 0xff) as u8));
                } else {
                    word.push(match e {
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'E' => '\u{1b}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'v' => '\u{b}',
                        other => other,
                    });
                    i += 1;
                }
                continue;
            }
            match quote {
                Some(q) if ch == q => {
                    quote = None;
                    i += 1;
                }
                Some(_) => {
                    word.push(ch);
                    i += 1;
                }
                None if ch == '"' || ch == '\'' => {
                    quote = Some(ch);
                    i += 1;
                }
                None if is_white(ch) => break,
                None => {
                    word.push(ch);
                    i += 1;
                }
            }
        }
        if let Some(q) = quote {
            return Err(SplitError::UnterminatedQuote(q));
        }
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> String {
        let mut t = AText::new(s, 0, 1);
        decomment(&mut t);
        t.text()
    }

    #[test]
    fn comments_start_anywhere_outside_quotes() {
        assert_eq!(dec("  state MASTER # primary"), "state MASTER");
        assert_eq!(dec("auth_pass abc#123"), "auth_pass abc");
        assert_eq!(dec("auth_pass abc!123"), "auth_pass abc");
        assert_eq!(dec("script \"a # b\" # c"), "script \"a # b\"");
        assert_eq!(dec("auth_pass abc\\#123"), "auth_pass abc#123");
        assert_eq!(dec("! whole line"), "");
        assert_eq!(dec("x \\"), "x\\");
        assert_eq!(dec("x # c \\"), "x\\");
    }

    #[test]
    fn decomment_keeps_columns() {
        let mut t = AText::new("\t  priority 100", 0, 7);
        decomment(&mut t);
        assert_eq!(t.pos(0).col, 4);
        assert_eq!(t.pos(9).col, 13);
    }

    #[test]
    fn unterminated_quote_is_found() {
        let mut t = AText::new("script \"abc", 0, 1);
        let d = decomment(&mut t);
        assert_eq!(d.unterminated_quote.map(|p| p.col), Some(8));
    }

    #[test]
    fn braces_split_like_keepalived() {
        let t = AText::new("vrrp_instance VI_1 { state MASTER }", 0, 1);
        let (a, r) = split_braces(&t);
        assert_eq!(a.text(), "vrrp_instance VI_1");
        let r = r.unwrap();
        assert_eq!(r.text(), "{ state MASTER }");
        let (b, r) = split_braces(&r);
        assert_eq!(b.text(), "{");
        let r = r.unwrap();
        assert_eq!(r.text(), "state MASTER }");
        assert_eq!(r.pos(0).col, 22);
        let (c, r) = split_braces(&r);
        assert_eq!(c.text(), "state MASTER");
        assert_eq!(r.unwrap().text(), "}");
        let t = AText::new("script \"a { b\" {", 0, 1);
        assert_eq!(split_braces(&t).0.text(), "script \"a { b\"");
    }

    #[test]
    fn words_and_quotes() {
        let t = AText::new("a \"b c\" d\"e\"  f", 0, 1);
        let mut d = Vec::new();
        let w = tokenize(&t, false, &[], &mut d);
        let texts: Vec<_> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, vec!["a", "b c", "d", "e", "f"]);
        assert_eq!(w[1].pos.col, 3);
        assert!(w[1].quoted);
        assert_eq!(w[3].pos.col, 10);
        assert!(d.is_empty());
    }

    #[test]
    fn command_split_handles_quotes_and_escapes() {
        assert_eq!(
            split_command("/bin/sh -c '[ -e /x ] && exit 1'").unwrap(),
            vec!["/bin/sh", "-c", "[ -e /x ] && exit 1"]
        );
        assert_eq!(
            split_command("a\\ b \"c\"d 'e'\\x41").unwrap(),
            vec!["a b", "cd", "eA"]
        );
        assert_eq!(
            split_command("a 'b").unwrap_err(),
            SplitError::UnterminatedQuote('\'')
        );
        assert_eq!(
            split_command("a\\").unwrap_err(),
            SplitError::TrailingBackslash
        );
    }
}

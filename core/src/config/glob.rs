//! Shell-style patterns for `include`, as glibc's `glob(3)` with `GLOB_BRACE`
//! reads them: `*`, `?`, `[...]`, `{a,b}` and `\` escapes, `/` never matched by
//! a wildcard, and names starting with `.` only matched by a literal `.`.
//!
//! Loaders use these so every driver expands an include the same way.

/// A glob pattern's literal text: `\x` stands for `x`.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// True if `pattern` has a wildcard or brace, i.e. needs a directory listing
/// rather than a plain existence check.
pub fn has_magic(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' | '{' => return true,
            _ => {}
        }
    }
    false
}

/// Expands `{a,b}` alternatives, left to right, the way `GLOB_BRACE` does.
/// Unbalanced braces are kept literally. The result has at least one entry.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    expand_into(&chars, &mut out, 0);
    out
}

fn expand_into(chars: &[char], out: &mut Vec<String>, depth: usize) {
    // Find the first top-level `{` that has a matching `}`.
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '{' => {
                if let Some((close, commas)) = find_close(chars, i) {
                    if depth > 16 {
                        break;
                    }
                    let prefix = &chars[..i];
                    let suffix = &chars[close + 1..];
                    let mut start = i + 1;
                    let mut bounds = commas;
                    bounds.push(close);
                    for end in bounds {
                        let mut alt: Vec<char> = prefix.to_vec();
                        alt.extend_from_slice(&chars[start..end]);
                        alt.extend_from_slice(suffix);
                        expand_into(&alt, out, depth + 1);
                        start = end + 1;
                    }
                    return;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push(chars.iter().collect());
}

/// Index of the `}` closing the `{` at `open`, and of its top-level commas.
fn find_close(chars: &[char], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => depth += 1,
            '}' if depth == 0 => return Some((i, commas)),
            '}' => depth -= 1,
            ',' if depth == 0 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Does `path` match `pattern` (braces already expanded)? Both are split on
/// `/` and matched component by component.
pub fn matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let comps: Vec<&str> = path.split('/').collect();
    pat.len() == comps.len()
        && pat
            .iter()
            .zip(comps.iter())
            .all(|(p, c)| component_matches(p, c))
}

/// Wildcard match of one path component.
pub fn component_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // A leading dot must be matched literally.
    if n.first() == Some(&'.') && !matches!(p.first(), Some('.')) {
        let escaped_dot = p.len() >= 2 && p[0] == '\\' && p[1] == '.';
        if !escaped_dot {
            return false;
        }
    }
    wild(&p, &n)
}

fn wild(p: &[char], n: &[char]) -> bool {
    // Iterative matcher with one backtrack point for the last `*`.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(p, pi, n[ni]) {
                        if matched {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() => {
                    if p[pi + 1] == n[ni] {
                        pi += 2;
                        ni += 1;
                        continue;
                    }
                }
                c => {
                    if c == n[ni] {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`. Returns
/// whether it matched and the index after the class, or None if the class is
/// not closed (then `[` is literal).
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        let lo = p[i];
        if lo == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            let hi = p[i + 2];
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_in_order() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(
            expand_braces("{x,y}/{1,2}"),
            vec!["x/1", "x/2", "y/1", "y/2"]
        );
        assert_eq!(expand_braces("a{b"), vec!["a{b"]);
    }

    #[test]
    fn star_does_not_cross_slash_or_match_dotfiles() {
        assert!(matches("/etc/k/*.conf", "/etc/k/a.conf"));
        assert!(!matches("/etc/k/*.conf", "/etc/k/sub/a.conf"));
        assert!(!matches("/etc/k/*.conf", "/etc/k/.a.conf"));
        assert!(matches("/etc/k/.*.conf", "/etc/k/.a.conf"));
    }

    #[test]
    fn classes_and_question_mark() {
        assert!(component_matches("vrrp[0-9].conf", "vrrp7.conf"));
        assert!(!component_matches("vrrp[!0-9].conf", "vrrp7.conf"));
        assert!(component_matches("a?c", "abc"));
        assert!(component_matches("a[c", "a[c"));
        assert!(component_matches("a\\*", "a*"));
        assert!(!component_matches("a\\*", "ab"));
    }

    #[test]
    fn magic_detection() {
        assert!(has_magic("/a/*.conf"));
        assert!(has_magic("/a/{b,c}"));
        assert!(!has_magic("/a/b.conf"));
        assert!(!has_magic("/a/b\\*.conf"));
    }
}

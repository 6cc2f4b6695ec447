//! What an `include` pattern expands to, and which of keepalived's include
//! checks turn a problem into an error.
//!
//! keepalived 2.2.7 (`lib/parser.c`, `check_include` and `open_glob_file`)
//! reads `include` leniently: a missing file or directory is logged, a
//! wildcard matching nothing is silent. A letter after the keyword makes
//! problems errors: `r` unreadable files and directories, `m` missing files,
//! `w` also wildcards matching nothing, `b` brace alternatives that match
//! nothing (then nothing is included), `a` all of them.

use super::glob;
use super::loader::{LoadError, Loader};

/// Which include problems are errors (keepalived's `INCLUDE_R/M/W/B`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Checks {
    pub read: bool,
    pub missing: bool,
    pub wildcard: bool,
    pub brace: bool,
}

impl Checks {
    /// The checks of `include` followed by `letter`; `None` for the letter
    /// of a keyword that is not an include.
    pub fn from_letter(letter: Option<char>) -> Option<Checks> {
        let (read, missing, wildcard, brace) = match letter {
            None => (false, false, false, false),
            Some('r') => (true, false, false, false),
            Some('m') => (true, true, false, false),
            Some('w') => (true, true, true, false),
            Some('b') => (true, false, false, true),
            Some('a') => (true, true, true, true),
            Some(_) => return None,
        };
        Some(Checks {
            read,
            missing,
            wildcard,
            brace,
        })
    }
}

/// What a pattern matched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expansion {
    /// Files, in glob(3) order.
    pub files: Vec<String>,
    /// Directories that matched (with their trailing `/`): skipped.
    pub dirs: Vec<String>,
    /// An alternative named a file, or a directory to search, that is not
    /// there (keepalived's `missing_files`/`missing_directories`).
    pub missing: bool,
    pub wildcard: bool,
    /// The pattern has `{a,b}` alternatives.
    pub brace: bool,
}

/// Expands `pattern` (already joined to the including file's directory).
pub(crate) fn expand(loader: &dyn Loader, pattern: &str) -> Result<Expansion, LoadError> {
    let alts = glob::expand_braces(pattern);
    let mut out = Expansion {
        brace: alts.len() > 1,
        ..Expansion::default()
    };
    for alt in &alts {
        let magic = glob::has_magic(alt);
        out.wildcard |= magic;
        let found = loader.glob(alt)?;
        if found.is_empty() && (!magic || !loader.is_dir(fixed_dir(alt))) {
            out.missing = true;
        }
        for p in found {
            if p.ends_with('/') {
                out.dirs.push(p);
            } else {
                out.files.push(p);
            }
        }
    }
    Ok(out)
}

/// The directory a wildcard pattern starts searching in: its components
/// before the first one with a wildcard (`""` for the current directory).
fn fixed_dir(pattern: &str) -> &str {
    let mut end = 0;
    for (i, c) in pattern.char_indices() {
        match c {
            '/' => end = i,
            '*' | '?' | '[' => break,
            _ => {}
        }
    }
    if end == 0 && pattern.starts_with('/') {
        "/"
    } else {
        &pattern[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MemoryLoader;

    #[test]
    fn letters_select_checks() {
        assert_eq!(Checks::from_letter(None), Some(Checks::default()));
        assert_eq!(
            Checks::from_letter(Some('w')),
            Some(Checks {
                read: true,
                missing: true,
                wildcard: true,
                brace: false
            })
        );
        assert_eq!(Checks::from_letter(Some('x')), None);
    }

    #[test]
    fn fixed_dir_stops_at_the_first_wildcard() {
        assert_eq!(fixed_dir("/etc/k/conf.d/*.conf"), "/etc/k/conf.d");
        assert_eq!(fixed_dir("/etc/k/*/x.conf"), "/etc/k");
        assert_eq!(fixed_dir("*.conf"), "");
        assert_eq!(fixed_dir("/*.conf"), "/");
    }

    #[test]
    fn missing_directories_and_files_are_told_apart_from_no_match() {
        let l = MemoryLoader::new()
            .with("/k/empty.d/.keep", "")
            .with("/k/a.conf", "");
        let e = expand(&l, "/k/nodir/*.conf").unwrap();
        assert!(e.missing && e.wildcard && e.files.is_empty());
        let e = expand(&l, "/k/empty.d/*.conf").unwrap();
        assert!(!e.missing && e.wildcard && e.files.is_empty());
        let e = expand(&l, "/k/{a,b}.conf").unwrap();
        assert!(e.missing && e.brace && !e.wildcard);
        assert_eq!(e.files, vec!["/k/a.conf"]);
    }
}

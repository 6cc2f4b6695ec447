//! Where config text comes from. The core never touches the filesystem: the
//! caller passes a [`Loader`]. The CLI and the daemon use one over `std::fs`,
//! the simulator one over the scenario's files ([`MemoryLoader`]).
//!
//! A loader returns a file's text and expands `include` patterns; the
//! lexer has already joined a relative pattern to the including file's
//! directory, so a loader never needs to know which file is being read. The
//! `std::fs` one (`src/fs_loader.rs` in the `vigil` crate) expands each
//! [`glob::expand_braces`] alternative by walking directories with
//! [`glob::component_matches`]; [`MemoryLoader`] matches its keys with
//! [`glob::matches`]:
//!
//! ```
//! use vigil_core::config::{MemoryLoader, parse};
//!
//! let loader = MemoryLoader::new()
//!     .with("/etc/keepalived/keepalived.conf", "include conf.d/*.conf\n")
//!     .with("/etc/keepalived/conf.d/b.conf", "vrrp_script b {\n script /bin/true\n}\n")
//!     .with("/etc/keepalived/conf.d/a.conf", "vrrp_script a {\n script /bin/true\n}\n");
//! let parsed = parse("/etc/keepalived/keepalived.conf", &loader, None);
//! let names: Vec<&str> = parsed.model.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
//! assert_eq!(names, ["a", "b"]); // sorted, as glob(3) returns them
//! assert_eq!(parsed.files[1], "/etc/keepalived/conf.d/a.conf");
//! ```

use std::collections::BTreeMap;

use super::glob;

/// Why a file could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("no such file")]
    NotFound,
    #[error("{0}")]
    Other(String),
}

/// Reads config files and lists the files a pattern matches.
pub trait Loader {
    /// The whole text of the file at `path`.
    fn read(&self, path: &str) -> Result<String, LoadError>;

    /// The files matching `pattern` (see [`glob`](super::glob) for the syntax),
    /// in the order `glob(3)` gives them: brace alternatives left to right,
    /// each sorted. A pattern without wildcards yields itself if it exists.
    /// Relative include patterns have already been joined to the including
    /// file's directory when this is called. Directories that match are
    /// returned with a trailing `/`, as `GLOB_MARK` marks them (keepalived
    /// reports and skips them).
    fn glob(&self, pattern: &str) -> Result<Vec<String>, LoadError>;

    /// Whether `path` is a directory (`""` is the current one). Tells "the
    /// directory of an include is missing", which keepalived reports, from
    /// "nothing in it matched", which it does not. The default says yes.
    fn is_dir(&self, path: &str) -> bool {
        let _ = path;
        true
    }
}

/// Files held in memory, keyed by normalised path; for the simulator and tests.
#[derive(Clone, Debug, Default)]
pub struct MemoryLoader {
    files: BTreeMap<String, String>,
}

impl MemoryLoader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: &str, text: impl Into<String>) -> &mut Self {
        self.files.insert(normalize_path(path), text.into());
        self
    }

    /// Builder form of [`insert`](Self::insert).
    pub fn with(mut self, path: &str, text: impl Into<String>) -> Self {
        self.insert(path, text);
        self
    }
}

impl Loader for MemoryLoader {
    fn read(&self, path: &str) -> Result<String, LoadError> {
        self.files
            .get(&normalize_path(path))
            .cloned()
            .ok_or(LoadError::NotFound)
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, LoadError> {
        let mut out = Vec::new();
        for alt in glob::expand_braces(pattern) {
            let alt = normalize_path(&alt);
            if !glob::has_magic(&alt) {
                let literal = glob::unescape(&alt);
                if self.files.contains_key(&literal) {
                    out.push(literal);
                }
                continue;
            }
            // BTreeMap iterates in sorted order, as glob(3) sorts.
            out.extend(
                self.files
                    .keys()
                    .filter(|k| glob::matches(&alt, k))
                    .cloned(),
            );
        }
        Ok(out)
    }

    fn is_dir(&self, path: &str) -> bool {
        let p = normalize_path(path);
        if p == "/" || p == "." {
            return true;
        }
        let prefix = format!("{p}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }
}

/// Removes `.` components, resolves `..` and repeated slashes, textually.
pub fn normalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if matches!(parts.last(), Some(p) if *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// The directory part of `path` ("" when there is none), as keepalived
/// changes into it before reading includes.
pub fn dir_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

/// Joins an include pattern to the including file's directory.
pub fn join(dir: &str, pattern: &str) -> String {
    if pattern.starts_with('/') || dir.is_empty() {
        pattern.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{pattern}")
    } else {
        format!("{dir}/{pattern}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_glob_sorts_and_expands_braces() {
        let l = MemoryLoader::new()
            .with("/etc/k/b.conf", "")
            .with("/etc/k/a.conf", "")
            .with("/etc/k/c.txt", "")
            .with("/etc/k/d/x.conf", "");
        assert_eq!(
            l.glob("/etc/k/*.conf").unwrap(),
            vec!["/etc/k/a.conf", "/etc/k/b.conf"]
        );
        assert_eq!(
            l.glob("/etc/k/{c.txt,*.conf}").unwrap(),
            vec!["/etc/k/c.txt", "/etc/k/a.conf", "/etc/k/b.conf"]
        );
        assert_eq!(l.glob("/etc/k/missing.conf").unwrap(), Vec::<String>::new());
        assert_eq!(
            l.glob("/etc/k/./d/../a.conf").unwrap(),
            vec!["/etc/k/a.conf"]
        );
        assert!(l.is_dir("/etc/k/d") && l.is_dir("/etc") && l.is_dir(""));
        assert!(!l.is_dir("/etc/k/a.conf") && !l.is_dir("/etc/k/e"));
    }

    #[test]
    fn paths_normalise_and_join() {
        assert_eq!(normalize_path("/a/./b//c/../d"), "/a/b/d");
        assert_eq!(normalize_path("a/../../b"), "../b");
        assert_eq!(dir_of("/etc/keepalived/k.conf"), "/etc/keepalived");
        assert_eq!(dir_of("k.conf"), "");
        assert_eq!(dir_of("/k.conf"), "/");
        assert_eq!(join("/etc/k", "conf.d/*.conf"), "/etc/k/conf.d/*.conf");
        assert_eq!(join("/etc/k", "/abs.conf"), "/abs.conf");
        assert_eq!(join("", "rel.conf"), "rel.conf");
    }
}

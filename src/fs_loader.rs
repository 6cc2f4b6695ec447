//! The [`Loader`] over the real filesystem, for the CLI and the daemon.
//!
//! The core joins a relative `include` pattern to the including file's
//! directory before it asks the loader, so this only has to expand the
//! pattern the way glibc's `glob(GLOB_MARK | GLOB_BRACE)` does for
//! keepalived: brace alternatives left to right, each sorted, directories
//! marked with a trailing `/` (the lexer reports and skips them, as
//! keepalived does), and unreadable directories treated as matching nothing.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use vigil_core::config::glob;
use vigil_core::config::{LoadError, Loader};

/// Reads configs with `std::fs`; relative paths are relative to the process's
/// working directory, as `keepalived -f` takes them.
#[derive(Clone, Copy, Debug, Default)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn read(&self, path: &str) -> Result<String, LoadError> {
        match fs::read(path) {
            // keepalived reads bytes; a stray Latin-1 comment must not stop it.
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(LoadError::NotFound),
            Err(e) => Err(LoadError::Other(e.to_string())),
        }
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, LoadError> {
        let mut out = Vec::new();
        for alt in glob::expand_braces(pattern) {
            let mut found = if glob::has_magic(&alt) {
                walk(&alt)
            } else {
                let literal = glob::unescape(&alt);
                vec![literal]
            };
            found.retain_mut(|p| match Path::new(p).metadata() {
                Ok(m) if m.is_dir() => {
                    p.push('/');
                    true
                }
                Ok(_) => true,
                Err(_) => false,
            });
            found.sort();
            out.extend(found);
        }
        Ok(out)
    }

    fn is_dir(&self, path: &str) -> bool {
        Path::new(if path.is_empty() { "." } else { path }).is_dir()
    }
}

/// Expands one brace-free pattern component by component.
fn walk(pattern: &str) -> Vec<String> {
    let absolute = pattern.starts_with('/');
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let mut bases = vec![if absolute {
        "/".to_string()
    } else {
        String::new()
    }];
    for comp in comps {
        let mut next = Vec::new();
        for base in &bases {
            if glob::has_magic(comp) {
                let dir = if base.is_empty() { "." } else { base.as_str() };
                let Ok(entries) = fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| glob::component_matches(comp, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| child(base, &n)));
            } else {
                let p = child(base, &glob::unescape(comp));
                if Path::new(&p).exists() {
                    next.push(p);
                }
            }
        }
        bases = next;
    }
    bases
}

fn child(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else if base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        for f in [
            "conf.d/b.conf",
            "conf.d/a.conf",
            "conf.d/c.txt",
            "x/y/z.conf",
        ] {
            let p = d.join(f);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).expect("mkdir");
            }
            fs::write(&p, f).expect("write");
        }
        fs::create_dir_all(d.join("conf.d/sub.conf")).expect("mkdir");
        dir
    }

    fn s(p: &Path) -> String {
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn globs_sort_expand_braces_and_mark_directories() {
        let dir = tree();
        let base = s(dir.path());
        let got = FsLoader.glob(&format!("{base}/conf.d/*.conf")).unwrap();
        assert_eq!(
            got,
            vec![
                format!("{base}/conf.d/a.conf"),
                format!("{base}/conf.d/b.conf"),
                format!("{base}/conf.d/sub.conf/")
            ]
        );
        let got = FsLoader
            .glob(&format!("{base}/conf.d/{{c.txt,b*}}"))
            .unwrap();
        assert_eq!(
            got,
            vec![
                format!("{base}/conf.d/c.txt"),
                format!("{base}/conf.d/b.conf")
            ]
        );
        let got = FsLoader.glob(&format!("{base}/*/y/?.conf")).unwrap();
        assert_eq!(got, vec![format!("{base}/x/y/z.conf")]);
        assert!(FsLoader.glob(&format!("{base}/nope/*")).unwrap().is_empty());
        assert_eq!(
            FsLoader.glob(&format!("{base}/conf.d")).unwrap(),
            vec![format!("{base}/conf.d/")]
        );
        assert!(FsLoader.is_dir(&format!("{base}/x/y")) && FsLoader.is_dir(""));
        assert!(!FsLoader.is_dir(&format!("{base}/x/y/z.conf")));
    }

    #[test]
    fn reads_and_reports_missing_files() {
        let dir = tree();
        let base = s(dir.path());
        assert_eq!(
            FsLoader.read(&format!("{base}/conf.d/a.conf")),
            Ok("conf.d/a.conf".to_string())
        );
        assert_eq!(
            FsLoader.read(&format!("{base}/missing")),
            Err(LoadError::NotFound)
        );
        assert!(matches!(
            FsLoader.read(&format!("{base}/conf.d")),
            Err(LoadError::Other(_))
        ));
    }

    #[test]
    fn includes_are_relative_to_the_including_file() {
        let dir = tree();
        let d = dir.path();
        fs::write(d.join("main.conf"), "include conf.d/*.conf\n").expect("write");
        fs::write(
            d.join("conf.d/a.conf"),
            "vrrp_script a {\n script /bin/true\n}\n",
        )
        .expect("write");
        fs::write(
            d.join("conf.d/b.conf"),
            "vrrp_script b {\n script /bin/true\n}\n",
        )
        .expect("write");
        let p = vigil_core::config::parse(&s(&d.join("main.conf")), &FsLoader, None);
        let names: Vec<&str> = p
            .model
            .vrrp_scripts
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(p.files.len(), 3);
        // The directory that matched is reported and skipped, as keepalived does.
        let msgs: Vec<&str> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs[..1],
            [format!(
                "Configuration file '{}/conf.d/sub.conf/' is a directory - skipping",
                s(d)
            )]
        );
    }
}

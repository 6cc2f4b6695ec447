//! Each node's directory in a lab run: its keepalived.conf with only the
//! paths the lab must redirect rewritten — every `vrrp_script`'s command
//! becomes a script the lab controls, every `track_file` path moves into
//! the node's `files/` — and the files `touch`/`remove`/`write` steps change.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use vigil_core::config::{self, Config, MemoryLoader};

use crate::error::{Error, Result};

/// Where the config says it lives; includes resolve beside it.
const CONFIG_NAME: &str = "keepalived.conf";

pub struct NodeDir {
    root: PathBuf,
}

impl NodeDir {
    pub fn create(base: &Path, node: &str) -> Result<NodeDir> {
        let root = base.join(node);
        for sub in ["scripts", "files"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(Error::io(format!("{}", dir.display())))?;
        }
        Ok(NodeDir { root })
    }

    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG_NAME)
    }

    pub fn pid_file(&self) -> PathBuf {
        self.root.join("vigil.pid")
    }

    /// The node's own control socket: not the host's `/run/vigil`, which
    /// every node of a lab (and the host) would otherwise share.
    pub fn control_socket(&self) -> PathBuf {
        self.root.join("vigil.sock")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("vigil.log")
    }

    /// Where a path of the scenario's (a step's or a `track_file`'s) lives
    /// for this node: under `files/`, so nodes never share one.
    pub fn file(&self, path: &str) -> PathBuf {
        self.root.join("files").join(path.trim_start_matches('/'))
    }

    fn script(&self, name: &str) -> PathBuf {
        self.root.join("scripts").join(name)
    }

    fn result(&self, name: &str) -> PathBuf {
        self.root.join("scripts").join(format!("{name}.result"))
    }

    /// What `vrrp_script NAME` exits with from now on (a `script` step).
    pub fn set_result(&self, name: &str, code: i32) -> Result<()> {
        let path = self.result(name);
        std::fs::write(&path, format!("{code}\n")).map_err(Error::io(format!("{}", path.display())))
    }

    /// Writes `text` redirected, with one controllable script per
    /// `vrrp_script`, and returns the config as the node will read it.
    pub fn write_config(&self, node: &str, text: &str) -> Result<Config> {
        let redirected = redirect(text, self);
        let parsed = parse(&redirected);
        if parsed.has_errors() {
            let errors: Vec<String> = parsed.errors().map(|d| d.to_string()).collect();
            return Err(Error::Config(format!(
                "node {node}: keepalived.conf has errors:\n{}",
                errors.join("\n")
            )));
        }
        let model = parsed.model;
        for s in &model.vrrp_scripts {
            let wanted = self.script(&s.name);
            if s.script.as_ref().map(|c| c.command.as_str()) != wanted.to_str() {
                return Err(Error::Config(format!(
                    "node {node}: cannot redirect vrrp_script {}: write its `script` on a line of its own",
                    s.name
                )));
            }
            let body = format!(
                "#!/bin/sh\n# vigil lab: exits with what the scenario's `script` steps say, 0 until one does.\nread -r code 2>/dev/null < '{}'\nexit \"${{code:-0}}\"\n",
                self.result(&s.name).display()
            );
            std::fs::write(&wanted, body).map_err(Error::io(format!("{}", wanted.display())))?;
            std::fs::set_permissions(&wanted, std::fs::Permissions::from_mode(0o755))
                .map_err(Error::io(format!("{}", wanted.display())))?;
        }
        let files = self.root.join("files");
        if let Some(t) = model.track_files.iter().find(|t| {
            t.file
                .as_deref()
                .is_some_and(|f| !Path::new(f).starts_with(&files))
        }) {
            return Err(Error::Config(format!(
                "node {node}: cannot redirect track_file {}: write its `file` on a line of its own",
                t.name
            )));
        }
        for t in &model.track_files {
            if let Some(parent) = t.file.as_deref().and_then(|f| Path::new(f).parent()) {
                std::fs::create_dir_all(parent)
                    .map_err(Error::io(format!("{}", parent.display())))?;
            }
        }
        let path = self.config();
        std::fs::write(&path, &redirected).map_err(Error::io(format!("{}", path.display())))?;
        Ok(model)
    }
}

/// Parses a node's config text the way the lab reads it (no includes:
/// scenario configs are self-contained).
pub fn parse(text: &str) -> config::Parsed {
    let loader = MemoryLoader::new().with(CONFIG_NAME, text);
    config::parse_with(CONFIG_NAME, &loader, &config::Options::default())
}

/// Rewrites the `script` line of every top-level `vrrp_script` block and
/// the `file` line of every `track_file` block; every other byte is kept.
fn redirect(text: &str, dir: &NodeDir) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    // The top-level block we are in, as (keyword, name).
    let mut block: Option<(String, String)> = None;
    let mut previous: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        let code = code_of(line);
        let words: Vec<String> = code.split_whitespace().map(str::to_string).collect();
        let indent = &line[..line.len() - line.trim_start().len()];
        let newline = if line.ends_with('\n') { "\n" } else { "" };
        let replaced = match (depth, &block, words.first().map(String::as_str)) {
            (1, Some((kw, name)), Some("script")) if kw == "vrrp_script" => Some(format!(
                "{indent}script \"{}\"{newline}",
                dir.script(name).display()
            )),
            (1, Some((kw, _)), Some("file"))
                if (kw == "track_file" || kw == "vrrp_track_file") && words.len() > 1 =>
            {
                let path = words[1].trim_matches('"');
                Some(format!(
                    "{indent}file \"{}\"{newline}",
                    dir.file(path).display()
                ))
            }
            _ => None,
        };
        out.push_str(replaced.as_deref().unwrap_or(line));
        for c in code.chars() {
            match c {
                '{' => {
                    if depth == 0 {
                        // `name {` on one line, or `{` alone after it.
                        let head = if words.first().map(String::as_str) == Some("{") {
                            &previous
                        } else {
                            &words
                        };
                        block = Some((
                            head.first().cloned().unwrap_or_default(),
                            head.get(1).cloned().unwrap_or_default(),
                        ));
                    }
                    depth += 1;
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        block = None;
                    }
                }
                _ => {}
            }
        }
        if !words.is_empty() {
            previous = words;
        }
    }
    out
}

/// A line without its comment (`#` or `!`) and without quoted text, so
/// braces and comment signs inside quotes do not count.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            '#' | '!' if !quoted => break,
            _ if quoted => out.push(if c.is_whitespace() { '_' } else { c }),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_script_commands_and_track_file_paths_move() {
        let dir = NodeDir {
            root: PathBuf::from("/tmp/lab/lb1"),
        };
        let text = "vrrp_script chk {   # check\n    script \"/bin/check --x\"\n    interval 1\n}\ntrack_file drain\n{\n  file /run/drain\n  weight -10\n}\nvrrp_instance VI_1 {\n    interface eth0\n}\n";
        let got = redirect(text, &dir);
        assert_eq!(
            got,
            "vrrp_script chk {   # check\n    script \"/tmp/lab/lb1/scripts/chk\"\n    interval 1\n}\ntrack_file drain\n{\n  file \"/tmp/lab/lb1/files/run/drain\"\n  weight -10\n}\nvrrp_instance VI_1 {\n    interface eth0\n}\n"
        );
    }
}

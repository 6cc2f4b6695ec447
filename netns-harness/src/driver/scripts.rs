//! Running the config's scripts (vrrp_script, notify scripts, MISC_CHECK's
//! misc_path) as keepalived 2.x does: the command split into words and
//! executed directly, without a shell (so `script "[ -e f ] && exit 1"`
//! does not do what it looks like, there either), as the script's
//! `user [group]`, else global_defs' `script_user [script_group]`, else
//! `keepalived_script` where that user exists, else the daemon's own user
//! (`lib/notify.c`, `check_misc.c`).
//!
//! A script that would run as root is checked as keepalived checks it:
//! its file and every directory above it must be writable by root alone
//! (a sticky directory such as /tmp passes). With `enable_script_security`
//! a script that fails the check is not run and counts as failed
//! (keepalived drops the track script or MISC_CHECK instead); without it,
//! running scripts as root is logged once as the SECURITY VIOLATION it is
//! in keepalived.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::process::{Child, Command};
use tracing::{debug, info, warn};
use vigil_core::config::model::{GlobalDefs, Script};

use super::control::ScriptCounts;
use super::users::{self, Ids};

/// keepalived's default script user, used when it exists.
const DEFAULT_USER: &str = "keepalived_script";

/// global_defs' script settings, process-wide as in keepalived: the VRRP
/// and checker threads both run scripts, and neither keeps global_defs.
struct Policy {
    user: Option<String>,
    group: Option<String>,
    security: bool,
}

static POLICY: RwLock<Policy> = RwLock::new(Policy {
    user: None,
    group: None,
    security: false,
});

/// Takes `script_user`, `script_group` and `enable_script_security` from
/// a config being started or reloaded.
pub fn configure(global: &GlobalDefs) {
    let mut p = POLICY.write().unwrap_or_else(|e| e.into_inner());
    *p = Policy {
        user: global.script_user.clone(),
        group: global.script_group.clone(),
        security: global.enable_script_security,
    };
}

/// A script ready to run: its words and whom it runs as.
#[derive(Clone, Debug)]
pub struct Prepared {
    command: String,
    program: String,
    args: Vec<String>,
    /// `None`: as the daemon itself.
    ids: Option<Ids>,
}

impl Prepared {
    /// The program as written, for messages.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The process to spawn: the program with its arguments, standard
    /// streams on /dev/null, switching to the script's user before exec.
    /// Anything the caller adds to run before exec runs after that switch.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(ids) = self.ids {
            users::run_as(&mut cmd, ids);
        }
        cmd
    }
}

/// Whom `script` runs as, and whether it may run at all; the reason
/// (logged) when its user is unknown or script security refuses it.
pub fn prepare(script: &Script) -> Result<Prepared, String> {
    let Some((program, args)) = script.args.split_first() else {
        return Err(format!("script '{}' has no program", script.command));
    };
    let global = POLICY.read().unwrap_or_else(|e| e.into_inner());
    let ids = match (&script.user, &global.user) {
        (Some(u), _) => Some(users::ids(u, script.group.as_deref())),
        (None, Some(u)) => Some(users::ids(u, global.group.as_deref())),
        (None, None) => match users::ids(DEFAULT_USER, None) {
            Ok(ids) => Some(Ok(ids)),
            Err(e) => {
                if global.security {
                    debug!("Unable to set default user {DEFAULT_USER} for script: {e}");
                }
                None
            }
        },
    };
    let ids = ids.transpose().map_err(|e| {
        warn!("script '{}' not run: {e}", script.command);
        e
    })?;
    let as_root = ids.is_none_or(|i| i.is_root()) && nix::unistd::geteuid().is_root();
    if as_root {
        secure(program, global.security)?;
    }
    Ok(Prepared {
        command: script.command.clone(),
        program: program.clone(),
        args: args.to_vec(),
        ids,
    })
}

/// keepalived's check for a script run as root: why it may not run, if so.
fn secure(program: &str, enforced: bool) -> Result<(), String> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !enforced {
        if !WARNED.swap(true, Ordering::Relaxed) {
            warn!(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
            );
        }
        return Ok(());
    }
    let Some(path) = locate(program) else {
        info!("check_script_secure could not find script '{program}' - disabling");
        return Err(format!("script '{program}' not found"));
    };
    // Both the path as written and the one its symlinks lead to.
    let mut paths = vec![path.clone()];
    if let Ok(real) = std::fs::canonicalize(&path)
        && real != path
    {
        paths.push(real);
    }
    for p in &paths {
        if let Some(unsafe_part) = unsafe_component(p) {
            warn!(
                "SECURITY VIOLATION - Unsafe permissions found for script '{}' ({}) - disabling.",
                program,
                unsafe_part.display()
            );
            return Err(format!(
                "unsafe permissions on {} (enable_script_security)",
                unsafe_part.display()
            ));
        }
    }
    Ok(())
}

/// The program as exec will find it: a path when it has a slash, else the
/// first executable of that name on $PATH.
fn locate(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file()))
}

/// The first of `/`, each directory down to the file, and the file itself
/// that someone other than root could write: owned by a non-root user, or
/// writable by a non-root group or by all — except a directory with the
/// sticky bit, where others may not replace what root owns. A part that
/// cannot be read counts as unsafe.
fn unsafe_component(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&Path> = path.ancestors().collect();
    parts.reverse();
    for part in parts {
        if part.as_os_str().is_empty() {
            continue;
        }
        let Ok(m) = std::fs::symlink_metadata(part) else {
            return Some(part.to_path_buf());
        };
        let mode = m.permissions().mode();
        let sticky_dir = m.is_dir() && mode & libc::S_ISVTX != 0;
        let writable = (m.gid() != 0 && mode & libc::S_IWGRP != 0) || mode & libc::S_IWOTH != 0;
        if m.uid() != 0 || (!sticky_dir && !m.file_type().is_symlink() && writable) {
            return Some(part.to_path_buf());
        }
    }
    None
}

/// Starts `script`; with `kill_on_drop` it dies with the task that waits
/// for it (a tracking script on reload), else it outlives the daemon.
fn start(script: &Prepared, extra: &[String], kill_on_drop: bool) -> Option<Child> {
    script
        .command()
        .args(extra)
        .kill_on_drop(kill_on_drop)
        .spawn()
        .inspect_err(|e| warn!("cannot run {}: {e}", script.command))
        .ok()
}

/// Runs a tracking script; true when it exits 0 within `timeout`. One that
/// runs longer is killed and counts as failed, as in keepalived.
pub async fn succeeds(script: &Prepared, timeout: Duration) -> bool {
    let Some(mut child) = start(script, &[], true) else {
        return false;
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status.success(),
        Ok(Err(e)) => {
            warn!("waiting for {}: {e}", script.command);
            false
        }
        Err(_) => {
            debug!("{} timed out after {timeout:?}", script.command);
            false
        }
    }
}

/// Notify scripts run, and those that failed, process-wide: both threads
/// run them.
static NOTIFY_RUNS: AtomicU64 = AtomicU64::new(0);
static NOTIFY_FAILURES: AtomicU64 = AtomicU64::new(0);

/// The notify scripts run since the daemon started, and how many failed.
pub fn notify_counts() -> ScriptCounts {
    ScriptCounts {
        runs: NOTIFY_RUNS.load(Ordering::Relaxed),
        failures: NOTIFY_FAILURES.load(Ordering::Relaxed),
    }
}

/// Starts a notify script and lets it finish on its own (keepalived does not
/// time them out; a notify_stop script may outlive the daemon), logging and
/// counting a failure.
pub fn notify(script: &Script, extra: &[String]) {
    NOTIFY_RUNS.fetch_add(1, Ordering::Relaxed);
    let failed = || NOTIFY_FAILURES.fetch_add(1, Ordering::Relaxed);
    let Some(mut child) = prepare(script).ok().and_then(|p| start(&p, extra, false)) else {
        failed();
        return;
    };
    let command = script.command.clone();
    tokio::spawn(async move {
        match child.wait().await {
            Ok(s) if s.success() => return,
            Ok(s) => warn!("notify script {command} exited with {s}"),
            Err(e) => warn!("waiting for notify script {command}: {e}"),
        }
        failed();
    });
}

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
//! in keepalived. A program that does not exist or that its user may not
//! execute is refused too, whatever the security setting (keepalived's
//! `check_script_secure` disables it at load).
//!
//! Every script runs in a process group of its own, as keepalived's
//! `system_call_script` puts it, so that ending a script ([`Running`])
//! ends whatever it started as well.

use std::fmt;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Gid, Pid, Uid};
use tokio::process::{Child, Command};
use tracing::{debug, warn};
use vigil_core::config::model::{GlobalDefs, Script};

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
/// (logged) when its user is unknown, its program is missing or not
/// executable for that user, or script security refuses it.
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
    let path = runnable(program, ids)?;
    let as_root = ids.is_none_or(|i| i.is_root()) && nix::unistd::geteuid().is_root();
    if as_root {
        secure(program, &path, global.security)?;
    }
    Ok(Prepared {
        command: script.command.clone(),
        program: program.clone(),
        args: args.to_vec(),
        ids,
    })
}

/// Where exec finds `program`, or why it cannot run as `ids` (`None`: as
/// the daemon): it is missing, or not executable for that user (`is_executable` in
/// keepalived's `notify.c`: root needs any execute bit, the owner the
/// owner's, the group the group's, others the others').
fn runnable(program: &str, ids: Option<Ids>) -> Result<PathBuf, String> {
    let Some(path) = locate(program) else {
        warn!("Cannot find script {program} in path - disabling");
        return Err(format!("script '{program}' not found in PATH"));
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => {
            warn!("Script {program} is not a file - disabling");
            return Err(format!("script '{program}' is not a file"));
        }
        Err(e) => {
            warn!("Script {program} cannot be accessed - {e}");
            return Err(format!("script '{program}': {e}"));
        }
    };
    let (uid, gid) = ids.map_or_else(
        || (nix::unistd::geteuid(), nix::unistd::getegid()),
        |i| (i.uid, i.gid),
    );
    let mode = meta.mode();
    let x = |bit| mode & bit != 0;
    let executable = if uid.is_root() {
        x(libc::S_IXUSR | libc::S_IXGRP | libc::S_IXOTH)
    } else if uid == Uid::from_raw(meta.uid()) {
        x(libc::S_IXUSR)
    } else if gid == Gid::from_raw(meta.gid()) {
        x(libc::S_IXGRP)
    } else {
        x(libc::S_IXOTH)
    };
    if executable {
        Ok(path)
    } else {
        warn!(
            "WARNING - script '{program}' is not executable for uid:gid {uid}:{gid} - disabling."
        );
        Err(format!(
            "script '{program}' is not executable for uid {uid}"
        ))
    }
}

/// keepalived's check for a script run as root: why it may not run, if so.
fn secure(program: &str, path: &Path, enforced: bool) -> Result<(), String> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !enforced {
        if !WARNED.swap(true, Ordering::Relaxed) {
            warn!(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
            );
        }
        return Ok(());
    }
    // Both the path as written and the one its symlinks lead to.
    let mut paths = vec![path.to_path_buf()];
    if let Ok(real) = std::fs::canonicalize(path)
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

/// keepalived's grace between the SIGTERM that ends a script and the SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// How a script ended, in keepalived's words (`vrrp_script_child_thread`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signalled(i32),
    /// Still running at its timeout, or ended to free its place: terminated.
    Terminated,
    /// Not started (refused, or exec failed), or not waited for; why.
    NotRun(String),
}

impl Outcome {
    pub fn success(&self) -> bool {
        *self == Outcome::Exited(0)
    }

    fn of(status: ExitStatus) -> Outcome {
        match (status.code(), status.signal()) {
            (Some(code), _) => Outcome::Exited(code),
            (None, Some(sig)) => Outcome::Signalled(sig),
            (None, None) => Outcome::NotRun(format!("ended with {status}")),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited(0) => write!(f, "succeeded"),
            Outcome::Exited(code) => write!(f, "failed (exited with status {code})"),
            Outcome::Signalled(sig) => write!(f, "failed (due to signal {sig})"),
            Outcome::Terminated => write!(f, "timed_out"),
            Outcome::NotRun(why) => write!(f, "failed (not run: {why})"),
        }
    }
}

/// Whether a script's process belongs to the daemon or stands alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tie {
    /// A check (vrrp_script, MISC_CHECK): SIGTERM when the daemon's thread
    /// that started it ends (keepalived's PR_SET_PDEATHSIG), and SIGKILL to
    /// its group when its [`Running`] is dropped before it ended (a reload
    /// stopped its tracker).
    Check,
    /// A notify script: left to finish on its own (keepalived does not time
    /// them out, and a notify_stop script may outlive the daemon).
    Notify,
}

/// A script running in a process group of its own, as keepalived's
/// `setpgid(0, 0)` puts it: ending the group ends what the script started.
pub struct Running {
    child: Child,
    group: Pid,
    tie: Tie,
    /// Reaped: its group id may name someone else's group by now.
    reaped: bool,
}

impl Running {
    pub fn start(script: &Prepared, extra: &[String], tie: Tie) -> io::Result<Running> {
        let mut cmd = script.command();
        cmd.args(extra).process_group(0);
        if tie == Tie::Check {
            // SAFETY: the closure runs in the forked child before exec and
            // only calls prctl, which is async-signal-safe; it allocates
            // nothing. It runs after the switch to the script's user, which
            // would clear it.
            unsafe {
                cmd.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
                    Ok(())
                });
            }
        }
        let child = cmd.spawn()?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| io::Error::other("a child without a pid"))?;
        Ok(Running {
            child,
            group: Pid::from_raw(pid),
            tie,
            reaped: false,
        })
    }

    pub fn pid(&self) -> i32 {
        self.group.as_raw()
    }

    /// Waits until the script ends, or at most `timeout`: one still running
    /// then is terminated and counts as [`Outcome::Terminated`].
    pub async fn finish(&mut self, timeout: Option<Duration>) -> Outcome {
        let waited = match timeout {
            Some(t) => tokio::time::timeout(t, self.child.wait()).await.ok(),
            None => Some(self.child.wait().await),
        };
        match waited {
            Some(Ok(status)) => {
                self.reaped = true;
                Outcome::of(status)
            }
            Some(Err(e)) => Outcome::NotRun(format!("waiting for it: {e}")),
            None => {
                self.terminate().await;
                Outcome::Terminated
            }
        }
    }

    /// SIGTERM to the group, SIGKILL if the script is still there after
    /// the grace, then SIGKILL to the group in any case, so that children
    /// that outlived it or ignore SIGTERM go too (keepalived's `kill(-pid,
    /// SIGKILL)` after a terminated script).
    pub async fn terminate(&mut self) {
        if self.reaped {
            return;
        }
        let _ = killpg(self.group, Signal::SIGTERM);
        if tokio::time::timeout(TERM_GRACE, self.child.wait())
            .await
            .is_err()
        {
            debug!(pid = %self.group, "script ignored SIGTERM: SIGKILL");
        }
        let _ = killpg(self.group, Signal::SIGKILL);
        let _ = self.child.wait().await;
        self.reaped = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Unreaped, the leader holds its group id, so the signal can only
        // reach the script's own group; tokio reaps the child afterwards.
        if self.tie == Tie::Check && !self.reaped {
            let _ = killpg(self.group, Signal::SIGKILL);
        }
    }
}

/// Runs a check script (a vrrp_script) for at most `timeout`; keepalived
/// counts a script it had to terminate as failed.
pub async fn check(script: &Prepared, timeout: Duration) -> Outcome {
    match Running::start(script, &[], Tie::Check) {
        Ok(mut running) => running.finish(Some(timeout)).await,
        Err(e) => {
            warn!("cannot run {}: {e}", script.command);
            Outcome::NotRun(e.to_string())
        }
    }
}

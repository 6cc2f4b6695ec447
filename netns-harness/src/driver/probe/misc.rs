//! MISC_CHECK as keepalived runs it (`check_misc.c`, `notify.c`): the
//! script is executed directly, without a shell, in a process group of its
//! own, as `user`/`group` if given (supplementary groups reduced to that
//! group), with standard streams on /dev/null and SIGTERM should the
//! daemon die. The exit code is the result; the core turns it into a
//! verdict and, for misc_dynamic, a weight.
//!
//! After `timeout` the group gets SIGTERM, and SIGKILL two seconds later
//! if the script is still there; either way the result is
//! [`ProbeResult::Timeout`]. A script killed by some other signal fails.

use super::{Step, failed};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Gid, Group, Pid, Uid, User};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::process::{Child, Command};
use vigil_core::check::ProbeResult;

/// keepalived's grace between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

pub(super) async fn probe(
    args: &[String],
    user: Option<&str>,
    group: Option<&str>,
    timeout: Duration,
) -> Step<ProbeResult> {
    let (program, rest) = args
        .split_first()
        .ok_or_else(|| failed("misc_path", "empty"))?;
    let ids = identity(user, group)?;
    let mut cmd = Command::new(program);
    cmd.args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: the closure runs in the forked child before exec and only
    // makes async-signal-safe system calls (prctl, setgroups, setgid,
    // setuid); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
            if let Some((uid, gid)) = ids {
                nix::unistd::setgroups(&[gid])?;
                nix::unistd::setgid(gid)?;
                if let Some(uid) = uid {
                    nix::unistd::setuid(uid)?;
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| failed(program, e))?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => Ok(exited(status.map_err(|e| failed("wait", e))?)),
        Err(_) => {
            terminate(&mut child).await;
            Ok(ProbeResult::Timeout)
        }
    }
}

fn exited(status: ExitStatus) -> ProbeResult {
    match (status.code(), status.signal()) {
        (Some(code), _) => ProbeResult::Exited(code as u8),
        (None, Some(sig)) => ProbeResult::Failed(format!("killed by signal {sig}")),
        (None, None) => ProbeResult::Failed(format!("ended with {status}")),
    }
}

/// SIGTERM to the group, SIGKILL after the grace, then reap; the group
/// gets a SIGKILL in any case so the script's children go too.
async fn terminate(child: &mut Child) {
    let Some(pgid) = child.id().map(|id| Pid::from_raw(id as i32)) else {
        return;
    };
    let _ = killpg(pgid, Signal::SIGTERM);
    if tokio::time::timeout(TERM_GRACE, child.wait())
        .await
        .is_err()
    {
        tracing::debug!(%pgid, "misc: script ignored SIGTERM");
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait().await;
}

/// The uid (if a user is named) and gid to run as: the user's primary
/// group unless `group` names another. Resolved before the fork, since
/// name lookups are not safe between fork and exec.
fn identity(user: Option<&str>, group: Option<&str>) -> Step<Option<(Option<Uid>, Gid)>> {
    let user = match user {
        Some(name) => Some(
            User::from_name(name)
                .map_err(|e| failed(&format!("user {name}"), e))?
                .ok_or_else(|| failed("user", format!("{name} does not exist")))?,
        ),
        None => None,
    };
    let gid = match group {
        Some(name) => Some(
            Group::from_name(name)
                .map_err(|e| failed(&format!("group {name}"), e))?
                .ok_or_else(|| failed("group", format!("{name} does not exist")))?
                .gid,
        ),
        None => user.as_ref().map(|u| u.gid),
    };
    Ok(gid.map(|gid| (user.map(|u| u.uid), gid)))
}

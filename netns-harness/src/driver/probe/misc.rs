//! MISC_CHECK as keepalived runs it (`check_misc.c`, `notify.c`): the
//! script is prepared as every script is ([`scripts::prepare`]: run
//! without a shell as the MISC_CHECK's `user`, else global_defs'
//! `script_user`, else `keepalived_script` where it exists, else root,
//! and refused by `enable_script_security` when others could change it),
//! then run in a process group of its own, with standard streams on
//! /dev/null and SIGTERM should the daemon die. The exit code is the
//! result; the core turns it into a verdict and, for misc_dynamic, a
//! weight. A script refused, or whose user does not exist, fails the
//! check; it is prepared at each run, so fixing its permissions takes
//! effect without a reload.
//!
//! After `timeout` the group gets SIGTERM, and SIGKILL two seconds later
//! if the script is still there; either way the result is
//! [`ProbeResult::Timeout`]. A script killed by some other signal fails.

use super::{Step, failed};
use crate::driver::scripts;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::process::Child;
use vigil_core::check::ProbeResult;
use vigil_core::config::model::Script;

/// keepalived's grace between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

pub(super) async fn probe(script: &Script, timeout: Duration) -> Step<ProbeResult> {
    let prepared = scripts::prepare(script).map_err(|why| failed("misc_path", why))?;
    let mut cmd = prepared.command();
    cmd.process_group(0).kill_on_drop(true);
    // SAFETY: the closure runs in the forked child before exec and only
    // calls prctl, which is async-signal-safe; it allocates nothing. It
    // runs after the switch to the script's user, which would clear it.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| failed(prepared.program(), e))?;
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

//! MISC_CHECK as keepalived runs it (`check_misc.c`, `notify.c`): the
//! script is prepared as every script is ([`scripts::prepare`]: run
//! without a shell as the MISC_CHECK's `user`, else global_defs'
//! `script_user`, else `keepalived_script` where it exists, else root,
//! and refused by `enable_script_security` when others could change it),
//! then run as a check ([`scripts::Tie::Check`]: in a process group of its
//! own, with standard streams on /dev/null and SIGTERM should the daemon
//! die). The exit code is the result; the core turns it into a verdict
//! and, for misc_dynamic, a weight. A script refused, or whose user does
//! not exist, fails the check; it is prepared at each run, so fixing its
//! permissions takes effect without a reload.
//!
//! After `timeout` the group gets SIGTERM, and SIGKILL two seconds later
//! if the script is still there; either way the result is
//! [`ProbeResult::Timeout`]. A script killed by some other signal fails.

use super::{Step, failed};
use crate::driver::scripts::{self, Outcome, Running, Tie};
use std::time::Duration;
use vigil_core::check::ProbeResult;
use vigil_core::config::model::Script;

pub(super) async fn probe(script: &Script, timeout: Duration) -> Step<ProbeResult> {
    let prepared = scripts::prepare(script).map_err(|why| failed("misc_path", why))?;
    let mut running =
        Running::start(&prepared, &[], Tie::Check).map_err(|e| failed(prepared.program(), e))?;
    Ok(match running.finish(Some(timeout)).await {
        Outcome::Exited(code) => ProbeResult::Exited(code as u8),
        Outcome::Signalled(sig) => ProbeResult::Failed(format!("killed by signal {sig}")),
        Outcome::Terminated => ProbeResult::Timeout,
        Outcome::NotRun(why) => failed("misc_path", why),
    })
}

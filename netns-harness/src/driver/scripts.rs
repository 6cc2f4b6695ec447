//! Running the config's scripts as keepalived 2.x does: the command split
//! into words and executed directly, without a shell (so
//! `script "[ -e f ] && exit 1"` does not do what it looks like, there either).

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tracing::{debug, warn};
use vigil_core::config::model::Script;

/// Starts `script`; with `kill_on_drop` it dies with the task that waits
/// for it (a tracking script on reload), else it outlives the daemon.
fn start(script: &Script, extra: &[String], kill_on_drop: bool) -> Option<Child> {
    let (program, args) = script.args.split_first()?;
    Command::new(program)
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(kill_on_drop)
        .spawn()
        .inspect_err(|e| warn!("cannot run {}: {e}", script.command))
        .ok()
}

/// Runs a tracking script; true when it exits 0 within `timeout`. One that
/// runs longer is killed and counts as failed, as in keepalived.
pub async fn succeeds(script: &Script, timeout: Duration) -> bool {
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

/// Starts a notify script and lets it finish on its own (keepalived does not
/// time them out; a notify_stop script may outlive the daemon), logging a
/// failure.
pub fn notify(script: &Script, extra: &[String]) {
    let Some(mut child) = start(script, extra, false) else {
        return;
    };
    let command = script.command.clone();
    tokio::spawn(async move {
        match child.wait().await {
            Ok(s) if s.success() => {}
            Ok(s) => warn!("notify script {command} exited with {s}"),
            Err(e) => warn!("waiting for notify script {command}: {e}"),
        }
    });
}

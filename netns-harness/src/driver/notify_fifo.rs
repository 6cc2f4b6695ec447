//! keepalived's notify FIFOs (`notify_fifo PATH [USER [GROUP]]` and
//! `vrrp_notify_fifo` in global_defs): every state change is written as a
//! line `INSTANCE "VI_1" MASTER 150` or `GROUP "G" BACKUP 0`, to both when
//! both are set, as `vrrp_notify.c` writes them.
//!
//! As in keepalived (`lib/notify.c`) a missing FIFO is created with mode
//! 0644 and the given owner, and removed again at exit; it is opened
//! read-write and non-blocking, so that the daemon neither waits for a
//! reader nor stalls when the reader falls behind (such lines are lost).

use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::unistd::{Gid, Uid, chown};
use tracing::{info, warn};
use vigil_core::config::Config;
use vigil_core::vrrp::State;

use super::{notify, users};

struct Fifo {
    path: PathBuf,
    file: File,
    /// Created by us, so removed by us.
    created: bool,
}

/// The open FIFOs; dropping them removes those vigil created.
#[derive(Default)]
pub struct NotifyFifos(Vec<Fifo>);

impl NotifyFifos {
    /// Opens the FIFOs `config` names (not yet modelled by the core: read
    /// from global_defs' raw items); one that cannot be opened is logged and
    /// left out, as keepalived does.
    pub fn open(config: &Config) -> NotifyFifos {
        let global = &config.global;
        let fifos = [&global.notify_fifo, &global.vrrp_notify_fifo]
            .into_iter()
            .flatten()
            .filter_map(|f| {
                open(PathBuf::from(&f.path), f.user.as_ref(), f.group.as_ref())
                    .inspect_err(|e| warn!("Unable to open notify fifo {}: {e}", f.path))
                    .ok()
            })
            .collect();
        NotifyFifos(fifos)
    }

    /// Writes one state change (`kind` INSTANCE or GROUP); keepalived
    /// writes nothing for Init.
    pub fn write(&self, kind: &str, name: &str, to: State, priority: u8) {
        let Some(state) = notify::state_word(to) else {
            return;
        };
        let line = format!("{kind} \"{name}\" {state} {priority}\n");
        for fifo in &self.0 {
            // Non-blocking: a full FIFO loses the line rather than stalling VRRP.
            if let Err(e) = (&fifo.file).write_all(line.as_bytes()) {
                warn!("writing to notify fifo {}: {e}", fifo.path.display());
            }
        }
    }
}

impl Drop for NotifyFifos {
    fn drop(&mut self) {
        for fifo in self.0.iter().filter(|f| f.created) {
            let _ = std::fs::remove_file(&fifo.path);
        }
    }
}

fn open(path: PathBuf, user: Option<&String>, group: Option<&String>) -> std::io::Result<Fifo> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: mkfifo(3) with a NUL-terminated path.
    let created = unsafe { libc::mkfifo(c.as_ptr(), 0o644) } == 0;
    if !created {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    } else if let Some((uid, gid)) = user.and_then(|u| owner(u, group))
        && let Err(e) = chown(&path, Some(uid), Some(gid))
    {
        info!("Failed to set uid:gid for fifo {}: {e}", path.display());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(&path)
        .inspect_err(|_| {
            if created {
                let _ = std::fs::remove_file(&path);
            }
        })?;
    Ok(Fifo {
        path,
        file,
        created,
    })
}

/// The owner `user [group]` names; one that cannot be resolved leaves
/// the FIFO's owner as it is (logged), as keepalived does.
fn owner(user: &str, group: Option<&String>) -> Option<(Uid, Gid)> {
    users::ids(user, group.map(String::as_str))
        .inspect_err(|e| info!("notify fifo owner: {e}"))
        .ok()
        .map(|ids| (ids.uid, ids.gid))
}

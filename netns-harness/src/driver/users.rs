//! Users and groups as keepalived's config names them (`script_user`, a
//! script's `user [group]`, MISC_CHECK's `user`, `notify_fifo`'s owner),
//! and the switch to them in a child before exec. One place, so that every
//! script, probe and FIFO resolves names (or numbers) the same way.

use nix::unistd::{Gid, Group, Uid, User};

/// Whom a child runs as: its uid, and the gid that is also its only
/// supplementary group (keepalived calls setgroups with that one gid, so a
/// script does not inherit root's groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub uid: Uid,
    pub gid: Gid,
}

impl Ids {
    /// Root: a child that keeps the daemon's own identity when it is root.
    pub fn is_root(&self) -> bool {
        self.uid.is_root() || self.gid.as_raw() == 0
    }
}

/// A user by name, or by number when no user has that name; with its
/// primary group.
pub fn user(name: &str) -> Result<(Uid, Gid), String> {
    match User::from_name(name) {
        Ok(Some(u)) => Ok((u.uid, u.gid)),
        Ok(None) => match name.parse::<u32>() {
            Ok(n) => {
                let uid = Uid::from_raw(n);
                // A bare number need not have a passwd entry; its group is
                // then the same number, as chown(1) would not guess either.
                let gid = User::from_uid(uid)
                    .ok()
                    .flatten()
                    .map_or(Gid::from_raw(n), |u| u.gid);
                Ok((uid, gid))
            }
            Err(_) => Err(format!("user '{name}' does not exist")),
        },
        Err(e) => Err(format!("cannot resolve user '{name}': {e}")),
    }
}

/// A group by name, or by number when no group has that name.
pub fn group(name: &str) -> Result<Gid, String> {
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid),
        Ok(None) => name
            .parse::<u32>()
            .map(Gid::from_raw)
            .map_err(|_| format!("group '{name}' does not exist")),
        Err(e) => Err(format!("cannot resolve group '{name}': {e}")),
    }
}

/// `user [group]`: the group given, else the user's primary group
/// (keepalived's default).
pub fn ids(user_name: &str, group_name: Option<&str>) -> Result<Ids, String> {
    let (uid, primary) = user(user_name)?;
    let gid = match group_name {
        Some(g) => group(g)?,
        None => primary,
    };
    Ok(Ids { uid, gid })
}

/// Makes `cmd`'s child drop to `ids` before exec: setgroups, setgid, then
/// setuid (in that order: once the uid is no longer root the others are
/// refused). Names are resolved before, since lookups are not safe between
/// fork and exec.
pub fn run_as(cmd: &mut tokio::process::Command, ids: Ids) {
    // SAFETY: the closure runs in the forked child before exec and makes
    // only async-signal-safe system calls; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setgroups(&[ids.gid])?;
            nix::unistd::setgid(ids.gid)?;
            nix::unistd::setuid(ids.uid)?;
            Ok(())
        });
    }
}

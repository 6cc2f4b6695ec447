//! keepalived's notify scripts for a state change: the state's own script
//! (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`) without
//! arguments, then the generic `notify` with `INSTANCE|GROUP NAME STATE
//! PRIORITY` (priority 0 for a group), as `vrrp_notify.c` calls them;
//! [`notify_queue`] bounds how many run at once.

use vigil_core::config::Config;
use vigil_core::config::model::Script;
use vigil_core::vrrp::State;

use super::notify_queue;

struct Scripts<'a> {
    master: Option<&'a Script>,
    backup: Option<&'a Script>,
    fault: Option<&'a Script>,
    stop: Option<&'a Script>,
    generic: Option<&'a Script>,
}

/// The state as scripts and FIFOs receive it; keepalived does not notify Init.
pub fn state_word(to: State) -> Option<&'static str> {
    match to {
        State::Master => Some("MASTER"),
        State::Backup => Some("BACKUP"),
        State::Fault => Some("FAULT"),
        State::Stopped => Some("STOP"),
        State::Init => None,
    }
}

fn run(s: &Scripts<'_>, kind: &str, name: &str, to: State, priority: u8) {
    let Some(state) = state_word(to) else {
        return;
    };
    let own = match to {
        State::Master => s.master,
        State::Backup => s.backup,
        State::Fault => s.fault,
        _ => s.stop,
    };
    if let Some(script) = own {
        notify_queue::submit(script, &[]);
    }
    if let Some(script) = s.generic {
        let args = [kind, name, state, &priority.to_string()].map(String::from);
        notify_queue::submit(script, &args);
    }
}

pub fn instance(config: &Config, name: &str, to: State, priority: u8) {
    let Some(i) = config.instance(name) else {
        return;
    };
    let s = Scripts {
        master: i.notify_master.as_ref(),
        backup: i.notify_backup.as_ref(),
        fault: i.notify_fault.as_ref(),
        stop: i.notify_stop.as_ref(),
        generic: i.notify.as_ref(),
    };
    run(&s, "INSTANCE", name, to, priority);
}

pub fn group(config: &Config, name: &str, to: State) {
    let Some(g) = config.sync_groups.iter().find(|g| g.name == name) else {
        return;
    };
    let s = Scripts {
        master: g.notify_master.as_ref(),
        backup: g.notify_backup.as_ref(),
        fault: g.notify_fault.as_ref(),
        stop: g.notify_stop.as_ref(),
        generic: g.notify.as_ref(),
    };
    run(&s, "GROUP", name, to, 0);
}

//! How the VRRP and checker work is scheduled, as the config asks
//! (`vrrp_priority`, `vrrp_rt_priority`, `vrrp_rlimit_rttime`,
//! `vrrp_cpu_affinity`, `vrrp_no_swap` and the `checker_*` ones). keepalived
//! sets them on the process doing that work; vigil sets them on the thread
//! (Linux schedules threads, and nice, policy and affinity are per thread).
//! Taken at start: a reload that changes them says they wait for a restart.

use tracing::{error, info, warn};
use vigil_core::config::model::global::{GlobalDefs, Scheduling};

/// keepalived's `RT_RLIMIT_DEFAULT`, in µs.
const RTTIME_DEFAULT: u32 = 10_000;

/// What is the process's, not a thread's: memory locked if either asks,
/// and the limit on real-time CPU without blocking (the larger asked for).
/// Past half of it the kernel sends SIGXCPU, which the daemon logs
/// ([`SIGXCPU_MESSAGE`]); past all of it, SIGKILL.
pub fn process(g: &GlobalDefs) {
    let both = [&g.vrrp_process, &g.checker_process];
    if both.iter().any(|s| s.no_swap) {
        // SAFETY: mlockall takes flags only.
        let locked =
            unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) };
        if locked != 0 {
            error!(
                "Unable to lock process in memory - {}",
                std::io::Error::last_os_error()
            );
        }
    }
    let rttime = both
        .iter()
        .filter(|s| s.rt_priority.is_some())
        .map(|s| s.rlimit_rttime.unwrap_or(RTTIME_DEFAULT))
        .max();
    if let Some(limit) = rttime {
        let lim = libc::rlimit {
            rlim_cur: u64::from(limit / 2),
            rlim_max: u64::from(limit),
        };
        // SAFETY: setrlimit with a valid pointer to our own struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) } != 0 {
            warn!(
                "cannot set the realtime rlimit: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// What the daemon logs at SIGXCPU.
pub const SIGXCPU_MESSAGE: &str = "a real-time thread has used too much CPU time, vrrp_rlimit_rttime or checker_rlimit_rttime may need to be increased";

/// Applies `s` to the calling thread, the `who` thread ("VRRP", "checker").
pub fn this_thread(who: &str, s: &Scheduling) {
    if let Some(priority) = s.rt_priority {
        let param = libc::sched_param {
            sched_priority: i32::from(priority),
        };
        // SAFETY: pid 0 is the calling thread; param is a valid struct.
        let set = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param)
        };
        if set == 0 {
            info!("{who} thread: real-time priority {priority} (SCHED_RR)");
        } else {
            warn!(
                "{who} thread: cannot raise priority: {}",
                std::io::Error::last_os_error()
            );
        }
    } else if let Some(nice) = s.nice {
        // SAFETY: who 0 under PRIO_PROCESS is the calling thread on Linux.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, i32::from(nice)) } != 0 {
            warn!(
                "{who} thread: cannot set priority {nice}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    if !s.cpu_affinity.is_empty() {
        // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET stays
        // within it for ids below CPU_SETSIZE (1024), which the config
        // checks.
        let set = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &cpu in &s.cpu_affinity {
                libc::CPU_SET(usize::from(cpu), &mut set);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
        };
        if set != 0 {
            error!(
                "{who} thread: cannot run on CPUs {:?}: {}",
                s.cpu_affinity,
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Says which settings a reload changed, since they wait for a restart.
pub fn reloaded(old: &GlobalDefs, new: &GlobalDefs) {
    for (who, a, b) in [
        ("vrrp", &old.vrrp_process, &new.vrrp_process),
        ("checker", &old.checker_process, &new.checker_process),
    ] {
        if a != b {
            warn!("{who} scheduling changed by the reload: it takes effect when vigil restarts");
        }
    }
}

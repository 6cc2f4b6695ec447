//! vigil's schedulers against choices recorded from a real kernel.
//!
//! `lvs_kernel_answers.txt` was recorded from Debian's 6.1.192 kernel
//! (linux-image-6.1.0-56-amd64) booted under qemu, and is re-recorded by
//! `scripts/record-kernel-sched-answers.sh` (the test that does it is
//! `netns-harness/tests/ipvs_kernel/sched.rs`): for each job a fresh
//! service `VIP:80`, in a network namespace of its own, gets its real
//! servers one at a time in the order listed, direct routing to local
//! addresses (first with `ipvsadm -a -g -w`, now over generic netlink);
//! then TCP clients bound to each `SRC:PORT` connect one after the other
//! and stay connected, and the real server of each connection is read from
//! `/proc/net/ip_vs_conn`. A `none` is a connection IPVS did not schedule.
//!
//! The last ten jobs add upper/lower thresholds (`ipvsadm -x/-y`), weight 0
//! and sh/mh fallback.
//!
//! The format is `vigil_core::lvs::workload`'s: `job ALGO VIP:PORT
//! FLAGS|- DEST=WEIGHT[,u=U,l=L]...`, then one `SRC:PORT DEST|none` line per
//! connection.

use vigil_core::lvs::Algorithm;
use vigil_core::lvs::workload;

const ANSWERS: &str = include_str!("lvs_kernel_answers.txt");

#[test]
fn every_deterministic_scheduler_matches_the_recorded_kernel_choices() {
    let jobs = workload::parse(ANSWERS).expect("the answers parse");
    assert_eq!(jobs.len(), 33);
    let mut seen = std::collections::HashSet::new();
    for job in jobs {
        seen.insert(job.algorithm);
        let picks = job.core_picks().expect("the job's destinations are valid");
        for (i, ((src, want), got)) in job.conns.iter().zip(picks).enumerate() {
            assert_eq!(
                got,
                *want,
                "{}: connection {} from {src}",
                job.to_string().lines().next().unwrap_or_default(),
                i + 1
            );
        }
    }
    // All but twos, which Debian's kernel does not build.
    assert_eq!(seen.len(), 13);
    assert!(!seen.contains(&Algorithm::Twos));
}

#[test]
fn the_file_is_as_the_recorder_writes_it() {
    let jobs = workload::parse(ANSWERS).expect("the answers parse");
    let written: String = jobs.iter().map(ToString::to_string).collect();
    assert_eq!(written, ANSWERS);
}

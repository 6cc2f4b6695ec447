//! IPVS against a real kernel: the generic netlink driver's round trip and
//! refusals, `ipvsadm -Ln` against vigil's listing, the schedulers against
//! the kernel's choices, NAT forwarding end to end, and `vigil run`
//! programming the table as its checks pass and fail.
//!
//! The `kernel_` tests need root and a kernel with IPVS. On a host that
//! has both they run here, each in network namespaces of its own; on one
//! without IPVS, `ipvs_tests_run_in_a_vm_on_hosts_without_ipvs` boots the VM
//! of `vigil_netns::vm` once and runs them all in it, in this same binary.

mod support;

mod daemon;
mod forward;
mod genl;
mod lab;
mod refusal;
mod reload;
mod sched;
mod vigil_run;

use std::time::Duration;
use support::IN_VM;
use vigil_netns::vm::{self, GuestCommand, Vm};

/// Where `VIGIL_RECORD_SCHED_ANSWERS` names a file, the scheduler test
/// writes the kernel's answers there (`scripts/record-kernel-sched-answers.sh`);
/// in the VM, into the run directory.
pub const RECORD: &str = "VIGIL_RECORD_SCHED_ANSWERS";

#[test]
fn ipvs_tests_run_in_a_vm_on_hosts_without_ipvs() {
    if std::env::var_os(IN_VM).is_some() || vm::host_has_ipvs() {
        println!("this kernel has IPVS: the kernel_ tests run here");
        return;
    }
    if let Some(why) = Vm::unavailable() {
        println!("SKIPPED: this kernel has no IPVS and no VM can be run: {why}");
        return;
    }
    let vm = Vm::prepare(&vm::default_cache()).unwrap_or_else(|e| panic!("preparing the VM: {e}"));
    let exe = std::env::current_exe().expect("this test binary");
    let mut cmd = GuestCommand::new(exe);
    cmd.args = vec![
        "kernel_".into(),
        "--test-threads=2".into(),
        "--nocapture".into(),
    ];
    cmd.env = vec![(IN_VM.into(), "1".into())];
    if let Ok(v) = std::env::var("RUST_BACKTRACE") {
        cmd.env.push(("RUST_BACKTRACE".into(), v));
    }
    // The guest's writes to the host's tree stay in the guest: answers to
    // keep go to the run directory (sched::record_path) and are copied out.
    let record = std::env::var_os(RECORD).map(std::path::PathBuf::from);
    if record.is_some() {
        cmd.env.push((RECORD.into(), "run directory".into()));
    }
    cmd.cwd = env!("CARGO_MANIFEST_DIR").into();
    cmd.timeout = Duration::from_secs(900);
    let started = std::time::Instant::now();
    let run = vm
        .run(&cmd)
        .unwrap_or_else(|e| panic!("running the tests in the VM: {e}"));
    println!(
        "VM: {:.1} s to boot, run the kernel_ tests and power off\n{}",
        started.elapsed().as_secs_f64(),
        run.output
    );
    if let Some(path) = record {
        std::fs::copy(run.dir().join("answers.txt"), &path)
            .unwrap_or_else(|e| panic!("copying the recorded answers to {}: {e}", path.display()));
    }
    assert_eq!(
        run.status, 0,
        "the kernel_ tests failed in the VM:\n{}",
        run.output
    );
    assert!(
        run.output.contains("test result: ok."),
        "the VM ran no test:\n{}\nconsole:\n{}",
        run.output,
        run.console
    );
}

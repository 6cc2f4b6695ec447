//! `vigil lab FILE`: runs a scenario against the kernel in network
//! namespaces (real `vigil run` processes, real time) and prints the same
//! timeline and verdicts as `vigil sim`, as text, JSON lines or SVG.

use crate::timeline::Output;
use clap::Args as ClapArgs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use vigil_core::scenario::{Dur, Scenario};
use vigil_netns::lab::{self, Options};
use vigil_netns::vm;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The scenario file (TOML, see docs/scenarios.md).
    file: PathBuf,
    /// Record each segment's bridge with tcpdump into this pcap (other
    /// segments than `lan` get `-SEGMENT` before the extension).
    #[arg(long, value_name = "OUT")]
    pcap: Option<PathBuf>,
    /// How far from its time an expectation may hold and still pass; it
    /// also widens the invariants' settling windows. Real processes start,
    /// signal and log with delays the simulator does not have.
    #[arg(long, value_name = "DURATION", default_value = "300ms", value_parser = parse_dur)]
    tolerance: Dur,
    /// Keep the nodes' configs and logs (/tmp/vgl-…/NODE/) after a run that
    /// passed; a failed run always keeps them.
    #[arg(long)]
    keep: bool,
    /// Run inside a VM booting Debian's kernel (as `scripts/vm.sh` does),
    /// for scenarios whose virtual servers need IPVS on a host without it.
    /// The guest's files go with it: no --pcap, --keep or --svg.
    #[arg(long, conflicts_with_all = ["pcap", "keep", "svg"])]
    vm: bool,
    #[command(flatten)]
    output: Output,
}

/// The longest a scenario may run in the VM, boot included.
const VM_TIMEOUT: Duration = Duration::from_secs(1800);

/// This same command, without `--vm`, in the VM.
fn in_vm() -> ExitCode {
    let vigil = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil lab: where is this vigil binary? {e}");
            return ExitCode::from(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--vm").collect();
    match vm::run_here(vigil, args, VM_TIMEOUT) {
        Ok(run) => {
            print!("{}", run.output);
            ExitCode::from(run.status.clamp(0, 255) as u8)
        }
        Err(e) => {
            eprintln!("vigil lab --vm: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_dur(text: &str) -> Result<Dur, String> {
    Dur::parse(text).map_err(|e| e.to_string())
}

/// Set by SIGINT/SIGTERM: the run stops and the namespaces are removed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn interrupted(_: libc::c_int) {
    // Only an atomic store: all a signal handler may safely do here.
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Exit 0 when every expectation passed, 1 when one failed, 2 when the
/// scenario cannot be read or run (SKIPPED: when this host cannot build a lab).
pub fn run(args: &Args) -> ExitCode {
    if args.vm {
        return in_vm();
    }
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vigil lab: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let scenario = match Scenario::parse(&text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigil lab: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    if let Some(why) = lab::available() {
        println!("SKIPPED: {why}");
        return ExitCode::from(2);
    }
    let vigil = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil lab: where is this vigil binary? {e}");
            return ExitCode::from(2);
        }
    };
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            libc::signal(
                sig,
                interrupted as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
    }
    let opts = Options {
        vigil,
        pcap: args.pcap.clone(),
        tolerance: args.tolerance.0,
        interrupted: Some(&INTERRUPTED),
    };
    let report = match lab::run(&scenario, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigil lab: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let code = args.output.emit("lab", &scenario, &report.judged);
    if report.judged.failed == 0 && !args.keep {
        // Only logs and configs: a leftover directory in /tmp harms nothing.
        let _ = std::fs::remove_dir_all(&report.dir);
    } else {
        eprintln!("vigil lab: configs and logs in {}", report.dir.display());
    }
    code
}

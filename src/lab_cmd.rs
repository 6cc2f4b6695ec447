//! `vigil lab FILE`: runs a scenario against the kernel in network
//! namespaces (real `vigil run` processes, real time) and prints the same
//! timeline and verdicts as `vigil sim`, as text, JSON lines or SVG.

use crate::timeline::Output;
use clap::Args as ClapArgs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use vigil_core::scenario::{Dur, Scenario};
use vigil_netns::lab::{self, Options};

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
    #[command(flatten)]
    output: Output,
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

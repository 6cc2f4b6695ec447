//! `vigil-vm [--timeout SECS] PROGRAM [ARGS...]`: runs a command where the
//! kernel has IPVS: here if this kernel has it, else in the VM of
//! [`vigil_netns::vm`], with the current directory and the host's files.
//! Prints what the command printed and exits with its status (2 when it
//! could not be run). `scripts/vm.sh` builds and runs this.

use std::process::{Command, ExitCode};
use std::time::Duration;
use vigil_netns::vm;

fn usage() -> ExitCode {
    eprintln!("usage: vigil-vm [--timeout SECS] PROGRAM [ARGS...]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut timeout = Duration::from_secs(1200);
    if args.first().map(String::as_str) == Some("--timeout") {
        let Some(secs) = args.get(1).and_then(|s| s.parse().ok()) else {
            return usage();
        };
        timeout = Duration::from_secs(secs);
        args.drain(..2);
    }
    if args.is_empty() {
        return usage();
    }
    let program = args.remove(0);
    if vm::host_has_ipvs() {
        return match Command::new(&program).args(&args).status() {
            Ok(s) => ExitCode::from(s.code().unwrap_or(2).clamp(0, 255) as u8),
            Err(e) => {
                eprintln!("vigil-vm: {program}: {e}");
                ExitCode::from(2)
            }
        };
    }
    match vm::run_here(resolve(&program), args, timeout) {
        Ok(run) => {
            print!("{}", run.output);
            ExitCode::from(run.status.clamp(0, 255) as u8)
        }
        Err(e) => {
            eprintln!("vigil-vm: {e}");
            ExitCode::from(2)
        }
    }
}

/// An absolute path for `program`: the guest's PATH is its own.
fn resolve(program: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(program);
    if p.components().count() > 1 {
        return std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    }
    p.to_path_buf()
}

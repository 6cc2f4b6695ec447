//! `vigil ipvs list`: the kernel's IPVS table, read over generic netlink
//! and printed exactly as `ipvsadm -Ln` prints it, so scripts written for
//! one read the other.

use clap::Subcommand;
use std::io::Write as _;
use std::process::ExitCode;
use vigil_netns::driver::ipvs::Ipvs;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the IPVS table of this network namespace as `ipvsadm -Ln` does.
    List,
}

/// Exit 0 with the table printed, 2 when it cannot be read.
pub fn run(cmd: &Command) -> ExitCode {
    match cmd {
        Command::List => {
            let listing = Ipvs::open().and_then(|mut ipvs| ipvs.list());
            match listing {
                Ok(l) => {
                    let mut out = std::io::stdout().lock();
                    match write!(out, "{l}").and_then(|()| out.flush()) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                        Err(e) => {
                            eprintln!("vigil ipvs list: {e}");
                            ExitCode::from(2)
                        }
                    }
                }
                Err(e) => {
                    eprintln!("vigil ipvs list: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

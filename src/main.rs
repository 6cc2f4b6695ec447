//! The `vigil` command line: wires the core and the drivers into subcommands.

mod check;
mod fs_loader;
mod ipvs_cmd;
mod lab_cmd;
mod logging;
mod pcap_check;
mod pcap_expect;
mod run_cmd;
mod sched_cmd;
mod sim_cmd;
mod status_cmd;
mod timeline;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "vigil", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the VRRP daemon in the foreground, like `keepalived -n`.
    Run(run_cmd::Args),
    /// Show what a running `vigil run` is doing: instances, virtual servers.
    Status(status_cmd::Args),
    /// Replay a scenario in simulated time and print its timeline.
    Sim(sim_cmd::Args),
    /// Run a scenario against the kernel in network namespaces (root).
    Lab(lab_cmd::Args),
    /// Check a keepalived.conf, like `keepalived -t`.
    Check(check::Args),
    /// Show which real server each connection gets under an IPVS scheduler.
    Sched(sched_cmd::Args),
    /// Read the kernel's IPVS table.
    Ipvs {
        #[command(subcommand)]
        command: ipvs_cmd::Command,
    },
    /// Work with packet captures.
    Pcap {
        #[command(subcommand)]
        command: PcapCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PcapCommand {
    /// Decode and check every VRRP packet in capture files.
    Check(pcap_check::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run_cmd::run(&args),
        Command::Status(args) => status_cmd::run(&args),
        Command::Sim(args) => sim_cmd::run(&args),
        Command::Lab(args) => lab_cmd::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Sched(args) => sched_cmd::run(&args),
        Command::Ipvs { command } => ipvs_cmd::run(&command),
        Command::Pcap {
            command: PcapCommand::Check(args),
        } => pcap_check::run(&args),
    }
}

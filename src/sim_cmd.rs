//! `vigil sim FILE`: replays a scenario in simulated time and prints its timeline.

use clap::Args as ClapArgs;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_core::scenario::Scenario;
use vigil_sim::Options;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The scenario file (TOML, see docs/scenarios or SCENARIOS.md).
    file: PathBuf,
    /// Seed for the run, instead of the scenario's `[sim] seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Print the timeline as JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Put every advert sent into the timeline.
    #[arg(long)]
    adverts: bool,
    /// Write the simulated wire (adverts, gratuitous ARPs, NAs) as a pcap.
    #[arg(long, value_name = "OUT")]
    pcap: Option<PathBuf>,
}

/// Exit 0 when every expectation passed, 1 when one failed, 2 when the
/// scenario cannot be read or run.
pub fn run(args: &Args) -> ExitCode {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vigil sim: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let scenario = match Scenario::parse(&text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigil sim: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let opts = Options {
        seed: args.seed,
        adverts: args.adverts,
        pcap: args.pcap.is_some(),
    };
    let report = match vigil_sim::run(&scenario, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigil sim: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    if let (Some(path), Some(bytes)) = (&args.pcap, &report.pcap)
        && let Err(e) = std::fs::write(path, bytes)
    {
        eprintln!("vigil sim: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    if args.json {
        for e in &report.timeline {
            match serde_json::to_string(e) {
                Ok(line) => println!("{line}"),
                Err(err) => {
                    eprintln!("vigil sim: {err}");
                    return ExitCode::from(2);
                }
            }
        }
        println!(
            "{{\"expectations\":{{\"passed\":{},\"failed\":{}}}}}",
            report.passed, report.failed
        );
    } else {
        print!("{}", report.render());
    }
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

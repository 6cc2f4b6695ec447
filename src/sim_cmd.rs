//! `vigil sim FILE`: replays a scenario in simulated time and prints its
//! timeline; `--explore N` hunts invariant violations under random faults.

use crate::timeline::Output;
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vigil_core::scenario::Scenario;
use vigil_sim::explore::{self, Explore};
use vigil_sim::{Options, PlantedBug};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The scenario file (TOML, see docs/scenarios.md).
    file: PathBuf,
    /// Seed for the run, instead of the scenario's `[sim] seed`; with
    /// --explore, the first seed of the range (`--seed-start`), so a long
    /// hunt can be split into ranges across machines.
    #[arg(long, visible_alias = "seed-start")]
    seed: Option<u64>,
    #[command(flatten)]
    output: Output,
    /// Put every advert sent into the timeline.
    #[arg(long)]
    adverts: bool,
    /// Write the simulated wire (adverts, gratuitous ARPs, NAs) as a pcap.
    #[arg(long, value_name = "OUT")]
    pcap: Option<PathBuf>,
    /// Run N times (seeds S, S+1, ...) with random faults added to the
    /// file's steps; judge only the invariants, and shrink the first
    /// violation to a scenario file that reproduces it.
    #[arg(long, value_name = "N", conflicts_with_all = ["json", "pcap", "adverts", "svg"])]
    explore: Option<u64>,
    /// Where --explore writes the shrunk scenario (default: beside FILE,
    /// named FILE's stem + `.explore-SEED.toml`).
    #[arg(long, value_name = "PATH", requires = "explore")]
    out: Option<PathBuf>,
    /// Test instrument: run with a bug planted in the simulator's driver.
    #[arg(long, value_name = "BUG", hide = true)]
    plant: Option<PlantedBug>,
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
    if let Some(runs) = args.explore {
        return explore(args, &scenario, runs);
    }
    let opts = Options {
        seed: args.seed,
        adverts: args.adverts,
        pcap: args.pcap.is_some(),
        plant: args.plant,
    };
    let report = match vigil_sim::run(&scenario, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigil sim: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    if let Some((path, bytes)) = args.pcap.as_ref().zip(report.pcap.as_ref())
        && let Err(e) = std::fs::write(path, bytes)
    {
        eprintln!("vigil sim: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    args.output.emit("sim", &scenario, &report.judged)
}

/// `--explore N`: exit 0 when every run was clean, 1 when one broke an
/// invariant (the first one shrunk and written), 2 on errors.
fn explore(args: &Args, scenario: &Scenario, runs: u64) -> ExitCode {
    let opts = Explore {
        runs,
        seed: args.seed,
        plant: args.plant,
        ..Explore::default()
    };
    let base = args.seed.unwrap_or(scenario.sim.seed);
    let (mut explored, mut broken) = (0u64, 0u64);
    let bar = progress(runs);
    for outcome in explore::runs(scenario, &opts) {
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                bar.finish_and_clear();
                let seed = base.wrapping_add(explored);
                eprintln!("vigil sim: {} (seed {seed}): {e}", args.file.display());
                return ExitCode::from(2);
            }
        };
        explored += 1;
        bar.inc(1);
        let Some(v) = &outcome.violation else {
            continue;
        };
        broken += 1;
        bar.set_message(format!("{broken} with violations"));
        bar.suspend(|| {
            println!(
                "seed {} (run {}, {} faults): {} ms {}",
                outcome.seed,
                outcome.run,
                outcome.faults,
                v.millis(),
                v.what
            );
        });
        if broken == 1 {
            bar.set_message(format!("shrinking seed {}", outcome.seed));
            match shrink_and_write(args, &outcome.scenario, v, outcome.seed) {
                Ok(report) => bar.suspend(|| print!("{report}")),
                Err(e) => {
                    bar.finish_and_clear();
                    eprintln!("vigil sim: {e}");
                    return ExitCode::from(2);
                }
            }
            bar.set_message(format!("{broken} with violations"));
        }
    }
    bar.finish_and_clear();
    println!("explored {explored} runs: {broken} with violations");
    if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `--explore`'s progress on stderr, drawn only when stderr is a terminal
/// (indicatif's stderr target hides itself otherwise, so pipes and the
/// output tests see nothing of it).
fn progress(runs: u64) -> ProgressBar {
    let bar = ProgressBar::new(runs);
    let style = ProgressStyle::with_template(
        "{wide_bar} {pos}/{len} runs, {msg} [{elapsed_precise}, {eta} left]",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_message("0 with violations");
    bar
}

/// Shrinks a violating run and writes the small scenario; what to print
/// about it.
fn shrink_and_write(
    args: &Args,
    scenario: &Scenario,
    violation: &vigil_core::scenario::Event,
    seed: u64,
) -> Result<String, String> {
    let shrunk = explore::shrink(scenario, violation, args.plant)
        .map_err(|e| format!("{}: shrinking: {e}", args.file.display()))?;
    let text = explore::to_toml(&shrunk.scenario).map_err(|e| e.to_string())?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.file, seed));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!(
        "shrunk {} steps to {} in {} runs: {} ms {}\nwrote {}\n",
        scenario.step.len(),
        shrunk.scenario.step.len(),
        shrunk.attempts,
        shrunk.violation.millis(),
        shrunk.violation.what,
        path.display()
    ))
}

/// `dir/name.toml` -> `dir/name.explore-SEED.toml`.
fn default_out(file: &Path, seed: u64) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    file.with_file_name(format!("{stem}.explore-{seed}.toml"))
}

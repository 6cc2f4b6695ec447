//! `vigil status`: what a running `vigil run` is doing, read from its
//! control socket — every VRRP instance, every virtual server — as text for
//! operators or, with `--json`, the daemon's JSON unchanged for scripts.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use vigil_netns::driver::control::{self, InstanceStatus, Status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the daemon's JSON (stable snake_case field names).
    #[arg(long)]
    pub json: bool,
    /// The daemon's control socket (`vigil run --control-socket`).
    #[arg(long, value_name = "PATH", default_value = control::DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

pub fn run(args: &Args) -> ExitCode {
    match control::query(&args.socket) {
        Ok((_, json)) if args.json => {
            print!("{json}");
            ExitCode::SUCCESS
        }
        Ok((status, _)) => {
            print!("{}", render(&status));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vigil status: {e}");
            ExitCode::from(1)
        }
    }
}

fn render(s: &Status) -> String {
    let mut out = String::new();
    for i in &s.instances {
        instance(&mut out, i);
    }
    if !s.dropped.is_empty() {
        let _ = writeln!(out, "dropped before any instance: {}", counts(&s.dropped));
    }
    for vs in &s.virtual_servers {
        let quorum = if vs.quorum_up { "up" } else { "down" };
        let _ = writeln!(out, "Virtual server {}: quorum {quorum}", vs.name);
        if let Some(s) = vs.ipvs_stats {
            let _ = writeln!(out, "  IPVS: {s}");
        }
        for rs in &vs.real_servers {
            let state = if rs.alive { "alive" } else { "down" };
            let ipvs = rs
                .ipvs_weight
                .map_or("not in IPVS".to_string(), |w| format!("IPVS weight {w}"));
            let checks: Vec<String> = rs
                .checks
                .iter()
                .map(|c| format!("{} {}", c.kind, if c.up { "up" } else { "down" }))
                .collect();
            let _ = writeln!(
                out,
                "  real server {}: {state}, weight {}, {ipvs}; {}",
                rs.address,
                rs.effective_weight,
                checks.join(", ")
            );
            if let Some(s) = rs.ipvs_stats {
                let _ = writeln!(out, "    IPVS: {s}");
            }
        }
    }
    out
}

fn instance(out: &mut String, i: &InstanceStatus) {
    let _ = writeln!(
        out,
        "VRRP instance {}: {}, priority {} (base {})",
        i.name, i.state, i.effective_priority, i.base_priority
    );
    if let Some(m) = i.master {
        let prio = i.master_priority.map(|p| format!(" priority {p}"));
        let _ = writeln!(out, "  master {m}{}", prio.unwrap_or_default());
    }
    if let Some(t) = &i.last_transition {
        let _ = writeln!(
            out,
            "  last transition {:.1} s ago: {}",
            t.seconds_ago, t.cause
        );
    }
    let _ = writeln!(
        out,
        "  adverts sent {} (priority 0: {}), received {} (priority 0: {})",
        i.adverts_sent, i.priority_zero_sent, i.adverts_received, i.priority_zero_received
    );
    if !i.dropped.is_empty() {
        let _ = writeln!(out, "  dropped: {}", counts(&i.dropped));
    }
    for t in &i.trackers {
        let state = t.state.as_deref().unwrap_or("not reported");
        let _ = writeln!(
            out,
            "  track {} {} (weight {}): {state}, {}",
            t.kind, t.name, t.weight, t.contribution
        );
    }
}

fn counts(c: &std::collections::BTreeMap<String, u64>) -> String {
    c.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

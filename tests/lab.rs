//! `vigil lab` over the scenario files: each scenario runs against the
//! kernel in its own namespaces (the built binary, as an operator runs it)
//! and must pass the same expectations as in the simulator, within the
//! lab's real-time tolerance (`vigil lab --tolerance`, 300 ms). The runs
//! are independent, so several go at once: the whole set takes about the
//! longest scenarios' time, not their sum. Without root or `ip netns` the
//! test prints `SKIPPED:` and passes.
//!
//! `VIGIL_LAB_ONLY=master-crash,track-file` runs only those scenarios.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use vigil_netns::lab;

/// Runs at once: each is mostly idle processes waiting for timers, but two
/// cores must still serve every one of them within the tolerance.
const PARALLEL: usize = 6;

/// Scenarios the lab does not run, and why.
fn skipped(name: &str, text: &str) -> Option<String> {
    if text.contains("virtual_server") {
        return Some(format!(
            "{name}: virtual_server needs IPVS, which this kernel lacks: `vigil lab --vm` runs it \
             in the VM, where the ipvs_kernel tests run seed004-lvs-dr-real-server-failure \
             (the lab gives NAT real servers no route back through the director yet)"
        ));
    }
    if name == "lossy-link" {
        // Its expectations follow the simulator's seeded drops (seed 4:
        // three adverts in a row lost at 8-10 s); the kernel's
        // `numgen random` loss drops other frames on every run, so the
        // spurious takeover happens at other times or not at all.
        return Some(format!(
            "{name}: its expectations follow the simulator's seeded loss, which nftables' random drops cannot replay"
        ));
    }
    None
}

/// Scenarios that run but whose verdict is reported, not asserted, and why.
fn flaky(name: &str) -> Option<&'static str> {
    match name {
        // At 20 s drain goes back to 0 and lb1 (150) must preempt at the end
        // of the timer that lb2's last advert started. vigil reads a
        // track_file every 100 ms from an arbitrary phase and lb2 advertises
        // ~50 ms after each second in the lab: when the read comes after
        // that advert, lb1 (still 90) restarts its timer on it and preempts
        // one advert interval later (23.48 s instead of 22.44 s), outside
        // any sane tolerance. About one run in three.
        "track-file" => {
            Some("the 20 s drain reset races lb2's advert against the 100 ms track_file poll")
        }
        // preempt_delay 5 is a whole number of lb2's 1 s intervals, so the
        // preempt time (first lower-priority advert + 5 s) falls on one of
        // lb2's adverts: keepalived's `preempt_time > now` decides on a
        // tie, the simulator's exact clock says "not before" (preempt at
        // 14.02 s), and in real time a few µs of receive jitter either way
        // move it by one interval (15.04 s). keepalived has the same race.
        "preempt-delay" => {
            Some("the preempt time ties with one of lb2's adverts; µs of jitter decide")
        }
        _ => None,
    }
}

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let only: Option<Vec<String>> = std::env::var("VIGIL_LAB_ONLY")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| !p.to_string_lossy().contains(".explore-"))
        .filter(|p| {
            only.as_ref().is_none_or(|o| {
                o.iter()
                    .any(|n| p.file_stem().is_some_and(|s| s.to_string_lossy() == *n))
            })
        })
        .collect();
    files.sort();
    files
}

#[test]
fn scenarios_pass_in_the_lab() {
    if let Some(why) = lab::available() {
        println!("SKIPPED: {why}");
        return;
    }
    let mut queue: Vec<PathBuf> = Vec::new();
    for path in scenarios() {
        let text = std::fs::read_to_string(&path).expect("read scenario");
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        match skipped(&name, &text) {
            Some(why) => println!("skipped {why}"),
            None => queue.push(path),
        }
    }
    let started = Instant::now();
    let queue = Mutex::new(queue);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| {
                loop {
                    let Some(path) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let t = Instant::now();
                    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
                        .arg("lab")
                        .arg(&path)
                        .output()
                        .expect("run vigil lab");
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    let summary = stdout.lines().last().unwrap_or("").to_string();
                    println!(
                        "{}: {summary} ({:.1} s)",
                        path.display(),
                        t.elapsed().as_secs_f64()
                    );
                    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                    if !out.status.success()
                        && let Some(why) = flaky(&name)
                    {
                        println!("{name}: failed, not asserted: {why}");
                    } else if !out.status.success() {
                        failures.lock().unwrap().push(format!(
                            "{}: exit {:?}\n{stdout}{}",
                            path.display(),
                            out.status.code(),
                            String::from_utf8_lossy(&out.stderr)
                        ));
                    }
                }
            });
        }
    });
    println!("all runs: {:.1} s", started.elapsed().as_secs_f64());
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! `vrrp_track_process` as keepalived's `track_process.c` judges it, but
//! by reading /proc every second rather than following the kernel's
//! process connector: a process counts when its name (`comm`, or argv[0]
//! with `full_command`) is the one configured and its arguments match
//! `param_match`; zombies do not count. The tracker is up while the count
//! is within `quorum..=quorum_max`; going up waits `fork_delay` and going
//! down `terminate_delay` (`delay` sets both), so a restart does not flap it.

use std::time::Duration;

use tokio::sync::mpsc;
use vigil_core::config::model::TrackProcess;

use super::track::Report;

/// How often /proc is read.
const SCAN: Duration = Duration::from_secs(1);

/// Whether the arguments after argv[0] match, keepalived's rules:
/// `exact` (the default when parameters are given) wants the same words,
/// `partial` those words first, `initial` the same but the last word only
/// as a prefix. Without parameters or `param_match`, any arguments do.
fn params_match(t: &TrackProcess, args: &[String]) -> bool {
    let want = &t.params;
    match t.param_match.as_deref() {
        None if want.is_empty() => true,
        None | Some("exact") => args == want.as_slice(),
        Some("partial") => args.len() >= want.len() && args[..want.len()] == want[..],
        Some(_) => match want.split_last() {
            None => true,
            Some((last, head)) => {
                args.len() >= want.len()
                    && args[..head.len()] == *head
                    && args[head.len()].starts_with(last.as_str())
            }
        },
    }
}

/// How many running processes match `t`.
fn count(t: &TrackProcess) -> u32 {
    let Some(want) = t.process.as_deref() else {
        return 0;
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0;
    for entry in dir.flatten() {
        let pid = entry.file_name();
        if !pid.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let base = entry.path();
        // `pid (comm) S ...`: comm may itself hold spaces and parentheses.
        let Ok(stat) = std::fs::read_to_string(base.join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if stat[close + 1..].trim_start().starts_with('Z') {
            continue;
        }
        let comm = &stat[open + 1..close];
        // Processes may end between the reads; a kernel thread has no cmdline.
        let cmdline = std::fs::read(base.join("cmdline")).unwrap_or_default();
        let words: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        // The buffer ends with a NUL, which leaves an empty last word.
        let words = match words.split_last() {
            Some((last, rest)) if last.is_empty() => rest,
            _ => &words[..],
        };
        let name = if t.full_command {
            words.first().map_or("", String::as_str)
        } else {
            comm
        };
        if name == want && params_match(t, words.get(1..).unwrap_or_default()) {
            n += 1;
        }
    }
    n
}

/// Scans for `t` every second and reports it up or down when that
/// changes, after the configured delays.
pub async fn watch(t: TrackProcess, tx: mpsc::Sender<Report>) {
    let mut reported: Option<bool> = None;
    // Since when the scans have disagreed with what was reported.
    let mut changing: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(SCAN);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let probe = t.clone();
        // Off the VRRP thread's runtime: a /proc walk may take milliseconds.
        let Ok(n) = tokio::task::spawn_blocking(move || count(&probe)).await else {
            continue;
        };
        let up = (t.quorum..=t.quorum_max).contains(&n);
        if reported == Some(up) {
            changing = None;
            continue;
        }
        let delay = match (reported, up) {
            // The first verdict is reported at once, as keepalived's
            // initial scan sets the state.
            (None, _) => Duration::ZERO,
            (_, true) => t.fork_delay.unwrap_or_default(),
            (_, false) => t.terminate_delay.unwrap_or_default(),
        };
        let since = *changing.get_or_insert_with(tokio::time::Instant::now);
        if since.elapsed() < delay {
            continue;
        }
        changing = None;
        reported = Some(up);
        let report = Report::Process {
            name: t.name.clone(),
            up,
        };
        if tx.send(report).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(params: &[&str], m: Option<&str>) -> TrackProcess {
        let mut t = TrackProcess::new("p");
        t.params = params.iter().map(|s| s.to_string()).collect();
        t.param_match = m.map(String::from);
        t
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parameters_match_as_keepalived_matches_them() {
        assert!(params_match(&t(&[], None), &args(&["x"])));
        assert!(params_match(&t(&["a", "b"], None), &args(&["a", "b"])));
        assert!(!params_match(&t(&["a"], None), &args(&["a", "b"])));
        assert!(!params_match(&t(&[], Some("exact")), &args(&["a"])));
        assert!(params_match(
            &t(&["a"], Some("partial")),
            &args(&["a", "b"])
        ));
        assert!(!params_match(&t(&["a"], Some("partial")), &args(&["ab"])));
        assert!(params_match(
            &t(&["a", "b"], Some("initial")),
            &args(&["a", "bc", "d"])
        ));
        assert!(!params_match(
            &t(&["a", "b"], Some("initial")),
            &args(&["x", "bc"])
        ));
    }
}

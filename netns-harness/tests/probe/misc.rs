//! MISC_CHECK: real programs, run without a shell.

use crate::require_root;
use std::time::{Duration, Instant};
use vigil_core::check::{ProbeResult, ProbeSpec};
use vigil_core::config::model::Script;
use vigil_netns::driver::probe::run;

fn spec(args: &[&str], timeout_ms: u64) -> ProbeSpec {
    as_user(args, timeout_ms, None, None)
}

fn as_user(args: &[&str], timeout_ms: u64, user: Option<&str>, group: Option<&str>) -> ProbeSpec {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    ProbeSpec::Misc {
        script: Script {
            command: args.join(" "),
            args,
            user: user.map(str::to_string),
            group: group.map(str::to_string),
        },
        timeout: Duration::from_millis(timeout_ms),
    }
}

#[tokio::test]
async fn exit_codes_are_reported() {
    assert_eq!(run(&spec(&["true"], 5000)).await, ProbeResult::Exited(0));
    assert_eq!(run(&spec(&["false"], 5000)).await, ProbeResult::Exited(1));
    let seven = spec(&["/bin/sh", "-c", "exit 7"], 5000);
    assert_eq!(run(&seven).await, ProbeResult::Exited(7));
}

/// Joined and given to a shell, these words would exit 3.
#[tokio::test]
async fn arguments_reach_the_program_verbatim() {
    let s = spec(&["test", "x", "=", "x; exit 3"], 5000);
    assert_eq!(run(&s).await, ProbeResult::Exited(1));
    let s = spec(
        &["/bin/sh", "-c", "test \"$1\" = 'a b;c'", "sh", "a b;c"],
        5000,
    );
    assert_eq!(run(&s).await, ProbeResult::Exited(0));
}

#[tokio::test]
async fn script_past_its_timeout_is_killed() {
    let start = Instant::now();
    assert_eq!(
        run(&spec(&["sleep", "30"], 300)).await,
        ProbeResult::Timeout
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

/// SIGTERM ignored (and inherited as ignored): SIGKILL two seconds later.
#[tokio::test]
async fn script_ignoring_sigterm_is_killed_after_the_grace() {
    let start = Instant::now();
    let s = spec(&["/bin/sh", "-c", "trap '' TERM; sleep 30"], 300);
    assert_eq!(run(&s).await, ProbeResult::Timeout);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(2300) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

/// The script's own children share its process group and die with it.
#[tokio::test]
async fn children_of_a_timed_out_script_are_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("child.pid");
    let script = format!("sleep 30 & echo $! > '{}'; wait", pidfile.display());
    let s = spec(&["/bin/sh", "-c", &script], 300);
    assert_eq!(run(&s).await, ProbeResult::Timeout);
    let pid = std::fs::read_to_string(&pidfile).expect("pid file");
    let stat = format!("/proc/{}/stat", pid.trim());
    let gone = || {
        std::fs::read_to_string(&stat)
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(true)
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while !gone() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone(), "the script's child {} survived", pid.trim());
}

#[tokio::test]
async fn missing_program_fails() {
    let result = run(&spec(&["/nonexistent/vigil-check"], 5000)).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("vigil-check")),
        "{result:?}"
    );
}

#[tokio::test]
async fn death_by_signal_fails() {
    let result = run(&spec(&["/bin/sh", "-c", "kill -KILL $$"], 5000)).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("signal 9")),
        "{result:?}"
    );
}

/// uid, gid and the supplementary groups all become the user's.
#[tokio::test]
async fn runs_as_the_given_user_and_group() {
    require_root!("changing user");
    let Ok(Some(nobody)) = nix::unistd::User::from_name("nobody") else {
        println!("SKIPPED: no user nobody");
        return;
    };
    // Supplementary groups as the kernel has them: exactly the one group.
    let check = "test \"$(id -u)\" = \"$1\" && test \"$(id -g)\" = \"$2\" \
                 && grep -Eq \"^Groups:[[:space:]]*$2[[:space:]]*$\" /proc/self/status";
    let (uid, gid) = (nobody.uid.to_string(), nobody.gid.to_string());
    let s = as_user(
        &["/bin/sh", "-c", check, "sh", &uid, &gid],
        5000,
        Some("nobody"),
        None,
    );
    assert_eq!(run(&s).await, ProbeResult::Exited(0));
    // A named group replaces the user's own.
    let root_gid = "0".to_string();
    let s = as_user(
        &["/bin/sh", "-c", check, "sh", &uid, &root_gid],
        5000,
        Some("nobody"),
        Some("root"),
    );
    assert_eq!(run(&s).await, ProbeResult::Exited(0));
}

#[tokio::test]
async fn unknown_user_fails() {
    let s = as_user(&["true"], 5000, Some("no-such-user-vigil"), None);
    let result = run(&s).await;
    assert!(
        matches!(&result, ProbeResult::Failed(w) if w.contains("no-such-user-vigil")),
        "{result:?}"
    );
}

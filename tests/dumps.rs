//! keepalived's runbook signals against `vigil run`: `--signum` numbers the
//! functions as keepalived does, and DATA, STATS, STATS_CLEAR and JSON
//! write `vigil.data`, `vigil.stats` and `vigil.json` in `--dump-dir` from
//! a running pair of nodes in a lab, without disturbing VRRP even under a
//! storm of them. Without root (or keepalived, for the numbers) they print
//! `SKIPPED:`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Vigil, holds, keepalived_missing, lab, vrrp_conf_with, within};
use vigil_netns::driver::control::Status;

const VIP: &str = "10.77.0.100";
const DATA: libc::c_int = libc::SIGUSR1;
const STATS: libc::c_int = libc::SIGUSR2;

fn vigil_signum(name: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["run", "--signum", name])
        .output()
        .expect("vigil run --signum")
}

#[test]
fn signum_prints_the_numbers_keepalived_prints() {
    let names = ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"];
    let unknown = vigil_signum("TDATA");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown signal function TDATA"));
    if let Some(why) = keepalived_missing() {
        println!("SKIPPED: the comparison with keepalived: {why}");
        return;
    }
    for name in names {
        let ours = vigil_signum(name);
        let theirs = Command::new("keepalived")
            .arg(format!("--signum={name}"))
            .output()
            .expect("keepalived --signum");
        assert!(ours.status.success(), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{name}"
        );
    }
}

/// The number of a real-time signal function, as `--signum` prints it.
fn number(name: &str) -> libc::c_int {
    let out = vigil_signum(name);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a signal number")
}

/// Waits until the daemon logged `n` `NAME dump written` lines, then reads
/// the file.
fn dumped(a: &Vigil, name: &str, n: usize, file: &Path) -> String {
    let line = format!(" {name} dump written to {}", file.display());
    let done = within(Duration::from_secs(3), || {
        a.log().matches(&line).count() >= n
    });
    assert!(done.is_some(), "no {name} dump:\n{}", a.log());
    std::fs::read_to_string(file).expect("the dump")
}

/// The value of the first line of a stats dump that is `    label: N`.
fn stat(text: &str, label: &str) -> u64 {
    let prefix = format!("{label}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
        .unwrap_or_else(|| panic!("no {label} in:\n{text}"))
}

#[test]
fn dump_signals_write_data_stats_and_json_and_leave_vrrp_alone() {
    let Some(lab) = lab(2) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let dumps = dir.path().join("dumps");
    std::fs::create_dir(&dumps).expect("dump dir");
    let dump_dir = dumps.to_string_lossy().into_owned();
    let mut a = Vigil::start(
        &lab,
        1,
        dir.path(),
        &vrrp_conf_with(150, VIP, "0.5", "", ""),
        &["--dump-dir", &dump_dir],
    );
    let b = Vigil::start(
        &lab,
        2,
        dir.path(),
        &vrrp_conf_with(100, VIP, "0.5", "", ""),
        &[],
    );
    assert!(
        within(Duration::from_secs(4), || holds(&lab, 1, VIP)).is_some(),
        "{}",
        a.log()
    );

    a.signal(number("JSON"));
    let json = dumped(&a, "JSON", 1, &dumps.join("vigil.json"));
    let dumped_status: Status = serde_json::from_str(&json).expect("vigil status JSON");
    let live = a.status().expect("vigil status answers");
    let view = |s: &Status| -> Vec<(String, String, u8, String)> {
        s.instances
            .iter()
            .map(|i| {
                let vips = i.virtual_addresses.join(" ");
                (i.name.clone(), i.state.clone(), i.effective_priority, vips)
            })
            .collect()
    };
    assert_eq!(view(&dumped_status), view(&live));
    assert_eq!(
        view(&live),
        [(
            "VI_1".to_string(),
            "MASTER".to_string(),
            150,
            "10.77.0.100/24 dev eth0".to_string()
        )]
    );

    a.signal(DATA);
    let data = dumped(&a, "DATA", 1, &dumps.join("vigil.data"));
    for line in [
        "------< VRRP Topology >------",
        " VRRP Instance = VI_1",
        "   State = MASTER",
        "   Interface = eth0",
        "   Using src_ip = 10.77.0.1",
        "   Virtual Router ID = 51",
        "   Advert interval = 500 milli-sec",
        "     10.77.0.100/24 dev eth0",
    ] {
        assert!(data.lines().any(|l| l == line), "{line:?} not in:\n{data}");
    }

    let stats_file = dumps.join("vigil.stats");
    // A few adverts, to see them counted.
    std::thread::sleep(Duration::from_millis(1100));
    a.signal(STATS);
    let stats = dumped(&a, "STATS", 1, &stats_file);
    assert!(stats.starts_with("VRRP Instance: VI_1\n  Advertisements:\n"));
    assert_eq!(stat(&stats, "  Became master"), 1);
    let sent = stat(&stats, "    Sent");
    assert!(sent >= 2, "{stats}");
    a.signal(number("STATS_CLEAR"));
    let cleared = dumped(&a, "STATS_CLEAR", 1, &stats_file);
    assert!(stat(&cleared, "    Sent") >= sent, "{cleared}");
    a.signal(STATS);
    let after = dumped(&a, "STATS", 2, &stats_file);
    // Counted again from the clear: no more adverts than one interval's
    // worth since, and no new Master.
    assert!(stat(&after, "    Sent") <= 2, "{after}");
    assert_eq!(stat(&after, "  Became master"), 0, "{after}");
    // `vigil status` keeps counting from the start.
    let total = a.status().expect("status").instances[0].adverts_sent;
    assert!(total >= sent, "{total} < {sent}");

    // A storm of dump signals, for two Master_Down_Intervals of the
    // Backup: the Master's adverts keep coming, the Backup stays Backup.
    let json_signal = number("JSON");
    let received = |v: &Vigil| v.status().expect("status").instances[0].adverts_received;
    let heard = received(&b);
    for k in 0..300 {
        a.signal([DATA, STATS, json_signal][k % 3]);
        std::thread::sleep(Duration::from_millis(12));
    }
    assert!(a.child.try_wait().expect("wait").is_none(), "{}", a.log());
    assert!(holds(&lab, 1, VIP) && !holds(&lab, 2, VIP));
    assert!(
        !b.log().contains("Entering MASTER STATE"),
        "the Backup took over during the storm:\n{}",
        b.log()
    );
    // 3.6 s at 0.5 s per advert: at least 6 more heard.
    assert!(received(&b) >= heard + 6, "{}", a.log());
    a.signal(libc::SIGTERM);
    let status = a.wait_exit(Duration::from_secs(2));
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{}", a.log());
    // Each dump renamed into place: no temporary file is left.
    let mut names: Vec<String> = std::fs::read_dir(&dumps)
        .expect("dump dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["vigil.data", "vigil.json", "vigil.stats"]);
}

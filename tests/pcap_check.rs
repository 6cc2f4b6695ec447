//! `vigil pcap check` as a user runs it: the built binary on capture files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn vigil(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["pcap", "check"])
        .args(args)
        .output()
        .expect("vigil runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn reference_captures_are_all_valid() {
    for (name, count) in [
        ("reference/v2-pass.pcap", 6),
        ("reference/v3-ipv4.pcap", 12),
        ("v3-ipv6.pcap", 6),
        ("v2-nopass.pcap", 6),
        ("v3-unicast.pcap", 6),
    ] {
        let out = vigil(&[&reference(name)]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{name}: {text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), count + 1, "{name}: {text}");
        assert!(lines[..count].iter().all(|l| l.ends_with(" ok")), "{text}");
        assert_eq!(
            lines.last().copied(),
            Some(format!("{count} vrrp packets, 0 invalid").as_str())
        );
    }
}

#[test]
fn lines_carry_time_route_and_advert() {
    let out = vigil(&[&reference("reference/v3-ipv4.pcap")]);
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "2.564587 10.77.0.1 -> 224.0.0.18 v3 vrid 51 prio 150 int 0.50s addrs 10.77.0.100 auth none ok"
    );
}

/// Flips the low byte of the VRRP checksum of the first VRRP frame in a
/// little-endian microsecond pcap of Ethernet frames.
fn flip_first_vrrp_checksum(pcap: &mut [u8]) -> bool {
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes([pcap[at + 8], pcap[at + 9], pcap[at + 10], pcap[at + 11]]);
        let frame = at + 16;
        let next = frame + len as usize;
        let f = &pcap[frame..next.min(pcap.len())];
        if f.len() > 42 && f[12..14] == [0x08, 0x00] && f[23] == 112 {
            let ihl = usize::from(f[14] & 0x0f) * 4;
            pcap[frame + 14 + ihl + 7] ^= 0x01;
            return true;
        }
        at = next;
    }
    false
}

#[test]
fn a_flipped_checksum_byte_is_reported_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bytes = std::fs::read(reference("reference/v2-pass.pcap")).expect("reference capture");
    assert!(flip_first_vrrp_checksum(&mut bytes));
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, &bytes).expect("write copy");

    let out = vigil(&[&bad]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let invalid: Vec<&str> = text.lines().filter(|l| l.contains("invalid:")).collect();
    assert_eq!(invalid.len(), 1, "{text}");
    assert!(invalid[0].contains("checksum"), "{}", invalid[0]);
    assert!(text.ends_with("6 vrrp packets, 1 invalid\n"), "{text}");
}

#[test]
fn a_missing_file_exits_2_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pcap");
    let out = vigil(&[&missing]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing.pcap"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unreadable_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"not a capture").expect("write junk");
    let out = vigil(&[&junk, &reference("reference/v2-pass.pcap")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).ends_with("6 vrrp packets, 0 invalid\n"));
}

#[test]
fn the_simulators_wire_is_valid_vrrp() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = dir.path().join("wire.pcap");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/master-crash.toml");
    let sim = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("sim")
        .arg(&scenario)
        .arg("--pcap")
        .arg(&pcap)
        .output()
        .expect("vigil sim runs");
    assert_eq!(sim.status.code(), Some(0), "{}", stdout(&sim));
    let out = vigil(&[&pcap]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text.lines().last(),
        Some("14 vrrp packets, 0 invalid"),
        "{text}"
    );
}

//! `vigil ipvs list` as a user runs it. Where the kernel has IPVS (and we
//! are root), in a network namespace of its own against `ipvsadm -Ln`;
//! elsewhere, the error it gives. The rendering itself is compared with
//! ipvsadm's on a real kernel by netns-harness's ipvs_kernel tests.

use std::process::Command;
use vigil_netns::vm::host_has_ipvs;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

#[test]
fn ipvs_list_prints_what_ipvsadm_prints_or_says_why_not() {
    let vigil = env!("CARGO_BIN_EXE_vigil");
    if !host_has_ipvs() {
        let out = Command::new(vigil)
            .args(["ipvs", "list"])
            .output()
            .expect("vigil runs");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("IPVS is not available"), "{err}");
        return;
    }
    if !is_root() {
        println!("SKIPPED: listing IPVS needs root");
        return;
    }
    // A table of its own: a new network namespace.
    let script = format!(
        "ip link set lo up && ipvsadm -A -t 10.9.0.1:80 -s wrr && \
         ipvsadm -a -t 10.9.0.1:80 -r 10.9.1.1:80 -m -w 2 && \
         ipvsadm -Ln && echo --- && {vigil} ipvs list"
    );
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .output()
        .expect("unshare runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (theirs, ours) = text.split_once("---\n").expect("both listings");
    assert_eq!(ours, theirs);
}

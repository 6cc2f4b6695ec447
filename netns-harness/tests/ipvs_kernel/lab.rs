//! `vigil lab` on seed 004's LVS-DR scenario against the kernel's IPVS:
//! two directors, two DR real servers (the lab gives them the VIP on `lo`
//! with the seed's ARP settings), a browser whose answers follow the
//! health checks, the sorry server and the Master's crash — the same file
//! and expectations as `vigil sim`.

use crate::require_ipvs;
use crate::vigil_run::vigil_binary;
use std::path::Path;
use std::process::Command;

/// The lab's real-time tolerance, widened for the emulated CPU: each of
/// the scenario's processes takes seconds to start in the VM.
const TOLERANCE: &str = "2s";

#[test]
fn kernel_lab_runs_seed_004_lvs_dr_with_a_failing_real_server() {
    require_ipvs!();
    let Some(vigil) = vigil_binary() else {
        return;
    };
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/seed004-lvs-dr-real-server-failure.toml");
    let out = Command::new(vigil)
        .args(["lab", "--tolerance", TOLERANCE])
        .arg(&scenario)
        .output()
        .expect("run vigil lab");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("expectations: 7 passed, 0 failed"),
        "vigil lab {}: {}\n{stdout}\n{}",
        scenario.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

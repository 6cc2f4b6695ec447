//! `--pcap`: the simulated wire is a pcap that tshark dissects without a
//! malformed packet or a bad checksum.

use std::path::Path;
use std::process::Command;
use vigil_core::scenario::Scenario;
use vigil_sim::Options;

const DUAL_STACK: &str = r#"
name = "v4 and v6 instances failing over"
duration = "12s"

[[node]]
name = "lb1"
addr = "10.0.0.1/24"
addr6 = "fd00::1/64"
config = '''
vrrp_instance V4 {
    interface eth0
    virtual_router_id 51
    priority 150
    version 3
    virtual_ipaddress {
        10.0.0.100/24
    }
}
vrrp_instance V6 {
    interface eth0
    virtual_router_id 61
    priority 150
    virtual_ipaddress {
        fe80::61/64
        fd00::100/64
    }
}
'''

[[node]]
name = "lb2"
addr = "10.0.0.2/24"
addr6 = "fd00::2/64"
config = '''
vrrp_instance V4 {
    interface eth0
    virtual_router_id 51
    priority 100
    version 3
    virtual_ipaddress {
        10.0.0.100/24
    }
}
vrrp_instance V6 {
    interface eth0
    virtual_router_id 61
    priority 100
    virtual_ipaddress {
        fe80::61/64
        fd00::100/64
    }
}
'''

[[step]]
at = "6s"
stop = "lb1"
"#;

fn pcap_of(text: &str, dir: &Path) -> std::path::PathBuf {
    let scenario = Scenario::parse(text).expect("valid scenario");
    let report = vigil_sim::run(
        &scenario,
        &Options {
            pcap: true,
            ..Options::default()
        },
    )
    .expect("runs");
    let path = dir.join("wire.pcap");
    std::fs::write(&path, report.pcap.expect("a pcap was asked for")).expect("written");
    path
}

fn tshark(args: &[&str]) -> Option<String> {
    let out = Command::new("tshark").args(args).output().ok()?;
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn tshark_finds_nothing_malformed_and_no_bad_checksum() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = pcap_of(DUAL_STACK, dir.path());
    let file = pcap.to_str().expect("utf-8 path");
    let Some(all) = tshark(&["-r", file]) else {
        println!("SKIPPED: tshark is not installed");
        return;
    };
    assert!(
        all.contains("VRRP")
            && all.contains("Gratuitous ARP")
            && all.contains("Neighbor Advertisement"),
        "{all}"
    );
    // A takeover legitimately raises duplicate-address warnings; only
    // malformed packets and bad checksums are errors here.
    let filter = "_ws.malformed or ip.checksum.status == \"Bad\" or vrrp.checksum.status == \"Bad\" \
                  or icmpv6.checksum.status == \"Bad\"";
    let bad = tshark(&["-r", file, "-o", "ip.check_checksum:TRUE", "-Y", filter])
        .expect("tshark ran before");
    assert_eq!(bad, "", "malformed or bad-checksum packets");
    let v6 = tshark(&["-r", file, "-Y", "vrrp && ipv6"]).expect("tshark ran before");
    assert!(v6.lines().count() >= 4, "IPv6 adverts: {v6}");
}

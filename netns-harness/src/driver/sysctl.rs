//! The per-interface sysctls a VMAC needs, read and written under
//! `/proc/sys/net`, which shows the daemon's own network namespace.
//! (rtnetlink's IPv4 devconf request cannot carry a 0, and `rp_filter` must
//! become 0.)

use std::io;
use std::path::PathBuf;

/// `net.ipv4.conf.IFACE.KEY` (IFACE may be `all` or `default`).
pub fn ipv4(iface: &str, key: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv4/conf/{iface}/{key}"))
}

/// `net.ipv6.conf.IFACE.KEY`.
pub fn ipv6(iface: &str, key: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv6/conf/{iface}/{key}"))
}

pub fn read(path: &PathBuf) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

pub fn write(path: &PathBuf, value: u32) -> io::Result<()> {
    std::fs::write(path, value.to_string())
}

/// The interfaces that have IPv4 settings, `all` and `default` left out.
pub fn ipv4_interfaces() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/sys/net/ipv4/conf") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "all" && n != "default")
        .collect()
}

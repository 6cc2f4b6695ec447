//! The state dumps keepalived writes when signalled, made from the daemon's
//! [`Status`]: DATA → `vigil.data` (configuration and state of every
//! instance and virtual server, in the layout of `keepalived.data`), STATS
//! and STATS_CLEAR → `vigil.stats` (each instance's counters, line for line
//! as `keepalived.stats`), JSON → `vigil.json` (the document `vigil status
//! --json` prints).
//!
//! Each file is written under a temporary name beside it and renamed into
//! place, mode 0600: a reader never sees half a dump, and a symlink planted
//! at the name in a shared /tmp is replaced, not followed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::control::{InstanceStatus, Status};
use super::signals::Dump;

/// Where the dumps go unless told: `$TMPDIR` when it is an absolute path,
/// else /tmp, as keepalived decides.
pub fn default_dir() -> PathBuf {
    std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// keepalived's stats lines (`vrrp_print.c`): headings, and counters named
/// as in its JSON dump.
const STATS_LAYOUT: [(&str, Option<&str>); 19] = [
    ("  Advertisements:", None),
    ("    Received", Some("advert_rcvd")),
    ("    Sent", Some("advert_sent")),
    ("  Became master", Some("become_master")),
    ("  Released master", Some("release_master")),
    ("  Packet Errors:", None),
    ("    Length", Some("packet_len_err")),
    ("    TTL", Some("ip_ttl_err")),
    ("    Invalid Type", Some("invalid_type_rcvd")),
    ("    Advertisement Interval", Some("advert_interval_err")),
    ("    Address List", Some("addr_list_err")),
    ("  Authentication Errors:", None),
    ("    Invalid Type", Some("invalid_authtype")),
    ("    Type Mismatch", Some("authtype_mismatch")),
    ("    Failure", Some("auth_failure")),
    ("  Priority Zero:", None),
    ("    Received", Some("pri_zero_rcvd")),
    ("    Sent", Some("pri_zero_sent")),
    // vigil's reasons keepalived has no line for, one line each.
    ("  Other Drops:", None),
];

/// The keepalived counter a drop reason of vigil's adds to; none for the
/// reasons keepalived has no counter for.
fn keepalived_counter(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "too_short" | "too_long" | "truncated" | "ip_truncated" | "ip_total_len"
        | "ip_header_len" => "packet_len_err",
        "ttl" => "ip_ttl_err",
        "type" => "invalid_type_rcvd",
        "interval_mismatch" | "interval_zero" => "advert_interval_err",
        "addr_count" | "addr_list" => "addr_list_err",
        "auth_type" => "invalid_authtype",
        "auth_type_mismatch" => "authtype_mismatch",
        "auth_mismatch" => "auth_failure",
        _ => return None,
    })
}

/// One instance's counters: keepalived's by their names, and the drops
/// keepalived has no counter for as `other:REASON`.
type Counters = BTreeMap<String, u64>;

fn counters(i: &InstanceStatus) -> Counters {
    let mut c: Counters = [
        ("advert_rcvd", i.adverts_received),
        ("advert_sent", i.adverts_sent),
        ("become_master", i.became_master),
        ("release_master", i.released_master),
        ("pri_zero_rcvd", i.priority_zero_received),
        ("pri_zero_sent", i.priority_zero_sent),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (reason, n) in &i.dropped {
        let key = keepalived_counter(reason).map_or_else(|| format!("other:{reason}"), Into::into);
        *c.entry(key).or_default() += n;
    }
    c
}

/// The dumps of one daemon, and the counts the last STATS_CLEAR left.
#[derive(Debug)]
pub struct Dumps {
    dir: PathBuf,
    /// Per instance (and `""` for the datagrams no instance took): what
    /// the stats dump subtracts.
    cleared: BTreeMap<String, Counters>,
}

impl Dumps {
    pub fn new(dir: PathBuf) -> Dumps {
        Dumps {
            dir,
            cleared: BTreeMap::new(),
        }
    }

    /// Writes `dump`; the file written.
    pub fn write(&mut self, dump: Dump, status: &Status) -> std::io::Result<PathBuf> {
        let (name, text) = match dump {
            Dump::Data => ("vigil.data", data(status)),
            Dump::Stats | Dump::StatsClear => {
                let text = self.stats(status);
                if dump == Dump::StatsClear {
                    self.clear(status);
                }
                ("vigil.stats", text)
            }
            Dump::Json => {
                let mut text =
                    serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
                text.push('\n');
                ("vigil.json", text)
            }
        };
        let path = self.dir.join(name);
        replace(&path, text.as_bytes())?;
        Ok(path)
    }

    fn clear(&mut self, status: &Status) {
        self.cleared = status
            .instances
            .iter()
            .map(|i| (i.name.clone(), counters(i)))
            .collect();
        self.cleared.insert(String::new(), status.dropped.clone());
    }

    /// What changed since `name`'s last STATS_CLEAR.
    fn since(&self, name: &str, now: Counters) -> Counters {
        let before = self.cleared.get(name);
        now.into_iter()
            .map(|(k, v)| {
                let base = before.and_then(|b| b.get(&k)).copied().unwrap_or(0);
                (k, v.saturating_sub(base))
            })
            .collect()
    }

    /// `keepalived.stats` line for line, each instance's drops that
    /// keepalived does not count under "Other Drops", then the datagrams
    /// no instance took (vigil decodes a datagram before it knows its
    /// instance, so length, type and multicast TTL errors count there).
    fn stats(&self, status: &Status) -> String {
        let mut out = String::new();
        for i in &status.instances {
            let c = self.since(&i.name, counters(i));
            let _ = writeln!(out, "VRRP Instance: {}", i.name);
            for (line, key) in STATS_LAYOUT {
                match key {
                    Some(k) => {
                        let n = c.get(k).copied().unwrap_or(0);
                        let _ = writeln!(out, "{line}: {n}");
                    }
                    None => {
                        let _ = writeln!(out, "{line}");
                    }
                }
            }
            for (k, n) in &c {
                if let Some(reason) = k.strip_prefix("other:") {
                    let _ = writeln!(out, "    {reason}: {n}");
                }
            }
        }
        let _ = writeln!(out, "Dropped before any instance:");
        for (reason, n) in self.since("", status.dropped.clone()) {
            let _ = writeln!(out, "  {reason}: {n}");
        }
        out
    }
}

/// `keepalived.data`'s layout for what vigil knows: the VRRP topology,
/// then the LVS topology.
fn data(status: &Status) -> String {
    let mut out = String::from("------< VRRP Topology >------\n");
    for i in &status.instances {
        instance_data(&mut out, i);
    }
    if !status.virtual_servers.is_empty() {
        out.push_str("------< LVS Topology >------\n");
    }
    for vs in &status.virtual_servers {
        let _ = writeln!(out, " ------< Virtual server >------");
        let _ = writeln!(out, " VS = {}", vs.name);
        let _ = writeln!(out, "   IPVS services = {}", vs.services.join(", "));
        let _ = writeln!(out, "   lvs_sched = {}", vs.scheduler);
        let _ = writeln!(out, "   quorum_state_up = {}", u8::from(vs.quorum_up));
        if let Some(s) = vs.ipvs_stats {
            let _ = writeln!(out, "   IPVS stats = {s}");
        }
        for rs in &vs.real_servers {
            let _ = writeln!(out, "   ------< Real server >------");
            let _ = writeln!(
                out,
                "   RIP = {}, RPORT = {}, EFF WEIGHT = {}",
                rs.address.ip(),
                rs.address.port(),
                rs.effective_weight
            );
            let _ = writeln!(out, "   forwarding method = {}", rs.forwarding);
            let _ = writeln!(out, "   alive = {}", u8::from(rs.alive));
            match rs.ipvs_weight {
                Some(w) => {
                    let _ = writeln!(out, "   IPVS weight = {w}");
                }
                None => {
                    let _ = writeln!(out, "   not in IPVS");
                }
            }
            for c in &rs.checks {
                let verdict = if c.up { "up" } else { "down" };
                let _ = writeln!(out, "   {} = {verdict}", c.kind);
            }
            if let Some(s) = rs.ipvs_stats {
                let _ = writeln!(out, "   IPVS stats = {s}");
            }
        }
    }
    out
}

fn instance_data(out: &mut String, i: &InstanceStatus) {
    let on_off = |b: bool| if b { "enabled" } else { "disabled" };
    let _ = writeln!(out, " VRRP Instance = {}", i.name);
    let _ = writeln!(out, "   VRRP Version = {}", i.version);
    let _ = writeln!(out, "   State = {}", i.state);
    if let Some(t) = &i.last_transition {
        let _ = writeln!(
            out,
            "   Last transition = {:.3} s ago ({})",
            t.seconds_ago, t.cause
        );
    }
    let _ = writeln!(
        out,
        "   Master down timer = {} usecs",
        i.master_down_interval_us
    );
    let _ = writeln!(out, "   Interface = {}", i.interface);
    let _ = writeln!(out, "   Using src_ip = {}", i.source);
    if !i.unicast_peers.is_empty() {
        let peers: Vec<String> = i.unicast_peers.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "   Unicast peers = {}", peers.join(", "));
    }
    let _ = writeln!(out, "   Virtual Router ID = {}", i.vrid);
    let _ = writeln!(out, "   Priority = {}", i.base_priority);
    let _ = writeln!(out, "   Effective priority = {}", i.effective_priority);
    let _ = writeln!(
        out,
        "   Advert interval = {} milli-sec",
        i.advert_interval_ms
    );
    let _ = writeln!(out, "   Accept = {}", on_off(i.accept));
    let _ = writeln!(out, "   Preempt = {}", on_off(i.preempt));
    if i.preempt_delay_ms > 0 {
        let _ = writeln!(out, "   Preempt delay = {} milli-sec", i.preempt_delay_ms);
    }
    if let Some(m) = i.master {
        let prio = i.master_priority.map(|p| format!(", priority {p}"));
        let _ = writeln!(out, "   Master = {m}{}", prio.unwrap_or_default());
    }
    for (title, addrs) in [
        ("Virtual IP", &i.virtual_addresses),
        ("Virtual IP Excluded", &i.excluded_addresses),
    ] {
        if title == "Virtual IP" || !addrs.is_empty() {
            let _ = writeln!(out, "   {title} ({}):", addrs.len());
        }
        for a in addrs {
            let _ = writeln!(out, "     {a}");
        }
    }
    if !i.trackers.is_empty() {
        let _ = writeln!(out, "   Tracking :");
    }
    for t in &i.trackers {
        let state = t.state.as_deref().unwrap_or("not reported");
        let _ = writeln!(
            out,
            "     {} {} weight {}: {state}, {}",
            t.kind, t.name, t.weight, t.contribution
        );
    }
}

/// Writes `bytes` to `path` through a new file beside it, mode 0600,
/// renamed over it.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".vigil-dump")
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::control::Transition;

    fn instance(sent: u64, dropped: &[(&str, u64)]) -> InstanceStatus {
        InstanceStatus {
            name: "VI_1".into(),
            state: "MASTER".into(),
            interface: "eth0".into(),
            vrid: 51,
            version: 3,
            source: "10.0.0.1".parse().unwrap(),
            unicast_peers: Vec::new(),
            advert_interval_ms: 1000,
            master_down_interval_us: 3_414_062,
            preempt: true,
            preempt_delay_ms: 0,
            accept: true,
            virtual_addresses: vec!["10.0.0.100/24 dev eth0".into()],
            excluded_addresses: Vec::new(),
            base_priority: 150,
            effective_priority: 150,
            trackers: Vec::new(),
            master: None,
            master_priority: None,
            last_transition: Some(Transition {
                seconds_ago: 1.5,
                cause: "master down timer expired".into(),
            }),
            transitions: Vec::new(),
            became_master: 1,
            released_master: 0,
            adverts_sent: sent,
            adverts_received: 2,
            priority_zero_sent: 0,
            priority_zero_received: 0,
            dropped: dropped.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn status(sent: u64, dropped: &[(&str, u64)]) -> Status {
        Status {
            instances: vec![instance(sent, dropped)],
            dropped: [("too_short".to_string(), 4)].into(),
            ..Status::default()
        }
    }

    #[test]
    fn stats_are_keepalived_s_lines_with_vigil_s_other_reasons_after() {
        let dumps = Dumps::new(PathBuf::new());
        let text = dumps.stats(&status(7, &[("auth_mismatch", 2), ("unicast_src", 1)]));
        let want = "\
VRRP Instance: VI_1
  Advertisements:
    Received: 2
    Sent: 7
  Became master: 1
  Released master: 0
  Packet Errors:
    Length: 0
    TTL: 0
    Invalid Type: 0
    Advertisement Interval: 0
    Address List: 0
  Authentication Errors:
    Invalid Type: 0
    Type Mismatch: 0
    Failure: 2
  Priority Zero:
    Received: 0
    Sent: 0
  Other Drops:
    unicast_src: 1
Dropped before any instance:
  too_short: 4
";
        assert_eq!(text, want);
    }

    #[test]
    fn stats_clear_starts_the_dump_s_counts_again_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        let mut dumps = Dumps::new(dir.path().to_path_buf());
        let path = dumps
            .write(Dump::StatsClear, &status(7, &[("ttl", 1)]))
            .unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("    Sent: 7\n")
        );
        dumps
            .write(Dump::Stats, &status(10, &[("ttl", 3)]))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("    Sent: 3\n"), "{text}");
        assert!(text.contains("    TTL: 2\n"), "{text}");
        assert!(text.contains("  too_short: 0\n"), "{text}");
    }

    #[test]
    fn a_symlink_at_the_dump_s_name_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("vigil.json")).unwrap();
        let mut dumps = Dumps::new(dir.path().to_path_buf());
        let path = dumps.write(Dump::Json, &status(1, &[])).unwrap();
        assert_eq!(std::fs::read_to_string(victim).unwrap(), "keep");
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file());
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o600
        );
    }
}

//! The daemon's [`Status`] in Prometheus' text exposition format (0.0.4),
//! which [`super::http`] serves at `GET /metrics` with `--metrics-listen`.
//! Names follow Prometheus' conventions: a `vigil_` prefix, `_total` on
//! counters, base units, a HELP and a TYPE line for each family; a family
//! with nothing to report (no virtual servers, say) is left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vigil_core::vrrp::State;

use super::control::Status;
use super::ipvs::IpvsStats;

/// What the HTTP answer says its body is.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every state an instance can be in, for the one-hot state gauge.
const STATES: [State; 5] = [
    State::Init,
    State::Backup,
    State::Master,
    State::Fault,
    State::Stopped,
];

type Labels = Vec<(&'static str, String)>;

/// The exposition being written, family by family.
#[derive(Default)]
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str, samples: Vec<(Labels, f64)>) {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            self.0.push_str(name);
            if !labels.is_empty() {
                let pairs: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect();
                let _ = write!(self.0, "{{{}}}", pairs.join(","));
            }
            let _ = writeln!(self.0, " {value}");
        }
    }

    fn gauge(&mut self, name: &str, help: &str, samples: Vec<(Labels, f64)>) {
        self.family(name, "gauge", help, samples);
    }

    fn counter(&mut self, name: &str, help: &str, samples: Vec<(Labels, f64)>) {
        self.family(name, "counter", help, samples);
    }
}

/// A label value as the format quotes it.
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// The exposition of `status`.
pub fn render(status: &Status) -> String {
    let mut e = Exposition::default();
    e.gauge(
        "vigil_build_info",
        "The running vigil's version.",
        vec![(vec![("version", env!("CARGO_PKG_VERSION").into())], 1.0)],
    );
    vrrp(&mut e, status);
    lvs(&mut e, status);
    let scripts = status.notify_scripts;
    e.counter(
        "vigil_notify_script_runs_total",
        "Notify scripts asked for (VRRP state changes, real servers, quorum).",
        vec![(Vec::new(), scripts.runs as f64)],
    );
    e.counter(
        "vigil_notify_script_failures_total",
        "Notify scripts refused, not started, dropped, terminated as hung, or exiting other than 0.",
        vec![(Vec::new(), scripts.failures as f64)],
    );
    e.0
}

fn vrrp(e: &mut Exposition, status: &Status) {
    let each = |value: &dyn Fn(&super::control::InstanceStatus) -> f64| {
        status
            .instances
            .iter()
            .map(|i| (vec![("instance", i.name.clone())], value(i)))
            .collect::<Vec<_>>()
    };
    let states = status
        .instances
        .iter()
        .flat_map(|i| {
            STATES.map(|s| {
                let labels = vec![("instance", i.name.clone()), ("state", s.to_string())];
                (labels, flag(i.state == s.as_str()))
            })
        })
        .collect();
    e.gauge(
        "vigil_vrrp_instance_state",
        "1 for the state the VRRP instance is in, 0 for the others.",
        states,
    );
    e.gauge(
        "vigil_vrrp_instance_priority",
        "The priority the instance advertises: base plus what its trackers add.",
        each(&|i| f64::from(i.effective_priority)),
    );
    e.gauge(
        "vigil_vrrp_instance_base_priority",
        "The configured priority.",
        each(&|i| f64::from(i.base_priority)),
    );
    let transitions = status
        .instances
        .iter()
        .flat_map(|i| {
            i.transitions.iter().map(|t| {
                let labels = vec![
                    ("instance", i.name.clone()),
                    ("to", t.to.clone()),
                    ("cause", t.cause.clone()),
                ];
                (labels, t.count as f64)
            })
        })
        .collect();
    e.counter(
        "vigil_vrrp_transitions_total",
        "State changes, by the state entered and their cause.",
        transitions,
    );
    e.counter(
        "vigil_vrrp_adverts_sent_total",
        "Adverts sent.",
        each(&|i| i.adverts_sent as f64),
    );
    e.counter(
        "vigil_vrrp_adverts_received_total",
        "Adverts that reached the instance.",
        each(&|i| i.adverts_received as f64),
    );
    e.counter(
        "vigil_vrrp_priority_zero_adverts_sent_total",
        "Priority-0 adverts sent (resigning as Master).",
        each(&|i| i.priority_zero_sent as f64),
    );
    e.counter(
        "vigil_vrrp_priority_zero_adverts_received_total",
        "Priority-0 adverts received from a resigning Master.",
        each(&|i| i.priority_zero_received as f64),
    );
    let dropped = status
        .instances
        .iter()
        .flat_map(|i| {
            i.dropped.iter().map(|(reason, n)| {
                let labels = vec![("instance", i.name.clone()), ("reason", reason.clone())];
                (labels, *n as f64)
            })
        })
        .collect();
    e.counter(
        "vigil_vrrp_adverts_dropped_total",
        "Adverts the instance dropped, by reason.",
        dropped,
    );
    e.counter(
        "vigil_vrrp_packets_dropped_total",
        "Datagrams dropped before reaching any instance, by reason.",
        reasons(&status.dropped),
    );
}

fn reasons(counts: &BTreeMap<String, u64>) -> Vec<(Labels, f64)> {
    counts
        .iter()
        .map(|(reason, n)| (vec![("reason", reason.clone())], *n as f64))
        .collect()
}

fn lvs(e: &mut Exposition, status: &Status) {
    let vss = &status.virtual_servers;
    let quorum = vss
        .iter()
        .map(|vs| {
            (
                vec![("virtual_server", vs.name.clone())],
                flag(vs.quorum_up),
            )
        })
        .collect();
    e.gauge(
        "vigil_lvs_virtual_server_quorum_up",
        "1 while the virtual server has its quorum of live real servers.",
        quorum,
    );
    // (virtual server, real server) label pairs with each real server.
    let rss: Vec<(Labels, &super::control::RealServerStatus)> = vss
        .iter()
        .flat_map(|vs| {
            vs.real_servers.iter().map(|rs| {
                let labels = vec![
                    ("virtual_server", vs.name.clone()),
                    ("real_server", rs.address.to_string()),
                ];
                (labels, rs)
            })
        })
        .collect();
    let per_rs = |value: &dyn Fn(&super::control::RealServerStatus) -> Option<f64>| {
        rss.iter()
            .filter_map(|(l, rs)| Some((l.clone(), value(rs)?)))
            .collect::<Vec<_>>()
    };
    e.gauge(
        "vigil_lvs_real_server_up",
        "1 while the real server's checks hold it alive.",
        per_rs(&|rs| Some(flag(rs.alive))),
    );
    let checks = rss
        .iter()
        .flat_map(|(labels, rs)| {
            let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
            rs.checks.iter().map(move |c| {
                let n = seen.entry(&c.kind).or_default();
                *n += 1;
                // Two checks of one kind on a real server stay two series.
                let check = match *n {
                    1 => c.kind.clone(),
                    n => format!("{}#{n}", c.kind),
                };
                let mut l = labels.clone();
                l.push(("check", check));
                (l, flag(c.up))
            })
        })
        .collect();
    e.gauge(
        "vigil_lvs_check_up",
        "The last verdict of each health check of a real server: 1 up, 0 down.",
        checks,
    );
    e.gauge(
        "vigil_lvs_real_server_weight",
        "The real server's weight as its checks moved it.",
        per_rs(&|rs| Some(rs.effective_weight as f64)),
    );
    e.gauge(
        "vigil_lvs_real_server_ipvs_weight",
        "The real server's weight in the IPVS table (absent: not in it).",
        per_rs(&|rs| rs.ipvs_weight.map(f64::from)),
    );
    let services: Vec<(Labels, IpvsStats)> = vss
        .iter()
        .filter_map(|vs| Some((vec![("virtual_server", vs.name.clone())], vs.ipvs_stats?)))
        .collect();
    traffic(e, "vigil_ipvs", "virtual server", &services);
    let dests: Vec<(Labels, IpvsStats)> = rss
        .iter()
        .filter_map(|(l, rs)| Some((l.clone(), rs.ipvs_stats?)))
        .collect();
    traffic(e, "vigil_ipvs_real_server", "real server", &dests);
}

/// The kernel's traffic counters of `what`, as `ipvsadm -Ln --stats`
/// shows them.
fn traffic(e: &mut Exposition, prefix: &str, what: &str, stats: &[(Labels, IpvsStats)]) {
    let directed = |f: &dyn Fn(&IpvsStats) -> (u64, u64)| {
        stats
            .iter()
            .flat_map(|(labels, s)| {
                let (inbound, outbound) = f(s);
                [("in", inbound), ("out", outbound)].map(|(dir, n)| {
                    let mut l = labels.clone();
                    l.push(("direction", dir.into()));
                    (l, n as f64)
                })
            })
            .collect::<Vec<_>>()
    };
    e.counter(
        &format!("{prefix}_connections_total"),
        &format!("Connections IPVS scheduled to the {what} (the kernel's count)."),
        stats
            .iter()
            .map(|(l, s)| (l.clone(), s.connections as f64))
            .collect(),
    );
    e.counter(
        &format!("{prefix}_packets_total"),
        &format!("Packets IPVS forwarded for the {what}, by direction (the kernel's count)."),
        directed(&|s| (s.packets_in, s.packets_out)),
    );
    e.counter(
        &format!("{prefix}_bytes_total"),
        &format!("Bytes IPVS forwarded for the {what}, by direction (the kernel's count)."),
        directed(&|s| (s.bytes_in, s.bytes_out)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::control::{
        CheckStatus, RealServerStatus, ScriptCounts, VirtualServerStatus,
    };

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }

    #[test]
    fn real_servers_checks_and_kernel_counters_become_series() {
        let rs = RealServerStatus {
            address: "10.0.0.2:80".parse().unwrap(),
            forwarding: "NAT".into(),
            alive: true,
            effective_weight: 3,
            ipvs_weight: None,
            checks: ["TCP_CHECK", "TCP_CHECK", "HTTP_GET"]
                .map(|k| CheckStatus {
                    kind: k.into(),
                    up: k == "TCP_CHECK",
                })
                .to_vec(),
            ipvs_stats: Some(IpvsStats {
                connections: 5,
                packets_in: 6,
                packets_out: 7,
                bytes_in: 8,
                bytes_out: 9,
            }),
        };
        let status = Status {
            virtual_servers: vec![VirtualServerStatus {
                name: "[10.0.0.100]:tcp:80".into(),
                services: vec!["-t 10.0.0.100:80".into()],
                scheduler: "rr".into(),
                quorum_up: true,
                real_servers: vec![rs],
                ipvs_stats: None,
            }],
            notify_scripts: ScriptCounts {
                runs: 4,
                failures: 1,
            },
            ..Status::default()
        };
        let text = render(&status);
        let labels = r#"virtual_server="[10.0.0.100]:tcp:80",real_server="10.0.0.2:80""#;
        for line in [
            format!("vigil_lvs_check_up{{{labels},check=\"TCP_CHECK\"}} 1"),
            format!("vigil_lvs_check_up{{{labels},check=\"TCP_CHECK#2\"}} 1"),
            format!("vigil_lvs_check_up{{{labels},check=\"HTTP_GET\"}} 0"),
            format!("vigil_lvs_real_server_weight{{{labels}}} 3"),
            format!("vigil_ipvs_real_server_bytes_total{{{labels},direction=\"out\"}} 9"),
            "vigil_notify_script_failures_total 1".into(),
            "# TYPE vigil_ipvs_real_server_connections_total counter".into(),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
        }
        // Not in IPVS, no kernel table for the service: no such series.
        assert!(
            !text.contains("vigil_lvs_real_server_ipvs_weight"),
            "{text}"
        );
        assert!(!text.contains("vigil_ipvs_connections_total"), "{text}");
    }
}

//! From a parsed keepalived.conf and the host's interfaces to what the
//! [`Router`](super::Router) runs: each `vrrp_instance` becomes an
//! [`InstanceConfig`], each `vrrp_sync_group` a [`GroupConfig`].
//!
//! The host comes in through [`Host`], so the simulator and the daemon resolve
//! configs the same way.

use super::event::Vip;
use super::group::GroupConfig;
use super::instance::{Garp, InstanceConfig};
use super::packet::{Auth, Version};
use super::track::{Track, TrackKind};
use crate::config::model::vrrp::{AuthType, Family, VrrpState};
use crate::config::model::{Config, IpAddress, SyncGroup, VrrpInstance};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What resolution needs to know of the host.
pub trait Host {
    /// The interface's primary IPv4 address.
    fn ipv4(&self, iface: &str) -> Option<Ipv4Addr>;
    /// The interface's link-local IPv6 address (VRRPv3 over IPv6 sends from it).
    fn ipv6_link_local(&self, iface: &str) -> Option<Ipv6Addr>;
}

/// The instances and groups to run, and why some could not be.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    pub instances: Vec<InstanceConfig>,
    pub groups: Vec<GroupConfig>,
    /// Instances left out, or changed, and why (one line each).
    pub notes: Vec<String>,
}

/// Resolves every instance and sync group of `config` on `host`.
pub fn resolve(config: &Config, host: &dyn Host) -> Resolved {
    let mut out = Resolved::default();
    for inst in &config.instances {
        match instance(config, inst, host, &mut out.notes) {
            Ok(c) => out.instances.push(c),
            Err(why) => out.notes.push(format!("({}) not run: {why}", inst.name)),
        }
    }
    for g in &config.sync_groups {
        let members: Vec<String> = g
            .group
            .iter()
            .filter(|m| out.instances.iter().any(|i| &i.name == *m))
            .cloned()
            .collect();
        if !members.is_empty() {
            out.groups.push(GroupConfig {
                name: g.name.clone(),
                members,
            });
        }
    }
    out
}

fn instance(
    config: &Config,
    inst: &VrrpInstance,
    host: &dyn Host,
    notes: &mut Vec<String>,
) -> Result<InstanceConfig, String> {
    let iface = inst.interface.clone().ok_or("no interface")?;
    let version = version(inst);
    let src = inst
        .unicast_src_ip
        .or(inst.mcast_src_ip)
        .or_else(|| match inst.family {
            Family::Inet => host.ipv4(&iface).map(IpAddr::V4),
            Family::Inet6 => host.ipv6_link_local(&iface).map(IpAddr::V6),
        })
        .ok_or_else(|| format!("interface {iface} has no address to send from"))?;
    let auth = auth(inst);
    let vip = |a: &IpAddress| Vip {
        addr: a.addr,
        prefix_len: a.prefix,
        iface: a.dev.clone().unwrap_or_else(|| iface.clone()),
        label: a.label.clone(),
        broadcast: a.broadcast,
        scope: a.scope.clone(),
    };
    let mcast_group = inst.mcast_dst_ip.unwrap_or(match inst.family {
        Family::Inet => IpAddr::V4(config.global.vrrp_mcast_group4),
        Family::Inet6 => IpAddr::V6(config.global.vrrp_mcast_group6),
    });
    let group = config
        .sync_groups
        .iter()
        .find(|g| g.group.contains(&inst.name));
    let mut c = InstanceConfig::new(
        &inst.name,
        &iface,
        version,
        inst.virtual_router_id,
        inst.priority,
        src,
    );
    c.interval_cs = inst.advert_int_cs;
    c.auth = auth;
    c.vips = inst.virtual_ipaddress.iter().map(vip).collect();
    c.excluded_vips = inst.virtual_ipaddress_excluded.iter().map(vip).collect();
    c.initial_master = inst.state == VrrpState::Master;
    c.preempt = !inst.nopreempt;
    c.preempt_delay = inst.preempt_delay;
    c.unicast_peers = inst.unicast_peer.iter().map(|p| p.addr).collect();
    // vigil checks unicast sources whatever the config says (see README).
    c.check_unicast_src = true;
    c.mcast_group = Some(mcast_group);
    c.tracks = tracks(config, inst, group, notes);
    c.garp = Garp {
        master_delay: inst.garp_master_delay,
        master_repeat: inst.garp_master_repeat,
        master_refresh: (!inst.garp_master_refresh.is_zero()).then_some(inst.garp_master_refresh),
        master_refresh_repeat: inst.garp_master_refresh_repeat,
        lower_prio_repeat: inst
            .garp_lower_prio_repeat
            .unwrap_or(inst.garp_master_repeat),
    };
    c.down_timer_adverts = inst.down_timer_adverts;
    c.higher_prio_send_advert = inst.higher_prio_send_advert;
    c.lower_prio_no_advert = inst.lower_prio_no_advert;
    c.accept = inst.accept;
    Ok(c)
}

/// The VRRP version an instance speaks.
pub fn version(inst: &VrrpInstance) -> Version {
    match inst.version {
        3 => Version::V3,
        _ => Version::V2,
    }
}

/// What an instance sends and expects in the v2 authentication field. AH has
/// no form here: it travels in an IPsec header the core does not speak.
pub fn auth(inst: &VrrpInstance) -> Auth {
    match &inst.authentication {
        Some(a) if a.auth_type == AuthType::Pass && version(inst) == Version::V2 => {
            Auth::pass(a.auth_pass.as_bytes())
        }
        _ => Auth::None,
    }
}

/// The instance's trackers and its sync group's, with keepalived's rules:
/// the instance's own interface is tracked unless `dont_track_primary`, and a
/// sync-group member ignores script and file weights unless the group has
/// `sync_group_tracking_weight`.
fn tracks(
    config: &Config,
    inst: &VrrpInstance,
    group: Option<&SyncGroup>,
    notes: &mut Vec<String>,
) -> Vec<Track> {
    let mut out = Vec::new();
    let mut add = |t: Track| {
        if !out
            .iter()
            .any(|o: &Track| o.kind == t.kind && o.name == t.name)
        {
            out.push(t);
        }
    };
    if !inst.dont_track_primary
        && let Some(iface) = &inst.interface
    {
        add(Track {
            kind: TrackKind::Interface,
            name: iface.clone(),
            weight: 0,
            reverse: false,
        });
    }
    let group_interfaces = group
        .map(|g| g.track_interface.as_slice())
        .unwrap_or_default();
    for t in inst.track_interface.iter().chain(group_interfaces) {
        add(Track {
            kind: TrackKind::Interface,
            name: t.name.clone(),
            weight: t.weight,
            reverse: t.reverse,
        });
    }
    let weights_ignored = group.is_some_and(|g| !g.sync_group_tracking_weight);
    let group_scripts = group.map(|g| g.track_script.as_slice()).unwrap_or_default();
    for r in inst.track_script.iter().chain(group_scripts) {
        let Some(s) = config.vrrp_scripts.iter().find(|s| s.name == r.name) else {
            continue;
        };
        let mut weight = r.weight.unwrap_or(s.weight);
        if weights_ignored && weight != 0 {
            notes.push(format!(
                "({}) ignoring weight from track_script {} since in sync group (set sync_group_tracking_weight to use it)",
                inst.name, r.name
            ));
            weight = 0;
        }
        add(Track {
            kind: TrackKind::Script,
            name: r.name.clone(),
            weight,
            reverse: r.reverse.unwrap_or(s.weight_reverse),
        });
    }
    let group_files = group.map(|g| g.track_file.as_slice()).unwrap_or_default();
    for r in inst.track_file.iter().chain(group_files) {
        let Some(f) = config.track_files.iter().find(|f| f.name == r.name) else {
            continue;
        };
        let weight = if weights_ignored {
            0
        } else {
            r.weight.unwrap_or(f.weight)
        };
        add(Track {
            kind: TrackKind::File,
            name: r.name.clone(),
            weight,
            reverse: r.reverse.unwrap_or(f.reverse),
        });
    }
    for r in &inst.track_process {
        // The instance's `weight` overrides the tracker's own, as for files.
        let own = config.track_processes.iter().find(|p| p.name == r.name);
        add(Track {
            kind: TrackKind::Process,
            name: r.name.clone(),
            weight: r.weight.or(own.map(|p| p.weight)).unwrap_or(0),
            reverse: r.reverse.or(own.map(|p| p.reverse)).unwrap_or(false),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    struct TwoNics;

    impl Host for TwoNics {
        fn ipv4(&self, iface: &str) -> Option<Ipv4Addr> {
            match iface {
                "eth0" => Some(Ipv4Addr::new(10, 0, 0, 1)),
                "eth1" => Some(Ipv4Addr::new(10, 1, 0, 1)),
                _ => None,
            }
        }
        fn ipv6_link_local(&self, _iface: &str) -> Option<Ipv6Addr> {
            Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1))
        }
    }

    const GROUP: &str = "
vrrp_script chk { script \"/bin/true\"\n weight -20 }
vrrp_sync_group VG_1 { group {\n http\n mysql\n } }
vrrp_instance http {
 state MASTER
 interface eth0
 virtual_router_id 51
 priority 150
 advert_int 2
 authentication {
  auth_type PASS
  auth_pass s3cret
 }
 track_script {
  chk
 }
 virtual_ipaddress {
  10.0.0.100/24 dev eth0 label eth0:1
 }
}
vrrp_instance mysql {
 interface eth1
 virtual_router_id 52
 nopreempt
 virtual_ipaddress {
  10.1.0.100/24
 }
}
";

    #[test]
    fn instances_take_the_interface_address_and_keepalived_defaults() {
        let parsed = parse_str(GROUP);
        let r = resolve(&parsed.model, &TwoNics);
        assert_eq!(r.instances.len(), 2);
        let http = &r.instances[0];
        assert_eq!(http.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(http.version, Version::V2);
        assert_eq!(http.interval_cs, 200);
        assert_eq!(http.auth, Auth::pass(b"s3cret"));
        assert!(http.initial_master);
        assert_eq!(http.vips[0].label.as_deref(), Some("eth0:1"));
        let mysql = &r.instances[1];
        assert_eq!(mysql.src, IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)));
        assert!(!mysql.preempt);
        assert_eq!(mysql.priority, 100);
        assert_eq!(
            r.groups,
            vec![GroupConfig {
                name: "VG_1".into(),
                members: vec!["http".into(), "mysql".into()]
            }]
        );
    }

    #[test]
    fn sync_group_members_ignore_script_weights_as_keepalived_does() {
        let r = resolve(&parse_str(GROUP).model, &TwoNics);
        let chk = r.instances[0]
            .tracks
            .iter()
            .find(|t| t.name == "chk")
            .expect("tracked");
        assert_eq!(chk.weight, 0);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("ignoring weight from track_script chk")),
            "{:?}",
            r.notes
        );
        let own = &r.instances[0].tracks[0];
        assert_eq!(
            (own.kind, own.name.as_str(), own.weight),
            (TrackKind::Interface, "eth0", 0)
        );
    }

    #[test]
    fn an_interface_without_an_address_is_reported_not_run() {
        let text = "vrrp_instance x {\n interface eth9\n virtual_router_id 9\n virtual_ipaddress {\n 10.9.0.1\n }\n}\n";
        let r = resolve(&parse_str(text).model, &TwoNics);
        assert!(r.instances.is_empty());
        assert_eq!(
            r.notes,
            vec!["(x) not run: interface eth9 has no address to send from"]
        );
    }
}

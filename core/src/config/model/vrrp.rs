//! `vrrp_instance`.

use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;

use super::addr::{IpAddress, Route, Rule};
use super::{RawItem, Script, ser};
use crate::config::text::Pos;

/// The state an instance starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpState {
    Master,
    Backup,
}

/// IPv4 or IPv6, as keepalived derives it for an instance from its addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    Pass,
    Ah,
}

/// VRRPv2 authentication (keepalived ignores it for v3 and strict mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// At most 8 characters: keepalived truncates longer ones.
    pub auth_pass: String,
}

/// An entry of `track_interface`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackedInterface {
    pub name: String,
    /// 0: the instance goes to FAULT when the interface is down.
    pub weight: i32,
    pub reverse: bool,
}

/// An entry of `track_script`, `track_file` or `track_process`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackedRef {
    pub name: String,
    /// `None`: the tracked object's own weight applies.
    pub weight: Option<i32>,
    pub reverse: Option<bool>,
}

/// An entry of `unicast_peer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// `use_vmac [NAME] [MAC]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Vmac {
    pub interface: Option<String>,
    pub mac: Option<String>,
}

/// A `vrrp_instance` with keepalived 2.2.7's defaults and adjustments applied
/// (the ones `vrrp_complete_instance` makes; each adjustment of a written
/// value is also a diagnostic).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VrrpInstance {
    #[serde(skip)]
    pub at: Pos,
    pub name: String,
    /// Written `state`, else MASTER if the priority is 255, else BACKUP.
    pub state: VrrpState,
    pub interface: Option<String>,
    /// 1..=255; 0 only when it was missing or invalid (an error was reported).
    pub virtual_router_id: u8,
    /// Written `priority`, else 255 for `state MASTER`, else 100.
    pub priority: u8,
    /// The advert interval in centiseconds (default 100 = 1 s). keepalived
    /// rounds v2 intervals to whole seconds and v3 ones to 10 ms.
    pub advert_int_cs: u16,
    /// 2 or 3: written `version`, else 3 for IPv6, else global `vrrp_version`.
    pub version: u8,
    pub family: Family,
    pub nopreempt: bool,
    #[serde(serialize_with = "ser::secs")]
    pub preempt_delay: Duration,
    pub authentication: Option<Authentication>,
    pub virtual_ipaddress: Vec<IpAddress>,
    pub virtual_ipaddress_excluded: Vec<IpAddress>,
    pub virtual_routes: Vec<Route>,
    pub virtual_rules: Vec<Rule>,
    pub track_interface: Vec<TrackedInterface>,
    pub track_script: Vec<TrackedRef>,
    pub track_file: Vec<TrackedRef>,
    pub track_process: Vec<TrackedRef>,
    pub dont_track_primary: bool,
    pub mcast_src_ip: Option<IpAddr>,
    pub unicast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub unicast_peer: Vec<UnicastPeer>,
    pub unicast_ttl: Option<u8>,
    pub track_src_ip: bool,
    pub check_unicast_src: bool,
    pub unicast_fault_no_peer: bool,
    #[serde(serialize_with = "ser::secs")]
    pub garp_master_delay: Duration,
    pub garp_master_repeat: u32,
    #[serde(serialize_with = "ser::secs")]
    pub garp_master_refresh: Duration,
    pub garp_master_refresh_repeat: u32,
    #[serde(serialize_with = "ser::opt_secs")]
    pub garp_lower_prio_delay: Option<Duration>,
    pub garp_lower_prio_repeat: Option<u32>,
    pub down_timer_adverts: u32,
    /// `accept`/`no_accept`; default true unless strict mode (or priority 255).
    pub accept: bool,
    pub use_vmac: Option<Vmac>,
    pub use_vmac_addr: bool,
    pub vmac_xmit_base: bool,
    pub native_ipv6: bool,
    /// `strict_mode`, else global `vrrp_strict`.
    pub strict_mode: bool,
    pub skip_check_adv_addr: bool,
    pub promote_secondaries: bool,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub notify_master: Option<Script>,
    pub notify_backup: Option<Script>,
    pub notify_fault: Option<Script>,
    pub notify_stop: Option<Script>,
    pub notify_deleted: Option<Script>,
    pub notify_master_rx_lower_pri: Option<Script>,
    pub notify: Option<Script>,
    /// `smtp_alert`, else global `smtp_alert_vrrp`, else `smtp_alert`, else false.
    pub smtp_alert: bool,
    pub notify_priority_changes: Option<bool>,
    pub debug: u8,
    pub lvs_sync_daemon_interface: Option<String>,
    pub kernel_rx_buf_size: Option<u32>,
    /// The `vrrp_sync_group` this instance belongs to.
    pub sync_group: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<RawItem>,
}

impl VrrpInstance {
    /// An instance as `alloc_vrrp` creates it, before any keyword.
    pub fn new(name: &str) -> Self {
        VrrpInstance {
            at: Pos::default(),
            name: name.to_string(),
            state: VrrpState::Backup,
            interface: None,
            virtual_router_id: 0,
            priority: 100,
            advert_int_cs: 100,
            version: 2,
            family: Family::Inet,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            dont_track_primary: false,
            mcast_src_ip: None,
            unicast_src_ip: None,
            mcast_dst_ip: None,
            unicast_peer: Vec::new(),
            unicast_ttl: None,
            track_src_ip: false,
            check_unicast_src: false,
            unicast_fault_no_peer: false,
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: Duration::ZERO,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay: None,
            garp_lower_prio_repeat: None,
            down_timer_adverts: 3,
            accept: true,
            use_vmac: None,
            use_vmac_addr: false,
            vmac_xmit_base: false,
            native_ipv6: false,
            strict_mode: false,
            skip_check_adv_addr: false,
            promote_secondaries: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify_deleted: None,
            notify_master_rx_lower_pri: None,
            notify: None,
            smtp_alert: false,
            notify_priority_changes: None,
            debug: 0,
            lvs_sync_daemon_interface: None,
            kernel_rx_buf_size: None,
            sync_group: None,
            unmodelled: Vec::new(),
        }
    }

    /// The advert interval as a duration.
    pub fn advert_int(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_int_cs) * 10)
    }

    /// True when adverts go to unicast peers rather than the multicast group.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peer.is_empty()
    }

    /// The source address set in the config (`unicast_src_ip` or
    /// `mcast_src_ip`; keepalived keeps one, the last written).
    pub fn src_ip(&self) -> Option<IpAddr> {
        self.unicast_src_ip.or(self.mcast_src_ip)
    }
}

//! `global_defs`.

use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::{RawItem, ser};

/// The `global_defs` block, defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GlobalDefs {
    /// `None`: keepalived uses the host name.
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    /// Default 30 s.
    #[serde(serialize_with = "ser::secs")]
    pub smtp_connect_timeout: Duration,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    /// Default VRRP version for instances: 2.
    pub vrrp_version: u8,
    pub vrrp_strict: bool,
    pub script_user: Option<String>,
    pub script_group: Option<String>,
    pub enable_script_security: bool,
    /// Default 5 s.
    #[serde(serialize_with = "ser::secs")]
    pub vrrp_garp_master_delay: Duration,
    /// Default 5.
    pub vrrp_garp_master_repeat: u32,
    /// Default 0 (no refresh).
    #[serde(serialize_with = "ser::secs")]
    pub vrrp_garp_master_refresh: Duration,
    /// Default 1.
    pub vrrp_garp_master_refresh_repeat: u32,
    #[serde(serialize_with = "ser::opt_secs")]
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    #[serde(serialize_with = "ser::secs")]
    pub vrrp_garp_interval: Duration,
    #[serde(serialize_with = "ser::secs")]
    pub vrrp_gna_interval: Duration,
    /// Default 3.
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_notify_priority_changes: bool,
    /// Default 224.0.0.18.
    pub vrrp_mcast_group4: Ipv4Addr,
    /// Default ff02::12.
    pub vrrp_mcast_group6: Ipv6Addr,
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub default_interface: Option<String>,
    /// What VMAC names start with, `vrrp` unless set.
    pub vmac_prefix: Option<String>,
    pub dynamic_interfaces: bool,
    pub checker_log_all_failures: bool,
    pub lvs_flush: bool,
    /// `notify_fifo`: every state change, VRRP and checker alike.
    pub notify_fifo: Option<NotifyFifo>,
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// `vrrp_priority`, `vrrp_rt_priority`, … : how VRRP's thread runs.
    pub vrrp_process: Scheduling,
    /// The same for the health checkers' thread (`checker_*`).
    pub checker_process: Scheduling,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<RawItem>,
}

/// How the thread doing one kind of work is scheduled (keepalived sets
/// these on the process doing it): `*_priority`, `*_rt_priority`,
/// `*_rlimit_rttime`, `*_cpu_affinity` and `*_no_swap`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Scheduling {
    /// A nice value, -20 to 19; not applied with `rt_priority`.
    pub nice: Option<i8>,
    /// SCHED_RR at this priority, 1 to 99.
    pub rt_priority: Option<u8>,
    /// With `rt_priority`: µs of CPU without blocking before SIGXCPU (half)
    /// and SIGKILL (all); `None` is keepalived's 10,000.
    pub rlimit_rttime: Option<u32>,
    /// The CPUs it may run on; empty: any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpu_affinity: Vec<u16>,
    /// Lock the daemon's pages in memory as they are touched.
    pub no_swap: bool,
}

/// `notify_fifo PATH [USER [GROUP]]`: created if absent, owned by USER.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotifyFifo {
    pub path: String,
    pub user: Option<String>,
    pub group: Option<String>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            vrrp_version: 2,
            vrrp_strict: false,
            script_user: None,
            script_group: None,
            enable_script_security: false,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_notify_priority_changes: false,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            lvs_sync_daemon: None,
            default_interface: None,
            vmac_prefix: None,
            dynamic_interfaces: false,
            checker_log_all_failures: false,
            lvs_flush: false,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            vrrp_process: Scheduling::default(),
            checker_process: Scheduling::default(),
            unmodelled: Vec::new(),
        }
    }
}

/// `smtp_server ADDRESS|NAME [PORT]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    /// An IP address, or a host name keepalived resolves at start.
    pub host: String,
    pub ip: Option<IpAddr>,
    /// Default 25.
    pub port: u16,
}

/// `lvs_sync_daemon INTERFACE [VRRP_INSTANCE] [id N] [maxlen N] [port N]
/// [ttl N] [group ADDR]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LvsSyncDaemon {
    pub interface: String,
    pub instance: Option<String>,
    pub id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

//! `virtual_server`, `virtual_server_group` and `real_server`.

use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;

use super::check::Checker;
use super::{RawItem, Script, ser};
use crate::config::text::Pos;

/// IPVS schedulers keepalived 2.2.7 accepts for `lb_algo`/`lvs_sched`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Mh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Twos,
}

impl Scheduler {
    pub const ALL: [(&'static str, Scheduler); 14] = [
        ("rr", Scheduler::Rr),
        ("wrr", Scheduler::Wrr),
        ("lc", Scheduler::Lc),
        ("wlc", Scheduler::Wlc),
        ("lblc", Scheduler::Lblc),
        ("sh", Scheduler::Sh),
        ("mh", Scheduler::Mh),
        ("dh", Scheduler::Dh),
        ("fo", Scheduler::Fo),
        ("ovf", Scheduler::Ovf),
        ("lblcr", Scheduler::Lblcr),
        ("sed", Scheduler::Sed),
        ("nq", Scheduler::Nq),
        ("twos", Scheduler::Twos),
    ];

    pub fn from_name(s: &str) -> Option<Scheduler> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("wlc", |(n, _)| n)
    }
}

/// `lb_kind`/`lvs_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LvsMethod {
    Nat,
    Dr,
    Tun,
}

impl LvsMethod {
    pub fn from_name(s: &str) -> Option<LvsMethod> {
        match s {
            "NAT" => Some(LvsMethod::Nat),
            "DR" => Some(LvsMethod::Dr),
            "TUN" => Some(LvsMethod::Tun),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LvsMethod::Nat => "NAT",
            LvsMethod::Dr => "DR",
            LvsMethod::Tun => "TUN",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// What a `virtual_server` line names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VsKey {
    /// `virtual_server IP PORT` (port 0: persistent, any port).
    Addr { ip: IpAddr, port: u16 },
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

/// A `sorry_server IP PORT` with its options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SorryServer {
    pub ip: IpAddr,
    pub port: u16,
    pub inhibit: bool,
    pub lvs_method: Option<LvsMethod>,
}

/// A `virtual_server` block with keepalived's defaults resolved.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VirtualServer {
    #[serde(skip)]
    pub at: Pos,
    pub key: VsKey,
    pub ip_family: Option<String>,
    /// Default 60 s.
    #[serde(serialize_with = "ser::secs")]
    pub delay_loop: Duration,
    /// Default wlc (keepalived warns when it is not set).
    pub lb_algo: Scheduler,
    /// Default NAT (keepalived warns when it is not set).
    pub lb_kind: LvsMethod,
    /// `ops`, `hashed`, `flag-1`.., `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sched_flags: Vec<String>,
    /// Seconds; 0: not persistent.
    pub persistence_timeout: u32,
    pub persistence_granularity: Option<String>,
    pub persistence_engine: Option<String>,
    /// Default UDP for address services (keepalived warns), none for fwmarks.
    pub protocol: Option<Protocol>,
    /// Default 1.
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub sorry_server: Option<SorryServer>,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    pub omega: bool,
    pub ha_suspend: bool,
    pub virtualhost: Option<String>,
    /// Default 5 s; real servers and checkers inherit it.
    #[serde(serialize_with = "ser::secs")]
    pub connect_timeout: Duration,
    pub retry: Option<u32>,
    #[serde(serialize_with = "ser::opt_secs")]
    pub delay_before_retry: Option<Duration>,
    #[serde(serialize_with = "ser::opt_secs")]
    pub warmup: Option<Duration>,
    /// Default real server weight: 1.
    pub weight: u32,
    pub smtp_alert: bool,
    pub real_servers: Vec<RealServer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<RawItem>,
}

/// A `real_server IP PORT` block with inherited values resolved.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RealServer {
    #[serde(skip)]
    pub at: Pos,
    pub ip: IpAddr,
    pub port: u16,
    /// Written weight, else the virtual server's `weight` (default 1).
    pub weight: u32,
    pub lvs_method: LvsMethod,
    pub inhibit_on_failure: bool,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    pub alpha: bool,
    #[serde(serialize_with = "ser::secs")]
    pub connect_timeout: Duration,
    #[serde(serialize_with = "ser::secs")]
    pub delay_loop: Duration,
    pub retry: Option<u32>,
    #[serde(serialize_with = "ser::opt_secs")]
    pub delay_before_retry: Option<Duration>,
    #[serde(serialize_with = "ser::opt_secs")]
    pub warmup: Option<Duration>,
    /// Default true (unlike every other smtp_alert, for compatibility).
    pub smtp_alert: bool,
    pub virtualhost: Option<String>,
    pub checkers: Vec<Checker>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<RawItem>,
}

/// An entry of a `virtual_server_group`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VsgEntry {
    /// `IP[-END|/LEN] [PORT]`: a single address or a range.
    Addr {
        ip: IpAddr,
        /// Last address of a range, if one was given.
        end: Option<IpAddr>,
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark { mark: u32, family: Option<String> },
}

/// `virtual_server_group NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VirtualServerGroup {
    #[serde(skip)]
    pub at: Pos,
    pub name: String,
    pub entries: Vec<VsgEntry>,
}

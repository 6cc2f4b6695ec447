//! What drivers tell the VRRP core besides packets and timeouts ([`Command`]),
//! and what it asks of them besides transmits ([`Action`]).

use super::State;
use super::track::{TrackKind, TrackState};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An input that is neither a packet nor a timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A tracked object changed: a vrrp_script result, an interface's link, a
    /// track_file value. Instances that track it by `kind` and `name` react.
    Track {
        kind: TrackKind,
        name: String,
        state: TrackState,
    },
    /// Graceful stop: a Master sends priority 0 and releases its addresses.
    Shutdown,
}

/// A virtual address and how to install it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// The interface to put it on (`dev`), the instance's own by default.
    pub iface: String,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub scope: Option<String>,
}

/// Why an instance changed state: keepalived's SNMP master reasons, and the
/// causes it logs for the other transitions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// Entering Backup at start, or after a fault cleared.
    Startup,
    /// Priority 255: the owner takes its addresses at once.
    Owner,
    /// Master_Down_Timer expired: nothing heard from a Master.
    MasterDown,
    /// The Master resigned with a priority-0 advert; we waited only Skew_Time.
    MasterResigned,
    /// We ignored a lower-priority Master's adverts until our timer expired.
    Preempt,
    /// A Master heard a better advert (`priority`, or equal priority from a
    /// higher address) and yielded.
    HigherPriority { from: IpAddr, priority: u8 },
    /// A tracker with weight 0 failed, or the interface went down.
    Fault { tracker: String },
    /// Every fault cleared.
    FaultCleared,
    /// Another member of the sync group moved.
    SyncGroup { group: String, member: String },
    /// Graceful shutdown.
    Shutdown,
}

impl Reason {
    /// A short stable name without the details, for per-cause counters
    /// (`vigil_vrrp_transitions_total{cause=…}`).
    pub fn cause(&self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::Owner => "owner",
            Reason::MasterDown => "master_down",
            Reason::MasterResigned => "master_resigned",
            Reason::Preempt => "preempt",
            Reason::HigherPriority { .. } => "higher_priority",
            Reason::Fault { .. } => "fault",
            Reason::FaultCleared => "fault_cleared",
            Reason::SyncGroup { .. } => "sync_group",
            Reason::Shutdown => "shutdown",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::Owner => f.write_str("address owner (priority 255)"),
            Reason::MasterDown => f.write_str("master down timer expired"),
            Reason::MasterResigned => f.write_str("master sent priority 0"),
            Reason::Preempt => f.write_str("preempted lower-priority master"),
            Reason::HigherPriority { from, priority } => {
                write!(f, "higher priority {priority} from {from}")
            }
            Reason::Fault { tracker } => write!(f, "fault: {tracker}"),
            Reason::FaultCleared => f.write_str("fault cleared"),
            Reason::SyncGroup { group, member } => write!(f, "sync group {group} follows {member}"),
            Reason::Shutdown => f.write_str("shutdown"),
        }
    }
}

/// Something the driver must do for the core.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    AddVip {
        instance: String,
        vip: Vip,
    },
    DelVip {
        instance: String,
        vip: Vip,
    },
    /// Send `repeat` gratuitous ARPs for `addr` on `iface`.
    Garp {
        iface: String,
        addr: Ipv4Addr,
        repeat: u32,
    },
    /// Send `repeat` unsolicited neighbour advertisements for `addr` on `iface`.
    UnsolicitedNa {
        iface: String,
        addr: Ipv6Addr,
        repeat: u32,
    },
    /// Accept mode off: drop (`block`) or again accept traffic to these
    /// addresses while the instance is Master.
    NoAccept {
        instance: String,
        addrs: Vec<IpAddr>,
        block: bool,
    },
    /// An instance changed state: run its notify scripts, log, count.
    Notify {
        instance: String,
        from: State,
        to: State,
        reason: Reason,
    },
    /// A sync group changed state: run the group's notify scripts.
    GroupNotify {
        group: String,
        from: State,
        to: State,
    },
}

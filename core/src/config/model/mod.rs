//! The typed model of a keepalived.conf, with keepalived 2.2.7's defaults
//! applied. Everything is plain data with `Serialize`, so `vigil check --json`
//! and snapshots can print it.
//!
//! Durations serialise as seconds (a float); the VRRP advert interval is kept
//! in centiseconds, the unit of VRRPv3's Max Adver Int.

pub mod addr;
pub mod check;
pub mod global;
pub mod lvs;
pub mod track;
pub mod vrrp;

use serde::{Deserialize, Serialize};

pub use addr::{IpAddress, IpPrefix, Nexthop, Route, Rule};
pub use check::{Checker, CheckerKind};
pub use global::GlobalDefs;
pub use lvs::{RealServer, VirtualServer, VirtualServerGroup};
pub use track::{SyncGroup, TrackFile, TrackProcess, VrrpScript};
pub use vrrp::VrrpInstance;

/// A whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Config {
    pub global: GlobalDefs,
    pub static_ipaddress: Vec<IpAddress>,
    pub static_routes: Vec<Route>,
    pub static_rules: Vec<Rule>,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    pub sync_groups: Vec<SyncGroup>,
    pub instances: Vec<VrrpInstance>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    /// Valid keepalived keywords vigil does not model (yet), kept verbatim.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<RawItem>,
}

impl Config {
    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }

    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }
}

/// A statement kept as words, with its block if it had one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RawItem {
    pub words: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<Vec<RawItem>>,
}

/// A command keepalived runs (notify, vrrp_script, MISC_CHECK): split into
/// words as keepalived splits it — no shell is involved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    /// The command as written in the config (one word, quotes removed).
    pub command: String,
    /// `command` split into the program and its arguments.
    pub args: Vec<String>,
    /// `user [group]` written after the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Serde helpers: durations as seconds.
pub(crate) mod ser {
    use serde::Serializer;
    use std::time::Duration;

    pub fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}

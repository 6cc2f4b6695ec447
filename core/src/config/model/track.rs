//! Tracked objects: `vrrp_script`, `track_file`, `vrrp_track_process`, and
//! `vrrp_sync_group`.

use serde::Serialize;
use std::time::Duration;

use super::vrrp::{TrackedInterface, TrackedRef};
use super::{RawItem, Script, ser};
use crate::config::text::Pos;

/// `vrrp_script NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VrrpScript {
    #[serde(skip)]
    pub at: Pos,
    pub name: String,
    /// `None` when missing: keepalived removes the script (an error).
    pub script: Option<Script>,
    /// Default 1 s.
    #[serde(serialize_with = "ser::secs")]
    pub interval: Duration,
    /// Default 0: keepalived then uses the interval.
    #[serde(serialize_with = "ser::secs")]
    pub timeout: Duration,
    /// Default 0: failure means FAULT.
    pub weight: i32,
    pub weight_reverse: bool,
    /// Default 1.
    pub rise: u32,
    /// Default 1.
    pub fall: u32,
    pub init_fail: bool,
    pub user: Option<String>,
    pub group: Option<String>,
}

impl VrrpScript {
    pub fn new(name: &str) -> Self {
        VrrpScript {
            at: Pos::default(),
            name: name.to_string(),
            script: None,
            interval: Duration::from_secs(1),
            timeout: Duration::ZERO,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
            user: None,
            group: None,
        }
    }
}

/// `track_file NAME { file PATH  weight N [reverse]  init_file [V] [overwrite] }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackFile {
    #[serde(skip)]
    pub at: Pos,
    pub name: String,
    pub file: Option<String>,
    /// Default 1.
    pub weight: i32,
    pub reverse: bool,
    pub init_file: Option<InitFile>,
}

/// `init_file [VALUE] [overwrite]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InitFile {
    pub value: i32,
    pub overwrite: bool,
}

/// `vrrp_track_process NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackProcess {
    #[serde(skip)]
    pub at: Pos,
    pub name: String,
    pub process: Option<String>,
    pub params: Vec<String>,
    pub param_match: Option<String>,
    pub weight: i32,
    pub reverse: bool,
    /// Default 1.
    pub quorum: u32,
    /// Default 65535.
    pub quorum_max: u32,
    #[serde(serialize_with = "ser::opt_secs")]
    pub terminate_delay: Option<Duration>,
    #[serde(serialize_with = "ser::opt_secs")]
    pub fork_delay: Option<Duration>,
    pub full_command: bool,
}

impl TrackProcess {
    pub fn new(name: &str) -> Self {
        TrackProcess {
            at: Pos::default(),
            name: name.to_string(),
            process: None,
            params: Vec::new(),
            param_match: None,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: 65535,
            terminate_delay: None,
            fork_delay: None,
            full_command: false,
        }
    }
}

/// `vrrp_sync_group NAME { group { ... } ... }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyncGroup {
    #[serde(skip)]
    pub at: Pos,
    pub name: String,
    /// Instance names.
    pub group: Vec<String>,
    pub track_interface: Vec<TrackedInterface>,
    pub track_script: Vec<TrackedRef>,
    pub track_file: Vec<TrackedRef>,
    pub track_process: Vec<TrackedRef>,
    pub notify_master: Option<Script>,
    pub notify_backup: Option<Script>,
    pub notify_fault: Option<Script>,
    pub notify_stop: Option<Script>,
    pub notify: Option<Script>,
    pub smtp_alert: Option<bool>,
    pub global_tracking: bool,
    pub sync_group_tracking_weight: bool,
    pub notify_priority_changes: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<RawItem>,
}

impl SyncGroup {
    pub fn new(name: &str) -> Self {
        SyncGroup {
            at: Pos::default(),
            name: name.to_string(),
            group: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            smtp_alert: None,
            global_tracking: false,
            sync_group_tracking_weight: false,
            notify_priority_changes: None,
            unmodelled: Vec::new(),
        }
    }
}

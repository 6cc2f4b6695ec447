//! One virtual router's state machine (RFC 5798 §6.4, as keepalived 2.2.7
//! runs it).
//!
//! Sans-IO in the shape of quinn-proto: feed [`Instance::handle_packet`],
//! [`Instance::handle_timeout`] and [`Instance::handle_command`] with the
//! current [`Instant`], then drain [`Instance::poll_transmit`],
//! [`Instance::poll_action`] and read [`Instance::poll_timeout`].
//!
//! Where keepalived and the RFC differ, this follows keepalived and says so:
//! a Master answers a lower-priority advert with one of its own at once
//! (RFC 9568; RFC 5798 only discards), `state MASTER` waits one advert
//! interval before taking over, a priority-0 advert makes a Backup wait only
//! Skew_Time. One deliberate difference: a Master reschedules its next advert
//! only when it sent one, never because it received a packet, so a flood of
//! invalid packets cannot hold its adverts back (keepalived 2.2.7 resets the
//! timer on every packet read).

use super::event::{Action, Command, Reason, Vip};
use super::packet::{self, Advert, Auth, Decoded, Version};
use super::track::{Effect, Track, TrackKind, TrackState};
use super::validate::{self, Expected, UnicastPeer};
use super::{Received, State, Transmit};
use crate::Instant;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

/// The priority of the address owner, which takes over at once.
pub const PRIO_OWNER: u8 = 255;
/// The priority a Master sends when it resigns.
pub const PRIO_STOP: u8 = 0;

const MICROS_PER_CS: u64 = 10_000;
const MICROS_PER_SEC: u64 = 1_000_000;

/// Gratuitous ARP / unsolicited NA behaviour of a new Master.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Garp {
    /// A second round this long after becoming Master (0: none).
    pub master_delay: Duration,
    /// Announcements per address in each round.
    pub master_repeat: u32,
    /// While Master, another round at the first advert after this much time.
    pub master_refresh: Option<Duration>,
    pub master_refresh_repeat: u32,
    /// A Master that hears a lower priority re-announces this many times.
    pub lower_prio_repeat: u32,
}

impl Default for Garp {
    /// keepalived 2.2.7's defaults: 5 announcements now and 5 more after 5 s,
    /// and 5 when a lower priority is heard (all observed on the wire).
    fn default() -> Self {
        Garp {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_repeat: 5,
        }
    }
}

/// Everything an instance needs to run, resolved by the caller from the
/// configuration and the host (e.g. `src` is unicast_src_ip or the interface's
/// primary address).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceConfig {
    pub name: String,
    pub iface: String,
    pub version: Version,
    pub vrid: u8,
    /// Base priority, 1..=255.
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2: a multiple of 100).
    pub interval_cs: u16,
    pub auth: Auth,
    /// Our primary address: the source of our adverts and the tie-breaker.
    pub src: IpAddr,
    /// Advertised and installed while Master.
    pub vips: Vec<Vip>,
    /// `virtual_ipaddress_excluded`: installed while Master, not advertised.
    pub excluded_vips: Vec<Vip>,
    /// Configured `state MASTER`.
    pub initial_master: bool,
    /// False with `nopreempt`.
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// Unicast mode when not empty.
    pub unicast_peers: Vec<IpAddr>,
    /// Accept unicast adverts only from `unicast_peers`. keepalived accepts any
    /// source unless `check_unicast_src` is set; vigil checks by default.
    pub check_unicast_src: bool,
    /// Multicast group; the RFC's (224.0.0.18 / ff02::12) when `None`.
    pub mcast_group: Option<IpAddr>,
    pub tracks: Vec<Track>,
    pub garp: Garp,
    /// Adverts missed before the Master is declared down (RFC: 3).
    pub down_timer_adverts: u32,
    /// A Master sends an advert before yielding to a better one.
    pub higher_prio_send_advert: bool,
    /// A Master does not answer a lower-priority advert.
    pub lower_prio_no_advert: bool,
    /// Accept mode (RFC 5798 §6.1): a non-owner Master takes packets for its
    /// virtual addresses. Without it (`no_accept`, keepalived's default in
    /// strict mode) the driver drops them while the instance is Master.
    pub accept: bool,
}

impl InstanceConfig {
    /// A configuration with keepalived's defaults for everything not given.
    pub fn new(
        name: &str,
        iface: &str,
        version: Version,
        vrid: u8,
        priority: u8,
        src: IpAddr,
    ) -> Self {
        InstanceConfig {
            name: name.to_string(),
            iface: iface.to_string(),
            version,
            vrid,
            priority,
            interval_cs: 100,
            auth: Auth::None,
            src,
            vips: Vec::new(),
            excluded_vips: Vec::new(),
            initial_master: false,
            preempt: true,
            preempt_delay: Duration::ZERO,
            unicast_peers: Vec::new(),
            check_unicast_src: true,
            mcast_group: None,
            tracks: Vec::new(),
            garp: Garp::default(),
            down_timer_adverts: 3,
            higher_prio_send_advert: false,
            lower_prio_no_advert: false,
            accept: true,
        }
    }

    fn is_owner(&self) -> bool {
        self.priority == PRIO_OWNER
    }
}

/// Counters an operator reads in `vigil status`, the stats dump and the
/// metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    pub became_master: u64,
    pub released_master: u64,
    /// State changes by the state entered and [`Reason::cause`].
    pub transitions: BTreeMap<(State, &'static str), u64>,
    /// Packets dropped, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
    /// Packets accepted with a complaint keepalived only logs, by reason.
    pub warnings: BTreeMap<&'static str, u64>,
}

/// What a sync-group member reports to its group (see [`super::group`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyncEvent {
    /// Our Master_Down_Timer expired but the group holds us in Backup.
    WantMaster,
    BecameMaster,
    /// We yielded to a better Master.
    LeftMaster,
    /// Our own trackers put us in, or out of, Fault.
    FaultChanged,
}

/// One VRRP instance.
#[derive(Debug)]
pub struct Instance {
    cfg: InstanceConfig,
    /// Advertised addresses, computed once for adverts and validation.
    advertised: Vec<IpAddr>,
    peers: Vec<UnicastPeer>,
    state: State,
    /// keepalived's `wantstate == MASTER`: set by `state MASTER` and by a
    /// Master_Down_Timer expiry, cleared by hearing a Master we accept.
    want_master: bool,
    base_priority: u8,
    effective_priority: u8,
    track_states: BTreeMap<(TrackKind, String), TrackState>,
    own_fault: Option<String>,
    pending: bool,
    /// Fault imposed by the sync group.
    group_fault: bool,
    in_group: bool,
    master_adver_int_us: u64,
    ms_down_timer_us: u64,
    /// The instance timer: next advert (Master) or Master_Down_Timer (Backup).
    sands: Option<Instant>,
    garp_at: Option<Instant>,
    garp_refresh_at: Option<Instant>,
    preempt_time: Option<Instant>,
    next_master_reason: Reason,
    master: Option<(IpAddr, u8)>,
    vips_set: bool,
    ip_ident: u16,
    last_transition: Option<(Instant, Reason)>,
    stats: Stats,
    transmits: VecDeque<Transmit>,
    actions: VecDeque<Action>,
    sync_events: VecDeque<SyncEvent>,
}

impl Instance {
    /// Starts an instance at `now`, as keepalived's `vrrp_init_state` does.
    pub fn new(cfg: InstanceConfig, now: Instant) -> Self {
        let mut inst = Self::idle(cfg);
        inst.start(now);
        inst
    }

    /// An instance in Init that has not started: the sync group needs its
    /// members built before any of them moves.
    pub(crate) fn idle(mut cfg: InstanceConfig) -> Self {
        // Values the config layer rejects are clamped, not trusted: a zero
        // interval would spin, a zero priority would resign with every advert.
        cfg.priority = cfg.priority.max(1);
        cfg.interval_cs = match cfg.version {
            Version::V2 => cfg.interval_cs.clamp(100, 25_500) / 100 * 100,
            Version::V3 => cfg.interval_cs.clamp(1, packet::MAX_V3_INTERVAL_CS),
        };
        cfg.down_timer_adverts = cfg.down_timer_adverts.max(1);
        let family_v4 = cfg.src.is_ipv4();
        let advertised = cfg
            .vips
            .iter()
            .map(|v| v.addr)
            .filter(|a| a.is_ipv4() == family_v4)
            .collect();
        let interval_us = u64::from(cfg.interval_cs) * MICROS_PER_CS;
        Instance {
            advertised,
            peers: cfg
                .unicast_peers
                .iter()
                .copied()
                .map(UnicastPeer::new)
                .collect(),
            state: State::Init,
            want_master: cfg.initial_master,
            base_priority: cfg.priority,
            effective_priority: cfg.priority,
            track_states: BTreeMap::new(),
            own_fault: None,
            pending: false,
            group_fault: false,
            in_group: false,
            master_adver_int_us: interval_us,
            ms_down_timer_us: 0,
            sands: None,
            garp_at: None,
            garp_refresh_at: None,
            preempt_time: None,
            next_master_reason: Reason::MasterDown,
            master: None,
            vips_set: false,
            ip_ident: 0,
            last_transition: None,
            stats: Stats::default(),
            transmits: VecDeque::new(),
            actions: VecDeque::new(),
            sync_events: VecDeque::new(),
            cfg,
        }
    }

    /// Reads the trackers without acting, so a sync group can see every
    /// member's faults before any member starts.
    pub(crate) fn prime(&mut self, now: Instant) {
        self.refresh_tracking(now, false);
    }

    pub(crate) fn start(&mut self, now: Instant) {
        self.refresh_tracking(now, false);
        if self.pending {
            return;
        }
        if self.own_fault.is_some() || self.group_fault {
            let tracker = self.fault_name();
            self.transition(now, State::Fault, Reason::Fault { tracker });
            return;
        }
        self.come_up(now, Reason::Startup);
    }

    /// Takes over from the same instance before a reload: its state, what
    /// its trackers said, its counters. A Master stays Master and advertises
    /// at once (keepalived's `reload_master`); addresses change only where
    /// the configuration did.
    pub(crate) fn resume(&mut self, now: Instant, old: &Instance) {
        self.state = old.state;
        self.track_states = old.track_states.clone();
        self.ip_ident = old.ip_ident;
        self.stats = old.stats.clone();
        self.last_transition = old.last_transition.clone();
        self.master = old.master;
        self.refresh_tracking(now, false);
        match self.state {
            State::Master if self.own_fault.is_none() && !self.group_fault => {
                let before: Vec<&Vip> = old.cfg.vips.iter().chain(&old.cfg.excluded_vips).collect();
                let after: Vec<&Vip> = self
                    .cfg
                    .vips
                    .iter()
                    .chain(&self.cfg.excluded_vips)
                    .collect();
                let name = &self.cfg.name;
                for vip in before.iter().filter(|v| !after.contains(v)) {
                    self.actions.push_back(Action::DelVip {
                        instance: name.clone(),
                        vip: (*vip).clone(),
                    });
                }
                for vip in after.iter().filter(|v| !before.contains(v)) {
                    self.actions.push_back(Action::AddVip {
                        instance: name.clone(),
                        vip: (*vip).clone(),
                    });
                }
                self.vips_set = true;
                self.master_adver_int_us = self.adver_int_us();
                self.advertise(now);
            }
            State::Backup if self.own_fault.is_none() && !self.group_fault => {
                self.master_adver_int_us = old.master_adver_int_us;
                self.ms_down_timer_us = self.ms_down_us();
                self.arm(now, self.ms_down_timer_us);
            }
            State::Master => {
                // Faulted by what it tracks now: resign as on any fault.
                self.vips_set = old.vips_set;
                self.enter_fault(now);
            }
            _ => self.refresh_tracking(now, true),
        }
    }

    // ----- accessors -------------------------------------------------------

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    pub fn base_priority(&self) -> u8 {
        self.base_priority
    }

    /// The Master we last accepted an advert from, with its priority.
    pub fn master(&self) -> Option<(IpAddr, u8)> {
        self.master
    }

    pub fn last_transition(&self) -> Option<&(Instant, Reason)> {
        self.last_transition.as_ref()
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The latest news of each tracked object (absent: not reported yet).
    pub fn track_states(&self) -> &BTreeMap<(TrackKind, String), TrackState> {
        &self.track_states
    }

    /// Master_Down_Interval in force, in microseconds.
    pub fn master_down_interval_us(&self) -> u64 {
        self.ms_down_timer_us
    }

    // ----- inputs ----------------------------------------------------------

    /// A datagram arrived on the instance's interface. Returns the reason
    /// it was dropped, if it was, for the driver's log.
    pub fn handle_packet(&mut self, now: Instant, rx: &Received) -> Result<(), &'static str> {
        match decode(rx) {
            Ok(decoded) => self.handle_advert(now, &decoded),
            Err(err) => {
                self.count_drop(err.reason());
                Err(err.reason())
            }
        }
    }

    /// An advert already decoded (the router decodes once for all
    /// instances). Returns the reason it was dropped, if it was.
    pub fn handle_advert(&mut self, now: Instant, d: &Decoded) -> Result<(), &'static str> {
        self.stats.adverts_received += 1;
        if matches!(self.state, State::Init | State::Fault | State::Stopped) {
            // keepalived ignores adverts while in Fault or not yet initialised.
            return Ok(());
        }
        if let Err(reason) = self.check(d) {
            self.count_drop(reason);
            return Err(reason);
        }
        if d.advert.priority == PRIO_STOP {
            self.stats.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => self.backup_rx(now, d),
            State::Master => self.master_rx(now, d),
            State::Init | State::Fault | State::Stopped => {}
        }
        Ok(())
    }

    /// Timers that are due at `now` fire.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.garp_at.is_some_and(|t| t <= now) {
            self.garp_at = None;
            self.announce(self.cfg.garp.master_repeat);
        }
        if self.sands.is_none_or(|t| t > now) {
            return;
        }
        match self.state {
            State::Master => self.master_tx(now),
            State::Backup | State::Init => self.down_timer_expired(now),
            State::Fault | State::Stopped => self.sands = None,
        }
    }

    pub fn handle_command(&mut self, now: Instant, cmd: &Command) {
        match cmd {
            Command::Track { kind, name, state } => self.track(now, *kind, name, *state),
            Command::Shutdown => self.shutdown(now),
        }
    }

    // ----- outputs ---------------------------------------------------------

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Instance::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.sands, self.garp_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn poll_sync(&mut self) -> Option<SyncEvent> {
        self.sync_events.pop_front()
    }

    // ----- timers (keepalived's units: microseconds) -------------------------

    fn adver_int_us(&self) -> u64 {
        u64::from(self.cfg.interval_cs) * MICROS_PER_CS
    }

    /// Skew_Time for a priority gap: v2 (256 − p)/256 s whatever the
    /// interval; v3 scaled by the Master's interval, in microseconds as
    /// keepalived computes it (not truncated to centiseconds).
    fn skew_us(&self, gap: u64) -> u64 {
        match self.cfg.version {
            Version::V2 => gap * MICROS_PER_SEC / 256,
            Version::V3 => gap * (self.master_adver_int_us / MICROS_PER_CS) * 625 / 16,
        }
    }

    fn skew_time_us(&self) -> u64 {
        self.skew_us(256 - u64::from(self.effective_priority))
    }

    /// Master_Down_Interval = down_timer_adverts × Master_Adver_Interval + Skew_Time.
    fn ms_down_us(&self) -> u64 {
        u64::from(self.cfg.down_timer_adverts) * self.master_adver_int_us + self.skew_time_us()
    }

    fn arm(&mut self, now: Instant, us: u64) {
        self.sands = Some(now + Duration::from_micros(us));
    }

    // ----- receive ---------------------------------------------------------

    /// Drops what this instance must not act on; counts what keepalived only logs.
    fn check(&mut self, d: &Decoded) -> Result<(), &'static str> {
        if d.src == self.cfg.src {
            // Our own advert looped back, or a forgery of it.
            return Err("own_address");
        }
        let expected = Expected {
            unicast_peers: &self.peers,
            check_unicast_src: self.cfg.check_unicast_src,
            ..Expected::new(
                self.cfg.version,
                self.cfg.vrid,
                &self.cfg.auth,
                self.cfg.interval_cs,
                &self.advertised,
            )
        };
        let warnings = validate::check(d, &expected).map_err(|e| e.reason())?;
        for w in warnings {
            *self.stats.warnings.entry(w.reason()).or_default() += 1;
        }
        Ok(())
    }

    fn count_drop(&mut self, reason: &'static str) {
        *self.stats.dropped.entry(reason).or_default() += 1;
    }

    /// RFC 5798 §6.4.2 (Backup), with keepalived's preempt_delay.
    fn backup_rx(&mut self, now: Instant, d: &Decoded) {
        let prio = d.advert.priority;
        if prio == PRIO_STOP {
            // §6.4.2: the Master resigned; wait only Skew_Time.
            self.ms_down_timer_us = self.skew_time_us();
            self.next_master_reason = Reason::MasterResigned;
            self.arm(now, self.ms_down_timer_us);
            return;
        }
        let delaying =
            !self.cfg.preempt_delay.is_zero() && self.preempt_time.is_none_or(|t| t > now);
        if !self.cfg.preempt || prio >= self.effective_priority || delaying {
            if self.cfg.version == Version::V3 {
                // §6.4.2: a v3 Backup adopts the Master's interval.
                self.master_adver_int_us = u64::from(d.advert.interval_cs) * MICROS_PER_CS;
            }
            self.ms_down_timer_us = self.ms_down_us();
            self.master = Some((d.src, prio));
            self.next_master_reason = Reason::MasterDown;
            if !self.cfg.preempt_delay.is_zero() {
                if prio >= self.effective_priority {
                    self.preempt_time = None;
                } else if self.preempt_time.is_none() {
                    self.preempt_time = Some(now + self.cfg.preempt_delay);
                }
            }
            self.want_master = false;
            self.arm(now, self.ms_down_timer_us);
        } else {
            // A lower priority while we may preempt: discard without resetting
            // the timer, so preemption happens when it expires.
            self.next_master_reason = Reason::Preempt;
            self.master = Some((d.src, prio));
        }
    }

    /// RFC 5798 §6.4.3 (Master), with keepalived's immediate answers.
    fn master_rx(&mut self, now: Instant, d: &Decoded) {
        let prio = d.advert.priority;
        if prio == PRIO_STOP {
            // Another router resigned: assert ourselves at once.
            self.advertise(now);
            return;
        }
        if prio == self.effective_priority && self.effective_priority == PRIO_OWNER {
            // Two owners: keepalived reports a configuration error and steps down to 254.
            self.base_priority = PRIO_OWNER - 1;
            self.effective_priority = PRIO_OWNER - 1;
        }
        let theirs_wins = prio > self.effective_priority
            || (prio == self.effective_priority && d.src > self.cfg.src);
        if !theirs_wins {
            // keepalived "forcing new election": answer at once and re-announce.
            if !self.cfg.lower_prio_no_advert {
                self.advertise(now);
            }
            self.announce(self.cfg.garp.lower_prio_repeat);
            return;
        }
        if self.cfg.higher_prio_send_advert {
            self.send_advert(now, self.effective_priority);
        }
        if self.cfg.version == Version::V3 {
            self.master_adver_int_us = u64::from(d.advert.interval_cs) * MICROS_PER_CS;
        }
        self.master = Some((d.src, prio));
        self.want_master = false;
        self.leave_master(
            now,
            State::Backup,
            Reason::HigherPriority {
                from: d.src,
                priority: prio,
            },
        );
        if self.in_group {
            self.sync_events.push_back(SyncEvent::LeftMaster);
        }
    }

    // ----- transitions -----------------------------------------------------

    fn down_timer_expired(&mut self, now: Instant) {
        self.want_master = true;
        if self.in_group {
            if self.state == State::Init {
                // An owner's 1 µs start timer: wait in Backup for the group.
                self.transition(now, State::Backup, Reason::Startup);
            }
            // The group decides; keep counting in the meantime as keepalived does.
            self.ms_down_timer_us = self.ms_down_us();
            self.arm(now, self.ms_down_timer_us);
            self.sync_events.push_back(SyncEvent::WantMaster);
            return;
        }
        let reason = self.next_master_reason.clone();
        self.become_master(now, reason);
    }

    /// Send an advert first (so the old Master drops the addresses before our
    /// gratuitous ARPs), then take the addresses.
    pub(crate) fn become_master(&mut self, now: Instant, reason: Reason) {
        if matches!(self.state, State::Master | State::Fault | State::Stopped) {
            return;
        }
        self.master_adver_int_us = self.adver_int_us();
        self.transition(now, State::Master, reason);
        self.advertise(now);
        self.stats.became_master += 1;
        self.master = None;
        let vips = self.cfg.vips.iter().chain(&self.cfg.excluded_vips);
        for vip in vips.cloned().collect::<Vec<_>>() {
            self.actions.push_back(Action::AddVip {
                instance: self.cfg.name.clone(),
                vip,
            });
        }
        self.vips_set = true;
        self.set_blocked(true);
        self.announce(self.cfg.garp.master_repeat);
        if !self.cfg.garp.master_delay.is_zero() {
            self.garp_at = Some(now + self.cfg.garp.master_delay);
        }
        self.garp_refresh_at = self.cfg.garp.master_refresh.map(|d| now + d);
        if self.in_group {
            self.sync_events.push_back(SyncEvent::BecameMaster);
        }
    }

    /// RFC 5798 §6.4.3: the periodic advert, and keepalived's GARP refresh.
    fn master_tx(&mut self, now: Instant) {
        // The next advert keeps to the timer, not to the driver's wake-up:
        // a driver that wakes late (tokio rounds timers up to the
        // millisecond) would otherwise stretch every interval by it.
        let due = self.sands.filter(|d| *d <= now).unwrap_or(now);
        self.advertise(now);
        let next = due + Duration::from_micros(self.adver_int_us());
        if next > now {
            self.sands = Some(next);
        }
        if self.garp_refresh_at.is_some_and(|t| now > t) {
            self.announce(self.cfg.garp.master_refresh_repeat);
            self.garp_refresh_at = self.cfg.garp.master_refresh.map(|d| now + d);
        }
    }

    pub(crate) fn leave_master(&mut self, now: Instant, to: State, reason: Reason) {
        if to == State::Fault {
            // §6.4.3 / keepalived: tell the Backups to take over now.
            self.send_advert(now, PRIO_STOP);
        }
        // keepalived logs the new state, then removes the addresses.
        self.transition(now, to, reason);
        self.release(now);
        self.stats.released_master += 1;
        if to == State::Backup {
            self.preempt_time = None;
            self.ms_down_timer_us = self.ms_down_us();
            self.arm(now, self.ms_down_timer_us);
        }
    }

    /// Removes the addresses and forgets pending announcements.
    fn release(&mut self, _now: Instant) {
        self.set_blocked(false);
        if self.vips_set {
            let vips = self.cfg.vips.iter().chain(&self.cfg.excluded_vips);
            for vip in vips.cloned().collect::<Vec<_>>() {
                self.actions.push_back(Action::DelVip {
                    instance: self.cfg.name.clone(),
                    vip,
                });
            }
            self.vips_set = false;
        }
        self.garp_at = None;
        self.garp_refresh_at = None;
    }

    /// Without accept mode a non-owner Master has the driver drop traffic to
    /// its addresses (keepalived's firewall rules), and lifts it on leaving.
    fn set_blocked(&mut self, block: bool) {
        if self.cfg.accept || self.cfg.is_owner() || (!block && !self.vips_set) {
            return;
        }
        let addrs = self
            .cfg
            .vips
            .iter()
            .chain(&self.cfg.excluded_vips)
            .map(|v| v.addr)
            .collect();
        self.actions.push_back(Action::NoAccept {
            instance: self.cfg.name.clone(),
            addrs,
            block,
        });
    }

    /// Init or Fault → Backup (or Master at once for a `state MASTER` owner).
    fn come_up(&mut self, now: Instant, reason: Reason) {
        self.master_adver_int_us = self.adver_int_us();
        if self.want_master && self.cfg.is_owner() {
            // keepalived: leave Backup after 1 µs, i.e. at once.
            self.next_master_reason = Reason::Owner;
            if self.state == State::Fault {
                self.transition(now, State::Backup, reason);
            }
            self.ms_down_timer_us = 1;
        } else {
            // `state MASTER` below 255 waits exactly like BACKUP (observed
            // with keepalived 2.2.7: 3 × interval + Skew_Time).
            self.transition(now, State::Backup, reason);
            self.preempt_time = None;
            self.next_master_reason = Reason::MasterDown;
            self.ms_down_timer_us = self.ms_down_us();
        }
        self.arm(now, self.ms_down_timer_us);
    }

    fn enter_fault(&mut self, now: Instant) {
        let reason = Reason::Fault {
            tracker: self.fault_name(),
        };
        self.want_master = false;
        match self.state {
            State::Master => self.leave_master(now, State::Fault, reason),
            State::Fault | State::Stopped => {}
            State::Init | State::Backup => {
                self.transition(now, State::Fault, reason);
            }
        }
        self.sands = None;
    }

    fn fault_name(&self) -> String {
        match (&self.own_fault, self.group_fault) {
            (Some(t), _) => t.clone(),
            (None, true) => "sync group".to_string(),
            (None, false) => String::new(),
        }
    }

    /// Records a state change and tells the driver.
    fn transition(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        *self
            .stats
            .transitions
            .entry((to, reason.cause()))
            .or_default() += 1;
        self.last_transition = Some((now, reason.clone()));
        self.actions.push_back(Action::Notify {
            instance: self.cfg.name.clone(),
            from,
            to,
            reason,
        });
    }

    fn shutdown(&mut self, now: Instant) {
        if self.state == State::Master {
            self.send_advert(now, PRIO_STOP);
            self.release(now);
        }
        self.transition(now, State::Stopped, Reason::Shutdown);
        self.sands = None;
        self.garp_at = None;
    }

    // ----- tracking ----------------------------------------------------------

    fn track(&mut self, now: Instant, kind: TrackKind, name: &str, state: TrackState) {
        if !self
            .cfg
            .tracks
            .iter()
            .any(|t| t.kind == kind && t.name == name)
        {
            return;
        }
        self.track_states.insert((kind, name.to_string()), state);
        self.refresh_tracking(now, true);
    }

    /// Recomputes priority, fault and pending from the trackers, and moves
    /// the instance if `act` (not while it is being built).
    fn refresh_tracking(&mut self, now: Instant, act: bool) {
        let mut total = i32::from(self.base_priority);
        let mut fault = None;
        let mut pending = false;
        for t in &self.cfg.tracks {
            let state = self.track_states.get(&(t.kind, t.name.clone())).copied();
            match t.effect(state) {
                Effect::Priority(p) => total += p,
                Effect::Fault => fault = fault.or_else(|| Some(t.name.clone())),
                Effect::Pending => pending = true,
            }
        }
        self.set_effective_priority(now, total);
        let was_faulty = self.own_fault.is_some();
        let was_pending = self.pending;
        self.own_fault = fault;
        self.pending = pending;
        if !act {
            return;
        }
        if self.in_group && was_faulty != self.own_fault.is_some() {
            self.sync_events.push_back(SyncEvent::FaultChanged);
        }
        if self.own_fault.is_some() || (was_pending && !pending && self.group_fault) {
            self.enter_fault(now);
        } else if !self.group_fault && !pending && matches!(self.state, State::Fault | State::Init)
        {
            self.want_master = self.cfg.initial_master && self.cfg.is_owner();
            let reason = if self.state == State::Fault {
                Reason::FaultCleared
            } else {
                Reason::Startup
            };
            self.come_up(now, reason);
        }
    }

    /// keepalived's `vrrp_set_effective_priority`: clamped to 1..=254, never
    /// for the owner; a Backup's running timer moves by the change in Skew_Time.
    fn set_effective_priority(&mut self, now: Instant, total: i32) {
        if self.base_priority == PRIO_OWNER {
            return;
        }
        let new = total.clamp(1, i32::from(PRIO_OWNER) - 1) as u8;
        if new == self.effective_priority {
            return;
        }
        let old_down = self.ms_down_timer_us;
        self.effective_priority = new;
        self.ms_down_timer_us = self.ms_down_us();
        if self.state == State::Backup
            && let Some(t) = self.sands
        {
            let (new, old) = (self.ms_down_timer_us, old_down);
            self.sands = Some(if new >= old {
                t + Duration::from_micros(new - old)
            } else {
                Instant::from_nanos(t.as_nanos().saturating_sub((old - new) * 1000)).max(now)
            });
        }
    }

    /// Sync group: impose or lift a fault that another member caused.
    pub(crate) fn set_group_fault(&mut self, now: Instant, fault: bool) {
        if self.group_fault == fault {
            return;
        }
        self.group_fault = fault;
        if fault {
            self.enter_fault(now);
        } else if self.own_fault.is_none() && !self.pending && self.state == State::Fault {
            self.want_master = false;
            self.come_up(now, Reason::FaultCleared);
        }
    }

    /// Joins a sync group before starting, with the fault the group imposes.
    pub(crate) fn join_group(&mut self, group_fault: bool) {
        self.in_group = true;
        self.group_fault = group_fault;
    }

    pub(crate) fn next_master_reason(&self) -> Reason {
        self.next_master_reason.clone()
    }

    pub(crate) fn wants_master(&self) -> bool {
        self.want_master
    }

    pub(crate) fn own_fault(&self) -> bool {
        self.own_fault.is_some()
    }

    /// Sync group: the group went Backup, follow it without resigning.
    pub(crate) fn sync_backup(&mut self, now: Instant, reason: Reason) {
        if self.state == State::Master {
            self.want_master = false;
            self.leave_master(now, State::Backup, reason);
        }
    }

    // ----- sending ---------------------------------------------------------

    /// A Master's advert; the next one is due an interval after it.
    fn advertise(&mut self, now: Instant) {
        self.send_advert(now, self.effective_priority);
        self.arm(now, self.adver_int_us());
    }

    fn send_advert(&mut self, _now: Instant, priority: u8) {
        let advert = Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            interval_cs: self.cfg.interval_cs,
            auth: self.cfg.auth.clone(),
            addrs: self.advertised.clone(),
        };
        let group = self.cfg.mcast_group.unwrap_or(match self.cfg.src {
            IpAddr::V4(_) => IpAddr::V4(packet::MCAST_V4),
            IpAddr::V6(_) => IpAddr::V6(packet::MCAST_V6),
        });
        let peers = if self.cfg.unicast_peers.is_empty() {
            vec![group]
        } else {
            self.cfg.unicast_peers.clone()
        };
        for dst in peers {
            let bytes = match (self.cfg.src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    self.ip_ident = self.ip_ident.wrapping_add(1);
                    advert.encode_ipv4(s, d, self.ip_ident)
                }
                (src, dst) if src.is_ipv6() == dst.is_ipv6() => advert.encode(src, dst),
                // A peer of the other family cannot be reached from this instance.
                _ => continue,
            };
            self.transmits.push_back(Transmit {
                iface: self.cfg.iface.clone(),
                src: self.cfg.src,
                dst,
                ttl: packet::TTL,
                bytes,
            });
        }
        self.stats.adverts_sent += 1;
        if priority == PRIO_STOP {
            self.stats.priority_zero_sent += 1;
        }
    }

    /// One round of gratuitous ARPs / unsolicited NAs for every address.
    fn announce(&mut self, repeat: u32) {
        if !self.vips_set || repeat == 0 {
            return;
        }
        for vip in self.cfg.vips.iter().chain(&self.cfg.excluded_vips) {
            let action = match vip.addr {
                IpAddr::V4(addr) => Action::Garp {
                    iface: vip.iface.clone(),
                    addr,
                    repeat,
                },
                IpAddr::V6(addr) => Action::UnsolicitedNa {
                    iface: vip.iface.clone(),
                    addr,
                    repeat,
                },
            };
            self.actions.push_back(action);
        }
    }
}

/// Decodes a datagram the way it reached us: IPv4 with its header, IPv6 without.
pub fn decode(rx: &Received) -> Result<Decoded, packet::PacketError> {
    match (rx.src, rx.dst) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => packet::decode_ipv6(src, dst, rx.ttl, &rx.bytes),
        _ => packet::decode_ipv4(&rx.bytes),
    }
}

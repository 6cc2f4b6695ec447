//! IPVS schedulers over one service's destinations, with the kernel's
//! semantics (`net/netfilter/ipvs/ip_vs_*.c`).
//!
//! [`Scheduler`] plays the part of `struct ip_vs_service` as far as
//! scheduling goes: the destination list in the kernel's order (a new
//! destination is linked at the head, `list_add_rcu` in
//! `__ip_vs_update_dest`), the removed destinations the kernel keeps in its
//! trash, the scheduler's private state, and the add/delete/update hooks
//! that reset that state. Each algorithm lives in its own module.

mod dh;
mod fo;
mod lblc;
mod lblcr;
mod lc;
mod locality;
mod mh;
mod nq;
mod ovf;
mod rr;
mod sed;
mod sh;
mod twos;
mod wlc;
mod wrr;

#[cfg(test)]
mod tests;

pub use locality::DEFAULT_EXPIRATION;
pub use mh::{DEFAULT_TAB_INDEX as MH_DEFAULT_TAB_INDEX, PRIMES as MH_PRIMES};

use super::LvsError;
use super::dest::{Accounting, Dest, DestKey, DestSpec};
use crate::Instant;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The schedulers IPVS ships, by their `ipvsadm -s` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Sed,
    Nq,
    Fo,
    Ovf,
    Twos,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Mh,
}

impl Algorithm {
    pub const ALL: [Algorithm; 14] = [
        Algorithm::Rr,
        Algorithm::Wrr,
        Algorithm::Lc,
        Algorithm::Wlc,
        Algorithm::Sed,
        Algorithm::Nq,
        Algorithm::Fo,
        Algorithm::Ovf,
        Algorithm::Twos,
        Algorithm::Lblc,
        Algorithm::Lblcr,
        Algorithm::Dh,
        Algorithm::Sh,
        Algorithm::Mh,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rr => "rr",
            Algorithm::Wrr => "wrr",
            Algorithm::Lc => "lc",
            Algorithm::Wlc => "wlc",
            Algorithm::Sed => "sed",
            Algorithm::Nq => "nq",
            Algorithm::Fo => "fo",
            Algorithm::Ovf => "ovf",
            Algorithm::Twos => "twos",
            Algorithm::Lblc => "lblc",
            Algorithm::Lblcr => "lblcr",
            Algorithm::Dh => "dh",
            Algorithm::Sh => "sh",
            Algorithm::Mh => "mh",
        }
    }

    /// Whether the algorithm looks up a table (sh, dh, mh).
    pub fn has_table(self) -> bool {
        matches!(self, Algorithm::Sh | Algorithm::Dh | Algorithm::Mh)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = LvsError;

    fn from_str(s: &str) -> Result<Self, LvsError> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| LvsError::UnknownScheduler(s.to_owned()))
    }
}

/// The scheduler flags of a service (`IP_VS_SVC_F_SCHED1..3`). sh and mh
/// read the same bits: flag-1 is sh-fallback and mh-fallback, flag-2 is
/// sh-port and mh-port, so `ipvsadm -b sh-port` on an mh service does
/// hash the port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchedFlags(u8);

impl SchedFlags {
    pub const FLAG1: SchedFlags = SchedFlags(1);
    pub const FLAG2: SchedFlags = SchedFlags(2);
    pub const FLAG3: SchedFlags = SchedFlags(4);
    /// sh-fallback / mh-fallback.
    pub const FALLBACK: SchedFlags = SchedFlags::FLAG1;
    /// sh-port / mh-port.
    pub const PORT: SchedFlags = SchedFlags::FLAG2;

    pub fn contains(self, other: SchedFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn with(self, other: SchedFlags) -> SchedFlags {
        SchedFlags(self.0 | other.0)
    }

    /// One `ipvsadm -b` name.
    pub fn from_name(name: &str) -> Result<SchedFlags, LvsError> {
        match name {
            "flag-1" | "sh-fallback" | "mh-fallback" => Ok(SchedFlags::FLAG1),
            "flag-2" | "sh-port" | "mh-port" => Ok(SchedFlags::FLAG2),
            "flag-3" => Ok(SchedFlags::FLAG3),
            other => Err(LvsError::UnknownFlag(other.to_owned())),
        }
    }

    /// The names of the set flags as `ipvsadm -L` prints them for a
    /// service of `algorithm`: sh and mh name their own two and leave
    /// flag-3, which neither reads, out.
    pub fn names(self, algorithm: Algorithm) -> Vec<&'static str> {
        let names: &[&'static str] = match algorithm {
            Algorithm::Sh => &["sh-fallback", "sh-port"],
            Algorithm::Mh => &["mh-fallback", "mh-port"],
            _ => &["flag-1", "flag-2", "flag-3"],
        };
        [SchedFlags::FLAG1, SchedFlags::FLAG2, SchedFlags::FLAG3]
            .into_iter()
            .zip(names)
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }

    /// A comma-separated `ipvsadm -b` list.
    pub fn parse_list(list: &str) -> Result<SchedFlags, LvsError> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .try_fold(SchedFlags::default(), |acc, n| {
                Ok(acc.with(SchedFlags::from_name(n)?))
            })
    }
}

/// The transport protocol of the service; sh-port and mh-port only read
/// ports of TCP, UDP and SCTP packets (`ip_vs_sh_get_port`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
    Other,
}

/// What a scheduler sees of the first packet of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub protocol: Protocol,
}

impl Packet {
    /// The port the hashing schedulers mix in with their port flag.
    fn hash_port(&self, flags: SchedFlags) -> u16 {
        let has_ports = matches!(
            self.protocol,
            Protocol::Tcp | Protocol::Udp | Protocol::Sctp
        );
        if flags.contains(SchedFlags::PORT) && has_ports {
            self.sport
        } else {
            0
        }
    }
}

/// Choices the kernel makes at build time or through sysctls, and the
/// inputs a sans-IO scheduler takes instead of a clock or a random source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    pub accounting: Accounting,
    /// `CONFIG_IP_VS_MH_TAB_INDEX` (8..=17): mh's table size is the
    /// (index − 8)th of 251, 509, …, 131071; 12 (4093) by default.
    pub mh_tab_index: u8,
    /// Seed of twos' random draws.
    pub seed: u64,
    /// When the service was created: lblc/lblcr start their minute timer.
    pub start: Instant,
    /// The `lblc_expiration`/`lblcr_expiration` sysctl.
    pub lblc_expiration: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            accounting: Accounting::Classic,
            mh_tab_index: mh::DEFAULT_TAB_INDEX,
            seed: 0,
            start: Instant::ZERO,
            lblc_expiration: DEFAULT_EXPIRATION,
        }
    }
}

/// Each algorithm's private state (`svc->sched_data`).
#[derive(Clone, Debug)]
enum State {
    Rr(rr::Rr),
    Wrr(wrr::Wrr),
    Lc,
    Wlc,
    Sed,
    Nq,
    Fo,
    Ovf,
    Twos(twos::Twos),
    Lblc(lblc::Lblc),
    Lblcr(lblcr::Lblcr),
    Dh(dh::Dh),
    Sh(sh::Sh),
    Mh(mh::Mh),
}

/// A service's destinations and the scheduler that picks among them.
#[derive(Clone, Debug)]
pub struct Scheduler {
    algorithm: Algorithm,
    flags: SchedFlags,
    accounting: Accounting,
    /// In the kernel's list order: the most recently added first.
    dests: Vec<Dest>,
    /// Removed destinations, with their counters, as the kernel's trash
    /// keeps them: re-adding one brings its connections back with it.
    trash: Vec<Dest>,
    state: State,
}

impl Scheduler {
    /// A service with no destination, bound to `algorithm`
    /// (`ip_vs_bind_scheduler` → `init_service`).
    pub fn new(algorithm: Algorithm, flags: SchedFlags, opts: Options) -> Self {
        let none: &[Dest] = &[];
        let state = match algorithm {
            Algorithm::Rr => State::Rr(rr::Rr::default()),
            Algorithm::Wrr => State::Wrr(wrr::Wrr::new(none)),
            Algorithm::Lc => State::Lc,
            Algorithm::Wlc => State::Wlc,
            Algorithm::Sed => State::Sed,
            Algorithm::Nq => State::Nq,
            Algorithm::Fo => State::Fo,
            Algorithm::Ovf => State::Ovf,
            Algorithm::Twos => State::Twos(twos::Twos::new(opts.seed)),
            Algorithm::Lblc => {
                let mut l = lblc::Lblc::new(opts.start);
                l.set_expiration(opts.lblc_expiration);
                State::Lblc(l)
            }
            Algorithm::Lblcr => {
                let mut l = lblcr::Lblcr::new(opts.start);
                l.set_expiration(opts.lblc_expiration);
                State::Lblcr(l)
            }
            Algorithm::Dh => State::Dh(dh::Dh::new(none)),
            Algorithm::Sh => State::Sh(sh::Sh::new(none)),
            Algorithm::Mh => State::Mh(mh::Mh::new(none, opts.mh_tab_index)),
        };
        Scheduler {
            algorithm,
            flags,
            accounting: opts.accounting,
            dests: Vec::new(),
            trash: Vec::new(),
            state,
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn flags(&self) -> SchedFlags {
        self.flags
    }

    /// The destinations in the kernel's list order (what `ipvsadm -L`
    /// shows): the most recently added first.
    pub fn dests(&self) -> &[Dest] {
        &self.dests
    }

    pub fn position(&self, key: DestKey) -> Option<usize> {
        self.dests.iter().position(|d| d.key() == key)
    }

    /// A destination in the service or in the trash.
    pub fn find(&self, key: DestKey) -> Option<&Dest> {
        self.dests
            .iter()
            .chain(self.trash.iter())
            .find(|d| d.key() == key)
    }

    /// `ipvsadm -a` (`ip_vs_add_dest`): links the destination at the head
    /// of the list (taking it back from the trash if it is there) and runs
    /// the scheduler's `add_dest` hook.
    pub fn add_dest(&mut self, spec: &DestSpec) -> Result<(), LvsError> {
        validate(spec)?;
        if self.position(spec.key).is_some() {
            return Err(LvsError::DestExists(spec.key));
        }
        let mut dest = match self.trash.iter().position(|d| d.key() == spec.key) {
            Some(i) => self.trash.remove(i),
            None => Dest::new(spec.key),
        };
        dest.update(spec, true, self.accounting);
        self.dests.insert(0, dest);
        let dests = &self.dests;
        match &mut self.state {
            // rr has no add_dest hook; its cursor stays on its node.
            State::Rr(s) => s.inserted_at_head(),
            State::Wrr(s) => s.dest_changed(dests),
            State::Dh(s) => s.reassign(dests),
            State::Sh(s) => s.reassign(dests),
            State::Mh(s) => {
                s.inserted_at_head();
                s.dest_changed(dests);
            }
            _ => {}
        }
        Ok(())
    }

    /// `ipvsadm -e` (`ip_vs_edit_dest`): new weight and thresholds, then
    /// the scheduler's `upd_dest` hook.
    pub fn edit_dest(&mut self, spec: &DestSpec) -> Result<(), LvsError> {
        validate(spec)?;
        let pos = self
            .position(spec.key)
            .ok_or(LvsError::NoSuchDest(spec.key))?;
        self.dests[pos].update(spec, false, self.accounting);
        let dests = &self.dests;
        match &mut self.state {
            State::Wrr(s) => s.dest_changed(dests),
            State::Sh(s) => s.reassign(dests),
            State::Mh(s) => s.dest_changed(dests),
            // dh has no upd_dest hook: its table ignores weights.
            _ => {}
        }
        Ok(())
    }

    /// `ipvsadm -d` (`ip_vs_del_dest`): unlinks the destination, runs the
    /// scheduler's `del_dest` hook and keeps the destination in the trash.
    pub fn del_dest(&mut self, key: DestKey) -> Result<(), LvsError> {
        let pos = self.position(key).ok_or(LvsError::NoSuchDest(key))?;
        let dest = self.dests.remove(pos);
        self.trash.push(dest);
        let dests = &self.dests;
        match &mut self.state {
            State::Rr(s) => s.removed(pos),
            State::Wrr(s) => s.dest_changed(dests),
            State::Dh(s) => s.reassign(dests),
            State::Sh(s) => s.reassign(dests),
            State::Mh(s) => {
                s.removed(pos);
                s.dest_changed(dests);
            }
            _ => {}
        }
        Ok(())
    }

    /// The scheduler's choice for a new connection (`svc->scheduler->
    /// schedule`), as a position in [`Scheduler::dests`]; `None` when no
    /// destination is available. Nothing is bound: see
    /// [`Scheduler::connect`].
    pub fn schedule(&mut self, now: Instant, pkt: &Packet) -> Option<usize> {
        let acc = self.accounting;
        let dests = &self.dests;
        let fallback = self.flags.contains(SchedFlags::FALLBACK);
        match &mut self.state {
            State::Rr(s) => s.schedule(dests),
            State::Wrr(s) => s.schedule(dests),
            State::Lc => lc::schedule(dests, acc),
            State::Wlc => wlc::schedule(dests, acc),
            State::Sed => sed::schedule(dests),
            State::Nq => nq::schedule(dests),
            State::Fo => fo::schedule(dests),
            State::Ovf => ovf::schedule(dests),
            State::Twos(s) => s.schedule(dests, acc),
            State::Lblc(s) => s.schedule(dests, now, pkt.dst, acc),
            State::Lblcr(s) => s.schedule(dests, &self.trash, now, pkt.dst, acc),
            State::Dh(s) => s.schedule(dests, pkt.dst),
            State::Sh(s) => s.schedule(dests, pkt.src, pkt.hash_port(self.flags), fallback),
            State::Mh(s) => s.schedule(dests, pkt.src, pkt.hash_port(self.flags), fallback),
        }
    }

    /// Schedules a connection and binds it, established, to the chosen
    /// destination (`ip_vs_schedule` → `ip_vs_conn_new` →
    /// `ip_vs_bind_dest`, then the TCP handshake completing).
    pub fn connect(&mut self, now: Instant, pkt: &Packet) -> Option<DestKey> {
        let pos = self.schedule(now, pkt)?;
        let dest = &mut self.dests[pos];
        dest.bind(true, self.accounting);
        Some(dest.key())
    }

    /// Binds a connection to `key` (in the service or the trash), active or
    /// not yet established.
    pub fn bind(&mut self, key: DestKey, active: bool) -> Result<(), LvsError> {
        let acc = self.accounting;
        self.find_mut(key)?.bind(active, acc);
        Ok(())
    }

    /// A connection bound to `key` expires (`ip_vs_unbind_dest`).
    pub fn unbind(&mut self, key: DestKey, active: bool) -> Result<(), LvsError> {
        let acc = self.accounting;
        self.find_mut(key)?.unbind(active, acc);
        Ok(())
    }

    /// A connection bound to `key` becomes established (`true`) or leaves
    /// that state (`false`).
    pub fn set_active(&mut self, key: DestKey, active: bool) -> Result<(), LvsError> {
        self.find_mut(key)?.set_active(active);
        Ok(())
    }

    /// The lookup table of sh, dh or mh: for each bucket, the position in
    /// [`Scheduler::dests`] of its destination.
    pub fn table(&self) -> Option<&[Option<u32>]> {
        match &self.state {
            State::Dh(s) => Some(s.table()),
            State::Sh(s) => Some(s.table()),
            State::Mh(s) => Some(s.table()),
            _ => None,
        }
    }

    /// Entries in lblc's or lblcr's address cache.
    pub fn cache_entries(&self) -> Option<usize> {
        match &self.state {
            State::Lblc(s) => Some(s.entries()),
            State::Lblcr(s) => Some(s.entries()),
            _ => None,
        }
    }

    fn find_mut(&mut self, key: DestKey) -> Result<&mut Dest, LvsError> {
        self.dests
            .iter_mut()
            .chain(self.trash.iter_mut())
            .find(|d| d.key() == key)
            .ok_or(LvsError::NoSuchDest(key))
    }
}

/// The checks `ip_vs_add_dest` and `ip_vs_edit_dest` make.
fn validate(spec: &DestSpec) -> Result<(), LvsError> {
    if i32::try_from(spec.weight).is_err() {
        return Err(LvsError::WeightOutOfRange(spec.weight));
    }
    if spec.l_threshold > spec.u_threshold {
        return Err(LvsError::ThresholdOrder {
            lower: spec.l_threshold,
            upper: spec.u_threshold,
        });
    }
    if i32::try_from(spec.u_threshold).is_err() {
        return Err(LvsError::ThresholdOutOfRange(spec.u_threshold));
    }
    Ok(())
}

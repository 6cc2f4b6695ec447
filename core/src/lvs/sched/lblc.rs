//! Locality-based least-connection (`ip_vs_lblc.c`): a packet's destination
//! address sticks to one real server, chosen by wlc, until that server is
//! quiesced or overloaded while another is at under half load.

use super::locality::{Cache, Entry};
use super::wlc::weighted_least;
use crate::Instant;
use crate::lvs::dest::{Accounting, Dest, DestKey};
use std::net::IpAddr;

/// `struct ip_vs_lblc_entry`.
#[derive(Clone, Debug)]
pub(crate) struct LblcEntry {
    addr: IpAddr,
    dest: DestKey,
    lastuse: Instant,
}

impl Entry for LblcEntry {
    fn addr(&self) -> IpAddr {
        self.addr
    }
    fn lastuse(&self) -> Instant {
        self.lastuse
    }
}

#[derive(Clone, Debug)]
pub struct Lblc {
    cache: Cache<LblcEntry>,
}

impl Lblc {
    pub fn new(start: Instant) -> Self {
        Lblc {
            cache: Cache::new(start),
        }
    }

    /// The `lblc_expiration`/`lblcr_expiration` sysctl.
    pub fn set_expiration(&mut self, exp: std::time::Duration) {
        self.cache.expiration = exp;
    }

    /// Entries in the cache.
    pub fn entries(&self) -> usize {
        self.cache.len()
    }

    /// `ip_vs_lblc_schedule` for a packet to `daddr` at `now`.
    pub fn schedule(
        &mut self,
        dests: &[Dest],
        now: Instant,
        daddr: IpAddr,
        acc: Accounting,
    ) -> Option<usize> {
        self.cache.run_timers(now);
        if let Some(en) = self.cache.get_mut(daddr) {
            en.lastuse = now;
            // The cached server must still be in the service (not in the
            // trash), have weight, and not be "overloaded" in lblc's sense;
            // the overload flag itself is not looked at here.
            let key = en.dest;
            if let Some(pos) = dests.iter().position(|d| d.key() == key)
                && dests[pos].weight() > 0
                && !is_overloaded(&dests[pos], dests)
            {
                return Some(pos);
            }
        }
        let pos = weighted_least(dests, |d| d.overhead(acc))?;
        let key = dests[pos].key();
        // ip_vs_lblc_new: keep an entry that already points there, else
        // replace it with a fresh one.
        if self.cache.get_mut(daddr).is_some_and(|e| e.dest == key) {
            return Some(pos);
        }
        self.cache.remove(daddr);
        self.cache.insert(LblcEntry {
            addr: daddr,
            dest: key,
            lastuse: now,
        });
        Some(pos)
    }
}

/// lblc's and lblcr's `is_overloaded`: more active connections than its
/// weight while some destination has fewer than half its weight.
pub(crate) fn is_overloaded(dest: &Dest, dests: &[Dest]) -> bool {
    dest.active() > dest.weight()
        && dests
            .iter()
            .any(|d| d.active().wrapping_mul(2) < d.weight())
}

//! Locality-based least-connection with replication (`ip_vs_lblcr.c`): a
//! destination address maps to a set of real servers; the least loaded
//! member serves, the set grows when all members are overloaded and
//! sheds its most loaded member when it has not changed for a while.

use super::lblc::is_overloaded;
use super::locality::{Cache, Entry};
use super::wlc::weighted_least;
use crate::Instant;
use crate::lvs::dest::{Accounting, Dest, DestKey};
use std::net::IpAddr;

/// `struct ip_vs_lblcr_entry` with its `struct ip_vs_dest_set`.
#[derive(Clone, Debug)]
pub(crate) struct LblcrEntry {
    addr: IpAddr,
    /// Newest member first, as `list_add_rcu` links them.
    set: Vec<DestKey>,
    lastmod: Instant,
    lastuse: Instant,
}

impl Entry for LblcrEntry {
    fn addr(&self) -> IpAddr {
        self.addr
    }
    fn lastuse(&self) -> Instant {
        self.lastuse
    }
}

impl LblcrEntry {
    /// `ip_vs_dest_set_insert` with `check`: a member is not added twice.
    fn insert(&mut self, key: DestKey, now: Instant) {
        if !self.set.contains(&key) {
            self.set.insert(0, key);
            self.lastmod = now;
        }
    }
}

#[derive(Clone, Debug)]
pub struct Lblcr {
    cache: Cache<LblcrEntry>,
}

/// A set member as the kernel sees it: the destination (in the service or
/// in the trash, where it keeps its counters) and whether it is in the
/// service (`IP_VS_DEST_CF_AVAILABLE`).
struct Member<'a> {
    dest: &'a Dest,
    pos: Option<usize>,
}

impl Lblcr {
    pub fn new(start: Instant) -> Self {
        Lblcr {
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

    /// `ip_vs_lblcr_schedule` for a packet to `daddr` at `now`; `trash`
    /// holds the removed destinations a set may still name.
    pub fn schedule(
        &mut self,
        dests: &[Dest],
        trash: &[Dest],
        now: Instant,
        daddr: IpAddr,
        acc: Accounting,
    ) -> Option<usize> {
        self.cache.run_timers(now);
        let expiration = self.cache.expiration;
        if let Some(en) = self.cache.get_mut(daddr) {
            en.lastuse = now;
            let members: Vec<Member<'_>> = en
                .set
                .iter()
                .filter_map(|k| member(*k, dests, trash))
                .collect();
            let least = set_min(&members, acc);
            // A set of several that has not changed for the expiration
            // time drops its most loaded member.
            if en.set.len() > 1
                && now > en.lastmod + expiration
                && let Some(m) = set_max(&members, acc)
            {
                let key = members[m].dest.key();
                if let Some(i) = en.set.iter().position(|k| *k == key) {
                    en.set.remove(i);
                    en.lastmod = now;
                }
            }
            if let Some(pos) = least
                && !is_overloaded(&dests[pos], dests)
            {
                return Some(pos);
            }
            let pos = weighted_least(dests, |d| d.overhead(acc))?;
            en.insert(dests[pos].key(), now);
            return Some(pos);
        }
        let pos = weighted_least(dests, |d| d.overhead(acc))?;
        self.cache.insert(LblcrEntry {
            addr: daddr,
            set: vec![dests[pos].key()],
            lastmod: now,
            lastuse: now,
        });
        Some(pos)
    }
}

fn member<'a>(key: DestKey, dests: &'a [Dest], trash: &'a [Dest]) -> Option<Member<'a>> {
    if let Some(pos) = dests.iter().position(|d| d.key() == key) {
        return Some(Member {
            dest: &dests[pos],
            pos: Some(pos),
        });
    }
    trash
        .iter()
        .find(|d| d.key() == key)
        .map(|dest| Member { dest, pos: None })
}

/// `ip_vs_dest_set_min`: the first member in the service, not overloaded,
/// with weight; then any later one in the service with a strictly smaller
/// load per weight. Returns its list position.
fn set_min(members: &[Member<'_>], acc: Accounting) -> Option<usize> {
    let first = members
        .iter()
        .position(|m| !m.dest.overloaded() && m.dest.weight() > 0 && m.pos.is_some())?;
    let mut least = &members[first];
    let mut loh = least.dest.overhead(acc);
    for m in &members[first + 1..] {
        if m.dest.overloaded() {
            continue;
        }
        let doh = m.dest.overhead(acc);
        if i64::from(loh) * i64::from(m.dest.weight())
            > i64::from(doh) * i64::from(least.dest.weight())
            && m.pos.is_some()
        {
            least = m;
            loh = doh;
        }
    }
    least.pos
}

/// `ip_vs_dest_set_max`: the member with the largest load per weight,
/// among those with weight, whether in the service or not; the first of
/// equals. Returns its index in `members`.
fn set_max(members: &[Member<'_>], acc: Accounting) -> Option<usize> {
    let first = members.iter().position(|m| m.dest.weight() > 0)?;
    let mut most = first;
    let mut moh = members[first].dest.overhead(acc);
    for (i, m) in members.iter().enumerate().skip(first + 1) {
        let doh = m.dest.overhead(acc);
        if i64::from(moh) * i64::from(m.dest.weight())
            < i64::from(doh) * i64::from(members[most].dest.weight())
            && m.dest.weight() > 0
        {
            most = i;
            moh = doh;
        }
    }
    Some(most)
}

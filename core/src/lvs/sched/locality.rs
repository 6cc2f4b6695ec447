//! The address → destination cache lblc and lblcr share: 1024 hash
//! buckets, newest entry first in its bucket, and a garbage-collecting
//! timer every minute (`ip_vs_lblc.c`/`ip_vs_lblcr.c`, `*_check_expire`).
//!
//! The kernel's timer runs on its own; here it runs when time is handed
//! in: every tick due by `now` runs first, at its own time.

use crate::Instant;
use crate::lvs::hash::{fold_addr, hash_32};
use std::net::IpAddr;
use std::time::Duration;

/// `CONFIG_IP_VS_LBLC_TAB_BITS` / `CONFIG_IP_VS_LBLCR_TAB_BITS` default.
const TAB_BITS: u32 = 10;
const TAB_SIZE: usize = 1 << TAB_BITS;
const TAB_MASK: usize = TAB_SIZE - 1;
/// `CHECK_EXPIRE_INTERVAL`.
const CHECK_EXPIRE_INTERVAL: Duration = Duration::from_secs(60);
/// `ENTRY_TIMEOUT`: entries idle this long go when the table is too full.
const ENTRY_TIMEOUT: Duration = Duration::from_secs(6 * 60);
/// `COUNT_FOR_FULL_EXPIRATION`: every 30th quiet tick checks everything.
const COUNT_FOR_FULL_EXPIRATION: i32 = 30;
/// `DEFAULT_EXPIRATION`, the `lblc_expiration`/`lblcr_expiration` sysctls'
/// default: entries unused for a day go at the next full check.
pub const DEFAULT_EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);

pub(crate) trait Entry {
    fn addr(&self) -> IpAddr;
    fn lastuse(&self) -> Instant;
}

#[derive(Clone, Debug)]
pub(crate) struct Cache<E> {
    buckets: Vec<Vec<E>>,
    entries: i32,
    /// `IP_VS_LBL*_TAB_SIZE * 16`.
    max_size: i32,
    rover: usize,
    counter: i32,
    next_tick: Instant,
    pub(crate) expiration: Duration,
}

impl<E: Entry> Cache<E> {
    /// `ip_vs_lbl*_init_svc` at `start`: the first tick a minute later.
    pub(crate) fn new(start: Instant) -> Self {
        Cache {
            buckets: (0..TAB_SIZE).map(|_| Vec::new()).collect(),
            entries: 0,
            max_size: (TAB_SIZE * 16) as i32,
            rover: 0,
            counter: 1,
            next_tick: start + CHECK_EXPIRE_INTERVAL,
            expiration: DEFAULT_EXPIRATION,
        }
    }

    fn bucket(addr: IpAddr) -> usize {
        hash_32(fold_addr(addr), TAB_BITS) as usize
    }

    pub(crate) fn get_mut(&mut self, addr: IpAddr) -> Option<&mut E> {
        self.buckets[Self::bucket(addr)]
            .iter_mut()
            .find(|e| e.addr() == addr)
    }

    pub(crate) fn remove(&mut self, addr: IpAddr) {
        let b = &mut self.buckets[Self::bucket(addr)];
        if let Some(i) = b.iter().position(|e| e.addr() == addr) {
            b.remove(i);
            self.entries -= 1;
        }
    }

    /// Adds at the head of its bucket, unless the table already holds 1.5
    /// times its nominal size (the kernel then just does not cache).
    pub(crate) fn insert(&mut self, e: E) {
        if self.entries >= self.max_size * 3 / 2 {
            return;
        }
        self.buckets[Self::bucket(e.addr())].insert(0, e);
        self.entries += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.max(0) as usize
    }

    /// Runs every timer tick due by `now`.
    pub(crate) fn run_timers(&mut self, now: Instant) {
        while self.next_tick <= now {
            if self.entries == 0 {
                // Nothing to collect: ticks only count, 1..=30 round and
                // round; skip straight to the last one due.
                let due = (now - self.next_tick).as_nanos() / CHECK_EXPIRE_INTERVAL.as_nanos();
                let skip = (due % COUNT_FOR_FULL_EXPIRATION as u128) as i32;
                self.counter = (self.counter - 1 + skip) % COUNT_FOR_FULL_EXPIRATION + 1;
                let whole = u32::try_from(due).unwrap_or(u32::MAX);
                self.next_tick = self.next_tick + CHECK_EXPIRE_INTERVAL.saturating_mul(whole);
            }
            let t = self.next_tick;
            self.check_expire(t);
            self.next_tick = t + CHECK_EXPIRE_INTERVAL;
            if self.next_tick.as_nanos() == u64::MAX {
                // The end of time: no tick can be due after it.
                break;
            }
        }
    }

    /// `ip_vs_lbl*_check_expire` at time `now`.
    fn check_expire(&mut self, now: Instant) {
        if self.counter % COUNT_FOR_FULL_EXPIRATION == 0 {
            let exp = self.expiration;
            let mut unlimited = i32::MAX;
            self.sweep(|e| now < e.lastuse() + exp, &mut unlimited);
            self.counter = 1;
            return;
        }
        if self.entries <= self.max_size {
            self.counter += 1;
            return;
        }
        let mut goal = ((self.entries - self.max_size) * 4 / 3).min(self.max_size / 2);
        self.sweep(|e| now < e.lastuse() + ENTRY_TIMEOUT, &mut goal);
    }

    /// Walks buckets from after the rover, dropping entries `keep` rejects,
    /// and stops after a bucket once `goal` removals are done.
    fn sweep(&mut self, keep: impl Fn(&E) -> bool, goal: &mut i32) {
        let mut j = self.rover;
        for _ in 0..TAB_SIZE {
            j = (j + 1) & TAB_MASK;
            let before = self.buckets[j].len();
            self.buckets[j].retain(&keep);
            let removed = (before - self.buckets[j].len()) as i32;
            self.entries -= removed;
            *goal -= removed;
            if *goal <= 0 {
                break;
            }
        }
        self.rover = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    #[derive(Clone, Debug, PartialEq)]
    struct E {
        addr: IpAddr,
        lastuse: Instant,
    }

    impl Entry for E {
        fn addr(&self) -> IpAddr {
            self.addr
        }
        fn lastuse(&self) -> Instant {
            self.lastuse
        }
    }

    /// Every tick, one by one, as the kernel's timer fires them.
    fn run_every_tick(c: &mut Cache<E>, now: Instant) {
        while c.next_tick <= now {
            let t = c.next_tick;
            c.check_expire(t);
            c.next_tick = t + CHECK_EXPIRE_INTERVAL;
        }
    }

    fn state(c: &Cache<E>) -> (Vec<Vec<E>>, i32, usize, i32, Instant) {
        (
            c.buckets.clone(),
            c.entries,
            c.rover,
            c.counter,
            c.next_tick,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn skipping_idle_ticks_leaves_the_same_cache(
            steps in prop::collection::vec((0u64..100_000, prop::option::of(0u8..20)), 1..30),
            expiration_min in 1u64..3000,
        ) {
            let mut fast: Cache<E> = Cache::new(Instant::ZERO);
            fast.expiration = Duration::from_secs(expiration_min * 60);
            let mut slow = fast.clone();
            let mut now = Instant::ZERO;
            for (secs, touch) in steps {
                now = now + Duration::from_secs(secs);
                fast.run_timers(now);
                run_every_tick(&mut slow, now);
                prop_assert_eq!(state(&fast), state(&slow));
                if let Some(n) = touch {
                    let addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, n));
                    for c in [&mut fast, &mut slow] {
                        match c.get_mut(addr) {
                            Some(e) => e.lastuse = now,
                            None => c.insert(E { addr, lastuse: now }),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn full_checks_run_every_thirty_ticks_from_the_start() {
        let mut c: Cache<E> = Cache::new(Instant::ZERO);
        c.expiration = Duration::from_secs(60);
        let addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        c.insert(E {
            addr,
            lastuse: Instant::ZERO,
        });
        // Idle for far longer than the expiration, but the first full
        // check is the 30th tick.
        c.run_timers(Instant::ZERO + Duration::from_secs(29 * 60));
        assert_eq!(c.len(), 1);
        c.run_timers(Instant::ZERO + Duration::from_secs(30 * 60));
        assert_eq!(c.len(), 0);
    }
}

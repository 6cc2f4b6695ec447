//! Weighted round-robin (`ip_vs_wrr.c`): passes over the list with a
//! falling weight bar, so heavier destinations are picked in more passes.

use crate::lvs::dest::Dest;

/// `struct ip_vs_wrr_mark`.
#[derive(Clone, Debug)]
pub struct Wrr {
    /// Position of the last pick, `None` for the list head.
    cl: Option<usize>,
    /// The current bar: destinations with weight >= cw qualify.
    cw: i32,
    /// The first bar of a round: max weight − (gcd − 1), so the last
    /// pass runs at cw = 1 and catches weights below the gcd.
    mw: i32,
    /// The step between passes: gcd of the weights above 0.
    di: i32,
}

impl Wrr {
    /// `ip_vs_wrr_init_svc`.
    pub fn new(dests: &[Dest]) -> Self {
        let di = gcd_weight(dests);
        let mw = max_weight(dests) - (di - 1);
        Wrr {
            cl: None,
            cw: mw,
            mw,
            di,
        }
    }

    /// `ip_vs_wrr_dest_changed`, the add, delete and update hook: back to
    /// the list head, new gcd and max, and the bar kept within the new
    /// range (rounded to the new step).
    pub fn dest_changed(&mut self, dests: &[Dest]) {
        self.cl = None;
        self.di = gcd_weight(dests);
        self.mw = max_weight(dests) - (self.di - 1);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    /// `ip_vs_wrr_schedule`.
    pub fn schedule(&mut self, dests: &[Dest]) -> Option<usize> {
        if self.mw == 0 {
            return None;
        }
        let last = self.cl;
        // Where the next list walk starts: after the cursor, then from the
        // first entry on every later walk.
        let mut from = last.map_or(0, |c| c + 1);
        let mut stop: Option<usize> = None;
        let mut last_pass = false;
        let mut restarted = false;
        let mut usable_max: Option<i32> = None;
        loop {
            for (i, d) in dests.iter().enumerate().skip(from) {
                if !d.overloaded() && d.weight() >= self.cw {
                    self.cl = Some(i);
                    return Some(i);
                }
                if stop == Some(i) {
                    self.cl = Some(i);
                    return None;
                }
            }
            from = 0;
            // Passes whose bar is above every usable weight find nobody and,
            // with the bar above the step, can neither restart nor stop:
            // jump over them. The kernel walks each one, so its time grows
            // with max weight / gcd; the outcome is the same.
            let top = *usable_max.get_or_insert_with(|| max_usable_weight(dests));
            let floor = top.max(self.di);
            if self.cw > floor {
                self.cw -= (self.cw - floor - 1) / self.di * self.di;
            }
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                // A full walk at weight >= 1 already happened: either this
                // call's last pass, or the single walk from the head.
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                // The first walk covered only the entries after `last`;
                // walk the rest up to it once more at weight >= 1.
                stop = last;
            }
        }
    }
}

/// `ip_vs_wrr_gcd_weight`: gcd of the weights above 0, or 1.
fn gcd_weight(dests: &[Dest]) -> i32 {
    let g = dests
        .iter()
        .map(Dest::weight)
        .filter(|&w| w > 0)
        .fold(0, |g, w| if g > 0 { gcd(w, g) } else { w });
    if g > 0 { g } else { 1 }
}

/// The largest weight a walk could pick: of destinations not overloaded.
fn max_usable_weight(dests: &[Dest]) -> i32 {
    dests
        .iter()
        .filter(|d| !d.overloaded())
        .map(Dest::weight)
        .fold(0, i32::max)
}

/// `ip_vs_wrr_max_weight`.
fn max_weight(dests: &[Dest]) -> i32 {
    dests.iter().map(Dest::weight).fold(0, i32::max)
}

pub(crate) fn gcd(a: i32, b: i32) -> i32 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i32::try_from(a).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::dest::{Accounting, DestKey, DestSpec};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    /// `ip_vs_wrr_schedule` walked pass by pass, with no shortcut.
    fn schedule_every_pass(m: &mut Wrr, dests: &[Dest]) -> Option<usize> {
        if m.mw == 0 {
            return None;
        }
        let last = m.cl;
        let mut from = last.map_or(0, |c| c + 1);
        let (mut stop, mut last_pass, mut restarted) = (None, false, false);
        loop {
            for (i, d) in dests.iter().enumerate().skip(from) {
                if !d.overloaded() && d.weight() >= m.cw {
                    m.cl = Some(i);
                    return Some(i);
                }
                if stop == Some(i) {
                    m.cl = Some(i);
                    return None;
                }
            }
            from = 0;
            m.cw -= m.di;
            if m.cw <= 0 {
                m.cw = m.mw;
                if last_pass || last.is_none() {
                    m.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = m.cw <= m.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }

    fn dests(spec: &[(u32, bool)]) -> Vec<Dest> {
        spec.iter()
            .enumerate()
            .map(|(i, &(w, over))| {
                let key = DestKey::new(Ipv4Addr::new(10, 0, 0, i as u8 + 1).into(), 80);
                let mut d = Dest::new(key);
                let mut s = DestSpec::new(key, w);
                if over {
                    s.u_threshold = 1;
                }
                d.update(&s, true, Accounting::Classic);
                if over {
                    d.bind(true, Accounting::Classic);
                }
                d
            })
            .collect()
    }

    proptest! {
        #[test]
        fn skipping_empty_passes_changes_no_pick_and_no_state(
            spec in prop::collection::vec((prop_oneof![0u32..5, 0u32..300], any::<bool>()), 1..6),
            cw in 0i32..300,
            cl in prop::option::of(0usize..6),
            picks in 1usize..40,
        ) {
            let d = dests(&spec);
            let mut fast = Wrr::new(&d);
            fast.cw = cw.min(fast.mw);
            fast.cl = cl.filter(|&c| c < d.len());
            let mut slow = fast.clone();
            for _ in 0..picks {
                let a = fast.schedule(&d);
                let b = schedule_every_pass(&mut slow, &d);
                prop_assert_eq!(a, b);
                prop_assert_eq!((fast.cl, fast.cw), (slow.cl, slow.cw));
            }
        }
    }

    #[test]
    fn a_huge_weight_does_not_make_a_pick_walk_every_pass() {
        // Max weight 2^31 − 1, overloaded; the kernel would walk about 2^31
        // passes to reach bar 1 for the other destination.
        let d = dests(&[(i32::MAX as u32, true), (1, false)]);
        let mut m = Wrr::new(&d);
        assert_eq!(m.schedule(&d), Some(1));
        assert_eq!(m.schedule(&d), Some(1));
    }
}

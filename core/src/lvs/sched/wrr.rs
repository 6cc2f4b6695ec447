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

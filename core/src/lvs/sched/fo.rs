//! Weighted failover (`ip_vs_fo.c`): always the heaviest usable
//! destination, the first one in list order among equals.

use crate::lvs::dest::Dest;

/// `ip_vs_fo_schedule`.
pub fn schedule(dests: &[Dest]) -> Option<usize> {
    let mut best: Option<(usize, i32)> = None;
    for (i, d) in dests.iter().enumerate() {
        let hw = best.map_or(0, |(_, w)| w);
        if !d.overloaded() && d.weight() > hw {
            best = Some((i, d.weight()));
        }
    }
    best.map(|(i, _)| i)
}

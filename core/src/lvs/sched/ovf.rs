//! Weighted overflow (`ip_vs_ovf.c`): the heaviest destination whose
//! active connections do not exceed its weight, so the weight works as a
//! connection limit and the next heaviest takes the overflow.

use crate::lvs::dest::Dest;

/// `ip_vs_ovf_schedule`.
pub fn schedule(dests: &[Dest]) -> Option<usize> {
    let mut best: Option<(usize, i32)> = None;
    for (i, d) in dests.iter().enumerate() {
        let w = d.weight();
        if d.overloaded() || d.active() > w || w == 0 {
            continue;
        }
        if best.is_none_or(|(_, hw)| w > hw) {
            best = Some((i, w));
        }
    }
    best.map(|(i, _)| i)
}

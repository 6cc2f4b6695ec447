//! Least-connection (`ip_vs_lc.c`): the smallest overhead, weights ignored
//! except that weight 0 quiesces.

use crate::lvs::dest::{Accounting, Dest};

/// `ip_vs_lc_schedule`: the first destination with the strictly smallest
/// overhead, compared as `unsigned int`.
pub fn schedule(dests: &[Dest], acc: Accounting) -> Option<usize> {
    let mut least: Option<(usize, u32)> = None;
    for (i, d) in dests.iter().enumerate() {
        if d.overloaded() || d.weight() == 0 {
            continue;
        }
        let doh = d.overhead(acc) as u32;
        if least.is_none_or(|(_, loh)| doh < loh) {
            least = Some((i, doh));
        }
    }
    least.map(|(i, _)| i)
}

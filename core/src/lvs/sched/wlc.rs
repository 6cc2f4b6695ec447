//! Weighted least-connection (`ip_vs_wlc.c`): the smallest overhead per
//! unit of weight.

use crate::lvs::dest::{Accounting, Dest};

/// `ip_vs_wlc_schedule`.
pub fn schedule(dests: &[Dest], acc: Accounting) -> Option<usize> {
    weighted_least(dests, |d| d.overhead(acc))
}

/// The loop wlc, sed, lblc and lblcr share: start from the first
/// destination that is not overloaded and has weight > 0, then take a later
/// one only when its load is strictly smaller, `loh/lw > doh/dw` compared
/// as `loh × dw > doh × lw` in 64 bits so there is no division. Ties keep
/// the earlier destination; weight 0 can never win the comparison.
pub(crate) fn weighted_least(dests: &[Dest], overhead: impl Fn(&Dest) -> i32) -> Option<usize> {
    let first = dests
        .iter()
        .position(|d| !d.overloaded() && d.weight() > 0)?;
    let mut least = first;
    let mut loh = overhead(&dests[first]);
    for (i, d) in dests.iter().enumerate().skip(first + 1) {
        if d.overloaded() {
            continue;
        }
        let doh = overhead(d);
        if i64::from(loh) * i64::from(d.weight())
            > i64::from(doh) * i64::from(dests[least].weight())
        {
            least = i;
            loh = doh;
        }
    }
    Some(least)
}

//! Shortest expected delay (`ip_vs_sed.c`): wlc with (active + 1) as the
//! overhead, so inactive connections do not count and an idle heavy
//! server beats an idle light one.

use super::wlc::weighted_least;
use crate::lvs::dest::Dest;

/// `ip_vs_sed_schedule`.
pub fn schedule(dests: &[Dest]) -> Option<usize> {
    weighted_least(dests, expected_delay)
}

/// `ip_vs_sed_dest_overhead`, also nq's.
pub(crate) fn expected_delay(d: &Dest) -> i32 {
    d.active().wrapping_add(1)
}

//! Never queue (`ip_vs_nq.c`): an idle destination if there is one,
//! else sed's choice.

use super::sed::expected_delay;
use crate::lvs::dest::Dest;

/// `ip_vs_nq_schedule`: the first usable destination with no active
/// connection wins at once; otherwise the smallest (active + 1) / weight,
/// ties to the earlier one.
pub fn schedule(dests: &[Dest]) -> Option<usize> {
    let mut least: Option<(usize, i32)> = None;
    for (i, d) in dests.iter().enumerate() {
        if d.overloaded() || d.weight() == 0 {
            continue;
        }
        let doh = expected_delay(d);
        if d.active() == 0 {
            return Some(i);
        }
        let better = match least {
            None => true,
            Some((l, loh)) => {
                i64::from(loh) * i64::from(d.weight())
                    > i64::from(doh) * i64::from(dests[l].weight())
            }
        };
        if better {
            least = Some((i, doh));
        }
    }
    least.map(|(i, _)| i)
}

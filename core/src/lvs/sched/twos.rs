//! Power of two choices (`ip_vs_twos.c`): two destinations drawn at random
//! in proportion to their weights, and the less loaded one of the pair.
//!
//! The kernel draws from `prandom`; vigil draws from a seeded generator so
//! a run replays. The choices follow the kernel's for the same two draws.

use crate::lvs::dest::{Accounting, Dest};

/// The generator: SplitMix64, seeded by the caller.
#[derive(Clone, Debug)]
pub struct Twos {
    state: u64,
}

impl Twos {
    pub fn new(seed: u64) -> Self {
        Twos { state: seed }
    }

    fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 32) as u32
    }

    /// `prandom_u32_max(n)`: a draw in `[0, n)` by multiply-shift.
    fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }

    /// `ip_vs_twos_schedule`: two draws in `[0, sum of weights]`, then
    /// [`pick`].
    pub fn schedule(&mut self, dests: &[Dest], acc: Accounting) -> Option<usize> {
        let total = dests
            .iter()
            .filter(|d| usable(d))
            .fold(0i32, |t, d| t.wrapping_add(d.weight()));
        if !dests.iter().any(usable) {
            return None;
        }
        // The sum plus one, so both ends are included.
        let span = total.wrapping_add(1) as u32;
        let r1 = self.below(span);
        let r2 = self.below(span);
        pick(dests, acc, r1, r2)
    }
}

fn usable(d: &Dest) -> bool {
    !d.overloaded() && d.weight() > 0
}

/// The choice for draws `r1` and `r2`: each lands on the first usable
/// destination where the running sum of weights reaches it; the second
/// replaces the first only with a strictly smaller overhead per weight.
pub(crate) fn pick(dests: &[Dest], acc: Accounting, r1: u32, r2: u32) -> Option<usize> {
    let mut choice1 = dests.iter().rposition(usable)?;
    let (mut r1, mut r2) = (r1 as i32, r2 as i32);
    let (mut w1, mut w2, mut oh1, mut oh2) = (-1i32, -1i32, 0i32, 0i32);
    let mut choice2 = None;
    for (i, d) in dests.iter().enumerate() {
        if !usable(d) {
            continue;
        }
        let w = d.weight();
        r1 = r1.wrapping_sub(w);
        r2 = r2.wrapping_sub(w);
        if r1 <= 0 && w1 == -1 {
            choice1 = i;
            w1 = w;
            oh1 = d.overhead(acc);
        }
        if r2 <= 0 && w2 == -1 {
            choice2 = Some(i);
            w2 = w;
            oh2 = d.overhead(acc);
        }
        if w1 != -1 && w2 != -1 {
            break;
        }
    }
    // `weight2 * overhead1 > weight1 * overhead2`, in C int.
    if let Some(c2) = choice2
        && w2.wrapping_mul(oh1) > w1.wrapping_mul(oh2)
    {
        choice1 = c2;
    }
    Some(choice1)
}

//! Round-robin (`ip_vs_rr.c`): the next usable destination after the last
//! one picked, in list order.

use crate::lvs::dest::Dest;

/// The cursor: the list position of the last pick, `None` for the list head.
///
/// The kernel keeps a pointer to a list node, so the cursor follows its
/// destination when one is added at the head; rr has no `add_dest` hook
/// and its `del_dest` hook moves the cursor back to the previous node.
#[derive(Clone, Debug, Default)]
pub struct Rr {
    cursor: Option<usize>,
}

impl Rr {
    pub fn schedule(&mut self, dests: &[Dest]) -> Option<usize> {
        // ip_vs_rr_schedule: scan from after the cursor to the end, then
        // from the first entry up to and including the cursor; from the
        // head, a single pass.
        let start = self.cursor.map_or(0, |c| c + 1);
        let wrap = self.cursor.map_or(0, |c| c + 1);
        let hit = (start..dests.len())
            .chain(0..wrap.min(dests.len()))
            .find(|&i| dests[i].available())?;
        self.cursor = Some(hit);
        Some(hit)
    }

    /// A destination was linked at the head of the list.
    pub fn inserted_at_head(&mut self) {
        if let Some(c) = &mut self.cursor {
            *c += 1;
        }
    }

    /// `ip_vs_rr_del_dest`: the destination at `pos` was unlinked.
    pub fn removed(&mut self, pos: usize) {
        self.cursor = match self.cursor {
            Some(c) if c == pos => pos.checked_sub(1),
            Some(c) if c > pos => Some(c - 1),
            other => other,
        };
    }
}

//! Maglev hashing (`ip_vs_mh.c`, after Eisenbud et al., NSDI 2016): each
//! destination walks its own permutation of a prime-sized table and claims
//! the first free slot in turn, so adding or removing one destination moves
//! only about 1/N of the slots.
//!
//! The kernel hashes with `hsiphash` under fixed keys, so the table depends
//! only on the destinations: vigil's table is the kernel's.

use crate::lvs::dest::Dest;
use crate::lvs::hash::{HsipKey, fold_addr, hsiphash_u32};
use std::net::IpAddr;

/// The table sizes `CONFIG_IP_VS_MH_TAB_INDEX` (8..=17) selects.
pub const PRIMES: [u32; 10] = [
    251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
];

/// `CONFIG_IP_VS_MH_TAB_INDEX`'s default: 12, a table of 4093.
pub const DEFAULT_TAB_INDEX: u8 = 12;

/// `generate_hash_secret`: both words of each key are the same constant.
const HASH1: HsipKey = [2_654_435_761, 2_654_435_761];
const HASH2: HsipKey = [2_654_446_892, 2_654_446_892];

#[derive(Clone, Debug)]
pub struct Mh {
    /// Slot → list position of its destination.
    lookup: Vec<Option<u32>>,
    /// `IP_VS_MH_TAB_BITS`: weights are shifted down to fit this many bits.
    tab_bits: u32,
    gcd: i32,
    rshift: u32,
}

impl Mh {
    /// A table for `CONFIG_IP_VS_MH_TAB_INDEX` = `tab_index` (clamped to
    /// 8..=17), built from `dests` (`ip_vs_mh_init_svc`).
    pub fn new(dests: &[Dest], tab_index: u8) -> Self {
        let tab_index = tab_index.clamp(8, 17);
        let size = PRIMES[usize::from(tab_index - 8)] as usize;
        let mut mh = Mh {
            lookup: vec![None; size],
            tab_bits: u32::from(tab_index / 2),
            gcd: 0,
            rshift: 0,
        };
        mh.dest_changed(dests);
        mh
    }

    fn size(&self) -> u32 {
        self.lookup.len() as u32
    }

    /// `ip_vs_mh_dest_changed`, the add, delete and update hook.
    pub fn dest_changed(&mut self, dests: &[Dest]) {
        self.gcd = gcd_last_weight(dests);
        self.rshift = self.shift_weight(dests);
        // ip_vs_mh_reassign refuses more destinations than slots and leaves
        // the old table.
        if dests.len() > self.lookup.len() {
            return;
        }
        self.populate(dests);
    }

    /// A destination was linked at the head; only matters for a table the
    /// kernel refused to rebuild.
    pub fn inserted_at_head(&mut self) {
        for s in self.lookup.iter_mut().flatten() {
            *s += 1;
        }
    }

    /// The destination at `pos` was unlinked; the same caveat as above,
    /// except that the kernel's stale slots would still reach the removed
    /// destination, where vigil's find nobody.
    pub fn removed(&mut self, pos: usize) {
        let pos = pos as u32;
        for s in &mut self.lookup {
            *s = match *s {
                Some(p) if p == pos => None,
                Some(p) if p > pos => Some(p - 1),
                other => other,
            };
        }
    }

    /// `ip_vs_mh_shift_weight`: how far to shift weight/gcd so the largest
    /// fits in `tab_bits` bits.
    fn shift_weight(&self, dests: &[Dest]) -> u32 {
        if self.gcd < 1 {
            return 0;
        }
        let mw = dests.iter().map(Dest::last_weight).fold(0, i32::max) / self.gcd;
        let fls = 32 - (mw as u32).leading_zeros();
        fls.saturating_sub(self.tab_bits)
    }

    /// `ip_vs_mh_permutate` + `ip_vs_mh_populate`.
    fn populate(&mut self, dests: &[Dest]) {
        if self.gcd < 1 {
            // No destination, or all were added with weight 0.
            self.lookup.iter_mut().for_each(|s| *s = None);
            return;
        }
        let m = self.size();
        let setup: Vec<Setup> = dests
            .iter()
            .map(|d| {
                let key = d.key();
                let offset = hashkey(key.addr, key.port, &HASH1, 0) % m;
                let skip = hashkey(key.addr, key.port, &HASH2, 0) % (m - 1) + 1;
                let lw = d.last_weight();
                let turns = match (lw / self.gcd) >> self.rshift {
                    0 => i32::from(lw != 0),
                    t => t,
                };
                Setup {
                    perm: offset,
                    skip,
                    turns,
                }
            })
            .collect();
        let mut setup = setup;
        let mut taken = vec![false; m as usize];
        let mut n = 0u32;
        // Round after round over the list, each destination claiming
        // `turns` slots from its permutation per round.
        loop {
            for (pos, ds) in setup.iter_mut().enumerate() {
                if ds.turns < 1 {
                    continue;
                }
                for _ in 0..ds.turns {
                    while taken[ds.perm as usize] {
                        ds.perm += ds.skip;
                        if ds.perm >= m {
                            ds.perm -= m;
                        }
                    }
                    taken[ds.perm as usize] = true;
                    self.lookup[ds.perm as usize] = Some(pos as u32);
                    n += 1;
                    if n == m {
                        return;
                    }
                }
            }
        }
    }

    /// `ip_vs_mh_schedule`: `port` is the client's port with mh-port and 0
    /// without; with mh-fallback an unusable slot sends the lookup on
    /// through rehashed slots (`ip_vs_mh_get_fallback`).
    pub fn schedule(
        &self,
        dests: &[Dest],
        saddr: IpAddr,
        port: u16,
        fallback: bool,
    ) -> Option<usize> {
        let m = self.size();
        // None: empty slot; Some(None): unusable destination.
        let usable = |slot: u32| -> Option<Option<usize>> {
            let pos = self.lookup[slot as usize]? as usize;
            Some(dests.get(pos).filter(|d| d.available()).map(|_| pos))
        };
        let ihash = hashkey(saddr, port, &HASH1, 0) % m;
        let first = usable(ihash)?;
        if first.is_some() || !fallback {
            return first;
        }
        for offset in 0..m {
            let roffset = (offset + ihash) % m;
            let hash = hashkey(saddr, port, &HASH1, roffset) % m;
            if let Some(pos) = usable(hash)? {
                return Some(pos);
            }
        }
        None
    }

    pub fn table(&self) -> &[Option<u32>] {
        &self.lookup
    }
}

/// `struct ip_vs_mh_dest_setup`.
struct Setup {
    perm: u32,
    skip: u32,
    turns: i32,
}

/// `ip_vs_mh_gcd_weight`: gcd of the last weights above 0, 0 if none.
fn gcd_last_weight(dests: &[Dest]) -> i32 {
    dests
        .iter()
        .map(Dest::last_weight)
        .filter(|&w| w > 0)
        .fold(0, |g, w| if g > 0 { super::wrr::gcd(w, g) } else { w })
}

/// `ip_vs_mh_hashkey`: hsiphash of `offset + port + addr` as one `u32`.
fn hashkey(addr: IpAddr, port: u16, key: &HsipKey, offset: u32) -> u32 {
    let v = offset
        .wrapping_add(u32::from(port))
        .wrapping_add(fold_addr(addr));
    hsiphash_u32(key, v)
}

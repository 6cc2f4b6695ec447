//! Source hashing (`ip_vs_sh.c`): a 256-bucket table where each
//! destination fills as many consecutive buckets as its weight, looked up by
//! the client's address (and port with sh-port).

use crate::lvs::dest::Dest;
use crate::lvs::hash::{fold_addr, hash_32};
use std::net::IpAddr;

/// `CONFIG_IP_VS_SH_TAB_BITS`, the kernel's default.
pub const TAB_BITS: u32 = 8;
const TAB_SIZE: usize = 1 << TAB_BITS;
const TAB_MASK: u32 = (1 << TAB_BITS) - 1;

#[derive(Clone, Debug)]
pub struct Sh {
    buckets: Vec<Option<u32>>,
}

impl Sh {
    pub fn new(dests: &[Dest]) -> Self {
        let mut sh = Sh {
            buckets: vec![None; TAB_SIZE],
        };
        sh.reassign(dests);
        sh
    }

    /// `ip_vs_sh_reassign`, the add, delete and update hook: walk the list
    /// round and round, giving each destination `weight` buckets in a row
    /// (at least one: a weight-0 destination still takes one bucket, which
    /// then finds nobody).
    pub fn reassign(&mut self, dests: &[Dest]) {
        if dests.is_empty() {
            self.buckets.iter_mut().for_each(|b| *b = None);
            return;
        }
        let mut pos = 0usize;
        let mut count = 0i32;
        for b in &mut self.buckets {
            *b = Some(pos as u32);
            count += 1;
            if count >= dests[pos].weight() {
                pos = (pos + 1) % dests.len();
                count = 0;
            }
        }
    }

    /// `ip_vs_sh_schedule`: `port` is the client's port with sh-port and 0
    /// without; with sh-fallback an unusable bucket sends the lookup round
    /// the table (`ip_vs_sh_get_fallback`).
    pub fn schedule(
        &self,
        dests: &[Dest],
        saddr: IpAddr,
        port: u16,
        fallback: bool,
    ) -> Option<usize> {
        let usable = |b: Option<u32>| -> Option<Option<usize>> {
            // None: empty bucket; Some(None): unusable destination.
            let pos = b? as usize;
            Some(dests.get(pos).filter(|d| d.available()).map(|_| pos))
        };
        let ihash = hashkey(saddr, port, 0);
        let first = usable(self.buckets[ihash as usize])?;
        if first.is_some() || !fallback {
            return first;
        }
        for offset in 0..TAB_SIZE as u32 {
            let roffset = (offset + ihash) % TAB_SIZE as u32;
            let hash = hashkey(saddr, port, roffset);
            match usable(self.buckets[hash as usize])? {
                Some(pos) => return Some(pos),
                None => continue,
            }
        }
        None
    }

    pub fn table(&self) -> &[Option<u32>] {
        &self.buckets
    }
}

/// `ip_vs_sh_hashkey`: `(offset + hash_32(port + addr, 8)) & 255`.
fn hashkey(addr: IpAddr, port: u16, offset: u32) -> u32 {
    let v = u32::from(port).wrapping_add(fold_addr(addr));
    offset.wrapping_add(hash_32(v, TAB_BITS)) & TAB_MASK
}

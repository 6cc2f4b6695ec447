//! Destination hashing (`ip_vs_dh.c`): a 256-bucket table filled with the
//! destinations in list order, looked up by the packet's destination
//! address.

use crate::lvs::dest::Dest;
use crate::lvs::hash::{fold_addr, hash_32};
use std::net::IpAddr;

/// `CONFIG_IP_VS_DH_TAB_BITS`, the kernel's default.
pub const TAB_BITS: u32 = 8;
const TAB_SIZE: usize = 1 << TAB_BITS;

#[derive(Clone, Debug)]
pub struct Dh {
    buckets: Vec<Option<u32>>,
}

impl Dh {
    pub fn new(dests: &[Dest]) -> Self {
        let mut dh = Dh {
            buckets: vec![None; TAB_SIZE],
        };
        dh.reassign(dests);
        dh
    }

    /// `ip_vs_dh_reassign`, the add and delete hook (dh has no update
    /// hook: weights do not shape its table). Bucket i gets destination
    /// i mod n, whatever its weight.
    pub fn reassign(&mut self, dests: &[Dest]) {
        let n = dests.len();
        for (i, b) in self.buckets.iter_mut().enumerate() {
            *b = (n > 0).then(|| (i % n) as u32);
        }
    }

    /// `ip_vs_dh_schedule`: the bucket's destination, or none when it is
    /// quiesced or overloaded.
    pub fn schedule(&self, dests: &[Dest], daddr: IpAddr) -> Option<usize> {
        let pos = self.bucket(daddr)? as usize;
        dests.get(pos).filter(|d| d.available()).map(|_| pos)
    }

    fn bucket(&self, daddr: IpAddr) -> Option<u32> {
        let h = hash_32(fold_addr(daddr), TAB_BITS) as usize;
        self.buckets.get(h).copied().flatten()
    }

    pub fn table(&self) -> &[Option<u32>] {
        &self.buckets
    }
}

//! The hash functions IPVS schedulers use to place addresses, bit for bit.
//!
//! sh, dh, lblc and lblcr multiply by the golden ratio (`hash_32` in
//! `include/linux/hash.h`); mh uses `hsiphash` with fixed keys
//! (`ip_vs_mh.c: generate_hash_secret`). All of them first fold an IPv6
//! address into 32 bits by XOR-ing its four words.

use std::net::IpAddr;

/// `GOLDEN_RATIO_32` from `include/linux/hash.h`.
const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// `hash_32(val, bits)`: the top `bits` bits of `val × GOLDEN_RATIO_32`.
///
/// `bits` is 1..=32 for every caller (the kernel's table sizes).
pub fn hash_32(val: u32, bits: u32) -> u32 {
    let h = val.wrapping_mul(GOLDEN_RATIO_32);
    match bits {
        0 => 0,
        b if b >= 32 => h,
        b => h >> (32 - b),
    }
}

/// An address as the schedulers hash it: `ntohl(addr->ip)` for IPv4,
/// `ntohl(ip6[0] ^ ip6[1] ^ ip6[2] ^ ip6[3])` for IPv6.
pub fn fold_addr(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let o = a.octets();
            o.chunks_exact(4)
                .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
                .fold(0, |acc, w| acc ^ w)
        }
    }
}

/// The key of `hsiphash`: two machine words, as `hsiphash_key_t` holds them
/// on a 64-bit kernel.
pub type HsipKey = [u64; 2];

/// `hsiphash` as a 64-bit kernel computes it.
///
/// On 64-bit kernels `lib/siphash.c` makes "HalfSipHash-1-3" actually be
/// SipHash-1-3 over 64-bit words (one compression round per 8-byte block,
/// three finalisation rounds) and returns the low 32 bits of
/// `v0 ^ v1 ^ v2 ^ v3`. The IPVS hosts this project targets are 64-bit,
/// so that is the variant vigil reproduces.
pub fn hsiphash(key: &HsipKey, data: &[u8]) -> u32 {
    let mut s = SipState::new(key);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut w = [0u8; 8];
        w.copy_from_slice(block);
        let m = u64::from_le_bytes(w);
        s.v3 ^= m;
        s.round();
        s.v0 ^= m;
    }
    let mut tail = [0u8; 8];
    let rest = blocks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    // The length's low byte goes in the top byte of the last block.
    let b = ((data.len() as u64) << 56) | u64::from_le_bytes(tail);
    s.v3 ^= b;
    s.round();
    s.v0 ^= b;
    s.v2 ^= 0xff;
    s.round();
    s.round();
    s.round();
    (s.v0 ^ s.v1 ^ s.v2 ^ s.v3) as u32
}

/// `hsiphash` of one native-endian `u32`, as `ip_vs_mh_hashkey` passes it
/// (`hsiphash(&v, sizeof(v), key)` on a little-endian host).
pub fn hsiphash_u32(key: &HsipKey, v: u32) -> u32 {
    hsiphash(key, &v.to_le_bytes())
}

struct SipState {
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
}

impl SipState {
    /// The SipHash initialisation ("somepseudorandomlygeneratedbytes").
    fn new(key: &HsipKey) -> Self {
        SipState {
            v0: 0x736f_6d65_7073_6575 ^ key[0],
            v1: 0x646f_7261_6e64_6f6d ^ key[1],
            v2: 0x6c79_6765_6e65_7261 ^ key[0],
            v3: 0x7465_6462_7974_6573 ^ key[1],
        }
    }

    /// One SipRound.
    fn round(&mut self) {
        self.v0 = self.v0.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(13) ^ self.v0;
        self.v0 = self.v0.rotate_left(32);
        self.v2 = self.v2.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(16) ^ self.v2;
        self.v0 = self.v0.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(21) ^ self.v0;
        self.v2 = self.v2.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(17) ^ self.v2;
        self.v2 = self.v2.rotate_left(32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The 64-bit `hsiphash` known answers of the kernel's self-test
    /// (`lib/test_siphash.c`, `test_vectors_hsiphash` under
    /// `BITS_PER_LONG == 64`): key 00..0f, input `[0, 1, .., len-1]`.
    const KERNEL_HSIPHASH_64: [u32; 64] = [
        0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67, 0xc59f22a7,
        0x9bb11140, 0x8d299a8e, 0x6c063de4, 0x92ff097f, 0xf94dc352, 0x57b4d9a2, 0x1229ffa7,
        0xc0f95d34, 0x2a519956, 0x7d908b66, 0x63dbd80c, 0xb473e63e, 0x8d297d1c, 0xa6cce040,
        0x2b45f844, 0xa320872e, 0xdae6c123, 0x67349c8c, 0x705b0979, 0xca9913a5, 0x4ade3b35,
        0xef6cd00d, 0x4ab1e1f4, 0x43c5e663, 0x8c21d1bc, 0x16a7b60d, 0x7a8ff9bf, 0x1f2a753e,
        0xbf186b91, 0xada26206, 0xa3c33057, 0xae3a36a1, 0x7b108392, 0x99e41531, 0x3f1ad944,
        0xc8138825, 0xc28949a6, 0xfaf8876b, 0x9f042196, 0x68b1d623, 0x8b5114fd, 0xdf074c46,
        0x12cc86b3, 0x0a52098f, 0x9d292f9a, 0xa2f41f12, 0x43a71ed0, 0x73f0bce6, 0x70a7e980,
        0x243c6d75, 0xfdb71513, 0xa67d8a08, 0xb7e8f148, 0xf7a644ee, 0x0f1837f2, 0x4b6694e0,
        0xb7bbb3a8,
    ];

    #[test]
    fn hsiphash_matches_the_kernel_self_test_vectors_on_64_bit() {
        let key = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
        let input: Vec<u8> = (0u8..64).collect();
        for (len, want) in KERNEL_HSIPHASH_64.iter().enumerate() {
            assert_eq!(hsiphash(&key, &input[..len]), *want, "length {len}");
        }
    }

    #[test]
    fn hsiphash_u32_hashes_the_little_endian_bytes() {
        let key = [2_654_435_761, 2_654_435_761];
        let v = 0x0a00_0001u32;
        assert_eq!(hsiphash_u32(&key, v), hsiphash(&key, &[1, 0, 0, 10]));
    }

    #[test]
    fn hash_32_takes_the_top_bits_of_the_golden_ratio_product() {
        assert_eq!(hash_32(0, 8), 0);
        assert_eq!(hash_32(1, 8), 0x61);
        assert_eq!(hash_32(1, 10), 0x61C8_8647 >> 22);
        assert_eq!(hash_32(2, 32), 0xC391_0C8E);
    }

    #[test]
    fn ipv6_addresses_fold_by_xor_of_their_words() {
        let a = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        assert_eq!(fold_addr(a.into()), 0x2001_0db8 ^ 1);
        assert_eq!(fold_addr(Ipv4Addr::new(10, 0, 0, 1).into()), 0x0a00_0001);
    }
}

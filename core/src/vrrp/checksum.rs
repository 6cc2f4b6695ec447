//! The Internet checksum (RFC 1071) and the pseudo-headers VRRP puts under it.
//!
//! Kept apart from the codec so the IPv4 header, the v2 message (no pseudo-header)
//! and the v3 message (RFC 5798 §5.2.8: with one) all share one summing routine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A running one's-complement sum of 16-bit big-endian words.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sum(u32);

impl Sum {
    /// Adds `bytes`; an odd trailing byte counts as if followed by a zero.
    /// Every caller passes an even-length piece except possibly the last.
    pub(crate) fn add(mut self, bytes: &[u8]) -> Self {
        let mut words = bytes.chunks_exact(2);
        for w in &mut words {
            self.0 += u32::from(u16::from_be_bytes([w[0], w[1]]));
            self = self.fold_once();
        }
        if let [last] = words.remainder() {
            self.0 += u32::from(*last) << 8;
        }
        self.fold_once()
    }

    /// Keeps the accumulator small enough that adding a word cannot overflow.
    fn fold_once(self) -> Self {
        Sum((self.0 & 0xffff) + (self.0 >> 16))
    }

    /// The value to store in a checksum field (computed with that field zeroed).
    /// Summed over data that already holds a correct checksum, this is 0.
    pub(crate) fn finish(self) -> u16 {
        let folded = self.fold_once().fold_once().0;
        // After two folds the value fits 16 bits; the mask only documents it.
        !((folded & 0xffff) as u16)
    }
}

/// The pseudo-header sum for `len` bytes of VRRP between `src` and `dst`.
///
/// The family comes from `dst`; a `src` of the other family counts as the
/// unspecified address, so a mismatched pair gives a checksum no receiver accepts
/// rather than a panic.
pub(crate) fn pseudo_header(src: IpAddr, dst: IpAddr, len: u16) -> Sum {
    match dst {
        IpAddr::V4(dst) => {
            let src = match src {
                IpAddr::V4(s) => s,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            };
            let len = len.to_be_bytes();
            Sum::default().add(&src.octets()).add(&dst.octets()).add(&[
                0,
                super::packet::PROTO_VRRP,
                len[0],
                len[1],
            ])
        }
        IpAddr::V6(dst) => {
            let src = match src {
                IpAddr::V6(s) => s,
                IpAddr::V4(_) => Ipv6Addr::UNSPECIFIED,
            };
            let len = u32::from(len).to_be_bytes();
            Sum::default()
                .add(&src.octets())
                .add(&dst.octets())
                .add(&len)
                .add(&[0, 0, 0, super::packet::PROTO_VRRP])
        }
    }
}

/// The Internet checksum of `bytes` (an IPv4 header with its checksum
/// field zeroed, say): for tools that forge packets, such as the lab's
/// injector, so they need no summing routine of their own.
pub fn internet(bytes: &[u8]) -> u16 {
    Sum::default().add(bytes).finish()
}

/// The checksum of a VRRP message `msg` (checksum field zeroed) from `src`
/// to `dst`: over the message alone when `with_pseudo_header` is false
/// (v2 over IPv4), else with the pseudo-header (v3).
pub fn vrrp(src: IpAddr, dst: IpAddr, msg: &[u8], with_pseudo_header: bool) -> u16 {
    let sum = if with_pseudo_header {
        pseudo_header(src, dst, u16::try_from(msg.len()).unwrap_or(u16::MAX))
    } else {
        Sum::default()
    };
    sum.add(msg).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_the_published_value() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (checksum 220d).
        let sum = Sum::default().add(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(sum.finish(), 0x220d);
    }

    #[test]
    fn odd_length_pads_with_a_zero_byte() {
        let odd = Sum::default().add(&[0x12, 0x34, 0x56]).finish();
        let even = Sum::default().add(&[0x12, 0x34, 0x56, 0x00]).finish();
        assert_eq!(odd, even);
    }

    #[test]
    fn data_with_its_checksum_sums_to_zero() {
        let mut data = vec![0x45, 0x00, 0x00, 0x28, 0xab, 0xcd, 0x00, 0x00];
        let c = Sum::default().add(&data).finish();
        data.extend_from_slice(&c.to_be_bytes());
        assert_eq!(Sum::default().add(&data).finish(), 0);
    }
}

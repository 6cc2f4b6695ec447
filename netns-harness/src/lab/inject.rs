//! Hostile and broken VRRP adverts put on a lab segment from a namespace of
//! the test's, for the hardening tests: whole Ethernet frames over the
//! daemon's own AF_PACKET socket, because a raw IP socket would fix the
//! header checksum and the total length that some of the forgeries get
//! wrong on purpose.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use vigil_core::vrrp::checksum;
use vigil_core::vrrp::packet::{Advert, Version};

use super::probe::enter;
use crate::driver::arp::Announcer;
use crate::error::{Error, Result};

/// 224.0.0.18 on Ethernet (RFC 1112's mapping).
pub const VRRP_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
const ETH_P_IP: u16 = 0x0800;
const IP_HEADER: usize = 20;

/// One way to spoil a well-formed advert.
#[derive(Clone, Copy, Debug)]
pub enum Spoil {
    /// As encoded: to carry a forged field of the advert itself.
    Nothing,
    Ttl(u8),
    IpChecksum,
    VrrpChecksum,
    /// The VRRP version nibble.
    Version(u8),
    /// The VRRP type nibble.
    Type(u8),
    /// The v2 auth type byte (2 is IPsec AH).
    AuthType(u8),
    /// IP protocol (51 is AH).
    Protocol(u8),
    /// Only the first 6 bytes of the VRRP message.
    Truncated,
    /// 8 bytes of junk after the message, counted in every length.
    OverLong,
    /// An address count of 5 over the message's one address.
    CountLies,
}

/// The IPv4 datagram of `advert` from `src` to `dst`, spoiled by `spoil`;
/// every checksum the spoil does not target is made right again.
pub fn datagram(advert: &Advert, src: Ipv4Addr, dst: Ipv4Addr, spoil: Spoil) -> Vec<u8> {
    let mut d = advert.encode_ipv4(src, dst, 0);
    match spoil {
        Spoil::Nothing | Spoil::IpChecksum | Spoil::VrrpChecksum => {}
        Spoil::Ttl(ttl) => d[8] = ttl,
        Spoil::Version(v) => d[IP_HEADER] = (v << 4) | (d[IP_HEADER] & 0x0f),
        Spoil::Type(t) => d[IP_HEADER] = (d[IP_HEADER] & 0xf0) | (t & 0x0f),
        Spoil::AuthType(t) => d[IP_HEADER + 4] = t,
        Spoil::Protocol(p) => d[9] = p,
        Spoil::Truncated => d.truncate(IP_HEADER + 6),
        Spoil::OverLong => d.extend_from_slice(&[0xa5; 8]),
        Spoil::CountLies => d[IP_HEADER + 3] = 5,
    }
    let total = u16::try_from(d.len()).expect("a small datagram");
    d[2..4].copy_from_slice(&total.to_be_bytes());
    if !matches!(spoil, Spoil::Truncated) {
        fix_vrrp_checksum(&mut d, advert.version, src, dst);
    }
    if matches!(spoil, Spoil::VrrpChecksum) {
        d[IP_HEADER + 6] ^= 0xff;
    }
    d[10..12].fill(0);
    let ip = checksum::internet(&d[..IP_HEADER]);
    d[10..12].copy_from_slice(&ip.to_be_bytes());
    if matches!(spoil, Spoil::IpChecksum) {
        d[10] ^= 0xff;
    }
    d
}

/// v2 sums the message alone (RFC 3768 §5.3.8), v3 with the pseudo-header.
fn fix_vrrp_checksum(d: &mut [u8], version: Version, src: Ipv4Addr, dst: Ipv4Addr) {
    let msg = &mut d[IP_HEADER..];
    msg[6..8].fill(0);
    let sum = checksum::vrrp(src.into(), dst.into(), msg, version == Version::V3);
    msg[6..8].copy_from_slice(&sum.to_be_bytes());
}

/// A packet socket on an interface of a namespace.
pub struct Injector {
    socket: Announcer,
    ifindex: u32,
    src_mac: [u8; 6],
}

impl Injector {
    /// Opens the socket on `iface` inside namespace `ns`; the socket stays
    /// in that namespace whichever thread sends on it.
    pub fn open(ns: &str, iface: &str) -> Result<Injector> {
        let (ns, iface) = (ns.to_string(), iface.to_string());
        std::thread::spawn(move || {
            enter(&ns)?;
            Injector::open_here(&iface)
        })
        .join()
        .map_err(|_| Error::Config("the injector's thread panicked".into()))?
    }

    fn open_here(iface: &str) -> Result<Injector> {
        let name =
            std::ffi::CString::new(iface).map_err(|_| Error::Config("NUL in name".into()))?;
        // SAFETY: a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::io(format!("no interface {iface}"))(e));
        }
        let mac = std::fs::read_to_string(format!("/sys/class/net/{iface}/address"))
            .map_err(Error::io(format!("the address of {iface}")))?;
        let mut src_mac = [0u8; 6];
        for (b, hex) in src_mac.iter_mut().zip(mac.trim().split(':')) {
            *b = u8::from_str_radix(hex, 16).map_err(|_| Error::Config(format!("MAC {mac}")))?;
        }
        Ok(Injector {
            socket: Announcer::open()?,
            ifindex,
            src_mac,
        })
    }

    /// The Ethernet frame carrying `datagram` to `dst_mac`.
    pub fn frame(&self, dst_mac: [u8; 6], datagram: &[u8]) -> Vec<u8> {
        let mut f = Vec::with_capacity(14 + datagram.len());
        f.extend_from_slice(&dst_mac);
        f.extend_from_slice(&self.src_mac);
        f.extend_from_slice(&ETH_P_IP.to_be_bytes());
        f.extend_from_slice(datagram);
        f
    }

    /// Sends one frame.
    pub fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        self.socket.send(self.ifindex, frame)
    }

    /// Sends `frames` round robin at `rate` frames per second for `length`,
    /// in bursts each millisecond; returns how many the kernel took. A full
    /// transmit queue (ENOBUFS) drops that frame and goes on, as a flood
    /// does.
    pub fn flood(&self, frames: &[Vec<u8>], rate: u32, length: Duration) -> u64 {
        let start = Instant::now();
        let (mut offered, mut taken) = (0u64, 0u64);
        while start.elapsed() < length {
            let due = (start.elapsed().as_secs_f64() * f64::from(rate)) as u64;
            let skip = (offered % frames.len() as u64) as usize;
            for frame in frames
                .iter()
                .cycle()
                .skip(skip)
                .take((due - offered) as usize)
            {
                taken += u64::from(self.send(frame).is_ok());
            }
            offered = due.max(offered);
            std::thread::sleep(Duration::from_millis(1));
        }
        taken
    }
}

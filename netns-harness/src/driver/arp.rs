//! Gratuitous ARPs and unsolicited neighbour advertisements, sent as the
//! core's ready-made Ethernet frames ([`vigil_core::frame`]) over one
//! AF_PACKET socket: the kernel's own ARP and NDISC code cannot send an
//! announcement for an address on demand.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use std::net::IpAddr;
use vigil_core::frame::{self, Mac};

use crate::error::{Error, Result};

/// A send-only packet socket (protocol 0: the kernel delivers it nothing),
/// non-blocking so that a full queue costs an announcement, never an advert.
pub struct Announcer {
    fd: OwnedFd,
}

impl Announcer {
    pub fn open() -> Result<Announcer> {
        // SAFETY: plain socket(2); the descriptor is owned at once.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if fd < 0 {
            return Err(Error::io("AF_PACKET socket")(io::Error::last_os_error()));
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(Announcer {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr` from
    /// interface `index` whose address is `mac`.
    pub fn announce(&self, index: u32, mac: Mac, addr: IpAddr) -> io::Result<()> {
        let frame = match addr {
            IpAddr::V4(a) => frame::gratuitous_arp(mac, a),
            IpAddr::V6(a) => frame::unsolicited_na(mac, a),
        };
        self.send(index, &frame)
    }

    /// Sends a whole Ethernet frame out of interface `index` (the lab's
    /// injector sends its forged adverts this way too).
    pub fn send(&self, index: u32, frame: &[u8]) -> io::Result<()> {
        let (dst, ethertype) = match (frame.get(..6), frame.get(12..14)) {
            (Some(d), Some(t)) => (d, [t[0], t[1]]),
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "short frame")),
        };
        // SAFETY: all-zero is a valid sockaddr_ll; fields are set below.
        let mut to: libc::sockaddr_ll = unsafe { mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = u16::from_ne_bytes(ethertype);
        to.sll_ifindex = i32::try_from(index).map_err(io::Error::other)?;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(dst);
        // SAFETY: frame and `to` are live for the call, with their lengths.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const to).cast(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

//! One raw VRRP socket (IP protocol 112) per interface and family, set up as
//! keepalived sets its own up, so that what goes out is what the core built
//! and what comes in carries what the core validates (source, destination,
//! TTL / hop limit).
//!
//! - IPv4: `IP_HDRINCL` (the core builds the whole datagram: TTL 255,
//!   TOS 0xc0, its IP id), joined to 224.0.0.18 on the interface, loopback
//!   off; received datagrams include their IP header.
//! - IPv6: the kernel builds the header; hop limit 255, traffic class 0xc0,
//!   `IPV6_CHECKSUM` at offset 6 (the kernel fills in and verifies the VRRP
//!   checksum), joined to ff02::12; destination and hop limit of received
//!   packets come from `IPV6_PKTINFO` / `IPV6_HOPLIMIT` ancillary data.
//!
//! Both are bound to their interface (`SO_BINDTODEVICE`), so a packet is
//! handed to the core with the name of the interface it arrived on.

use std::io;
use std::mem::{self, MaybeUninit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use vigil_core::vrrp::packet::{MCAST_V4, MCAST_V6, PROTO_VRRP, TTL};
use vigil_core::vrrp::{Received, Transmit};

use crate::error::{Error, Result};

/// keepalived's DSCP for VRRP (CS6), in the TOS / traffic-class byte.
const TCLASS: u32 = 0xc0;
/// Where the VRRP checksum sits in the message.
const CHECKSUM_OFFSET: libc::c_int = 6;
/// Larger than any VRRP datagram (20 + 8 + 255 × 16 bytes at most).
const MAX_DATAGRAM: usize = 4200;

/// The address family of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    iface: String,
    index: u32,
    family: Family,
}

impl VrrpSocket {
    /// Opens and joins the VRRP group (and any other `groups`) on interface
    /// `iface` (index `index`).
    pub fn open(iface: &str, index: u32, family: Family, groups: &[IpAddr]) -> Result<VrrpSocket> {
        let what = |step: &str| format!("VRRP socket on {iface} ({family:?}): {step}");
        let domain = match family {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let proto = Protocol::from(i32::from(PROTO_VRRP));
        let sock =
            Socket::new(domain, Type::RAW, Some(proto)).map_err(Error::io(what("socket")))?;
        sock.bind_device(Some(iface.as_bytes()))
            .map_err(Error::io(what("SO_BINDTODEVICE")))?;
        match family {
            Family::V4 => {
                sock.set_header_included_v4(true)
                    .map_err(Error::io(what("IP_HDRINCL")))?;
                sock.set_multicast_loop_v4(false)
                    .map_err(Error::io(what("IP_MULTICAST_LOOP")))?;
                // Only the groups joined here, not every group the host joined.
                sock.set_multicast_all_v4(false)
                    .map_err(Error::io(what("IP_MULTICAST_ALL")))?;
                for g in groups_of(MCAST_V4.into(), groups, Family::V4) {
                    if let IpAddr::V4(g) = g {
                        sock.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(index))
                            .map_err(Error::io(what(&format!("join {g}"))))?;
                    }
                }
            }
            Family::V6 => {
                sock.set_multicast_hops_v6(u32::from(TTL))
                    .map_err(Error::io(what("IPV6_MULTICAST_HOPS")))?;
                sock.set_unicast_hops_v6(u32::from(TTL))
                    .map_err(Error::io(what("IPV6_UNICAST_HOPS")))?;
                sock.set_multicast_loop_v6(false)
                    .map_err(Error::io(what("IPV6_MULTICAST_LOOP")))?;
                sock.set_multicast_all_v6(false)
                    .map_err(Error::io(what("IPV6_MULTICAST_ALL")))?;
                sock.set_tclass_v6(TCLASS)
                    .map_err(Error::io(what("IPV6_TCLASS")))?;
                sock.set_recv_hoplimit_v6(true)
                    .map_err(Error::io(what("IPV6_RECVHOPLIMIT")))?;
                set_int(&sock, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
                    .map_err(Error::io(what("IPV6_RECVPKTINFO")))?;
                set_int(
                    &sock,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_CHECKSUM,
                    CHECKSUM_OFFSET,
                )
                .map_err(Error::io(what("IPV6_CHECKSUM")))?;
                for g in groups_of(MCAST_V6.into(), groups, Family::V6) {
                    if let IpAddr::V6(g) = g {
                        sock.join_multicast_v6(&g, index)
                            .map_err(Error::io(what(&format!("join {g}"))))?;
                    }
                }
            }
        }
        sock.set_nonblocking(true)
            .map_err(Error::io(what("O_NONBLOCK")))?;
        // Readable only: sends never wait (see `send`), so the reactor need
        // not wake for every EPOLLOUT edge after an advert.
        // SAFETY: the Socket owns its descriptor and the AsyncFd owns the
        // Socket, so the descriptor stays open and the same while registered.
        let fd = unsafe { AsyncFd::register_with_interest(sock, Interest::READABLE) }
            .map_err(|e| Error::io(what("register with tokio"))(io::Error::from(e)))?;
        Ok(VrrpSocket {
            fd,
            iface: iface.to_string(),
            index,
            family,
        })
    }

    /// The index of the interface the socket is bound to.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The next VRRP datagram that reached the interface. Cancel-safe: a
    /// datagram is read only when the future completes with it.
    pub async fn recv(&self) -> io::Result<Received> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let got = self
                .fd
                .async_io(Interest::READABLE, |s| match self.family {
                    Family::V4 => recv_v4(s, &mut buf),
                    Family::V6 => recv_v6(s, &mut buf),
                })
                .await?;
            if let Some((src, dst, ttl, n)) = got {
                buf.truncate(n);
                return Ok(Received {
                    iface: self.iface.clone(),
                    src,
                    dst,
                    ttl,
                    bytes: buf,
                });
            }
        }
    }

    /// Sends one advert the core built, without waiting: a raw socket's send
    /// only blocks when its buffer is full, and then a late advert is worth
    /// less than the next one (the kernel would drop it at the queue anyway).
    pub fn send(&self, t: &Transmit) -> io::Result<()> {
        let s = self.fd.get_ref();
        match (t.src, t.dst) {
            (IpAddr::V6(src), IpAddr::V6(dst)) => send_v6(s, src, dst, self.index, t.ttl, &t.bytes),
            (_, IpAddr::V4(dst)) => s
                .send_to(&t.bytes, &SockAddr::from(SocketAddrV4::new(dst, 0)))
                .map(drop),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "source and destination of different families",
            )),
        }
    }
}

/// The VRRP group of the family and the instances' own groups of that family.
fn groups_of(default: IpAddr, groups: &[IpAddr], family: Family) -> Vec<IpAddr> {
    let mut out = vec![default];
    for g in groups {
        if Family::of(*g) == family && g.is_multicast() && !out.contains(g) {
            out.push(*g);
        }
    }
    out
}

fn set_int(
    sock: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: value is a c_int that lives across the call; its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A datagram's source, destination, TTL and length; `None` for one too
/// short to carry an IPv4 header (the core never sees it).
type Got = Option<(IpAddr, IpAddr, u8, usize)>;

fn recv_v4(sock: &Socket, buf: &mut [u8]) -> io::Result<Got> {
    // SAFETY: u8 and MaybeUninit<u8> have the same layout; recv only writes.
    let uninit = unsafe { &mut *(std::ptr::from_mut::<[u8]>(buf) as *mut [MaybeUninit<u8>]) };
    let (n, _) = sock.recv_from(uninit)?;
    let Some(h) = buf.get(..n).and_then(|b| b.get(..20)) else {
        return Ok(None);
    };
    let addr = |o: usize| IpAddr::V4(Ipv4Addr::new(h[o], h[o + 1], h[o + 2], h[o + 3]));
    Ok(Some((addr(12), addr(16), h[8], n)))
}

/// Room for the IPV6_PKTINFO and IPV6_HOPLIMIT control messages.
const CMSG_SPACE: usize = 128;

fn recv_v6(sock: &Socket, buf: &mut [u8]) -> io::Result<Got> {
    // SAFETY: all-zero is a valid sockaddr_in6 / msghdr; the pointers set
    // below outlive the recvmsg call, and the lengths are their buffers'.
    let mut from: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    let mut control = [0u64; CMSG_SPACE / 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&raw mut from).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control);
    // SAFETY: msg points at live buffers as set up above.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &raw mut msg, 0) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    let mut dst = None;
    let mut hops = None;
    // SAFETY: the kernel filled msg_control with msg_controllen bytes of
    // well-formed cmsgs; CMSG_* walk within them, and each payload is read
    // unaligned with the type its level and kind define.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&raw const msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info: libc::in6_pktinfo = data.cast::<libc::in6_pktinfo>().read_unaligned();
                    dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    let h: libc::c_int = data.cast::<libc::c_int>().read_unaligned();
                    hops = u8::try_from(h).ok();
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&raw const msg, c);
        }
    }
    let src = Ipv6Addr::from(from.sin6_addr.s6_addr);
    Ok(match (dst, hops) {
        (Some(dst), Some(ttl)) => Some((src.into(), dst.into(), ttl, n)),
        // Both are requested on the socket; without them the core cannot judge it.
        _ => None,
    })
}

/// Sends an IPv6 VRRP message from `src` (the link-local address, or
/// unicast_src_ip) out of interface `index`, with hop limit `ttl`.
fn send_v6(
    sock: &Socket,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    index: u32,
    ttl: u8,
    bytes: &[u8],
) -> io::Result<()> {
    // SAFETY: as in recv_v6, zeroed C structs are valid; every pointer set
    // below refers to a local that outlives the sendmsg call.
    let mut to: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    to.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    to.sin6_addr.s6_addr = dst.octets();
    to.sin6_scope_id = index;
    let mut control = [0u64; CMSG_SPACE / 8];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr().cast_mut().cast(),
        iov_len: bytes.len(),
    };
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&raw mut to).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    let info = libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: src.octets(),
        },
        ipi6_ifindex: index,
    };
    let hops = libc::c_int::from(ttl);
    // SAFETY: CMSG_SPACE of both payloads fits in `control` (128 bytes);
    // CMSG_FIRSTHDR / NXTHDR stay within msg_controllen, set before walking.
    unsafe {
        let info_space = libc::CMSG_SPACE(mem::size_of::<libc::in6_pktinfo>() as u32);
        let hops_space = libc::CMSG_SPACE(mem::size_of::<libc::c_int>() as u32);
        msg.msg_controllen = (info_space + hops_space) as usize;
        let c = libc::CMSG_FIRSTHDR(&raw const msg);
        put_cmsg(c, libc::IPV6_PKTINFO, info)?;
        put_cmsg(
            libc::CMSG_NXTHDR(&raw const msg, c),
            libc::IPV6_HOPLIMIT,
            hops,
        )?;
    }
    // SAFETY: msg points at live buffers as set up above.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &raw const msg, 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Writes one IPv6 control message at `c` (null: the buffer had no room).
///
/// # Safety
/// `c` is null or points into a control buffer with room for
/// `CMSG_SPACE(size_of::<T>())` bytes.
unsafe fn put_cmsg<T>(c: *mut libc::cmsghdr, kind: libc::c_int, value: T) -> io::Result<()> {
    if c.is_null() {
        return Err(io::Error::other("no room for the ancillary data"));
    }
    // SAFETY: c points at a cmsghdr with room for the payload (the caller's promise).
    unsafe {
        (*c).cmsg_level = libc::IPPROTO_IPV6;
        (*c).cmsg_type = kind;
        (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<T>() as u32) as usize;
        libc::CMSG_DATA(c).cast::<T>().write_unaligned(value);
    }
    Ok(())
}

//! The kernel's interfaces and addresses over rtnetlink: the only module that
//! speaks rtnetlink / netlink-packet-route (pinned exactly in the workspace's
//! Cargo.toml, as their API changes often). Everything it returns is plain data.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::{AddressMessageBuilder, Handle, MulticastGroup};
use vigil_core::frame::Mac;
use vigil_core::vrrp::Vip;

use crate::error::{Error, Result};

/// One network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<Mac>,
    /// Administratively up with carrier (`IFF_UP` and `IFF_RUNNING`).
    pub up: bool,
}

/// One address of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// Not the primary address of its subnet (`IFA_F_SECONDARY`).
    pub secondary: bool,
}

/// A request channel to the kernel's routing netlink.
#[derive(Clone)]
pub struct Netlink {
    handle: Handle,
}

/// Interfaces that changed (appeared, went up or down), as the kernel
/// announces them on RTNLGRP_LINK.
pub struct LinkEvents {
    messages: BoxStream<
        'static,
        (
            NetlinkMessage<RouteNetlinkMessage>,
            rtnetlink::sys::SocketAddr,
        ),
    >,
}

impl LinkEvents {
    /// The next interface change (a removed interface comes as down);
    /// `None` when the netlink connection is gone.
    pub async fn next(&mut self) -> Option<Link> {
        while let Some((msg, _)) = self.messages.next().await {
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
                    return Some(link(&m));
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => {
                    return Some(Link {
                        up: false,
                        ..link(&m)
                    });
                }
                _ => {}
            }
        }
        None
    }
}

fn failed(what: &str) -> impl FnOnce(rtnetlink::Error) -> Error + '_ {
    move |e| Error::Netlink {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// The errno of a netlink refusal, if that is what `e` is.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

impl Netlink {
    /// Opens a connection subscribed to link changes; its IO runs as a task
    /// on the current tokio runtime.
    pub fn connect() -> Result<(Netlink, LinkEvents)> {
        let (conn, handle, messages) = rtnetlink::new_multicast_connection(&[MulticastGroup::Link])
            .map_err(Error::io("netlink socket"))?;
        tokio::spawn(conn);
        Ok((
            Netlink { handle },
            LinkEvents {
                messages: messages.boxed(),
            },
        ))
    }

    pub async fn links(&self) -> Result<Vec<Link>> {
        self.handle
            .link()
            .get()
            .execute()
            .map_ok(|m| link(&m))
            .try_collect()
            .await
            .map_err(failed("list interfaces"))
    }

    pub async fn addresses(&self) -> Result<Vec<Address>> {
        let msgs: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(failed("list addresses"))?;
        Ok(msgs.iter().filter_map(address).collect())
    }

    /// `ip addr add` of a virtual address, as keepalived installs it: its
    /// prefix, broadcast, scope and label; IPv6 without duplicate address
    /// detection, so it is usable at once. Already present is success.
    pub async fn add(&self, index: u32, vip: &Vip) -> Result<()> {
        let mut req = self.handle.address().add(index, vip.addr, vip.prefix_len);
        let m = req.message_mut();
        // rtnetlink derives a broadcast address; keepalived sets one only when configured.
        m.attributes
            .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
        if let Some(brd) = vip.broadcast {
            m.attributes.push(AddressAttribute::Broadcast(brd));
        }
        if let Some(label) = &vip.label {
            m.attributes.push(AddressAttribute::Label(label.clone()));
        }
        m.header.scope = scope(vip.scope.as_deref());
        if vip.addr.is_ipv6() {
            m.header.flags = AddressHeaderFlags::Nodad;
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match req.execute().await {
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            r => r.map_err(failed("add address")),
        }
    }

    /// `ip addr del`; already gone is success.
    pub async fn del(&self, index: u32, addr: IpAddr, prefix_len: u8) -> Result<()> {
        let msg = match addr {
            IpAddr::V4(a) => AddressMessageBuilder::<Ipv4Addr>::new()
                .index(index)
                .address(a, prefix_len)
                .build(),
            IpAddr::V6(a) => AddressMessageBuilder::<Ipv6Addr>::new()
                .index(index)
                .address(a, prefix_len)
                .build(),
        };
        match self.handle.address().del(msg).execute().await {
            Err(e) if matches!(errno(&e), Some(libc::EADDRNOTAVAIL | libc::ENODEV)) => Ok(()),
            r => r.map_err(failed("delete address")),
        }
    }
}

/// keepalived's scope names (`ip addr ... scope`), or a number.
fn scope(name: Option<&str>) -> AddressScope {
    match name {
        None | Some("global") => AddressScope::Universe,
        Some("site") => AddressScope::Site,
        Some("link") => AddressScope::Link,
        Some("host") => AddressScope::Host,
        Some("nowhere") => AddressScope::Nowhere,
        Some(n) => n
            .parse::<u8>()
            .map_or(AddressScope::Universe, AddressScope::from),
    }
}

fn link(m: &LinkMessage) -> Link {
    let mut name = String::new();
    let mut mac = None;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name.clone_from(n),
            LinkAttribute::Address(bytes) => mac = Mac::try_from(bytes.as_slice()).ok(),
            _ => {}
        }
    }
    let flags = m.header.flags;
    Link {
        index: m.header.index,
        name,
        mac,
        up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
    }
}

fn address(m: &AddressMessage) -> Option<Address> {
    // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on
    // point-to-point links); IPv6 has IFA_ADDRESS only.
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(x) => Some(*x),
        _ => None,
    });
    let addr = local.or_else(|| {
        m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(x) => Some(*x),
            _ => None,
        })
    })?;
    Some(Address {
        index: m.header.index,
        addr,
        prefix_len: m.header.prefix_len,
        secondary: m.header.flags.contains(AddressHeaderFlags::Secondary),
    })
}

//! The kernel's interfaces, addresses, routes and rules over rtnetlink: the only module that
//! speaks rtnetlink / netlink-packet-route (pinned exactly in the workspace's
//! Cargo.toml, as their API changes often). Everything it returns is plain data.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use rtnetlink::packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoKind, InfoMacVlan, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteNextHop, RouteNextHopFlags, RouteProtocol,
    RouteScope, RouteType,
};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use rtnetlink::{
    AddressMessageBuilder, Handle, LinkMacVlan, LinkUnspec, MulticastGroup, RouteMessageBuilder,
};
use tracing::{error, warn};
use vigil_core::config::model::{Route, Rule};
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
    /// Set when the interface is a macvlan.
    pub macvlan: Option<Macvlan>,
}

/// What makes a macvlan usable as a VMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Macvlan {
    /// The index of the interface it sits on.
    pub parent: u32,
    /// Mode private: frames from its sibling macvlans are not delivered.
    pub private: bool,
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

/// What the kernel announces on the groups the daemon follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An interface appeared or changed (up, down, renamed).
    Link(Link),
    /// An interface was deleted.
    LinkGone(Link),
    Address(Address),
    AddressGone(Address),
    /// Announcements were lost: the socket's receive buffer overran
    /// (ENOBUFS), or the socket failed and a new one was opened. What the
    /// daemon knows of interfaces and addresses may be stale.
    Lost,
}

type Messages = BoxStream<
    'static,
    (
        NetlinkMessage<RouteNetlinkMessage>,
        rtnetlink::sys::SocketAddr,
    ),
>;

/// Interface and address changes (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
/// RTNLGRP_IPV6_IFADDR), on a socket of their own: an overrun there loses
/// announcements only, never the answer to a request.
pub struct Events {
    messages: Messages,
}

impl Events {
    fn subscribe() -> std::io::Result<Events> {
        let groups = [
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ];
        // The handle is not needed: the connection lives while `messages` does.
        let (conn, _, messages) = rtnetlink::new_multicast_connection(&groups)?;
        tokio::spawn(conn);
        Ok(Events {
            messages: messages.boxed(),
        })
    }

    /// The next announcement. After an overrun the announcements already
    /// queued are older than anything a fresh read will show, so they are
    /// skipped and [`Event::Lost`] stands for them all; a socket that fails
    /// is replaced (retrying each second) and reported the same way.
    pub async fn next(&mut self) -> Event {
        loop {
            let Some((msg, _)) = self.messages.next().await else {
                self.reopen().await;
                return Event::Lost;
            };
            let event = match msg.payload {
                NetlinkPayload::Overrun(_) => {
                    while let Some(Some(_)) = self.messages.next().now_or_never() {}
                    Some(Event::Lost)
                }
                NetlinkPayload::InnerMessage(m) => event(m),
                _ => None,
            };
            if let Some(e) = event {
                return e;
            }
        }
    }

    async fn reopen(&mut self) {
        loop {
            match Events::subscribe() {
                Ok(fresh) => {
                    warn!("netlink: the event socket failed; a new one is open");
                    *self = fresh;
                    return;
                }
                Err(e) => {
                    error!("netlink: the event socket failed and cannot be opened again: {e}");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }
}

fn event(m: RouteNetlinkMessage) -> Option<Event> {
    match m {
        RouteNetlinkMessage::NewLink(m) => Some(Event::Link(link(&m))),
        RouteNetlinkMessage::DelLink(m) => Some(Event::LinkGone(link(&m))),
        RouteNetlinkMessage::NewAddress(m) => address(&m).map(Event::Address),
        RouteNetlinkMessage::DelAddress(m) => address(&m).map(Event::AddressGone),
        _ => None,
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
    /// Opens a connection for requests and one subscribed to interface and
    /// address changes; their IO runs as tasks on the current tokio runtime.
    pub fn connect() -> Result<(Netlink, Events)> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(Error::io("netlink socket"))?;
        tokio::spawn(conn);
        let events = Events::subscribe().map_err(Error::io("netlink event socket"))?;
        Ok((Netlink { handle }, events))
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
    /// detection, so it is usable at once. Already present (EEXIST) is
    /// success too: `Ok(false)`.
    pub async fn add(&self, index: u32, vip: &Vip) -> Result<bool> {
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
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(failed("add address")(e)),
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

/// The VMACs' interfaces (`vrrp_vmac.c`).
impl Netlink {
    /// Makes `name` a macvlan in mode private on `parent` with address
    /// `mac`: a new one, or (`existing`) the macvlan of that name changed
    /// in place.
    pub async fn macvlan(
        &self,
        name: &str,
        parent: u32,
        mac: Mac,
        existing: Option<u32>,
    ) -> Result<()> {
        let b = LinkMacVlan::new(name, parent, MacVlanMode::Private).address(mac.to_vec());
        let req = match existing {
            Some(index) => self.handle.link().change(b.index(index).build()),
            None => self.handle.link().add(b.build()),
        };
        req.execute().await.map_err(failed("create macvlan"))
    }

    /// Turns IPv6 address generation off, so that the interface gets no
    /// EUI-64 link-local address when it comes up (a VMAC's adverts must
    /// come from the real one, RFC 5798 §7.4). It cannot be part of the
    /// request that creates the link.
    pub async fn addr_gen_none(&self, index: u32) -> Result<()> {
        let none =
            LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(
                In6AddrGenMode::None,
            )])]);
        let msg = LinkUnspec::new_with_index(index)
            .append_extra_attribute(none)
            .build();
        self.handle
            .link()
            .change(msg)
            .execute()
            .await
            .map_err(failed("set addrgenmode none"))
    }

    /// `ip link set up`.
    pub async fn set_up(&self, index: u32) -> Result<()> {
        let msg = LinkUnspec::new_with_index(index).up().build();
        self.handle
            .link()
            .change(msg)
            .execute()
            .await
            .map_err(failed("set link up"))
    }

    /// `ip link del`; already gone is success.
    pub async fn del_link(&self, index: u32) -> Result<()> {
        match self.handle.link().del(index).execute().await {
            Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(()),
            r => r.map_err(failed("delete link")),
        }
    }

    /// The IPv6 source of an instance's adverts on its VMAC, added as
    /// keepalived adds it: /64, no DAD, preferred lifetime 0 (deprecated),
    /// so that nothing else picks it as a source.
    pub async fn add_vmac_source(&self, index: u32, addr: Ipv6Addr) -> Result<()> {
        let mut req = self.handle.address().add(index, IpAddr::V6(addr), 64);
        let m = req.message_mut();
        m.header.flags = AddressHeaderFlags::Nodad;
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
        let mut life = CacheInfo::default();
        life.ifa_valid = u32::MAX;
        m.attributes.push(AddressAttribute::CacheInfo(life));
        match req.execute().await {
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            r => r.map_err(failed("add link-local address")),
        }
    }
}

/// keepalived marks the routes it installs with its own protocol number
/// (`RTPROT_KEEPALIVED`), so that `ip route` shows whose they are.
const RTPROT_KEEPALIVED: u8 = 18;

/// The interface indexes a route names: its own `dev`, and each nexthop's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteDevs {
    pub dev: Option<u32>,
    /// One per `nexthop`, in order.
    pub nexthops: Vec<Option<u32>>,
}

impl Netlink {
    /// `ip route add` of a `virtual_routes`/`static_routes` line. Already
    /// present is success (keepalived adds without NLM_F_EXCL).
    pub async fn add_route(&self, route: &Route, devs: &RouteDevs) -> Result<()> {
        let msg = route_message(route, devs)?;
        match self.handle.route().add(msg).execute().await {
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            r => r.map_err(failed("add route")),
        }
    }

    /// `ip route del`; already gone is success.
    pub async fn del_route(&self, route: &Route, devs: &RouteDevs) -> Result<()> {
        let msg = route_message(route, devs)?;
        match self.handle.route().del(msg).execute().await {
            Err(e) if errno(&e) == Some(libc::ESRCH) => Ok(()),
            r => r.map_err(failed("delete route")),
        }
    }

    /// `ip rule add` of a `virtual_rules`/`static_rules` line; already
    /// present is success.
    pub async fn add_rule(&self, rule: &Rule) -> Result<()> {
        let msg = rule_message(rule)?;
        let mut req = self.handle.rule().add();
        *req.message_mut() = msg;
        match req.execute().await {
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            r => r.map_err(failed("add rule")),
        }
    }

    /// `ip rule del`; already gone is success.
    pub async fn del_rule(&self, rule: &Rule) -> Result<()> {
        let msg = rule_message(rule)?;
        match self.handle.rule().del(msg).execute().await {
            Err(e) if errno(&e) == Some(libc::ENOENT) => Ok(()),
            r => r.map_err(failed("delete rule")),
        }
    }
}

fn invalid(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::Netlink {
        what: what.to_string(),
        message: detail.to_string(),
    }
}

/// A routing table by number or by the names iproute2 always knows.
fn table(name: &str) -> Result<u32> {
    match name {
        "main" => Ok(254),
        "local" => Ok(255),
        "default" => Ok(253),
        n => n
            .parse()
            .map_err(|_| invalid("table", format!("unknown table '{n}'"))),
    }
}

/// The route as the kernel takes it. Options vigil does not translate yet
/// (`mtu` and the like) are refused rather than silently left out, since a
/// route without them is a different route.
fn route_message(r: &Route, devs: &RouteDevs) -> Result<RouteMessage> {
    if !r.options.is_empty() {
        return Err(invalid(
            "route",
            format!("{}: route options are not supported yet", r.dest),
        ));
    }
    let bad = |e| invalid("route", e);
    let mut b = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(r.dest.addr, r.dest.len)
        .map_err(bad)?;
    if let Some(via) = r.via {
        b = b.gateway(via).map_err(bad)?;
    }
    if let Some(src) = r.src {
        b = b.pref_source(src).map_err(bad)?;
    }
    if let Some(i) = devs.dev {
        b = b.output_interface(i);
    }
    if !r.nexthop.is_empty() {
        b = b.multipath(multipath(r, devs));
    }
    if let Some(t) = &r.table {
        b = b.table_id(table(t)?);
    }
    if let Some(m) = r.metric {
        b = b.priority(m);
    }
    if r.onlink {
        b = b.onlink();
    }
    let kind = match r.route_type.as_deref() {
        None | Some("unicast") => RouteType::Unicast,
        Some("blackhole") => RouteType::BlackHole,
        Some("unreachable") => RouteType::Unreachable,
        Some("prohibit") => RouteType::Prohibit,
        Some("throw") => RouteType::Throw,
        Some("local") => RouteType::Local,
        Some(t) => return Err(invalid("route", format!("type '{t}' is not supported yet"))),
    };
    // The kernel's default scope: link for a device route without gateway,
    // host for local routes, universe otherwise (as iproute2 chooses).
    let scope = match r.scope.as_deref() {
        Some("host") => RouteScope::Host,
        Some("link") => RouteScope::Link,
        Some("site") => RouteScope::Site,
        Some("nowhere") => RouteScope::NoWhere,
        Some("global" | "universe") => RouteScope::Universe,
        Some(n) => RouteScope::from(
            n.parse::<u8>()
                .map_err(|_| invalid("route", format!("scope '{n}'")))?,
        ),
        None if kind == RouteType::Local => RouteScope::Host,
        None if r.via.is_none()
            && r.nexthop.is_empty()
            && kind == RouteType::Unicast
            && r.dest.addr.is_ipv4() =>
        {
            RouteScope::Link
        }
        None => RouteScope::Universe,
    };
    let protocol = match r.protocol.as_deref() {
        None => RouteProtocol::from(RTPROT_KEEPALIVED),
        Some("boot") => RouteProtocol::Boot,
        Some("static") => RouteProtocol::Static,
        Some("kernel") => RouteProtocol::Kernel,
        Some(n) => RouteProtocol::from(
            n.parse::<u8>()
                .map_err(|_| invalid("route", format!("protocol '{n}'")))?,
        ),
    };
    Ok(b.kind(kind).scope(scope).protocol(protocol).build())
}

/// RTA_MULTIPATH: one rtnexthop per `nexthop`, its weight as the kernel
/// keeps it (weight − 1, so `ip route` shows what was written).
fn multipath(r: &Route, devs: &RouteDevs) -> Vec<RouteNextHop> {
    r.nexthop
        .iter()
        .enumerate()
        .map(|(k, h)| {
            let mut nh = RouteNextHop::default();
            if let Some(via) = h.via {
                nh.attributes
                    .push(RouteAttribute::Gateway(RouteAddress::from(via)));
            }
            nh.interface_index = devs.nexthops.get(k).copied().flatten().unwrap_or(0);
            nh.hops = h
                .weight
                .map_or(0, |w| u8::try_from(w.saturating_sub(1)).unwrap_or(u8::MAX));
            if h.onlink {
                nh.flags = RouteNextHopFlags::Onlink;
            }
            nh
        })
        .collect()
}

/// The rule as the kernel takes it: from, to, table, priority, and the
/// options `iif`, `oif`, `fwmark`, `tos`; other options are refused.
fn rule_message(r: &Rule) -> Result<RuleMessage> {
    let mut m = RuleMessage::default();
    let family = r.from.or(r.to).map(|p| p.addr);
    m.header.family = match family {
        Some(IpAddr::V6(_)) => AddressFamily::Inet6,
        _ => AddressFamily::Inet,
    };
    if let Some(p) = r.from {
        m.header.src_len = p.len;
        m.attributes.push(RuleAttribute::Source(p.addr));
    }
    if let Some(p) = r.to {
        m.header.dst_len = p.len;
        m.attributes.push(RuleAttribute::Destination(p.addr));
    }
    m.header.action = RuleAction::ToTable;
    let t = r.table.as_deref().map_or(Ok(254), table)?;
    match u8::try_from(t) {
        Ok(small) => m.header.table = small,
        Err(_) => m.attributes.push(RuleAttribute::Table(t)),
    }
    if let Some(p) = r.priority {
        m.attributes.push(RuleAttribute::Priority(p));
    }
    for (key, value) in &r.options {
        let number = |v: &str| {
            let v = v.split('/').next().unwrap_or(v);
            match v.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => v.parse(),
            }
            .map_err(|_| invalid("rule", format!("{key} '{value}'")))
        };
        match key.as_str() {
            "iif" => m.attributes.push(RuleAttribute::Iifname(value.clone())),
            "oif" => m.attributes.push(RuleAttribute::Oifname(value.clone())),
            "fwmark" => m.attributes.push(RuleAttribute::FwMark(number(value)?)),
            "tos" => {
                m.header.tos = u8::try_from(number(value)?)
                    .map_err(|_| invalid("rule", format!("tos '{value}'")))?;
            }
            k => {
                return Err(invalid(
                    "rule",
                    format!("option '{k}' is not supported yet"),
                ));
            }
        }
    }
    if !r.flags.is_empty() {
        return Err(invalid(
            "rule",
            format!("{} are not supported yet", r.flags.join(", ")),
        ));
    }
    Ok(m)
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
    let mut parent = None;
    let mut macvlan = None;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name.clone_from(n),
            LinkAttribute::Address(bytes) => mac = Mac::try_from(bytes.as_slice()).ok(),
            LinkAttribute::Link(p) => parent = Some(*p),
            LinkAttribute::LinkInfo(info) => macvlan = macvlan_private(info),
            _ => {}
        }
    }
    let flags = m.header.flags;
    Link {
        index: m.header.index,
        name,
        mac,
        up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
        macvlan: macvlan
            .zip(parent)
            .map(|(private, parent)| Macvlan { parent, private }),
    }
}

/// For a macvlan's link info, whether it is in mode private.
fn macvlan_private(info: &[LinkInfo]) -> Option<bool> {
    if !info.contains(&LinkInfo::Kind(InfoKind::MacVlan)) {
        return None;
    }
    Some(info.iter().any(|i| match i {
        LinkInfo::Data(InfoData::MacVlan(data)) => {
            data.contains(&InfoMacVlan::Mode(MacVlanMode::Private))
        }
        _ => false,
    }))
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

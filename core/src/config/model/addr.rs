//! Addresses, routes and rules (`virtual_ipaddress`, `virtual_routes`,
//! `virtual_rules`, `static_*`).

use serde::Serialize;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// An address with a prefix length, `10.0.0.0/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IpPrefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// One line of `virtual_ipaddress` (or `_excluded`, or `static_ipaddress`):
/// `ADDR[/LEN] [brd ADDR|+|-] [dev IF] [scope S] [label L] [peer ADDR] [no_track] ...`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IpAddress {
    pub addr: IpAddr,
    /// Default 32 (IPv4) or 128 (IPv6).
    pub prefix: u8,
    /// `brd +` and `brd -` are resolved to the address keepalived computes.
    pub broadcast: Option<Ipv4Addr>,
    pub peer: Option<IpAddr>,
    pub dev: Option<String>,
    /// A name (`host`, `link`, `site`, `global`, `nowhere`) or a number.
    pub scope: Option<String>,
    pub label: Option<String>,
    pub no_track: bool,
    pub use_vmac: bool,
    /// `home`, `-nodad`, `mngtmpaddr`, `noprefixroute`, `autojoin`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    pub preferred_lft: Option<u32>,
    pub track_group: Option<String>,
}

impl IpAddress {
    pub fn new(addr: IpAddr) -> Self {
        IpAddress {
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
            broadcast: None,
            peer: None,
            dev: None,
            scope: None,
            label: None,
            no_track: false,
            use_vmac: false,
            flags: Vec::new(),
            preferred_lft: None,
            track_group: None,
        }
    }
}

/// One line of `virtual_routes` / `static_routes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// `default` is 0.0.0.0/0 (or ::/0).
    pub dest: IpPrefix,
    /// `blackhole`, `unreachable`, `prohibit`, `throw`, ... (unicast if absent).
    pub route_type: Option<String>,
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub scope: Option<String>,
    pub table: Option<String>,
    pub metric: Option<u32>,
    pub protocol: Option<String>,
    pub onlink: bool,
    pub no_track: bool,
    pub track_group: Option<String>,
    /// Other options with their value, as written (`mtu 1400`, `tos 0x10`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<(String, String)>,
    /// `nexthop ...`: the hops of a multipath route (RTA_MULTIPATH).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nexthop: Vec<Nexthop>,
}

/// One `nexthop via ADDR dev IF weight N onlink` of a multipath route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Nexthop {
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// 1..=256 as written (`ip route`'s scale; the kernel keeps weight − 1).
    pub weight: Option<u16>,
    pub onlink: bool,
}

/// One line of `virtual_rules` / `static_rules`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub from: Option<IpPrefix>,
    pub to: Option<IpPrefix>,
    pub table: Option<String>,
    pub priority: Option<u32>,
    pub no_track: bool,
    /// Other options with their value (`iif eth0`, `fwmark 0x1`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<(String, String)>,
    /// Value-less options (`l3mdev`, `nop`, `blackhole`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

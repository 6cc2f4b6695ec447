//! IPVS's generic netlink attributes (`include/uapi/linux/ip_vs.h`): the
//! nested service, destination and sync daemon attributes built from the
//! core's types, and parsed back from the kernel's replies.
//!
//! Byte order follows `ip_vs_ctl.c`: ports, tunnel ports and IPv4 netmasks
//! are big-endian; everything else, an IPv6 "netmask" (a prefix length)
//! included, is in host order.

use super::{DestCounters, IpvsStats, SyncDaemon, SyncRole};
use netlink_packet_core::{Emitable, NLA_F_NESTED, NLA_HEADER_SIZE, Nla, NlasIterator};
use nix::libc::{AF_INET, AF_INET6};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use vigil_core::lvs::ipvs::{
    DestEntry, Forward, Persistence, ServiceKey, ServiceSpec, Tunnel, TunnelCsum, TunnelKind,
};
use vigil_core::lvs::{Algorithm, DestKey, Protocol, SchedFlags};

// Commands (`IPVS_CMD_*`).
pub(super) const CMD_NEW_SERVICE: u8 = 1;
pub(super) const CMD_SET_SERVICE: u8 = 2;
pub(super) const CMD_DEL_SERVICE: u8 = 3;
pub(super) const CMD_GET_SERVICE: u8 = 4;
pub(super) const CMD_NEW_DEST: u8 = 5;
pub(super) const CMD_SET_DEST: u8 = 6;
pub(super) const CMD_DEL_DEST: u8 = 7;
pub(super) const CMD_GET_DEST: u8 = 8;
pub(super) const CMD_NEW_DAEMON: u8 = 9;
pub(super) const CMD_DEL_DAEMON: u8 = 10;
pub(super) const CMD_GET_DAEMON: u8 = 11;
pub(super) const CMD_GET_INFO: u8 = 15;
pub(super) const CMD_FLUSH: u8 = 17;

// Top-level attributes (`IPVS_CMD_ATTR_*`).
pub(super) const CMD_ATTR_SERVICE: u16 = 1;
pub(super) const CMD_ATTR_DEST: u16 = 2;
pub(super) const CMD_ATTR_DAEMON: u16 = 3;

// `IPVS_SVC_ATTR_*`.
const SVC_AF: u16 = 1;
const SVC_PROTOCOL: u16 = 2;
const SVC_ADDR: u16 = 3;
const SVC_PORT: u16 = 4;
const SVC_FWMARK: u16 = 5;
const SVC_SCHED_NAME: u16 = 6;
const SVC_FLAGS: u16 = 7;
const SVC_TIMEOUT: u16 = 8;
const SVC_NETMASK: u16 = 9;
const SVC_STATS: u16 = 10;
const SVC_STATS64: u16 = 12;

// `IPVS_DEST_ATTR_*`.
const DEST_ADDR: u16 = 1;
const DEST_PORT: u16 = 2;
const DEST_FWD_METHOD: u16 = 3;
const DEST_WEIGHT: u16 = 4;
const DEST_U_THRESH: u16 = 5;
const DEST_L_THRESH: u16 = 6;
const DEST_ACTIVE_CONNS: u16 = 7;
const DEST_INACT_CONNS: u16 = 8;
const DEST_PERSIST_CONNS: u16 = 9;
const DEST_STATS: u16 = 10;
const DEST_ADDR_FAMILY: u16 = 11;
const DEST_STATS64: u16 = 12;
const DEST_TUN_TYPE: u16 = 13;
const DEST_TUN_PORT: u16 = 14;
const DEST_TUN_FLAGS: u16 = 15;

// `IPVS_STATS_ATTR_*`, nested in the STATS (32-bit counts, 64-bit bytes)
// and STATS64 (all 64-bit, kernels from 4.1) attributes.
const STATS_CONNS: u16 = 1;
const STATS_INPKTS: u16 = 2;
const STATS_OUTPKTS: u16 = 3;
const STATS_INBYTES: u16 = 4;
const STATS_OUTBYTES: u16 = 5;

// `IPVS_DAEMON_ATTR_*`.
const DAEMON_STATE: u16 = 1;
const DAEMON_MCAST_IFN: u16 = 2;
const DAEMON_SYNC_ID: u16 = 3;
const DAEMON_SYNC_MAXLEN: u16 = 4;
const DAEMON_MCAST_GROUP: u16 = 5;
const DAEMON_MCAST_GROUP6: u16 = 6;
const DAEMON_MCAST_PORT: u16 = 7;
const DAEMON_MCAST_TTL: u16 = 8;

// `IPVS_INFO_ATTR_*`, in the reply to CMD_GET_INFO.
const INFO_VERSION: u16 = 1;
const INFO_CONN_TAB_SIZE: u16 = 2;

// `IP_VS_SVC_F_*`. HASHED (0x2) is the kernel's own and is ignored.
const SVC_F_PERSISTENT: u32 = 0x1;
const SVC_F_ONEPACKET: u32 = 0x4;
const SVC_F_SCHED: [(SchedFlags, u32); 3] = [
    (SchedFlags::FLAG1, 0x8),
    (SchedFlags::FLAG2, 0x10),
    (SchedFlags::FLAG3, 0x20),
];

// `IP_VS_CONN_F_*` forwarding methods (LOCALNODE, 1, is no longer set by
// the kernel, BYPASS, 4, never for a destination).
const FWD_MASQ: u32 = 0;
const FWD_TUNNEL: u32 = 2;
const FWD_DROUTE: u32 = 3;

const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;
const IPPROTO_SCTP: u16 = 132;

/// What IPVS cannot express or what its reply should not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttrError {
    #[error("IPVS has no protocol number for {0:?} services")]
    Protocol(Protocol),
    #[error("the kernel's reply lacks {0}")]
    Missing(&'static str),
    #[error("the kernel's reply has a malformed {0}")]
    Malformed(&'static str),
}

/// One attribute to send: a scalar, raw bytes or nested attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Attr {
    kind: u16,
    value: Value,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    U8(u8),
    U16(u16),
    U32(u32),
    Bytes(Vec<u8>),
    Nested(Vec<Attr>),
}

impl Attr {
    fn u8(kind: u16, v: u8) -> Attr {
        Attr {
            kind,
            value: Value::U8(v),
        }
    }

    fn u16(kind: u16, v: u16) -> Attr {
        Attr {
            kind,
            value: Value::U16(v),
        }
    }

    fn u32(kind: u16, v: u32) -> Attr {
        Attr {
            kind,
            value: Value::U32(v),
        }
    }

    fn bytes(kind: u16, v: &[u8]) -> Attr {
        Attr {
            kind,
            value: Value::Bytes(v.to_vec()),
        }
    }

    /// A NUL-terminated string (`NLA_NUL_STRING`).
    fn string(kind: u16, s: &str) -> Attr {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        Attr {
            kind,
            value: Value::Bytes(v),
        }
    }

    pub(super) fn nested(kind: u16, attrs: Vec<Attr>) -> Attr {
        Attr {
            kind,
            value: Value::Nested(attrs),
        }
    }
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match &self.value {
            Value::U8(_) => 1,
            Value::U16(_) => 2,
            Value::U32(_) => 4,
            Value::Bytes(b) => b.len(),
            Value::Nested(attrs) => attrs.as_slice().buffer_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self.value {
            Value::Nested(_) => self.kind | NLA_F_NESTED,
            _ => self.kind,
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match &self.value {
            Value::U8(v) => buffer[0] = *v,
            Value::U16(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Value::U32(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Value::Bytes(b) => buffer.copy_from_slice(b),
            Value::Nested(attrs) => attrs.as_slice().emit(buffer),
        }
    }
}

/// The attributes of one level of a reply, by type (the last one of a type
/// wins, as `nla_parse` does).
#[derive(Clone, Debug, Default)]
pub(super) struct Attrs<'a>(Vec<(u16, &'a [u8])>);

impl<'a> Attrs<'a> {
    pub(super) fn parse(buf: &'a [u8]) -> Result<Attrs<'a>, AttrError> {
        let mut out = Vec::new();
        for nla in NlasIterator::new(buf) {
            let nla = nla.map_err(|_| AttrError::Malformed("attribute"))?;
            let kind = nla.kind();
            let len = usize::from(nla.length());
            // `new_checked` made sure NLA_HEADER_SIZE <= len <= the slice.
            let whole: &'a [u8] = nla.into_inner();
            let value = whole
                .get(NLA_HEADER_SIZE..len)
                .ok_or(AttrError::Malformed("attribute"))?;
            out.push((kind, value));
        }
        Ok(Attrs(out))
    }

    fn get(&self, kind: u16) -> Option<&'a [u8]> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
    }

    pub(super) fn required(&self, kind: u16, name: &'static str) -> Result<&'a [u8], AttrError> {
        self.get(kind).ok_or(AttrError::Missing(name))
    }

    fn array<const N: usize>(&self, kind: u16, name: &'static str) -> Result<[u8; N], AttrError> {
        let v = self.required(kind, name)?;
        v.get(..N)
            .and_then(|b| b.try_into().ok())
            .ok_or(AttrError::Malformed(name))
    }

    fn u8(&self, kind: u16, name: &'static str) -> Result<u8, AttrError> {
        Ok(self.array::<1>(kind, name)?[0])
    }

    fn u16(&self, kind: u16, name: &'static str) -> Result<u16, AttrError> {
        Ok(u16::from_ne_bytes(self.array(kind, name)?))
    }

    fn be16(&self, kind: u16, name: &'static str) -> Result<u16, AttrError> {
        Ok(u16::from_be_bytes(self.array(kind, name)?))
    }

    fn u32(&self, kind: u16, name: &'static str) -> Result<u32, AttrError> {
        Ok(u32::from_ne_bytes(self.array(kind, name)?))
    }

    /// A counter as wide as its attribute: 64 bits, or 32 in the old
    /// STATS attribute.
    fn counter(&self, kind: u16, name: &'static str) -> Result<u64, AttrError> {
        match self.required(kind, name)?.len() {
            4 => self.u32(kind, name).map(u64::from),
            _ => Ok(u64::from_ne_bytes(self.array(kind, name)?)),
        }
    }

    /// A NUL-terminated string, or one that fills its attribute.
    fn string(&self, kind: u16, name: &'static str) -> Result<&'a str, AttrError> {
        let v = self.required(kind, name)?;
        let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
        std::str::from_utf8(&v[..end]).map_err(|_| AttrError::Malformed(name))
    }

    fn addr(&self, kind: u16, af: u16, name: &'static str) -> Result<IpAddr, AttrError> {
        if i32::from(af) == AF_INET6 {
            Ok(Ipv6Addr::from(self.array::<16>(kind, name)?).into())
        } else {
            Ok(Ipv4Addr::from(self.array::<4>(kind, name)?).into())
        }
    }
}

fn family(ipv6: bool) -> u16 {
    // AF_INET and AF_INET6 are 2 and 10: they fit.
    (if ipv6 { AF_INET6 } else { AF_INET }) as u16
}

fn addr_bytes(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The attributes that name a service: its family and either its fwmark
/// or its protocol, address and port.
fn service_id_attrs(key: &ServiceKey) -> Result<Vec<Attr>, AttrError> {
    let mut attrs = vec![Attr::u16(SVC_AF, family(key.is_ipv6()))];
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let proto = match protocol {
                Protocol::Tcp => IPPROTO_TCP,
                Protocol::Udp => IPPROTO_UDP,
                Protocol::Sctp => IPPROTO_SCTP,
                Protocol::Other => return Err(AttrError::Protocol(*protocol)),
            };
            attrs.push(Attr::u16(SVC_PROTOCOL, proto));
            attrs.push(Attr::bytes(SVC_ADDR, &addr_bytes(*addr)));
            attrs.push(Attr::bytes(SVC_PORT, &port.to_be_bytes()));
        }
        ServiceKey::Fwmark { mark, .. } => attrs.push(Attr::u32(SVC_FWMARK, *mark)),
    }
    Ok(attrs)
}

/// `IPVS_CMD_ATTR_SERVICE` naming a service (for deletes, dest commands and
/// dest dumps).
pub(super) fn service_id(key: &ServiceKey) -> Result<Attr, AttrError> {
    Ok(Attr::nested(CMD_ATTR_SERVICE, service_id_attrs(key)?))
}

/// `IPVS_CMD_ATTR_SERVICE` with every setting, as NEW_SERVICE and
/// SET_SERVICE require them. The flags go with an all-ones mask, so the
/// kernel takes them as they are.
pub(super) fn service(spec: &ServiceSpec) -> Result<Attr, AttrError> {
    let v6 = spec.key.is_ipv6();
    let mut flags = SVC_F_SCHED
        .iter()
        .filter(|(f, _)| spec.flags.contains(*f))
        .fold(0, |acc, (_, bit)| acc | bit);
    if spec.one_packet {
        flags |= SVC_F_ONEPACKET;
    }
    // Without persistence the netmask still has to be valid: all ones, /128.
    let (timeout, netmask) = match spec.persistence {
        Some(p) => {
            flags |= SVC_F_PERSISTENT;
            (p.timeout, p.netmask)
        }
        None => (0, if v6 { 128 } else { u32::MAX }),
    };
    // An IPv4 netmask is a `__be32`; the IPv6 prefix length is read back
    // through the same `nla_get_be32` without a swap, so it is host order.
    let netmask = if v6 {
        netmask.to_ne_bytes()
    } else {
        netmask.to_be_bytes()
    };
    let mut flag_bytes = flags.to_ne_bytes().to_vec();
    flag_bytes.extend_from_slice(&u32::MAX.to_ne_bytes());
    let mut attrs = service_id_attrs(&spec.key)?;
    attrs.extend([
        Attr::string(SVC_SCHED_NAME, spec.algorithm.name()),
        Attr::bytes(SVC_FLAGS, &flag_bytes),
        Attr::u32(SVC_TIMEOUT, timeout),
        Attr::bytes(SVC_NETMASK, &netmask),
    ]);
    Ok(Attr::nested(CMD_ATTR_SERVICE, attrs))
}

/// A service from a `CMD_NEW_SERVICE` reply's `IPVS_CMD_ATTR_SERVICE`.
pub(super) fn parse_service(buf: &[u8]) -> Result<ServiceSpec, AttrError> {
    let a = Attrs::parse(buf)?;
    let af = a.u16(SVC_AF, "service family")?;
    let v6 = i32::from(af) == AF_INET6;
    let key = match a.get(SVC_FWMARK) {
        Some(_) => ServiceKey::Fwmark {
            mark: a.u32(SVC_FWMARK, "fwmark")?,
            ipv6: v6,
        },
        None => ServiceKey::Addr {
            protocol: match a.u16(SVC_PROTOCOL, "service protocol")? {
                IPPROTO_TCP => Protocol::Tcp,
                IPPROTO_UDP => Protocol::Udp,
                IPPROTO_SCTP => Protocol::Sctp,
                _ => return Err(AttrError::Malformed("service protocol")),
            },
            addr: a.addr(SVC_ADDR, af, "service address")?,
            port: a.be16(SVC_PORT, "service port")?,
        },
    };
    let algorithm: Algorithm = a
        .string(SVC_SCHED_NAME, "scheduler")?
        .parse()
        .map_err(|_| AttrError::Malformed("scheduler"))?;
    let flags = u32::from_ne_bytes(a.array(SVC_FLAGS, "service flags")?);
    let sched = SVC_F_SCHED
        .iter()
        .filter(|(_, bit)| flags & bit != 0)
        .fold(SchedFlags::default(), |acc, (f, _)| acc.with(*f));
    let netmask = a.array::<4>(SVC_NETMASK, "netmask")?;
    let persistence = (flags & SVC_F_PERSISTENT != 0)
        .then(|| -> Result<Persistence, AttrError> {
            Ok(Persistence {
                timeout: a.u32(SVC_TIMEOUT, "persistence timeout")?,
                netmask: if v6 {
                    u32::from_ne_bytes(netmask)
                } else {
                    u32::from_be_bytes(netmask)
                },
            })
        })
        .transpose()?;
    Ok(ServiceSpec {
        key,
        algorithm,
        flags: sched,
        persistence,
        one_packet: flags & SVC_F_ONEPACKET != 0,
    })
}

/// The traffic counters in a service's or destination's attributes: the
/// 64-bit set where the kernel sends it, else the older one.
fn parse_stats(a: &Attrs<'_>, stats64: u16, stats: u16) -> Result<IpvsStats, AttrError> {
    let nested = match a.get(stats64) {
        Some(v) => v,
        None => a.required(stats, "statistics")?,
    };
    let s = Attrs::parse(nested)?;
    Ok(IpvsStats {
        connections: s.counter(STATS_CONNS, "connection count")?,
        packets_in: s.counter(STATS_INPKTS, "incoming packet count")?,
        packets_out: s.counter(STATS_OUTPKTS, "outgoing packet count")?,
        bytes_in: s.counter(STATS_INBYTES, "incoming byte count")?,
        bytes_out: s.counter(STATS_OUTBYTES, "outgoing byte count")?,
    })
}

/// A service's counters from a `CMD_NEW_SERVICE` reply's
/// `IPVS_CMD_ATTR_SERVICE`.
pub(super) fn parse_service_stats(buf: &[u8]) -> Result<IpvsStats, AttrError> {
    parse_stats(&Attrs::parse(buf)?, SVC_STATS64, SVC_STATS)
}

fn dest_id_attrs(key: &DestKey) -> Vec<Attr> {
    vec![
        Attr::bytes(DEST_ADDR, &addr_bytes(key.addr)),
        Attr::bytes(DEST_PORT, &key.port.to_be_bytes()),
        Attr::u16(DEST_ADDR_FAMILY, family(key.addr.is_ipv6())),
    ]
}

/// `IPVS_CMD_ATTR_DEST` naming a destination (for DEL_DEST).
pub(super) fn dest_id(key: &DestKey) -> Attr {
    Attr::nested(CMD_ATTR_DEST, dest_id_attrs(key))
}

/// `IPVS_CMD_ATTR_DEST` with every setting (NEW_DEST, SET_DEST).
pub(super) fn dest(d: &DestEntry) -> Attr {
    let mut attrs = dest_id_attrs(&d.key);
    let method = match d.forward {
        Forward::Nat => FWD_MASQ,
        Forward::Dr => FWD_DROUTE,
        Forward::Tun(t) => {
            let kind = match t.kind {
                TunnelKind::Ipip => 0,
                TunnelKind::Gue => 1,
                TunnelKind::Gre => 2,
            };
            let csum = match t.csum {
                TunnelCsum::NoCsum => 0,
                TunnelCsum::Csum => 1,
                TunnelCsum::RemCsum => 2,
            };
            attrs.extend([
                Attr::u8(DEST_TUN_TYPE, kind),
                Attr::bytes(DEST_TUN_PORT, &t.port.to_be_bytes()),
                Attr::u16(DEST_TUN_FLAGS, csum),
            ]);
            FWD_TUNNEL
        }
    };
    attrs.extend([
        Attr::u32(DEST_FWD_METHOD, method),
        Attr::u32(DEST_WEIGHT, d.weight),
        Attr::u32(DEST_U_THRESH, d.u_threshold),
        Attr::u32(DEST_L_THRESH, d.l_threshold),
    ]);
    Attr::nested(CMD_ATTR_DEST, attrs)
}

/// A destination, its connection counts and its traffic from a
/// `CMD_NEW_DEST` reply's `IPVS_CMD_ATTR_DEST`; `service_v6` is the family
/// to assume when the reply has no `ADDR_FAMILY` (kernels before 3.18).
pub(super) fn parse_dest(
    buf: &[u8],
    service_v6: bool,
) -> Result<(DestEntry, DestCounters, IpvsStats), AttrError> {
    let a = Attrs::parse(buf)?;
    let af = match a.get(DEST_ADDR_FAMILY) {
        Some(_) => a.u16(DEST_ADDR_FAMILY, "destination family")?,
        None => family(service_v6),
    };
    let key = DestKey::new(
        a.addr(DEST_ADDR, af, "destination address")?,
        a.be16(DEST_PORT, "destination port")?,
    );
    let forward = match a.u32(DEST_FWD_METHOD, "forwarding method")? {
        FWD_MASQ => Forward::Nat,
        FWD_DROUTE => Forward::Dr,
        FWD_TUNNEL => {
            // Kernels before 5.2 have no tunnel types: IPIP.
            let kind = match a.get(DEST_TUN_TYPE) {
                None => TunnelKind::Ipip,
                Some(_) => match a.u8(DEST_TUN_TYPE, "tunnel type")? {
                    0 => TunnelKind::Ipip,
                    1 => TunnelKind::Gue,
                    2 => TunnelKind::Gre,
                    _ => return Err(AttrError::Malformed("tunnel type")),
                },
            };
            let port = match a.get(DEST_TUN_PORT) {
                None => 0,
                Some(_) => a.be16(DEST_TUN_PORT, "tunnel port")?,
            };
            let csum = match a.get(DEST_TUN_FLAGS) {
                None => TunnelCsum::NoCsum,
                Some(_) => match a.u16(DEST_TUN_FLAGS, "tunnel flags")? {
                    0 => TunnelCsum::NoCsum,
                    1 => TunnelCsum::Csum,
                    2 => TunnelCsum::RemCsum,
                    _ => return Err(AttrError::Malformed("tunnel flags")),
                },
            };
            Forward::Tun(Tunnel { kind, port, csum })
        }
        _ => return Err(AttrError::Malformed("forwarding method")),
    };
    let entry = DestEntry {
        key,
        weight: a.u32(DEST_WEIGHT, "weight")?,
        forward,
        u_threshold: a.u32(DEST_U_THRESH, "upper threshold")?,
        l_threshold: a.u32(DEST_L_THRESH, "lower threshold")?,
    };
    let counters = DestCounters {
        active: a.u32(DEST_ACTIVE_CONNS, "active connections")?,
        inactive: a.u32(DEST_INACT_CONNS, "inactive connections")?,
        persistent: a.u32(DEST_PERSIST_CONNS, "persistent connections")?,
    };
    Ok((entry, counters, parse_stats(&a, DEST_STATS64, DEST_STATS)?))
}

fn role_state(role: SyncRole) -> u32 {
    match role {
        SyncRole::Master => 1,
        SyncRole::Backup => 2,
    }
}

/// `IPVS_CMD_ATTR_DAEMON` to start a sync daemon; what is not set is left
/// to the kernel's defaults.
pub(super) fn daemon(d: &SyncDaemon) -> Attr {
    let mut attrs = vec![
        Attr::u32(DAEMON_STATE, role_state(d.role)),
        Attr::string(DAEMON_MCAST_IFN, &d.interface),
        Attr::u32(DAEMON_SYNC_ID, d.syncid),
    ];
    if let Some(m) = d.maxlen {
        attrs.push(Attr::u16(DAEMON_SYNC_MAXLEN, m));
    }
    match d.group {
        Some(IpAddr::V4(g)) => attrs.push(Attr::bytes(DAEMON_MCAST_GROUP, &g.octets())),
        Some(IpAddr::V6(g)) => attrs.push(Attr::bytes(DAEMON_MCAST_GROUP6, &g.octets())),
        None => {}
    }
    if let Some(p) = d.port {
        attrs.push(Attr::u16(DAEMON_MCAST_PORT, p));
    }
    if let Some(t) = d.ttl {
        attrs.push(Attr::u8(DAEMON_MCAST_TTL, t));
    }
    Attr::nested(CMD_ATTR_DAEMON, attrs)
}

/// `IPVS_CMD_ATTR_DAEMON` naming the daemon to stop.
pub(super) fn daemon_role(role: SyncRole) -> Attr {
    Attr::nested(
        CMD_ATTR_DAEMON,
        vec![Attr::u32(DAEMON_STATE, role_state(role))],
    )
}

/// A running sync daemon from a `CMD_NEW_DAEMON` reply: the kernel fills
/// in its defaults, so every field is set.
pub(super) fn parse_daemon(buf: &[u8]) -> Result<SyncDaemon, AttrError> {
    let a = Attrs::parse(buf)?;
    let role = match a.u32(DAEMON_STATE, "daemon state")? {
        1 => SyncRole::Master,
        2 => SyncRole::Backup,
        _ => return Err(AttrError::Malformed("daemon state")),
    };
    let group = match (a.get(DAEMON_MCAST_GROUP6), a.get(DAEMON_MCAST_GROUP)) {
        (Some(_), _) => Some(Ipv6Addr::from(a.array::<16>(DAEMON_MCAST_GROUP6, "group")?).into()),
        (None, Some(_)) => Some(Ipv4Addr::from(a.array::<4>(DAEMON_MCAST_GROUP, "group")?).into()),
        (None, None) => None,
    };
    Ok(SyncDaemon {
        role,
        interface: a
            .string(DAEMON_MCAST_IFN, "multicast interface")?
            .to_owned(),
        syncid: a.u32(DAEMON_SYNC_ID, "sync id")?,
        maxlen: Some(a.u16(DAEMON_SYNC_MAXLEN, "sync maxlen")?),
        group,
        port: Some(a.u16(DAEMON_MCAST_PORT, "multicast port")?),
        ttl: Some(a.u8(DAEMON_MCAST_TTL, "multicast ttl")?),
    })
}

/// `(version, connection table size)` from the reply to CMD_GET_INFO.
pub(super) fn parse_info(a: &Attrs<'_>) -> Result<(u32, u32), AttrError> {
    Ok((
        a.u32(INFO_VERSION, "IPVS version")?,
        a.u32(INFO_CONN_TAB_SIZE, "connection table size")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emit(attr: &Attr) -> Vec<u8> {
        let mut buf = vec![0; attr.buffer_len()];
        attr.emit(&mut buf);
        buf
    }

    /// The value of a top-level nested attribute, as a reply carries it.
    fn inner(attr: &Attr) -> Vec<u8> {
        let buf = emit(attr);
        let a = Attrs::parse(&buf).expect("parse");
        a.0[0].1.to_vec()
    }

    fn spec(key: ServiceKey) -> ServiceSpec {
        ServiceSpec {
            key,
            algorithm: Algorithm::Mh,
            flags: SchedFlags::FALLBACK.with(SchedFlags::PORT),
            persistence: Some(Persistence {
                timeout: 300,
                netmask: u32::from(Ipv4Addr::new(255, 255, 255, 0)),
            }),
            one_packet: true,
        }
    }

    #[test]
    fn a_service_survives_its_own_encoding() {
        let s = spec(ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: Ipv4Addr::new(10, 0, 0, 1).into(),
            port: 5000,
        });
        assert_eq!(parse_service(&inner(&service(&s).unwrap())), Ok(s));
        let mut f = spec(ServiceKey::Fwmark {
            mark: 7,
            ipv6: true,
        });
        f.persistence = Some(Persistence {
            timeout: 10,
            netmask: 64,
        });
        assert_eq!(parse_service(&inner(&service(&f).unwrap())), Ok(f));
    }

    #[test]
    fn ports_and_ipv4_netmasks_go_big_endian() {
        let s = spec(ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: Ipv4Addr::new(10, 0, 0, 1).into(),
            port: 0x1234,
        });
        let buf = inner(&service(&s).unwrap());
        let a = Attrs::parse(&buf).unwrap();
        assert_eq!(a.get(SVC_PORT), Some(&[0x12, 0x34][..]));
        assert_eq!(a.get(SVC_NETMASK), Some(&[255, 255, 255, 0][..]));
        assert_eq!(a.get(SVC_SCHED_NAME), Some(&b"mh\0"[..]));
        // flag-1 | flag-2 | persistent | one-packet, then the mask.
        let flags = a.get(SVC_FLAGS).unwrap();
        assert_eq!(flags[..4], (0x8u32 | 0x10 | 0x1 | 0x4).to_ne_bytes());
        assert_eq!(flags[4..], u32::MAX.to_ne_bytes());
    }

    #[test]
    fn nested_attributes_carry_the_nested_flag() {
        let buf = emit(&dest_id(&DestKey::new(Ipv4Addr::LOCALHOST.into(), 80)));
        let kind = u16::from_ne_bytes([buf[2], buf[3]]);
        assert_eq!(kind, CMD_ATTR_DEST | NLA_F_NESTED);
    }

    #[test]
    fn a_gue_destination_survives_its_own_encoding() {
        let d = DestEntry {
            key: DestKey::new(Ipv6Addr::LOCALHOST.into(), 443),
            weight: 7,
            forward: Forward::Tun(Tunnel {
                kind: TunnelKind::Gue,
                port: 6080,
                csum: TunnelCsum::RemCsum,
            }),
            u_threshold: 10,
            l_threshold: 5,
        };
        // A reply also has the counters.
        let mut attr = dest(&d);
        if let Value::Nested(attrs) = &mut attr.value {
            attrs.extend([
                Attr::u32(DEST_ACTIVE_CONNS, 3),
                Attr::u32(DEST_INACT_CONNS, 2),
                Attr::u32(DEST_PERSIST_CONNS, 1),
                stats64(DEST_STATS64, [9, 8, 7, 1 << 40, 5]),
            ]);
        }
        let (got, counters, stats) = parse_dest(&inner(&attr), false).unwrap();
        assert_eq!(got, d);
        assert_eq!(
            counters,
            DestCounters {
                active: 3,
                inactive: 2,
                persistent: 1
            }
        );
        assert_eq!(stats.bytes_in, 1 << 40);
    }

    /// A STATS64 attribute with `[conns, inpkts, outpkts, inbytes, outbytes]`.
    fn stats64(kind: u16, v: [u64; 5]) -> Attr {
        let kinds = [
            STATS_CONNS,
            STATS_INPKTS,
            STATS_OUTPKTS,
            STATS_INBYTES,
            STATS_OUTBYTES,
        ];
        let attrs = kinds
            .iter()
            .zip(v)
            .map(|(k, v)| Attr::bytes(*k, &v.to_ne_bytes()))
            .collect();
        Attr::nested(kind, attrs)
    }

    #[test]
    fn traffic_counters_come_from_stats64_else_from_the_old_stats() {
        let s = spec(ServiceKey::Fwmark {
            mark: 1,
            ipv6: false,
        });
        let mut attr = service(&s).unwrap();
        // Before 4.1: 32-bit counts, 64-bit bytes.
        let old = Attr::nested(
            SVC_STATS,
            vec![
                Attr::u32(STATS_CONNS, 4),
                Attr::u32(STATS_INPKTS, 40),
                Attr::u32(STATS_OUTPKTS, 30),
                Attr::bytes(STATS_INBYTES, &4000u64.to_ne_bytes()),
                Attr::bytes(STATS_OUTBYTES, &3000u64.to_ne_bytes()),
            ],
        );
        if let Value::Nested(attrs) = &mut attr.value {
            attrs.push(old);
        }
        let want = IpvsStats {
            connections: 4,
            packets_in: 40,
            packets_out: 30,
            bytes_in: 4000,
            bytes_out: 3000,
        };
        assert_eq!(parse_service_stats(&inner(&attr)), Ok(want));
        // Both, as a kernel from 4.1 sends them: STATS64 wins.
        if let Value::Nested(attrs) = &mut attr.value {
            attrs.push(stats64(SVC_STATS64, [1 << 33, 2, 3, 4, 5]));
        }
        let got = parse_service_stats(&inner(&attr)).unwrap();
        assert_eq!((got.connections, got.bytes_out), (1 << 33, 5));
        // Neither: the reply is malformed, not all zeros.
        let bare = service(&s).unwrap();
        assert_eq!(
            parse_service_stats(&inner(&bare)),
            Err(AttrError::Missing("statistics"))
        );
    }

    #[test]
    fn a_truncated_reply_is_an_error_not_a_panic() {
        let s = spec(ServiceKey::Fwmark {
            mark: 1,
            ipv6: false,
        });
        let buf = inner(&service(&s).unwrap());
        for n in 0..buf.len() {
            let _ = parse_service(&buf[..n]);
        }
        assert_eq!(
            parse_service(&buf[..16]),
            Err(AttrError::Missing("scheduler"))
        );
    }

    #[test]
    fn other_protocols_cannot_be_sent() {
        let key = ServiceKey::Addr {
            protocol: Protocol::Other,
            addr: Ipv4Addr::LOCALHOST.into(),
            port: 1,
        };
        assert_eq!(service_id(&key), Err(AttrError::Protocol(Protocol::Other)));
    }
}

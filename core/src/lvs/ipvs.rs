//! The IPVS table as plain data, and the operations that change it.
//!
//! The daemon reads the kernel's table into an [`IpvsState`], the service
//! model derives the one it wants, and [`reconcile`] lists the fewest
//! `ipvsadm`-style operations from one to the other. Order is kept:
//! destinations are added in the order the desired state lists them,
//! because the kernel links each new one at the head of its list and the
//! schedulers walk that list.

use super::dest::DestKey;
use super::sched::{Algorithm, Protocol, SchedFlags};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// What identifies a virtual service in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServiceKey {
    /// `-t|-u|--sctp-service VIP:PORT`.
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// `-f MARK` (with `-6` for an IPv6 one).
    Fwmark { mark: u32, ipv6: bool },
}

impl ServiceKey {
    /// Whether the service is an IPv6 one (`-6` for a fwmark).
    pub fn is_ipv6(&self) -> bool {
        match self {
            ServiceKey::Addr { addr, .. } => addr.is_ipv6(),
            ServiceKey::Fwmark { ipv6, .. } => *ipv6,
        }
    }
}

/// Persistence (`-p TIMEOUT -M NETMASK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persistence {
    /// Seconds.
    pub timeout: u32,
    /// Granularity: an IPv4 netmask as an address, or an IPv6 prefix length.
    pub netmask: u32,
}

/// A virtual service's settings: everything `ipvsadm -E` can change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub key: ServiceKey,
    pub algorithm: Algorithm,
    pub flags: SchedFlags,
    pub persistence: Option<Persistence>,
    /// `-o`, one-packet scheduling.
    pub one_packet: bool,
}

/// `-m`, `-g`, `-i`: how packets reach a real server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Forward {
    #[default]
    Nat,
    Dr,
    Tun(Tunnel),
}

/// How `-i` encapsulates (`--tun-type`, `--tun-port`, `--tun-*csum`):
/// IPIP unless told otherwise; GUE needs a UDP port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tunnel {
    pub kind: TunnelKind,
    /// GUE's UDP destination port; 0 for the others.
    pub port: u16,
    pub csum: TunnelCsum,
}

/// `IP_VS_CONN_F_TUNNEL_TYPE_*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TunnelKind {
    #[default]
    Ipip,
    Gue,
    Gre,
}

/// `IP_VS_TUNNEL_ENCAP_FLAG_*`: the outer checksum of GUE and GRE.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TunnelCsum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
}

/// A real server entry: everything `ipvsadm -e` can change besides its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestEntry {
    pub key: DestKey,
    pub weight: u32,
    pub forward: Forward,
    pub u_threshold: u32,
    pub l_threshold: u32,
}

/// One virtual service and its real servers, in the order to add them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub spec: ServiceSpec,
    pub dests: Vec<DestEntry>,
}

/// A whole IPVS table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsState {
    pub services: Vec<ServiceEntry>,
}

impl IpvsState {
    pub fn service(&self, key: ServiceKey) -> Option<&ServiceEntry> {
        self.services.iter().find(|s| s.spec.key == key)
    }

    /// Applies `op` as the kernel would, refusing what it would refuse.
    pub fn apply(&mut self, op: &IpvsOp) -> Result<(), IpvsOpError> {
        match op {
            IpvsOp::AddService(spec) => {
                if self.service(spec.key).is_some() {
                    return Err(IpvsOpError::ServiceExists(spec.key));
                }
                self.services.push(ServiceEntry {
                    spec: *spec,
                    dests: Vec::new(),
                });
            }
            IpvsOp::EditService(spec) => self.service_mut(spec.key)?.spec = *spec,
            IpvsOp::DelService(key) => {
                let i = self.index(*key)?;
                self.services.remove(i);
            }
            IpvsOp::AddDest { service, dest } => {
                let s = self.service_mut(*service)?;
                if s.dests.iter().any(|d| d.key == dest.key) {
                    return Err(IpvsOpError::DestExists(*service, dest.key));
                }
                s.dests.push(*dest);
            }
            IpvsOp::EditDest { service, dest } => {
                let s = self.service_mut(*service)?;
                let d = s
                    .dests
                    .iter_mut()
                    .find(|d| d.key == dest.key)
                    .ok_or(IpvsOpError::NoSuchDest(*service, dest.key))?;
                *d = *dest;
            }
            IpvsOp::DelDest { service, key } => {
                let s = self.service_mut(*service)?;
                let i = s
                    .dests
                    .iter()
                    .position(|d| d.key == *key)
                    .ok_or(IpvsOpError::NoSuchDest(*service, *key))?;
                s.dests.remove(i);
            }
        }
        Ok(())
    }

    fn index(&self, key: ServiceKey) -> Result<usize, IpvsOpError> {
        self.services
            .iter()
            .position(|s| s.spec.key == key)
            .ok_or(IpvsOpError::NoSuchService(key))
    }

    fn service_mut(&mut self, key: ServiceKey) -> Result<&mut ServiceEntry, IpvsOpError> {
        let i = self.index(key)?;
        Ok(&mut self.services[i])
    }
}

/// One change to the table, as one `ipvsadm` call makes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IpvsOp {
    AddService(ServiceSpec),
    EditService(ServiceSpec),
    /// Removes the service with all its real servers.
    DelService(ServiceKey),
    AddDest {
        service: ServiceKey,
        dest: DestEntry,
    },
    EditDest {
        service: ServiceKey,
        dest: DestEntry,
    },
    DelDest {
        service: ServiceKey,
        key: DestKey,
    },
}

impl IpvsOp {
    /// The one service the op changes.
    pub fn service(&self) -> ServiceKey {
        match self {
            IpvsOp::AddService(s) | IpvsOp::EditService(s) => s.key,
            IpvsOp::DelService(k) => *k,
            IpvsOp::AddDest { service, .. }
            | IpvsOp::EditDest { service, .. }
            | IpvsOp::DelDest { service, .. } => *service,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// As `ipvsadm` names a service: `-t VIP:PORT`, `-u …`, `--sctp-service …`, `-f MARK`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                let opt = match protocol {
                    Protocol::Udp => "-u",
                    Protocol::Sctp => "--sctp-service",
                    Protocol::Tcp | Protocol::Other => "-t",
                };
                write!(f, "{opt} {}", SocketAddr::new(*addr, *port))
            }
            ServiceKey::Fwmark { mark, ipv6 } => {
                write!(f, "-f {mark}{}", if *ipv6 { " -6" } else { "" })
            }
        }
    }
}

impl fmt::Display for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -s {}", self.key, self.algorithm)?;
        let names: Vec<&str> = [
            (SchedFlags::FLAG1, "flag-1"),
            (SchedFlags::FLAG2, "flag-2"),
            (SchedFlags::FLAG3, "flag-3"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.flags.contains(*bit))
        .map(|(_, n)| n)
        .collect();
        if !names.is_empty() {
            write!(f, " -b {}", names.join(","))?;
        }
        if let Some(p) = self.persistence {
            write!(f, " -p {}", p.timeout)?;
            let v6 = self.key.is_ipv6();
            if v6 && p.netmask != 128 {
                write!(f, " -M {}", p.netmask)?;
            } else if !v6 && p.netmask != u32::MAX {
                write!(f, " -M {}", Ipv4Addr::from(p.netmask))?;
            }
        }
        if self.one_packet {
            f.write_str(" -o")?;
        }
        Ok(())
    }
}

impl fmt::Display for DestEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = match self.forward {
            Forward::Nat => "-m",
            Forward::Dr => "-g",
            Forward::Tun(_) => "-i",
        };
        write!(f, "-r {} {method}", self.key)?;
        if let Forward::Tun(t) = self.forward
            && t != Tunnel::default()
        {
            let kind = match t.kind {
                TunnelKind::Ipip => "ipip",
                TunnelKind::Gue => "gue",
                TunnelKind::Gre => "gre",
            };
            write!(f, " --tun-type {kind}")?;
            if t.port != 0 {
                write!(f, " --tun-port {}", t.port)?;
            }
            match t.csum {
                TunnelCsum::NoCsum => {}
                TunnelCsum::Csum => f.write_str(" --tun-csum")?,
                TunnelCsum::RemCsum => f.write_str(" --tun-remcsum")?,
            }
        }
        write!(f, " -w {}", self.weight)?;
        if self.u_threshold != 0 {
            write!(f, " -x {}", self.u_threshold)?;
        }
        if self.l_threshold != 0 {
            write!(f, " -y {}", self.l_threshold)?;
        }
        Ok(())
    }
}

impl fmt::Display for IpvsOp {
    /// The `ipvsadm` arguments that make the change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsOp::AddService(s) => write!(f, "-A {s}"),
            IpvsOp::EditService(s) => write!(f, "-E {s}"),
            IpvsOp::DelService(k) => write!(f, "-D {k}"),
            IpvsOp::AddDest { service, dest } => write!(f, "-a {service} {dest}"),
            IpvsOp::EditDest { service, dest } => write!(f, "-e {service} {dest}"),
            IpvsOp::DelDest { service, key } => write!(f, "-d {service} -r {key}"),
        }
    }
}

/// What the kernel refuses (EEXIST, ENOENT/ESRCH).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpvsOpError {
    #[error("service {0} already exists")]
    ServiceExists(ServiceKey),
    #[error("no service {0}")]
    NoSuchService(ServiceKey),
    #[error("service {0} already has destination {1}")]
    DestExists(ServiceKey, DestKey),
    #[error("service {0} has no destination {1}")]
    NoSuchDest(ServiceKey, DestKey),
}

/// The fewest operations that turn `actual` into `desired`: services and
/// real servers that are not wanted go (a service with its real servers in
/// one call), changed ones are edited in place (so their connections and
/// the scheduler's state survive), and new ones are added in the desired
/// order.
pub fn reconcile(actual: &IpvsState, desired: &IpvsState) -> Vec<IpvsOp> {
    // Keyed, so that a change among thousands of services costs no
    // thousands of scans (this runs at every change of every real server).
    let index = |t: &'_ IpvsState| -> BTreeMap<ServiceKey, usize> {
        t.services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.spec.key, i))
            .collect()
    };
    let (have_at, want_at) = (index(actual), index(desired));
    let mut ops = Vec::new();
    for s in &actual.services {
        if !want_at.contains_key(&s.spec.key) {
            ops.push(IpvsOp::DelService(s.spec.key));
        }
    }
    for want in &desired.services {
        let key = want.spec.key;
        let Some(have) = have_at.get(&key).map(|&i| &actual.services[i]) else {
            ops.push(IpvsOp::AddService(want.spec));
            ops.extend(want.dests.iter().map(|d| IpvsOp::AddDest {
                service: key,
                dest: *d,
            }));
            continue;
        };
        if have.spec != want.spec {
            ops.push(IpvsOp::EditService(want.spec));
        }
        for d in &have.dests {
            if !want.dests.iter().any(|w| w.key == d.key) {
                ops.push(IpvsOp::DelDest {
                    service: key,
                    key: d.key,
                });
            }
        }
        for d in &want.dests {
            match have.dests.iter().find(|h| h.key == d.key) {
                Some(h) if h == d => {}
                Some(_) => ops.push(IpvsOp::EditDest {
                    service: key,
                    dest: *d,
                }),
                None => ops.push(IpvsOp::AddDest {
                    service: key,
                    dest: *d,
                }),
            }
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn svc(port: u16) -> ServiceSpec {
        ServiceSpec {
            key: ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: Ipv4Addr::new(10, 0, 0, 100).into(),
                port,
            },
            algorithm: Algorithm::Wlc,
            flags: SchedFlags::default(),
            persistence: None,
            one_packet: false,
        }
    }

    fn dest(n: u8, weight: u32) -> DestEntry {
        DestEntry {
            key: DestKey::new(Ipv4Addr::new(10, 0, 0, n).into(), 80),
            weight,
            forward: Forward::Dr,
            u_threshold: 0,
            l_threshold: 0,
        }
    }

    fn state(entries: &[(ServiceSpec, &[DestEntry])]) -> IpvsState {
        IpvsState {
            services: entries
                .iter()
                .map(|(spec, dests)| ServiceEntry {
                    spec: *spec,
                    dests: dests.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_gue_tunnel_renders_as_ipvsadm_takes_it() {
        let mut d = dest(1, 2);
        d.forward = Forward::Tun(Tunnel::default());
        assert_eq!(d.to_string(), "-r 10.0.0.1:80 -i -w 2");
        d.forward = Forward::Tun(Tunnel {
            kind: TunnelKind::Gue,
            port: 6080,
            csum: TunnelCsum::RemCsum,
        });
        assert_eq!(
            d.to_string(),
            "-r 10.0.0.1:80 -i --tun-type gue --tun-port 6080 --tun-remcsum -w 2"
        );
    }

    #[test]
    fn refusals_name_the_service_as_ipvsadm_does() {
        let e = IpvsOpError::NoSuchDest(svc(80).key, dest(1, 1).key);
        assert_eq!(
            e.to_string(),
            "service -t 10.0.0.100:80 has no destination 10.0.0.1:80"
        );
    }

    #[test]
    fn reconcile_of_equal_states_is_empty() {
        let s = state(&[(svc(80), &[dest(1, 1), dest(2, 1)])]);
        assert!(reconcile(&s, &s).is_empty());
    }

    #[test]
    fn a_weight_change_is_one_edit_not_a_delete_and_add() {
        let a = state(&[(svc(80), &[dest(1, 1), dest(2, 1)])]);
        let b = state(&[(svc(80), &[dest(1, 1), dest(2, 0)])]);
        let ops = reconcile(&a, &b);
        assert_eq!(
            ops,
            vec![IpvsOp::EditDest {
                service: svc(80).key,
                dest: dest(2, 0)
            }]
        );
    }

    #[test]
    fn an_unwanted_service_goes_in_one_call_with_its_dests() {
        let a = state(&[
            (svc(80), &[dest(1, 1)]),
            (svc(443), &[dest(1, 1), dest(2, 1)]),
        ]);
        let b = state(&[(svc(80), &[dest(1, 1)])]);
        assert_eq!(reconcile(&a, &b), vec![IpvsOp::DelService(svc(443).key)]);
    }

    #[test]
    fn new_dests_are_added_in_the_desired_order() {
        let a = state(&[]);
        let b = state(&[(svc(80), &[dest(2, 1), dest(1, 3)])]);
        let ops = reconcile(&a, &b);
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0], IpvsOp::AddService(svc(80)));
        assert!(matches!(ops[1], IpvsOp::AddDest { dest: d, .. } if d == dest(2, 1)));
        assert!(matches!(ops[2], IpvsOp::AddDest { dest: d, .. } if d == dest(1, 3)));
    }

    #[test]
    fn applying_the_ops_reaches_the_desired_state() {
        let mut sched_change = svc(80);
        sched_change.algorithm = Algorithm::Rr;
        let a = state(&[
            (svc(80), &[dest(1, 1), dest(2, 1)]),
            (svc(8080), &[dest(3, 1)]),
        ]);
        let b = state(&[
            (sched_change, &[dest(2, 5), dest(4, 1)]),
            (svc(443), &[dest(1, 1)]),
        ]);
        let mut s = a.clone();
        for op in reconcile(&a, &b) {
            s.apply(&op).unwrap();
        }
        // The same services and dests, whatever the order of services.
        for want in &b.services {
            let got = s.service(want.spec.key).unwrap();
            assert_eq!(got.spec, want.spec);
            let mut g = got.dests.clone();
            let mut w = want.dests.clone();
            g.sort_by_key(|d| d.key);
            w.sort_by_key(|d| d.key);
            assert_eq!(g, w);
        }
        assert_eq!(s.services.len(), b.services.len());
    }
}

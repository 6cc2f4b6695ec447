//! A director host's IPVS, as the simulator models the kernel's: the table
//! the director programmed, each service's scheduler (the core's, with the
//! kernel's semantics), and persistence templates.
//!
//! The kernel state belongs to the host, not to the vigil process: a crashed
//! vigil leaves it as it was, and the next start reconciles from it.
//! Client probes are short TCP connections: each is scheduled, bound, and
//! closed at once; the kernel keeps a closed connection as an inactive one
//! for TIME_WAIT (2 minutes by default), longer than a scenario runs, so the
//! connection counts the least-connection schedulers see are the kernel's.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;
use vigil_core::Instant;
use vigil_core::lvs::ipvs::{IpvsOp, IpvsState, ServiceKey};
use vigil_core::lvs::{DestKey, DestSpec, Options, Packet, Protocol, Scheduler};

/// One host's IPVS.
#[derive(Clone, Debug, Default)]
pub struct Kernel {
    pub table: IpvsState,
    scheds: BTreeMap<ServiceKey, Scheduler>,
    /// (service, client address under the granularity mask) → the real
    /// server and when the template expires.
    templates: BTreeMap<(ServiceKey, IpAddr), (DestKey, Instant)>,
}

impl Kernel {
    /// Applies one `ipvsadm` call; what the kernel would refuse is returned.
    pub fn apply(&mut self, now: Instant, op: &IpvsOp) -> Result<(), String> {
        self.table.apply(op).map_err(|e| e.to_string())?;
        match op {
            IpvsOp::AddService(spec) | IpvsOp::EditService(spec) => {
                let keep = self
                    .scheds
                    .get(&spec.key)
                    .is_some_and(|s| s.algorithm() == spec.algorithm && s.flags() == spec.flags);
                if !keep {
                    let opts = Options {
                        start: now,
                        ..Options::default()
                    };
                    let mut s = Scheduler::new(spec.algorithm, spec.flags, opts);
                    if let Some(entry) = self.table.service(spec.key) {
                        for d in &entry.dests {
                            s.add_dest(&dest_spec(d)).map_err(|e| e.to_string())?;
                        }
                    }
                    self.scheds.insert(spec.key, s);
                }
            }
            IpvsOp::DelService(key) => {
                self.scheds.remove(key);
                self.templates.retain(|(k, _), _| k != key);
            }
            IpvsOp::AddDest { service, dest } => {
                if let Some(s) = self.scheds.get_mut(service) {
                    s.add_dest(&dest_spec(dest)).map_err(|e| e.to_string())?;
                }
            }
            IpvsOp::EditDest { service, dest } => {
                if let Some(s) = self.scheds.get_mut(service) {
                    s.edit_dest(&dest_spec(dest)).map_err(|e| e.to_string())?;
                }
            }
            IpvsOp::DelDest { service, key } => {
                if let Some(s) = self.scheds.get_mut(service) {
                    s.del_dest(*key).map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// The real server a new TCP connection from `src:sport` to
    /// `dst:dport` goes to, if a service takes it. A persistence template
    /// sends the client back to its real server while that server is in
    /// the service, even quiesced (weight 0): the kernel expires a template
    /// only when its server is gone, unless the `expire_quiescent_template`
    /// sysctl (off by default) says otherwise.
    pub fn connect(
        &mut self,
        now: Instant,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
    ) -> Option<DestKey> {
        let entry = self.table.services.iter().find(|s| match s.spec.key {
            ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr,
                port,
            } => addr == dst && (port == dport || port == 0),
            _ => false,
        })?;
        let key = entry.spec.key;
        let persistence = entry.spec.persistence;
        let usable = |d: DestKey| entry.dests.iter().any(|e| e.key == d);
        let client = persistence.map(|p| masked(src, p.netmask));
        if let Some(c) = client
            && let Some(&(dest, until)) = self.templates.get(&(key, c))
            && until > now
            && usable(dest)
        {
            self.bind_closed(key, dest);
            self.refresh(key, c, dest, now, persistence.map(|p| p.timeout));
            return Some(dest);
        }
        let pkt = Packet {
            src,
            sport,
            dst,
            dport,
            protocol: Protocol::Tcp,
        };
        let dest = self.scheds.get_mut(&key)?.connect(now, &pkt)?;
        // The probe's connection closes at once: inactive until TIME_WAIT ends.
        if let Some(s) = self.scheds.get_mut(&key) {
            let _ = s.set_active(dest, false);
        }
        if let Some(c) = client {
            self.refresh(key, c, dest, now, persistence.map(|p| p.timeout));
        }
        Some(dest)
    }

    fn bind_closed(&mut self, key: ServiceKey, dest: DestKey) {
        if let Some(s) = self.scheds.get_mut(&key) {
            let _ = s.bind(dest, false);
        }
    }

    fn refresh(
        &mut self,
        key: ServiceKey,
        client: IpAddr,
        dest: DestKey,
        now: Instant,
        timeout: Option<u32>,
    ) {
        let timeout = Duration::from_secs(u64::from(timeout.unwrap_or(0)));
        self.templates.insert((key, client), (dest, now + timeout));
    }
}

fn dest_spec(d: &vigil_core::lvs::ipvs::DestEntry) -> DestSpec {
    DestSpec {
        key: d.key,
        weight: d.weight,
        u_threshold: d.u_threshold,
        l_threshold: d.l_threshold,
    }
}

/// The client address under the persistence granularity (an IPv4 netmask
/// as a number, or an IPv6 prefix length).
fn masked(addr: IpAddr, netmask: u32) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) & netmask).into()),
        IpAddr::V6(a) => {
            let bits = netmask.min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::lvs::Algorithm;
    use vigil_core::lvs::ipvs::{DestEntry, Forward, Persistence, ServiceSpec};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn service(persistence: Option<Persistence>) -> (Kernel, ServiceKey) {
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip("10.0.0.100"),
            port: 80,
        };
        let mut k = Kernel::default();
        let spec = ServiceSpec {
            key,
            algorithm: Algorithm::Rr,
            flags: Default::default(),
            persistence,
            one_packet: false,
        };
        k.apply(Instant::ZERO, &IpvsOp::AddService(spec)).unwrap();
        for last in [10, 11] {
            k.apply(
                Instant::ZERO,
                &IpvsOp::AddDest {
                    service: key,
                    dest: dest(last, 1),
                },
            )
            .unwrap();
        }
        (k, key)
    }

    fn dest(last: u8, weight: u32) -> DestEntry {
        DestEntry {
            key: DestKey::new(IpAddr::from([10, 0, 0, last]), 80),
            weight,
            forward: Forward::Dr,
            u_threshold: 0,
            l_threshold: 0,
        }
    }

    fn pick(k: &mut Kernel, src: &str, sport: u16, secs: u64) -> Option<u8> {
        let now = Instant::ZERO + Duration::from_secs(secs);
        k.connect(now, ip(src), sport, ip("10.0.0.100"), 80)
            .map(|d| match d.addr {
                IpAddr::V4(a) => a.octets()[3],
                IpAddr::V6(_) => 0,
            })
    }

    #[test]
    fn without_persistence_rr_alternates_between_connections() {
        let (mut k, _) = service(None);
        let picks: Vec<_> = (0..4)
            .map(|i| pick(&mut k, "10.0.1.1", 40000 + i, 0))
            .collect();
        assert_eq!(picks[0], picks[2]);
        assert_eq!(picks[1], picks[3]);
        assert_ne!(picks[0], picks[1]);
    }

    #[test]
    fn a_persistent_client_stays_until_the_template_expires() {
        let p = Persistence {
            timeout: 50,
            netmask: u32::MAX,
        };
        let (mut k, _) = service(Some(p));
        let first = pick(&mut k, "10.0.1.1", 40000, 0);
        assert_eq!(pick(&mut k, "10.0.1.1", 40001, 30), first);
        // Other clients are scheduled on their own: rr moves on, and back.
        assert_ne!(pick(&mut k, "10.0.1.2", 40000, 30), first);
        assert_eq!(pick(&mut k, "10.0.1.3", 40000, 31), first);
        // 50 s after its last use the template is gone: rr's turn decides.
        assert_ne!(pick(&mut k, "10.0.1.1", 40002, 81), first);
    }

    #[test]
    fn a_quiesced_real_server_keeps_its_persistent_clients_a_removed_one_loses_them() {
        let p = Persistence {
            timeout: 50,
            netmask: u32::MAX,
        };
        let (mut k, key) = service(Some(p));
        let first = pick(&mut k, "10.0.1.1", 40000, 0).unwrap();
        k.apply(
            Instant::ZERO,
            &IpvsOp::EditDest {
                service: key,
                dest: dest(first, 0),
            },
        )
        .unwrap();
        assert_eq!(pick(&mut k, "10.0.1.1", 40001, 1), Some(first));
        let gone = DestKey::new(IpAddr::from([10, 0, 0, first]), 80);
        k.apply(
            Instant::ZERO,
            &IpvsOp::DelDest {
                service: key,
                key: gone,
            },
        )
        .unwrap();
        assert_ne!(pick(&mut k, "10.0.1.1", 40002, 2), Some(first));
    }

    #[test]
    fn granularity_groups_clients_of_one_network() {
        assert_eq!(masked(ip("10.0.1.77"), 0xffff_ff00), ip("10.0.1.0"));
        assert_eq!(masked(ip("fd00::1:2"), 64), ip("fd00::"));
    }
}

//! The table with its counters, rendered as `ipvsadm -Ln` (ipvsadm 1.31)
//! prints it, so that scripts reading one can read the other.

use super::{DestCounters, IpvsStats};
use std::fmt;
use std::net::IpAddr;
use vigil_core::lvs::Protocol;
use vigil_core::lvs::ipvs::{DestEntry, Forward, ServiceKey, ServiceSpec};

/// What `ipvsadm -L` shows: the kernel's IPVS version, the size of its
/// connection table, and every service as the kernel dumped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// `IP_VS_VERSION_CODE`: 0x010201 is 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
    pub services: Vec<ListedService>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedService {
    pub spec: ServiceSpec,
    pub stats: IpvsStats,
    /// In the kernel's list order: the most recently added first.
    pub dests: Vec<ListedDest>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListedDest {
    pub entry: DestEntry,
    pub counters: DestCounters,
    pub stats: IpvsStats,
}

/// ipvsadm's sort key for a service (`ipvs_cmp_services`): fwmark (0 for an
/// address service), family, protocol number, address, port. ipvsadm
/// compares addresses by subtracting them as `int`s, which inverts the
/// order of two addresses 2³¹ or more apart; this compares them as numbers.
fn service_order(spec: &ServiceSpec) -> (u32, bool, u16, Option<IpAddr>, u16) {
    match spec.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let number = match protocol {
                Protocol::Tcp => 6,
                Protocol::Udp => 17,
                Protocol::Sctp => 132,
                Protocol::Other => u16::MAX,
            };
            (0, addr.is_ipv6(), number, Some(addr), port)
        }
        ServiceKey::Fwmark { mark, ipv6 } => (mark, ipv6, 6, None, 0),
    }
}

fn service_line(spec: &ServiceSpec) -> String {
    let mut line = match spec.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let name = match protocol {
                Protocol::Udp => "UDP",
                Protocol::Sctp => "SCTP",
                Protocol::Tcp | Protocol::Other => "TCP",
            };
            format!("{name:<4} {}", std::net::SocketAddr::new(addr, port))
        }
        ServiceKey::Fwmark { mark, ipv6 } => {
            format!("FWM  {mark}{}", if ipv6 { " IPv6" } else { "" })
        }
    };
    line.push(' ');
    line.push_str(spec.algorithm.name());
    let flags = spec.flags.names(spec.algorithm);
    if !flags.is_empty() {
        line.push_str(&format!(" ({})", flags.join(",")));
    }
    if let Some(p) = spec.persistence {
        line.push_str(&format!(" persistent {}", p.timeout));
        let v6 = spec.key.is_ipv6();
        if v6 && p.netmask != 128 {
            line.push_str(&format!(" mask {}", p.netmask));
        } else if !v6 && p.netmask != u32::MAX {
            line.push_str(&format!(" mask {}", std::net::Ipv4Addr::from(p.netmask)));
        }
    }
    if spec.one_packet {
        line.push_str(" ops");
    }
    line
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.version;
        writeln!(
            f,
            "IP Virtual Server version {}.{}.{} (size={})",
            (v >> 16) & 0xff,
            (v >> 8) & 0xff,
            v & 0xff,
            self.conn_tab_size
        )?;
        writeln!(f, "Prot LocalAddress:Port Scheduler Flags")?;
        writeln!(
            f,
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
        )?;
        let mut services: Vec<&ListedService> = self.services.iter().collect();
        services.sort_by_key(|s| service_order(&s.spec));
        for s in services {
            writeln!(f, "{}", service_line(&s.spec))?;
            let mut dests: Vec<&ListedDest> = s.dests.iter().collect();
            dests.sort_by_key(|d| (d.entry.key.addr.is_ipv6(), d.entry.key));
            for d in dests {
                let method = match d.entry.forward {
                    Forward::Nat => "Masq",
                    Forward::Dr => "Route",
                    Forward::Tun(_) => "Tunnel",
                };
                writeln!(
                    f,
                    "  -> {:<28} {method:<7} {:<6} {:<10} {:<10}",
                    d.entry.key.to_string(),
                    d.entry.weight,
                    d.counters.active,
                    d.counters.inactive
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use vigil_core::lvs::ipvs::{Persistence, Tunnel};
    use vigil_core::lvs::{Algorithm, DestKey, SchedFlags};

    fn spec(key: ServiceKey, algorithm: Algorithm) -> ServiceSpec {
        ServiceSpec {
            key,
            algorithm,
            flags: SchedFlags::default(),
            persistence: None,
            one_packet: false,
        }
    }

    fn tcp(a: [u8; 4], port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: Ipv4Addr::from(a).into(),
            port,
        }
    }

    fn dest(addr: IpAddr, port: u16, forward: Forward, weight: u32, active: u32) -> ListedDest {
        ListedDest {
            entry: DestEntry {
                key: DestKey::new(addr, port),
                weight,
                forward,
                u_threshold: 0,
                l_threshold: 0,
            },
            counters: DestCounters {
                active,
                inactive: 1,
                persistent: 0,
            },
            stats: IpvsStats::default(),
        }
    }

    /// The text is the one ipvsadm 1.31 printed for this table on Debian's
    /// 6.1 kernel (the VM test compares the two on every run).
    #[test]
    fn renders_like_ipvsadm_ln() {
        let mut sh = spec(tcp([10, 0, 0, 1], 80), Algorithm::Sh);
        sh.flags = SchedFlags::FALLBACK.with(SchedFlags::PORT);
        let mut rr = spec(tcp([10, 0, 0, 3], 80), Algorithm::Rr);
        rr.flags = SchedFlags::FLAG3;
        rr.persistence = Some(Persistence {
            timeout: 60,
            netmask: u32::MAX,
        });
        let mut udp = spec(
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                addr: Ipv4Addr::new(10, 0, 0, 3).into(),
                port: 53,
            },
            Algorithm::Wlc,
        );
        udp.one_packet = true;
        let mut v6 = spec(
            ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: "2001:db8::1".parse::<Ipv6Addr>().unwrap().into(),
                port: 443,
            },
            Algorithm::Lc,
        );
        v6.persistence = Some(Persistence {
            timeout: 30,
            netmask: 96,
        });
        let mut fwm6 = spec(
            ServiceKey::Fwmark {
                mark: 8,
                ipv6: true,
            },
            Algorithm::Rr,
        );
        fwm6.persistence = Some(Persistence {
            timeout: 10,
            netmask: 64,
        });
        let v4 = |a: [u8; 4]| IpAddr::from(Ipv4Addr::from(a));
        let listing = Listing {
            version: 0x010201,
            conn_tab_size: 4096,
            // The kernel's hash order, destinations newest first.
            services: vec![
                ListedService {
                    spec: fwm6,
                    stats: IpvsStats::default(),
                    dests: vec![],
                },
                ListedService {
                    spec: v6,
                    stats: IpvsStats::default(),
                    dests: vec![dest(
                        "2001:db8::2".parse::<Ipv6Addr>().unwrap().into(),
                        443,
                        Forward::Nat,
                        1,
                        0,
                    )],
                },
                ListedService {
                    spec: udp,
                    stats: IpvsStats::default(),
                    dests: vec![],
                },
                ListedService {
                    spec: rr,
                    stats: IpvsStats::default(),
                    dests: vec![],
                },
                ListedService {
                    spec: sh,
                    stats: IpvsStats::default(),
                    dests: vec![
                        dest(v4([127, 0, 0, 1]), 80, Forward::Dr, 1, 0),
                        dest(
                            v4([10, 0, 1, 3]),
                            80,
                            Forward::Tun(Tunnel::default()),
                            1,
                            12,
                        ),
                        dest(v4([10, 0, 1, 1]), 80, Forward::Nat, 3, 0),
                    ],
                },
                ListedService {
                    spec: spec(
                        ServiceKey::Fwmark {
                            mark: 7,
                            ipv6: false,
                        },
                        Algorithm::Rr,
                    ),
                    stats: IpvsStats::default(),
                    dests: vec![dest(v4([10, 0, 1, 1]), 0, Forward::Dr, 1, 0)],
                },
            ],
        };
        let want = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 sh (sh-fallback,sh-port)
  -> 10.0.1.1:80                  Masq    3      0          1         
  -> 10.0.1.3:80                  Tunnel  1      12         1         
  -> 127.0.0.1:80                 Route   1      0          1         
TCP  10.0.0.3:80 rr (flag-3) persistent 60
UDP  10.0.0.3:53 wlc ops
TCP  [2001:db8::1]:443 lc persistent 30 mask 96
  -> [2001:db8::2]:443            Masq    1      0          1         
FWM  7 rr
  -> 10.0.1.1:0                   Route   1      0          1         
FWM  8 IPv6 rr persistent 10 mask 64
";
        assert_eq!(listing.to_string(), want);
    }
}

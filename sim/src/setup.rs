//! From a scenario to the simulated world: hosts with their interfaces,
//! clients, and what the invariant checker must know of each instance.

use crate::node;
use crate::world::{Client, EPHEMERAL_PORTS, Host, Iface, Server};
use crate::{SimError, TICK};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use tokio::sync::Notify;
use vigil_core::scenario::Scenario;
use vigil_core::scenario::format::{DEFAULT_SEGMENT, parse_cidr};

fn v4(node: &str, text: &str) -> Result<Ipv4Addr, SimError> {
    match parse_cidr(text) {
        Some((IpAddr::V4(a), _)) => Ok(a),
        _ => Err(SimError::Node {
            node: node.into(),
            problem: format!("{text:?} is not an IPv4 address/prefix"),
        }),
    }
}

fn v6(node: &str, text: &Option<String>) -> Result<Option<Ipv6Addr>, SimError> {
    match text.as_deref().map(parse_cidr) {
        None => Ok(None),
        Some(Some((IpAddr::V6(a), _))) => Ok(Some(a)),
        Some(_) => Err(SimError::Node {
            node: node.into(),
            problem: format!("{text:?} is not an IPv6 address/prefix"),
        }),
    }
}

/// Checks a node's config text the way the node will read it.
pub(crate) fn check_config(node: &str, text: &str) -> Result<(), SimError> {
    let parsed = node::read_config(text);
    if parsed.has_errors() {
        let diagnostics = parsed
            .errors()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        return Err(SimError::Config {
            node: node.into(),
            diagnostics,
        });
    }
    Ok(())
}

pub(crate) fn hosts(scenario: &Scenario) -> Result<Vec<Host>, SimError> {
    let mut hosts = Vec::new();
    for (h, n) in scenario.node.iter().enumerate() {
        check_config(&n.name, &n.config)?;
        let link_local = |i: usize| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, i as u16, h as u16 + 1);
        let mut ifaces = vec![Iface {
            name: "eth0".into(),
            segment: DEFAULT_SEGMENT.into(),
            v4: v4(&n.name, &n.addr)?,
            v6_link_local: link_local(0),
            v6: v6(&n.name, &n.addr6)?,
            up: true,
        }];
        for (k, i) in n.ifaces.iter().enumerate() {
            ifaces.push(Iface {
                name: i.name.clone(),
                segment: i.segment.clone(),
                v4: v4(&n.name, &i.addr)?,
                v6_link_local: link_local(k + 1),
                v6: v6(&n.name, &i.addr6)?,
                up: true,
            });
        }
        hosts.push(Host {
            name: n.name.clone(),
            number: u8::try_from(h + 1).unwrap_or(u8::MAX),
            ifaces,
            config: n.config.clone(),
            wanted: n.started,
            running: false,
            frozen: false,
            orders: Default::default(),
            wake: Rc::new(Notify::new()),
            addresses: Default::default(),
            blocked: Default::default(),
            script_results: Default::default(),
            files: Default::default(),
            states: Default::default(),
            kernel: Default::default(),
            neighbours: Default::default(),
        });
    }
    Ok(hosts)
}

pub(crate) fn clients(scenario: &Scenario) -> Result<Vec<Client>, SimError> {
    scenario
        .client
        .iter()
        .map(|c| {
            let (target, port) = c
                .probe
                .parse::<IpAddr>()
                .map(|a| (a, None))
                .or_else(|_| {
                    c.probe
                        .parse::<SocketAddr>()
                        .map(|s| (s.ip(), Some(s.port())))
                })
                .map_err(|_| SimError::Client {
                    client: c.name.clone(),
                    problem: format!("probe {:?} is not an address or address:port", c.probe),
                })?;
            let addr = parse_cidr(&c.addr)
                .map(|(a, _)| a)
                .ok_or_else(|| SimError::Client {
                    client: c.name.clone(),
                    problem: format!("{:?} is not an address/prefix", c.addr),
                })?;
            Ok(Client {
                name: c.name.clone(),
                segment: c.segment.clone().unwrap_or_else(|| DEFAULT_SEGMENT.into()),
                addr,
                sport: EPHEMERAL_PORTS,
                target,
                port,
                target_text: c.probe.clone(),
                every: c.every.0.max(TICK),
                cache: Default::default(),
                last: None,
            })
        })
        .collect()
}

pub(crate) fn servers(scenario: &Scenario) -> Result<Vec<Server>, SimError> {
    scenario
        .server
        .iter()
        .map(|s| {
            let addr = parse_cidr(&s.addr)
                .map(|(a, _)| a)
                .ok_or_else(|| SimError::Server {
                    server: s.name.clone(),
                    problem: format!("{:?} is not an address/prefix", s.addr),
                })?;
            Ok(Server {
                name: s.name.clone(),
                segment: s.segment.clone().unwrap_or_else(|| DEFAULT_SEGMENT.into()),
                addr,
                port: s.port,
                up: true,
                wake: Rc::new(Notify::new()),
            })
        })
        .collect()
}

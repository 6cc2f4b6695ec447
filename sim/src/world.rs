//! What the simulated hosts share with the driver: each node's host (its
//! interfaces, the addresses it holds, the files and script results the
//! scenario sets, its IPVS), the real servers, the clients' neighbour
//! caches, who hears whom, and the timeline. One `World` per run, behind an `Rc<RefCell<_>>`: turmoil runs
//! every host on the driver's thread, and nobody holds a borrow across an
//! `.await`.

use crate::ipvs::Kernel;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use tokio::sync::Notify;
use vigil_core::Instant;
use vigil_core::scenario::topology::Topology;
use vigil_core::scenario::{Event, What};
use vigil_core::vrrp::State;

/// One interface of a node's host.
#[derive(Clone, Debug)]
pub struct Iface {
    pub name: String,
    pub segment: String,
    pub v4: Ipv4Addr,
    /// A link-local address, derived from the host and interface numbers.
    pub v6_link_local: Ipv6Addr,
    pub v6: Option<Ipv6Addr>,
    pub up: bool,
}

/// What the driver asks of a running node.
#[derive(Clone, Debug)]
pub enum Order {
    /// Graceful stop; start again at once when `restart`.
    Shutdown {
        restart: bool,
    },
    LinkChanged {
        iface: String,
        up: bool,
    },
    FileChanged {
        path: String,
    },
    /// SIGHUP: `Host::config` holds the new text.
    Reload,
}

/// A node's host: it outlives the vigil process that runs on it.
pub struct Host {
    pub name: String,
    /// 1 for the first node: the last byte but one of its Ethernet addresses.
    pub number: u8,
    pub ifaces: Vec<Iface>,
    pub config: String,
    /// The vigil process should be running (a `start`), as opposed to never
    /// started or stopped.
    pub wanted: bool,
    /// The vigil process is running (turmoil's host may be crashed meanwhile).
    pub running: bool,
    pub frozen: bool,
    pub orders: VecDeque<Order>,
    pub wake: Rc<Notify>,
    /// Addresses on the host's interfaces added by vigil: (address, interface).
    pub addresses: BTreeSet<(IpAddr, String)>,
    /// Addresses whose traffic vigil drops (no accept mode while Master).
    pub blocked: BTreeSet<IpAddr>,
    /// vrrp_script exit codes set by `script` steps (0 until then).
    pub script_results: BTreeMap<String, i32>,
    /// File contents set by touch/write (absent when removed).
    pub files: BTreeMap<String, String>,
    /// The last state of each instance, for the timeline of a crash.
    pub states: BTreeMap<String, State>,
    /// The host's IPVS: it outlives the vigil process too.
    pub kernel: Kernel,
    /// Neighbour cache: address → host answering for it (for the real
    /// servers a director forwards to).
    pub neighbours: BTreeMap<IpAddr, String>,
}

impl Host {
    pub fn iface(&self, name: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    /// A locally administered Ethernet address: host and interface numbers.
    pub fn mac(&self, iface: &str) -> vigil_core::frame::Mac {
        let k = self
            .ifaces
            .iter()
            .position(|i| i.name == iface)
            .unwrap_or(0);
        [0x02, 0x00, 0x00, 0x00, self.number, k as u8]
    }

    pub fn holds(&self, addr: IpAddr) -> bool {
        self.addresses.iter().any(|(a, _)| *a == addr)
    }

    /// Whether an address of the host's own, or one it holds, is `addr`.
    pub fn owns(&self, addr: IpAddr) -> bool {
        self.holds(addr)
            || self.ifaces.iter().any(|i| {
                IpAddr::V4(i.v4) == addr
                    || IpAddr::V6(i.v6_link_local) == addr
                    || i.v6.map(IpAddr::V6) == Some(addr)
            })
    }
}

/// A `[[server]]`: a host answering HTTP on one port with its name.
pub struct Server {
    pub name: String,
    pub segment: String,
    pub addr: IpAddr,
    pub port: u16,
    /// Its service runs (`server_down` stops it: connections are refused).
    pub up: bool,
    pub wake: Rc<Notify>,
}

/// A client and what it last saw.
pub struct Client {
    pub name: String,
    pub segment: String,
    pub addr: IpAddr,
    /// The next ephemeral source port of its connections.
    pub sport: u16,
    pub target: IpAddr,
    /// The port of a TCP probe (`addr:port`).
    pub port: Option<u16>,
    pub target_text: String,
    pub every: std::time::Duration,
    /// Neighbour cache: address → host answering for it.
    pub cache: BTreeMap<IpAddr, String>,
    /// The last answer, to print only changes.
    pub last: Option<Option<String>>,
}

/// The first ephemeral port of a client's connections (Linux's default range).
pub(crate) const EPHEMERAL_PORTS: u16 = 32768;

pub struct World {
    pub hosts: Vec<Host>,
    pub servers: Vec<Server>,
    pub clients: Vec<Client>,
    pub topology: Topology,
    pub events: Vec<Event>,
    /// Probability that a datagram is lost, and the generator that decides.
    pub loss: f64,
    rng: u64,
    /// The scenario's one-way latency on every link.
    pub latency: std::time::Duration,
    pub record_adverts: bool,
    /// Ethernet frames of the simulated wire, when a pcap is wanted.
    pub wire: Option<Vec<(Instant, Vec<u8>)>>,
}

impl World {
    pub fn new(
        hosts: Vec<Host>,
        servers: Vec<Server>,
        clients: Vec<Client>,
        loss: f64,
        seed: u64,
        latency: std::time::Duration,
        record_adverts: bool,
    ) -> Self {
        World {
            latency,
            hosts,
            servers,
            clients,
            topology: Topology::default(),
            events: Vec::new(),
            loss,
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
            record_adverts,
            wire: None,
        }
    }

    /// Records a frame for the pcap, building it only when one is wanted.
    pub fn capture(&mut self, at: Instant, frame: impl FnOnce() -> Vec<u8>) {
        if let Some(wire) = &mut self.wire {
            wire.push((at, frame()));
        }
    }

    pub fn log(&mut self, at: Instant, host: &str, what: What) {
        self.events.push(Event {
            at,
            host: host.to_string(),
            what,
        });
    }

    /// Draws whether the next datagram is lost (splitmix64: deterministic for a seed).
    pub fn lose(&mut self) -> bool {
        if self.loss <= 0.0 {
            return false;
        }
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) < self.loss
    }

    /// A gratuitous ARP / unsolicited NA from `host` on `segment`: every
    /// client there that hears the host now sends `addr` to it.
    pub fn announce(&mut self, host: &str, segment: &str, addr: IpAddr) {
        for c in &mut self.clients {
            if c.segment == segment && self.topology.reaches(host, &c.name) {
                c.cache.insert(addr, host.to_string());
            }
        }
        for h in &mut self.hosts {
            let on = h.ifaces.iter().any(|i| i.up && i.segment == segment);
            if h.name != host && on && self.topology.reaches(host, &h.name) {
                h.neighbours.insert(addr, host.to_string());
            }
        }
    }

    /// Whether a client and a node's host can exchange packets. The host's
    /// kernel answers whatever its vigil process does (crashed, frozen).
    fn connected(&self, client: &Client, host: &Host) -> bool {
        let linked = host
            .ifaces
            .iter()
            .any(|i| i.segment == client.segment && i.up);
        linked && self.topology.hear_each_other(&client.name, &host.name)
    }

    /// Who answers client `c`'s probe now, and through which director:
    /// the host its neighbour cache names for the address answers; if that
    /// host's IPVS has a service for the address and port, the service
    /// picks a real server, which answers if it is up and the director
    /// reaches it.
    pub fn probe(&mut self, c: usize, now: Instant) -> (Option<String>, Option<String>) {
        let Some(host) = self.resolve(c) else {
            return (None, None);
        };
        let client = &mut self.clients[c];
        let (src, dst) = (client.addr, client.target);
        let Some(port) = client.port else {
            return (Some(host), None);
        };
        let sport = client.sport;
        client.sport = client.sport.checked_add(1).unwrap_or(EPHEMERAL_PORTS);
        let Some(h) = self.hosts.iter_mut().position(|h| h.name == host) else {
            return (Some(host), None);
        };
        if self.hosts[h].kernel.table.services.is_empty() {
            return (Some(host), None);
        }
        let conn = self.hosts[h].kernel.connect(now, src, sport, dst, port);
        match conn {
            Some(dest) => {
                let server = self
                    .reachable_from(h, dest.addr)
                    .filter(|name| self.listens(name, dest.port));
                (server, Some(host))
            }
            None => (Some(host), None),
        }
    }

    /// Whether host `name` accepts connections on `port`: a server while
    /// its service runs on that port; a node host always (the director's
    /// own httpd for a sorry server, HAProxy on a VIP holder).
    pub fn listens(&self, name: &str, port: u16) -> bool {
        match self.servers.iter().find(|s| s.name == name) {
            Some(s) => s.up && s.port == port,
            None => true,
        }
    }

    /// The host that `addr` leads to from node host `from` (a director
    /// forwarding to a real server, or a checker probing one): the server
    /// with that address, the node host holding it (a VIP, as seed 003's
    /// real server is) that `from`'s neighbour cache names or a fresh
    /// resolution finds, or `from` itself for a loopback address (a sorry
    /// server on 127.0.0.1) — if `from` reaches it.
    pub fn reachable_from(&mut self, from: usize, addr: IpAddr) -> Option<String> {
        let me = &self.hosts[from];
        if addr.is_loopback() || me.owns(addr) {
            return Some(me.name.clone());
        }
        let linked = |name: &str, segment: &str| {
            me.ifaces.iter().any(|i| i.up && i.segment == segment)
                && self.topology.hear_each_other(&me.name, name)
        };
        if let Some(s) = self.servers.iter().find(|s| s.addr == addr) {
            return linked(&s.name, &s.segment).then(|| s.name.clone());
        }
        let answers = |h: &Host| {
            h.holds(addr)
                && !h.blocked.contains(&addr)
                && h.ifaces.iter().any(|i| i.up && linked(&h.name, &i.segment))
        };
        let found = neighbour(&me.neighbours, &self.hosts, addr, answers);
        learn(&mut self.hosts[from].neighbours, addr, &found);
        found
    }

    /// The host client `c`'s neighbour cache names for its target, if that
    /// host is reachable and holds the address; otherwise whoever answers a
    /// fresh resolution (the first reachable holder, in host order).
    fn resolve(&mut self, c: usize) -> Option<String> {
        let client = &self.clients[c];
        let target = client.target;
        let answers =
            |h: &Host| self.connected(client, h) && h.owns(target) && !h.blocked.contains(&target);
        let found = neighbour(&client.cache, &self.hosts, target, answers);
        learn(&mut self.clients[c].cache, target, &found);
        found
    }
}

/// A neighbour lookup: the host `cache` names for `addr` while it still
/// answers, else the first host that does (a fresh resolution).
fn neighbour(
    cache: &BTreeMap<IpAddr, String>,
    hosts: &[Host],
    addr: IpAddr,
    answers: impl Fn(&Host) -> bool,
) -> Option<String> {
    if let Some(name) = cache.get(&addr)
        && hosts.iter().any(|h| &h.name == name && answers(h))
    {
        return Some(name.clone());
    }
    hosts.iter().find(|h| answers(h)).map(|h| h.name.clone())
}

/// The cache keeps what a lookup found, and forgets an address nobody answers.
fn learn(cache: &mut BTreeMap<IpAddr, String>, addr: IpAddr, found: &Option<String>) {
    match found {
        Some(name) => cache.insert(addr, name.clone()),
        None => cache.remove(&addr),
    };
}

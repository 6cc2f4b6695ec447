//! A node's vigil process inside turmoil: the core's Router driven by the
//! simulated clock, its adverts carried as frames over one UDP socket.
//!
//! The simulated wire: every frame is a UDP datagram to port [`PORT`] holding
//! the exact time it was sent, the segment's name and a whole IP packet (an IPv4 datagram built by the
//! core's codec, or an IPv6 header and the VRRP message). Multicast frames go
//! to one turmoil multicast group and each receiver keeps those of its
//! segments; unicast frames go to the host that owns the destination. So the
//! receive path — TTL, checksum, validation — is the core's, as on a real wire.
//! turmoil delivers on 1 ms ticks; the send time in the frame lets the
//! receiver's core see the exact time plus the scenario's latency, so RFC
//! timers show in the timeline to the microsecond.

use crate::director::Lvs;
use crate::world::{Order, World};
use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;
use turmoil::net::UdpSocket;
use vigil_core::Instant;
use vigil_core::config::model::Config;
use vigil_core::config::{self, MemoryLoader, Options, Parsed};
use vigil_core::frame;
use vigil_core::scenario::What;
use vigil_core::vrrp::resolve::{self, Host as HostInfo};
use vigil_core::vrrp::track::{Debounce, TrackKind, TrackState};
use vigil_core::vrrp::{Action, Command, Received, Router, State, Transmit, packet};

/// The UDP port of the simulated wire.
pub const PORT: u16 = 11200;
/// The turmoil multicast group that carries every multicast frame.
pub const WIRE_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// Where the config text sits for `include`s relative to it.
pub const CONFIG_PATH: &str = "/etc/keepalived/keepalived.conf";

/// An IPv6 header's length: the simulated wire carries whole packets.
const IPV6_HEADER_LEN: usize = 40;

/// Reads a node's keepalived.conf text as the node's vigil does, from
/// [`CONFIG_PATH`]; every part of the simulator reads configs through here.
pub fn read_config(text: &str) -> Parsed {
    let loader = MemoryLoader::new().with(CONFIG_PATH, text);
    config::parse_with(CONFIG_PATH, &loader, &Options::default())
}

/// The core's clock: turmoil's simulated time since the start.
fn sim_now() -> Instant {
    let d = turmoil::sim_elapsed().unwrap_or_default();
    Instant::from_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Runs node `i`'s vigil process whenever the scenario wants it running.
pub async fn host(i: usize, world: Rc<RefCell<World>>) -> turmoil::Result {
    let wake = world.borrow().hosts[i].wake.clone();
    loop {
        while !world.borrow().hosts[i].wanted {
            wake.notified().await;
        }
        let mut process = Process::start(i, &world).await?;
        process.serve(&world).await?;
    }
}

struct Script {
    name: String,
    interval: Duration,
    debounce: Debounce,
    next: Instant,
}

/// A host's config, read and resolved, with the scripts and files its
/// instances track.
struct Loaded {
    config: Config,
    resolved: resolve::Resolved,
    scripts: Vec<Script>,
    /// (path, track_file name).
    files: Vec<(String, String)>,
}

impl Loaded {
    fn read(host: &crate::world::Host, now: Instant) -> Loaded {
        let parsed = read_config(&host.config);
        let resolved = resolve::resolve(&parsed.model, &Ifaces(&host.ifaces));
        let tracked = |kind| {
            resolved
                .instances
                .iter()
                .flat_map(|c| c.tracks.iter())
                .filter(move |t| t.kind == kind)
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
        };
        let script_names = tracked(TrackKind::Script);
        let scripts = parsed
            .model
            .vrrp_scripts
            .iter()
            .filter(|s| script_names.contains(&s.name))
            .map(|s| Script {
                name: s.name.clone(),
                interval: s.interval,
                debounce: Debounce::new(s.rise, s.fall),
                next: now,
            })
            .collect();
        let file_names = tracked(TrackKind::File);
        let files = parsed
            .model
            .track_files
            .iter()
            .filter(|f| file_names.contains(&f.name))
            .filter_map(|f| Some((f.file.clone()?, f.name.clone())))
            .collect();
        Loaded {
            config: parsed.model,
            resolved,
            scripts,
            files,
        }
    }
}

struct Process {
    i: usize,
    name: String,
    router: Router,
    sock: UdpSocket,
    scripts: Vec<Script>,
    /// (path, track_file name) for the files the instances track.
    files: Vec<(String, String)>,
    /// The virtual servers, when the config has any.
    lvs: Option<Lvs>,
    /// The time of the input being handled; outputs are logged at it.
    now: Instant,
}

/// The interfaces of a simulated host, as resolution asks for them.
struct Ifaces<'a>(&'a [crate::world::Iface]);

impl HostInfo for Ifaces<'_> {
    fn ipv4(&self, iface: &str) -> Option<Ipv4Addr> {
        self.0.iter().find(|i| i.name == iface).map(|i| i.v4)
    }
    fn ipv6_link_local(&self, iface: &str) -> Option<Ipv6Addr> {
        self.0
            .iter()
            .find(|i| i.name == iface)
            .map(|i| i.v6_link_local)
    }
}

impl Process {
    /// What a real start does: read the config, drop configured addresses a
    /// crashed predecessor left behind, start every instance.
    async fn start(i: usize, world: &Rc<RefCell<World>>) -> turmoil::Result<Process> {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)).await?;
        sock.join_multicast_v4(WIRE_GROUP, Ipv4Addr::UNSPECIFIED)?;
        sock.set_multicast_loop_v4(false)?;
        let now = sim_now();
        let mut w = world.borrow_mut();
        let host = &mut w.hosts[i];
        host.running = true;
        let name = host.name.clone();
        let Loaded {
            config,
            resolved,
            scripts,
            files,
        } = Loaded::read(host, now);
        let configured: Vec<_> = resolved
            .instances
            .iter()
            .flat_map(|c| c.vips.iter().chain(&c.excluded_vips))
            .map(|v| (v.addr, v.iface.clone()))
            .collect();
        let stale: Vec<_> = host
            .addresses
            .iter()
            .filter(|a| configured.contains(a))
            .cloned()
            .collect();
        for a in &stale {
            host.addresses.remove(a);
        }
        let down: Vec<String> = host
            .ifaces
            .iter()
            .filter(|i| !i.up)
            .map(|i| i.name.clone())
            .collect();
        let router = Router::new(resolved.instances, resolved.groups, now)
            .map_err(|e| format!("{name}: {e}"))?;
        for (addr, iface) in stale {
            w.log(now, &name, What::VipRemoved { addr, iface });
        }
        for note in resolved.notes {
            w.log(now, &name, What::Note { text: note });
        }
        let lvs = Lvs::start(i, &w, &config, now).map_err(|e| format!("{name}: {e}"))?;
        drop(w);
        let mut p = Process {
            i,
            name,
            router,
            sock,
            scripts,
            files,
            lvs,
            now,
        };
        for iface in down {
            p.command(Command::Track {
                kind: TrackKind::Interface,
                name: iface,
                state: TrackState::Down,
            });
        }
        let paths: Vec<String> = p.files.iter().map(|f| f.0.clone()).collect();
        for path in paths {
            p.file_changed(world, &path);
        }
        Ok(p)
    }

    fn command(&mut self, cmd: Command) {
        self.router.handle_command(self.now, &cmd);
    }

    /// Handles inputs until the process stops; then the host waits for a start.
    async fn serve(&mut self, world: &Rc<RefCell<World>>) -> turmoil::Result {
        let wake = world.borrow().hosts[self.i].wake.clone();
        let mut buf = vec![0u8; 2048];
        loop {
            self.flush(world).await?;
            if world.borrow().hosts[self.i].frozen {
                wake.notified().await;
                // Thawed (or woken while still frozen): the process carries on
                // at the present, and reads what queued up meanwhile now, not
                // at the times those packets were sent.
                self.now = self.now.max(sim_now());
                continue;
            }
            let order = world.borrow_mut().hosts[self.i].orders.pop_front();
            if let Some(order) = order {
                self.now = self.now.max(sim_now());
                if self.obey(world, order) {
                    self.flush(world).await?;
                    let mut w = world.borrow_mut();
                    w.hosts[self.i].running = false;
                    return Ok(());
                }
                continue;
            }
            let deadline = self.deadline();
            let sleep = deadline.map(|d| d.saturating_since(sim_now()));
            let probed = async {
                match &mut self.lvs {
                    Some(lvs) => lvs.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = wake.notified() => {}
                r = self.sock.recv_from(&mut buf) => {
                    let (n, _from) = r?;
                    self.receive(world, &buf[..n]);
                }
                Some((id, result)) = probed => {
                    self.now = self.now.max(sim_now());
                    if let Some(lvs) = &mut self.lvs {
                        lvs.handle_result(self.now, id, result);
                    }
                }
                _ = tokio::time::sleep(sleep.unwrap_or_default()), if sleep.is_some() => {
                    // The core sees the exact deadline, not the tick it woke on.
                    let due = deadline.unwrap_or(self.now);
                    self.now = self.now.max(due);
                    self.run_scripts(world);
                    if self.router.poll_timeout().is_some_and(|t| t <= self.now) {
                        self.router.handle_timeout(self.now);
                    }
                    if let Some(lvs) = &mut self.lvs {
                        lvs.handle_timeout(self.now);
                    }
                }
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let scripts = self.scripts.iter().map(|s| s.next).min();
        let checks = self.lvs.as_ref().and_then(Lvs::deadline);
        [self.router.poll_timeout(), scripts, checks]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs the scripts that are due with the results the scenario set.
    fn run_scripts(&mut self, world: &Rc<RefCell<World>>) {
        let mut results = Vec::new();
        {
            let w = world.borrow();
            let host = &w.hosts[self.i];
            for s in &mut self.scripts {
                if s.next <= self.now {
                    s.next = s.next + s.interval.max(Duration::from_millis(1));
                    let ok = host.script_results.get(&s.name).copied().unwrap_or(0) == 0;
                    if let Some(state) = s.debounce.observe(ok) {
                        results.push((s.name.clone(), state));
                    }
                }
            }
        }
        for (name, state) in results {
            self.command(Command::Track {
                kind: TrackKind::Script,
                name,
                state,
            });
        }
    }

    /// Applies a driver order; true when the process must stop.
    fn obey(&mut self, world: &Rc<RefCell<World>>, order: Order) -> bool {
        match order {
            Order::Shutdown { restart } => {
                self.command(Command::Shutdown);
                if let Some(lvs) = &mut self.lvs {
                    lvs.shutdown();
                }
                world.borrow_mut().hosts[self.i].wanted = restart;
                true
            }
            Order::LinkChanged { iface, up } => {
                let state = if up { TrackState::Up } else { TrackState::Down };
                self.command(Command::Track {
                    kind: TrackKind::Interface,
                    name: iface,
                    state,
                });
                false
            }
            Order::FileChanged { path } => {
                self.file_changed(world, &path);
                false
            }
            Order::Reload => {
                self.reload(world);
                false
            }
        }
    }

    /// SIGHUP: the host's config was replaced. Scripts keep their verdicts
    /// where they stay; the Router keeps the state of instances that stay.
    fn reload(&mut self, world: &Rc<RefCell<World>>) {
        let loaded = {
            let w = world.borrow();
            Loaded::read(&w.hosts[self.i], self.now)
        };
        let Loaded {
            config,
            resolved,
            mut scripts,
            files,
        } = loaded;
        for s in &mut scripts {
            if let Some(old) = self.scripts.iter().find(|o| o.name == s.name) {
                s.debounce = old.debounce.clone();
            }
        }
        self.scripts = scripts;
        self.files = files;
        {
            let mut w = world.borrow_mut();
            for note in &resolved.notes {
                w.log(self.now, &self.name, What::Note { text: note.clone() });
            }
        }
        let mut refused = self
            .router
            .reload(resolved.instances, resolved.groups, self.now)
            .err()
            .map(|e| e.to_string());
        match &mut self.lvs {
            Some(lvs) => {
                if let Err(e) = lvs.reload(self.now, &config) {
                    refused.get_or_insert(e);
                }
            }
            None => match Lvs::start(self.i, &world.borrow(), &config, self.now) {
                Ok(lvs) => self.lvs = lvs,
                Err(e) => refused = Some(e),
            },
        }
        if let Some(e) = refused {
            let text = format!("reload refused, old config kept: {e}");
            world
                .borrow_mut()
                .log(self.now, &self.name, What::Note { text });
        }
    }

    /// A track_file's number: the file's first word, 0 when absent or not a number.
    fn file_changed(&mut self, world: &Rc<RefCell<World>>, path: &str) {
        let value = {
            let w = world.borrow();
            let text = w.hosts[self.i].files.get(path).cloned().unwrap_or_default();
            text.split_whitespace()
                .next()
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let names: Vec<String> = self
            .files
            .iter()
            .filter(|f| f.0 == path)
            .map(|f| f.1.clone())
            .collect();
        for name in names {
            self.command(Command::Track {
                kind: TrackKind::File,
                name,
                state: TrackState::Value(value),
            });
        }
        if let Some(lvs) = &mut self.lvs {
            lvs.file_changed(&world.borrow(), self.i, path);
        }
    }

    /// A frame from the wire: keep it if it is for one of our segments and
    /// addresses, then let the core judge the packet.
    fn receive(&mut self, world: &Rc<RefCell<World>>, frame: &[u8]) {
        let Some((sent, segment, packet)) = unenvelope(frame) else {
            return;
        };
        self.now = self.now.max(sent + world.borrow().latency);
        let Some((src, dst, ttl, bytes)) = parse_ip(packet) else {
            return;
        };
        let iface = {
            let mut w = world.borrow_mut();
            if w.lose() {
                return;
            }
            let host = &w.hosts[self.i];
            let Some(iface) = host.ifaces.iter().find(|i| i.segment == segment && i.up) else {
                return;
            };
            if !dst.is_multicast() && !host.owns(dst) {
                return;
            }
            iface.name.clone()
        };
        let rx = Received {
            iface,
            src,
            dst,
            ttl,
            bytes: bytes.to_vec(),
        };
        // A drop is counted in the router's stats; the timeline shows state.
        let _ = self.router.handle_packet(self.now, &rx);
    }

    /// Sends what the core transmitted and carries out its actions.
    async fn flush(&mut self, world: &Rc<RefCell<World>>) -> turmoil::Result {
        let mut frames = Vec::new();
        {
            // Adverts first, as keepalived sends them: a new Master's advert
            // makes the old one drop the addresses before the ARPs.
            let mut w = world.borrow_mut();
            while let Some(t) = self.router.poll_transmit() {
                if let Some(f) = wire_frame(&mut w, self.i, &self.name, self.now, &t) {
                    frames.push(f);
                }
            }
            while let Some(a) = self.router.poll_action() {
                if let (Some(lvs), Action::AddVip { vip, .. } | Action::DelVip { vip, .. }) =
                    (&mut self.lvs, &a)
                {
                    lvs.address(vip.addr, matches!(a, Action::AddVip { .. }));
                }
                act(&mut w, self.i, &self.name, self.now, a);
            }
            if let Some(lvs) = &mut self.lvs {
                lvs.flush(world, &mut w, self.i, self.now);
            }
        }
        for (bytes, dest) in frames {
            self.sock.send_to(&bytes, dest).await?;
        }
        Ok(())
    }
}

/// Carries out one core action on the simulated host.
fn act(w: &mut World, i: usize, name: &str, now: Instant, action: Action) {
    match action {
        Action::Notify {
            instance,
            from,
            to,
            reason,
        } => {
            w.hosts[i].states.insert(instance.clone(), to);
            w.log(
                now,
                name,
                What::State {
                    instance,
                    from,
                    to,
                    reason: reason.to_string(),
                },
            );
        }
        Action::NoAccept { addrs, block, .. } => {
            for addr in addrs {
                if block {
                    w.hosts[i].blocked.insert(addr);
                } else {
                    w.hosts[i].blocked.remove(&addr);
                }
            }
        }
        Action::GroupNotify { group, from, to } => {
            w.log(now, name, What::Group { group, from, to })
        }
        Action::AddVip { vip, .. } => {
            w.hosts[i].addresses.insert((vip.addr, vip.iface.clone()));
            w.log(
                now,
                name,
                What::VipAdded {
                    addr: vip.addr,
                    iface: vip.iface,
                },
            );
        }
        Action::DelVip { vip, .. } => {
            w.hosts[i].addresses.remove(&(vip.addr, vip.iface.clone()));
            w.log(
                now,
                name,
                What::VipRemoved {
                    addr: vip.addr,
                    iface: vip.iface,
                },
            );
        }
        Action::Garp {
            iface,
            addr,
            repeat,
        } => announce(w, i, name, now, &iface, IpAddr::V4(addr), repeat),
        Action::UnsolicitedNa {
            iface,
            addr,
            repeat,
        } => announce(w, i, name, now, &iface, IpAddr::V6(addr), repeat),
    }
}

fn announce(
    w: &mut World,
    i: usize,
    name: &str,
    now: Instant,
    iface: &str,
    addr: IpAddr,
    repeat: u32,
) {
    let Some(segment) = w.hosts[i]
        .iface(iface)
        .filter(|f| f.up)
        .map(|f| f.segment.clone())
    else {
        return;
    };
    w.log(now, name, What::Announce { addr, repeat });
    w.announce(name, &segment, addr);
    let mac = w.hosts[i].mac(iface);
    for _ in 0..repeat {
        w.capture(now, || match addr {
            IpAddr::V4(a) => frame::gratuitous_arp(mac, a),
            IpAddr::V6(a) => frame::unsolicited_na(mac, a),
        });
    }
}

/// A transmit as a frame and where turmoil must carry it; `None` when the
/// interface is down or no host owns a unicast destination on the segment.
fn wire_frame(
    w: &mut World,
    i: usize,
    name: &str,
    now: Instant,
    t: &Transmit,
) -> Option<(Vec<u8>, SocketAddr)> {
    let iface = w.hosts[i].iface(&t.iface).filter(|f| f.up)?;
    let segment = iface.segment.clone();
    let packet = match (t.src, t.dst) {
        // The kernel adds the IPv6 header on a real host; traffic class 0xc0 as keepalived sets it.
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            frame::ipv6_packet(src, dst, packet::PROTO_VRRP, t.ttl, 0xc0, &t.bytes)
        }
        _ => t.bytes.clone(),
    };
    let src_mac = w.hosts[i].mac(&t.iface);
    let (dest_ip, dst_mac) = if t.dst.is_multicast() {
        (
            IpAddr::V4(WIRE_GROUP),
            frame::dst_mac(t.dst, frame::BROADCAST),
        )
    } else {
        let owner = w
            .hosts
            .iter()
            .find(|h| h.ifaces.iter().any(|f| f.segment == segment) && h.owns(t.dst))?;
        let mac = owner
            .ifaces
            .iter()
            .find(|f| f.segment == segment)
            .map(|f| owner.mac(&f.name));
        (
            turmoil::lookup(owner.name.as_str()),
            mac.unwrap_or(frame::BROADCAST),
        )
    };
    w.capture(now, || frame::ethernet_ip(dst_mac, src_mac, &packet));
    if w.record_adverts {
        let summary = vigil_core::vrrp::instance::decode(&Received {
            iface: t.iface.clone(),
            src: t.src,
            dst: t.dst,
            ttl: t.ttl,
            bytes: t.bytes.clone(),
        })
        .map(|d| format!("{} -> {} {}", d.src, d.dst, d.advert))
        .unwrap_or_else(|e| format!("undecodable: {e}"));
        w.log(now, name, What::Advert { summary });
    }
    Some((
        envelope(now, &segment, &packet),
        SocketAddr::new(dest_ip, PORT),
    ))
}

/// The send time (ns), the segment name (length-prefixed), then the IP packet.
fn envelope(sent: Instant, segment: &str, packet: &[u8]) -> Vec<u8> {
    let seg = segment.as_bytes();
    let mut f = Vec::with_capacity(9 + seg.len() + packet.len());
    f.extend_from_slice(&sent.as_nanos().to_be_bytes());
    f.push(u8::try_from(seg.len()).unwrap_or(u8::MAX));
    f.extend_from_slice(&seg[..seg.len().min(255)]);
    f.extend_from_slice(packet);
    f
}

fn unenvelope(frame: &[u8]) -> Option<(Instant, &str, &[u8])> {
    let (sent, rest) = frame.split_first_chunk::<8>()?;
    let (&len, rest) = rest.split_first()?;
    let seg = rest.get(..usize::from(len))?;
    let sent = Instant::from_nanos(u64::from_be_bytes(*sent));
    Some((
        sent,
        std::str::from_utf8(seg).ok()?,
        &rest[usize::from(len)..],
    ))
}

/// Source, destination, TTL / hop limit, and what the core decodes: the
/// whole IPv4 datagram, or the IPv6 payload.
fn parse_ip(packet: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    match packet.first()? >> 4 {
        4 if packet.len() >= 20 => {
            let addr = |o: usize| {
                IpAddr::V4(Ipv4Addr::new(
                    packet[o],
                    packet[o + 1],
                    packet[o + 2],
                    packet[o + 3],
                ))
            };
            Some((addr(12), addr(16), packet[8], packet))
        }
        6 if packet.len() >= IPV6_HEADER_LEN => {
            let addr = |o: usize| {
                let b: [u8; 16] = packet[o..o + 16].try_into().unwrap_or([0; 16]);
                IpAddr::V6(Ipv6Addr::from(b))
            };
            Some((addr(8), addr(24), packet[7], &packet[IPV6_HEADER_LEN..]))
        }
        _ => None,
    }
}

/// The instance states a crashed process leaves: everything stops at once.
pub fn crashed(w: &mut World, i: usize, now: Instant) {
    let name = w.hosts[i].name.clone();
    let states = std::mem::take(&mut w.hosts[i].states);
    for (instance, from) in states {
        if from != State::Stopped {
            w.log(
                now,
                &name,
                What::State {
                    instance,
                    from,
                    to: State::Stopped,
                    reason: "crashed (SIGKILL)".into(),
                },
            );
        }
    }
    w.hosts[i].running = false;
}

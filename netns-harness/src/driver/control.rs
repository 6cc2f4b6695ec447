//! The control socket: `vigil status` connects, the daemon writes one JSON
//! document (a [`Status`]) and closes. A Unix stream socket, mode 0600, so
//! only root reads the daemon's state; the main thread serves it, asking
//! the VRRP and checker threads for their part, so a slow client never
//! holds up either loop.
//!
//! The field names are the JSON interface (`vigil status --json`): they are
//! snake_case and only ever added to.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use vigil_core::Instant;
use vigil_core::lvs::Protocol;
use vigil_core::lvs::director::Director;
use vigil_core::lvs::ipvs::{Forward, ServiceKey};
use vigil_core::vrrp::track::{Effect, TrackKind, TrackState};
use vigil_core::vrrp::{Router, Vip};

use super::checkers::Order;
use super::ipvs::{IpvsStats, ListedService, Listing};
use super::notify_queue;
use super::vrrp::Control;
use crate::error::{Error, Result};

/// Where `vigil run` listens and `vigil status` connects by default.
pub const DEFAULT_SOCKET: &str = "/run/vigil/vigil.sock";

/// How long a thread may take to describe itself before the answer goes
/// out without its part.
const THREAD_ANSWER: Duration = Duration::from_secs(2);

/// Everything `vigil status` shows (and the dumps and metrics are made of).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Status {
    pub instances: Vec<InstanceStatus>,
    /// Datagrams no instance took, by reason.
    pub dropped: BTreeMap<String, u64>,
    pub virtual_servers: Vec<VirtualServerStatus>,
    /// Notify scripts of both threads since the daemon started.
    pub notify_scripts: ScriptCounts,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptCounts {
    pub runs: u64,
    /// Refused (script security, unknown user), not started, dropped from
    /// a full queue, terminated as hung, or ended other than with 0.
    pub failures: u64,
}

/// The VRRP thread's part of [`Status`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VrrpStatus {
    pub instances: Vec<InstanceStatus>,
    pub dropped: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub state: String,
    pub interface: String,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// Our primary address: the source of our adverts.
    pub source: IpAddr,
    /// Unicast mode when not empty.
    pub unicast_peers: Vec<IpAddr>,
    pub advert_interval_ms: u32,
    /// Master_Down_Interval in force.
    pub master_down_interval_us: u64,
    pub preempt: bool,
    pub preempt_delay_ms: u64,
    pub accept: bool,
    /// As `ip addr` takes them: `10.0.0.100/24 dev eth0 scope global`.
    pub virtual_addresses: Vec<String>,
    /// `virtual_ipaddress_excluded`: installed, not advertised.
    pub excluded_addresses: Vec<String>,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub trackers: Vec<TrackerStatus>,
    /// The Master last heard from (none yet, or ourselves as Master).
    pub master: Option<IpAddr>,
    pub master_priority: Option<u8>,
    pub last_transition: Option<Transition>,
    /// Every state change so far, by the state entered and its cause.
    pub transitions: Vec<TransitionCount>,
    pub became_master: u64,
    pub released_master: u64,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    /// Adverts this instance dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Transition {
    pub seconds_ago: f64,
    pub cause: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionCount {
    /// The state entered: `MASTER`, …
    pub to: String,
    /// A stable name: `startup`, `master_down`, `higher_priority`, …
    pub cause: String,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrackerStatus {
    /// `interface`, `script`, `file` or `process`.
    pub kind: String,
    pub name: String,
    pub weight: i32,
    /// `up`, `down`, the file's value, or none before the first report.
    pub state: Option<String>,
    pub contribution: Contribution,
}

/// What one tracker does to its instance now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contribution {
    Priority(i32),
    Fault,
    Pending,
}

impl std::fmt::Display for Contribution {
    /// `+10`, `fault`, `pending`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Contribution::Priority(p) => write!(f, "{p:+}"),
            Contribution::Fault => f.write_str("fault"),
            Contribution::Pending => f.write_str("pending"),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// keepalived's name for it: `[10.0.0.100]:tcp:80`, `FWM 1`.
    pub name: String,
    /// Every IPVS service it stands for, as `ipvsadm` names them.
    pub services: Vec<String>,
    /// `lb_algo`.
    pub scheduler: String,
    pub quorum_up: bool,
    pub real_servers: Vec<RealServerStatus>,
    /// The kernel's counters, summed over its services; none where the
    /// table is not the kernel's, or has none of them.
    pub ipvs_stats: Option<IpvsStats>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RealServerStatus {
    pub address: SocketAddr,
    /// `lb_kind`: `NAT`, `DR` or `TUN`.
    pub forwarding: String,
    pub alive: bool,
    /// The configured weight as the checkers moved it.
    pub effective_weight: i64,
    /// The weight in the IPVS table; none when it is not there.
    pub ipvs_weight: Option<u32>,
    pub checks: Vec<CheckStatus>,
    /// The kernel's counters for it, summed over the virtual server's
    /// services; none where it is not in the kernel's table.
    pub ipvs_stats: Option<IpvsStats>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckStatus {
    pub kind: String,
    pub up: bool,
}

/// The VRRP thread's answer, built on that thread.
pub fn vrrp_status(router: &Router, now: Instant) -> VrrpStatus {
    let instances = router
        .instances()
        .iter()
        .map(|i| {
            let states = i.track_states();
            let trackers = i
                .config()
                .tracks
                .iter()
                .map(|t| {
                    let state = states.get(&(t.kind, t.name.clone())).copied();
                    TrackerStatus {
                        kind: track_kind(t.kind).into(),
                        name: t.name.clone(),
                        weight: t.weight,
                        state: state.map(|s| match s {
                            TrackState::Up => "up".into(),
                            TrackState::Down => "down".into(),
                            TrackState::Value(v) => v.to_string(),
                        }),
                        contribution: match t.effect(state) {
                            Effect::Priority(p) => Contribution::Priority(p),
                            Effect::Fault => Contribution::Fault,
                            Effect::Pending => Contribution::Pending,
                        },
                    }
                })
                .collect();
            let stats = i.stats();
            let cfg = i.config();
            InstanceStatus {
                name: i.name().into(),
                state: i.state().to_string(),
                interface: cfg.iface.clone(),
                vrid: cfg.vrid,
                version: cfg.version.number(),
                source: cfg.src,
                unicast_peers: cfg.unicast_peers.clone(),
                advert_interval_ms: u32::from(cfg.interval_cs) * 10,
                master_down_interval_us: i.master_down_interval_us(),
                preempt: cfg.preempt,
                preempt_delay_ms: u64::try_from(cfg.preempt_delay.as_millis()).unwrap_or(u64::MAX),
                accept: cfg.accept,
                virtual_addresses: cfg.vips.iter().map(vip_text).collect(),
                excluded_addresses: cfg.excluded_vips.iter().map(vip_text).collect(),
                base_priority: i.base_priority(),
                effective_priority: i.effective_priority(),
                trackers,
                master: i.master().map(|m| m.0),
                master_priority: i.master().map(|m| m.1),
                last_transition: i.last_transition().map(|(at, reason)| Transition {
                    seconds_ago: now.saturating_since(*at).as_secs_f64(),
                    cause: reason.to_string(),
                }),
                transitions: stats
                    .transitions
                    .iter()
                    .map(|((to, cause), count)| TransitionCount {
                        to: to.to_string(),
                        cause: (*cause).into(),
                        count: *count,
                    })
                    .collect(),
                became_master: stats.became_master,
                released_master: stats.released_master,
                adverts_sent: stats.adverts_sent,
                adverts_received: stats.adverts_received,
                priority_zero_sent: stats.priority_zero_sent,
                priority_zero_received: stats.priority_zero_received,
                dropped: by_name(&stats.dropped),
            }
        })
        .collect();
    VrrpStatus {
        instances,
        dropped: by_name(router.dropped()),
    }
}

/// A virtual address as `ip addr add` takes it.
fn vip_text(v: &Vip) -> String {
    let mut s = format!("{}/{} dev {}", v.addr, v.prefix_len, v.iface);
    if let Some(b) = v.broadcast {
        s += &format!(" brd {b}");
    }
    if let Some(scope) = &v.scope {
        s += &format!(" scope {scope}");
    }
    if let Some(l) = &v.label {
        s += &format!(" label {l}");
    }
    s
}

fn track_kind(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Interface => "interface",
        TrackKind::Script => "script",
        TrackKind::File => "file",
        TrackKind::Process => "process",
    }
}

fn by_name(counts: &BTreeMap<&'static str, u64>) -> BTreeMap<String, u64> {
    counts.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

/// The checker thread's answer, built on that thread; `kernel` is the
/// kernel's table with its counters, where the backend is the kernel.
pub fn lvs_status(director: &Director, kernel: Option<&Listing>) -> Vec<VirtualServerStatus> {
    let mut out: Vec<VirtualServerStatus> = director
        .services()
        .map(|vs| {
            let table = director.table();
            let listed: Vec<&ListedService> = kernel
                .map(|k| {
                    k.services
                        .iter()
                        .filter(|s| vs.keys().contains(&s.spec.key))
                        .collect()
                })
                .unwrap_or_default();
            let real_servers = vs
                .real_servers()
                .iter()
                .map(|rs| {
                    let ipvs_weight = vs.keys().first().and_then(|k| {
                        let entry = table.service(*k)?;
                        Some(entry.dests.iter().find(|d| d.key == rs.key)?.weight)
                    });
                    let mut dests = listed
                        .iter()
                        .flat_map(|s| &s.dests)
                        .filter(|d| d.entry.key == rs.key)
                        .peekable();
                    let ipvs_stats = dests.peek().is_some().then(|| sum(dests.map(|d| d.stats)));
                    RealServerStatus {
                        address: rs.key.into(),
                        forwarding: forwarding_name(rs.forward).into(),
                        alive: rs.alive,
                        effective_weight: rs.effective_weight,
                        ipvs_weight,
                        checks: Vec::new(),
                        ipvs_stats,
                    }
                })
                .collect();
            VirtualServerStatus {
                name: vs.keys().first().map(|k| vs_name(*k)).unwrap_or_default(),
                services: vs.keys().iter().map(ToString::to_string).collect(),
                scheduler: vs.algorithm().name().into(),
                quorum_up: vs.quorum_up(),
                real_servers,
                ipvs_stats: (!listed.is_empty()).then(|| sum(listed.iter().map(|s| s.stats))),
            }
        })
        .collect();
    for (v, r, kind, up) in director.verdicts() {
        if let Some(rs) = out.get_mut(v).and_then(|vs| vs.real_servers.get_mut(r)) {
            rs.checks.push(CheckStatus {
                kind: kind.into(),
                up,
            });
        }
    }
    out
}

fn sum(stats: impl Iterator<Item = IpvsStats>) -> IpvsStats {
    stats.fold(IpvsStats::default(), |mut acc, s| {
        acc += s;
        acc
    })
}

/// keepalived's `lb_kind` names.
fn forwarding_name(f: Forward) -> &'static str {
    match f {
        Forward::Nat => "NAT",
        Forward::Dr => "DR",
        Forward::Tun(_) => "TUN",
    }
}

/// keepalived's `FMT_VS`: `[10.0.0.100]:tcp:80`, `FWM 1`.
pub fn vs_name(key: ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => rs_name(protocol_name(protocol), SocketAddr::new(addr, port)),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

/// keepalived's `FMT_RS`: `[10.0.0.10]:tcp:80`.
pub fn rs_name(protocol: &str, addr: SocketAddr) -> String {
    format!("[{}]:{protocol}:{}", addr.ip(), addr.port())
}

pub fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp | Protocol::Other => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// The listening control socket; the path is removed when it is dropped.
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    /// Listens on `path`, mode 0600. A socket file left by a dead daemon is
    /// replaced; one a live daemon answers on is not.
    pub fn bind(path: &Path) -> Result<ControlSocket> {
        if let Some(dir) = path.parent().filter(|d| !d.exists()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(Error::io(format!("creating {}", dir.display())))?;
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::Config(format!(
                "control socket {}: another daemon answers there",
                path.display()
            )));
        }
        // Not there, or left by a dead daemon.
        let _ = std::fs::remove_file(path);
        let listener =
            UnixListener::bind(path).map_err(Error::io(format!("binding {}", path.display())))?;
        let socket = ControlSocket {
            listener,
            path: path.to_path_buf(),
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(Error::io(format!("chmod {}", path.display())))?;
        Ok(socket)
    }

    pub async fn accept(&self) -> std::io::Result<UnixStream> {
        self.listener.accept().await.map(|(s, _)| s)
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        // Gone already is fine.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Asks the VRRP and checker threads for their parts of a [`Status`].
/// `vigil status`, the signal dumps and the metrics all read the daemon
/// this way, from the main thread: each costs either loop one message.
#[derive(Clone, Debug)]
pub struct Asker {
    pub vrrp: UnboundedSender<Control>,
    pub lvs: Option<UnboundedSender<Order>>,
}

impl Asker {
    /// The daemon's status now; a thread that is gone or slow leaves its
    /// part empty.
    pub async fn status(&self) -> Status {
        let (tx, vrrp) = oneshot::channel();
        // Closed: the thread is gone; its part stays empty.
        let _ = self.vrrp.send(Control::Status(tx));
        let lvs = self.lvs.as_ref().map(|c| {
            let (tx, rx) = oneshot::channel();
            let _ = c.send(Order::Status(tx));
            rx
        });
        let vrrp = tokio::time::timeout(THREAD_ANSWER, vrrp)
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        let virtual_servers = match lvs {
            Some(rx) => tokio::time::timeout(THREAD_ANSWER, rx)
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Status {
            instances: vrrp.instances,
            dropped: vrrp.dropped,
            virtual_servers,
            notify_scripts: notify_queue::counts(),
        }
    }
}

/// Answers one `vigil status` client: writes the JSON and closes.
pub async fn answer(mut client: UnixStream, asker: Asker) {
    let Ok(mut text) = serde_json::to_vec(&asker.status().await) else {
        return;
    };
    text.push(b'\n');
    if let Err(e) = client.write_all(&text).await {
        tracing::debug!("control socket client: {e}");
    }
}

/// `vigil status`'s side: the daemon's [`Status`] from the socket at `path`.
pub fn query(path: &Path) -> Result<(Status, String)> {
    let mut stream = std::os::unix::net::UnixStream::connect(path)
        .map_err(Error::io(format!("connecting to {}", path.display())))?;
    stream
        .set_read_timeout(Some(THREAD_ANSWER * 3))
        .map_err(Error::io("control socket"))?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(Error::io(format!("reading {}", path.display())))?;
    let status = serde_json::from_str(&text)
        .map_err(|e| Error::Command(format!("{}: not a vigil status: {e}", path.display())))?;
    Ok((status, text))
}

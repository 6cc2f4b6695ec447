//! The kernel's IPVS table over generic netlink: read it as the core's
//! [`IpvsState`], change it with the core's [`IpvsOp`]s, one netlink round
//! trip each, and run the connection sync daemons.
//!
//! The socket, and so the table, is the one of the network namespace of
//! the thread that opens the [`Ipvs`] handle.

mod attrs;
mod family;
mod list;
mod socket;

pub use attrs::AttrError;
pub use list::{ListedDest, ListedService, Listing};

use attrs::{
    CMD_ATTR_DAEMON, CMD_ATTR_DEST, CMD_ATTR_SERVICE, CMD_DEL_DAEMON, CMD_DEL_DEST,
    CMD_DEL_SERVICE, CMD_FLUSH, CMD_GET_DAEMON, CMD_GET_DEST, CMD_GET_INFO, CMD_GET_SERVICE,
    CMD_NEW_DAEMON, CMD_NEW_DEST, CMD_NEW_SERVICE, CMD_SET_DEST, CMD_SET_SERVICE,
};
use family::IpvsMessage;
use nix::libc::{EEXIST, ENOENT, ESRCH};
use socket::{GenlSocket, NlError};
use std::io;
use std::net::IpAddr;
use vigil_core::lvs::ipvs::{IpvsOp, IpvsOpError, IpvsState, ServiceEntry, ServiceKey};

/// Whether this kernel has IPVS: `/proc/net/ip_vs` is there, or is after
/// `modprobe ip_vs` (a kernel with IPVS as a module loads it on the first
/// netlink request only when the family is known, which it is not yet).
pub fn kernel_has_ipvs() -> bool {
    let present = || std::path::Path::new("/proc/net/ip_vs").exists();
    let loaded = || {
        std::process::Command::new("modprobe")
            .args(["-q", "ip_vs"])
            .status()
            .is_ok_and(|s| s.success())
    };
    present() || (loaded() && present())
}

/// Why an IPVS request failed.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    #[error(
        "IPVS is not available: this kernel has no IPVS generic netlink family (modprobe ip_vs?)"
    )]
    Unavailable,
    /// The kernel refused an operation as the core's model says it would.
    #[error(transparent)]
    Op(#[from] IpvsOpError),
    /// The kernel has no module for the service's scheduler (Debian's
    /// has no `twos`) or persistence engine: ENOENT to an add or edit.
    #[error("{what}: the kernel has no such scheduler or persistence engine")]
    NoScheduler { what: String },
    /// The kernel refused a request for another reason.
    #[error("{what}: {}", io::Error::from_raw_os_error(*errno))]
    Kernel { what: String, errno: i32 },
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Attr(#[from] AttrError),
    #[error("{0}")]
    Decode(String),
}

impl IpvsError {
    fn from_nl(e: NlError, what: impl FnOnce() -> String) -> IpvsError {
        match e {
            NlError::Io(e) => IpvsError::Io(e),
            NlError::Errno(errno) => IpvsError::Kernel {
                what: what(),
                errno,
            },
            NlError::Decode(m) => IpvsError::Decode(m),
        }
    }
}

/// A destination's connection counters, as `ipvsadm -L` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestCounters {
    pub active: u32,
    pub inactive: u32,
    /// Connection templates of persistent services.
    pub persistent: u32,
}

/// The traffic a service or destination has seen since it was added, as
/// `ipvsadm -Ln --stats` shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IpvsStats {
    /// Connections scheduled.
    pub connections: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl std::fmt::Display for IpvsStats {
    /// `12 conns, 340/300 packets in/out, 20000/18000 bytes in/out`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} conns, {}/{} packets in/out, {}/{} bytes in/out",
            self.connections, self.packets_in, self.packets_out, self.bytes_in, self.bytes_out
        )
    }
}

impl std::ops::AddAssign for IpvsStats {
    fn add_assign(&mut self, o: IpvsStats) {
        self.connections += o.connections;
        self.packets_in += o.packets_in;
        self.packets_out += o.packets_out;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
    }
}

/// Which side of connection synchronisation a sync daemon is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncRole {
    Master,
    Backup,
}

impl std::fmt::Display for SyncRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        })
    }
}

/// A connection sync daemon (`ipvsadm --start-daemon`, keepalived's
/// `lvs_sync_daemon`). `None` leaves a setting to the kernel's default;
/// a running daemon, as [`Ipvs::daemons`] reads it, has them all set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemon {
    pub role: SyncRole,
    /// The multicast interface.
    pub interface: String,
    pub syncid: u32,
    /// Largest sync message payload.
    pub maxlen: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

/// A handle on the IPVS table of one network namespace.
pub struct Ipvs {
    sock: GenlSocket,
    family: u16,
}

impl Ipvs {
    /// Opens IPVS in the calling thread's network namespace.
    pub fn open() -> Result<Ipvs, IpvsError> {
        let mut sock = GenlSocket::open()?;
        let family = family::resolve(&mut sock)
            .map_err(|e| IpvsError::from_nl(e, || "resolving the IPVS family".into()))?
            .ok_or(IpvsError::Unavailable)?;
        Ok(Ipvs { sock, family })
    }

    fn request(
        &mut self,
        cmd: u8,
        attrs: Vec<attrs::Attr>,
        dump: bool,
    ) -> Result<Vec<IpvsMessage>, NlError> {
        self.sock
            .request(self.family, IpvsMessage::new(cmd, attrs), dump)
    }

    /// Makes one change, as one `ipvsadm` call would.
    pub fn apply(&mut self, op: &IpvsOp) -> Result<(), IpvsError> {
        let (cmd, attrs) = match op {
            IpvsOp::AddService(s) => (CMD_NEW_SERVICE, vec![attrs::service(s)?]),
            IpvsOp::EditService(s) => (CMD_SET_SERVICE, vec![attrs::service(s)?]),
            IpvsOp::DelService(k) => (CMD_DEL_SERVICE, vec![attrs::service_id(k)?]),
            IpvsOp::AddDest { service, dest } => (
                CMD_NEW_DEST,
                vec![attrs::service_id(service)?, attrs::dest(dest)],
            ),
            IpvsOp::EditDest { service, dest } => (
                CMD_SET_DEST,
                vec![attrs::service_id(service)?, attrs::dest(dest)],
            ),
            IpvsOp::DelDest { service, key } => (
                CMD_DEL_DEST,
                vec![attrs::service_id(service)?, attrs::dest_id(key)],
            ),
        };
        match self.request(cmd, attrs, false) {
            Ok(_) => Ok(()),
            Err(NlError::Errno(errno)) => Err(match (refusal(op, errno), op) {
                (Some(e), _) => IpvsError::Op(e),
                (None, IpvsOp::AddService(_) | IpvsOp::EditService(_)) if errno == ENOENT => {
                    IpvsError::NoScheduler {
                        what: format!("ipvsadm {op}"),
                    }
                }
                (None, _) => IpvsError::Kernel {
                    what: format!("ipvsadm {op}"),
                    errno,
                },
            }),
            Err(e) => Err(IpvsError::from_nl(e, || format!("ipvsadm {op}"))),
        }
    }

    /// Netlink round trips made so far (a dump is one): [`Ipvs::apply`]
    /// makes one per op.
    pub fn round_trips(&self) -> u64 {
        self.sock.requests
    }

    /// Removes every service with its destinations (`ipvsadm -C`).
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        self.request(CMD_FLUSH, Vec::new(), false)
            .map(drop)
            .map_err(|e| IpvsError::from_nl(e, || "ipvsadm -C".into()))
    }

    /// The table as the core models it: services in key order, each one's
    /// destinations in the order they were added (the kernel lists the
    /// newest first), so [`vigil_core::lvs::ipvs::reconcile`] can take it
    /// as the actual state.
    pub fn dump(&mut self) -> Result<IpvsState, IpvsError> {
        let mut services: Vec<ServiceEntry> = self
            .services()?
            .into_iter()
            .map(|s| ServiceEntry {
                spec: s.spec,
                dests: s.dests.iter().rev().map(|d| d.entry).collect(),
            })
            .collect();
        services.sort_by_key(|s| s.spec.key);
        Ok(IpvsState { services })
    }

    /// The table with its counters and the kernel's IPVS version, for
    /// `vigil ipvs list`.
    pub fn list(&mut self) -> Result<Listing, IpvsError> {
        let what = || "reading the IPVS version".to_owned();
        let replies = self
            .request(CMD_GET_INFO, Vec::new(), false)
            .map_err(|e| IpvsError::from_nl(e, what))?;
        let info = replies
            .first()
            .ok_or_else(|| IpvsError::Decode("no reply to IPVS_CMD_GET_INFO".into()))?;
        let (version, conn_tab_size) = attrs::parse_info(&info.attrs()?)?;
        Ok(Listing {
            version,
            conn_tab_size,
            services: self.services()?,
        })
    }

    /// Every service in the kernel's hash order, with its destinations in
    /// the kernel's list order.
    fn services(&mut self) -> Result<Vec<ListedService>, IpvsError> {
        let replies = self
            .request(CMD_GET_SERVICE, Vec::new(), true)
            .map_err(|e| IpvsError::from_nl(e, || "listing IPVS services".into()))?;
        let mut out = Vec::with_capacity(replies.len());
        for r in &replies {
            let service = r.attrs()?.required(CMD_ATTR_SERVICE, "service")?;
            let spec = attrs::parse_service(service)?;
            let stats = attrs::parse_service_stats(service)?;
            let dests = self.dests(&spec.key)?;
            out.push(ListedService { spec, stats, dests });
        }
        Ok(out)
    }

    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<ListedDest>, IpvsError> {
        let replies = self
            .request(CMD_GET_DEST, vec![attrs::service_id(key)?], true)
            .map_err(|e| IpvsError::from_nl(e, || format!("listing {key}")))?;
        let v6 = key.is_ipv6();
        replies
            .iter()
            .map(|r| {
                let (entry, counters, stats) =
                    attrs::parse_dest(r.attrs()?.required(CMD_ATTR_DEST, "destination")?, v6)?;
                Ok(ListedDest {
                    entry,
                    counters,
                    stats,
                })
            })
            .collect()
    }

    /// Starts a sync daemon (`ipvsadm --start-daemon`).
    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        self.request(CMD_NEW_DAEMON, vec![attrs::daemon(d)], false)
            .map(drop)
            .map_err(|e| IpvsError::from_nl(e, || format!("starting the {} sync daemon", d.role)))
    }

    /// Stops a sync daemon (`ipvsadm --stop-daemon`); ESRCH when none runs.
    pub fn stop_daemon(&mut self, role: SyncRole) -> Result<(), IpvsError> {
        self.request(CMD_DEL_DAEMON, vec![attrs::daemon_role(role)], false)
            .map(drop)
            .map_err(|e| IpvsError::from_nl(e, || format!("stopping the {role} sync daemon")))
    }

    /// The running sync daemons, the master first.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        let replies = self
            .request(CMD_GET_DAEMON, Vec::new(), true)
            .map_err(|e| IpvsError::from_nl(e, || "listing sync daemons".into()))?;
        replies
            .iter()
            .map(|r| {
                Ok(attrs::parse_daemon(
                    r.attrs()?.required(CMD_ATTR_DAEMON, "daemon")?,
                )?)
            })
            .collect()
    }
}

/// The refusals of `ip_vs_genl_set_cmd` the core's model has a name for:
/// EEXIST for a service or destination that is there, ESRCH for a missing
/// service, ENOENT for a missing destination.
fn refusal(op: &IpvsOp, errno: i32) -> Option<IpvsOpError> {
    let e = match (op, errno) {
        (IpvsOp::AddService(s), EEXIST) => IpvsOpError::ServiceExists(s.key),
        (IpvsOp::EditService(s), ESRCH) => IpvsOpError::NoSuchService(s.key),
        (IpvsOp::DelService(k), ESRCH) => IpvsOpError::NoSuchService(*k),
        (
            IpvsOp::AddDest { service, .. }
            | IpvsOp::EditDest { service, .. }
            | IpvsOp::DelDest { service, .. },
            ESRCH,
        ) => IpvsOpError::NoSuchService(*service),
        (IpvsOp::AddDest { service, dest }, EEXIST) => IpvsOpError::DestExists(*service, dest.key),
        (IpvsOp::EditDest { service, dest }, ENOENT) => IpvsOpError::NoSuchDest(*service, dest.key),
        (IpvsOp::DelDest { service, key }, ENOENT) => IpvsOpError::NoSuchDest(*service, *key),
        _ => return None,
    };
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use vigil_core::lvs::ipvs::{DestEntry, Forward};
    use vigil_core::lvs::{DestKey, Protocol};

    #[test]
    fn errnos_map_to_the_cores_refusals_only_where_they_mean_them() {
        let service = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: Ipv4Addr::new(10, 0, 0, 1).into(),
            port: 80,
        };
        let key = DestKey::new(Ipv4Addr::new(10, 0, 0, 2).into(), 80);
        let dest = DestEntry {
            key,
            weight: 1,
            forward: Forward::Nat,
            u_threshold: 0,
            l_threshold: 0,
        };
        let add = IpvsOp::AddDest { service, dest };
        assert_eq!(
            refusal(&add, EEXIST),
            Some(IpvsOpError::DestExists(service, key))
        );
        assert_eq!(
            refusal(&add, ESRCH),
            Some(IpvsOpError::NoSuchService(service))
        );
        let del = IpvsOp::DelDest { service, key };
        assert_eq!(
            refusal(&del, ENOENT),
            Some(IpvsOpError::NoSuchDest(service, key))
        );
        assert_eq!(refusal(&del, EEXIST), None);
        assert_eq!(
            refusal(&IpvsOp::DelService(service), ESRCH),
            Some(IpvsOpError::NoSuchService(service))
        );
        assert_eq!(
            refusal(&IpvsOp::DelService(service), nix::libc::EINVAL),
            None
        );
    }
}

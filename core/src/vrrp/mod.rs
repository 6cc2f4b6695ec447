//! VRRP v2 (RFC 3768) and v3 (RFC 5798, RFC 9568), as keepalived 2.2.7 speaks it.
//!
//! - [`packet`]: the wire format, byte-exact, and the checks that need no configuration
//! - [`validate`]: the checks an advert must pass for one configured instance
//! - [`instance`]: one virtual router's state machine
//! - [`track`]: tracked scripts, interfaces and files, and what they do to priority
//! - [`event`]: commands in, actions out
//! - [`group`]: sync groups, whose members change state together
//! - [`router`]: all instances of one host, dispatching inputs and collecting outputs
//! - [`resolve`]: from a parsed keepalived.conf and the host to instances and groups
//! - [`vmac`]: `use_vmac`: which instances get a macvlan, its name and MAC

pub mod checksum;
pub mod event;
pub mod group;
pub mod instance;
pub mod packet;
pub mod resolve;
pub mod router;
pub mod track;
pub mod validate;
pub mod vmac;

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

pub use event::{Action, Command, Reason, Vip};
pub use instance::{Instance, InstanceConfig};
pub use packet::{Advert, Auth, Decoded, PacketError, Version, decode_ipv4, decode_ipv6};
pub use router::Router;

/// An instance's state (RFC 5798 §6.4; keepalived adds Fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    /// Shut down gracefully (keepalived's notify_stop).
    Stopped,
}

impl State {
    /// The name keepalived logs and scenario expectations use.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stopped => "STOPPED",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VRRP datagram as the driver received it.
///
/// For IPv4, `bytes` is the whole IP datagram (header included, as a raw socket
/// returns it) so that the codec checks TTL, protocol and addresses itself. For
/// IPv6, the kernel strips the header: `bytes` is the VRRP message and `ttl`
/// the hop limit the driver read from the ancillary data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    pub iface: String,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub bytes: Vec<u8>,
}

/// A VRRP datagram to send, in the same shape as [`Received`]: a whole IPv4
/// datagram (the driver sends it with IP_HDRINCL), or an IPv6 VRRP message
/// that the driver sends with hop limit `ttl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transmit {
    pub iface: String,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub bytes: Vec<u8>,
}

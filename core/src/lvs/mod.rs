//! LVS: what the kernel's IPVS would decide for a virtual service, with
//! no IO. Schedulers follow `net/netfilter/ipvs/ip_vs_*.c` exactly, so
//! `vigil sched` can be checked against a kernel.

pub mod dest;
pub mod director;
pub mod hash;
pub mod ipvs;
pub mod sched;
pub mod service;
pub mod workload;

pub use dest::{Accounting, Dest, DestKey, DestSpec};
pub use sched::{Algorithm, Options, Packet, Protocol, SchedFlags, Scheduler};

/// Errors of the LVS model: what the kernel would refuse with an errno.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LvsError {
    #[error("unknown scheduler {0:?}")]
    UnknownScheduler(String),
    #[error("unknown scheduler flag {0:?}")]
    UnknownFlag(String),
    #[error("destination {0} already exists")]
    DestExists(DestKey),
    #[error("no destination {0}")]
    NoSuchDest(DestKey),
    #[error("weight {0} out of range (0..=2147483647)")]
    WeightOutOfRange(u32),
    #[error("lower threshold {lower} is higher than upper threshold {upper}")]
    ThresholdOrder { lower: u32, upper: u32 },
    #[error("upper threshold {0} out of range (0..=2147483647)")]
    ThresholdOutOfRange(u32),
}

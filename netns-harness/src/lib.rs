//! vigil-netns: the real Linux driver (`vigil run`) and the namespace lab.
//!
//! - [`driver`]: the daemon — raw VRRP sockets, rtnetlink addresses,
//!   AF_PACKET announcements, signals — around the core's VRRP router
//! - [`lab`]: network namespaces joined by a bridge, for tests that run the
//!   daemon against the kernel
//! - [`vm`]: a Debian kernel with IPVS under qemu, for hosts without it

pub mod driver;
mod error;
pub mod lab;
pub mod vm;

pub use error::{Error, Result};

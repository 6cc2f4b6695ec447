//! vigil-netns: the real Linux driver (`vigil run`) and the namespace lab.
//!
//! - [`driver`]: the daemon — raw VRRP sockets, rtnetlink addresses,
//!   AF_PACKET announcements, signals — around the core's VRRP router

pub mod driver;
mod error;

pub use error::{Error, Result};

//! vigil-core: everything vigil decides, with no IO.
//!
//! Drivers feed inputs (packets, timeouts, commands) with the current [`Instant`]
//! and drain outputs (transmits, actions, the next timeout). No sockets, clocks,
//! threads, randomness or file reads live here, so the simulator and the real
//! daemon run exactly the same logic.

pub mod check;
pub mod config;
pub mod frame;
pub mod lvs;
pub mod scenario;
pub mod time;
pub mod vrrp;
pub mod wire;

pub use time::Instant;

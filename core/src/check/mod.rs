//! Health checks of real servers, sans-IO.
//!
//! A [`Checker`] decides *when* to probe and *what a result means*; the driver
//! does the probing (connect, GET, run the script) from the [`ProbeSpec`] it
//! is handed and feeds back a [`ProbeResult`]. The verdict rules are
//! keepalived 2.2.7's (`check_tcp.c`, `check_http.c`, `check_misc.c`,
//! `check_udp.c`, `check_ping.c`, `check_dns.c`, `check_smtp.c`,
//! `check_data.c`), which differ from file to file; the quirks are noted
//! where they apply.

mod checker;
pub mod http;
mod probe;

pub use checker::{Action, Checker};
pub use probe::{Conn, ProbeSpec, UrlProbe};

use serde::{Deserialize, Serialize};

/// What the driver observed for one probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeResult {
    /// The probe succeeded (TCP connected, HTTP response judged good, ...).
    Ok,
    /// The probe failed; the reason is for logs only.
    Failed(String),
    /// No answer within the probe's timeout (for MISC_CHECK: the script was killed).
    Timeout,
    /// MISC_CHECK: the script exited with this code.
    Exited(u8),
}

/// Why a checker cannot be built or fed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// FILE_CHECK and BFD_CHECK are driven by events, not probes.
    #[error("{0} is not a probing checker")]
    NotProbing(&'static str),
    #[error("MISC_CHECK has no misc_path")]
    NoMiscPath,
    #[error("HTTP checker has no url")]
    NoUrl,
    /// A result arrived while no probe was outstanding.
    #[error("probe result without an outstanding probe")]
    NoProbe,
}

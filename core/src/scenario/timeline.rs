//! The timeline both drivers print: one event per line, the time in
//! milliseconds from the scenario's start (three decimals), the host, then
//! what happened.

use crate::Instant;
use crate::vrrp::State;
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// One line of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// From the scenario's start.
    pub at: Instant,
    /// The node, client or server the event happened on ("-" for the run itself).
    pub host: String,
    pub what: What,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    /// A scenario step was applied (text as the step reads).
    Step {
        action: String,
    },
    /// A VRRP instance changed state.
    State {
        instance: String,
        from: State,
        to: State,
        reason: String,
    },
    /// A sync group changed state.
    Group {
        group: String,
        from: State,
        to: State,
    },
    VipAdded {
        addr: IpAddr,
        iface: String,
    },
    VipRemoved {
        addr: IpAddr,
        iface: String,
    },
    /// Gratuitous ARPs or unsolicited NAs for an address.
    Announce {
        addr: IpAddr,
        repeat: u32,
    },
    /// A client's probe got another answer than the one before.
    Probe {
        target: String,
        answered_by: Option<String>,
        /// The director whose IPVS forwarded it to the answering real server.
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<String>,
    },
    /// A health check's verdict on a real server changed.
    Check {
        kind: String,
        rs: String,
        up: bool,
    },
    /// The director changed its IPVS table (as the `ipvsadm` arguments).
    Ipvs {
        op: String,
    },
    /// A virtual server gained or lost its quorum.
    Quorum {
        service: String,
        up: bool,
    },
    /// Something the driver or the config resolution has to say.
    Note {
        text: String,
    },
    /// An advert on the wire (printed only when asked for).
    Advert {
        summary: String,
    },
    /// An invariant did not hold.
    Violation {
        invariant: String,
        detail: String,
    },
    /// An expectation's verdict.
    Expectation {
        index: usize,
        text: String,
        passed: bool,
        detail: String,
    },
}

impl Event {
    /// Milliseconds from the start with three decimals, as both drivers print them.
    pub fn millis(&self) -> String {
        let us = self.at.as_nanos() / 1_000;
        format!("{}.{:03}", us / 1_000, us % 1_000)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>10} {:<8} {}", self.millis(), self.host, self.what)
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Step { action } => write!(f, "step: {action}"),
            What::State {
                instance,
                from,
                to,
                reason,
            } => write!(f, "{instance} {from} -> {to} ({reason})"),
            What::Group { group, from, to } => write!(f, "group {group} {from} -> {to}"),
            What::VipAdded { addr, iface } => write!(f, "vip + {addr} on {iface}"),
            What::VipRemoved { addr, iface } => write!(f, "vip - {addr} on {iface}"),
            What::Announce { addr, repeat } => match addr {
                IpAddr::V4(_) => write!(f, "garp {addr} x{repeat}"),
                IpAddr::V6(_) => write!(f, "unsolicited na {addr} x{repeat}"),
            },
            What::Probe {
                target,
                answered_by,
                via,
            } => {
                write!(
                    f,
                    "probe {target} answered by {}",
                    answered_by.as_deref().unwrap_or("none")
                )?;
                match via {
                    Some(d) => write!(f, " via {d}"),
                    None => Ok(()),
                }
            }
            What::Check { kind, rs, up } => {
                write!(f, "check {kind} {rs} {}", if *up { "up" } else { "down" })
            }
            What::Ipvs { op } => write!(f, "ipvsadm {op}"),
            What::Quorum { service, up } => {
                write!(f, "quorum {} {service}", if *up { "up" } else { "down" })
            }
            What::Note { text } => write!(f, "note: {text}"),
            What::Advert { summary } => write!(f, "advert {summary}"),
            What::Violation { invariant, detail } => write!(f, "VIOLATION {invariant}: {detail}"),
            What::Expectation {
                index,
                text,
                passed,
                detail,
            } => {
                let verdict = if *passed { "ok" } else { "FAILED" };
                if detail.is_empty() {
                    write!(f, "expect {index} {verdict}: {text}")
                } else {
                    write!(f, "expect {index} {verdict}: {text} ({detail})")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_start_with_milliseconds_and_the_host() {
        let e = Event {
            at: Instant::from_nanos(3_414_062_000),
            host: "lb1".into(),
            what: What::State {
                instance: "VI_1".into(),
                from: State::Backup,
                to: State::Master,
                reason: "master down timer expired".into(),
            },
        };
        assert_eq!(
            e.to_string(),
            "  3414.062 lb1      VI_1 BACKUP -> MASTER (master down timer expired)"
        );
    }
}

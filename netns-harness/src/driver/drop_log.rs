//! Logging of dropped adverts that a flood cannot turn into a flood of log
//! lines. keepalived 2.2.7 logs every bad packet; on a shared segment a
//! misconfigured or hostile sender then fills the disk and costs the VRRP
//! process the time it needs for its own adverts. vigil logs the first drop
//! of each reason at once, then at most one line per reason and window
//! saying how many more there were. The exact totals are always in
//! `vigil status` (per instance, and for datagrams no instance took).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use vigil_core::time::Instant;

/// At most one line per reason in this long.
pub const WINDOW: Duration = Duration::from_secs(10);

/// Drops seen since the last line of their reason.
struct Pending {
    logged_at: Instant,
    more: u64,
    last_src: IpAddr,
    last_iface: String,
}

#[derive(Default)]
pub struct DropLog {
    reasons: BTreeMap<&'static str, Pending>,
}

impl DropLog {
    /// One dropped datagram from `src` on `iface`; returns the lines to log.
    pub fn record(
        &mut self,
        now: Instant,
        reason: &'static str,
        src: IpAddr,
        iface: &str,
    ) -> Vec<String> {
        let mut lines = self.flush(now);
        match self.reasons.get_mut(reason) {
            Some(p) if now < p.logged_at + WINDOW => {
                p.more += 1;
                p.last_src = src;
                if p.last_iface != iface {
                    p.last_iface = iface.to_string();
                }
            }
            _ => {
                lines.push(format!("dropped advert from {src} on {iface}: {reason}"));
                let p = Pending {
                    logged_at: now,
                    more: 0,
                    last_src: src,
                    last_iface: iface.to_string(),
                };
                self.reasons.insert(reason, p);
            }
        }
        lines
    }

    /// Says how many drops each reason had since its last line, once its
    /// window is over; called on each drop and by the VRRP loop's timer.
    pub fn flush(&mut self, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        for (reason, p) in &mut self.reasons {
            if p.more > 0 && now >= p.logged_at + WINDOW {
                lines.push(format!(
                    "dropped {} more adverts ({reason}) in {} s, the last from {} on {}",
                    p.more,
                    WINDOW.as_secs(),
                    p.last_src,
                    p.last_iface
                ));
                p.more = 0;
                p.logged_at = now;
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_gives_one_line_then_one_per_window() {
        let mut log = DropLog::default();
        let src: IpAddr = "10.0.0.9".parse().unwrap();
        let t0 = Instant::ZERO;
        let first = log.record(t0, "ttl", src, "eth0");
        assert_eq!(first, ["dropped advert from 10.0.0.9 on eth0: ttl"]);
        for ms in 1..1000 {
            let at = t0 + Duration::from_millis(ms);
            assert!(log.record(at, "ttl", src, "eth0").is_empty());
        }
        // Another reason is not held back by the first one's window.
        assert_eq!(
            log.record(t0 + Duration::from_secs(1), "checksum", src, "eth1")
                .len(),
            1
        );
        assert!(
            log.flush(t0 + (WINDOW - Duration::from_millis(1)))
                .is_empty()
        );
        let summary = log.flush(t0 + WINDOW);
        assert_eq!(
            summary,
            ["dropped 999 more adverts (ttl) in 10 s, the last from 10.0.0.9 on eth0"]
        );
        // Quiet since: the next drop is logged on its own again.
        assert!(log.flush(t0 + WINDOW * 3).is_empty());
        assert_eq!(log.record(t0 + WINDOW * 3, "ttl", src, "eth0").len(), 1);
    }
}

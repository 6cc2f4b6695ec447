//! The core's [`Instant`] from the monotonic clock: nanoseconds since the
//! daemon started, so wall-clock jumps (NTP, an operator's `date`) never move
//! a VRRP timer.

use std::time::Duration;
use vigil_core::Instant;

/// The daemon's epoch on the monotonic clock (`CLOCK_MONOTONIC`, which
/// `std::time::Instant` reads).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: std::time::Instant,
}

impl Clock {
    pub fn start() -> Self {
        Clock {
            epoch: std::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Instant {
        let since = self.epoch.elapsed();
        Instant::from_nanos(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }

    /// The tokio deadline of a core instant, for `sleep_until`.
    pub fn deadline(&self, at: Instant) -> tokio::time::Instant {
        let at = self.epoch + Duration::from_nanos(at.as_nanos());
        tokio::time::Instant::from_std(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_monotonic_and_deadlines_map_back() {
        let c = Clock::start();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        let later = a + Duration::from_millis(5);
        assert_eq!(c.deadline(later) - c.deadline(a), Duration::from_millis(5));
    }
}

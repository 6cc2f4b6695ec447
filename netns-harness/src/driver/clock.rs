//! The core's [`Instant`] from the monotonic clock: nanoseconds since the
//! daemon started, so wall-clock jumps (NTP, an operator's `date`) never move
//! a VRRP timer; and [`Timer`], a kernel timer that wakes the VRRP loop on
//! time.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use vigil_core::Instant;

/// The daemon's epoch on `CLOCK_MONOTONIC`.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// `CLOCK_MONOTONIC` at the start, in nanoseconds.
    epoch_ns: u64,
    /// The same moment for tokio's timers.
    epoch: std::time::Instant,
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own; CLOCK_MONOTONIC
    // always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

impl Clock {
    pub fn start() -> Self {
        Clock {
            epoch_ns: monotonic_ns(),
            epoch: std::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_nanos(monotonic_ns().saturating_sub(self.epoch_ns))
    }

    /// The tokio deadline of a core instant, for `sleep_until` where a
    /// millisecond does not matter (the health checkers).
    pub fn deadline(&self, at: Instant) -> tokio::time::Instant {
        let at = self.epoch + Duration::from_nanos(at.as_nanos());
        tokio::time::Instant::from_std(at)
    }
}

/// A `timerfd` on `CLOCK_MONOTONIC`, armed at an absolute core instant.
/// tokio's own timers round a deadline up to their 1 ms tick and epoll's
/// timeout is in whole milliseconds, which made a vigil Backup take over
/// 1.5–2 ms after Master_Down_Interval and stretched every advert interval
/// by as much; keepalived arms a timerfd, and so does vigil's VRRP loop.
pub struct Timer {
    fd: AsyncFd<OwnedFd>,
    clock: Clock,
}

impl Timer {
    pub fn new(clock: Clock) -> io::Result<Timer> {
        // SAFETY: timerfd_create returns a new descriptor or -1.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own alone.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the AsyncFd owns the descriptor, so it stays open and the
        // same while registered.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Timer { fd, clock })
    }

    /// Fires at `at` (at once if it has passed); `None` disarms.
    pub fn arm(&self, at: Option<Instant>) -> io::Result<()> {
        let value = match at {
            // An all-zero value disarms; 1 ns after the epoch is "now or past".
            Some(at) => {
                let ns = self.clock.epoch_ns.saturating_add(at.as_nanos()).max(1);
                libc::timespec {
                    tv_sec: libc::time_t::try_from(ns / 1_000_000_000).unwrap_or(libc::time_t::MAX),
                    tv_nsec: libc::c_long::try_from(ns % 1_000_000_000).unwrap_or(0),
                }
            }
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: the descriptor is a timerfd we own; `spec` outlives the call.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits until the timer fires.
    pub async fn fired(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            // SAFETY: reading 8 bytes into our buffer from our timerfd.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            if n == 8 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(e);
            }
            guard.clear_ready();
        }
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

    #[test]
    fn the_timer_fires_at_its_instant_never_before_and_not_when_disarmed() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let clock = Clock::start();
            let timer = Timer::new(clock).expect("timerfd");
            for _ in 0..5 {
                let at = clock.now() + Duration::from_micros(3_300);
                timer.arm(Some(at)).expect("arm");
                timer.fired().await.expect("fired");
                assert!(clock.now() >= at);
            }
            // An instant already past fires at once.
            timer.arm(Some(Instant::ZERO)).expect("arm");
            timer.fired().await.expect("fired");
            // Disarmed, it does not fire.
            timer.arm(None).expect("disarm");
            let quiet = tokio::time::timeout(Duration::from_millis(20), timer.fired()).await;
            assert!(quiet.is_err());
        });
    }
}

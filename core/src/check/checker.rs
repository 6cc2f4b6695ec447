//! The checker state machine shared by every probing checker kind.
//!
//! keepalived keeps three flags per checker: `is_up`, `has_run` and the retry
//! counter `retry_it`, which starts at `retry` so that the very first failure
//! is a verdict on its own (`check_data.c`: "one failure is enough
//! initially"); after a success it restarts at 0, so an up server goes down
//! only after `retry` further failures spaced by `delay_before_retry`.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use super::probe::{ProbeSpec, UrlProbe, resolve};
use super::{CheckError, ProbeResult};
use crate::Instant;
use crate::config::model::check::{Checker as CheckerConf, CheckerKind};

/// keepalived's `BOOTSTRAP_DELAY`: every checker starts one second after launch.
const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// What the checker asks of the driver, drained with [`Checker::poll_action`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Run this probe and report with [`Checker::handle_result`].
    StartProbe { probe: Box<ProbeSpec> },
    /// The real server passes this check. `weight` is the misc_dynamic
    /// weight (exit code − 2); `None` means the configured weight.
    Up { weight: Option<u32> },
    /// The real server fails this check.
    Down,
    /// misc_dynamic: the weight changed while the check stays up.
    Weight { weight: Option<u32> },
}

/// How results turn into verdicts: keepalived has one epilog per file.
#[derive(Clone, Debug)]
enum Flavour {
    /// `check_tcp.c`.
    Tcp,
    /// `check_udp.c` and `check_ping.c`: like TCP, but a server already
    /// down is re-probed every delay_before_retry.
    UdpPing,
    /// `check_dns.c`: a server already down is probed every delay_loop.
    Dns,
    /// `check_smtp.c`: the retry count is not reset by a down verdict.
    Smtp,
    /// `check_http.c`: urls probed one at a time, the failed one re-probed.
    Http {
        urls: Vec<UrlProbe>,
        url_it: usize,
        failed_url: Option<usize>,
        fast_recovery: bool,
    },
    /// `check_misc.c`: timed from the script's start; exit codes carry weight.
    Misc {
        dynamic: bool,
        last_exit: Option<u8>,
    },
}

/// One checker of one real server.
#[derive(Clone, Debug)]
pub struct Checker {
    probe: ProbeSpec,
    flavour: Flavour,
    delay_loop: Duration,
    delay_before_retry: Duration,
    retry: u32,
    alpha: bool,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    /// misc_dynamic weight in force (`None`: the configured weight).
    weight: Option<u32>,
    next_probe: Option<Instant>,
    in_flight: bool,
    /// ha_suspend: off while the virtual server's address is not local.
    enabled: bool,
    last_ran: Instant,
    actions: VecDeque<Action>,
}

impl Checker {
    /// A checker of the real server at `rs`, launched at `now`. The first
    /// probe comes after keepalived's 1 s bootstrap delay plus a share of
    /// `warmup` drawn from `seed` (keepalived: `warmup * random() / RAND_MAX`,
    /// so both ends are included).
    pub fn new(
        now: Instant,
        conf: &CheckerConf,
        rs: SocketAddr,
        seed: u64,
    ) -> Result<Self, CheckError> {
        let (probe, urls) = resolve(conf, rs)?;
        let flavour = match &conf.kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => Flavour::Http {
                urls,
                url_it: 0,
                failed_url: None,
                fast_recovery: h.fast_recovery.unwrap_or(false),
            },
            CheckerKind::Misc(m) => Flavour::Misc {
                dynamic: m.misc_dynamic,
                last_exit: None,
            },
            CheckerKind::Udp(_) | CheckerKind::Ping => Flavour::UdpPing,
            CheckerKind::Dns(_) => Flavour::Dns,
            CheckerKind::Smtp(_) => Flavour::Smtp,
            _ => Flavour::Tcp,
        };
        Ok(Checker {
            probe,
            flavour,
            delay_loop: conf.delay_loop,
            delay_before_retry: conf.delay_before_retry,
            retry: conf.retry,
            alpha: conf.alpha,
            // alpha: the server starts out of the pool until a probe passes.
            is_up: !conf.alpha,
            has_run: false,
            retry_it: conf.retry,
            weight: None,
            next_probe: Some(now + BOOTSTRAP_DELAY + warmup_share(conf.warmup, seed)),
            in_flight: false,
            enabled: true,
            last_ran: now,
            actions: VecDeque::new(),
        })
    }

    /// Whether the check currently passes (before any probe: `!alpha`).
    pub fn is_up(&self) -> bool {
        self.is_up
    }

    /// Whether a verdict has been reached (keepalived's `has_run`); until
    /// then a single failure is enough to report the server down.
    pub fn has_run(&self) -> bool {
        self.has_run
    }

    /// ha_suspend: a disabled checker keeps its timer but skips its
    /// probes (keepalived re-arms it every delay_loop), verdict unchanged.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Starts the next probe if it is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(at) = self.next_probe else { return };
        if self.in_flight || now < at {
            return;
        }
        if !self.enabled {
            self.next_probe = Some(now + self.delay_loop);
            return;
        }
        self.next_probe = None;
        self.in_flight = true;
        self.last_ran = now;
        let mut probe = self.probe.clone();
        if let (ProbeSpec::Http { url, .. }, Flavour::Http { urls, url_it, .. }) =
            (&mut probe, &self.flavour)
            && let Some(u) = urls.get(*url_it)
        {
            *url = u.clone();
        }
        self.actions.push_back(Action::StartProbe {
            probe: Box::new(probe),
        });
    }

    /// The outcome of the outstanding probe.
    pub fn handle_result(&mut self, now: Instant, result: ProbeResult) -> Result<(), CheckError> {
        if !self.in_flight {
            return Err(CheckError::NoProbe);
        }
        self.in_flight = false;
        let next = match self.flavour {
            Flavour::Tcp => self.tcp_epilog(now, result == ProbeResult::Ok),
            Flavour::UdpPing => self.udp_epilog(now, result == ProbeResult::Ok),
            Flavour::Dns => self.dns_epilog(now, result == ProbeResult::Ok),
            Flavour::Smtp => self.smtp_epilog(now, result == ProbeResult::Ok),
            Flavour::Http { .. } => self.http_epilog(now, result == ProbeResult::Ok),
            Flavour::Misc { .. } => self.misc_epilog(now, &result),
        };
        self.next_probe = Some(next.max(now));
        Ok(())
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When the next probe is due; `None` while one is outstanding.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_probe
    }

    /// keepalived's `update_svr_checker_state`: a change is reported; so is
    /// the first verdict when it is a failure or the checker is alpha.
    /// Returns whether a verdict was emitted.
    fn verdict(&mut self, alive: bool) -> bool {
        if self.is_up == alive {
            if self.has_run {
                return false;
            }
            self.has_run = true;
            if !self.alpha && alive {
                return false;
            }
        }
        self.has_run = true;
        self.is_up = alive;
        self.actions.push_back(if alive {
            Action::Up {
                weight: self.weight,
            }
        } else {
            Action::Down
        });
        true
    }

    fn tcp_epilog(&mut self, now: Instant, ok: bool) -> Instant {
        let delay = if ok || self.retry_it >= self.retry {
            self.retry_it = 0;
            if ok && (!self.is_up || !self.has_run) {
                self.verdict(true);
            } else if !ok && (self.is_up || !self.has_run) {
                self.verdict(false);
            }
            // keepalived quirk: a failure of a server already down also
            // goes through the retries, spaced by delay_before_retry.
            self.delay_loop
        } else {
            self.retry_it += 1;
            self.delay_before_retry
        };
        self.has_run = true;
        now + delay
    }

    fn udp_epilog(&mut self, now: Instant, ok: bool) -> Instant {
        let judged = self.is_up || !self.has_run;
        let delay = if ok || (judged && self.retry_it >= self.retry) {
            self.retry_it = 0;
            if ok && (!self.is_up || !self.has_run) {
                self.verdict(true);
            } else if !ok {
                self.verdict(false);
            }
            self.delay_loop
        } else {
            self.retry_it = self.retry_it.saturating_add(1);
            self.delay_before_retry
        };
        self.has_run = true;
        now + delay
    }

    fn dns_epilog(&mut self, now: Instant, ok: bool) -> Instant {
        if ok {
            if !self.is_up || !self.has_run {
                self.verdict(true);
            }
        } else if self.is_up || !self.has_run {
            if self.retry_it < self.retry {
                self.retry_it += 1;
                self.has_run = true;
                return now + self.delay_before_retry;
            }
            self.verdict(false);
        }
        self.retry_it = 0;
        now + self.delay_loop
    }

    fn smtp_epilog(&mut self, now: Instant, ok: bool) -> Instant {
        if ok {
            self.retry_it = 0;
            if !self.is_up || !self.has_run {
                self.verdict(true);
            }
            self.has_run = true;
        } else {
            self.retry_it = self.retry_it.saturating_add(1);
            if self.retry_it <= self.retry {
                return now + self.delay_before_retry;
            }
            if self.is_up || !self.has_run {
                self.verdict(false);
            }
        }
        now + self.delay_loop
    }

    fn http_epilog(&mut self, now: Instant, ok: bool) -> Instant {
        let (is_up, has_run) = (self.is_up, self.has_run);
        let Flavour::Http {
            urls,
            url_it,
            failed_url,
            fast_recovery,
        } = &mut self.flavour
        else {
            return now + self.delay_loop;
        };
        let fast_recovery = *fast_recovery;
        let mut alive = None;
        let delay;
        if ok {
            // REGISTER_CHECKER_NEW: on to the next url.
            *url_it += 1;
            self.retry_it = 0;
            if *url_it >= urls.len() && failed_url.is_none() {
                if !is_up || !has_run {
                    alive = Some(true);
                }
                *url_it = 0;
            } else if failed_url.is_some() {
                // The failed url recovered: check them all again.
                *failed_url = None;
                *url_it = 0;
            }
            delay = self.delay_loop;
        } else if is_up || !has_run {
            // timeout_epilog marks has_run before the retry epilog, so a
            // first failure of an alpha checker is not reported.
            self.has_run = true;
            self.retry_it = self.retry_it.saturating_add(1);
            if self.retry_it > self.retry {
                if is_up {
                    alive = Some(false);
                }
                *failed_url = Some(*url_it);
            }
            delay = retry_delay_http(
                self.delay_before_retry,
                self.delay_loop,
                failed_url.is_some(),
            );
        } else {
            // Already down: re-probe the same url, no retries.
            delay = retry_delay_http(
                self.delay_before_retry,
                self.delay_loop,
                failed_url.is_some(),
            );
        }
        let failed = failed_url.is_some();
        if let Some(a) = alive {
            self.verdict(a);
        }
        if ok && !self.has_run {
            self.retry_it = self.retry;
        }
        if fast_recovery && (!self.has_run || (!self.is_up && !failed)) {
            return now;
        }
        now + delay
    }

    fn misc_epilog(&mut self, now: Instant, result: &ProbeResult) -> Instant {
        let Flavour::Misc { dynamic, last_exit } = &mut self.flavour else {
            return now + self.delay_loop;
        };
        let good = match result {
            ProbeResult::Ok => Some(0),
            ProbeResult::Exited(c) if *c == 0 || (*dynamic && *c >= 2) => Some(*c),
            _ => None,
        };
        if let Some(code) = good {
            let changed = *last_exit != Some(code);
            if changed {
                *last_exit = Some(code);
                self.weight = code.checked_sub(2).map(u32::from);
            }
            let emitted = (!self.is_up || !self.has_run) && self.verdict(true);
            if changed && !emitted {
                self.actions.push_back(Action::Weight {
                    weight: self.weight,
                });
            }
            self.retry_it = 0;
        } else if self.is_up || !self.has_run {
            if self.retry_it < self.retry {
                self.retry_it += 1;
            } else {
                self.retry_it = 0;
                // Only an exit code is remembered; a killed script leaves
                // the last code, so the same code later does not restore
                // its weight (keepalived does the same).
                if let ProbeResult::Exited(c) = result {
                    *last_exit = Some(*c);
                }
                self.weight = None;
                self.verdict(false);
            }
        }
        self.has_run = true;
        // Timed from the script's start, not its end.
        let delay = if self.retry_it > 0 {
            self.delay_before_retry
        } else {
            self.delay_loop
        };
        self.last_ran + delay
    }
}

/// While a url is marked failed keepalived waits at least the delay_loop.
fn retry_delay_http(delay_before_retry: Duration, delay_loop: Duration, failed: bool) -> Duration {
    if failed {
        delay_before_retry.max(delay_loop)
    } else {
        delay_before_retry
    }
}

/// `warmup * r` with r in [0, 1] drawn from `seed` (splitmix64).
fn warmup_share(warmup: Duration, seed: u64) -> Duration {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let nanos = warmup.as_nanos().saturating_mul(u128::from(z)) / u128::from(u64::MAX);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
#[path = "checker_tests.rs"]
mod tests;

//! A real server as IPVS keeps it (`struct ip_vs_dest`): its weight, its
//! connection counters and the overload flag its thresholds drive.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// What names a destination within a service: its address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl DestKey {
    pub fn new(addr: IpAddr, port: u16) -> Self {
        DestKey { addr, port }
    }
}

impl From<SocketAddr> for DestKey {
    fn from(s: SocketAddr) -> Self {
        DestKey::new(s.ip(), s.port())
    }
}

impl From<DestKey> for SocketAddr {
    fn from(k: DestKey) -> Self {
        SocketAddr::new(k.addr, k.port)
    }
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SocketAddr::from(*self).fmt(f)
    }
}

/// What `ipvsadm -a`/`-e` hands the kernel for a destination
/// (`struct ip_vs_dest_user_kern`, the parts schedulers see).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestSpec {
    pub key: DestKey,
    pub weight: u32,
    /// Upper connection threshold; 0 means none.
    pub u_threshold: u32,
    /// Lower connection threshold; 0 means 3/4 of the upper one.
    pub l_threshold: u32,
}

impl DestSpec {
    pub fn new(key: DestKey, weight: u32) -> Self {
        DestSpec {
            key,
            weight,
            u_threshold: 0,
            l_threshold: 0,
        }
    }
}

/// How a kernel counts a destination's connections, which decides the
/// overhead the least-connection schedulers compare and when the overload
/// flag is set and cleared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Accounting {
    /// Mainline kernels: `activeconns` and `inactconns`; overhead is
    /// active × 256 + inactive (`ip_vs_dest_conn_overhead`); the flag is set
    /// when a new connection brings active + inactive to `u_threshold`
    /// (`ip_vs_bind_dest`) and cleared when a closing one drops it below
    /// `l_threshold`, or below 3/4 of `u_threshold` when no lower one is set
    /// (`ip_vs_unbind_dest`).
    #[default]
    Classic,
    /// Stable kernels with the 2025 overload rework (Debian's 6.1.192 has
    /// it): `activeconns` and `totalconns`; overhead is active × 256 +
    /// total; the flag flips only when the total crosses a threshold
    /// exactly (`__ip_vs_dest_update_overload`), and a threshold change
    /// re-evaluates it. While every connection stays active both pick the
    /// same destinations, since the overheads only differ by a factor.
    TotalConns,
}

/// One destination of a service, with the state schedulers read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dest {
    key: DestKey,
    weight: i32,
    /// The latest weight that was not 0 (or the weight it was added with):
    /// mh builds its table from it, so quiescing keeps the slots.
    last_weight: i32,
    u_threshold: u32,
    l_threshold: u32,
    /// The lower threshold in force (`l_threshold_val`, TotalConns only).
    l_threshold_val: u32,
    active: i32,
    inactive: i32,
    overloaded: bool,
}

impl Dest {
    /// A fresh destination (`ip_vs_new_dest`): no connections, no thresholds.
    pub(crate) fn new(key: DestKey) -> Self {
        Dest {
            key,
            weight: 0,
            last_weight: 0,
            u_threshold: 0,
            l_threshold: 0,
            l_threshold_val: 0,
            active: 0,
            inactive: 0,
            overloaded: false,
        }
    }

    pub fn key(&self) -> DestKey {
        self.key
    }

    pub fn weight(&self) -> i32 {
        self.weight
    }

    pub fn last_weight(&self) -> i32 {
        self.last_weight
    }

    pub fn u_threshold(&self) -> u32 {
        self.u_threshold
    }

    pub fn l_threshold(&self) -> u32 {
        self.l_threshold
    }

    /// Established connections (`activeconns`).
    pub fn active(&self) -> i32 {
        self.active
    }

    /// Connections not (or no longer) established: `inactconns`.
    pub fn inactive(&self) -> i32 {
        self.inactive
    }

    /// `IP_VS_DEST_F_OVERLOAD`: no scheduler sends new connections here.
    pub fn overloaded(&self) -> bool {
        self.overloaded
    }

    /// Active plus inactive (`ip_vs_dest_totalconns`, or `totalconns`).
    pub fn total(&self) -> i32 {
        self.active.wrapping_add(self.inactive)
    }

    /// `ip_vs_dest_conn_overhead`: the load least-connection schedulers
    /// compare. C `int` arithmetic, which the kernel builds to wrap.
    pub fn overhead(&self, acc: Accounting) -> i32 {
        let extra = match acc {
            Accounting::Classic => self.inactive,
            Accounting::TotalConns => self.total(),
        };
        (self.active << 8).wrapping_add(extra)
    }

    /// Usable for a new connection by most schedulers: weight above 0 and
    /// not overloaded.
    pub fn available(&self) -> bool {
        self.weight > 0 && !self.overloaded
    }

    /// The weight and threshold part of `__ip_vs_update_dest`.
    pub(crate) fn update(&mut self, spec: &DestSpec, add: bool, acc: Accounting) {
        // Validated by the caller to fit, as ip_vs_add_dest/edit_dest do.
        let w = i32::try_from(spec.weight).unwrap_or(i32::MAX);
        if add || w != 0 {
            self.last_weight = w;
        }
        self.weight = w;
        match acc {
            Accounting::Classic => {
                if spec.u_threshold == 0 || spec.u_threshold > self.u_threshold {
                    self.overloaded = false;
                }
                self.u_threshold = spec.u_threshold;
                self.l_threshold = spec.l_threshold;
            }
            Accounting::TotalConns => {
                if self.u_threshold != spec.u_threshold || self.l_threshold != spec.l_threshold {
                    self.u_threshold = spec.u_threshold;
                    self.l_threshold = spec.l_threshold;
                    self.l_threshold_val = if spec.l_threshold != 0 {
                        spec.l_threshold
                    } else {
                        spec.u_threshold - (spec.u_threshold >> 2)
                    };
                    self.update_overload(0);
                }
            }
        }
    }

    /// A new connection is bound here (`ip_vs_bind_dest`).
    pub(crate) fn bind(&mut self, active: bool, acc: Accounting) {
        if active {
            self.active = self.active.wrapping_add(1);
        } else {
            self.inactive = self.inactive.wrapping_add(1);
        }
        let total = self.total();
        match acc {
            Accounting::Classic => {
                if self.u_threshold != 0 && i64::from(total) >= i64::from(self.u_threshold) {
                    self.overloaded = true;
                }
            }
            Accounting::TotalConns => {
                if i64::from(total) == i64::from(self.u_threshold) {
                    self.update_overload(1);
                }
            }
        }
    }

    /// A connection bound here expires (`ip_vs_unbind_dest`).
    pub(crate) fn unbind(&mut self, active: bool, acc: Accounting) {
        let before = self.total();
        if active {
            self.active = self.active.wrapping_sub(1);
        } else {
            self.inactive = self.inactive.wrapping_sub(1);
        }
        let total = self.total();
        match acc {
            Accounting::Classic => {
                if self.l_threshold != 0 {
                    if i64::from(total) < i64::from(self.l_threshold) {
                        self.overloaded = false;
                    }
                } else if self.u_threshold != 0 {
                    // `totalconns * 4 < u_threshold * 3`, in the C types:
                    // an int times 4 against an unsigned, so unsigned.
                    let lhs = (total as u32).wrapping_mul(4);
                    if lhs < self.u_threshold.wrapping_mul(3) {
                        self.overloaded = false;
                    }
                } else {
                    self.overloaded = false;
                }
            }
            Accounting::TotalConns => {
                if i64::from(before) == i64::from(self.l_threshold_val) {
                    self.update_overload(-1);
                }
            }
        }
    }

    /// A connection moves between established and not (the protocol state
    /// machines, e.g. `set_tcp_state`).
    pub(crate) fn set_active(&mut self, now_active: bool) {
        if now_active {
            self.inactive = self.inactive.wrapping_sub(1);
            self.active = self.active.wrapping_add(1);
        } else {
            self.active = self.active.wrapping_sub(1);
            self.inactive = self.inactive.wrapping_add(1);
        }
    }

    /// `__ip_vs_dest_update_overload` (TotalConns): `mode` > 0 when
    /// connections grew to the upper threshold, < 0 when they fell below
    /// the lower one, 0 when the thresholds changed.
    fn update_overload(&mut self, mode: i32) {
        let u = self.u_threshold;
        if u == 0 {
            self.overloaded = false;
            return;
        }
        let l = self.l_threshold_val;
        let conns = i64::from(self.total());
        let set_at = if mode > 0 { l } else { u };
        if conns >= i64::from(set_at) {
            self.overloaded = true;
            return;
        }
        let keep_at = if mode < 0 { u } else { l };
        if conns >= i64::from(keep_at) {
            return;
        }
        self.overloaded = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn dest(u: u32, l: u32, acc: Accounting) -> Dest {
        let key = DestKey::new(Ipv4Addr::new(10, 0, 0, 1).into(), 80);
        let mut d = Dest::new(key);
        let spec = DestSpec {
            key,
            weight: 1,
            u_threshold: u,
            l_threshold: l,
        };
        d.update(&spec, true, acc);
        d
    }

    #[test]
    fn overhead_weighs_an_active_connection_256_inactive_ones() {
        let mut d = dest(0, 0, Accounting::Classic);
        d.bind(true, Accounting::Classic);
        d.bind(false, Accounting::Classic);
        assert_eq!(d.overhead(Accounting::Classic), 257);
        // totalconns counts the active one again.
        assert_eq!(d.overhead(Accounting::TotalConns), 258);
    }

    #[test]
    fn upper_threshold_sets_overload_and_three_quarters_clears_it() {
        for acc in [Accounting::Classic, Accounting::TotalConns] {
            let mut d = dest(4, 0, acc);
            for _ in 0..3 {
                d.bind(true, acc);
            }
            assert!(!d.overloaded(), "{acc:?}");
            d.bind(true, acc);
            assert!(d.overloaded(), "{acc:?}: 4 of u=4");
            d.unbind(true, acc);
            assert!(d.overloaded(), "{acc:?}: 3 is not below 3/4 of 4");
            d.unbind(true, acc);
            assert!(!d.overloaded(), "{acc:?}: 2 is below 3");
        }
    }

    #[test]
    fn lower_threshold_clears_overload_when_conns_drop_below_it() {
        for acc in [Accounting::Classic, Accounting::TotalConns] {
            let mut d = dest(3, 1, acc);
            for _ in 0..3 {
                d.bind(true, acc);
            }
            assert!(d.overloaded());
            d.unbind(true, acc);
            d.unbind(true, acc);
            assert!(d.overloaded(), "{acc:?}: 1 is not below l=1");
            d.unbind(true, acc);
            assert!(!d.overloaded(), "{acc:?}");
        }
    }

    #[test]
    fn classic_default_lower_threshold_rounds_up_three_quarters() {
        // u = 2: clears when total*4 < 6, i.e. at 1 (ceil(1.5) = 2 > 1).
        let mut d = dest(2, 0, Accounting::Classic);
        d.bind(true, Accounting::Classic);
        d.bind(true, Accounting::Classic);
        assert!(d.overloaded());
        d.unbind(true, Accounting::Classic);
        assert!(!d.overloaded());
    }

    #[test]
    fn zero_weight_keeps_last_weight_on_edit() {
        let mut d = dest(0, 0, Accounting::Classic);
        let mut spec = DestSpec::new(d.key(), 5);
        d.update(&spec, false, Accounting::Classic);
        spec.weight = 0;
        d.update(&spec, false, Accounting::Classic);
        assert_eq!((d.weight(), d.last_weight()), (0, 5));
        // Added with weight 0, the last weight is 0 too.
        d.update(&spec, true, Accounting::Classic);
        assert_eq!(d.last_weight(), 0);
    }

    #[test]
    fn classic_raising_the_upper_threshold_clears_overload() {
        let mut d = dest(1, 0, Accounting::Classic);
        d.bind(true, Accounting::Classic);
        assert!(d.overloaded());
        let mut spec = DestSpec::new(d.key(), 1);
        spec.u_threshold = 1;
        d.update(&spec, false, Accounting::Classic);
        assert!(d.overloaded(), "same threshold keeps the flag");
        spec.u_threshold = 5;
        d.update(&spec, false, Accounting::Classic);
        assert!(!d.overloaded());
    }

    #[test]
    fn totalconns_lowering_the_upper_threshold_sets_overload() {
        let acc = Accounting::TotalConns;
        let mut d = dest(10, 0, acc);
        d.bind(true, acc);
        d.bind(true, acc);
        let mut spec = DestSpec::new(d.key(), 1);
        spec.u_threshold = 2;
        d.update(&spec, false, acc);
        assert!(d.overloaded());
    }
}

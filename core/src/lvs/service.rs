//! A `virtual_server` as keepalived 2.2.7 runs it: its real servers' health,
//! quorum with hysteresis, the sorry server, `inhibit_on_failure`, alpha and
//! omega, and the IPVS state all of that calls for.
//!
//! keepalived changes IPVS step by step (`keepalived/check/ipwrapper.c`);
//! here the wanted table is derived from the state ([`VirtualService::desired`])
//! and [`super::ipvs::reconcile`] gives the steps. The state changes follow
//! keepalived's: `init_service_vs`, `perform_svr_state`,
//! `update_quorum_state`, `update_svr_wgt`, `clear_service_vs`.

use super::dest::DestKey;
use super::ipvs::{
    DestEntry, Forward, IpvsState, Persistence, ServiceEntry, ServiceKey, ServiceSpec, Tunnel,
};
use super::sched::{Algorithm, Protocol, SchedFlags};
use crate::config::model::lvs::{
    LvsMethod, Protocol as CfgProtocol, VirtualServer, VirtualServerGroup, VsKey, VsgEntry,
};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// keepalived's `IPVS_WEIGHT_MAX`: effective weights are clamped to it.
const WEIGHT_MAX: i64 = i32::MAX as i64;

/// At most this many addresses from one group range (keepalived walks
/// the last octet, or the last 16 bits for IPv6).
const MAX_RANGE: u32 = 65536;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("virtual_server group {0:?} is not defined")]
    NoSuchGroup(String),
    #[error("lb_algo {0:?} is not a scheduler vigil models")]
    Scheduler(String),
}

/// What the driver is asked to do besides programming IPVS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceAction {
    /// Run the real server's `notify_up` (`up`) or `notify_down` script.
    RealServerNotify { rs: usize, up: bool },
    /// Run the virtual server's `quorum_up` or `quorum_down` script.
    QuorumNotify { up: bool },
}

/// One `real_server` and its health.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServer {
    pub key: DestKey,
    /// The weight checkers may move (`effective_weight`), clamped to
    /// 0..=`IPVS_WEIGHT_MAX` on its way to IPVS (`real_weight`).
    pub effective_weight: i64,
    pub forward: Forward,
    pub u_threshold: u32,
    pub l_threshold: u32,
    /// `inhibit_on_failure`: a failed server stays with weight 0.
    pub inhibit: bool,
    pub alive: bool,
}

impl RealServer {
    fn ipvs_weight(&self) -> u32 {
        self.effective_weight.clamp(0, WEIGHT_MAX) as u32
    }

    fn entry(&self, weight: u32) -> DestEntry {
        DestEntry {
            key: self.key,
            weight,
            forward: self.forward,
            u_threshold: self.u_threshold,
            l_threshold: self.l_threshold,
        }
    }
}

/// A virtual server: one IPVS service, or one per entry of its group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualService {
    keys: Vec<ServiceKey>,
    algorithm: Algorithm,
    flags: SchedFlags,
    one_packet: bool,
    persistence: Option<Persistence>,
    quorum: u32,
    hysteresis: u32,
    quorum_up: bool,
    real_servers: Vec<RealServer>,
    sorry: Option<RealServer>,
    omega: bool,
    ha_suspend: bool,
    vip_present: bool,
    running: bool,
}

impl VirtualService {
    /// The model of `vs` before `init`: every real server down, quorum
    /// down, as keepalived allocates them.
    pub fn from_config(
        vs: &VirtualServer,
        groups: &[VirtualServerGroup],
    ) -> Result<Self, ServiceError> {
        let algorithm: Algorithm = vs
            .lb_algo
            .name()
            .parse()
            .map_err(|_| ServiceError::Scheduler(vs.lb_algo.name().to_string()))?;
        let mut flags = SchedFlags::default();
        let mut one_packet = false;
        for f in &vs.sched_flags {
            match f.as_str() {
                "ops" => one_packet = true,
                other => {
                    // `hashed` and unknown words were reported by the config.
                    if let Ok(bit) = SchedFlags::from_name(other) {
                        flags = flags.with(bit);
                    }
                }
            }
        }
        let keys = service_keys(vs, groups)?;
        let ipv6 = keys.iter().any(|k| match k {
            ServiceKey::Addr { addr, .. } => addr.is_ipv6(),
            ServiceKey::Fwmark { ipv6, .. } => *ipv6,
        });
        let persistence = (vs.persistence_timeout > 0).then(|| Persistence {
            timeout: vs.persistence_timeout,
            netmask: granularity(vs.persistence_granularity.as_deref(), ipv6),
        });
        // check_data.c: a real server listed twice keeps its first block.
        let mut seen: Vec<DestKey> = Vec::new();
        let real_servers = vs
            .real_servers
            .iter()
            .filter(|rs| {
                let key = DestKey::new(rs.ip, rs.port);
                let first = !seen.contains(&key);
                seen.push(key);
                first
            })
            .map(|rs| RealServer {
                key: DestKey::new(rs.ip, rs.port),
                effective_weight: i64::from(rs.weight),
                forward: forward(rs.lvs_method),
                u_threshold: rs.uthreshold.unwrap_or(0),
                l_threshold: rs.lthreshold.unwrap_or(0),
                inhibit: rs.inhibit_on_failure,
                alive: false,
            })
            .collect();
        let sorry = vs.sorry_server.as_ref().map(|s| RealServer {
            key: DestKey::new(s.ip, s.port),
            effective_weight: 1,
            forward: forward(s.lvs_method.unwrap_or(vs.lb_kind)),
            u_threshold: 0,
            l_threshold: 0,
            inhibit: s.inhibit,
            alive: false,
        });
        // check_data.c: hysteresis is kept below the quorum.
        let quorum = vs.quorum.max(1);
        Ok(VirtualService {
            keys,
            algorithm,
            flags,
            one_packet,
            persistence,
            quorum,
            hysteresis: vs.hysteresis.min(quorum - 1),
            quorum_up: false,
            real_servers,
            sorry,
            omega: vs.omega,
            ha_suspend: vs.ha_suspend,
            vip_present: true,
            running: false,
        })
    }

    /// Starts the service (`init_service_vs`): real servers whose checkers
    /// start failed (`alpha`) are down, the others up; `alpha[i]` tells
    /// which. Quorum is then judged once, notifying quorum_up when it is
    /// met, or quorum_down when it is not and a sorry server takes over.
    pub fn init(&mut self, start_down: &[bool]) -> Vec<ServiceAction> {
        for (i, rs) in self.real_servers.iter_mut().enumerate() {
            rs.alive = !start_down.get(i).copied().unwrap_or(false);
        }
        self.running = true;
        self.quorum_up = false;
        let mut out = Vec::new();
        self.update_quorum(true, &mut out);
        out
    }

    /// Takes over a running predecessor's state on reload (keepalived's
    /// `migrate_checkers`/`clear_diff_services`): real servers that stay
    /// keep their health, new ones take `start_down`'s, and quorum keeps
    /// its side unless the new set of real servers moves it.
    pub fn adopt(&mut self, old: &VirtualService, start_down: &[bool]) -> Vec<ServiceAction> {
        for (i, rs) in self.real_servers.iter_mut().enumerate() {
            rs.alive = match old.real_servers.iter().find(|o| o.key == rs.key) {
                Some(o) => o.alive,
                None => !start_down.get(i).copied().unwrap_or(false),
            };
        }
        self.running = old.running;
        self.quorum_up = old.quorum_up;
        self.vip_present = old.vip_present;
        let mut out = Vec::new();
        if self.running {
            self.update_quorum(false, &mut out);
        }
        out
    }

    /// The model's index of the real server at `key` (a real server listed
    /// twice has one entry).
    pub fn real_server_index(&self, key: DestKey) -> Option<usize> {
        self.real_servers.iter().position(|r| r.key == key)
    }

    pub fn quorum_up(&self) -> bool {
        self.quorum_up
    }

    pub fn real_servers(&self) -> &[RealServer] {
        &self.real_servers
    }

    pub fn keys(&self) -> &[ServiceKey] {
        &self.keys
    }

    /// The scheduler (`lb_algo`).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// `ha_suspend`: checkers pause while the service address is not on
    /// this host (a Backup director).
    pub fn checkers_suspended(&self) -> bool {
        self.ha_suspend && !self.vip_present
    }

    pub fn set_vip_present(&mut self, present: bool) {
        self.vip_present = present;
    }

    /// A checker verdict for real server `rs` (`perform_svr_state`).
    pub fn set_alive(&mut self, rs: usize, alive: bool) -> Vec<ServiceAction> {
        let mut out = Vec::new();
        let Some(r) = self.real_servers.get_mut(rs) else {
            return out;
        };
        if !self.running || r.alive == alive {
            return out;
        }
        r.alive = alive;
        out.push(ServiceAction::RealServerNotify { rs, up: alive });
        self.update_quorum(false, &mut out);
        out
    }

    /// A new effective weight for `rs` (`update_svr_wgt`, from
    /// MISC_CHECK's dynamic weight or a tracked file).
    pub fn set_weight(&mut self, rs: usize, weight: i64) -> Vec<ServiceAction> {
        let mut out = Vec::new();
        let Some(r) = self.real_servers.get_mut(rs) else {
            return out;
        };
        let old = r.ipvs_weight();
        r.effective_weight = weight;
        if self.running && r.ipvs_weight() != old {
            self.update_quorum(false, &mut out);
        }
        out
    }

    /// Stops the service (`clear_service_vs`): with `omega`, the down
    /// scripts of the live real servers and quorum_down run on the way out.
    pub fn shutdown(&mut self) -> Vec<ServiceAction> {
        let mut out = Vec::new();
        if !self.running {
            return out;
        }
        for (i, rs) in self.real_servers.iter_mut().enumerate() {
            if rs.alive && self.omega {
                out.push(ServiceAction::RealServerNotify { rs: i, up: false });
            }
            rs.alive = false;
        }
        if self.omega {
            out.push(ServiceAction::QuorumNotify { up: false });
        }
        self.quorum_up = false;
        self.running = false;
        out
    }

    /// The sum keepalived weighs quorum by (`weigh_live_realservers`).
    fn live_weight(&self) -> i64 {
        self.real_servers
            .iter()
            .filter(|r| r.alive)
            .map(|r| i64::from(r.ipvs_weight()))
            .sum()
    }

    /// `update_quorum_state`: gained at quorum + hysteresis, lost below
    /// quorum − hysteresis (or with no live weight at all). At start, a
    /// quorum not met notifies only when a sorry server takes over.
    fn update_quorum(&mut self, init: bool, out: &mut Vec<ServiceAction>) {
        let sum = self.live_weight();
        let q = i64::from(self.quorum);
        let h = i64::from(self.hysteresis);
        if !self.quorum_up && sum >= q + h {
            self.quorum_up = true;
            out.push(ServiceAction::QuorumNotify { up: true });
        } else if (self.quorum_up && (sum == 0 || sum < q - h))
            || (init && !self.quorum_up && self.sorry.is_some())
        {
            self.quorum_up = false;
            out.push(ServiceAction::QuorumNotify { up: false });
        }
    }

    /// The IPVS services this virtual server wants, with their real
    /// servers in configuration order:
    /// - while the sorry server stands in (quorum lost), it alone serves;
    /// - otherwise every live real server serves with its weight;
    /// - a real server out of service stays with weight 0 if it has
    ///   `inhibit_on_failure`, and so does an idle sorry server with
    ///   `sorry_server_inhibit`.
    pub fn desired(&self) -> Vec<ServiceEntry> {
        if !self.running {
            return Vec::new();
        }
        let sorry_active = self.sorry.is_some() && !self.quorum_up;
        let mut dests: Vec<DestEntry> = Vec::new();
        for rs in &self.real_servers {
            if rs.alive && !sorry_active {
                dests.push(rs.entry(rs.ipvs_weight()));
            } else if rs.inhibit {
                dests.push(rs.entry(0));
            }
        }
        if let Some(s) = &self.sorry {
            let weight = if sorry_active {
                Some(s.ipvs_weight())
            } else {
                s.inhibit.then_some(0)
            };
            // A sorry server that is also a real server is that entry.
            if let Some(w) = weight
                && !dests.iter().any(|d| d.key == s.key)
            {
                dests.push(s.entry(w));
            }
        }
        self.keys
            .iter()
            .map(|&key| ServiceEntry {
                spec: ServiceSpec {
                    key,
                    algorithm: self.algorithm,
                    flags: self.flags,
                    persistence: self.persistence,
                    one_packet: self.one_packet,
                },
                dests: dests.clone(),
            })
            .collect()
    }
}

/// The whole table a set of virtual servers wants. A service key claimed by
/// an earlier virtual server is not claimed again (the kernel would refuse
/// the second `ipvsadm -A` with EEXIST); those keys are returned too.
pub fn desired_table<'a>(
    services: impl IntoIterator<Item = &'a VirtualService>,
) -> (IpvsState, Vec<ServiceKey>) {
    let mut table = IpvsState::default();
    let mut claimed = std::collections::BTreeSet::new();
    let mut dup = Vec::new();
    for s in services {
        for e in s.desired() {
            if claimed.insert(e.spec.key) {
                table.services.push(e);
            } else {
                dup.push(e.spec.key);
            }
        }
    }
    (table, dup)
}

fn forward(m: LvsMethod) -> Forward {
    match m {
        LvsMethod::Nat => Forward::Nat,
        LvsMethod::Dr => Forward::Dr,
        LvsMethod::Tun => Forward::Tun(Tunnel::default()),
    }
}

fn protocol(p: Option<CfgProtocol>) -> Protocol {
    match p {
        Some(CfgProtocol::Tcp) => Protocol::Tcp,
        Some(CfgProtocol::Sctp) => Protocol::Sctp,
        // keepalived's default for an address service (it warns).
        Some(CfgProtocol::Udp) | None => Protocol::Udp,
    }
}

/// `persistence_granularity`: an IPv4 netmask, or an IPv6 prefix length;
/// all ones (/128) when not set.
fn granularity(text: Option<&str>, ipv6: bool) -> u32 {
    if ipv6 {
        return text.and_then(|t| t.parse().ok()).unwrap_or(128);
    }
    text.and_then(|t| t.parse::<Ipv4Addr>().ok())
        .map_or(u32::MAX, u32::from)
}

/// The IPVS services a virtual server stands for.
fn service_keys(
    vs: &VirtualServer,
    groups: &[VirtualServerGroup],
) -> Result<Vec<ServiceKey>, ServiceError> {
    let proto = protocol(vs.protocol);
    match &vs.key {
        VsKey::Addr { ip, port } => Ok(vec![ServiceKey::Addr {
            protocol: proto,
            addr: *ip,
            port: *port,
        }]),
        VsKey::Fwmark(mark) => Ok(vec![ServiceKey::Fwmark {
            mark: *mark,
            ipv6: vs.ip_family.as_deref() == Some("inet6"),
        }]),
        VsKey::Group(name) => {
            let g = groups
                .iter()
                .find(|g| g.name == *name)
                .ok_or_else(|| ServiceError::NoSuchGroup(name.clone()))?;
            let mut keys = Vec::new();
            for e in &g.entries {
                match e {
                    VsgEntry::Addr { ip, end, port } => {
                        for addr in range(*ip, *end) {
                            keys.push(ServiceKey::Addr {
                                protocol: proto,
                                addr,
                                port: *port,
                            });
                        }
                    }
                    VsgEntry::Fwmark { mark, family } => keys.push(ServiceKey::Fwmark {
                        mark: *mark,
                        ipv6: family.as_deref() == Some("inet6"),
                    }),
                }
            }
            Ok(keys)
        }
    }
}

/// The addresses from `first` to `last` inclusive (one if no `last`, or if
/// the range runs backwards or across families).
fn range(first: IpAddr, last: Option<IpAddr>) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), Some(IpAddr::V4(b))) if b > a => {
            let (a, b) = (u32::from(a), u32::from(b));
            (a..=b.min(a.saturating_add(MAX_RANGE - 1)))
                .map(|x| IpAddr::V4(Ipv4Addr::from(x)))
                .collect()
        }
        (IpAddr::V6(a), Some(IpAddr::V6(b))) if b > a => {
            let (a, b) = (u128::from(a), u128::from(b));
            (a..=b.min(a.saturating_add(u128::from(MAX_RANGE - 1))))
                .map(|x| IpAddr::V6(Ipv6Addr::from(x)))
                .collect()
        }
        _ => vec![first],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;
    use crate::lvs::ipvs::{IpvsOp, IpvsState, reconcile};

    fn service(conf: &str) -> VirtualService {
        let parsed = parse_str(conf);
        let errors: Vec<_> = parsed.errors().collect();
        assert!(errors.is_empty(), "{errors:?}");
        let m = &parsed.model;
        VirtualService::from_config(&m.virtual_servers[0], &m.virtual_server_groups).unwrap()
    }

    const WEB: &str = r#"
virtual_server 192.168.10.100 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    protocol TCP
    quorum 3
    hysteresis 1
    real_server 192.168.10.11 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 192.168.10.12 80 {
        weight 2
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
"#;

    fn weights(s: &VirtualService) -> Vec<(u8, u32)> {
        s.desired()[0]
            .dests
            .iter()
            .map(|d| match d.key.addr {
                IpAddr::V4(a) => (a.octets()[3], d.weight),
                IpAddr::V6(_) => (0, d.weight),
            })
            .collect()
    }

    #[test]
    fn the_config_becomes_one_ipvs_service_with_its_real_servers() {
        let mut s = service(WEB);
        assert!(s.desired().is_empty(), "nothing before init");
        assert_eq!(s.init(&[]), vec![ServiceAction::QuorumNotify { up: true }]);
        let d = s.desired();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].spec.algorithm, Algorithm::Wrr);
        assert_eq!(
            d[0].spec.key,
            ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: "192.168.10.100".parse().unwrap(),
                port: 80
            }
        );
        assert_eq!(weights(&s), vec![(11, 2), (12, 2)]);
        assert!(d[0].dests.iter().all(|x| x.forward == Forward::Dr));
    }

    #[test]
    fn inhibit_on_failure_keeps_a_failed_server_at_weight_zero() {
        let mut s = service(WEB);
        s.init(&[]);
        s.set_alive(0, false);
        s.set_alive(1, false);
        assert_eq!(weights(&s), vec![(12, 0)]);
    }

    #[test]
    fn quorum_is_lost_below_quorum_minus_hysteresis_and_regained_at_plus() {
        // quorum 3, hysteresis 1: lost below 2, regained at 4.
        let mut s = service(WEB);
        s.init(&[]);
        assert_eq!(
            s.set_alive(0, false),
            vec![ServiceAction::RealServerNotify { rs: 0, up: false }],
            "2 left: not below 2"
        );
        assert_eq!(
            s.set_alive(1, false),
            vec![
                ServiceAction::RealServerNotify { rs: 1, up: false },
                ServiceAction::QuorumNotify { up: false }
            ]
        );
        // 2 is not 4: still down.
        assert_eq!(s.set_alive(1, true).len(), 1);
        assert!(!s.quorum_up());
        assert_eq!(
            s.set_alive(0, true),
            vec![
                ServiceAction::RealServerNotify { rs: 0, up: true },
                ServiceAction::QuorumNotify { up: true }
            ]
        );
    }

    #[test]
    fn alpha_servers_start_down_and_quorum_waits_for_them() {
        let mut s = service(WEB);
        assert_eq!(s.init(&[true, false]), vec![]);
        assert_eq!(weights(&s), vec![(12, 2)]);
        assert!(!s.quorum_up());
    }

    const SORRY: &str = r#"
virtual_server 10.0.0.100 443 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server 10.0.0.250 443
    real_server 10.0.0.1 443 {
        weight 1
    }
    real_server 10.0.0.2 443 {
        weight 1
    }
}
"#;

    #[test]
    fn the_sorry_server_alone_serves_while_quorum_is_lost() {
        let mut s = service(SORRY);
        s.init(&[]);
        assert_eq!(weights(&s), vec![(1, 1), (2, 1)]);
        s.set_alive(0, false);
        assert!(s.quorum_up());
        let acts = s.set_alive(1, false);
        assert_eq!(
            acts.last(),
            Some(&ServiceAction::QuorumNotify { up: false })
        );
        assert_eq!(weights(&s), vec![(250, 1)]);
        // One back: quorum 1 is met, the sorry server leaves.
        s.set_alive(1, true);
        assert_eq!(weights(&s), vec![(2, 1)]);
    }

    #[test]
    fn sorry_server_inhibit_keeps_it_at_weight_zero_when_idle() {
        let conf = SORRY.replace(
            "sorry_server 10.0.0.250 443",
            "sorry_server 10.0.0.250 443\n    sorry_server_inhibit",
        );
        let mut s = service(&conf);
        s.init(&[]);
        assert_eq!(weights(&s), vec![(1, 1), (2, 1), (250, 0)]);
    }

    #[test]
    fn starting_without_quorum_puts_the_sorry_server_in_at_once() {
        let mut s = service(SORRY);
        assert_eq!(
            s.init(&[true, true]),
            vec![ServiceAction::QuorumNotify { up: false }]
        );
        assert_eq!(weights(&s), vec![(250, 1)]);
    }

    #[test]
    fn omega_runs_the_down_scripts_on_shutdown() {
        let conf = SORRY.replace("lb_algo rr", "lb_algo rr\n    omega");
        let mut s = service(&conf);
        s.init(&[false, true]);
        assert_eq!(
            s.shutdown(),
            vec![
                ServiceAction::RealServerNotify { rs: 0, up: false },
                ServiceAction::QuorumNotify { up: false }
            ]
        );
        assert!(s.desired().is_empty());
        let mut plain = service(SORRY);
        plain.init(&[]);
        assert!(plain.shutdown().is_empty());
    }

    #[test]
    fn groups_expand_to_one_service_per_address_and_fwmark() {
        let conf = r#"
virtual_server_group web {
    10.0.0.1-3 80
    fwmark 7
}
virtual_server group web {
    lb_algo sh
    lb_kind DR
    protocol TCP
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    real_server 10.0.1.1 80 {
        weight 1
    }
}
"#;
        let mut s = service(conf);
        s.init(&[]);
        let d = s.desired();
        assert_eq!(d.len(), 4);
        assert_eq!(
            d[3].spec.key,
            ServiceKey::Fwmark {
                mark: 7,
                ipv6: false
            }
        );
        assert_eq!(
            d[0].spec.persistence,
            Some(Persistence {
                timeout: 300,
                netmask: 0xffff_ff00
            })
        );
    }

    #[test]
    fn reconcile_turns_a_failure_into_one_edit_with_inhibit_and_one_delete_without() {
        let mut s = service(WEB);
        s.init(&[]);
        let before = IpvsState {
            services: s.desired(),
        };
        s.set_alive(0, false);
        s.set_alive(1, false);
        let after = IpvsState {
            services: s.desired(),
        };
        let ops = reconcile(&before, &after);
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert!(matches!(ops[0], IpvsOp::DelDest { .. }));
        assert!(matches!(ops[1], IpvsOp::EditDest { dest, .. } if dest.weight == 0));
    }

    #[test]
    fn weights_are_clamped_and_weigh_in_quorum() {
        let mut s = service(WEB);
        s.init(&[]);
        assert!(s.set_weight(0, -5).is_empty(), "2 left: not below 2");
        assert_eq!(weights(&s), vec![(11, 0), (12, 2)]);
        assert_eq!(
            s.set_weight(1, 1),
            vec![ServiceAction::QuorumNotify { up: false }]
        );
    }
}

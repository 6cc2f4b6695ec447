//! The director: every virtual server of a config, the health checks of
//! their real servers, and the IPVS table they want — keepalived's
//! checker process, sans-IO.
//!
//! Inputs: [`Director::handle_timeout`], [`Director::handle_result`] (a
//! probe's outcome), [`Director::handle_file`] (a tracked file's value),
//! [`Director::handle_address`] (a VIP came or went, for `ha_suspend`),
//! [`Director::handle_table`] (the kernel's table, after it refused a
//! change), [`Director::reload`] and [`Director::shutdown`]. Outputs, drained after
//! every input: [`Director::poll_action`] and [`Director::poll_timeout`].
//!
//! A real server is alive while none of its checks fails (keepalived's
//! `num_failed_checkers`). The same check of the same real server asked for
//! by several virtual servers runs once and its verdict reaches each of
//! them (what keepalived users ask for in acassen/keepalived#2111 and
//! #2358). A real server's effective weight is its configured weight plus
//! each check's offset: misc_dynamic's `exit code − 2 − weight`, and a
//! FILE_CHECK's `value × weight`.

use super::dest::DestKey;
use super::ipvs::{IpvsOp, IpvsState, ServiceKey, reconcile};
use super::service::{ServiceAction, ServiceError, VirtualService, desired_table};
use crate::Instant;
use crate::check::{Action as CheckAction, Checker, ProbeResult, ProbeSpec};
use crate::config::model::check::{Checker as CheckerConf, CheckerKind, Connection};
use crate::config::model::{Config, Script};
use crate::config::text::Pos;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

/// keepalived's `IPVS_WEIGHT_FAULT`: a FILE_CHECK status this low fails.
const WEIGHT_FAULT: i64 = -(i32::MAX as i64) - 1;

/// A running check, stable across reloads that keep it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CheckId(pub u64);

/// What the director asks of the driver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectorAction {
    /// Run this probe and report with [`Director::handle_result`].
    StartProbe {
        check: CheckId,
        probe: Box<ProbeSpec>,
    },
    /// A check's verdict on a real server changed (for the log).
    Verdict {
        check: CheckId,
        kind: String,
        rs: SocketAddr,
        up: bool,
    },
    /// Change the kernel's table.
    Ipvs(IpvsOp),
    /// A virtual server gained or lost its quorum (for the log).
    Quorum { service: ServiceKey, up: bool },
    /// Run a notify_up/notify_down or quorum_up/quorum_down script.
    RunScript(Script),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectorError {
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// One virtual server of the config.
#[derive(Clone, Debug)]
struct Vs {
    model: VirtualService,
    quorum_up: Option<Script>,
    quorum_down: Option<Script>,
    /// Per model real server.
    real: Vec<Real>,
}

/// A real server's health bookkeeping.
#[derive(Clone, Debug)]
struct Real {
    /// The configured weight (keepalived's `iweight`).
    iweight: i64,
    failed: u32,
    notify_up: Option<Script>,
    notify_down: Option<Script>,
}

/// Where a check's verdict goes: one real server of one virtual server,
/// and the weight offset the check currently adds to it.
#[derive(Clone, Debug)]
struct Watch {
    vs: usize,
    rs: usize,
    offset: i64,
}

/// A probing check and the real servers it decides for.
#[derive(Clone, Debug)]
struct Check {
    /// What makes two checks the same one: the real server and the
    /// checker's whole configuration.
    key: (SocketAddr, CheckerConf),
    checker: Checker,
    watches: Vec<Watch>,
}

/// A check carried over a reload, with its key.
type Kept = ((SocketAddr, CheckerConf), (CheckId, Checker));

/// A FILE_CHECK: the file's value moves the weight or fails the server.
#[derive(Clone, Debug)]
struct FileWatch {
    file: String,
    weight: i64,
    reverse: bool,
    watch: Watch,
    /// The last status (an offset, or [`WEIGHT_FAULT`]).
    status: i64,
}

/// Every virtual server and check of one config.
#[derive(Clone, Debug)]
pub struct Director {
    services: Vec<Vs>,
    checks: BTreeMap<CheckId, Check>,
    files: Vec<FileWatch>,
    /// The last value read from each tracked file (0 until one is read).
    file_values: BTreeMap<String, i64>,
    next_id: u64,
    seed: u64,
    /// The table as the driver last programmed it, restricted to the
    /// services this director owns.
    actual: IpvsState,
    /// Per service, the ops last emitted to change it, while it needs any.
    tried: BTreeMap<ServiceKey, Vec<IpvsOp>>,
    /// Per service, ops the kernel refused: [`Director::handle_table`]
    /// found them still needed right after they were emitted. They are not
    /// asked for again until what the service needs changes (a verdict, a
    /// weight, the kernel's table) or a reload, so that a kernel lacking a
    /// scheduler is not asked for it at every check of other services.
    refused: BTreeMap<ServiceKey, Vec<IpvsOp>>,
    actions: VecDeque<DirectorAction>,
}

impl Director {
    /// Starts every virtual server of `config` at `now`. `actual` is what
    /// the kernel holds already: its services that the config names are
    /// adopted and corrected, the others are left alone. `local` says which
    /// addresses are on this host (for `ha_suspend`); `seed` draws the
    /// checks' warmup shares.
    pub fn new(
        now: Instant,
        config: &Config,
        actual: &IpvsState,
        local: &[IpAddr],
        seed: u64,
    ) -> Result<Self, DirectorError> {
        let mut d = Director {
            services: Vec::new(),
            checks: BTreeMap::new(),
            files: Vec::new(),
            file_values: BTreeMap::new(),
            next_id: 0,
            seed,
            actual: IpvsState::default(),
            tried: BTreeMap::new(),
            refused: BTreeMap::new(),
            actions: VecDeque::new(),
        };
        d.build(now, config, &mut Vec::new())?;
        for vs in &mut d.services {
            let present = vs.model.keys().iter().any(|k| match k {
                ServiceKey::Addr { addr, .. } => local.contains(addr),
                ServiceKey::Fwmark { .. } => true,
            });
            vs.model.set_vip_present(present);
        }
        d.actual = d.owned(actual);
        for i in 0..d.services.len() {
            let start_down = d.start_down(i);
            let out = d.services[i].model.init(&start_down);
            d.service_actions(i, out);
            d.refresh_weights(i);
        }
        d.sync_suspension();
        d.program();
        Ok(d)
    }

    /// Builds services, checks and file watches from `config`; checks found
    /// in `old` (by key) are taken over with their state and id.
    fn build(
        &mut self,
        now: Instant,
        config: &Config,
        old: &mut Vec<Kept>,
    ) -> Result<(), DirectorError> {
        for vs in &config.virtual_servers {
            let model = VirtualService::from_config(vs, &config.virtual_server_groups)?;
            let v = self.services.len();
            let mut real: Vec<Real> = Vec::new();
            for rs in &vs.real_servers {
                let Some(r) = model.real_server_index(DestKey::new(rs.ip, rs.port)) else {
                    continue;
                };
                if r < real.len() {
                    // A real server listed twice keeps its first block.
                    continue;
                }
                real.push(Real {
                    iweight: i64::from(rs.weight),
                    failed: 0,
                    notify_up: rs.notify_up.clone(),
                    notify_down: rs.notify_down.clone(),
                });
                let addr = SocketAddr::new(rs.ip, rs.port);
                let vhost = rs.virtualhost.as_ref().or(vs.virtualhost.as_ref());
                for mut conf in rs.checkers.iter().flat_map(expand_smtp_hosts) {
                    // keepalived's fallback: the url's, the checker's, the
                    // real server's, then the virtual server's virtualhost.
                    if let CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) = &mut conf.kind {
                        h.virtualhost = h.virtualhost.take().or_else(|| vhost.cloned());
                    }
                    let watch = Watch {
                        vs: v,
                        rs: r,
                        offset: 0,
                    };
                    if let CheckerKind::File(f) = &conf.kind {
                        self.watch_file(config, f, watch);
                    } else {
                        self.watch_check(now, addr, conf, watch, old);
                    }
                }
            }
            self.services.push(Vs {
                model,
                quorum_up: vs.quorum_up.clone(),
                quorum_down: vs.quorum_down.clone(),
                real,
            });
        }
        Ok(())
    }

    /// Subscribes `watch` to the check `conf` of `addr`, starting the check
    /// unless an identical one runs already.
    fn watch_check(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        mut conf: CheckerConf,
        watch: Watch,
        old: &mut Vec<Kept>,
    ) {
        conf.at = Pos::default();
        let key = (addr, conf);
        if let Some(c) = self.checks.values_mut().find(|c| c.key == key) {
            c.watches.push(watch);
            return;
        }
        let (id, checker) = match old.iter().position(|k| k.0 == key) {
            Some(i) => old.swap_remove(i).1,
            None => {
                let id = CheckId(self.next_id);
                self.next_id += 1;
                match Checker::new(now, &key.1, addr, self.seed ^ id.0) {
                    Ok(c) => (id, c),
                    // What cannot be probed (a MISC_CHECK without a
                    // script) was reported by the config check.
                    Err(_) => return,
                }
            }
        };
        self.checks.insert(
            id,
            Check {
                key,
                checker,
                watches: vec![watch],
            },
        );
    }

    fn watch_file(
        &mut self,
        config: &Config,
        f: &crate::config::model::check::FileCheck,
        watch: Watch,
    ) {
        let Some(name) = &f.track_file else { return };
        let Some(tf) = config.track_files.iter().find(|t| &t.name == name) else {
            return;
        };
        // The checker's own weight, else the track_file's.
        let (weight, reverse) = match f.weight {
            Some(w) => (i64::from(w), f.reverse),
            None => (i64::from(tf.weight), tf.reverse),
        };
        let value = self.file_values.get(name).copied().unwrap_or(0);
        let status = status_of(value, weight, reverse);
        self.files.push(FileWatch {
            file: name.clone(),
            weight,
            reverse,
            watch: Watch {
                offset: if status == WEIGHT_FAULT { 0 } else { status },
                ..watch
            },
            status,
        });
    }

    /// Which real servers of service `v` start down: those with a check
    /// that is not up (alpha) or a file watch in fault.
    fn start_down(&mut self, v: usize) -> Vec<bool> {
        let mut failed = vec![0u32; self.services[v].real.len()];
        for c in self.checks.values() {
            if !c.checker.is_up() {
                for w in c.watches.iter().filter(|w| w.vs == v) {
                    failed[w.rs] += 1;
                }
            }
        }
        for f in self.files.iter().filter(|f| f.watch.vs == v) {
            if f.status == WEIGHT_FAULT {
                failed[f.watch.rs] += 1;
            }
        }
        for (r, n) in self.services[v].real.iter_mut().zip(&failed) {
            r.failed = *n;
        }
        failed.iter().map(|&n| n > 0).collect()
    }

    /// Replaces the config (SIGHUP). Checks that stay identical keep their
    /// state, timers and ids; virtual servers that keep their addresses
    /// keep their real servers' health and their quorum; the IPVS table is
    /// brought to the new config with the fewest changes.
    pub fn reload(&mut self, now: Instant, config: &Config) -> Result<(), DirectorError> {
        // Refuse a config whose services cannot be built before touching anything.
        for vs in &config.virtual_servers {
            VirtualService::from_config(vs, &config.virtual_server_groups)?;
        }
        let mut next = Director {
            services: Vec::new(),
            checks: BTreeMap::new(),
            files: Vec::new(),
            file_values: std::mem::take(&mut self.file_values),
            next_id: self.next_id,
            seed: self.seed,
            actual: IpvsState::default(),
            tried: BTreeMap::new(),
            refused: BTreeMap::new(),
            actions: VecDeque::new(),
        };
        let mut old: Vec<Kept> = std::mem::take(&mut self.checks)
            .into_iter()
            .map(|(id, c)| (c.key, (id, c.checker)))
            .collect();
        next.build(now, config, &mut old)?;
        for i in 0..next.services.len() {
            let start_down = next.start_down(i);
            let prev = self
                .services
                .iter()
                .find(|p| p.model.keys() == next.services[i].model.keys());
            let out = match prev {
                Some(p) => next.services[i].model.adopt(&p.model, &start_down),
                None => next.services[i].model.init(&start_down),
            };
            next.service_actions(i, out);
        }
        next.actual = std::mem::take(&mut self.actual);
        next.actions = std::mem::take(&mut self.actions);
        *self = next;
        for vs in 0..self.services.len() {
            self.refresh_weights(vs);
        }
        self.sync_suspension();
        self.program();
        Ok(())
    }

    /// Stops every virtual server (SIGTERM): omega scripts run, and the
    /// services leave the table.
    pub fn shutdown(&mut self) {
        for i in 0..self.services.len() {
            let out = self.services[i].model.shutdown();
            self.service_actions(i, out);
        }
        self.checks.clear();
        self.program();
    }

    /// Runs the checks that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<CheckId> = self
            .checks
            .iter()
            .filter(|(_, c)| c.checker.poll_timeout().is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(c) = self.checks.get_mut(&id) {
                c.checker.handle_timeout(now);
            }
            self.drain(id);
        }
    }

    /// The outcome of check `id`'s outstanding probe. A result for a check
    /// that a reload removed is dropped.
    pub fn handle_result(&mut self, now: Instant, id: CheckId, result: ProbeResult) {
        let Some(c) = self.checks.get_mut(&id) else {
            return;
        };
        if c.checker.handle_result(now, result).is_err() {
            return;
        }
        self.drain(id);
    }

    /// A tracked file now reads `value` (keepalived's `track_file`).
    pub fn handle_file(&mut self, name: &str, value: i64) {
        self.file_values.insert(name.to_string(), value);
        let mut changed = Vec::new();
        for (i, f) in self.files.iter_mut().enumerate() {
            if f.file == name {
                let status = status_of(value, f.weight, f.reverse);
                if status != f.status {
                    changed.push((i, f.status, status));
                    f.status = status;
                }
            }
        }
        for (i, before, after) in changed {
            let w = self.files[i].watch.clone();
            if after == WEIGHT_FAULT {
                self.files[i].watch.offset = 0;
                self.check_failed(w.vs, w.rs, true);
            } else {
                self.files[i].watch.offset = after;
                if before == WEIGHT_FAULT {
                    self.check_failed(w.vs, w.rs, false);
                }
            }
            self.refresh_weights(w.vs);
        }
        self.program();
    }

    /// A VIP appeared on (or left) this host: `ha_suspend` services pause
    /// their checks while their address is elsewhere.
    pub fn handle_address(&mut self, addr: IpAddr, present: bool) {
        for vs in &mut self.services {
            let ours = vs.model.keys().iter().any(|k| match k {
                ServiceKey::Addr { addr: a, .. } => *a == addr,
                ServiceKey::Fwmark { .. } => false,
            });
            if ours {
                vs.model.set_vip_present(present);
            }
        }
        self.sync_suspension();
    }

    /// The kernel's table as it is, read after it refused a change (the
    /// ops emitted so far were taken as applied): the director's view
    /// becomes the kernel's, and the ops that bring the kernel to what the
    /// services want follow — except, for each service, the very ops just
    /// emitted for it, which the kernel has refused.
    pub fn handle_table(&mut self, actual: &IpvsState) {
        self.actual = self.owned(actual);
        let ops = reconcile(&self.actual, &self.desired());
        for (key, needed) in by_service(&ops) {
            if self.tried.get(&key) == Some(&needed) {
                self.refused.insert(key, needed);
            }
        }
        self.emit(ops);
    }

    pub fn poll_action(&mut self) -> Option<DirectorAction> {
        self.actions.pop_front()
    }

    /// When the next check is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.checks
            .values()
            .filter_map(|c| c.checker.poll_timeout())
            .min()
    }

    /// The virtual servers, in config order.
    pub fn services(&self) -> impl Iterator<Item = &VirtualService> {
        self.services.iter().map(|s| &s.model)
    }

    /// The table as programmed so far.
    pub fn table(&self) -> &IpvsState {
        &self.actual
    }

    /// Every probing check's verdict for each real server it decides:
    /// (service index, real server index, checker kind, up).
    pub fn verdicts(&self) -> impl Iterator<Item = (usize, usize, &'static str, bool)> + '_ {
        self.checks.values().flat_map(|c| {
            let (kind, up) = (c.key.1.kind.name(), c.checker.is_up());
            c.watches.iter().map(move |w| (w.vs, w.rs, kind, up))
        })
    }

    /// How many probing checks run (a check shared by several virtual
    /// servers counts once).
    pub fn check_count(&self) -> usize {
        self.checks.len()
    }

    /// Turns check `id`'s verdicts into real server states.
    fn drain(&mut self, id: CheckId) {
        let mut changed = false;
        while let Some(a) = self
            .checks
            .get_mut(&id)
            .and_then(|c| c.checker.poll_action())
        {
            let Some(c) = self.checks.get(&id) else {
                return;
            };
            let (addr, kind) = (c.key.0, c.key.1.kind.name().to_string());
            let watches = c.watches.clone();
            match a {
                CheckAction::StartProbe { probe } => {
                    self.actions
                        .push_back(DirectorAction::StartProbe { check: id, probe });
                }
                CheckAction::Up { weight } | CheckAction::Weight { weight } => {
                    let verdict = matches!(a, CheckAction::Up { .. });
                    if verdict {
                        self.actions.push_back(DirectorAction::Verdict {
                            check: id,
                            kind,
                            rs: addr,
                            up: true,
                        });
                    }
                    self.set_offsets(id, weight);
                    for w in &watches {
                        if verdict {
                            self.check_failed(w.vs, w.rs, false);
                        }
                        self.refresh_weights(w.vs);
                    }
                    changed = true;
                }
                CheckAction::Down => {
                    self.actions.push_back(DirectorAction::Verdict {
                        check: id,
                        kind,
                        rs: addr,
                        up: false,
                    });
                    self.set_offsets(id, None);
                    for w in &watches {
                        self.check_failed(w.vs, w.rs, true);
                        self.refresh_weights(w.vs);
                    }
                    changed = true;
                }
            }
        }
        if changed {
            self.program();
        }
    }

    /// misc_dynamic: the check's weight replaces the configured one
    /// (`None`: no offset).
    fn set_offsets(&mut self, id: CheckId, weight: Option<u32>) {
        let Some(c) = self.checks.get_mut(&id) else {
            return;
        };
        for w in &mut c.watches {
            let iweight = self.services[w.vs].real[w.rs].iweight;
            w.offset = weight.map_or(0, |x| i64::from(x) - iweight);
        }
    }

    /// One check of real server `rs` of service `v` failed (or recovered):
    /// the server goes down with its first failed check and comes back
    /// with its last recovered one.
    fn check_failed(&mut self, v: usize, rs: usize, failed: bool) {
        let real = &mut self.services[v].real[rs];
        let before = real.failed;
        real.failed = if failed {
            before + 1
        } else {
            before.saturating_sub(1)
        };
        let alive = real.failed == 0;
        if (before == 0) != alive {
            let out = self.services[v].model.set_alive(rs, alive);
            self.service_actions(v, out);
        }
    }

    /// Recomputes service `v`'s effective weights from the offsets.
    fn refresh_weights(&mut self, v: usize) {
        let n = self.services[v].real.len();
        let mut weights: Vec<i64> = self.services[v].real.iter().map(|r| r.iweight).collect();
        let watches = self
            .checks
            .values()
            .flat_map(|c| c.watches.iter())
            .chain(self.files.iter().map(|f| &f.watch));
        for w in watches.filter(|w| w.vs == v && w.rs < n) {
            weights[w.rs] += w.offset;
        }
        for (rs, weight) in weights.into_iter().enumerate() {
            if self.services[v].model.real_servers()[rs].effective_weight != weight {
                let out = self.services[v].model.set_weight(rs, weight);
                self.service_actions(v, out);
            }
        }
    }

    /// Checks pause while every service they serve is suspended.
    fn sync_suspension(&mut self) {
        for c in self.checks.values_mut() {
            let enabled = c
                .watches
                .iter()
                .any(|w| !self.services[w.vs].model.checkers_suspended());
            c.checker.set_enabled(enabled);
        }
    }

    /// Scripts and log lines for what service `v` reported.
    fn service_actions(&mut self, v: usize, out: Vec<ServiceAction>) {
        let vs = &self.services[v];
        for a in out {
            match a {
                ServiceAction::RealServerNotify { rs, up } => {
                    let r = &vs.real[rs];
                    let script = if up { &r.notify_up } else { &r.notify_down };
                    if let Some(s) = script {
                        self.actions.push_back(DirectorAction::RunScript(s.clone()));
                    }
                }
                ServiceAction::QuorumNotify { up } => {
                    if let Some(&service) = vs.model.keys().first() {
                        self.actions
                            .push_back(DirectorAction::Quorum { service, up });
                    }
                    let script = if up { &vs.quorum_up } else { &vs.quorum_down };
                    if let Some(s) = script {
                        self.actions.push_back(DirectorAction::RunScript(s.clone()));
                    }
                }
            }
        }
    }

    /// The services of `table` that this director owns. By the configured
    /// keys, not by the desired table: before init no service is running,
    /// so that table is empty and nothing would be adopted (each service's
    /// add then refused by the kernel).
    fn owned(&self, table: &IpvsState) -> IpvsState {
        let ours: std::collections::BTreeSet<&ServiceKey> =
            self.services.iter().flat_map(|s| s.model.keys()).collect();
        IpvsState {
            services: table
                .services
                .iter()
                .filter(|s| ours.contains(&s.spec.key))
                .cloned()
                .collect(),
        }
    }

    fn desired(&self) -> IpvsState {
        desired_table(self.services.iter().map(|s| &s.model)).0
    }

    /// Emits the operations that bring the table to what the services want.
    fn program(&mut self) {
        let ops = reconcile(&self.actual, &self.desired());
        self.emit(ops);
    }

    /// Queues `ops` but those of services whose ops the kernel refused
    /// (while they stay what the service needs), taking them as applied
    /// until [`Director::handle_table`] says otherwise.
    fn emit(&mut self, ops: Vec<IpvsOp>) {
        let needed = by_service(&ops);
        self.refused
            .retain(|key, refused| needed.get(key) == Some(&*refused));
        self.tried.clear();
        for op in ops {
            let key = op.service();
            if self.refused.contains_key(&key) {
                continue;
            }
            // The ops come from the table itself, so they apply.
            let _ = self.actual.apply(&op);
            self.tried.entry(key).or_default().push(op.clone());
            self.actions.push_back(DirectorAction::Ipvs(op));
        }
    }
}

/// `ops` by the service each changes, each service's in their order.
fn by_service(ops: &[IpvsOp]) -> BTreeMap<ServiceKey, Vec<IpvsOp>> {
    let mut out: BTreeMap<ServiceKey, Vec<IpvsOp>> = BTreeMap::new();
    for op in ops {
        out.entry(op.service()).or_default().push(op.clone());
    }
    out
}

/// keepalived's `update_track_file_status` for a checker: with weight 0 a
/// non-zero value fails (zero with `reverse`); otherwise the value times
/// the weight (negated with `reverse`), clamped to IPVS's weight range.
fn status_of(value: i64, weight: i64, reverse: bool) -> i64 {
    if weight == 0 {
        return if (value != 0) != reverse {
            WEIGHT_FAULT
        } else {
            0
        };
    }
    let mult = if reverse { -1 } else { 1 };
    value
        .saturating_mul(weight)
        .saturating_mul(mult)
        .clamp(WEIGHT_FAULT, i64::from(i32::MAX))
}

/// SMTP_CHECK's deprecated `host { }` blocks: keepalived 2.2.7 makes one
/// checker per host, and the first host replaces the checker's own
/// connection when none of its connection options was written.
fn expand_smtp_hosts(conf: &CheckerConf) -> Vec<CheckerConf> {
    let CheckerKind::Smtp(smtp) = &conf.kind else {
        return vec![conf.clone()];
    };
    if smtp.hosts.is_empty() {
        return vec![conf.clone()];
    }
    let mut out = Vec::new();
    if conf.connection != Connection::default() {
        out.push(conf.clone());
    }
    for host in &smtp.hosts {
        let mut c = conf.clone();
        c.connection = host.clone();
        if let CheckerKind::Smtp(s) = &mut c.kind {
            s.hosts.clear();
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[path = "director_tests.rs"]
mod tests;

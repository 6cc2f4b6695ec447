//! The pretty-printer: model → keepalived.conf text → model gives the same
//! model, for every fixture and for generated models (VRRP instances with
//! their scripts, tracking and sync groups; virtual servers with real servers
//! and checkers). The printed text must also read without errors or warnings.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use vigil_core::config::model::addr::{IpAddress, IpPrefix, Nexthop, Route, Rule};
use vigil_core::config::model::check::{
    Checker, CheckerKind, Connection, DnsCheck, HttpCheck, MiscCheck, Url,
};
use vigil_core::config::model::lvs::{
    LvsMethod, Protocol, RealServer, Scheduler, SorryServer, VirtualServer, VsKey,
};
use vigil_core::config::model::track::{SyncGroup, VrrpScript};
use vigil_core::config::model::vrrp::{
    AuthType, Authentication, Family, TrackedInterface, TrackedRef, UnicastPeer, Vmac,
    VrrpInstance, VrrpState,
};
use vigil_core::config::model::{Config, GlobalDefs, Script};
use vigil_core::config::print::print;
use vigil_core::config::text::Pos;
use vigil_core::config::{MemoryLoader, Parsed, Severity, parse, parse_str};

/// Clears every source position, which printing cannot keep.
fn strip(c: &mut Config) {
    let p = Pos::default();
    c.vrrp_scripts.iter_mut().for_each(|s| s.at = p);
    c.track_files.iter_mut().for_each(|s| s.at = p);
    c.track_processes.iter_mut().for_each(|s| s.at = p);
    c.sync_groups.iter_mut().for_each(|s| s.at = p);
    c.instances.iter_mut().for_each(|s| s.at = p);
    c.virtual_server_groups.iter_mut().for_each(|s| s.at = p);
    for vs in &mut c.virtual_servers {
        vs.at = p;
        for rs in &mut vs.real_servers {
            rs.at = p;
            for ch in &mut rs.checkers {
                ch.at = p;
                if let CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) = &mut ch.kind {
                    h.urls.iter_mut().for_each(|u| u.at = p);
                }
            }
        }
    }
}

fn reparse(model: &Config) -> (String, Parsed) {
    let text = print(model);
    let mut p = parse_str(&text);
    strip(&mut p.model);
    (text, p)
}

#[test]
fn notify_fifos_are_modelled_and_printed() {
    let text = "global_defs {\n    notify_fifo /run/k.fifo root adm\n    vrrp_notify_fifo /run/v.fifo\n}\n";
    let parsed = parse_str(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let g = &parsed.model.global;
    let fifo = g.notify_fifo.as_ref().expect("notify_fifo");
    assert_eq!(
        (
            fifo.path.as_str(),
            fifo.user.as_deref(),
            fifo.group.as_deref()
        ),
        ("/run/k.fifo", Some("root"), Some("adm"))
    );
    assert_eq!(
        g.vrrp_notify_fifo.as_ref().map(|f| f.path.as_str()),
        Some("/run/v.fifo")
    );
    assert!(g.unmodelled.is_empty());
    assert_eq!(parse_str(&print(&parsed.model)).model, parsed.model);
}

#[test]
fn every_fixture_survives_a_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "conf") {
            continue;
        }
        let name = path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut once = parse(&name, &MemoryLoader::new().with(&name, text), None).model;
        strip(&mut once);
        let (printed, again) = reparse(&once);
        let errors: Vec<_> = again.errors().collect();
        assert!(errors.is_empty(), "{name}:\n{printed}\n{errors:#?}");
        assert_eq!(again.model, once, "{name}:\n{printed}");
        // Printing is stable: the second text is the first.
        assert_eq!(print(&again.model), printed, "{name}");
        n += 1;
    }
    assert_eq!(n, 10);
}

// ---- generated models ----

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,7}"
}

fn secs_ms(max_ms: u64) -> impl Strategy<Value = Duration> {
    (1..=max_ms).prop_map(Duration::from_millis)
}

fn script(name: &'static str) -> impl Strategy<Value = Script> {
    (word(), proptest::option::of(word())).prop_map(move |(arg, user)| Script {
        command: format!("/usr/local/bin/{name} {arg}"),
        args: vec![format!("/usr/local/bin/{name}"), arg],
        user,
        group: None,
    })
}

fn vrrp_script(i: usize) -> impl Strategy<Value = VrrpScript> {
    (
        1u64..60,
        0u64..10,
        -253i32..=253,
        any::<bool>(),
        1u32..5,
        1u32..5,
        any::<bool>(),
        proptest::option::of(word()),
    )
        .prop_map(
            move |(interval, timeout, weight, reverse, rise, fall, init_fail, user)| {
                let mut s = VrrpScript::new(&format!("chk_{i}"));
                s.script = Some(Script {
                    command: format!("/usr/local/bin/check_{i}"),
                    args: vec![format!("/usr/local/bin/check_{i}")],
                    user: None,
                    group: None,
                });
                s.interval = Duration::from_secs(interval);
                s.timeout = Duration::from_secs(timeout);
                s.weight = weight;
                s.weight_reverse = reverse;
                s.rise = rise;
                s.fall = fall;
                s.init_fail = init_fail;
                s.user = user;
                s
            },
        )
}

fn v4(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, net, 0, host))
}

fn v6(net: u16, host: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfd00, net, 0, 0, 0, 0, 0, host))
}

/// A VIP of the family, with some of the options keepalived takes.
fn vip(i: usize, inet6: bool) -> impl Strategy<Value = IpAddress> {
    (
        8u8..=32,
        proptest::option::of(prop_oneof![Just("eth1"), Just("eth2")]),
        proptest::option::of(prop_oneof![Just("global"), Just("link"), Just("host")]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(len, dev, scope, label, brd, no_track)| {
            let host = u8::try_from(i + 1).unwrap_or(1);
            if inet6 {
                let mut a = IpAddress::new(if i == 0 {
                    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(host)))
                } else {
                    v6(1, u16::from(host))
                });
                a.prefix = 64;
                a.dev = dev.map(str::to_string);
                a.no_track = no_track;
                return a;
            }
            let mut a = IpAddress::new(v4(1, host));
            a.prefix = len;
            a.dev = dev.map(str::to_string);
            a.scope = scope.map(str::to_string);
            a.label = (label && a.dev.is_some()).then(|| format!("eth1:{i}"));
            if brd && len <= 30 {
                a.broadcast = Some(Ipv4Addr::new(10, 1, 0, 255));
            }
            a.no_track = no_track;
            a
        })
}

/// Unicast peers (min_ttl, max_ttl) and the unicast_ttl.
type Unicast = (Vec<(Option<u8>, Option<u8>)>, Option<u8>);

/// A checker: type, connect_timeout, retry, delay_before_retry as written.
type CheckerDraft = (u8, Option<Duration>, Option<u32>, Option<Duration>);

/// What varies per instance; assembled into a [`VrrpInstance`] by `instance`.
#[derive(Clone, Debug)]
struct InstanceDraft {
    inet6: bool,
    v3: bool,
    master: bool,
    priority: u8,
    advert: u16,
    preempt: (bool, u64),
    auth: Option<(bool, String)>,
    vips: Vec<IpAddress>,
    excluded: usize,
    unicast: Option<Unicast>,
    track_if: Vec<(i32, bool)>,
    track_scripts: Vec<(Option<i32>, Option<bool>)>,
    garp: (u64, u32, u64, u32),
    down_timer: u32,
    flags: [bool; 8],
    notify: (Option<Script>, Option<Script>),
    debug: u8,
    notify_prio: Option<bool>,
    routes: bool,
}

fn instance_draft() -> impl Strategy<Value = InstanceDraft> {
    let addressing = (any::<bool>(), any::<bool>()).prop_flat_map(|(inet6, v3)| {
        (
            Just(inet6),
            Just(inet6 || v3),
            proptest::collection::vec(0..3usize, 1..=3).prop_flat_map(move |n| {
                n.iter()
                    .enumerate()
                    .map(|(i, _)| vip(i, inet6))
                    .collect::<Vec<_>>()
            }),
            0..=2usize,
            proptest::option::of((
                proptest::collection::vec(
                    (
                        proptest::option::of(0u8..10),
                        proptest::option::of(200u8..=255),
                    ),
                    1..=2,
                ),
                proptest::option::of(1u8..=255),
            )),
        )
    });
    (
        addressing,
        (
            any::<bool>(),
            1u8..=255,
            1u16..=4095,
            any::<bool>(),
            0u64..=1_000_000,
        ),
        proptest::option::of((any::<bool>(), "[a-z0-9]{1,8}")),
        proptest::collection::vec((-253i32..=253, any::<bool>()), 0..=2),
        proptest::collection::vec(
            (
                proptest::option::of(-253i32..=253),
                proptest::option::of(any::<bool>()),
            ),
            0..=2,
        ),
        (0u64..30, 1u32..10, 0u64..60, 1u32..5),
        1u32..=100,
        proptest::array::uniform8(any::<bool>()),
        (
            proptest::option::of(script("notify_master")),
            proptest::option::of(script("notify")),
        ),
        (0u8..=4, proptest::option::of(any::<bool>()), any::<bool>()),
    )
        .prop_map(
            |(
                (inet6, v3, vips, excluded, unicast),
                (master, priority, advert, nopreempt, delay_ms),
                auth,
                track_if,
                track_scripts,
                garp,
                down_timer,
                flags,
                notify,
                (debug, notify_prio, routes),
            )| InstanceDraft {
                inet6,
                v3,
                master,
                priority,
                advert,
                preempt: (nopreempt, delay_ms),
                auth,
                vips,
                excluded,
                unicast,
                track_if,
                track_scripts,
                garp,
                down_timer,
                flags,
                notify,
                debug,
                notify_prio,
                routes,
            },
        )
}

/// A model instance as keepalived would hold it after reading it: only
/// combinations keepalived keeps as written (no setting it would reset).
fn instance(i: usize, d: InstanceDraft, scripts: usize) -> VrrpInstance {
    let mut v = VrrpInstance::new(&format!("VI_{i}"));
    let owner = d.priority == 255;
    v.state = if d.master || owner {
        VrrpState::Master
    } else {
        VrrpState::Backup
    };
    v.interface = Some(format!("eth{}", i % 2));
    v.virtual_router_id = u8::try_from(i + 1).unwrap_or(1);
    v.priority = d.priority;
    v.family = if d.inet6 { Family::Inet6 } else { Family::Inet };
    v.version = if d.v3 { 3 } else { 2 };
    v.advert_int_cs = if d.v3 {
        d.advert
    } else {
        (d.advert % 255 + 1) * 100
    };
    if v.state == VrrpState::Backup {
        v.nopreempt = d.preempt.0;
        if !v.nopreempt {
            v.preempt_delay = Duration::from_millis(d.preempt.1);
        }
    }
    if let Some((ah, pass)) = d.auth
        && !d.v3
    {
        // AH under `state MASTER` below 255 makes keepalived clear the state.
        let ah = ah && (v.state == VrrpState::Backup || owner);
        v.authentication = Some(Authentication {
            auth_type: if ah { AuthType::Ah } else { AuthType::Pass },
            auth_pass: pass,
        });
    }
    v.virtual_ipaddress = d.vips;
    v.virtual_ipaddress_excluded = (0..d.excluded)
        .map(|k| IpAddress::new(v4(9, u8::try_from(k + 1).unwrap_or(1))))
        .collect();
    let addr = |n: u8, h: u8| {
        if d.inet6 {
            v6(u16::from(n), u16::from(h))
        } else {
            v4(n, h)
        }
    };
    match d.unicast {
        Some((peers, ttl)) => {
            v.unicast_src_ip = Some(addr(2, 1));
            v.unicast_peer = peers
                .iter()
                .enumerate()
                .map(|(k, (min, max))| UnicastPeer {
                    addr: addr(2, u8::try_from(k + 2).unwrap_or(2)),
                    min_ttl: *min,
                    max_ttl: *max,
                })
                .collect();
            v.check_unicast_src =
                d.flags[0] || peers.iter().any(|(a, b)| a.is_some() || b.is_some());
            v.unicast_ttl = ttl;
        }
        None => {
            if d.flags[0] {
                v.mcast_src_ip = Some(addr(3, 1));
            }
        }
    }
    v.track_interface = d
        .track_if
        .iter()
        .enumerate()
        .map(|(k, (weight, reverse))| TrackedInterface {
            name: format!("eth{}", k + 5),
            weight: *weight,
            reverse: *reverse,
        })
        .collect();
    v.track_script = d
        .track_scripts
        .iter()
        .enumerate()
        .take(scripts)
        .map(|(k, (weight, reverse))| TrackedRef {
            name: format!("chk_{k}"),
            weight: *weight,
            reverse: weight.and(*reverse),
        })
        .collect();
    (
        v.garp_master_delay,
        v.garp_master_repeat,
        v.garp_master_refresh,
        v.garp_master_refresh_repeat,
    ) = (
        Duration::from_secs(d.garp.0),
        d.garp.1,
        Duration::from_secs(d.garp.2),
        d.garp.3,
    );
    v.down_timer_adverts = d.down_timer;
    v.accept = d.flags[1];
    v.dont_track_primary = d.flags[2];
    v.promote_secondaries = d.flags[3];
    v.lower_prio_no_advert = d.flags[4];
    v.higher_prio_send_advert = d.flags[5];
    v.smtp_alert = d.flags[6];
    v.skip_check_adv_addr = d.flags[7];
    if d.flags[7] {
        v.use_vmac = Some(Vmac {
            interface: Some(format!("vrrp.{i}")),
            mac: None,
        });
        // keepalived sends unicast adverts from the base interface.
        v.vmac_xmit_base = v.is_unicast();
    }
    (v.notify_master, v.notify) = d.notify;
    v.debug = d.debug;
    v.notify_priority_changes = d.notify_prio;
    if d.routes {
        let dest = IpPrefix {
            addr: addr(20, 0),
            len: if d.inet6 { 64 } else { 24 },
        };
        v.virtual_routes = vec![Route {
            dest,
            route_type: None,
            src: None,
            via: Some(addr(1, 254)),
            dev: Some("eth1".into()),
            scope: None,
            table: Some("100".into()),
            metric: Some(10),
            protocol: None,
            onlink: false,
            no_track: false,
            track_group: None,
            options: Vec::new(),
            nexthop: Vec::new(),
        }];
        let hop = |host, weight| Nexthop {
            via: Some(addr(1, host)),
            dev: Some("eth1".into()),
            weight,
            onlink: weight.is_none(),
        };
        v.virtual_routes.push(Route {
            dest: IpPrefix {
                addr: addr(21, 0),
                ..dest
            },
            via: None,
            dev: None,
            no_track: true,
            nexthop: vec![hop(2, Some(1)), hop(3, None)],
            ..v.virtual_routes[0].clone()
        });
        v.virtual_rules = vec![Rule {
            from: Some(dest),
            to: None,
            table: Some("100".into()),
            priority: Some(100),
            no_track: true,
            options: Vec::new(),
            flags: Vec::new(),
        }];
    }
    v
}

/// Whether keepalived counts the instance as an address owner in a sync group.
fn is_owner(v: &VrrpInstance) -> bool {
    v.state == VrrpState::Master && v.priority == 255
}

/// `global_defs` settings instances take their defaults from.
fn global() -> impl Strategy<Value = GlobalDefs> {
    (
        proptest::option::of(word()),
        proptest::collection::vec("[a-z]{1,6}@example\\.com", 0..=2),
        (2u8..=3, 0u64..20, 1u32..10, 1u32..=100),
        (proptest::option::of(any::<bool>()), any::<bool>()),
    )
        .prop_map(
            |(router_id, emails, (version, garp, repeat, down), (alert, skip))| {
                let mut g = GlobalDefs {
                    router_id,
                    notification_email: emails,
                    vrrp_version: version,
                    vrrp_garp_master_delay: Duration::from_secs(garp),
                    vrrp_garp_master_repeat: repeat,
                    vrrp_down_timer_adverts: down,
                    smtp_alert: alert,
                    vrrp_skip_check_adv_addr: skip,
                    enable_script_security: true,
                    ..GlobalDefs::default()
                };
                if !g.notification_email.is_empty() {
                    g.notification_email_from = Some("lb@example.com".into());
                }
                g
            },
        )
}

fn vrrp_config() -> impl Strategy<Value = Config> {
    (0..=3usize)
        .prop_flat_map(|n| {
            (
                (0..n).map(vrrp_script).collect::<Vec<_>>(),
                proptest::collection::vec(instance_draft(), 1..=4),
                global(),
            )
        })
        .prop_map(|(scripts, drafts, global)| {
            let mut c = Config {
                global,
                ..Config::default()
            };
            let n = scripts.len();
            c.vrrp_scripts = scripts;
            c.instances = drafts
                .into_iter()
                .enumerate()
                .map(|(i, d)| instance(i, d, n))
                .collect();
            // keepalived cannot turn the global skip_check_adv_addr off.
            let skip = c.global.vrrp_skip_check_adv_addr;
            c.instances
                .iter_mut()
                .for_each(|v| v.skip_check_adv_addr |= skip);
            // One sync group of the non-owners, when there are two.
            let members: Vec<String> = c
                .instances
                .iter()
                .filter(|v| !is_owner(v))
                .map(|v| v.name.clone())
                .collect();
            if members.len() >= 2 {
                let mut g = SyncGroup::new("VG_1");
                g.group = members.clone();
                g.smtp_alert = Some(true);
                c.sync_groups.push(g);
                for v in &mut c.instances {
                    if members.contains(&v.name) {
                        v.sync_group = Some("VG_1".into());
                    }
                }
            }
            c
        })
}

#[derive(Clone, Debug)]
struct RsDraft {
    method: LvsMethod,
    port: u16,
    weight: u32,
    inherit: (Option<Duration>, Option<Duration>, Option<u32>),
    flags: [bool; 3],
    checkers: Vec<CheckerDraft>,
}

fn method() -> impl Strategy<Value = LvsMethod> {
    prop_oneof![
        Just(LvsMethod::Nat),
        Just(LvsMethod::Dr),
        Just(LvsMethod::Tun)
    ]
}

fn rs_draft() -> impl Strategy<Value = RsDraft> {
    (
        method(),
        1u16..=65535,
        1u32..=10,
        (
            proptest::option::of(secs_ms(10_000)),
            proptest::option::of(secs_ms(60_000)),
            proptest::option::of(1u32..5),
        ),
        proptest::array::uniform3(any::<bool>()),
        proptest::collection::vec(
            (
                0u8..4,
                proptest::option::of(secs_ms(10_000)),
                proptest::option::of(0u32..5),
                proptest::option::of(secs_ms(10_000)),
            ),
            0..=2,
        ),
    )
        .prop_map(|(method, port, weight, inherit, flags, checkers)| RsDraft {
            method,
            port,
            weight,
            inherit,
            flags,
            checkers,
        })
}

/// A checker with its inherited values resolved as keepalived resolves them.
fn checker(rs: &RealServer, (kind, timeout, retry, dbr): CheckerDraft) -> Checker {
    let (kind, default_retry, default_dbr) = match kind {
        0 => (CheckerKind::Tcp, 1, Some(Duration::from_secs(1))),
        1 => (
            CheckerKind::HttpGet(HttpCheck {
                urls: vec![Url {
                    at: Pos::default(),
                    path: "/health".into(),
                    digest: None,
                    status_code: vec![(200, 299), (301, 301)],
                    virtualhost: None,
                    regex: None,
                }],
                ..HttpCheck::default()
            }),
            1,
            Some(Duration::from_secs(3)),
        ),
        2 => (
            CheckerKind::Misc(MiscCheck {
                misc_path: Some(Script {
                    command: "/usr/local/bin/check_rs".into(),
                    args: vec!["/usr/local/bin/check_rs".into()],
                    user: None,
                    group: None,
                }),
                misc_timeout: Some(Duration::from_secs(5)),
                misc_dynamic: true,
                user: None,
                group: None,
            }),
            0,
            Some(Duration::from_secs(1)),
        ),
        _ => (
            CheckerKind::Dns(DnsCheck {
                query_type: "A".into(),
                name: "example.org".into(),
            }),
            3,
            None,
        ),
    };
    let misc = matches!(kind, CheckerKind::Misc(_));
    let delay_loop = rs.delay_loop;
    Checker {
        at: Pos::default(),
        connection: Connection {
            connect_port: (!misc).then_some(8080),
            ..Connection::default()
        },
        connect_timeout: if misc {
            rs.connect_timeout
        } else {
            timeout.unwrap_or(rs.connect_timeout)
        },
        retry: retry.or(rs.retry).unwrap_or(default_retry),
        delay_before_retry: dbr
            .or(rs.delay_before_retry)
            .or(default_dbr)
            .unwrap_or(delay_loop),
        warmup: rs.warmup.unwrap_or(delay_loop),
        delay_loop,
        alpha: rs.alpha,
        log_all_failures: false,
        unmodelled: Vec::new(),
        kind,
    }
}

fn virtual_server(i: usize) -> impl Strategy<Value = VirtualServer> {
    (
        any::<bool>(),
        prop_oneof![
            Just(Protocol::Tcp),
            Just(Protocol::Udp),
            Just(Protocol::Sctp)
        ],
        (0..Scheduler::ALL.len(), method()),
        (0u32..=2, 1u16..=65535),
        (
            secs_ms(60_000),
            secs_ms(10_000),
            proptest::option::of(1u32..5),
        ),
        proptest::array::uniform4(any::<bool>()),
        proptest::collection::vec(rs_draft(), 1..=3),
        (1u32..=5, 0u32..=3),
        proptest::option::of(method()),
    )
        .prop_map(
            move |(
                fwmark,
                protocol,
                (sched, lb_kind),
                (persist, port),
                (delay_loop, connect_timeout, retry),
                flags,
                rss,
                (quorum, hysteresis),
                sorry,
            )| {
                let key = if fwmark {
                    VsKey::Fwmark(u32::try_from(i + 1).unwrap_or(1))
                } else {
                    VsKey::Addr {
                        ip: v4(100, u8::try_from(i + 1).unwrap_or(1)),
                        port,
                    }
                };
                let mut vs = VirtualServer {
                    at: Pos::default(),
                    key: key.clone(),
                    ip_family: None,
                    delay_loop,
                    lb_algo: Scheduler::ALL[sched].1,
                    lb_kind,
                    sched_flags: Vec::new(),
                    persistence_timeout: [0, 50, 360][persist as usize],
                    persistence_granularity: None,
                    persistence_engine: None,
                    protocol: (!fwmark).then_some(protocol),
                    quorum: 1,
                    hysteresis: 0,
                    quorum_up: None,
                    quorum_down: None,
                    sorry_server: sorry.map(|m| SorryServer {
                        ip: v4(101, 1),
                        port: 0,
                        inhibit: flags[0],
                        lvs_method: Some(m),
                    }),
                    inhibit_on_failure: flags[1],
                    alpha: flags[2],
                    omega: flags[3],
                    ha_suspend: !fwmark && flags[0],
                    virtualhost: None,
                    connect_timeout,
                    retry,
                    delay_before_retry: None,
                    warmup: None,
                    weight: 1,
                    smtp_alert: false,
                    real_servers: Vec::new(),
                    unmodelled: Vec::new(),
                };
                if vs.persistence_timeout > 0 && !fwmark {
                    vs.persistence_granularity = Some("255.255.255.0".into());
                }
                for (k, d) in rss.into_iter().enumerate() {
                    // Only NAT maps ports; keepalived resets the others'.
                    let port = match (&key, d.method) {
                        (_, LvsMethod::Nat) => d.port,
                        (VsKey::Addr { port, .. }, _) => *port,
                        _ => 0,
                    };
                    let mut rs = RealServer {
                        at: Pos::default(),
                        ip: v4(110, u8::try_from(k + 1).unwrap_or(1)),
                        port,
                        weight: d.weight,
                        lvs_method: d.method,
                        inhibit_on_failure: d.flags[0],
                        notify_up: None,
                        notify_down: None,
                        uthreshold: None,
                        lthreshold: None,
                        alpha: d.flags[1],
                        connect_timeout: d.inherit.0.unwrap_or(connect_timeout),
                        delay_loop: d.inherit.1.unwrap_or(delay_loop),
                        retry: d.inherit.2.or(retry),
                        delay_before_retry: None,
                        warmup: None,
                        smtp_alert: d.flags[2],
                        virtualhost: None,
                        checkers: Vec::new(),
                        unmodelled: Vec::new(),
                    };
                    rs.checkers = d.checkers.iter().map(|c| checker(&rs, *c)).collect();
                    vs.real_servers.push(rs);
                }
                let total: u32 = vs.real_servers.iter().map(|r| r.weight).sum();
                vs.quorum = quorum.min(total);
                vs.hysteresis = hysteresis.min(vs.quorum - 1);
                vs
            },
        )
}

fn lvs_config() -> impl Strategy<Value = Config> {
    proptest::collection::vec(0..1u8, 1..=3)
        .prop_flat_map(|n| (0..n.len()).map(virtual_server).collect::<Vec<_>>())
        .prop_map(|servers| {
            let mut c = Config::default();
            c.global.enable_script_security = true;
            c.virtual_servers = servers;
            c
        })
}

fn check_round_trip(model: &Config) -> Result<(), TestCaseError> {
    let (text, again) = reparse(model);
    let noisy: Vec<_> = again
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .collect();
    prop_assert!(noisy.is_empty(), "{text}\n{noisy:#?}");
    prop_assert_eq!(&again.model, model, "{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn vrrp_models_round_trip(model in vrrp_config()) {
        check_round_trip(&model)?;
    }

    #[test]
    fn lvs_models_round_trip(model in lvs_config()) {
        check_round_trip(&model)?;
    }
}

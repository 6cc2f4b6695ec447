//! Named after the keepalived 2.2.7 behaviour each test pins down.

use super::*;
use crate::config::model::Script;
use crate::config::model::check::{Connection, DnsCheck, HttpCheck, MiscCheck, SmtpCheck, Url};
use crate::config::text::Pos;

const RS: &str = "192.0.2.10:80";

pub(crate) fn conf(kind: CheckerKind) -> CheckerConf {
    CheckerConf {
        at: Pos::default(),
        kind,
        connection: Connection::default(),
        connect_timeout: Duration::from_secs(5),
        retry: 2,
        delay_before_retry: Duration::from_secs(1),
        warmup: Duration::ZERO,
        delay_loop: Duration::from_secs(10),
        alpha: false,
        log_all_failures: false,
        unmodelled: Vec::new(),
    }
}

pub(crate) fn misc(dynamic: bool) -> CheckerKind {
    CheckerKind::Misc(MiscCheck {
        misc_path: Some(Script {
            command: "/bin/check".into(),
            args: vec!["/bin/check".into()],
            user: None,
            group: None,
        }),
        misc_timeout: None,
        misc_dynamic: dynamic,
        user: None,
        group: None,
    })
}

pub(crate) fn http(paths: &[&str], fast_recovery: bool) -> CheckerKind {
    CheckerKind::HttpGet(HttpCheck {
        urls: paths
            .iter()
            .map(|p| Url {
                at: Pos::default(),
                path: (*p).into(),
                digest: None,
                status_code: vec![(200, 299)],
                virtualhost: None,
                regex: None,
            })
            .collect(),
        fast_recovery: Some(fast_recovery),
        ..HttpCheck::default()
    })
}

pub(crate) fn new(c: &CheckerConf) -> Checker {
    let rs = RS
        .parse()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    match Checker::new(Instant::ZERO, c, rs, 7) {
        Ok(ch) => ch,
        Err(e) => panic!("checker: {e}"),
    }
}

/// Fires the due probe and answers it; returns the actions it caused
/// (the StartProbe first) and the time of the probe.
fn step(ch: &mut Checker, r: ProbeResult) -> (Instant, Vec<Action>) {
    let now = ch.poll_timeout().unwrap_or(Instant::ZERO);
    ch.handle_timeout(now);
    assert!(ch.handle_result(now, r).is_ok());
    (now, std::iter::from_fn(|| ch.poll_action()).collect())
}

fn verdicts(a: &[Action]) -> Vec<Action> {
    a.iter()
        .filter(|a| !matches!(a, Action::StartProbe { .. }))
        .cloned()
        .collect()
}

fn fail() -> ProbeResult {
    ProbeResult::Failed("refused".into())
}

#[test]
fn first_probe_after_bootstrap_delay_with_no_warmup() {
    let ch = new(&conf(CheckerKind::Tcp));
    assert_eq!(
        ch.poll_timeout(),
        Some(Instant::ZERO + Duration::from_secs(1))
    );
}

#[test]
fn warmup_share_is_within_warmup_and_seeded() {
    let mut c = conf(CheckerKind::Tcp);
    c.warmup = Duration::from_secs(10);
    let rs = SocketAddr::from(([192, 0, 2, 1], 80));
    let at = |seed| Checker::new(Instant::ZERO, &c, rs, seed).map(|ch| ch.poll_timeout());
    assert_eq!(at(1), at(1));
    assert_ne!(at(1), at(2));
    for seed in 0..100 {
        let t = at(seed).ok().flatten().unwrap_or(Instant::ZERO);
        assert!(t >= Instant::ZERO + Duration::from_secs(1));
        assert!(t <= Instant::ZERO + Duration::from_secs(11));
    }
}

#[test]
fn tcp_one_failure_is_enough_initially() {
    let mut ch = new(&conf(CheckerKind::Tcp));
    let (t, a) = step(&mut ch, fail());
    assert_eq!(verdicts(&a), vec![Action::Down]);
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
}

#[test]
fn tcp_first_success_of_non_alpha_is_silent() {
    let mut ch = new(&conf(CheckerKind::Tcp));
    let (_, a) = step(&mut ch, ProbeResult::Ok);
    assert!(verdicts(&a).is_empty());
    assert!(ch.is_up());
}

#[test]
fn tcp_up_server_goes_down_after_retry_failures_spaced_by_delay_before_retry() {
    let mut ch = new(&conf(CheckerKind::Tcp));
    step(&mut ch, ProbeResult::Ok);
    for _ in 0..2 {
        let (t, a) = step(&mut ch, ProbeResult::Timeout);
        assert!(verdicts(&a).is_empty());
        assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(1)));
    }
    let (t, a) = step(&mut ch, fail());
    assert_eq!(verdicts(&a), vec![Action::Down]);
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
}

#[test]
fn tcp_one_success_brings_a_down_server_up() {
    let mut ch = new(&conf(CheckerKind::Tcp));
    step(&mut ch, fail());
    let (_, a) = step(&mut ch, ProbeResult::Ok);
    assert_eq!(verdicts(&a), vec![Action::Up { weight: None }]);
}

#[test]
fn tcp_down_server_still_cycles_through_retries() {
    let mut ch = new(&conf(CheckerKind::Tcp));
    step(&mut ch, fail());
    let (t, a) = step(&mut ch, fail());
    assert!(verdicts(&a).is_empty());
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(1)));
}

#[test]
fn tcp_success_resets_the_retry_count() {
    let mut ch = new(&conf(CheckerKind::Tcp));
    step(&mut ch, ProbeResult::Ok);
    step(&mut ch, fail());
    step(&mut ch, fail());
    step(&mut ch, ProbeResult::Ok);
    step(&mut ch, fail());
    let (_, a) = step(&mut ch, fail());
    assert!(verdicts(&a).is_empty());
}

#[test]
fn alpha_starts_down_and_first_success_brings_up() {
    let mut c = conf(CheckerKind::Tcp);
    c.alpha = true;
    let mut ch = new(&c);
    assert!(!ch.is_up());
    let (_, a) = step(&mut ch, ProbeResult::Ok);
    assert_eq!(verdicts(&a), vec![Action::Up { weight: None }]);
}

#[test]
fn alpha_first_tcp_failure_is_reported_down() {
    let mut c = conf(CheckerKind::Tcp);
    c.alpha = true;
    let mut ch = new(&c);
    let (_, a) = step(&mut ch, fail());
    assert_eq!(verdicts(&a), vec![Action::Down]);
}

#[test]
fn result_without_probe_is_an_error() {
    let mut ch = new(&conf(CheckerKind::Tcp));
    assert_eq!(
        ch.handle_result(Instant::ZERO, ProbeResult::Ok),
        Err(CheckError::NoProbe)
    );
}

#[test]
fn probe_carries_connection_parameters() {
    let mut c = conf(CheckerKind::Tcp);
    c.connection.connect_port = Some(8080);
    c.connection.bindto = Some([192, 0, 2, 99].into());
    let mut ch = new(&c);
    let (_, a) = step(&mut ch, ProbeResult::Ok);
    let Some(ProbeSpec::Tcp { conn }) = a.first().and_then(|a| match a {
        Action::StartProbe { probe } => Some(&**probe),
        _ => None,
    }) else {
        panic!("no tcp probe: {a:?}");
    };
    assert_eq!(conn.dst, SocketAddr::from(([192, 0, 2, 10], 8080)));
    assert_eq!(conn.bindto, Some([192, 0, 2, 99].into()));
    assert_eq!(conn.connect_timeout, Duration::from_secs(5));
}

#[test]
fn file_check_is_not_probing() {
    let c = conf(CheckerKind::File(Default::default()));
    let rs = SocketAddr::from(([192, 0, 2, 1], 80));
    assert!(matches!(
        Checker::new(Instant::ZERO, &c, rs, 0),
        Err(CheckError::NotProbing("FILE_CHECK"))
    ));
}

#[test]
fn misc_exit_1_is_down_exit_0_is_up() {
    let mut ch = new(&conf(misc(false)));
    let (_, a) = step(&mut ch, ProbeResult::Exited(1));
    assert_eq!(verdicts(&a), vec![Action::Down]);
    let (_, a) = step(&mut ch, ProbeResult::Exited(0));
    assert_eq!(verdicts(&a), vec![Action::Up { weight: None }]);
}

#[test]
fn misc_exit_5_without_misc_dynamic_is_a_failure() {
    let mut ch = new(&conf(misc(false)));
    let (_, a) = step(&mut ch, ProbeResult::Exited(5));
    assert_eq!(verdicts(&a), vec![Action::Down]);
}

#[test]
fn misc_dynamic_exit_code_minus_two_is_the_weight() {
    let mut ch = new(&conf(misc(true)));
    let (_, a) = step(&mut ch, ProbeResult::Exited(7));
    assert_eq!(verdicts(&a), vec![Action::Weight { weight: Some(5) }]);
    let (_, a) = step(&mut ch, ProbeResult::Exited(7));
    assert!(verdicts(&a).is_empty());
    let (_, a) = step(&mut ch, ProbeResult::Exited(0));
    assert_eq!(verdicts(&a), vec![Action::Weight { weight: None }]);
    step(&mut ch, ProbeResult::Exited(1));
    step(&mut ch, ProbeResult::Exited(1));
    let (_, a) = step(&mut ch, ProbeResult::Exited(1));
    assert_eq!(verdicts(&a), vec![Action::Down]);
    let (_, a) = step(&mut ch, ProbeResult::Exited(4));
    assert_eq!(verdicts(&a), vec![Action::Up { weight: Some(2) }]);
}

#[test]
fn misc_next_run_is_timed_from_the_script_start() {
    let mut ch = new(&conf(misc(false)));
    let t = ch.poll_timeout().unwrap_or(Instant::ZERO);
    ch.handle_timeout(t);
    let end = t + Duration::from_secs(3);
    assert!(ch.handle_result(end, ProbeResult::Exited(0)).is_ok());
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
}

#[test]
fn misc_timeout_defaults_to_the_delay_loop() {
    let mut ch = new(&conf(misc(false)));
    let (_, a) = step(&mut ch, ProbeResult::Exited(0));
    assert!(matches!(
        a.first(),
        Some(Action::StartProbe { probe }) if matches!(&**probe, ProbeSpec::Misc { timeout, .. } if *timeout == Duration::from_secs(10))
    ));
}

/// The MISC_CHECK's `user [group]` line wins over words after misc_path;
/// with neither the driver applies global_defs' script_user.
#[test]
fn misc_runs_as_the_checks_user_line_else_the_misc_path_words() {
    let user = |kind: CheckerKind| match crate::check::probe::resolve(
        &conf(kind),
        RS.parse().expect("addr"),
    ) {
        Ok((ProbeSpec::Misc { script, .. }, _)) => (script.user, script.group),
        other => panic!("not a MISC probe: {other:?}"),
    };
    let with = |check_user: Option<&str>, path_user: Option<&str>, path_group: Option<&str>| {
        let CheckerKind::Misc(mut m) = misc(false) else {
            unreachable!()
        };
        m.user = check_user.map(Into::into);
        if let Some(s) = m.misc_path.as_mut() {
            s.user = path_user.map(Into::into);
            s.group = path_group.map(Into::into);
        }
        CheckerKind::Misc(m)
    };
    assert_eq!(user(with(None, None, None)), (None, None));
    let words = (Some("www".to_string()), Some("web".to_string()));
    assert_eq!(user(with(None, Some("www"), Some("web"))), words);
    // The check's user brings its own (primary) group, not misc_path's.
    assert_eq!(
        user(with(Some("nobody"), Some("www"), Some("web"))),
        (Some("nobody".to_string()), None)
    );
}

#[test]
fn misc_down_server_is_not_retried() {
    let mut ch = new(&conf(misc(false)));
    step(&mut ch, ProbeResult::Exited(1));
    let (t, _) = step(&mut ch, ProbeResult::Timeout);
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
}

fn probed_path(a: &[Action]) -> Option<String> {
    match a.first() {
        Some(Action::StartProbe { probe }) => match &**probe {
            ProbeSpec::Http { url, .. } => Some(url.path.clone()),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn http_urls_are_probed_one_per_delay_loop_and_up_after_the_last() {
    let mut c = conf(http(&["/a", "/b"], false));
    c.alpha = true;
    let mut ch = new(&c);
    let (t, a) = step(&mut ch, ProbeResult::Ok);
    assert_eq!(probed_path(&a).as_deref(), Some("/a"));
    assert!(verdicts(&a).is_empty());
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
    let (_, a) = step(&mut ch, ProbeResult::Ok);
    assert_eq!(probed_path(&a).as_deref(), Some("/b"));
    assert_eq!(verdicts(&a), vec![Action::Up { weight: None }]);
}

#[test]
fn http_fast_recovery_probes_at_once_until_the_first_verdict() {
    let mut c = conf(http(&["/a", "/b"], true));
    c.alpha = true;
    let mut ch = new(&c);
    let (t, _) = step(&mut ch, ProbeResult::Ok);
    assert_eq!(ch.poll_timeout(), Some(t));
}

#[test]
fn http_failed_url_is_reprobed_every_max_of_delays_then_all_urls() {
    let mut ch = new(&conf(http(&["/a", "/b"], false)));
    step(&mut ch, ProbeResult::Ok);
    step(&mut ch, ProbeResult::Ok);
    step(&mut ch, fail());
    step(&mut ch, fail());
    let (t, a) = step(&mut ch, fail());
    assert_eq!(probed_path(&a).as_deref(), Some("/a"));
    assert_eq!(verdicts(&a), vec![Action::Down]);
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
    let (_, a) = step(&mut ch, ProbeResult::Ok);
    assert!(verdicts(&a).is_empty());
    let (_, a) = step(&mut ch, ProbeResult::Ok);
    assert_eq!(probed_path(&a).as_deref(), Some("/a"));
    let (_, a) = step(&mut ch, ProbeResult::Ok);
    assert_eq!(probed_path(&a).as_deref(), Some("/b"));
    assert_eq!(verdicts(&a), vec![Action::Up { weight: None }]);
}

#[test]
fn http_one_failure_is_enough_until_the_first_full_pass() {
    let mut ch = new(&conf(http(&["/a", "/b"], false)));
    step(&mut ch, ProbeResult::Ok);
    let (_, a) = step(&mut ch, fail());
    assert_eq!(verdicts(&a), vec![Action::Down]);
}

#[test]
fn http_alpha_first_failure_is_not_reported() {
    let mut c = conf(http(&["/a"], false));
    c.alpha = true;
    let mut ch = new(&c);
    let (_, a) = step(&mut ch, fail());
    assert!(verdicts(&a).is_empty());
    assert!(!ch.is_up());
}

fn dns() -> CheckerKind {
    CheckerKind::Dns(DnsCheck {
        query_type: "SOA".into(),
        name: String::new(),
    })
}

fn smtp() -> CheckerKind {
    CheckerKind::Smtp(SmtpCheck {
        helo_name: "smtpchecker.keepalived.org".into(),
        hosts: Vec::new(),
    })
}

#[test]
fn udp_and_ping_reprobe_a_down_server_every_delay_before_retry() {
    for kind in [CheckerKind::Ping, CheckerKind::Udp(Default::default())] {
        let mut ch = new(&conf(kind));
        let (_, a) = step(&mut ch, fail());
        assert_eq!(verdicts(&a), vec![Action::Down]);
        for _ in 0..5 {
            let (t, a) = step(&mut ch, fail());
            assert!(verdicts(&a).is_empty());
            assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(1)));
        }
        let (_, a) = step(&mut ch, ProbeResult::Ok);
        assert_eq!(verdicts(&a), vec![Action::Up { weight: None }]);
    }
}

#[test]
fn dns_down_server_is_probed_every_delay_loop() {
    let mut ch = new(&conf(dns()));
    step(&mut ch, fail());
    let (t, _) = step(&mut ch, fail());
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
}

#[test]
fn dns_up_server_goes_down_after_retries() {
    let mut ch = new(&conf(dns()));
    step(&mut ch, ProbeResult::Ok);
    for _ in 0..2 {
        let (t, a) = step(&mut ch, fail());
        assert!(verdicts(&a).is_empty());
        assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(1)));
    }
    let (_, a) = step(&mut ch, fail());
    assert_eq!(verdicts(&a), vec![Action::Down]);
}

#[test]
fn smtp_retry_count_is_not_reset_by_a_down_verdict() {
    let mut ch = new(&conf(smtp()));
    step(&mut ch, ProbeResult::Ok);
    step(&mut ch, fail());
    step(&mut ch, fail());
    let (_, a) = step(&mut ch, fail());
    assert_eq!(verdicts(&a), vec![Action::Down]);
    let (t, _) = step(&mut ch, fail());
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
}

#[test]
fn smtp_one_failure_is_enough_initially() {
    let mut ch = new(&conf(smtp()));
    let (_, a) = step(&mut ch, fail());
    assert_eq!(verdicts(&a), vec![Action::Down]);
}

#[test]
fn ha_suspend_disabled_checker_skips_probes_every_delay_loop() {
    let mut ch = new(&conf(CheckerKind::Tcp));
    ch.set_enabled(false);
    let t = ch.poll_timeout().unwrap_or(Instant::ZERO);
    ch.handle_timeout(t);
    assert_eq!(ch.poll_action(), None);
    assert_eq!(ch.poll_timeout(), Some(t + Duration::from_secs(10)));
    ch.set_enabled(true);
    let (_, a) = step(&mut ch, fail());
    assert_eq!(verdicts(&a), vec![Action::Down]);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn kind(k: u8, urls: usize, dynamic: bool) -> CheckerKind {
        match k % 7 {
            0 => CheckerKind::Tcp,
            1 => http(&["/a", "/b", "/c"][..urls], false),
            2 => misc(dynamic),
            3 => CheckerKind::Udp(Default::default()),
            4 => CheckerKind::Ping,
            5 => dns(),
            _ => smtp(),
        }
    }

    fn result(r: u8) -> ProbeResult {
        match r % 4 {
            0 | 1 => ProbeResult::Ok,
            2 => ProbeResult::Timeout,
            _ => ProbeResult::Exited(1),
        }
    }

    proptest! {
        /// keepalived: once a success has been judged (for HTTP: every url
        /// of a pass passed), `retry` failures are retried before the
        /// (retry+1)th reports the server down; alpha starts it down
        /// and only a success brings it up; timers never run backwards.
        #[test]
        fn verdicts_follow_keepalived_retry_rules(
            k in 0u8..7,
            urls in 1usize..=3,
            dynamic in any::<bool>(),
            alpha in any::<bool>(),
            retry in 0u32..4,
            fast_recovery in any::<bool>(),
            seed in any::<u64>(),
            steps in proptest::collection::vec((0u8..4, 0u64..3_000), 1..60),
        ) {
            let mut c = conf(kind(k, urls, dynamic));
            if let CheckerKind::HttpGet(h) = &mut c.kind {
                h.fast_recovery = Some(fast_recovery);
            }
            c.alpha = alpha;
            c.retry = retry;
            c.warmup = Duration::from_secs(3);
            let rs = SocketAddr::from(([192, 0, 2, 1], 80));
            let mut ch = match Checker::new(Instant::ZERO, &c, rs, seed) {
                Ok(ch) => ch,
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            };
            prop_assert_eq!(ch.is_up(), !alpha);
            let mut last_timer = Instant::ZERO;
            let mut had_ok = false;
            let mut consecutive_failures = 0u32;
            for (r, took_ms) in steps {
                let Some(at) = ch.poll_timeout() else {
                    return Err(TestCaseError::fail("no timer while idle"));
                };
                prop_assert!(at >= last_timer, "timer went back: {:?} < {:?}", at, last_timer);
                last_timer = at;
                ch.handle_timeout(at);
                let started = matches!(ch.poll_action(), Some(Action::StartProbe { .. }));
                prop_assert!(started);
                prop_assert_eq!(ch.poll_timeout(), None);
                let done = at + Duration::from_millis(took_ms);
                let res = result(r);
                let ok = res == ProbeResult::Ok;
                prop_assert!(ch.handle_result(done, res).is_ok());
                if ok {
                    had_ok |= ch.has_run();
                    consecutive_failures = 0;
                } else {
                    consecutive_failures += 1;
                }
                while let Some(a) = ch.poll_action() {
                    match a {
                        Action::Down if had_ok => prop_assert!(
                            consecutive_failures > retry,
                            "down after {} failures with retry {}", consecutive_failures, retry
                        ),
                        Action::Up { .. } => prop_assert!(ok, "up without a success"),
                        Action::StartProbe { .. } => {
                            return Err(TestCaseError::fail("probe without a timer"));
                        }
                        _ => {}
                    }
                }
                if alpha && !had_ok {
                    prop_assert!(!ch.is_up());
                }
                let Some(next) = ch.poll_timeout() else {
                    return Err(TestCaseError::fail("no timer after a result"));
                };
                prop_assert!(next >= last_timer);
            }
        }
    }
}

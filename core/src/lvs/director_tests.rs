use super::*;
use crate::config::parse_str;
use std::time::Duration;

fn config(text: &str) -> Config {
    let parsed = parse_str(text);
    let errors: Vec<_> = parsed.errors().collect();
    assert!(errors.is_empty(), "{errors:?}");
    parsed.model
}

fn at(secs: f64) -> Instant {
    Instant::ZERO + Duration::from_secs_f64(secs)
}

fn drain(d: &mut Director) -> Vec<DirectorAction> {
    std::iter::from_fn(|| d.poll_action()).collect()
}

/// The ipvsadm form of the IPVS ops among `actions`.
fn ops(actions: &[DirectorAction]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            DirectorAction::Ipvs(op) => Some(op.to_string()),
            _ => None,
        })
        .collect()
}

fn probes(actions: &[DirectorAction]) -> Vec<(CheckId, SocketAddr)> {
    actions
        .iter()
        .filter_map(|a| match a {
            DirectorAction::StartProbe { check, probe } => match probe.as_ref() {
                ProbeSpec::Tcp { conn } | ProbeSpec::Smtp { conn, .. } => Some((*check, conn.dst)),
                ProbeSpec::Http { conn, .. } => Some((*check, conn.dst)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn scripts(actions: &[DirectorAction]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            DirectorAction::RunScript(s) => Some(s.command.clone()),
            _ => None,
        })
        .collect()
}

/// Fails every probe started in `actions` and any retries, until
/// `until`, stepping the director's clock.
fn run_until(
    d: &mut Director,
    until: Instant,
    answer: impl Fn(SocketAddr) -> ProbeResult,
) -> Vec<DirectorAction> {
    let mut seen = Vec::new();
    while let Some(t) = d.poll_timeout().filter(|t| *t <= until) {
        d.handle_timeout(t);
        loop {
            let got = drain(d);
            if got.is_empty() {
                break;
            }
            for (id, dst) in probes(&got) {
                d.handle_result(t, id, answer(dst));
            }
            seen.extend(got);
        }
    }
    seen
}

const SEED004: &str = r#"
virtual_server 172.16.88.100 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    persistence_timeout 50
    protocol TCP
    sorry_server 127.0.0.1 80
    real_server 172.16.88.10 80 {
        weight 1
        notify_down /usr/local/bin/rs-down
        TCP_CHECK {
            connect_timeout 3
            retry 3
            delay_before_retry 3
        }
    }
    real_server 172.16.88.20 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 3
            delay_before_retry 3
        }
    }
}
"#;

/// The seed 004 director, started, its first actions drained.
fn seed004() -> Director {
    let mut d = start(SEED004);
    drain(&mut d);
    d
}

fn start(text: &str) -> Director {
    Director::new(Instant::ZERO, &config(text), &IpvsState::default(), &[], 1).unwrap()
}

#[test]
fn start_programs_every_real_server_of_the_seed_004_service() {
    let mut d = start(SEED004);
    assert_eq!(
        ops(&drain(&mut d)),
        [
            "-A -t 172.16.88.100:80 -s rr -p 50",
            "-a -t 172.16.88.100:80 -r 172.16.88.10:80 -g -w 1",
            "-a -t 172.16.88.100:80 -r 172.16.88.20:80 -g -w 1",
        ]
    );
}

#[test]
fn a_failed_real_server_leaves_after_its_retries_and_comes_back() {
    let mut d = seed004();
    // web1 refuses from the start: first failure is a verdict of its own
    // only before the first success; here it succeeds first.
    let up = run_until(&mut d, at(7.5), |_| ProbeResult::Ok);
    assert!(ops(&up).is_empty(), "{up:?}");
    let down = run_until(&mut d, at(30.0), |dst| {
        if dst.port() == 80 && dst.ip().to_string() == "172.16.88.10" {
            ProbeResult::Failed("refused".into())
        } else {
            ProbeResult::Ok
        }
    });
    assert_eq!(ops(&down), ["-d -t 172.16.88.100:80 -r 172.16.88.10:80"]);
    assert_eq!(scripts(&down), ["/usr/local/bin/rs-down"]);
    let back = run_until(&mut d, at(60.0), |_| ProbeResult::Ok);
    assert_eq!(
        ops(&back),
        ["-a -t 172.16.88.100:80 -r 172.16.88.10:80 -g -w 1"]
    );
}

#[test]
fn both_real_servers_down_hand_the_service_to_the_sorry_server() {
    let mut d = seed004();
    run_until(&mut d, at(7.5), |_| ProbeResult::Ok);
    let down = run_until(&mut d, at(40.0), |_| ProbeResult::Failed("refused".into()));
    let o = ops(&down);
    assert_eq!(o.len(), 3, "{o:?}");
    assert!(
        o.contains(&"-a -t 172.16.88.100:80 -r 127.0.0.1:80 -g -w 1".to_string()),
        "{o:?}"
    );
    assert!(down.contains(&DirectorAction::Quorum {
        service: d.services().next().unwrap().keys()[0],
        up: false
    }));
    let back = run_until(&mut d, at(70.0), |_| ProbeResult::Ok);
    let o = ops(&back);
    assert!(
        o.contains(&"-d -t 172.16.88.100:80 -r 127.0.0.1:80".to_string()),
        "{o:?}"
    );
}

#[test]
fn one_check_of_one_real_server_shared_by_two_virtual_servers_runs_once() {
    let text = r#"
virtual_server 10.0.0.100 80 {
    delay_loop 2
    protocol TCP
    lb_algo wrr
    real_server 10.0.0.10 80 { TCP_CHECK { connect_timeout 1 } }
}
virtual_server 10.0.0.101 80 {
    delay_loop 2
    protocol TCP
    lb_algo rr
    real_server 10.0.0.10 80 { TCP_CHECK { connect_timeout 1 } }
}
"#;
    let mut d = start(text);
    assert_eq!(d.check_count(), 1);
    drain(&mut d);
    let seen = run_until(&mut d, at(3.5), |_| ProbeResult::Failed("refused".into()));
    assert_eq!(probes(&seen).len(), 1);
    // One verdict leaves both services.
    assert_eq!(
        ops(&seen),
        [
            "-d -t 10.0.0.100:80 -r 10.0.0.10:80",
            "-d -t 10.0.0.101:80 -r 10.0.0.10:80"
        ]
    );
}

#[test]
fn a_real_server_with_two_checks_is_down_while_either_fails() {
    let text = r#"
virtual_server 10.0.0.100 80 {
    delay_loop 2
    protocol TCP
    real_server 10.0.0.10 80 {
        TCP_CHECK { connect_timeout 1 }
        TCP_CHECK {
            connect_timeout 1
            connect_port 8080
        }
    }
}
"#;
    let mut d = start(text);
    drain(&mut d);
    let seen = run_until(&mut d, at(3.5), |dst| {
        if dst.port() == 8080 {
            ProbeResult::Failed("refused".into())
        } else {
            ProbeResult::Ok
        }
    });
    assert_eq!(ops(&seen), ["-d -t 10.0.0.100:80 -r 10.0.0.10:80"]);
    let seen = run_until(&mut d, at(10.0), |dst| {
        if dst.port() == 8080 {
            ProbeResult::Ok
        } else {
            ProbeResult::Failed("refused".into())
        }
    });
    // 8080 recovers at once, 80 fails after its retry: the server is
    // back in between, and out again while 80 fails.
    assert_eq!(
        ops(&seen),
        [
            "-a -t 10.0.0.100:80 -r 10.0.0.10:80 -m -w 1",
            "-d -t 10.0.0.100:80 -r 10.0.0.10:80"
        ]
    );
    assert!(d.table().services[0].dests.is_empty());
}

#[test]
fn alpha_starts_a_real_server_out_until_its_check_passes() {
    let text = r#"
virtual_server 10.0.0.100 80 {
    delay_loop 2
    protocol TCP
    alpha
    real_server 10.0.0.10 80 { TCP_CHECK { connect_timeout 1 } }
}
"#;
    let mut d = start(text);
    assert_eq!(ops(&drain(&mut d)), ["-A -t 10.0.0.100:80 -s wlc"]);
    let seen = run_until(&mut d, at(3.5), |_| ProbeResult::Ok);
    assert_eq!(ops(&seen), ["-a -t 10.0.0.100:80 -r 10.0.0.10:80 -m -w 1"]);
}

#[test]
fn misc_dynamic_exit_code_sets_the_weight() {
    let text = r#"
virtual_server 10.0.0.100 80 {
    delay_loop 2
    protocol TCP
    lb_algo wrr
    real_server 10.0.0.10 80 {
        weight 3
        MISC_CHECK {
            misc_path "/bin/load"
            misc_dynamic
        }
    }
}
"#;
    let mut d = start(text);
    drain(&mut d);
    let t = d.poll_timeout().unwrap();
    d.handle_timeout(t);
    let a = drain(&mut d);
    let DirectorAction::StartProbe { check, .. } = &a[0] else {
        panic!("{a:?}")
    };
    d.handle_result(t, *check, ProbeResult::Exited(12));
    assert_eq!(
        ops(&drain(&mut d)),
        ["-e -t 10.0.0.100:80 -r 10.0.0.10:80 -m -w 10"]
    );
}

#[test]
fn file_check_weighs_and_fails_the_real_server() {
    let text = r#"
track_file maint {
    file /run/maint
    weight 0
}
track_file extra {
    file /run/extra
    weight 2
}
virtual_server 10.0.0.100 80 {
    lb_algo wrr
    protocol TCP
    real_server 10.0.0.10 80 {
        weight 5
        FILE_CHECK { track_file maint }
        FILE_CHECK { track_file extra }
    }
}
"#;
    let mut d = start(text);
    drain(&mut d);
    d.handle_file("extra", 3);
    assert_eq!(
        ops(&drain(&mut d)),
        ["-e -t 10.0.0.100:80 -r 10.0.0.10:80 -m -w 11"]
    );
    // weight 0: any non-zero value fails the server.
    d.handle_file("maint", 1);
    assert_eq!(ops(&drain(&mut d)), ["-d -t 10.0.0.100:80 -r 10.0.0.10:80"]);
    d.handle_file("maint", 0);
    assert_eq!(
        ops(&drain(&mut d)),
        ["-a -t 10.0.0.100:80 -r 10.0.0.10:80 -m -w 11"]
    );
}

#[test]
fn smtp_host_blocks_become_one_check_each() {
    let text = r#"
virtual_server 10.0.0.100 25 {
    delay_loop 2
    protocol TCP
    real_server 10.0.0.10 25 {
        SMTP_CHECK {
            host {
                connect_ip 10.0.0.11
                connect_port 25
            }
            host {
                connect_ip 10.0.0.12
                connect_port 2525
            }
        }
    }
}
"#;
    let mut d = start(text);
    drain(&mut d);
    assert_eq!(d.check_count(), 2);
    let seen = run_until(&mut d, at(3.5), |dst| {
        if dst.port() == 2525 {
            ProbeResult::Failed("no banner".into())
        } else {
            ProbeResult::Ok
        }
    });
    let mut dsts: Vec<String> = probes(&seen).iter().map(|(_, d)| d.to_string()).collect();
    dsts.sort();
    dsts.dedup();
    assert_eq!(dsts, ["10.0.0.11:25", "10.0.0.12:2525"]);
    assert_eq!(ops(&seen), ["-d -t 10.0.0.100:25 -r 10.0.0.10:25"]);
}

#[test]
fn ha_suspend_pauses_checks_until_the_address_is_local() {
    let text = r#"
virtual_server 10.0.0.100 80 {
    delay_loop 2
    protocol TCP
    ha_suspend
    real_server 10.0.0.10 80 { TCP_CHECK { connect_timeout 1 } }
}
"#;
    let mut d = start(text);
    drain(&mut d);
    assert!(probes(&run_until(&mut d, at(5.0), |_| ProbeResult::Ok)).is_empty());
    d.handle_address("10.0.0.100".parse().unwrap(), true);
    assert!(!probes(&run_until(&mut d, at(8.0), |_| ProbeResult::Ok)).is_empty());
}

#[test]
fn reload_keeps_unchanged_checks_and_health_and_changes_only_what_moved() {
    let mut d = seed004();
    run_until(&mut d, at(7.5), |_| ProbeResult::Ok);
    run_until(&mut d, at(30.0), |dst| {
        if dst.ip().to_string() == "172.16.88.10" {
            ProbeResult::Failed("refused".into())
        } else {
            ProbeResult::Ok
        }
    });
    let ids: Vec<CheckId> = d.checks.keys().copied().collect();
    // web2's weight changes; web1 stays down (its check keeps its state).
    let next = SEED004.replace(
        "real_server 172.16.88.20 80 {\n        weight 1",
        "real_server 172.16.88.20 80 {\n        weight 4",
    );
    d.reload(at(30.0), &config(&next)).unwrap();
    assert_eq!(d.checks.keys().copied().collect::<Vec<_>>(), ids);
    assert_eq!(
        ops(&drain(&mut d)),
        ["-e -t 172.16.88.100:80 -r 172.16.88.20:80 -g -w 4"]
    );
    // A service removed from the config leaves the table.
    d.reload(at(31.0), &config("")).unwrap();
    assert_eq!(ops(&drain(&mut d)), ["-D -t 172.16.88.100:80"]);
}

/// The table a director started on `text` leaves in an empty kernel.
fn programmed(text: &str) -> IpvsState {
    let mut kernel = IpvsState::default();
    let mut d = start(text);
    for a in drain(&mut d) {
        if let DirectorAction::Ipvs(op) = a {
            kernel.apply(&op).unwrap();
        }
    }
    kernel
}

#[test]
fn services_the_config_does_not_name_are_left_alone() {
    let kernel = programmed("virtual_server 10.9.9.9 80 { real_server 10.0.0.1 80 { } }");
    let mut d = Director::new(Instant::ZERO, &config(SEED004), &kernel, &[], 1).unwrap();
    assert!(!ops(&drain(&mut d)).iter().any(|o| o.contains("10.9.9.9")));
}

#[test]
fn a_configured_service_in_the_kernel_is_adopted_and_corrected() {
    let text = "virtual_server 10.0.0.100 80 { protocol TCP\n real_server 10.0.0.10 80 { } }";
    // What an earlier run left: the service, with a real server since
    // removed from the config.
    let kernel = programmed(&text.replace("10.0.0.10 80", "10.0.0.99 80"));
    let mut d = Director::new(Instant::ZERO, &config(text), &kernel, &[], 1).unwrap();
    assert_eq!(
        ops(&drain(&mut d)),
        [
            "-d -t 10.0.0.100:80 -r 10.0.0.99:80",
            "-a -t 10.0.0.100:80 -r 10.0.0.10:80 -m -w 1"
        ]
    );
}

const TWO_SERVICES: &str = "
virtual_server 10.0.0.100 80 { protocol TCP\n real_server 10.0.0.10 80 { } }
virtual_server 10.0.0.101 80 { protocol TCP\n real_server 10.0.0.10 80 { } }
";

#[test]
fn a_service_deleted_behind_the_directors_back_is_restored_from_the_kernels_table() {
    let mut kernel = programmed(TWO_SERVICES);
    let mut d = Director::new(Instant::ZERO, &config(TWO_SERVICES), &kernel, &[], 1).unwrap();
    assert!(ops(&drain(&mut d)).is_empty());
    // `ipvsadm -D` by someone else; a foreign service appears too.
    kernel.services.remove(0);
    let foreign = programmed("virtual_server 10.9.9.9 80 { real_server 10.0.0.1 80 { } }");
    kernel.services.extend(foreign.services);
    d.handle_table(&kernel);
    assert_eq!(
        ops(&drain(&mut d)),
        [
            "-A -t 10.0.0.100:80 -s wlc",
            "-a -t 10.0.0.100:80 -r 10.0.0.10:80 -m -w 1"
        ]
    );
    let keys = |t: &IpvsState| {
        let mut k: Vec<String> = t.services.iter().map(|s| s.spec.key.to_string()).collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(d.table()),
        ["-t 10.0.0.100:80", "-t 10.0.0.101:80"],
        "the foreign one is not ours"
    );
}

#[test]
fn a_refused_service_is_not_asked_for_again_until_it_changes_or_a_reload() {
    let text = "
virtual_server 10.0.0.100 80 { protocol TCP\n real_server 10.0.0.10 80 { } }
virtual_server 10.0.0.101 80 {
    protocol TCP
    delay_loop 1
    real_server 10.0.0.11 80 { TCP_CHECK { retry 0 } }
}
";
    let mut d = start(text);
    let first = ops(&drain(&mut d));
    assert_eq!(first.len(), 4);
    // The kernel refused .100's add (a scheduler it lacks) and took .101.
    let mut kernel = IpvsState::default();
    for op in reconcile(&IpvsState::default(), &programmed(text)) {
        if op.service().to_string() != "-t 10.0.0.100:80" {
            kernel.apply(&op).unwrap();
        }
    }
    d.handle_table(&kernel);
    assert_eq!(
        ops(&drain(&mut d)),
        Vec::<String>::new(),
        "not asked again at once"
    );
    assert_eq!(d.table(), &kernel, "the view is the kernel's");
    // .101's real server fails its check: only .101 changes.
    let a = run_until(&mut d, at(5.0), |_| ProbeResult::Failed("refused".into()));
    assert_eq!(ops(&a), ["-d -t 10.0.0.101:80 -r 10.0.0.11:80"]);
    // A reload asks for .100 again.
    d.reload(at(6.0), &config(text)).unwrap();
    assert_eq!(
        ops(&drain(&mut d)),
        [
            "-A -t 10.0.0.100:80 -s wlc",
            "-a -t 10.0.0.100:80 -r 10.0.0.10:80 -m -w 1"
        ]
    );
}

#[test]
fn omega_runs_the_down_scripts_on_shutdown() {
    let text = r#"
virtual_server 10.0.0.100 80 {
    omega
    protocol TCP
    quorum_down /bin/qdown
    real_server 10.0.0.10 80 { notify_down /bin/rsdown }
}
"#;
    let mut d = start(text);
    drain(&mut d);
    d.shutdown();
    let a = drain(&mut d);
    assert_eq!(scripts(&a), ["/bin/rsdown", "/bin/qdown"]);
    assert_eq!(ops(&a), ["-D -t 10.0.0.100:80"]);
}

#[test]
fn udp_check_payload_words_are_one_hex_string() {
    let text = r#"
virtual_server 10.0.0.100 53 {
    protocol UDP
    real_server 10.0.0.10 53 {
        UDP_CHECK {
            payload 01 02 0a
            require_reply 01 x2
        }
    }
}
"#;
    let mut d = start(text);
    drain(&mut d);
    let t = d.poll_timeout().unwrap();
    d.handle_timeout(t);
    let probe = drain(&mut d).into_iter().find_map(|a| match a {
        DirectorAction::StartProbe { probe, .. } => Some(*probe),
        _ => None,
    });
    let Some(ProbeSpec::Udp {
        payload,
        require_reply,
        ..
    }) = probe
    else {
        panic!("{probe:?}")
    };
    assert_eq!(payload.as_deref(), Some("01 02 0a"));
    assert_eq!(require_reply.as_deref(), Some("01 x2"));
}

#[test]
fn http_get_falls_back_to_the_real_and_virtual_servers_virtualhost() {
    let text = r#"
virtual_server 10.0.0.100 80 {
    protocol TCP
    virtualhost vs.example
    real_server 10.0.0.10 80 {
        virtualhost rs.example
        HTTP_GET {
            url {
                path /a
            }
            url {
                path /b
                virtualhost url.example
            }
        }
    }
    real_server 10.0.0.11 80 {
        HTTP_GET {
            url {
                path /c
            }
        }
    }
}
"#;
    let mut d = start(text);
    drain(&mut d);
    let mut hosts = Vec::new();
    while hosts.len() < 4 {
        let t = d.poll_timeout().unwrap();
        d.handle_timeout(t);
        for a in drain(&mut d) {
            if let DirectorAction::StartProbe { check, probe } = a {
                if let ProbeSpec::Http { url, .. } = *probe {
                    hosts.push(format!(
                        "{} {}",
                        url.path,
                        url.virtualhost.unwrap_or_default()
                    ));
                }
                d.handle_result(t, check, ProbeResult::Ok);
            }
        }
    }
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts, ["/a rs.example", "/b url.example", "/c vs.example"]);
}

//! VRRP side of the config: keepalived 2.2.7's defaults, and one test per
//! validation, each with the exact position and message.

use std::time::Duration;
use vigil_core::config::model::vrrp::{AuthType, Family, VrrpState};
use vigil_core::config::{DiagKind, MemoryLoader, Options, Severity, parse_str, parse_with};

/// Appended where scripts are configured, to keep keepalived's script
/// security warning out of the way.
const SEC: &str = "global_defs {\n enable_script_security\n}\n";

fn inst(body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n  10.0.0.1/24\n }}\n{body}}}\n"
    )
}

/// The only diagnostic of `text`: (severity, kind, line, col, message).
/// The messages of a parse's errors, in order.
fn errors(p: &vigil_core::config::Parsed) -> Vec<&str> {
    p.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect()
}

fn one(text: &str) -> (Severity, DiagKind, u32, u32, String) {
    let p = parse_str(text);
    assert_eq!(p.diagnostics.len(), 1, "{:#?}", p.diagnostics);
    let d = &p.diagnostics[0];
    (d.severity, d.kind, d.line, d.col, d.message.clone())
}

#[test]
fn defaults_follow_keepalived() {
    let p = parse_str(&inst(""));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let i = &p.model.instances[0];
    assert_eq!(i.state, VrrpState::Backup);
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_int_cs, 100);
    assert_eq!(i.advert_int(), Duration::from_secs(1));
    assert_eq!(i.version, 2);
    assert_eq!(i.family, Family::Inet);
    assert!(!i.nopreempt);
    assert!(i.accept);
    assert_eq!(i.garp_master_delay, Duration::from_secs(5));
    assert_eq!(i.garp_master_repeat, 5);
    assert_eq!(i.garp_master_refresh_repeat, 1);
    assert_eq!(i.down_timer_adverts, 3);
    assert!(!i.smtp_alert);
    let g = &p.model.global;
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(30));
    assert_eq!(g.vrrp_mcast_group4.to_string(), "224.0.0.18");
    assert_eq!(g.vrrp_mcast_group6.to_string(), "ff02::12");
}

#[test]
fn master_without_priority_is_the_owner() {
    let p = parse_str(&inst(" state MASTER\n"));
    assert_eq!(p.model.instances[0].priority, 255);
    let p = parse_str(&inst(" state MASTER\n priority 150\n"));
    assert_eq!(p.model.instances[0].priority, 150);
    assert_eq!(p.model.instances[0].state, VrrpState::Master);
    let p = parse_str(&inst(" priority 255\n"));
    assert_eq!(p.model.instances[0].state, VrrpState::Master);
}

#[test]
fn version_and_family_are_derived() {
    let p = parse_str("global_defs {\n vrrp_version 3\n}\n");
    assert_eq!(p.model.global.vrrp_version, 3);
    let p = parse_str(&format!(
        "global_defs {{\n vrrp_version 3\n}}\n{}",
        inst(" advert_int 0.25\n")
    ));
    let i = &p.model.instances[0];
    assert_eq!((i.version, i.advert_int_cs), (3, 25));
    let p = parse_str(
        "vrrp_instance V6 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  fe80::1/64\n  2001:db8::1/64\n }\n}\n",
    );
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let i = &p.model.instances[0];
    assert_eq!((i.family, i.version), (Family::Inet6, 3));
}

#[test]
fn vrid_out_of_range() {
    let p = parse_str(&inst(" virtual_router_id 300\n").replace(" virtual_router_id 51\n", ""));
    // The VRID is then missing altogether (reported at the instance name).
    assert_eq!(
        p.diagnostics[0].message,
        "(VI_1) the virtual router id must be set"
    );
    let d = &p.diagnostics[1];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Error, DiagKind::InvalidNumber, 6, 20)
    );
    assert_eq!(
        d.message,
        "virtual_router_id: number '300' outside range [1, 255]"
    );
    assert_eq!(d.text, "300");
    assert_eq!(
        d.hint.as_deref(),
        Some("(VI_1): VRID must be between 1 & 255")
    );
}

#[test]
fn priority_out_of_range_uses_the_default() {
    assert_eq!(
        one(&inst(" priority 0\n")),
        (
            Severity::Error,
            DiagKind::InvalidNumber,
            7,
            11,
            "priority: number '0' outside range [1, 255]".into()
        )
    );
    assert_eq!(
        parse_str(&inst(" priority 0\n")).model.instances[0].priority,
        100
    );
}

#[test]
fn advert_int_per_version() {
    // v2 rounds to whole seconds.
    let text = inst(" advert_int 1.5\n");
    assert_eq!(
        one(&text),
        (
            Severity::Warning,
            DiagKind::Adjusted,
            7,
            13,
            "(VI_1) VRRPv2 advertisement interval 1.500000s must be an integer. rounding".into()
        )
    );
    assert_eq!(parse_str(&text).model.instances[0].advert_int_cs, 200);
    // v3 caps at 40.95 s.
    let text = inst(" version 3\n advert_int 50\n");
    assert_eq!(
        one(&text),
        (
            Severity::Error,
            DiagKind::InvalidNumber,
            8,
            13,
            "(VI_1) VRRPv3 advertisement interval 50.00s is out of range. Must be less than 40.96s. Setting to 40.95s".into()
        )
    );
    assert_eq!(parse_str(&text).model.instances[0].advert_int_cs, 4095);
    // Anything over 255 s, or under 10 ms, is not read at all.
    assert_eq!(
        one(&inst(" advert_int 300\n")),
        (
            Severity::Error,
            DiagKind::InvalidNumber,
            7,
            13,
            "(VI_1) Advert interval (300) not valid! Must be > 0 - ignoring".into()
        )
    );
}

#[test]
fn duplicate_vrid_on_the_same_interface() {
    let two = format!(
        "{}vrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n  10.0.0.2\n }}\n}}\n",
        inst("")
    );
    assert_eq!(
        one(&two),
        (
            Severity::Error,
            DiagKind::DuplicateVrid,
            8,
            15,
            "VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0".into()
        )
    );
    // Another interface, or another family, is fine.
    assert!(
        parse_str(
            &two.replacen("interface eth0", "interface eth1", 2)
                .replacen("interface eth1", "interface eth0", 1)
        )
        .diagnostics
        .is_empty()
    );
}

#[test]
fn track_script_must_be_defined_before_use() {
    let script = "vrrp_script chk {\n script /bin/true\n}\n";
    let p = parse_str(&format!(
        "{script}{}{SEC}",
        inst(" track_script {\n  chk\n }\n")
    ));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.model.instances[0].track_script[0].name, "chk");

    let p = parse_str(&format!(
        "{}{script}{SEC}",
        inst(" track_script {\n  chk\n }\n")
    ));
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Error, DiagKind::UndefinedReference, 8, 3)
    );
    assert_eq!(d.message, "(VI_1) track script chk not found, ignoring...");
    assert_eq!(
        d.hint.as_deref(),
        Some(
            "vrrp_script chk is defined further down (line 11); keepalived only finds it if it comes before this use"
        )
    );
    assert!(p.model.instances[0].track_script.is_empty());

    let p = parse_str(&format!(
        "{script}{}{SEC}",
        inst(" track_script {\n  chx\n }\n")
    ));
    assert_eq!(
        p.diagnostics[0].hint.as_deref(),
        Some("did you mean 'chk'?")
    );
}

#[test]
fn track_lists_are_one_per_line() {
    let p = parse_str(&inst(" track_interface { eth1 eth2 }\n"));
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Warning, DiagKind::ExtraWords, 7, 25)
    );
    assert_eq!(
        d.message,
        "(VI_1) unknown track_interface eth1 option eth2 - ignoring"
    );
    assert!(p.model.instances[0].track_interface.is_empty());
}

#[test]
fn auth_pass_longer_than_8_is_cut() {
    let text = inst(" authentication {\n  auth_type PASS\n  auth_pass 123456789\n }\n");
    assert_eq!(
        one(&text),
        (
            Severity::Warning,
            DiagKind::Adjusted,
            9,
            13,
            "Truncating auth_pass to 8 characters".into()
        )
    );
    let a = parse_str(&text).model.instances[0]
        .authentication
        .clone()
        .unwrap();
    assert_eq!(
        (a.auth_type, a.auth_pass.as_str()),
        (AuthType::Pass, "12345678")
    );
}

#[test]
fn authentication_is_ignored_for_v3() {
    let p = parse_str(&inst(
        " version 3\n authentication {\n  auth_type AH\n  auth_pass x\n }\n",
    ));
    assert_eq!(
        p.diagnostics[0].message,
        "(VI_1) VRRP version 3 does not support authentication. Ignoring."
    );
    assert!(p.model.instances[0].authentication.is_none());
}

#[test]
fn unknown_auth_type() {
    let p = parse_str(&inst(
        " authentication {\n  auth_type PLAIN\n  auth_pass x\n }\n",
    ));
    let d = &p.diagnostics[0];
    assert_eq!((d.line, d.col), (8, 13));
    assert_eq!(d.message, "(VI_1) unknown authentication type 'PLAIN'");
    assert_eq!(d.hint.as_deref(), Some("allowed: PASS, AH"));
}

#[test]
fn nopreempt_with_state_master() {
    let text = inst(" state MASTER\n priority 100\n nopreempt\n");
    assert_eq!(
        one(&text),
        (
            Severity::Warning,
            DiagKind::Conflict,
            9,
            2,
            "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing".into()
        )
    );
    assert!(!parse_str(&text).model.instances[0].nopreempt);
    assert!(parse_str(&inst(" nopreempt\n")).model.instances[0].nopreempt);
}

#[test]
fn unknown_interface_when_the_host_list_is_given() {
    let l = MemoryLoader::new().with("k.conf", inst(""));
    let opts = Options {
        interfaces: Some(vec!["lo".into(), "eth1".into()]),
        ..Options::default()
    };
    let p = parse_with("k.conf", &l, &opts);
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Warning, DiagKind::UnknownInterface, 2, 12)
    );
    assert_eq!(
        d.message,
        "WARNING - interface eth0 for vrrp_instance VI_1 doesn't exist"
    );
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean 'eth1'? interfaces here: lo, eth1")
    );
}

#[test]
fn shell_syntax_in_a_script() {
    let text =
        "vrrp_script chk {\n script \"[ -e /etc/keepalived/down ] && exit 1 || exit 0\"\n}\n";
    let p = parse_str(&format!("{text}{SEC}"));
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Warning, DiagKind::Script, 2, 9)
    );
    assert_eq!(
        d.message,
        "keepalived 2.x runs scripts without a shell: '&&' is passed to '[' as an argument"
    );
    assert_eq!(
        d.hint.as_deref(),
        Some(
            "run it through a shell: \"/bin/sh -c '[ -e /etc/keepalived/down ] && exit 1 || exit 0'\""
        )
    );
    let s = p.model.script("chk").unwrap().script.clone().unwrap();
    assert_eq!(s.args[0], "[");
    let ok = parse_str(&format!(
        "vrrp_script chk {{\n script \"/bin/sh -c '[ -e /x ] && exit 1 || exit 0'\"\n}}\n{SEC}"
    ));
    assert!(ok.diagnostics.is_empty(), "{:?}", ok.diagnostics);
    assert_eq!(
        ok.model.vrrp_scripts[0].script.as_ref().unwrap().args.len(),
        3
    );
}

#[test]
fn missing_interface_and_vrid() {
    let p = parse_str("vrrp_instance X {\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n");
    let m: Vec<(u32, u32, &str)> = p
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.message.as_str()))
        .collect();
    assert_eq!(
        m,
        vec![
            (1, 15, "(X) the virtual router id must be set"),
            (1, 15, "(X) Unknown interface!"),
        ]
    );
}

#[test]
fn vip_family_must_match() {
    let p = parse_str(&inst(" virtual_ipaddress {\n  fe80::1\n }\n"));
    let d = &p.diagnostics[0];
    assert_eq!((d.line, d.col), (8, 3));
    assert_eq!(
        d.message,
        "(VI_1): address family must match VRRP instance [fe80::1] - ignoring"
    );
}

#[test]
fn invalid_address_and_prefix() {
    let p = parse_str(&inst(
        " virtual_ipaddress {\n  10.0.0.300\n  10.0.0.3/40\n  <IPADDR>\n }\n",
    ));
    let m: Vec<(u32, u32, &str)> = p
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.message.as_str()))
        .collect();
    assert_eq!(
        m,
        vec![
            (8, 3, "VRRP parsed invalid IP 10.0.0.300. skipping IP..."),
            (
                9,
                3,
                "Invalid address prefix len 40 for address 10.0.0.3/40 - using 32"
            ),
            (10, 3, "VRRP parsed invalid IP <IPADDR>. skipping IP..."),
        ]
    );
    assert_eq!(
        p.diagnostics[2].hint.as_deref(),
        Some("this looks like a template placeholder: put a real address here")
    );
}

#[test]
fn vip_options() {
    let p = parse_str(&inst(
        " virtual_ipaddress_excluded {\n  192.168.1.1/24 brd + dev eth1 scope link label eth1:1 no_track\n }\n",
    ));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let a = &p.model.instances[0].virtual_ipaddress_excluded[0];
    assert_eq!(
        a.broadcast.map(|b| b.to_string()).as_deref(),
        Some("192.168.1.255")
    );
    assert_eq!(
        (
            a.dev.as_deref(),
            a.scope.as_deref(),
            a.label.as_deref(),
            a.no_track
        ),
        (Some("eth1"), Some("link"), Some("eth1:1"), true)
    );
}

#[test]
fn sync_group_members_must_exist() {
    let p = parse_str(&format!(
        "{}vrrp_sync_group G {{\n group {{\n  VI_1\n  VI_9\n }}\n}}\n",
        inst("")
    ));
    let m: Vec<&str> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        m,
        vec![
            "Virtual router VI_9 specified in sync group G doesn't exist - ignoring",
            "Sync group G has only 1 virtual router(s) - this probably isn't what you want",
        ]
    );
}

#[test]
fn unicast_peers_one_per_line() {
    let p = parse_str(&inst(
        " unicast_src_ip 10.0.0.5\n unicast_peer {\n  10.0.0.6 10.0.0.7\n }\n",
    ));
    let d = &p.diagnostics[0];
    assert_eq!((d.line, d.col), (9, 12));
    assert_eq!(d.message, "(VI_1) 10.0.0.7 is missing a value");
    assert_eq!(p.model.instances[0].unicast_peer.len(), 1);
}

#[test]
fn global_defs_typos_and_values() {
    let p = parse_str(
        "global_defs {\n notification_email {\n  admin@example.com\n }\n smtp_server 127.0.0.1\n stmp_connect_timeout 30\n router_id LVS_DEVEL\n vrrp_garp_master_repeat 0\n}\n",
    );
    let m: Vec<(u32, u32, &str, Option<&str>)> = p
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.message.as_str(), d.hint.as_deref()))
        .collect();
    assert_eq!(
        m,
        vec![
            (
                6,
                2,
                "Unknown keyword 'stmp_connect_timeout'",
                Some("did you mean 'smtp_connect_timeout'?")
            ),
            (
                8,
                2,
                "vrrp_garp_master_repeat must be greater than 0, setting to 1",
                None
            ),
        ]
    );
    let g = &p.model.global;
    assert_eq!(g.router_id.as_deref(), Some("LVS_DEVEL"));
    assert_eq!(g.smtp_server.as_ref().map(|s| s.port), Some(25));
    assert_eq!(g.vrrp_garp_master_repeat, 1);
}

#[test]
fn process_scheduling_for_vrrp_and_checkers() {
    let p = parse_str(
        "global_defs {\n vrrp_priority -10\n vrrp_rt_priority 50\n vrrp_rlimit_rtime 1\n vrrp_cpu_affinity 0 1\n vrrp_no_swap\n checker_rt_priority 120\n checker_priority 20\n checker_cpu_affinity 0 x\n}\n",
    );
    let m: Vec<(u32, &str)> = p
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    assert_eq!(
        m,
        vec![
            (
                4,
                "Keyword 'vrrp_rlimit_rtime' is deprecated - please use 'vrrp_rlimit_rttime'"
            ),
            (
                7,
                "checker process real-time priority 120 greater than maximum 99 - setting to maximum"
            ),
            (8, "checker_priority: number '20' outside range [-20, 19]"),
            (9, "checker_cpu_affinity: invalid number 'x'"),
        ]
    );
    let g = &p.model.global;
    let vrrp = &g.vrrp_process;
    assert_eq!(
        (
            vrrp.nice,
            vrrp.rt_priority,
            vrrp.rlimit_rttime,
            &vrrp.cpu_affinity[..],
            vrrp.no_swap
        ),
        (Some(-10), Some(50), Some(2), &[0, 1][..], true)
    );
    let checker = &g.checker_process;
    assert_eq!(
        (
            checker.nice,
            checker.rt_priority,
            &checker.cpu_affinity[..],
            checker.no_swap
        ),
        (None, Some(99), &[][..], false)
    );
    // Printed and read again, the same.
    let again = parse_str(&vigil_core::config::print::print(&p.model));
    assert_eq!(
        (
            &again.model.global.vrrp_process,
            &again.model.global.checker_process
        ),
        (vrrp, checker)
    );
}

#[test]
fn vmac_prefix_once() {
    let p = parse_str("global_defs {\n vmac_prefix vm\n vmac_prefix other\n}\n");
    assert_eq!(
        one_of(&p),
        "vmac prefix has already been specified - ignoring other"
    );
    assert_eq!(p.model.global.vmac_prefix.as_deref(), Some("vm"));
    let again = parse_str(&vigil_core::config::print::print(&p.model));
    assert_eq!(again.model.global.vmac_prefix.as_deref(), Some("vm"));
}

#[test]
fn too_many_vips_move_to_excluded() {
    let vips: String = (0..300)
        .map(|i| format!("  10.1.{}.{}\n", i / 200, i % 200 + 1))
        .collect();
    let p = parse_str(&format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n{vips} }}\n}}\n"
    ));
    assert_eq!(
        one_of(&p),
        "(VI_1) Number of VIPs (300) exceeds maximum/space available in packet (max 255 addresses) - excess moved to eVIPs"
    );
    let i = &p.model.instances[0];
    assert_eq!(
        (
            i.virtual_ipaddress.len(),
            i.virtual_ipaddress_excluded.len()
        ),
        (255, 45)
    );
}

fn one_of(p: &vigil_core::config::Parsed) -> String {
    assert_eq!(p.diagnostics.len(), 1, "{:#?}", p.diagnostics);
    p.diagnostics[0].message.clone()
}

#[test]
fn or_routes_become_nexthops() {
    let p = parse_str(&inst(
        " virtual_routes {\n  10.9.0.0/24 via 10.0.0.252 or 10.0.0.253 dev eth0\n }\n",
    ));
    let d: Vec<_> = p
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.line, d.col, d.message.as_str()))
        .collect();
    assert_eq!(
        d,
        vec![(
            Severity::Note,
            8,
            30,
            "\"or\" for routes is deprecated. Please use \"nexthop\""
        )]
    );
    let r = &p.model.instances[0].virtual_routes[0];
    assert_eq!(r.via, None);
    let vias: Vec<_> = r
        .nexthop
        .iter()
        .map(|h| h.via.map(|a| a.to_string()))
        .collect();
    assert_eq!(
        vias,
        vec![Some("10.0.0.252".into()), Some("10.0.0.253".into())]
    );
}

#[test]
fn nexthops_are_read_hop_by_hop() {
    let p = parse_str(&inst(
        " virtual_routes {\n  192.168.50.0/24 no_track nexthop via 10.0.0.2 dev eth0 weight 1 nexthop via inet 10.0.0.3 dev eth1 weight 256 onlink\n }\n",
    ));
    let r = &p.model.instances[0].virtual_routes[0];
    assert_eq!(r.nexthop.len(), 2, "{:#?}", p.diagnostics);
    let h = &r.nexthop[1];
    assert_eq!(h.via, Some("10.0.0.3".parse().unwrap()));
    assert_eq!(
        (h.dev.as_deref(), h.weight, h.onlink),
        (Some("eth1"), Some(256), true)
    );
    assert_eq!(r.nexthop[0].weight, Some(1));
}

#[test]
fn a_bad_nexthop_is_an_error_and_drops_the_route() {
    let cases = [
        (
            "nexthop via 10.0.0.2 weight 0",
            "Invalid weight 0 specified for route",
        ),
        (
            "nexthop via 10.0.0.2 weight 257",
            "Invalid weight 257 specified for route",
        ),
        ("nexthop via 10.0.0.x", "invalid nexthop address 10.0.0.x"),
        (
            "nexthop via fd00::2",
            "Address family mismatch for next hop of route 10.9.0.0/24",
        ),
        (
            "nexthop via 10.0.0.2 mtu 1400",
            "Route has trailing nonsense after nexthops - mtu",
        ),
        ("nexthop weight 2", "nexthop needs a via address or a dev"),
        (
            "nexthop via 10.0.0.2 realms 3",
            "nexthop realms is not supported by vigil",
        ),
        ("nexthop via", "No value specified for nexthop option via"),
    ];
    for (hops, message) in cases {
        let p = parse_str(&inst(&format!(
            " virtual_routes {{\n  10.9.0.0/24 {hops}\n }}\n"
        )));
        assert_eq!(errors(&p), vec![message], "{hops}");
        assert!(p.model.instances[0].virtual_routes.is_empty(), "{hops}");
    }
}

#[test]
fn a_default_route_takes_the_family_of_its_nexthops() {
    let p = parse_str(&inst(
        " virtual_routes {\n  default nexthop via fd00::2 dev eth0 nexthop via fd00::3 dev eth0\n }\n",
    ));
    let r = &p.model.instances[0].virtual_routes[0];
    assert!(r.dest.addr.is_ipv6(), "{:#?}", p.diagnostics);
}

#[test]
fn rules_without_preference_count_down_from_16384() {
    let p = parse_str(&inst(
        " virtual_rules {\n  from 10.1.0.0/24 table 1\n  from fd00::/64 table 2\n  to 10.2.0.0/24 table 3\n  to 10.3.0.0/24 table 4 priority 7\n }\n",
    ));
    let prio: Vec<_> = p.model.instances[0]
        .virtual_rules
        .iter()
        .map(|r| r.priority)
        .collect();
    assert_eq!(prio, vec![Some(16384), Some(16384), Some(16383), Some(7)]);
    let w: Vec<_> = p.warnings().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        w[0],
        (
            8,
            "Rule has no preference specified - setting to 16384. This is probably not what you want."
        )
    );
    assert_eq!(w.len(), 3);
}

#[test]
fn use_vmac_macs_keepalived_refuses() {
    for (mac, message) in [
        (
            "02:00:00:00:zz:01",
            "VMAC invalid MAC address 02:00:00:00:zz:01 - ignoring",
        ),
        (
            "03:00:00:00:00:01",
            "VMAC MAC address is multicast 03:00:00:00:00:01 - ignoring",
        ),
        (
            "00:00:5e:00:01:33",
            "VMAC MAC address not allowed to be RFC5798 address 00:00:5e:00:01:33 - ignoring",
        ),
    ] {
        let (sev, kind, _, _, m) = one(&inst(&format!(" use_vmac {mac}\n")));
        assert_eq!(
            (sev, kind, m.as_str()),
            (Severity::Error, DiagKind::InvalidValue, message)
        );
    }
    let p = parse_str(&inst(" use_vmac vmx51 02:00:00:00:01\n"));
    assert!(p.diagnostics.is_empty(), "{:#?}", p.diagnostics);
    let vm = p.model.instances[0].use_vmac.clone().expect("use_vmac");
    assert_eq!(
        (vm.interface.as_deref(), vm.mac.as_deref()),
        (Some("vmx51"), Some("02:00:00:00:01"))
    );
}

#[test]
fn use_vmac_adjustments_follow_keepalived() {
    let cases = [
        (
            " vmac_xmit_base\n",
            "(VI_1) vmac_xmit_base is only valid with a vmac",
            false,
        ),
        (
            " use_vmac\n unicast_peer {\n  10.0.0.2\n }\n",
            "(VI_1) unicast with use_vmac requires vmac_xmit_base - setting",
            true,
        ),
        (
            " use_vmac\n vmac_xmit_base\n strict_mode\n",
            "(VI_1) xmit_base is incompatible with strict mode - resetting",
            false,
        ),
    ];
    for (body, message, xmit_base) in cases {
        let p = parse_str(&inst(body));
        let found: Vec<_> = p.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(found.contains(&message), "{body}: {found:#?}");
        assert_eq!(p.model.instances[0].vmac_xmit_base, xmit_base, "{body}");
    }
    let p = parse_str(&inst(" use_vmac 02:00:00:00:00:01\n strict_mode\n"));
    assert!(
        p.diagnostics
            .iter()
            .any(|d| d.message == "(VI_1): cannot specify MAC address with strict mode - clearing"),
        "{:#?}",
        p.diagnostics
    );
    assert_eq!(
        p.model.instances[0]
            .use_vmac
            .as_ref()
            .and_then(|v| v.mac.clone()),
        None
    );
}

#[test]
fn a_vmac_name_is_one_instance_s() {
    let two = format!(
        "{}{}",
        inst(" use_vmac vmx\n"),
        inst(" use_vmac vmx\n")
            .replace("VI_1", "VI_2")
            .replace("eth0", "eth1")
    );
    let p = parse_str(&two);
    assert_eq!(
        errors(&p),
        vec!["(VI_2) VRRP instance VI_1 is already using vmx - ignoring name"]
    );
    assert_eq!(
        p.model.instances[1]
            .use_vmac
            .as_ref()
            .and_then(|v| v.interface.clone()),
        None
    );
}

//! keepalived.conf grammar: one test per feature and per error kind, each
//! checking the exact position and message of what it reports.

use vigil_core::config::{DiagKind, MemoryLoader, Severity, parse, parse_str};

/// (severity, line, col, message) of every diagnostic.
fn diags(text: &str) -> Vec<(Severity, u32, u32, String)> {
    parse_str(text)
        .diagnostics
        .into_iter()
        .map(|d| (d.severity, d.line, d.col, d.message))
        .collect()
}

const MIN: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1/24\n }\n";

#[test]
fn clean_config_has_no_diagnostics() {
    let p = parse_str(&format!("{MIN}}}\n"));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.model.instances.len(), 1);
}

#[test]
fn both_comment_characters_anywhere_outside_quotes() {
    let p = parse_str(&format!(
        "! bang comment\n# hash comment\n{MIN} authentication {{\n  auth_type PASS # the type\n  auth_pass ab!cd\n }}\n}}\n"
    ));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let auth = p.model.instances[0].authentication.clone().unwrap();
    assert_eq!(auth.auth_pass, "ab");
}

#[test]
fn escaped_comment_characters_and_quotes() {
    let p = parse_str(&format!(
        "global_defs {{\n enable_script_security\n}}\n{MIN} authentication {{\n  auth_type PASS\n  auth_pass ab\\#cd\n }}\n notify \"/bin/x # not a comment\"\n}}\n"
    ));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let i = &p.model.instances[0];
    assert_eq!(i.authentication.as_ref().unwrap().auth_pass, "ab#cd");
    assert_eq!(
        i.notify.as_ref().unwrap().args,
        vec!["/bin/x", "#", "not", "a", "comment"]
    );
}

#[test]
fn unterminated_quote() {
    assert_eq!(
        diags(&format!("{MIN} notify \"/bin/x\n}}\n")),
        vec![
            (
                Severity::Warning,
                1,
                15,
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
                    .to_string()
            ),
            (
                Severity::Error,
                7,
                9,
                "Unterminated quote 'notify \"/bin/x'".to_string()
            ),
        ]
    );
}

#[test]
fn braces_on_one_line_or_their_own() {
    let one = parse_str(
        "vrrp_instance VI_1 { interface eth0\n virtual_router_id 51\n virtual_ipaddress { 10.0.0.1 } }\n",
    );
    let own = parse_str(
        "vrrp_instance VI_1\n{\ninterface eth0\nvirtual_router_id 51\nvirtual_ipaddress\n{\n10.0.0.1\n}\n}\n",
    );
    assert!(one.diagnostics.is_empty(), "{:?}", one.diagnostics);
    assert!(own.diagnostics.is_empty(), "{:?}", own.diagnostics);
    assert_eq!(one.model, own.model);
}

#[test]
fn extra_close_brace() {
    assert_eq!(
        diags(&format!("{MIN}}}\n}}\n")),
        vec![(Severity::Error, 8, 1, "Extra '}' found".to_string())]
    );
}

#[test]
fn missing_close_brace() {
    assert_eq!(
        diags(MIN),
        vec![(
            Severity::Error,
            1,
            20,
            "missing '}' for the block of 'vrrp_instance' opened here".to_string()
        )]
    );
}

#[test]
fn stray_open_brace() {
    assert_eq!(
        diags(&format!("{{\n}}\n{MIN}}}\n")),
        vec![(
            Severity::Warning,
            1,
            1,
            "Unexpected '{' - ignoring".to_string()
        )]
    );
}

#[test]
fn block_after_a_keyword_that_takes_none() {
    let d = parse_str(&format!("{MIN} priority 100 {{\n  x\n }}\n}}\n")).diagnostics;
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].line, d[0].col), (7, 15));
    assert_eq!(d[0].message, "Unexpected '{' - ignoring");
    assert_eq!(
        d[0].hint.as_deref(),
        Some(
            "'priority' takes no block; keepalived 2.2.7 would also end the enclosing vrrp_instance block at this block's '}'"
        )
    );
}

#[test]
fn block_keyword_without_block() {
    assert_eq!(
        diags("global_defs\nrouter_id X\n"),
        vec![
            (
                Severity::Error,
                1,
                1,
                "Missing '{' at beginning of configuration block".to_string()
            ),
            (
                Severity::Warning,
                2,
                1,
                "Unknown keyword 'router_id'".to_string()
            ),
        ]
    );
}

#[test]
fn unknown_keyword_with_did_you_mean() {
    let p = parse_str(&format!("{MIN} preemtp_delay 300\n}}\n"));
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Warning, DiagKind::UnknownKeyword, 7, 2)
    );
    assert_eq!(d.message, "Unknown keyword 'preemtp_delay'");
    assert_eq!(d.text, "preemtp_delay 300");
    assert_eq!(d.hint.as_deref(), Some("did you mean 'preempt_delay'?"));
}

#[test]
fn keyword_in_the_wrong_block() {
    let p = parse_str("nopreempt\n");
    assert_eq!(p.diagnostics[0].message, "Unknown keyword 'nopreempt'");
    assert_eq!(
        p.diagnostics[0].hint.as_deref(),
        Some("'nopreempt' belongs in a vrrp_instance block")
    );
    let p = parse_str(&format!("{MIN} global_defs {{\n }}\n}}\n"));
    assert_eq!(p.diagnostics[0].message, "Unknown keyword 'global_defs'");
    assert_eq!(
        p.diagnostics[0].hint.as_deref(),
        Some("its block is ignored; 'global_defs' belongs at the top level, outside any block")
    );
}

#[test]
fn unknown_block_keyword_breaks_keepalived() {
    let d = diags(&format!("{MIN} foo {{\n  bar 1\n }}\n}}\n"));
    assert_eq!(
        d,
        vec![
            (Severity::Warning, 7, 2, "Unknown keyword 'foo'".to_string()),
            (
                Severity::Error,
                7,
                6,
                "Unexpected '{' - ignoring".to_string()
            ),
        ]
    );
}

#[test]
fn missing_parameter() {
    assert_eq!(
        diags(&format!("{MIN} priority\n}}\n")),
        vec![(
            Severity::Error,
            7,
            2,
            "Configuration line starting `priority` is missing a parameter after keyword `priority` at word position 2"
                .to_string()
        )]
    );
}

#[test]
fn extra_words_after_a_setting() {
    let p = parse_str(&format!("{MIN} priority 100 advert_int 3\n}}\n"));
    let d = &p.diagnostics[0];
    assert_eq!((d.kind, d.line, d.col), (DiagKind::ExtraWords, 7, 15));
    assert_eq!(
        d.message,
        "'priority 100' takes one parameter - keepalived ignores the rest: 'advert_int 3'"
    );
    assert_eq!(p.model.instances[0].advert_int_cs, 100);
}

#[test]
fn definitions_and_substitution() {
    let p = parse_str(
        "$IF=eth0\n$VIP=10.0.0.9\nvrrp_instance VI_1 {\n interface $IF\n virtual_router_id 51\n virtual_ipaddress {\n  ${VIP}/24\n  $VIP\n }\n}\n",
    );
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let i = &p.model.instances[0];
    assert_eq!(i.interface.as_deref(), Some("eth0"));
    assert_eq!(i.virtual_ipaddress.len(), 2);
    assert_eq!(i.virtual_ipaddress[0].prefix, 24);
    assert_eq!(i.virtual_ipaddress[1].prefix, 32);
}

#[test]
fn reference_followed_by_slash_is_not_substituted() {
    let p = parse_str(&format!(
        "$VIP=10.0.0.9\n{MIN} virtual_ipaddress_excluded {{\n  $VIP/24\n }}\n}}\n"
    ));
    let d = &p.diagnostics[0];
    assert_eq!((d.line, d.col), (9, 3));
    assert_eq!(d.message, "VRRP parsed invalid IP $VIP/24. skipping IP...");
    assert!(d.hint.as_deref().unwrap_or("").contains("${NAME}/24"));
}

#[test]
fn multi_line_definition() {
    let p = parse_str(
        "$VIPS=virtual_ipaddress { \\\n 10.0.0.1 \\\n 10.0.0.2 \\\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n $VIPS\n}\n",
    );
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.model.instances[0].virtual_ipaddress.len(), 2);
}

#[test]
fn recursive_definition() {
    assert_eq!(
        diags("$A=x $A\nrouter $A\n"),
        vec![(
            Severity::Error,
            2,
            1,
            "definition expansion does not terminate - line ignored".to_string()
        )]
    );
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let text = "global_defs {\n @node1 router_id N1\n @^node1 router_id OTHER\n}\n";
    let l = MemoryLoader::new().with("k.conf", text);
    assert_eq!(
        parse("k.conf", &l, Some("node1"))
            .model
            .global
            .router_id
            .as_deref(),
        Some("N1")
    );
    assert_eq!(
        parse("k.conf", &l, Some("node2"))
            .model
            .global
            .router_id
            .as_deref(),
        Some("OTHER")
    );
    assert_eq!(
        parse("k.conf", &l, None).model.global.router_id.as_deref(),
        Some("OTHER")
    );
}

#[test]
fn include_with_glob_relative_to_including_file() {
    let l = MemoryLoader::new()
        .with(
            "/etc/keepalived/keepalived.conf",
            "global_defs {\n router_id R\n}\ninclude conf.d/*.conf\n",
        )
        .with(
            "/etc/keepalived/conf.d/10-vi1.conf",
            MIN.to_string() + "}\n",
        )
        .with(
            "/etc/keepalived/conf.d/20-bad.conf",
            "vrrp_instance VI_2 {\n priority 999\n}\n",
        );
    let p = parse("/etc/keepalived/keepalived.conf", &l, None);
    assert_eq!(p.model.instances.len(), 2);
    let d = p
        .diagnostics
        .iter()
        .find(|d| d.message.contains("999"))
        .unwrap();
    assert_eq!(d.file, "/etc/keepalived/conf.d/20-bad.conf");
    assert_eq!((d.line, d.col), (2, 11));
    assert_eq!(d.message, "priority: number '999' outside range [1, 255]");
    assert_eq!(
        p.files,
        vec![
            "/etc/keepalived/keepalived.conf",
            "/etc/keepalived/conf.d/10-vi1.conf",
            "/etc/keepalived/conf.d/20-bad.conf"
        ]
    );
}

#[test]
fn missing_include() {
    let l = MemoryLoader::new().with("/k/k.conf", "include other.conf\n");
    let p = parse("/k/k.conf", &l, None);
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Warning, DiagKind::Include, 1, 9)
    );
    assert_eq!(d.message, "Config files missing '/k/other.conf'.");
}

#[test]
fn unreadable_main_file() {
    let p = parse("/nope.conf", &MemoryLoader::new(), None);
    assert!(p.unreadable());
    assert_eq!(
        p.diagnostics[0].message,
        "Unable to find configuration file /nope.conf"
    );
}

#[test]
fn line_oriented_list_ignores_extra_words() {
    let p = parse_str(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress { 10.0.0.1/24 10.0.0.2/24 }\n}\n",
    );
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.kind, d.line, d.col),
        (Severity::Warning, DiagKind::ExtraWords, 4, 34)
    );
    assert_eq!(
        d.message,
        "Unknown configuration entry '10.0.0.2/24' for ip address - ignoring"
    );
    assert_eq!(
        d.hint.as_deref(),
        Some("one address per line: put '10.0.0.2/24' on a line of its own")
    );
    assert_eq!(p.model.instances[0].virtual_ipaddress.len(), 1);
}

#[test]
fn group_and_notification_email_take_every_word() {
    let p = parse_str(&format!(
        "global_defs {{\n notification_email {{ a@x b@x\n c@x }}\n}}\n{MIN}}}\nvrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 52\n virtual_ipaddress {{\n  10.0.0.2\n }}\n}}\nvrrp_sync_group G {{\n group {{ VI_1 VI_2 }}\n}}\n"
    ));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.model.global.notification_email, vec!["a@x", "b@x", "c@x"]);
    assert_eq!(p.model.sync_groups[0].group, vec!["VI_1", "VI_2"]);
    assert_eq!(p.model.instances[1].sync_group.as_deref(), Some("G"));
}

#[test]
fn seq_generates_instances_from_a_multi_line_definition() {
    // The shape of keepalived.conf(5)'s 65,024-instance example.
    let text = "$VI=vrrp_instance vi.${IF}.${ID} { \\\n interface eth${IF} \\\n virtual_router_id ${ID} \\\n virtual_ipaddress { \\\n  10.${IF}.0.${ID}/24 \\\n } \\\n}\n~SEQ(IF,0,1) ~SEQ(ID,1,3) $VI\n";
    let p = parse_str(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let names: Vec<&str> = p.model.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["vi.0.1", "vi.0.2", "vi.0.3", "vi.1.1", "vi.1.2", "vi.1.3"]
    );
    let last = &p.model.instances[5];
    assert_eq!(
        (last.interface.as_deref(), last.virtual_router_id),
        (Some("eth1"), 3)
    );
    assert_eq!(last.virtual_ipaddress[0].addr.to_string(), "10.1.0.3");
}

#[test]
fn lst_repeats_a_line_per_value_set() {
    let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n~LST({N, P}, {10, 24}, {11, 25}) 10.0.0.${N}/${P}\n~LST(N, 12, 13) 10.0.1.${N}/24\n }\n}\n";
    let p = parse_str(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let vips: Vec<String> = p.model.instances[0]
        .virtual_ipaddress
        .iter()
        .map(|a| format!("{}/{}", a.addr, a.prefix))
        .collect();
    assert_eq!(
        vips,
        vec![
            "10.0.0.10/24",
            "10.0.0.11/25",
            "10.0.1.12/24",
            "10.0.1.13/24"
        ]
    );
    assert_eq!(
        diags("~LST(N, {1, 2}) x\n"),
        vec![(
            Severity::Error,
            1,
            1,
            "~LST specification has too many values '~LST(N, {1, 2}) x'".to_string()
        )]
    );
}

#[test]
fn fuzzish_inputs_do_not_panic() {
    for text in [
        "",
        "{",
        "}",
        "{{{{",
        "}}}}",
        "\"",
        "$",
        "$=",
        "$A=\\",
        "@",
        "@^",
        "include",
        "include ",
        "~SEQ(",
        "~LST(",
        "~LST({A,B},{1,2,3})",
        "vrrp_instance",
        "vrrp_instance {",
        "virtual_server",
        "a \"b",
        "\\",
        "\u{0}",
        "vrrp_instance X { virtual_ipaddress { / } }",
        "${_RANDOM 9 1}",
        "$A=${A}\n${A}",
    ] {
        let _ = parse_str(text);
    }
}

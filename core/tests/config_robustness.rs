//! No input makes the parser panic: random text built from config syntax,
//! and the seed fixtures with random edits.

use proptest::prelude::*;
use vigil_core::config::{MemoryLoader, Options, parse_str, parse_with};

const FIXTURE: &str = include_str!("fixtures/seed002_sections_concrete.conf");

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\n".to_string()),
        Just(" ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("#".to_string()),
        Just("!".to_string()),
        Just("$".to_string()),
        Just("@".to_string()),
        Just("@^".to_string()),
        Just("${".to_string()),
        Just("$A=".to_string()),
        Just("include ".to_string()),
        Just("~SEQ(".to_string()),
        Just("vrrp_instance".to_string()),
        Just("virtual_server".to_string()),
        Just("real_server".to_string()),
        Just("virtual_ipaddress".to_string()),
        Just("virtual_routes".to_string()),
        Just("track_script".to_string()),
        Just("HTTP_GET".to_string()),
        Just("url".to_string()),
        Just("status_code".to_string()),
        Just("priority".to_string()),
        Just("advert_int".to_string()),
        Just("fwmark".to_string()),
        Just("10.0.0.1/24".to_string()),
        Just("fe80::1".to_string()),
        Just("-1".to_string()),
        Just("4294967296".to_string()),
        Just("1.0000005".to_string()),
        "[a-z_0-9./:-]{0,8}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn syntax_soup_never_panics(tokens in prop::collection::vec(token(), 0..200)) {
        let text: String = tokens.concat();
        let _ = parse_str(&text);
    }

    #[test]
    fn edited_fixture_never_panics(edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..20)) {
        let mut chars: Vec<char> = FIXTURE.chars().collect();
        for (at, op, c) in edits {
            if chars.is_empty() {
                break;
            }
            let i = at.index(chars.len());
            match op {
                0 => { chars.remove(i); }
                1 => chars.insert(i, c),
                _ => chars[i] = c,
            }
        }
        let text: String = chars.into_iter().collect();
        let loader = MemoryLoader::new().with("/k/k.conf", text).with("/k/inc.conf", "vrrp_script s {\n script /x\n}\n");
        let opts = Options { config_id: Some("n1".into()), interfaces: Some(vec!["eth0".into()]), random_seed: 1 };
        let _ = parse_with("/k/k.conf", &loader, &opts);
    }
}

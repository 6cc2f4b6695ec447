//! The scenario format of SCENARIOS.md, from the outside.

use std::time::Duration;
use vigil_core::scenario::format::Action;
use vigil_core::scenario::{Scenario, ScenarioError};

const CONTRACT: &str = include_str!("scenarios/contract.toml");

#[test]
fn the_contract_example_is_accepted_as_written() {
    let s = Scenario::parse_unchecked(CONTRACT).expect("SCENARIOS.md's example parses");
    assert_eq!(s.name, "master crash, backup takes over");
    assert_eq!(s.duration.0, Duration::from_secs(30));
    assert_eq!(s.sim.seed, 7);
    assert_eq!(s.segments(), vec!["lan"]);
    assert_eq!(s.node[0].name, "lb1");
    assert!(s.node[0].config.contains("virtual_router_id 51"));
    assert!(s.node[0].started);
    assert_eq!(s.client[0].every.0, Duration::from_millis(100));
    assert_eq!(s.server[0].port, 80);
    assert_eq!(s.step[0].actions(), vec![Action::Crash("lb1".into())]);
    assert_eq!(s.expect.len(), 6);
    assert_eq!(s.expect[5].always.as_deref(), Some("single_master"));
}

#[test]
fn the_contract_example_names_a_node_it_does_not_declare() {
    // Its expectations speak of lb2, which the example leaves out for brevity.
    let err = Scenario::parse(CONTRACT).unwrap_err();
    assert_eq!(err.to_string(), "expect 1: no node named \"lb2\"");
    let with_lb2 = CONTRACT.replace(
        "[[client]]",
        "[[node]]\nname = \"lb2\"\naddr = \"10.0.0.2/24\"\nconfig = ''\n\n[[client]]",
    );
    Scenario::parse(&with_lb2).expect("complete example is valid");
}

#[test]
fn an_unknown_key_is_an_error_naming_the_key_and_the_line() {
    let text = "name = \"x\"\nduration = \"1s\"\n\n[[node]]\nname = \"a\"\naddr = \"10.0.0.1/24\"\nconfig = ''\npriority = 5\n";
    let err = Scenario::parse(text).unwrap_err().to_string();
    assert!(err.contains("line 8"), "{err}");
    assert!(err.contains("priority"), "{err}");
}

#[test]
fn a_step_needs_exactly_one_action() {
    let base = "name = \"x\"\nduration = \"10s\"\n[[node]]\nname = \"a\"\naddr = \"10.0.0.1/24\"\nconfig = ''\n";
    let two = format!("{base}[[step]]\nat = \"1s\"\ncrash = \"a\"\nstop = \"a\"\n");
    assert_eq!(
        Scenario::parse(&two).unwrap_err(),
        ScenarioError::Step {
            index: 1,
            at: "1s".into(),
            problem: "a step needs exactly one action key (crash, stop, start, ...), found 2"
                .into()
        }
    );
    let unknown_node = format!("{base}[[step]]\nat = \"1s\"\ncrash = \"b\"\n");
    assert!(
        Scenario::parse(&unknown_node)
            .unwrap_err()
            .to_string()
            .contains("no node, client or server named \"b\"")
    );
    let late = format!("{base}[[step]]\nat = \"11s\"\ncrash = \"a\"\n");
    assert!(
        Scenario::parse(&late)
            .unwrap_err()
            .to_string()
            .contains("after the end of the run")
    );
}

#[test]
fn every_step_kind_of_the_contract_parses() {
    let text = r#"
name = "all steps"
duration = "1m"
[[segment]]
name = "lan"
[[segment]]
name = "lan2"
[[node]]
name = "lb1"
addr = "10.0.0.1/24"
ifaces = [ { name = "eth1", segment = "lan2", addr = "10.1.0.1/24" } ]
config = ''
[[node]]
name = "lb2"
addr = "10.0.0.2/24"
config = ''
started = false
[[client]]
name = "c1"
addr = "10.0.0.50/24"
probe = "10.0.0.100:80"
every = "100ms"
[[server]]
name = "web1"
addr = "10.0.0.10/24"
port = 80
[[step]]
at = "1s"
crash = "lb1"
[[step]]
at = "2s"
stop = "lb1"
[[step]]
at = "3s"
start = "lb2"
[[step]]
at = "4s"
restart = "lb1"
[[step]]
at = "5s"
freeze = "lb1"
[[step]]
at = "6s"
thaw = "lb1"
[[step]]
at = "7s"
partition = [["lb1"], ["lb2", "c1"]]
[[step]]
at = "8s"
partition_oneway = { from = "lb1", to = "lb2" }
[[step]]
at = "9s"
heal = true
[[step]]
at = "10s"
link_down = "lb1"
[[step]]
at = "11s"
link_up = { node = "lb1", iface = "eth1" }
[[step]]
at = "12s"
script = { node = "lb1", name = "chk_nginx", result = 1 }
[[step]]
at = "13s"
touch = { node = "lb1", path = "/etc/keepalived/down" }
[[step]]
at = "14s"
remove = { node = "lb1", path = "/etc/keepalived/down" }
[[step]]
at = "15s"
write = { node = "lb1", path = "/run/prio", value = "5" }
[[step]]
at = "16s"
server_down = "web1"
[[step]]
at = "17s"
server_up = "web1"
[[step]]
at = "18s"
reload = { node = "lb1", config = '''vrrp_instance VI_1 { }''' }
[[expect]]
between = ["10s", "30s"]
transitions = { node = "lb2", instance = "VI_1", count = 1 }
[[expect]]
at = "15s"
probe = { client = "c1", answered_by = "none" }
"#;
    let s = Scenario::parse(text).expect("valid");
    let kinds: Vec<_> = s.step.iter().map(|st| st.actions().len()).collect();
    assert_eq!(kinds, vec![1; 18]);
    assert!(!s.node[1].started);
    assert_eq!(s.node[0].ifaces[0].segment, "lan2");
}

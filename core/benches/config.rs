//! Parsing a generated keepalived.conf with 10,000 `vrrp_instance`s (the
//! keepalived man page shows generated configs with 65,024): lexing, the block
//! tree, the typed model and every check, including the VRID conflict check
//! over all instances.
//!
//! `cargo bench -p vigil-core --bench config`

use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write as _;
use std::hint::black_box;
use vigil_core::config::parse_str;

/// `n` instances on `n / 255 + 1` interfaces, every VRID used once per
/// interface, each tracking one script.
fn generated(n: usize) -> String {
    let mut s = String::from(
        "global_defs {\n    router_id lb1\n    script_user root\n    enable_script_security\n}\n\
         vrrp_script chk {\n    script \"/usr/bin/pgrep haproxy\"\n    interval 2\n}\n",
    );
    for i in 0..n {
        let (iface, vrid) = (i / 255, i % 255 + 1);
        let _ = write!(
            s,
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth{iface}\n    \
             virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n    \
             authentication {{\n        auth_type PASS\n        auth_pass pw{vrid}\n    }}\n    \
             virtual_ipaddress {{\n        10.{}.{}.{}/16 dev eth{iface}\n    }}\n    \
             track_script {{\n        chk\n    }}\n}}\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        );
    }
    s
}

fn parse(c: &mut Criterion) {
    let text = generated(10_000);
    let check = parse_str(&text);
    assert!(!check.has_errors(), "{:#?}", check.errors().next());
    assert_eq!(check.model.instances.len(), 10_000);
    let mut g = c.benchmark_group("config");
    g.sample_size(10);
    g.bench_function("parse_10000_instances", |b| {
        b.iter(|| parse_str(black_box(&text)))
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);

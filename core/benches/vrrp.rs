//! The VRRP hot paths: a Backup receiving one advert (decode, validate,
//! handle, drain outputs) and a Master building one advert.
//!
//! `cargo bench -p vigil-core --bench vrrp`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use vigil_core::Instant;
use vigil_core::vrrp::packet::MCAST_V4;
use vigil_core::vrrp::{Advert, Auth, Instance, InstanceConfig, Received, Version, Vip};

fn addr(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

fn config(src: u8, priority: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        "VI_1",
        "eth0",
        Version::V3,
        51,
        priority,
        IpAddr::V4(addr(src)),
    );
    c.vips = vec![Vip {
        addr: IpAddr::V4(addr(100)),
        prefix_len: 24,
        iface: "eth0".into(),
        label: None,
        broadcast: None,
        scope: None,
    }];
    c
}

fn advert(priority: u8) -> Advert {
    Advert {
        version: Version::V3,
        vrid: 51,
        priority,
        interval_cs: 100,
        auth: Auth::None,
        addrs: vec![IpAddr::V4(addr(100))],
    }
}

fn receive(c: &mut Criterion) {
    let datagram = advert(150).encode_ipv4(addr(1), MCAST_V4, 1);
    let rx = Received {
        iface: "eth0".into(),
        src: IpAddr::V4(addr(1)),
        dst: IpAddr::V4(MCAST_V4),
        ttl: 255,
        bytes: datagram,
    };
    let mut backup = Instance::new(config(2, 100), Instant::ZERO);
    while backup.poll_action().is_some() {}
    let mut now = Instant::ZERO;
    c.bench_function(
        "receive: decode + validate + handle one advert + drain",
        |b| {
            b.iter(|| {
                now = now + std::time::Duration::from_millis(1);
                black_box(backup.handle_packet(now, black_box(&rx))).ok();
                while let Some(t) = backup.poll_transmit() {
                    black_box(t);
                }
                while let Some(a) = backup.poll_action() {
                    black_box(a);
                }
                black_box(backup.poll_timeout())
            })
        },
    );
}

fn transmit(c: &mut Criterion) {
    let a = advert(150);
    c.bench_function("transmit: build one IPv4 advert", |b| {
        b.iter(|| black_box(&a).encode_ipv4(addr(1), MCAST_V4, black_box(7)))
    });
}

criterion_group!(benches, receive, transmit);
criterion_main!(benches);

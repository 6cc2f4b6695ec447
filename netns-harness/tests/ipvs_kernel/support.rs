//! Namespaces, addresses and connections for the IPVS tests.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use vigil_core::lvs::DestKey;
use vigil_netns::vm;

/// Set in the guest when the VM runs these tests.
pub const IN_VM: &str = "VIGIL_IPVS_IN_VM";

/// Why the `kernel_` tests cannot run in this process, if they cannot, and
/// whether they run in the VM instead (a kernel without IPVS) or not at
/// all (one with IPVS, but we are not root).
pub fn no_ipvs_here() -> Option<(&'static str, bool)> {
    static WHY: OnceLock<Option<(&'static str, bool)>> = OnceLock::new();
    *WHY.get_or_init(|| {
        if !vm::host_has_ipvs() {
            Some(("this kernel has no IPVS", true))
        } else if !nix::unistd::geteuid().is_root() {
            Some(("needs root", false))
        } else {
            None
        }
    })
}

/// Returns from a `kernel_` test unless IPVS is here to test. Where the
/// kernel has none, `ipvs_tests_run_in_a_vm_on_hosts_without_ipvs` runs
/// them in the VM.
#[macro_export]
macro_rules! require_ipvs {
    () => {
        match $crate::support::no_ipvs_here() {
            None => {}
            Some((why, true)) => {
                println!("{why}: runs in the VM (ipvs_tests_run_in_a_vm_on_hosts_without_ipvs)");
                return;
            }
            Some((why, false)) => {
                println!("SKIPPED: {why}");
                return;
            }
        }
    };
}

/// Runs `ip ARGS` (split at spaces) in the calling thread's namespace.
pub fn ip(args: &str) {
    let out = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `f` on a thread of its own in a new network namespace (so a new
/// IPVS table) with `lo` up. The namespace goes with the thread.
pub fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let worker = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare netns");
        ip("link set lo up");
        f()
    });
    match worker.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A named network namespace (`ip netns add`), deleted on drop, for
/// topologies of several namespaces joined by veth links.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("vigil-ipvs-{}-{tag}", std::process::id());
        ip(&format!("netns add {name}"));
        let ns = Netns { name };
        ns.ip("link set lo up");
        ns
    }

    /// `ip ARGS` inside this namespace.
    pub fn ip(&self, args: &str) {
        ip(&format!("-n {} {args}", self.name));
    }

    /// Runs `f` on a thread of its own inside this namespace and waits
    /// for it.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        let worker = std::thread::spawn(move || {
            let ns = File::open(&path).expect("open netns");
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        });
        match worker.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A TCP server on `0.0.0.0:port` of the calling thread's namespace that
/// writes `name` to each connection and keeps it open until the peer
/// closes, so it stays established in IPVS's counters. Dropping it stops
/// the accepting thread.
pub struct Server {
    listener: TcpListener,
}

impl Server {
    pub fn start(port: u16, name: &'static str) -> Server {
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).expect("listen");
        let accepting = listener.try_clone().expect("clone the listener");
        std::thread::spawn(move || {
            // Ends when shutdown() on drop makes accept fail.
            while let Ok((mut c, _)) = accepting.accept() {
                std::thread::spawn(move || {
                    let _ = c.write_all(name.as_bytes());
                    let mut sink = [0u8; 64];
                    while matches!(c.read(&mut sink), Ok(n) if n > 0) {}
                });
            }
        });
        Server { listener }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = socket2::SockRef::from(&self.listener).shutdown(std::net::Shutdown::Both);
    }
}

/// A TCP connection from `src` to `dst`, the handshake done.
/// Cables `client` (10.79.0.2) to `director` (10.79.0.1) with the veth
/// c0–d0, the client routing everything through the director.
pub fn cable_client(client: &Netns, director: &Netns) {
    client.ip(&format!(
        "link add c0 type veth peer name d0 netns {}",
        director.name
    ));
    client.ip("addr add 10.79.0.2/24 dev c0");
    client.ip("link set c0 up");
    client.ip("route add default via 10.79.0.1");
    director.ip("addr add 10.79.0.1/24 dev d0");
}

pub fn connect(src: SocketAddr, dst: SocketAddr) -> std::io::Result<TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    sock.bind(&src.into())?;
    sock.connect_timeout(&dst.into(), Duration::from_secs(10))?;
    Ok(sock.into())
}

/// The real server of each connection in `/proc/net/ip_vs_conn` of this
/// thread's namespace (`/proc/net` is the main thread's), by client address (IPv4 only: the tests use no other).
pub fn ip_vs_conns() -> Vec<(SocketAddr, DestKey)> {
    let text =
        std::fs::read_to_string("/proc/thread-self/net/ip_vs_conn").expect("read ip_vs_conn");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            // Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires ...
            let f: Vec<&str> = line.split_whitespace().collect();
            let addr = |a: &str, p: &str| -> Option<SocketAddr> {
                let a = u32::from_str_radix(a, 16).ok()?;
                let p = u16::from_str_radix(p, 16).ok()?;
                Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), p))
            };
            let client = addr(f.get(1)?, f.get(2)?)?;
            let dest = addr(f.get(5)?, f.get(6)?)?;
            Some((client, dest.into()))
        })
        .collect()
}

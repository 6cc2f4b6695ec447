//! vigil's IPVS programming beside ipvsadm's, for scripts/bench-ipvs.sh
//! (run as root where the kernel has IPVS, e.g. in the VM).
//!
//! Each round, in fresh network namespaces (so empty tables):
//! - vigil: the director of a config of SERVICES virtual servers × DESTS
//!   real servers (DR, wlc, no checks) starts on an empty table and its
//!   ops go to the kernel through the driver; then a reload changing one
//!   weight, and its one op. Timed from the parsed config to the last
//!   netlink acknowledgement, and the weight's op alone (what a check
//!   moving a weight costs); the driver counts its round trips.
//! - ipvsadm: `ipvsadm -R` of the same ops (the director's own, which
//!   print as ipvsadm's arguments) into an empty table, then one
//!   `ipvsadm -e` for the same weight: each one process, as a script
//!   would run it. With strace on PATH, a round outside the timings counts
//!   ipvsadm's netlink sends.
//!
//! The tables are compared after each side's run. Prints each round and
//! the medians.
//!
//! Usage: bench_ipvs [SERVICES=1000] [DESTS=10] [ROUNDS=5]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vigil_core::config::{Config, parse_str};
use vigil_core::lvs::director::{Director, DirectorAction};
use vigil_core::lvs::ipvs::{IpvsOp, IpvsState};
use vigil_netns::driver::ipvs::Ipvs;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let services = args.first().copied().unwrap_or(1000);
    let dests = args.get(1).copied().unwrap_or(10);
    let rounds = args.get(2).copied().unwrap_or(5);
    let before = config(services, dests, 1);
    let after = config(services, dests, 5);
    let (ops, change) = director_ops(&before, &after)?;
    println!(
        "{services} services × {dests} real servers: {} ops, then {} for one weight",
        ops.len(),
        change.len()
    );
    let restore: String = ops.iter().map(|op| format!("{op}\n")).collect();
    let edit: Vec<String> = change[0]
        .to_string()
        .split_whitespace()
        .map(str::to_owned)
        .collect();

    let mut rows: Vec<[Duration; 5]> = Vec::new();
    let mut trips = (0, 0);
    for round in 1..=rounds {
        let v = in_netns(|| vigil(&before, &after))?;
        trips = v.trips;
        let (restored, edited, theirs) = in_netns(|| ipvsadm(&restore, &edit))?;
        if theirs != v.table {
            return Err("ipvsadm's table is not vigil's".into());
        }
        println!(
            "round {round}: vigil {:.1} ms + {:.3} ms (its op {:.3} ms), \
             ipvsadm -R {:.1} ms + ipvsadm -e {:.3} ms",
            ms(v.fill),
            ms(v.reload),
            ms(v.op),
            ms(restored),
            ms(edited)
        );
        rows.push([v.fill, v.reload, v.op, restored, edited]);
    }
    let med = |i: usize| {
        let mut v: Vec<Duration> = rows.iter().map(|r| r[i]).collect();
        v.sort();
        v[v.len() / 2]
    };
    let [fill, reload, op, restored, edited] = [0, 1, 2, 3, 4].map(med);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("medians over {rounds} rounds (vigil / ipvsadm):");
    println!(
        "  fill:   vigil {:.1} ms, ipvsadm -R {:.1} ms: {:.2}",
        ms(fill),
        ms(restored),
        ratio(fill, restored)
    );
    println!(
        "  weight: vigil's reload {:.3} ms, its op alone {:.3} ms, ipvsadm -e {:.3} ms: {:.3} and {:.4}",
        ms(reload),
        ms(op),
        ms(edited),
        ratio(reload, edited),
        ratio(op, edited)
    );
    println!(
        "  vigil's netlink round trips: {} for the {} fill ops, {} for the {} weight op",
        trips.0,
        ops.len(),
        trips.1,
        change.len()
    );
    if let Some(sends) = in_netns(|| ipvsadm_sends(&restore, &edit))? {
        println!(
            "  ipvsadm's netlink sends (strace): {} for ipvsadm -R, {} for ipvsadm -e",
            sends.0, sends.1
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// keepalived.conf text: `services` DR virtual servers 10.S.S.S:80 with
/// `dests` real servers each, the first real server of the first weighing
/// `first_weight`.
fn config(services: usize, dests: usize, first_weight: u32) -> Config {
    let mut text = String::new();
    for s in 0..services {
        let [_, a, b, c] = (s as u32 + 1).to_be_bytes();
        text += &format!(
            "virtual_server 10.{a}.{b}.{c} 80 {{\n lb_algo wlc\n lb_kind DR\n protocol TCP\n"
        );
        for d in 0..dests {
            let w = if s == 0 && d == 0 { first_weight } else { 1 };
            text += &format!(
                " real_server 172.16.{}.{} 80 {{ weight {w} }}\n",
                d / 250,
                d % 250 + 1
            );
        }
        text += "}\n";
    }
    parse_str(&text).model
}

/// The director's ops for `before` on an empty table, then for the reload
/// to `after`.
fn director_ops(before: &Config, after: &Config) -> Res<(Vec<IpvsOp>, Vec<IpvsOp>)> {
    let now = vigil_core::Instant::ZERO;
    let mut d = Director::new(now, before, &IpvsState::default(), &[], 1)?;
    let ops = drain(&mut d);
    d.reload(now, after)?;
    Ok((ops, drain(&mut d)))
}

fn drain(d: &mut Director) -> Vec<IpvsOp> {
    std::iter::from_fn(|| d.poll_action())
        .filter_map(|a| match a {
            DirectorAction::Ipvs(op) => Some(op),
            _ => None,
        })
        .collect()
}

/// One round of vigil's side.
struct Vigil {
    /// Director start on the empty table, and its ops applied.
    fill: Duration,
    /// The reload changing one weight, and its op applied.
    reload: Duration,
    /// That op alone (what a check changing a weight costs).
    op: Duration,
    /// Round trips of the fill and of the reload.
    trips: (u64, u64),
    table: IpvsState,
}

fn vigil(before: &Config, after: &Config) -> Res<Vigil> {
    let mut ipvs = Ipvs::open()?;
    let now = vigil_core::Instant::ZERO;
    let t0 = Instant::now();
    let mut d = Director::new(now, before, &IpvsState::default(), &[], 1)?;
    let mark = ipvs.round_trips();
    for op in drain(&mut d) {
        ipvs.apply(&op)?;
    }
    let fill = t0.elapsed();
    let fill_trips = ipvs.round_trips() - mark;
    let t1 = Instant::now();
    d.reload(now, after)?;
    let change = drain(&mut d);
    let t2 = Instant::now();
    let mark = ipvs.round_trips();
    for op in &change {
        ipvs.apply(op)?;
    }
    let (reload, op) = (t1.elapsed(), t2.elapsed());
    Ok(Vigil {
        fill,
        reload,
        op,
        trips: (fill_trips, ipvs.round_trips() - mark),
        table: ipvs.dump()?,
    })
}

/// `ipvsadm -R` of `restore`, then `ipvsadm EDIT`, each timed as a whole
/// process; and the table after them.
fn ipvsadm(restore: &str, edit: &[String]) -> Res<(Duration, Duration, IpvsState)> {
    let t0 = Instant::now();
    run("ipvsadm", &["-R".to_owned()], Some(restore))?;
    let restored = t0.elapsed();
    let t1 = Instant::now();
    run("ipvsadm", edit, None)?;
    let edited = t1.elapsed();
    Ok((restored, edited, Ipvs::open()?.dump()?))
}

/// How many netlink messages `ipvsadm -R` and `ipvsadm -e` send, by
/// strace's count of sendmsg/sendto; `None` without strace.
fn ipvsadm_sends(restore: &str, edit: &[String]) -> Res<Option<(u64, u64)>> {
    if Command::new("strace").arg("-V").output().is_err() {
        return Ok(None);
    }
    let count = |args: &[String], input: Option<&str>| -> Res<u64> {
        let mut all = vec!["-f", "-qq", "-c", "-e", "trace=sendmsg,sendto", "ipvsadm"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        all.extend_from_slice(args);
        let err = run("strace", &all, input)?;
        // strace -c's table: "... calls errors syscall"; sum the calls.
        Ok(err
            .lines()
            .filter(|l| l.ends_with("sendmsg") || l.ends_with("sendto"))
            .filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
            .sum())
    };
    Ok(Some((
        count(&["-R".to_owned()], Some(restore))?,
        count(edit, None)?,
    )))
}

/// Runs `program ARGS` with `input` on stdin; its stderr, or an error.
fn run(program: &str, args: &[String], input: Option<&str>) -> Res<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    if let Some(text) = input {
        stdin.write_all(text.as_bytes())?;
    }
    drop(stdin);
    let out = child.wait_with_output()?;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("{program} {}: {err}", args.join(" ")).into());
    }
    Ok(err)
}

/// Runs `f` on a thread of its own in a new network namespace, so on an
/// empty IPVS table; processes it starts are in that namespace too. `lo`
/// is up: without a local routing table the kernel refuses every
/// destination address (EINVAL).
fn in_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare netns");
            let up = Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .status();
            assert!(up.is_ok_and(|s| s.success()), "ip link set lo up");
            f()
        })
        .join()
        .expect("the benchmark thread panicked")
    })
}

//! `vigil sched ALGO`: which real server IPVS would pick for each of a list
//! of connections, so vigil's schedulers can be checked against a kernel.
//!
//! Destinations are added in the order given, one at a time, as successive
//! `ipvsadm -a` calls would (each goes to the head of the kernel's list);
//! connections arrive in the order given and stay open.

use clap::Args as ClapArgs;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_core::Instant;
use vigil_core::lvs::sched::MH_PRIMES;
use vigil_core::lvs::{
    Algorithm, DestKey, DestSpec, Options, Packet, Protocol, SchedFlags, Scheduler,
};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The scheduler: rr, wrr, lc, wlc, sed, nq, fo, ovf, twos, lblc, lblcr,
    /// dh, sh or mh. (twos is modelled although Debian's kernel lacks it.)
    algo: String,
    /// The virtual service; dh, lblc and lblcr hash its address.
    #[arg(long, value_name = "VIP:PORT")]
    service: String,
    /// A real server, as `ipvsadm -a -r IP:PORT -w WEIGHT` would add it;
    /// `,u=N` and `,l=N` set the upper and lower connection thresholds.
    /// Repeat in the order of the `ipvsadm -a` calls.
    #[arg(long = "dest", value_name = "IP:PORT=WEIGHT")]
    dests: Vec<String>,
    /// Scheduler flags, as `ipvsadm -b` takes them.
    #[arg(long, value_name = "sh-port,sh-fallback,mh-port,mh-fallback")]
    flags: Option<String>,
    /// A client connection, in arrival order.
    #[arg(long = "conn", value_name = "SRCIP:SRCPORT")]
    conns: Vec<String>,
    /// Connections from a file, one SRCIP:SRCPORT a line ('#' comments).
    #[arg(long, value_name = "FILE", conflicts_with = "conns")]
    conns_file: Option<PathBuf>,
    /// Print the sh, dh or mh lookup table after the summary.
    #[arg(long)]
    table: bool,
    /// Seed of twos' random draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// mh table size, one of the kernel's primes (CONFIG_IP_VS_MH_TAB_INDEX).
    #[arg(long, value_name = "PRIME", default_value_t = 4093)]
    mh_table_size: u32,
}

/// Exit 0 with the picks printed, 2 when the input cannot be used.
pub fn run(args: &Args) -> ExitCode {
    match build(args) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A reader that stops early (| head) is not an error.
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vigil sched: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Err(msg) => {
            eprintln!("vigil sched: {msg}");
            ExitCode::from(2)
        }
    }
}

fn build(args: &Args) -> Result<String, String> {
    let algo: Algorithm = args.algo.parse().map_err(|_| {
        let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown scheduler {:?} (known: {})",
            args.algo,
            known.join(", ")
        )
    })?;
    let service: SocketAddr = args
        .service
        .parse()
        .map_err(|_| format!("bad --service {:?}: want VIP:PORT", args.service))?;
    let flags = match &args.flags {
        Some(list) => SchedFlags::parse_list(list).map_err(|e| format!("--flags: {e}"))?,
        None => SchedFlags::default(),
    };
    let mh_tab_index = MH_PRIMES
        .iter()
        .position(|&p| p == args.mh_table_size)
        .map(|i| i as u8 + 8)
        .ok_or_else(|| {
            format!(
                "--mh-table-size {} is not one of the kernel's sizes {MH_PRIMES:?}",
                args.mh_table_size
            )
        })?;
    if args.dests.is_empty() {
        return Err("no destination: give at least one --dest IP:PORT=WEIGHT".into());
    }
    let specs = args
        .dests
        .iter()
        .map(|d| parse_dest(d))
        .collect::<Result<Vec<_>, _>>()?;
    let conns = match &args.conns_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            conns_from_file(&text, &path.display().to_string())?
        }
        None => args
            .conns
            .iter()
            .map(|c| parse_conn(c))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if conns.is_empty() && !args.table {
        return Err("no connection: give --conn SRCIP:SRCPORT or --conns-file FILE".into());
    }

    let opts = Options {
        seed: args.seed,
        mh_tab_index,
        ..Options::default()
    };
    let mut sched = Scheduler::new(algo, flags, opts);
    for spec in &specs {
        sched
            .add_dest(spec)
            .map_err(|e| format!("--dest {}: {e}", spec.key))?;
    }

    let mut out = String::new();
    let mut counts: Vec<usize> = vec![0; specs.len()];
    let mut none = 0usize;
    for src in &conns {
        let pkt = Packet {
            src: src.ip(),
            sport: src.port(),
            dst: service.ip(),
            dport: service.port(),
            protocol: Protocol::Tcp,
        };
        match sched.connect(Instant::ZERO, &pkt) {
            Some(key) => {
                if let Some(i) = specs.iter().position(|s| s.key == key) {
                    counts[i] += 1;
                }
                let _ = writeln!(out, "{src} -> {key}");
            }
            None => {
                none += 1;
                let _ = writeln!(out, "{src} -> none");
            }
        }
    }
    summary(&mut out, &specs, &counts, none, conns.len());
    if args.table {
        table(&mut out, &sched);
    }
    Ok(out)
}

fn summary(out: &mut String, specs: &[DestSpec], counts: &[usize], none: usize, total: usize) {
    let names: Vec<String> = specs.iter().map(|s| s.key.to_string()).collect();
    let width = names.iter().map(String::len).max().unwrap_or(0).max(4);
    let pct = |n: usize| {
        if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        }
    };
    let _ = writeln!(out, "distribution over {total} connections:");
    for (name, (n, spec)) in names.iter().zip(counts.iter().zip(specs)) {
        let _ = writeln!(
            out,
            "  {name:<width$}  weight {:<5} {n:>6}  {:5.1}%",
            spec.weight,
            pct(*n)
        );
    }
    if none > 0 {
        let _ = writeln!(
            out,
            "  {:<width$}  {:12} {none:>6}  {:5.1}%",
            "none",
            "",
            pct(none)
        );
    }
}

fn table(out: &mut String, sched: &Scheduler) {
    let Some(t) = sched.table() else {
        let _ = writeln!(out, "table: {} has no lookup table", sched.algorithm());
        return;
    };
    let _ = writeln!(out, "table ({}, {} buckets):", sched.algorithm(), t.len());
    for (i, slot) in t.iter().enumerate() {
        let dest = slot
            .and_then(|p| sched.dests().get(p as usize))
            .map_or_else(|| "none".to_string(), |d| d.key().to_string());
        let _ = writeln!(out, "  {i:>6} {dest}");
    }
}

/// `IP:PORT=WEIGHT[,u=N][,l=N]`; the weight defaults to 1 as in ipvsadm.
fn parse_dest(text: &str) -> Result<DestSpec, String> {
    let bad = |why: &str| format!("bad --dest {text:?}: {why}");
    let (addr, rest) = match text.split_once('=') {
        Some((a, r)) => (a, Some(r)),
        None => (text, None),
    };
    let addr: SocketAddr = addr.parse().map_err(|_| bad("want IP:PORT=WEIGHT"))?;
    let mut spec = DestSpec::new(DestKey::from(addr), 1);
    if let Some(rest) = rest {
        let mut parts = rest.split(',');
        let weight = parts.next().unwrap_or_default();
        spec.weight = weight
            .parse()
            .map_err(|_| bad("the weight is not a number"))?;
        for part in parts {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| bad("want u=N or l=N after the weight"))?;
            let v: u32 = v.parse().map_err(|_| bad("a threshold is not a number"))?;
            match k {
                "u" => spec.u_threshold = v,
                "l" => spec.l_threshold = v,
                _ => return Err(bad("want u=N or l=N after the weight")),
            }
        }
    }
    Ok(spec)
}

fn parse_conn(text: &str) -> Result<SocketAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("bad connection {text:?}: want SRCIP:SRCPORT"))
}

fn conns_from_file(text: &str, name: &str) -> Result<Vec<SocketAddr>, String> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.split('#').next().unwrap_or_default().trim();
            (!line.is_empty()).then_some((i, line))
        })
        .map(|(i, line)| parse_conn(line).map_err(|e| format!("{name}:{}: {e}", i + 1)))
        .collect()
}

//! Scheduler workloads and the real server each connection got: the text
//! format of `core/tests/lvs_kernel_answers.txt`, which a kernel's answers
//! are recorded in and the core's schedulers are checked against.
//!
//! ```text
//! job ALGO VIP:PORT FLAGS|- DEST=WEIGHT[,u=U,l=L]...
//! SRC:PORT DEST|none
//! ```
//!
//! A job is a fresh service whose real servers are added in the order
//! listed; each `SRC:PORT` line is one TCP connection, in arrival order,
//! that stays open; `none` is a connection IPVS did not schedule.

use super::dest::{DestKey, DestSpec};
use super::sched::{Algorithm, Options, Packet, Protocol, SchedFlags, Scheduler};
use crate::Instant;
use std::fmt;
use std::net::SocketAddr;

/// One workload and, for each connection, the real server it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub algorithm: Algorithm,
    pub service: SocketAddr,
    pub flags: SchedFlags,
    /// In the order they are added.
    pub dests: Vec<DestSpec>,
    pub conns: Vec<(SocketAddr, Option<DestKey>)>,
}

impl Job {
    /// The core's scheduler for this job, its real servers added.
    pub fn scheduler(&self) -> Result<Scheduler, super::LvsError> {
        let mut s = Scheduler::new(self.algorithm, self.flags, Options::default());
        for d in &self.dests {
            s.add_dest(d)?;
        }
        Ok(s)
    }

    /// The real server the core picks for each connection, in order.
    pub fn core_picks(&self) -> Result<Vec<Option<DestKey>>, super::LvsError> {
        let mut s = self.scheduler()?;
        Ok(self
            .conns
            .iter()
            .map(|(src, _)| {
                let pkt = Packet {
                    src: src.ip(),
                    sport: src.port(),
                    dst: self.service.ip(),
                    dport: self.service.port(),
                    protocol: Protocol::Tcp,
                };
                s.connect(Instant::ZERO, &pkt)
            })
            .collect())
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = self.flags.names(self.algorithm);
        let flags = if flags.is_empty() {
            "-".to_owned()
        } else {
            flags.join(",")
        };
        write!(f, "job {} {} {flags}", self.algorithm, self.service)?;
        for d in &self.dests {
            write!(f, " {}={}", d.key, d.weight)?;
            if d.u_threshold != 0 || d.l_threshold != 0 {
                write!(f, ",u={},l={}", d.u_threshold, d.l_threshold)?;
            }
        }
        writeln!(f)?;
        for (src, dest) in &self.conns {
            match dest {
                Some(d) => writeln!(f, "{src} {d}")?,
                None => writeln!(f, "{src} none")?,
            }
        }
        Ok(())
    }
}

/// Reads jobs; an error names the line.
pub fn parse(text: &str) -> Result<Vec<Job>, String> {
    let mut jobs: Vec<Job> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let at = |why: String| format!("line {}: {why}", n + 1);
        if words[0] == "job" {
            jobs.push(header(&words).map_err(at)?);
            continue;
        }
        let [src, dest] = words[..] else {
            return Err(at(format!("want SRC:PORT DEST|none, got {line:?}")));
        };
        let src = addr(src).map_err(at)?;
        let dest = match dest {
            "none" => None,
            d => Some(addr(d).map_err(at)?.into()),
        };
        jobs.last_mut()
            .ok_or_else(|| at("a connection before any job".into()))?
            .conns
            .push((src, dest));
    }
    Ok(jobs)
}

fn addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| format!("bad address {s:?}"))
}

fn header(words: &[&str]) -> Result<Job, String> {
    let [_, algo, service, flags, dests @ ..] = words else {
        return Err("want job ALGO VIP:PORT FLAGS DEST=WEIGHT...".into());
    };
    let algorithm: Algorithm = algo.parse().map_err(|e| format!("{e}"))?;
    let flags = match *flags {
        "-" => SchedFlags::default(),
        f => SchedFlags::parse_list(f).map_err(|e| format!("{e}"))?,
    };
    let dests = dests
        .iter()
        .map(|d| {
            let (a, rest) = d
                .split_once('=')
                .ok_or_else(|| format!("want DEST=WEIGHT, got {d:?}"))?;
            let mut parts = rest.split(',');
            let weight = parts
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| format!("bad weight in {d:?}"))?;
            let mut spec = DestSpec::new(addr(a)?.into(), weight);
            for p in parts {
                let v = |v: &str| v.parse().map_err(|_| format!("bad threshold in {d:?}"));
                match p.split_once('=') {
                    Some(("u", n)) => spec.u_threshold = v(n)?,
                    Some(("l", n)) => spec.l_threshold = v(n)?,
                    _ => return Err(format!("want u=N or l=N in {d:?}")),
                }
            }
            Ok(spec)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Job {
        algorithm,
        service: addr(service)?,
        flags,
        dests,
        conns: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
job mh 10.0.106.100:80 mh-fallback,mh-port 10.0.0.1:80=1 10.0.0.2:80=3,u=2,l=0
192.168.0.1:20000 10.0.0.2:80
192.168.0.2:20001 none
job rr 10.0.1.100:80 - 10.0.0.1:80=1
";

    #[test]
    fn the_format_reads_and_writes_the_same_text() {
        let jobs = parse(TEXT).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].dests[1].u_threshold, 2);
        assert_eq!(jobs[0].conns[1].1, None);
        let again: String = jobs.iter().map(Job::to_string).collect();
        assert_eq!(again, TEXT);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse("job rr 10.0.0.1:80 - x=1").unwrap_err(),
            "line 1: bad address \"x\""
        );
        assert!(parse("1.2.3.4:5 none").unwrap_err().starts_with("line 1:"));
        assert!(parse("job rr 1.2.3.4:80 - 1.1.1.1:80=1\n1.2.3.4:5 x y").is_err());
    }
}

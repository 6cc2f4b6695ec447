//! `vigil pcap check`: decode and check every VRRP packet in capture files.
//!
//! One line per VRRP packet, then `N vrrp packets, M invalid`. Exit status 0
//! when every packet is valid, 1 when any is not, 2 when a file cannot be read
//! (the other files are still checked). Without a config only the checks that
//! need none are made; with one (`-f keepalived.conf`), each advert is also
//! checked against the instance a [`Lookup`] finds for it, and an advert
//! whose VRID no instance of its family has is invalid.

use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use vigil_core::config;
use vigil_core::vrrp::validate::{self, Expected, Invalid};
use vigil_core::vrrp::{Decoded, PacketError};
use vigil_core::wire::{self, IpPacket, Link};

use crate::fs_loader::FsLoader;
use crate::pcap_expect::Instances;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// keepalived.conf whose instances the adverts are checked against.
    #[arg(short = 'f', long = "config", value_name = "keepalived.conf")]
    pub config: Option<PathBuf>,
    /// Like `keepalived -i ID`: keep the config's `@ID` lines, drop `@^ID` ones.
    #[arg(
        short = 'i',
        long = "config-id",
        value_name = "ID",
        requires = "config"
    )]
    pub config_id: Option<String>,
    /// Capture files (pcap or pcapng; Ethernet, Linux cooked or raw IP).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Finds the configured instance an advert is for; `None` when its VRID is
/// not configured, which makes the advert invalid.
pub type Lookup<'c> = dyn Fn(&Decoded) -> Option<Expected<'c>> + 'c;

/// Runs the command. With `-f`, the config is parsed first: if it cannot be
/// read or has errors, nothing is checked (exit 2), since every verdict
/// would be against the wrong instances.
pub fn run(args: &Args) -> ExitCode {
    let instances = match &args.config {
        Some(path) => match load_instances(path, args.config_id.as_deref()) {
            Some(i) => Some(i),
            None => return ExitCode::from(2),
        },
        None => None,
    };
    let lookup = instances.as_ref().map(|i| move |d: &Decoded| i.lookup(d));
    let summary = check_files(
        &args.files,
        lookup.as_ref().map(|l| l as &Lookup),
        &mut io::stdout().lock(),
        &mut io::stderr(),
    );
    ExitCode::from(summary.exit_status())
}

/// Parses the config through the filesystem loader; on failure prints why
/// to stderr and returns `None`.
fn load_instances(path: &Path, config_id: Option<&str>) -> Option<Instances> {
    let parsed = config::parse(&path.to_string_lossy(), &FsLoader, config_id);
    if parsed.unreadable() {
        if let Some(d) = parsed.diagnostics.first() {
            eprintln!("vigil: {}", d.message);
        }
        return None;
    }
    if parsed.has_errors() {
        let mut err = io::stderr().lock();
        for d in parsed.errors() {
            let _ = writeln!(err, "{d}");
        }
        let n = parsed.errors().count();
        let _ = writeln!(
            err,
            "vigil: {}: {n} error{} in the config, no packet checked (see `vigil check`)",
            path.display(),
            if n == 1 { "" } else { "s" }
        );
        return None;
    }
    Some(Instances::new(&parsed.model))
}

/// Totals over all files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub vrrp: usize,
    pub invalid: usize,
    pub unreadable: usize,
}

impl Summary {
    pub fn exit_status(&self) -> u8 {
        match self {
            Summary {
                unreadable: 1.., ..
            } => 2,
            Summary { invalid: 1.., .. } => 1,
            _ => 0,
        }
    }
}

/// Checks each file in turn, writing packet lines and the summary to `out`
/// and one line per unreadable file to `err`.
pub fn check_files(
    files: &[PathBuf],
    lookup: Option<&Lookup>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Summary {
    let mut summary = Summary::default();
    for path in files {
        if files.len() > 1 {
            let _ = writeln!(out, "# {}", path.display());
        }
        if let Err(e) = check_file(path, lookup, out, &mut summary) {
            summary.unreadable += 1;
            let _ = writeln!(err, "vigil: {}: {e}", path.display());
        }
    }
    let _ = writeln!(
        out,
        "{} vrrp packets, {} invalid",
        summary.vrrp, summary.invalid
    );
    summary
}

/// What can go wrong reading a capture (not the packets in it).
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("capture file ends in the middle of a record")]
    Truncated,
    #[error("not a readable pcap/pcapng file: {0}")]
    Pcap(pcap_file::PcapError),
    #[error("unsupported link type {0:?}")]
    Link(DataLink),
    #[error("packet on undeclared pcapng interface {0}")]
    Interface(u32),
}

impl From<pcap_file::PcapError> for ReadError {
    fn from(e: pcap_file::PcapError) -> Self {
        match e {
            pcap_file::PcapError::IncompleteBuffer => ReadError::Truncated,
            pcap_file::PcapError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                ReadError::Truncated
            }
            pcap_file::PcapError::IoError(e) => ReadError::Io(e),
            e => ReadError::Pcap(e),
        }
    }
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

fn check_file(
    path: &Path,
    lookup: Option<&Lookup>,
    out: &mut dyn Write,
    summary: &mut Summary,
) -> Result<(), ReadError> {
    let mut file = BufReader::new(File::open(path)?);
    let mut magic = [0u8; 4];
    let is_ng = file.read_exact(&mut magic).is_ok() && magic == PCAPNG_MAGIC;
    file.seek(SeekFrom::Start(0))?;
    let mut first = None;
    let mut on_frame = |link: Link, ts: Duration, data: &[u8]| {
        let since = ts.saturating_sub(*first.get_or_insert(ts));
        if let Some(line) = check_frame(link, data, lookup) {
            summary.vrrp += 1;
            summary.invalid += usize::from(!line.valid);
            let _ = writeln!(
                out,
                "{}.{:06} {}",
                since.as_secs(),
                since.subsec_micros(),
                line.text
            );
        }
    };
    if is_ng {
        read_pcapng(file, &mut on_frame)
    } else {
        read_pcap(file, &mut on_frame)
    }
}

fn link_of(datalink: DataLink) -> Result<Link, ReadError> {
    match datalink {
        DataLink::ETHERNET => Ok(Link::Ethernet),
        DataLink::LINUX_SLL => Ok(Link::LinuxSll),
        DataLink::LINUX_SLL2 => Ok(Link::LinuxSll2),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => Ok(Link::Raw),
        other => Err(ReadError::Link(other)),
    }
}

fn read_pcap(
    file: impl Read,
    on_frame: &mut dyn FnMut(Link, Duration, &[u8]),
) -> Result<(), ReadError> {
    let mut reader = PcapReader::new(file)?;
    let link = link_of(reader.header().datalink)?;
    while let Some(packet) = reader.next_packet() {
        let packet = packet?;
        on_frame(link, packet.timestamp, &packet.data);
    }
    Ok(())
}

/// pcapng: links come from the interface blocks. pcap-file 2.0 hands out an
/// enhanced packet's raw timestamp as if in nanoseconds, so it is rescaled by
/// the interface's `if_tsresol` (microseconds when absent).
fn read_pcapng(
    file: impl Read,
    on_frame: &mut dyn FnMut(Link, Duration, &[u8]),
) -> Result<(), ReadError> {
    let mut reader = PcapNgReader::new(file)?;
    let mut interfaces: Vec<Option<(Link, u8)>> = Vec::new();
    while let Some(block) = reader.next_block() {
        match block? {
            Block::InterfaceDescription(idb) => {
                let tsresol = idb
                    .options
                    .iter()
                    .find_map(|o| match o {
                        InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                        _ => None,
                    })
                    .unwrap_or(6);
                // Unsupported links are skipped, not fatal: other
                // interfaces of the same capture may carry VRRP.
                interfaces.push(link_of(idb.linktype).ok().map(|l| (l, tsresol)));
            }
            Block::EnhancedPacket(epb) => {
                let iface = usize::try_from(epb.interface_id).ok();
                match iface.and_then(|i| interfaces.get(i)) {
                    Some(Some((link, res))) => {
                        let raw = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                        on_frame(*link, rescale(raw, *res), &epb.data);
                    }
                    Some(None) => {}
                    None => return Err(ReadError::Interface(epb.interface_id)),
                }
            }
            Block::SimplePacket(spb) => {
                if let Some(Some((link, _))) = interfaces.first() {
                    on_frame(*link, Duration::ZERO, &spb.data);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `raw` ticks at pcapng resolution `res`: 10^-res s, or 2^-(res & 0x7f) s
/// when the high bit is set.
fn rescale(raw: u64, res: u8) -> Duration {
    let per_sec: u64 = if res & 0x80 == 0 {
        10u64.checked_pow(u32::from(res)).unwrap_or(u64::MAX)
    } else {
        1u64.checked_shl(u32::from(res & 0x7f)).unwrap_or(u64::MAX)
    };
    let nanos = u128::from(raw % per_sec) * 1_000_000_000 / u128::from(per_sec);
    Duration::new(raw / per_sec, u32::try_from(nanos).unwrap_or(0))
}

/// The report for one VRRP packet.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub valid: bool,
}

/// Checks one frame; `None` when it carries no VRRP.
pub fn check_frame(link: Link, frame: &[u8], lookup: Option<&Lookup>) -> Option<Line> {
    let packet = wire::ip_packet(link, frame).filter(IpPacket::is_vrrp)?;
    let addr = |a: Option<std::net::IpAddr>| a.map_or_else(|| "?".to_owned(), |a| a.to_string());
    let route = format!("{} -> {}", addr(packet.src()), addr(packet.dst()));
    let decoded = match packet.decode_vrrp() {
        Ok(d) => d,
        Err(e) => return Some(invalid_packet(&route, &e)),
    };
    let verdict = match lookup {
        None => Ok(Vec::new()),
        Some(lookup) => match lookup(&decoded) {
            Some(expected) => validate::check(&decoded, &expected),
            None => Err(Invalid::UnknownVrid {
                vrid: decoded.advert.vrid,
            }),
        },
    };
    let legacy = if decoded.legacy_checksum {
        " (legacy unicast checksum)"
    } else {
        ""
    };
    let head = format!("{route} {}{legacy}", decoded.advert);
    Some(match verdict {
        Ok(warnings) if warnings.is_empty() => Line {
            text: format!("{head} ok"),
            valid: true,
        },
        Ok(warnings) => {
            let notes: Vec<String> = warnings
                .iter()
                .map(|w| format!("{w} [{}]", w.reason()))
                .collect();
            Line {
                text: format!("{head} ok; {}", notes.join("; ")),
                valid: true,
            }
        }
        Err(e) => Line {
            text: format!("{head} invalid: {e} [{}]", e.reason()),
            valid: false,
        },
    })
}

fn invalid_packet(route: &str, e: &PacketError) -> Line {
    Line {
        text: format!("{route} invalid: {e} [{}]", e.reason()),
        valid: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use vigil_core::vrrp::{Advert, Auth, Version};

    const ADDRS: [IpAddr; 1] = [IpAddr::V4(Ipv4Addr::new(10, 77, 0, 100))];

    fn frame() -> Vec<u8> {
        let advert = Advert {
            version: Version::V3,
            vrid: 51,
            priority: 150,
            interval_cs: 50,
            auth: Auth::None,
            addrs: ADDRS.to_vec(),
        };
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend(advert.encode_ipv4(Ipv4Addr::new(10, 77, 0, 1), Ipv4Addr::new(224, 0, 0, 18), 1));
        f
    }

    #[test]
    fn a_valid_advert_is_one_line_ending_in_ok() {
        let line = check_frame(Link::Ethernet, &frame(), None);
        assert_eq!(
            line,
            Some(Line {
                text: "10.77.0.1 -> 224.0.0.18 v3 vrid 51 prio 150 int 0.50s addrs 10.77.0.100 auth none ok"
                    .into(),
                valid: true
            })
        );
    }

    #[test]
    fn a_lookup_checks_against_the_config() {
        const NONE: Auth = Auth::None;
        let lookup = |d: &Decoded| {
            (d.advert.vrid == 51).then(|| Expected::new(Version::V3, 51, &NONE, 100, &ADDRS))
        };
        let line = check_frame(Link::Ethernet, &frame(), Some(&lookup));
        assert!(line.is_some_and(|l| l.valid && l.text.ends_with("[interval_adopted]")));
        let nothing = |_: &Decoded| None;
        let line = check_frame(Link::Ethernet, &frame(), Some(&nothing));
        assert!(line.is_some_and(|l| !l.valid && l.text.ends_with("is not configured [vrid]")));
    }

    #[test]
    fn a_corrupt_advert_names_the_check() {
        let mut f = frame();
        let last = f.len() - 1;
        f[last] ^= 1;
        let line = check_frame(Link::Ethernet, &f, None);
        assert!(line.is_some_and(|l| !l.valid && l.text.contains("checksum")));
    }

    #[test]
    fn non_vrrp_frames_are_skipped() {
        let mut f = frame();
        f[14 + 9] = 17;
        assert_eq!(check_frame(Link::Ethernet, &f, None), None);
    }

    #[test]
    fn pcapng_timestamps_follow_if_tsresol() {
        assert_eq!(rescale(1_500_000, 6), Duration::from_millis(1500));
        assert_eq!(rescale(1_500_000_000, 9), Duration::from_millis(1500));
        assert_eq!(rescale(3 << 20, 0x94), Duration::from_secs(3));
    }
}

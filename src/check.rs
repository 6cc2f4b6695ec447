//! `vigil check`: the `keepalived -t` of vigil.
//!
//! Prints every diagnostic (`file:line:col: severity: message`, the quoted
//! text, the hint) and a summary line. Exit status 0 without errors
//! (warnings allowed), 1 with errors, 2 when the file cannot be read.
//! `--strict` counts warnings as errors, for CI jobs that want
//! `keepalived -t`'s stricter verdict on unknown keywords.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use vigil_core::config::{self, Diagnostic, Options, Parsed, Severity};

use crate::fs_loader::FsLoader;

/// Which config to read, as keepalived's `-f` and `-i` say (`vigil check`
/// and `vigil run` take both).
#[derive(Debug, clap::Args)]
pub struct Source {
    /// The keepalived.conf to read.
    #[arg(
        short = 'f',
        long = "use-file",
        value_name = "FILE",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    pub file: PathBuf,
    /// Like `keepalived -i ID`: keep `@ID` lines, drop `@^ID` ones.
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub source: Source,
    /// Print the resolved model as JSON on stdout (diagnostics go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Check interface names against this host's (`/sys/class/net`); off by
    /// default because a config is usually checked away from its router.
    #[arg(long)]
    pub host_interfaces: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let interfaces = if args.host_interfaces {
        match host_interfaces() {
            Ok(list) => Some(list),
            Err(e) => {
                eprintln!("vigil: cannot list interfaces in /sys/class/net: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let (parsed, report) = match read(&args.source, interfaces, args.strict) {
        Ok(read) => read,
        Err(why) => {
            eprintln!("vigil: {why}");
            return ExitCode::from(2);
        }
    };
    let result = if args.json {
        print_json(&parsed, &report)
    } else {
        report.write(&mut io::stdout().lock())
    };
    if let Err(e) = result {
        // A closed pipe (`vigil check | head`) is not the config's fault.
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("vigil: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::from(report.exit_status())
}

/// Reads and checks a config as `vigil check` does (the daemon reads its
/// config through here too); `Err` says why the main file cannot be read.
pub fn read(
    source: &Source,
    interfaces: Option<Vec<String>>,
    strict: bool,
) -> Result<(Parsed, Report), String> {
    let opts = Options {
        config_id: source.config_id.clone(),
        interfaces,
        ..Options::default()
    };
    let parsed = config::parse_with(&source.file.to_string_lossy(), &FsLoader, &opts);
    if parsed.unreadable() {
        return Err(parsed
            .diagnostics
            .iter()
            .find(|d| d.line == 0)
            .map_or_else(|| "cannot read it".to_string(), |d| d.message.clone()));
    }
    let report = Report::new(&parsed, strict);
    Ok((parsed, report))
}

fn print_json(parsed: &Parsed, report: &Report) -> io::Result<()> {
    report.write(&mut io::stderr().lock())?;
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &parsed.model).map_err(io::Error::other)?;
    writeln!(out)
}

/// The interface names of this host.
pub fn host_interfaces() -> io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// The diagnostics as `vigil check` shows them, with `--strict` applied.
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(parsed: &Parsed, strict: bool) -> Self {
        let diagnostics = parsed
            .diagnostics
            .iter()
            .cloned()
            .map(|mut d| {
                if strict && d.severity == Severity::Warning {
                    d.severity = Severity::Error;
                }
                d
            })
            .collect();
        Report { diagnostics }
    }

    fn count(&self, s: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == s).count()
    }

    pub fn exit_status(&self) -> u8 {
        u8::from(self.count(Severity::Error) > 0)
    }

    /// `N errors, M warnings` (and notes when there are any).
    pub fn summary(&self) -> String {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let mut s = format!(
            "{}, {}",
            plural(self.count(Severity::Error), "error"),
            plural(self.count(Severity::Warning), "warning")
        );
        let notes = self.count(Severity::Note);
        if notes > 0 {
            s.push_str(&format!(", {}", plural(notes, "note")));
        }
        s
    }

    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        for d in &self.diagnostics {
            writeln!(out, "{d}")?;
        }
        writeln!(out, "{}", self.summary())
    }
}

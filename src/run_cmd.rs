//! `vigil run`: the daemon (VRRP, health checks) in the foreground, as
//! `keepalived -n` runs (systemd's `Type=simple`; `dist/vigil.service`).
//!
//! The config is read and checked exactly as `vigil check --host-interfaces`
//! does: with errors the daemon does not start and prints what `vigil check`
//! prints (exit 1); warnings are logged. SIGHUP re-reads it the same way and
//! keeps the running config when the new one has errors.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tracing::{error, info, warn};
use vigil_core::config::Config;
use vigil_netns::driver::signals::Request;
use vigil_netns::driver::{self, Options, control, dump};

use crate::check::{self, Report, Source};
use crate::logging::{self, LogFormat};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub source: Source,
    /// Write the daemon's pid here; removed when it exits.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// How log lines look on stderr (or in syslog).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log to the local syslog (/dev/log) instead of stderr.
    #[arg(long)]
    pub syslog: bool,
    /// Like keepalived's: leave the virtual addresses in place on stop.
    #[arg(long)]
    pub dont_release_vrrp: bool,
    /// Like keepalived's: leave the virtual servers in IPVS on stop.
    #[arg(long)]
    pub dont_release_ipvs: bool,
    /// Where `vigil status` reaches the daemon (a Unix socket, mode 0600).
    #[arg(long, value_name = "PATH", default_value = control::DEFAULT_SOCKET)]
    pub control_socket: PathBuf,
    /// Where the DATA, STATS and JSON signals write vigil.data, vigil.stats
    /// and vigil.json [default: $TMPDIR, else /tmp, as keepalived].
    #[arg(long, value_name = "DIR")]
    pub dump_dir: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9650).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Like keepalived's: print the number of the signal for NAME (STOP,
    /// RELOAD, DATA, STATS, STATS_CLEAR, JSON) and exit.
    #[arg(long, value_name = "NAME")]
    pub signum: Option<String>,
}

pub fn run(args: &Args) -> ExitCode {
    if let Some(name) = &args.signum {
        return signum(name);
    }
    if let Err(e) = logging::init(args.log_format, args.syslog) {
        eprintln!("vigil: cannot start logging: {e}");
        return ExitCode::from(1);
    }
    let config = match load(args) {
        Ok(config) => config,
        Err(text) => {
            // On stderr as `vigil check` prints it and before any log line,
            // whatever the log goes to.
            eprint!("{text}");
            error!("the configuration has errors; not started");
            return ExitCode::from(1);
        }
    };
    info!(
        "Starting vigil {} with {}",
        env!("CARGO_PKG_VERSION"),
        args.source.file.display()
    );
    let _pid = match args.pid_file.as_deref().map(PidFile::create).transpose() {
        Ok(pid) => pid,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(1);
        }
    };
    let options = Options {
        dont_release_vrrp: args.dont_release_vrrp,
        dont_release_ipvs: args.dont_release_ipvs,
        control_socket: Some(args.control_socket.clone()),
        dump_dir: args.dump_dir.clone().unwrap_or_else(dump::default_dir),
        metrics_listen: args.metrics_listen,
    };
    match driver::run(config, &options, || {
        info!("Reloading configuration {}", args.source.file.display());
        load(args)
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::from(1)
        }
    }
}

/// `--signum NAME`: the number on stdout, exit 0; an unknown name is an
/// error (exit 1), as keepalived has it.
fn signum(name: &str) -> ExitCode {
    match Request::named(name) {
        Some(r) => {
            println!("{}", r.signal());
            ExitCode::SUCCESS
        }
        None => {
            let names = Request::names().join(", ");
            eprintln!("vigil run: unknown signal function {name} (one of {names})");
            ExitCode::from(1)
        }
    }
}

/// The config as `vigil check --host-interfaces` sees it: `Err` is what that
/// prints (every diagnostic, then the summary) when there are errors.
fn load(args: &Args) -> Result<Config, String> {
    let interfaces = check::host_interfaces().ok();
    let (parsed, report) =
        check::read(&args.source, interfaces, false).map_err(|why| format!("vigil: {why}\n"))?;
    if report.exit_status() != 0 {
        return Err(render(&report));
    }
    for d in &report.diagnostics {
        for line in d.to_string().lines() {
            warn!("{line}");
        }
    }
    Ok(parsed.model)
}

fn render(report: &Report) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = report.write(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The pid file, removed when the daemon exits (however `run` returns).
struct PidFile(PathBuf);

impl PidFile {
    fn create(path: &Path) -> io::Result<PidFile> {
        let mut f = std::fs::File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("pid file {}: {e}", path.display())))?;
        writeln!(f, "{}", std::process::id())?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Already gone (an operator removed it) is fine.
        let _ = std::fs::remove_file(&self.0);
    }
}

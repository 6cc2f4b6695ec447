//! A kernel with IPVS for tests on hosts whose kernel has none.
//!
//! Debian's kernel package is downloaded (never installed) and unpacked
//! under a cache directory, a busybox initramfs is built for it, and qemu
//! boots it under TCG with the host's root shared read-only over virtio-9p.
//! The guest chroots into the host's root (under a tmpfs overlay, so it can
//! write) and runs one command; its output and exit status come back
//! through a writable 9p share, the run directory. Everything is cached
//! under names that say what they were built from, so a second run only
//! boots (about 10 s).
//!
//! On a terminal a spinner on stderr says which step (download, unpack,
//! initramfs, boot) is under way and for how long; elsewhere nothing.
//!
//! Needs qemu-system-x86, busybox-static, cpio, kmod, apt and dpkg.

mod initramfs;
mod kernel;
mod qemu;

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Why the VM could not run a command.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// A tool the VM needs is missing or failed.
    #[error("{what}: {detail}")]
    Tool { what: String, detail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("the VM ran for more than {0:?}; console:\n{1}")]
    Timeout(Duration, String),
    /// The guest powered off without an exit status.
    #[error("the guest did not run the command; console:\n{0}")]
    Boot(String),
}

impl VmError {
    fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> VmError {
        let what = what.into();
        move |source| VmError::Io { what, source }
    }
}

/// A step of the VM's as a spinner on stderr with its time so far: drawn
/// only when stderr is a terminal (indicatif hides it otherwise), cleared
/// when dropped, however the step ends.
struct Progress(ProgressBar);

impl Progress {
    fn start(step: impl Into<Cow<'static, str>>) -> Progress {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} vm: {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.set_message(step);
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        Progress(bar)
    }

    fn step(&self, step: impl Into<Cow<'static, str>>) {
        self.0.set_message(step);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Whether this kernel has IPVS: loaded, or loadable with `modprobe`.
pub fn host_has_ipvs() -> bool {
    crate::driver::ipvs::kernel_has_ipvs()
}

/// `target/vm` of this workspace (or of `CARGO_TARGET_DIR`).
pub fn default_cache() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("vm")
}

/// Runs `cmd`, failing with its stderr unless it exits 0.
fn tool(cmd: &mut Command) -> Result<Output, VmError> {
    let what = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| VmError::Tool {
        what: what.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(VmError::Tool {
            what,
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(out)
}

/// A bootable kernel and initramfs, and the module tree they go with.
#[derive(Clone, Debug)]
pub struct Vm {
    kernel: PathBuf,
    initrd: PathBuf,
    /// The unpacked `lib/modules`, which the guest mounts at /lib/modules.
    modules: PathBuf,
    cache: PathBuf,
}

/// A command to run in the guest, as root, in the host's file tree.
#[derive(Clone, Debug)]
pub struct GuestCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// For the whole boot; the VM is killed after it.
    pub timeout: Duration,
}

impl GuestCommand {
    pub fn new(program: impl Into<PathBuf>) -> GuestCommand {
        GuestCommand {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: PathBuf::from("/"),
            timeout: Duration::from_secs(600),
        }
    }
}

/// What a guest command did. Its run directory, writable by the command as
/// `$VIGIL_VM_RUN`, goes away with this value.
#[derive(Debug)]
pub struct GuestRun {
    /// The command's exit status.
    pub status: i32,
    /// Its standard output and error, interleaved.
    pub output: String,
    /// What the guest kernel and init printed.
    pub console: String,
    dir: PathBuf,
}

impl GuestRun {
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for GuestRun {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Vm {
    /// Why a VM cannot be had here, if it cannot.
    pub fn unavailable() -> Option<String> {
        let missing: Vec<&str> = [
            "qemu-system-x86_64",
            "cpio",
            "depmod",
            "modprobe",
            "apt-get",
            "dpkg-deb",
        ]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
        if !missing.is_empty() {
            return Some(format!("no {} on PATH", missing.join(", ")));
        }
        initramfs::static_busybox().err()
    }

    /// The kernel and initramfs in `cache`, fetched and built first if
    /// they are not there.
    pub fn prepare(cache: &Path) -> Result<Vm, VmError> {
        std::fs::create_dir_all(cache)
            .map_err(VmError::io(format!("creating {}", cache.display())))?;
        let cache = cache
            .canonicalize()
            .map_err(VmError::io(format!("resolving {}", cache.display())))?;
        let progress = Progress::start("looking for Debian's kernel in the cache");
        let unpacked = kernel::unpacked(&cache, &progress)?;
        let initrd = initramfs::build(&cache, &unpacked, &progress)?;
        Ok(Vm {
            kernel: unpacked.vmlinuz,
            initrd,
            modules: unpacked.modules,
            cache,
        })
    }

    /// Boots, runs `cmd` and powers off.
    pub fn run(&self, cmd: &GuestCommand) -> Result<GuestRun, VmError> {
        qemu::run(self, cmd)
    }
}

/// Runs `program args` as root in one boot, in the current directory,
/// preparing the VM in [`default_cache`] first (`vigil-vm`, `vigil lab
/// --vm`).
pub fn run_here(
    program: PathBuf,
    args: Vec<String>,
    timeout: Duration,
) -> Result<GuestRun, VmError> {
    if let Some(why) = Vm::unavailable() {
        return Err(VmError::Tool {
            what: "no VM can be run".into(),
            detail: why,
        });
    }
    let vm = Vm::prepare(&default_cache())?;
    let mut cmd = GuestCommand::new(program);
    cmd.args = args;
    cmd.cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    cmd.timeout = timeout;
    vm.run(&cmd)
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

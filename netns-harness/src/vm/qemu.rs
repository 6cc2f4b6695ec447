//! One boot: qemu under TCG (KVM cannot boot a stock kernel on these
//! machines), the host's root shared read-only and the run directory
//! writable, the command's status read back from the run directory.

use super::{GuestCommand, GuestRun, Progress, Vm, VmError};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Quotes `s` for `sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The script init runs in the chroot.
fn script(cmd: &GuestCommand, run: &Path) -> String {
    let mut s = String::from(
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root\n",
    );
    s += &format!("export VIGIL_VM_RUN={}\n", quote(&run.to_string_lossy()));
    for (k, v) in &cmd.env {
        s += &format!("export {k}={}\n", quote(v));
    }
    s += &format!("cd {} || exit 125\n", quote(&cmd.cwd.to_string_lossy()));
    s += &format!("exec {}", quote(&cmd.program.to_string_lossy()));
    for a in &cmd.args {
        s += " ";
        s += &quote(a);
    }
    s + "\n"
}

/// Paths go on the kernel command line, which splits at spaces.
fn plain(p: &Path) -> Result<String, VmError> {
    let s = p.to_str().filter(|s| !s.contains(char::is_whitespace));
    s.map(str::to_owned).ok_or_else(|| VmError::Tool {
        what: p.display().to_string(),
        detail: "the VM needs paths without spaces".into(),
    })
}

pub(super) fn run(vm: &Vm, cmd: &GuestCommand) -> Result<GuestRun, VmError> {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let dir = vm.cache.join(format!(
        "run-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(VmError::io(format!("creating {}", dir.display())))?;
    // Removed with the GuestRun, or here on an early return.
    let mut run = GuestRun {
        status: -1,
        output: String::new(),
        console: String::new(),
        dir,
    };
    std::fs::write(run.dir.join("cmd.sh"), script(cmd, &run.dir))
        .map_err(VmError::io("writing cmd.sh"))?;

    let append = format!(
        "console=ttyS0 quiet panic=-1 vigil.modules={} vigil.run={}",
        plain(&vm.modules)?,
        plain(&run.dir)?
    );
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg,thread=multi", "-smp", "2", "-m", "1024"])
        .args(["-nographic", "-no-reboot", "-nic", "none"])
        .arg("-kernel")
        .arg(&vm.kernel)
        .arg("-initrd")
        .arg(&vm.initrd)
        .args(["-append", &append])
        .args([
            "-virtfs",
            "local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap",
        ])
        .arg("-virtfs")
        .arg(format!(
            "local,path={},mount_tag=run,security_model=passthrough",
            plain(&run.dir)?
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| VmError::Tool {
            what: "qemu-system-x86_64".into(),
            detail: e.to_string(),
        })?;
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );

    let _progress = Progress::start(format!(
        "booting Debian's kernel under qemu to run {}",
        cmd.program.display()
    ));
    let deadline = Instant::now() + cmd.timeout;
    let timed_out = loop {
        match child.try_wait().map_err(VmError::io("waiting for qemu"))? {
            Some(_) => break false,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break true;
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let mut console = stdout.join().unwrap_or_default();
    console.extend(stderr.join().unwrap_or_default());
    run.console = String::from_utf8_lossy(&console).replace('\r', "");
    run.output = std::fs::read_to_string(run.dir.join("output")).unwrap_or_default();
    if timed_out {
        return Err(VmError::Timeout(
            cmd.timeout,
            format!("{}\n{}", run.console, run.output),
        ));
    }
    let status = std::fs::read_to_string(run.dir.join("status")).unwrap_or_default();
    run.status = status
        .trim()
        .parse()
        .map_err(|_| VmError::Boot(run.console.clone()))?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_quotes_what_it_is_given() {
        let mut cmd = GuestCommand::new("/t/x y");
        cmd.args = vec!["it's".into(), "--flag".into()];
        cmd.env = vec![("A".into(), "1 2".into())];
        cmd.cwd = "/w".into();
        let s = script(&cmd, Path::new("/r"));
        assert!(s.contains("export VIGIL_VM_RUN='/r'\n"));
        assert!(s.contains("export A='1 2'\n"));
        assert!(s.contains("cd '/w' || exit 125\n"));
        assert!(s.ends_with("exec '/t/x y' 'it'\\''s' '--flag'\n"));
    }
}

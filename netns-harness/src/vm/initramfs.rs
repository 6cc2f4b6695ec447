//! The guest's initramfs: a static busybox, the modules needed to reach the
//! host's root (virtio PCI, 9p, overlay) in load order, and `init.sh`.
//! Its name hashes what it is built from.

use super::kernel::Unpacked;
use super::{Progress, VmError, tool};
use md5::{Digest, Md5};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const INIT: &str = include_str!("init.sh");
const BUSYBOX: &str = "/bin/busybox";
/// What the guest loads before it can mount anything; their dependencies
/// come along.
const BOOT_MODULES: [&str; 4] = ["virtio_pci", "9pnet_virtio", "9p", "overlay"];

/// `/bin/busybox` if it is statically linked (busybox-static), as a binary
/// alone in an initramfs has to be.
pub(super) fn static_busybox() -> Result<PathBuf, String> {
    let bytes = std::fs::read(BUSYBOX).map_err(|e| format!("{BUSYBOX}: {e} (busybox-static?)"))?;
    if has_interpreter(&bytes).ok_or_else(|| format!("{BUSYBOX} is not a 64-bit ELF file"))? {
        return Err(format!(
            "{BUSYBOX} is dynamically linked: install busybox-static"
        ));
    }
    Ok(PathBuf::from(BUSYBOX))
}

/// Whether a 64-bit little-endian ELF file names a program interpreter
/// (`PT_INTERP`), i.e. is dynamically linked; `None` if it is no such file.
fn has_interpreter(elf: &[u8]) -> Option<bool> {
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(elf.get(o..o + 2)?.try_into().ok()?));
    let phoff = usize::try_from(u64::from_le_bytes(elf.get(0x20..0x28)?.try_into().ok()?)).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    (0..phnum).try_fold(false, |found, i| {
        let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
        let p_type = u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?);
        Some(found || p_type == 3)
    })
}

/// The `.ko` files of [`BOOT_MODULES`] and their dependencies, in the order
/// `modprobe` would insert them.
fn boot_modules(k: &Unpacked) -> Result<Vec<PathBuf>, VmError> {
    let root = k.modules.join("../..");
    let mut out: Vec<PathBuf> = Vec::new();
    for m in BOOT_MODULES {
        let deps = tool(Command::new("modprobe").arg("-d").arg(&root).args([
            "-S",
            &k.release,
            "--show-depends",
            m,
        ]))?;
        // `insmod /path/x.ko` lines; `builtin x` ones need nothing.
        for line in String::from_utf8_lossy(&deps.stdout).lines() {
            if let Some(path) = line.strip_prefix("insmod ") {
                let path = PathBuf::from(path.trim());
                if !out.contains(&path) {
                    out.push(path);
                }
            }
        }
    }
    Ok(out)
}

/// The initramfs for `k`, built into `cache` unless it is there.
pub(super) fn build(cache: &Path, k: &Unpacked, progress: &Progress) -> Result<PathBuf, VmError> {
    let busybox = static_busybox().map_err(|detail| VmError::Tool {
        what: "busybox".into(),
        detail,
    })?;
    let busybox = std::fs::read(&busybox).map_err(VmError::io(BUSYBOX))?;
    let modules = boot_modules(k)?;
    let mut hash = Md5::new();
    hash.update(INIT);
    hash.update(&busybox);
    hash.update(&k.release);
    for m in &modules {
        hash.update(m.as_os_str().as_encoded_bytes());
    }
    let key: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = cache.join(format!("initrd-{}-{key}.cpio", k.release));
    if out.exists() {
        return Ok(out);
    }
    progress.step(format!("building the initramfs for {}", k.release));

    let stage = cache.join(format!("initrd.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&stage);
    let io = |what: &str| VmError::io(format!("{what} in {}", stage.display()));
    for d in ["bin", "boot-modules", "dev", "proc", "sys", "tmp"] {
        std::fs::create_dir_all(stage.join(d)).map_err(io("creating directories"))?;
    }
    let exe = std::fs::Permissions::from_mode(0o755);
    std::fs::write(stage.join("bin/busybox"), &busybox).map_err(io("writing busybox"))?;
    std::fs::set_permissions(stage.join("bin/busybox"), exe.clone()).map_err(io("chmod"))?;
    std::fs::write(stage.join("init"), INIT).map_err(io("writing init"))?;
    std::fs::set_permissions(stage.join("init"), exe).map_err(io("chmod"))?;
    let mut names = vec![
        "bin",
        "bin/busybox",
        "boot-modules",
        "dev",
        "init",
        "proc",
        "sys",
        "tmp",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for (i, m) in modules.iter().enumerate() {
        let file = m
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("module.ko");
        let name = format!("boot-modules/{i:02}-{file}");
        std::fs::copy(m, stage.join(&name)).map_err(io("copying modules"))?;
        names.push(name);
    }

    let tmp = out.with_extension("tmp");
    let file =
        std::fs::File::create(&tmp).map_err(VmError::io(format!("creating {}", tmp.display())))?;
    let mut cpio = Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet", "-R", "0:0"])
        .current_dir(&stage)
        .stdin(Stdio::piped())
        .stdout(file)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| VmError::Tool {
            what: "cpio".into(),
            detail: e.to_string(),
        })?;
    if let Some(mut stdin) = cpio.stdin.take() {
        stdin
            .write_all((names.join("\n") + "\n").as_bytes())
            .map_err(VmError::io("feeding cpio"))?;
    }
    let done = cpio
        .wait_with_output()
        .map_err(VmError::io("running cpio"))?;
    if !done.status.success() {
        return Err(VmError::Tool {
            what: "cpio".into(),
            detail: String::from_utf8_lossy(&done.stderr).into_owned(),
        });
    }
    std::fs::rename(&tmp, &out).map_err(VmError::io(format!("renaming {}", tmp.display())))?;
    let _ = std::fs::remove_dir_all(&stage);
    // Older builds are dead weight.
    for e in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("initrd-") && name.ends_with(".cpio") && e.path() != out {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_elf_with_pt_interp_is_dynamic() {
        // A minimal ELF64 header with one program header at 64.
        let mut elf = vec![0u8; 64 + 56];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        elf[64..68].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        assert_eq!(has_interpreter(&elf), Some(false));
        elf[64..68].copy_from_slice(&3u32.to_le_bytes()); // PT_INTERP
        assert_eq!(has_interpreter(&elf), Some(true));
        assert_eq!(has_interpreter(&elf[..66]), None);
        assert_eq!(has_interpreter(b"#!/bin/sh"), None);
    }
}

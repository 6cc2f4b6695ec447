//! Debian's kernel, downloaded with apt and unpacked with dpkg, never
//! installed. `linux-image-amd64` is a meta package: its dependency names
//! the real one (`linux-image-6.1.0-56-amd64`), whose name says which
//! kernel it is, so that name is the cache key.

use super::{Progress, VmError, tool};
use std::path::{Path, PathBuf};
use std::process::Command;

const META: &str = "linux-image-amd64";
/// Written last into an unpacked kernel's directory.
const DONE: &str = ".unpacked";

/// A kernel unpacked under the cache.
pub(super) struct Unpacked {
    pub vmlinuz: PathBuf,
    /// The `lib/modules` directory, with `depmod`'s files.
    pub modules: PathBuf,
    /// `uname -r` of the kernel.
    pub release: String,
}

/// The kernel in `cache`: one unpacked earlier, else Debian's current one,
/// downloaded now.
pub(super) fn unpacked(cache: &Path, progress: &Progress) -> Result<Unpacked, VmError> {
    let dir = match cached(cache)? {
        Some(dir) => dir,
        None => fetch(cache, progress)?,
    };
    describe(&dir)
}

/// The newest kernel unpacked under `cache`.
fn cached(cache: &Path) -> Result<Option<PathBuf>, VmError> {
    let entries =
        std::fs::read_dir(cache).map_err(VmError::io(format!("reading {}", cache.display())))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("linux-image-"))
                && p.join(DONE).exists()
        })
        .collect();
    dirs.sort();
    Ok(dirs.pop())
}

fn describe(dir: &Path) -> Result<Unpacked, VmError> {
    let modules = dir.join("lib/modules");
    let release = std::fs::read_dir(&modules)
        .map_err(VmError::io(format!("reading {}", modules.display())))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .find_map(|e| e.file_name().into_string().ok())
        .ok_or_else(|| VmError::Tool {
            what: modules.display().to_string(),
            detail: "no kernel release directory".into(),
        })?;
    Ok(Unpacked {
        vmlinuz: dir.join(format!("boot/vmlinuz-{release}")),
        modules,
        release,
    })
}

/// `apt-get download` into `dir`; returns the .deb it wrote.
fn download(dir: &Path, package: &str) -> Result<PathBuf, VmError> {
    tool(
        Command::new("apt-get")
            .args(["-q", "-o", "APT::Sandbox::User=root", "download", package])
            .current_dir(dir),
    )?;
    let prefix = format!("{package}_");
    std::fs::read_dir(dir)
        .map_err(VmError::io(format!("reading {}", dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
        .ok_or_else(|| VmError::Tool {
            what: format!("apt-get download {package}"),
            detail: "wrote no .deb".into(),
        })
}

/// The first package a `Depends:` field names: `linux-image-6.1.0-56-amd64
/// (= 6.1.192-2)` gives `linux-image-6.1.0-56-amd64`.
fn first_dependency(depends: &str) -> Option<&str> {
    let first = depends.split([',', '|']).next()?.trim();
    let name = first.split_whitespace().next()?;
    (!name.is_empty()).then_some(name)
}

/// Downloads Debian's current kernel and unpacks it as
/// `cache/<package>/`, with `depmod`'s files for its modules.
fn fetch(cache: &Path, progress: &Progress) -> Result<PathBuf, VmError> {
    let debs = cache.join("debs");
    let _ = std::fs::remove_dir_all(&debs);
    std::fs::create_dir_all(&debs).map_err(VmError::io(format!("creating {}", debs.display())))?;
    progress.step(format!("downloading {META}"));
    let meta = download(&debs, META)?;
    let depends = tool(Command::new("dpkg-deb").arg("-f").arg(&meta).arg("Depends"))?;
    let depends = String::from_utf8_lossy(&depends.stdout);
    let package = first_dependency(&depends)
        .filter(|p| p.starts_with("linux-image-"))
        .ok_or_else(|| VmError::Tool {
            what: format!("dpkg-deb -f {} Depends", meta.display()),
            detail: format!("no linux-image package in {depends:?}"),
        })?
        .to_owned();
    progress.step(format!("downloading {package} (once: it is cached)"));
    let deb = download(&debs, &package)?;
    let dir = cache.join(&package);
    let _ = std::fs::remove_dir_all(&dir);
    progress.step(format!("unpacking {package}"));
    tool(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&dir))?;
    let release = describe(&dir)?.release;
    progress.step(format!("depmod {release}"));
    tool(Command::new("depmod").arg("-b").arg(&dir).arg(&release))?;
    std::fs::write(dir.join(DONE), &package).map_err(VmError::io("marking the kernel unpacked"))?;
    let _ = std::fs::remove_dir_all(&debs);
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meta_package_dependency_names_the_real_kernel() {
        assert_eq!(
            first_dependency("linux-image-6.1.0-56-amd64 (= 6.1.192-2)\n"),
            Some("linux-image-6.1.0-56-amd64")
        );
        assert_eq!(
            first_dependency("linux-image-6.12.9-amd64 | linux-image-6.12.9-amd64-unsigned, foo"),
            Some("linux-image-6.12.9-amd64")
        );
        assert_eq!(first_dependency(""), None);
    }
}

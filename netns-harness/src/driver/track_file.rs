//! `track_file`s watched with inotify, as keepalived 2.2.7 watches them
//! (`trackers/track_file.c`): the watch is on each file's directory, so a
//! file written, renamed over, deleted or created is seen as it happens,
//! and a file that does not exist yet can be tracked. A file reads as its
//! first number ([`track::file_value`]); one absent or unreadable reads 0.
//!
//! The path is resolved when its watch is set: a symlinked file is watched
//! where it points, as keepalived does. When a directory cannot be watched
//! (it does not exist, or inotify's limits are reached) the error is
//! logged and the file counts as 0 until a reload sets the watch again;
//! keepalived drops such a file from its config, which leaves the
//! instances the same (0 × weight, and no fault). A watched directory that
//! is removed or moved away is looked up again at once: one put in its
//! place is watched, otherwise the file counts as 0 until a reload.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, InotifyEvent, WatchDescriptor};
use tokio::io::AsyncReadExt;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendError;
use tracing::error;
use vigil_core::vrrp::track;

use super::track::Report;

/// keepalived's events (a file closed after writing, deleted, moved in or
/// out), a file created in place (a link or symlink made there gives no
/// other event), and the directory itself moving away.
const EVENTS: AddWatchFlags = AddWatchFlags::IN_CLOSE_WRITE
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_MOVED_FROM)
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_CREATE)
    .union(AddWatchFlags::IN_MOVE_SELF)
    .union(AddWatchFlags::IN_ONLYDIR);

/// At most this much of a file is read; its first word is all that counts.
const READ_LIMIT: u64 = 4096;

/// Watches `files` (each track_file's name and configured path) and sends
/// each one's value at start and whenever it changes, until `reports`
/// closes.
pub async fn watch(files: Vec<(String, PathBuf)>, reports: mpsc::Sender<Report>) {
    let files = files
        .into_iter()
        .map(|(name, path)| File {
            name,
            path,
            watch: None,
            value: None,
        })
        .collect();
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
        .map_err(io::Error::from)
        .and_then(|i| {
            // SAFETY: the AsyncFd owns the Inotify and so its descriptor,
            // which stays open and the same while registered.
            unsafe { AsyncFd::register_with_interest(Fd(i), Interest::READABLE) }
                .map_err(io::Error::from)
        });
    let mut w = Watcher { files, reports };
    // Only a closed channel ends the watch: the daemon is going away.
    let _ = w.run(inotify.as_ref()).await;
}

/// One tracked file.
struct File {
    name: String,
    path: PathBuf,
    /// Its directory's watch and its name in that directory.
    watch: Option<(WatchDescriptor, OsString)>,
    /// The value last reported.
    value: Option<i64>,
}

/// tokio's AsyncFd wants `AsRawFd`, which nix's Inotify leaves out.
struct Fd(Inotify);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

struct Watcher {
    files: Vec<File>,
    reports: mpsc::Sender<Report>,
}

impl Watcher {
    /// Arms every file, then follows the events; with no inotify instance
    /// (`Err`: why) every file counts as 0.
    async fn run(
        &mut self,
        inotify: Result<&AsyncFd<Fd>, &io::Error>,
    ) -> Result<(), SendError<Report>> {
        for i in 0..self.files.len() {
            self.arm(inotify, i).await?;
        }
        let Ok(inotify) = inotify else {
            return Ok(());
        };
        loop {
            let events = match read_events(inotify).await {
                Ok(events) => events,
                Err(e) => {
                    error!("track files: reading inotify events: {e}; changes are no longer seen");
                    return Ok(());
                }
            };
            for event in events {
                self.handle(inotify, event).await?;
            }
        }
    }

    /// Sets file `i`'s watch and reports what it reads, or 0 when its
    /// directory cannot be watched.
    async fn arm(
        &mut self,
        inotify: Result<&AsyncFd<Fd>, &io::Error>,
        i: usize,
    ) -> Result<(), SendError<Report>> {
        let file = &mut self.files[i];
        let watch = match inotify {
            Ok(inotify) => resolve(&file.path).and_then(|(dir, name)| {
                let wd = inotify.get_ref().0.add_watch(&dir, EVENTS)?;
                Ok((wd, name))
            }),
            Err(e) => Err(io::Error::new(e.kind(), format!("inotify: {e}"))),
        };
        match watch {
            Ok(watch) => {
                file.watch = Some(watch);
                let value = read(&file.path).await;
                self.report(i, value).await
            }
            Err(e) => {
                file.watch = None;
                error!(
                    "track_file {}: cannot watch the directory of {}: {e}; it counts as 0 until a reload",
                    file.name,
                    file.path.display()
                );
                self.report(i, 0).await
            }
        }
    }

    async fn handle(
        &mut self,
        inotify: &AsyncFd<Fd>,
        event: InotifyEvent,
    ) -> Result<(), SendError<Report>> {
        if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
            // Events were lost: read every watched file again.
            for i in 0..self.files.len() {
                if self.files[i].watch.is_some() {
                    let value = read(&self.files[i].path).await;
                    self.report(i, value).await?;
                }
            }
            return Ok(());
        }
        let of_dir: Vec<usize> = (0..self.files.len())
            .filter(|&i| {
                self.files[i]
                    .watch
                    .as_ref()
                    .is_some_and(|w| w.0 == event.wd)
            })
            .collect();
        if event
            .mask
            .intersects(AddWatchFlags::IN_IGNORED | AddWatchFlags::IN_MOVE_SELF)
        {
            // The directory was removed (the kernel dropped the watch) or
            // moved away (the watch would follow it): look the path up again.
            if event.mask.contains(AddWatchFlags::IN_MOVE_SELF) {
                // Its IN_IGNORED then matches no file.
                let _ = inotify.get_ref().0.rm_watch(event.wd);
            }
            for i in of_dir {
                self.arm(Ok(inotify), i).await?;
            }
            return Ok(());
        }
        if event.mask.contains(AddWatchFlags::IN_ISDIR) {
            return Ok(());
        }
        let Some(name) = event.name else {
            return Ok(());
        };
        for i in of_dir {
            if self.files[i].watch.as_ref().is_some_and(|w| w.1 == name) {
                let gone = event
                    .mask
                    .intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM);
                let value = if gone {
                    0
                } else {
                    read(&self.files[i].path).await
                };
                self.report(i, value).await?;
            }
        }
        Ok(())
    }

    /// Sends file `i`'s value if it changed.
    async fn report(&mut self, i: usize, value: i64) -> Result<(), SendError<Report>> {
        let file = &mut self.files[i];
        if file.value == Some(value) {
            return Ok(());
        }
        file.value = Some(value);
        let name = file.name.clone();
        self.reports.send(Report::File { name, value }).await
    }
}

/// The directory to watch for `path` and the file's name in it: the file
/// resolved through symlinks if it exists, else its resolved directory.
fn resolve(path: &Path) -> io::Result<(PathBuf, OsString)> {
    let full = match std::fs::canonicalize(path) {
        Ok(full) => full,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or(e)?;
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            std::fs::canonicalize(dir)?.join(name)
        }
        Err(e) => return Err(e),
    };
    match (full.parent(), full.file_name()) {
        (Some(dir), Some(name)) => Ok((dir.to_path_buf(), name.to_os_string())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file in a directory",
        )),
    }
}

/// The file's value; 0 when it is absent or unreadable. Opened without
/// blocking, as keepalived opens it, so a FIFO cannot hang the watch.
async fn read(path: &Path) -> i64 {
    let mut bytes = Vec::new();
    let read = async {
        let file = tokio::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .await?;
        file.take(READ_LIMIT).read_to_end(&mut bytes).await
    };
    match read.await {
        Ok(_) => track::file_value(&String::from_utf8_lossy(&bytes)),
        Err(_) => 0,
    }
}

/// The next batch of events.
async fn read_events(inotify: &AsyncFd<Fd>) -> io::Result<Vec<InotifyEvent>> {
    loop {
        let mut ready = inotify.readable().await?;
        if let Ok(events) = ready.try_io(|fd| fd.get_ref().0.read_events().map_err(io::Error::from))
        {
            return events;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// Generous: a change is seen in well under a millisecond here, but
    /// two busy cores may delay any task.
    const LIMIT: Duration = Duration::from_secs(2);

    /// Runs `body` against a watch of `files` on a current-thread runtime,
    /// as the daemon's threads run it.
    fn with_watch(files: &[(&str, &Path)], body: impl AsyncFnOnce(&mut mpsc::Receiver<Report>)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let files = files
            .iter()
            .map(|(name, path)| (name.to_string(), path.to_path_buf()))
            .collect();
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(16);
            let task = tokio::spawn(watch(files, tx));
            body(&mut rx).await;
            task.abort();
        });
    }

    /// The next report: which file, its value, and how long it took.
    async fn next(rx: &mut mpsc::Receiver<Report>) -> (String, i64, Duration) {
        let t = Instant::now();
        match tokio::time::timeout(LIMIT, rx.recv()).await {
            Ok(Some(Report::File { name, value })) => (name, value, t.elapsed()),
            other => panic!("no file report within {LIMIT:?}: {other:?}"),
        }
    }

    /// No report for a while (what the watch would have sent by then).
    async fn quiet(rx: &mut mpsc::Receiver<Report>) {
        let r = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
        assert!(r.is_err(), "unexpected report: {r:?}");
    }

    #[test]
    fn writes_renames_deletes_and_links_are_seen_as_they_happen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let drain = dir.path().join("drain");
        let other = dir.path().join("other");
        std::fs::write(&other, "9\n").expect("write");
        with_watch(&[("drain", &drain), ("other", &other)], async |rx| {
            // At start: an absent file reads 0, an existing one its number.
            let mut start = [next(rx).await, next(rx).await];
            start.sort();
            assert_eq!((&*start[0].0, start[0].1), ("drain", 0));
            assert_eq!((&*start[1].0, start[1].1), ("other", 9));

            std::fs::write(&drain, "3\n").expect("write");
            let (name, value, took) = next(rx).await;
            println!("a write to a new file seen after {took:?}");
            assert_eq!((&*name, value), ("drain", 3));

            std::fs::write(&drain, "-4 ignored words\n").expect("write");
            let (name, value, took) = next(rx).await;
            println!("a write over the file seen after {took:?}");
            assert_eq!((&*name, value), ("drain", -4));

            let tmp = dir.path().join(".drain.tmp");
            std::fs::write(&tmp, "5").expect("write");
            std::fs::rename(&tmp, &drain).expect("rename");
            let (name, value, took) = next(rx).await;
            println!("a rename over the file seen after {took:?}");
            assert_eq!((&*name, value), ("drain", 5));

            std::fs::remove_file(&drain).expect("remove");
            assert_eq!(next(rx).await.1, 0);

            // A symlink gives only IN_CREATE; it reads what it points to.
            std::os::unix::fs::symlink(&other, &drain).expect("symlink");
            let (name, value, _) = next(rx).await;
            assert_eq!((&*name, value), ("drain", 9));

            // The same value again is no change.
            std::fs::write(&other, "9\n").expect("write");
            quiet(rx).await;
        });
    }

    #[test]
    fn a_missing_directory_counts_as_zero_until_a_reload() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sub = dir.path().join("sub");
        let drain = sub.join("drain");
        with_watch(&[("drain", &drain)], async |rx| {
            assert_eq!(next(rx).await.1, 0);
            std::fs::create_dir(&sub).expect("mkdir");
            std::fs::write(&drain, "3").expect("write");
            quiet(rx).await;
        });
    }

    #[test]
    fn a_directory_renamed_over_the_watched_one_is_watched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sub = dir.path().join("sub");
        let new = dir.path().join("sub.new");
        let drain = sub.join("drain");
        std::fs::create_dir(&sub).expect("mkdir");
        std::fs::create_dir(&new).expect("mkdir");
        std::fs::write(new.join("drain"), "4").expect("write");
        with_watch(&[("drain", &drain)], async |rx| {
            assert_eq!(next(rx).await.1, 0);
            std::fs::rename(&new, &sub).expect("rename");
            assert_eq!(next(rx).await.1, 4);
            std::fs::write(&drain, "6").expect("write");
            assert_eq!(next(rx).await.1, 6);
            // Moved away: nothing is left at the path.
            std::fs::rename(&sub, &new).expect("rename");
            assert_eq!(next(rx).await.1, 0);
            std::fs::write(new.join("drain"), "7").expect("write");
            quiet(rx).await;
        });
    }
}

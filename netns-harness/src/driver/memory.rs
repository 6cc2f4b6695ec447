//! What startup and reloads leave resident, given back once they are done.
//!
//! keepalived parses its config in a parent and runs VRRP in a forked
//! child. The child starts with no heap garbage, and with none of the
//! parent's executable pages mapped, because a fork does not copy the page
//! tables of clean file mappings. vigil is one process, so it does both by
//! hand after startup and after each reload: it trims glibc's heap, and it
//! unmaps the pages of code and constants, which are then faulted back in
//! as they are used. Otherwise the kernel's fault-around keeps most of the
//! executable mapped (the parser, the simulator, the pcap tools that the
//! daemon never runs again) and counts it as the daemon's resident memory.

use std::fs;

/// Returns the heap, code and constants that startup or a reload used.
pub fn shed_startup() {
    return_free_heap();
    unmap_clean_file_pages();
}

/// Gives freed heap (command line, config text and model, netlink dumps)
/// back to the kernel; glibc keeps it in its arenas otherwise, and a
/// daemon that runs for months would carry its start's high-water mark.
fn return_free_heap() {
    // SAFETY: malloc_trim only walks glibc's own arenas.
    unsafe { libc::malloc_trim(0) };
}

/// Drops the page-table entries of every read-only file mapping (code,
/// constants, unwind tables): the pages stay in the page cache and come
/// back on the next access, as in a freshly forked child.
fn unmap_clean_file_pages() {
    // Without smaps (no /proc) nothing is dropped; the daemon is unchanged.
    let Ok(smaps) = fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for (start, end) in clean_read_only_mappings(&smaps) {
        // SAFETY: the range is a whole read-only private file mapping with
        // no private (anonymous) pages: MADV_DONTNEED only drops its
        // page-table entries, and every later access reads the same bytes
        // from the file again. Nothing Rust owns lives there.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// The `[start, end)` of each read-only private mapping of a file in
/// `smaps` that holds no private copy of a page. A page with a private
/// copy was written to: relocated before it was made read-only (RELRO),
/// or patched by a debugger's breakpoint or a uprobe. Dropping it would
/// lose that write.
fn clean_read_only_mappings(smaps: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut current = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-').and_then(|(s, e)| {
            Some((
                usize::from_str_radix(s, 16).ok()?,
                usize::from_str_radix(e, 16).ok()?,
            ))
        }) {
            // A mapping's header: range, perms, offset, device, inode, path.
            let perms = fields.next();
            let path = fields.nth(3);
            current = (matches!(perms, Some("r-xp" | "r--p"))
                && path.is_some_and(|p| p.starts_with('/')))
            .then_some((start, end));
        } else if first == "Anonymous:"
            && let Some(range) = current.take()
            && fields.next() == Some("0")
        {
            found.push(range);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0a00000-55d0c0b00000 r--p 00000000 08:01 1234 /usr/sbin/vigil
Rss:                 400 kB
Anonymous:             0 kB
55d0c0b00000-55d0c1100000 r-xp 00100000 08:01 1234 /usr/sbin/vigil
Rss:                5000 kB
Anonymous:             0 kB
55d0c1100000-55d0c1180000 r--p 00700000 08:01 1234 /usr/sbin/vigil
Anonymous:           276 kB
55d0c1180000-55d0c1200000 rw-p 00780000 08:01 1234 /usr/sbin/vigil
Anonymous:             0 kB
7f0000000000-7f0000100000 r-xp 00028000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             4 kB
7f0000200000-7f0000300000 r-xp 00000000 00:00 0
Anonymous:             0 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
";

    #[test]
    fn only_clean_read_only_file_mappings_are_dropped() {
        // The relocated RELRO and libc's patched page hold writes, the data
        // may be written at any time, the anonymous r-x region and the vDSO
        // are not files: vigil's constants and code are left.
        assert_eq!(
            clean_read_only_mappings(SMAPS),
            vec![
                (0x55d0c0a00000, 0x55d0c0b00000),
                (0x55d0c0b00000, 0x55d0c1100000)
            ]
        );
    }
}

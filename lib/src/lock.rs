//! The writers' lock: a process-shared robust mutex in the header (FORMAT.md, "Locking").
//!
//! A writer killed while holding it never wedges the woof: the kernel marks the mutex
//! owner-dead and the next writer takes it with EOWNERDEAD, repairs, and goes on.
//! A mutex persisted across a reboot (or copied from another machine) would still name
//! a dead owner with no one to mark it; the boot id stored beside it detects that, and
//! the first writer of a new boot re-initialises the mutex under an exclusive flock.
//! A lock copied with its file, or corrupt, is caught by the waiter (see `acquire`).

use std::fs::File;
use std::io;
use std::sync::atomic::{Ordering, fence};
use std::time::Duration;

use crate::format::{OFF_LOCK, OFF_LOCK_ABI, OFF_LOCK_BOOT, OFF_PUBLISHED};
use crate::map::{Locked, Map};
use crate::wake;

/// Releases the lock when dropped.
pub(crate) struct Guard<'a> {
    map: &'a Map,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.map.mutex_unlock(OFF_LOCK);
    }
}

/// Initialises the lock of a fresh file that no other process can see yet.
pub(crate) fn init(map: &Map) -> io::Result<()> {
    map.mutex_init(OFF_LOCK)?;
    stamp(map);
    Ok(())
}

/// Makes sure the lock was initialised in this boot, re-initialising it otherwise.
/// A lock set up in this boot by a program of another C library is left alone
/// (its writers may hold it); `acquire` refuses it.
pub(crate) fn ensure_epoch(file: &File, map: &Map) -> io::Result<()> {
    if is_current(map) || foreign(map).is_some() {
        return Ok(());
    }
    // Only the first writer of a boot gets here; the flock serialises those racing.
    file.lock()?;
    let res = if is_current(map) {
        Ok(())
    } else {
        // A machine crash may have cut a forwarded batch short.
        crate::origins::recover(map);
        init(map)
    };
    file.unlock()?;
    res
}

/// How long a writer waits for the lock before it checks that the holder exists.
/// Holders keep it for microseconds; only a lock no kernel will ever release (see
/// `acquire`) or a stopped writer waits this long.
const OWNER_CHECK: Duration = Duration::from_secs(1);

/// Takes the lock, repairing after a holder that died.
///
/// The kernel marks a robust mutex owner-dead only in the file its holder had
/// mapped. A copy or a backup made while a writer held the lock, or a corrupt lock
/// word, names a holder that no kernel will ever mark: waiting for it would be
/// for ever. So a writer that has waited `OWNER_CHECK` looks at the holder's thread
/// id; if no such thread is alive in this PID namespace (or the mutex is invalid),
/// it re-initialises the lock under an exclusive flock, as for a new boot.
/// (Writers of one woof therefore share a PID namespace: FORMAT.md, "Locking".)
pub(crate) fn acquire<'m>(file: &File, map: &'m Map) -> io::Result<Guard<'m>> {
    refuse_foreign(map)?;
    // The uncontended path: one compare-and-swap, no clock read.
    match map.mutex_trylock(OFF_LOCK) {
        Ok(Some(how)) => return taken(map, how),
        Ok(None) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => reinit_if_stale(file, map, None)?,
        Err(e) => return Err(e),
    }
    loop {
        match map.mutex_timedlock(OFF_LOCK, OWNER_CHECK) {
            Ok(Some(how)) => return taken(map, how),
            Ok(None) => {
                let owner = map.mutex_owner(OFF_LOCK);
                if owner != 0 && !thread_alive(owner) {
                    reinit_if_stale(file, map, Some(owner))?;
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => reinit_if_stale(file, map, None)?,
            Err(e) => return Err(e),
        }
    }
}

/// Re-initialises a lock whose holder `owner` cannot exist (None: the mutex is
/// invalid), if that is still so once we hold the flock that serialises repairers.
fn reinit_if_stale(file: &File, map: &Map, owner: Option<u32>) -> io::Result<()> {
    file.lock()?;
    let still = match owner {
        Some(tid) => map.mutex_owner(OFF_LOCK) == tid && !thread_alive(tid),
        None => {
            matches!(map.mutex_trylock(OFF_LOCK), Err(e) if e.raw_os_error() == Some(libc::EINVAL))
        }
    };
    let res = if still {
        crate::origins::recover(map);
        init(map)
    } else {
        Ok(())
    };
    file.unlock()?;
    if still {
        // Waiters asleep on the old word wake and retry; a dead holder may also
        // have left a follower's wake undone.
        map.futex_wake_all(OFF_LOCK);
        wake::notify(map, map.u64_at(OFF_PUBLISHED).load(Ordering::Acquire));
    }
    res
}

/// Whether thread `tid` is alive in this PID namespace (/proc shows every thread by
/// its id, hidden from listings but not from lookups). A zombie cannot release a
/// lock. Without /proc we cannot tell, and say alive: waiting is safe, re-initialising
/// a lock someone holds is not.
fn thread_alive(tid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{tid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().as_bytes().first()),
            Some(Some(b'Z' | b'X'))
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            !std::path::Path::new("/proc/self").exists()
        }
        Err(_) => true,
    }
}

/// Takes the lock if no one holds it (a dead holder does not count).
pub(crate) fn try_acquire(map: &Map) -> io::Result<Option<Guard<'_>>> {
    refuse_foreign(map)?;
    match map.mutex_trylock(OFF_LOCK)? {
        None => Ok(None),
        Some(how) => taken(map, how).map(Some),
    }
}

fn taken(map: &Map, how: Locked) -> io::Result<Guard<'_>> {
    if how == Locked::OwnerDied {
        // The dead writer either never published its slot (the next append
        // overwrites it) or published it whole; only a wake may be missing.
        // A forwarded batch it was appending is settled before anyone appends.
        crate::origins::recover(map);
        let latest = map.u64_at(OFF_PUBLISHED).load(Ordering::Acquire);
        wake::notify(map, latest);
        map.mutex_consistent(OFF_LOCK)?;
    }
    Ok(Guard { map })
}

/// The C library whose pthread mutex this process takes, as `lock_abi`'s high
/// half: glibc 0 (so files from before the tag still match), musl 1, others 2.
/// Each lays its mutex out its own way (glibc keeps the holder's tid where musl
/// keeps its waiter count): a writer of one reading the other's would wait for
/// ever, or take a lock already held.
const LIBC: u32 = if cfg!(target_env = "gnu") {
    0
} else if cfg!(target_env = "musl") {
    1
} else {
    2
};

fn lock_abi() -> u32 {
    size_of::<libc::pthread_mutex_t>() as u32 | LIBC << 16
}

fn libc_name(abi: u32) -> &'static str {
    match abi >> 16 {
        0 => "glibc",
        1 => "musl",
        _ => "another C library",
    }
}

/// The ABI of a lock set up in this boot by a process of another C library.
fn foreign(map: &Map) -> Option<u32> {
    let abi = map.u32_at(OFF_LOCK_ABI).load(Ordering::Acquire);
    let mut stored = [0u8; 16];
    map.read(OFF_LOCK_BOOT, &mut stored);
    (abi >> 16 != LIBC && stored == boot_id()).then_some(abi)
}

/// Writers of one woof must share a C library (FORMAT.md, "Locking"): one load on
/// the put path, and a clear refusal instead of a hang or two holders.
fn refuse_foreign(map: &Map) -> io::Result<()> {
    let abi = map.u32_at(OFF_LOCK_ABI).load(Ordering::Relaxed);
    if abi >> 16 == LIBC {
        return Ok(());
    }
    match foreign(map) {
        None => Ok(()),
        Some(abi) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "its writers' lock was set up in this boot by a program linked with {}, and this one uses {}: every writer of a woof must use the same C library (woof's release builds use glibc)",
                libc_name(abi),
                libc_name(lock_abi())
            ),
        )),
    }
}

fn is_current(map: &Map) -> bool {
    let mut stored = [0u8; 16];
    map.read(OFF_LOCK_BOOT, &mut stored);
    let abi = map.u32_at(OFF_LOCK_ABI).load(Ordering::Acquire);
    fence(Ordering::Acquire);
    abi == lock_abi() && stored == boot_id()
}

fn stamp(map: &Map) {
    map.u32_at(OFF_LOCK_ABI)
        .store(lock_abi(), Ordering::Release);
    fence(Ordering::Release);
    map.write(OFF_LOCK_BOOT, &boot_id());
}

/// This boot's id (16 bytes of /proc/sys/kernel/random/boot_id); zeros when unknown.
fn boot_id() -> [u8; 16] {
    static BOOT: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
    *BOOT.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let hex: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        let mut id = [0u8; 16];
        for (i, pair) in hex.chunks(2).take(16).enumerate() {
            let s = std::str::from_utf8(pair).unwrap_or("0");
            id[i] = u8::from_str_radix(s, 16).unwrap_or(0);
        }
        id
    })
}

//! The writers' lock: a process-shared robust mutex in the header (FORMAT.md, "Locking").
//!
//! A writer killed while holding it never wedges the woof: the kernel marks the mutex
//! owner-dead and the next writer takes it with EOWNERDEAD, repairs, and goes on.
//! A mutex persisted across a reboot (or copied from another machine) would still name
//! a dead owner with no one to mark it; the boot id stored beside it detects that, and
//! the first writer of a new boot re-initialises the mutex under an exclusive flock.

use std::fs::File;
use std::io;
use std::sync::atomic::{Ordering, fence};

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
pub(crate) fn ensure_epoch(file: &File, map: &Map) -> io::Result<()> {
    if is_current(map) {
        return Ok(());
    }
    // Only the first writer of a boot gets here; the flock serialises those racing.
    file.lock()?;
    let res = if is_current(map) { Ok(()) } else { init(map) };
    file.unlock()?;
    res
}

/// Takes the lock, repairing after a holder that died.
pub(crate) fn acquire(map: &Map) -> io::Result<Guard<'_>> {
    let how = map.mutex_lock(OFF_LOCK)?;
    taken(map, how)
}

/// Takes the lock if no one holds it (a dead holder does not count).
pub(crate) fn try_acquire(map: &Map) -> io::Result<Option<Guard<'_>>> {
    match map.mutex_trylock(OFF_LOCK)? {
        None => Ok(None),
        Some(how) => taken(map, how).map(Some),
    }
}

fn taken(map: &Map, how: Locked) -> io::Result<Guard<'_>> {
    if how == Locked::OwnerDied {
        // The dead writer either never published its slot (the next append
        // overwrites it) or published it whole; only a wake may be missing.
        let latest = map.u64_at(OFF_PUBLISHED).load(Ordering::Acquire);
        wake::notify(map, latest);
        map.mutex_consistent(OFF_LOCK)?;
    }
    Ok(Guard { map })
}

fn lock_abi() -> u32 {
    size_of::<libc::pthread_mutex_t>() as u32
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

//! The shared mapping of a woof file: the storage crate's `unsafe` lives here (and
//! in `sigbus.rs`, the fault handler); process plumbing is the woof-process crate's.
//!
//! # Soundness argument
//!
//! A woof file is mapped `MAP_SHARED` by every process that uses it, so its bytes
//! change under us at any time. This module therefore never hands out `&[u8]` or
//! `&mut [u8]` into the mapping (that would promise Rust the bytes do not change).
//! Instead:
//!
//! - element bytes are *copied* in and out through raw pointers after a bounds check
//!   against the mapped length ([`Map::read`], [`Map::write`]). A copy that races with
//!   a writer in another process may yield torn bytes; `u8` has no invalid values, and
//!   callers validate every copy (slot seqno before and after, then a CRC) before
//!   treating it as data;
//! - words that processes share (seqnos, counters, the futex word) are accessed only as
//!   `AtomicU64`/`AtomicU32` references ([`Map::u64_at`], [`Map::u32_at`]), checked for
//!   bounds and natural alignment. Atomics are the sanctioned way to share memory that
//!   others mutate; the reference lives no longer than `&self`, hence the mapping;
//! - the writers' lock is a process-shared robust `pthread_mutex_t` living in the
//!   header; it is only touched through libc's pthread functions, never read as Rust
//!   data, except its first word (the futex word naming the holder), loaded as an
//!   atomic to find out whether the holder can still exist.
//!
//! What this module cannot prevent: another process truncating the file while it is
//! mapped makes accesses past the new end raise SIGBUS (as for any mmap user; see
//! ripgrep's `mmap.rs`). Every mapping is registered with `sigbus.rs`, whose handler
//! turns such a fault into zeros and a count that `Woof` checks, so a shrunken file
//! is an error, never a dead process. Woofs are only ever created at their full length, preallocated,
//! and never shrunk by woof's tools; `woof-create --force` replaces the file by rename,
//! so old mappings keep the old inode intact. `open` validates the length *before*
//! mapping, so a file that is already short is an error, never a SIGBUS.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

use memmap2::{MmapOptions, MmapRaw};

/// Most words `futex_wait_any` waits on at once (the kernel's FUTEX_WAITV_MAX).
pub const WAIT_ANY_MAX: usize = 128;

/// A woof file mapped into this process.
pub(crate) struct Map {
    raw: MmapRaw,
    writable: bool,
    /// Its entry in the SIGBUS handler's table (`sigbus.rs`), if it got one.
    guarded: Option<usize>,
}

impl Drop for Map {
    fn drop(&mut self) {
        // Before `raw` unmaps the range.
        if let Some(slot) = self.guarded {
            crate::sigbus::unregister(slot);
        }
    }
}

/// What taking the writers' lock found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locked {
    /// Taken normally.
    Clean,
    /// Taken, but its previous holder died holding it: repair, then mark consistent.
    OwnerDied,
}

impl Map {
    /// Maps `len` bytes of `file`, read-write when `writable`.
    pub fn new(file: &File, len: u64, writable: bool) -> io::Result<Map> {
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut opts = MmapOptions::new();
        opts.len(len);
        let raw = if writable {
            opts.map_raw(file)?
        } else {
            opts.map_raw_read_only(file)?
        };
        let guarded = crate::sigbus::register(raw.as_ptr() as usize, raw.len());
        Ok(Map {
            raw,
            writable,
            guarded,
        })
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn writable(&self) -> bool {
        self.writable
    }

    fn check(&self, off: usize, len: usize) {
        let end = off.checked_add(len).expect("offset overflow");
        assert!(
            end <= self.raw.len(),
            "access {off}+{len} beyond mapping of {}",
            self.raw.len()
        );
    }

    /// Copies `dst.len()` bytes starting at `off` out of the mapping.
    pub fn read(&self, off: usize, dst: &mut [u8]) {
        self.check(off, dst.len());
        // SAFETY: [off, off+len) is inside the live mapping (checked above, and the
        // mapping lives as long as &self). `dst` is a distinct Rust buffer, so the
        // ranges cannot overlap. Concurrent writers may tear the copy; u8 has no invalid
        // bit patterns, and callers validate seqno + CRC before trusting it.
        unsafe { ptr::copy_nonoverlapping(self.raw.as_ptr().add(off), dst.as_mut_ptr(), dst.len()) }
    }

    /// Copies `src` into the mapping at `off`. Caller holds the writers' lock.
    pub fn write(&self, off: usize, src: &[u8]) {
        assert!(self.writable, "write to a read-only mapping");
        self.check(off, src.len());
        // SAFETY: in bounds (checked) of a PROT_WRITE mapping (checked), alive for &self.
        // `src` is a Rust slice and cannot alias the shared mapping's pages as seen by
        // Rust. Readers in other processes may observe partial writes; the publish
        // protocol (slot seqno zeroed before, set after) makes them discard such copies.
        unsafe { ptr::copy_nonoverlapping(src.as_ptr(), self.raw.as_mut_ptr().add(off), src.len()) }
    }

    /// The shared 64-bit word at `off`.
    pub fn u64_at(&self, off: usize) -> &AtomicU64 {
        self.check(off, 8);
        assert!(off.is_multiple_of(8), "unaligned u64 at {off}");
        // SAFETY: in bounds and 8-aligned (the mapping is page-aligned, off % 8 == 0).
        // AtomicU64 has the layout of u64 and permits concurrent access from other
        // threads/processes; the reference cannot outlive &self, hence the mapping.
        // On a read-only mapping callers only load (stores would fault: see `writable`).
        unsafe { &*(self.raw.as_ptr().add(off) as *const AtomicU64) }
    }

    /// The shared 32-bit word at `off`.
    pub fn u32_at(&self, off: usize) -> &AtomicU32 {
        self.check(off, 4);
        assert!(off.is_multiple_of(4), "unaligned u32 at {off}");
        // SAFETY: as for `u64_at`, with 4-byte alignment.
        unsafe { &*(self.raw.as_ptr().add(off) as *const AtomicU32) }
    }

    /// Writes back [off, off+len) to stable storage (msync MS_SYNC), page-aligned.
    pub fn sync(&self, off: usize, len: usize) -> io::Result<()> {
        self.check(off, len);
        let page = page_size();
        let start = off / page * page;
        let end = (off + len).div_ceil(page) * page;
        let end = end.min(self.raw.len());
        // SAFETY: [start, end) lies inside the mapping (start ≤ off, end clamped to the
        // mapped length) and start is page-aligned as msync requires. msync does not
        // touch Rust-visible memory.
        let rc = unsafe {
            libc::msync(
                self.raw.as_mut_ptr().add(start).cast(),
                end - start,
                libc::MS_SYNC,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Sleeps while the futex word at `off` equals `expected`, at most `timeout`.
    /// Returns on a wake, a changed word, a signal or the timeout; callers re-check.
    pub fn futex_wait(&self, off: usize, expected: u32, timeout: Option<Duration>) {
        let word = self.u32_at(off);
        let ts = timeout.map(|d| libc::timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: FUTEX_WAIT (shared, not PRIVATE: other processes map the same page)
        // reads the aligned u32 `word` points to, which lives in our mapping for the
        // duration of the call; `ts_ptr` is null or points to a live timespec.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                expected,
                ts_ptr,
                ptr::null::<u32>(),
                0u32,
            );
        }
    }

    /// Wakes every process sleeping on the futex word at `off`.
    pub fn futex_wake_all(&self, off: usize) {
        let word = self.u32_at(off);
        // SAFETY: FUTEX_WAKE only uses the address as a key; it is a valid, aligned
        // word of our live mapping.
        unsafe {
            libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
        }
    }

    /// Wakes every thread or process sleeping on `word` (shared, as `futex_wait`).
    pub fn futex_wake_word(word: &AtomicU32) {
        // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is a live,
        // aligned u32.
        unsafe {
            libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
        }
    }

    /// Sleeps until one of `words` differs from its expected value (or is woken),
    /// or `timeout` passes: futex_waitv(2), at most `WAIT_ANY_MAX` words, shared
    /// futexes like `futex_wait`. Without futex_waitv (Linux < 5.16) it naps 1 ms,
    /// and callers re-check as on a wake-up.
    pub fn futex_wait_any(words: &[(&AtomicU32, u32)], timeout: Option<Duration>) {
        #[repr(C)]
        struct FutexWaitv {
            val: u64,
            uaddr: u64,
            flags: u32,
            reserved: u32,
        }
        const FUTEX2_SIZE_U32: u32 = 0x02;
        let list: Vec<FutexWaitv> = words
            .iter()
            .take(WAIT_ANY_MAX)
            .map(|(w, expected)| FutexWaitv {
                val: u64::from(*expected),
                uaddr: w.as_ptr() as u64,
                flags: FUTEX2_SIZE_U32,
                reserved: 0,
            })
            .collect();
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let deadline = timeout.map(|d| {
            // SAFETY: clock_gettime writes the live local `now`.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
            let nanos = now.tv_nsec as u64 + u64::from(d.subsec_nanos());
            libc::timespec {
                tv_sec: now
                    .tv_sec
                    .saturating_add(d.as_secs().min(i32::MAX as u64) as libc::time_t)
                    .saturating_add((nanos / 1_000_000_000) as libc::time_t),
                tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
            }
        });
        let ts_ptr = deadline
            .as_ref()
            .map_or(ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `list` holds at most 128 initialised entries whose addresses are
        // live aligned u32s (borrowed for the call); `ts_ptr` is null or a live
        // absolute CLOCK_MONOTONIC timespec. The kernel only reads them.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex_waitv,
                list.as_ptr(),
                list.len() as libc::c_uint,
                0 as libc::c_uint,
                ts_ptr,
                libc::CLOCK_MONOTONIC,
            )
        };
        if r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
            std::thread::sleep(timeout.map_or(Duration::from_millis(1), |t| {
                t.min(Duration::from_millis(1))
            }));
        }
    }

    fn mutex_ptr(&self, off: usize) -> *mut libc::pthread_mutex_t {
        assert!(self.writable, "the writers' lock needs a writable mapping");
        self.check(off, size_of::<libc::pthread_mutex_t>());
        assert!(off.is_multiple_of(align_of::<libc::pthread_mutex_t>()));
        // SAFETY: in bounds and aligned (checked); the pointer is only passed to
        // pthread functions, never dereferenced as Rust data.
        unsafe { self.raw.as_mut_ptr().add(off).cast() }
    }

    /// (Re)initialises the process-shared robust mutex at `off`. Callers guarantee no
    /// live process holds it (a fresh file; or, under an exclusive flock on the file,
    /// a lock left by an earlier boot or naming a holder that cannot exist). Waiters
    /// asleep on the old word are woken by the caller and retry.
    pub fn mutex_init(&self, off: usize) -> io::Result<()> {
        let m = self.mutex_ptr(off);
        // SAFETY: `attr` is a local initialised by pthread_mutexattr_init before use
        // and destroyed after; `m` is a valid, aligned, writable location for a
        // pthread_mutex_t in shared memory, which PTHREAD_PROCESS_SHARED permits.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            check_rc(libc::pthread_mutexattr_init(&mut attr))?;
            let rc = (|| {
                check_rc(libc::pthread_mutexattr_setpshared(
                    &mut attr,
                    libc::PTHREAD_PROCESS_SHARED,
                ))?;
                check_rc(libc::pthread_mutexattr_setrobust(
                    &mut attr,
                    libc::PTHREAD_MUTEX_ROBUST,
                ))?;
                check_rc(libc::pthread_mutex_init(m, &attr))
            })();
            libc::pthread_mutexattr_destroy(&mut attr);
            rc
        }
    }

    /// Takes the writers' lock at `off`, waiting at most `timeout`; None when it is
    /// still held then.
    pub fn mutex_timedlock(&self, off: usize, timeout: Duration) -> io::Result<Option<Locked>> {
        let m = self.mutex_ptr(off);
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec we own; CLOCK_REALTIME is the
        // clock pthread_mutex_timedlock's deadline is measured on.
        unsafe {
            libc::clock_gettime(libc::CLOCK_REALTIME, &mut now);
        }
        let nanos = now.tv_nsec as u64 + u64::from(timeout.subsec_nanos());
        let deadline = libc::timespec {
            tv_sec: now.tv_sec
                + timeout.as_secs().min(1 << 32) as libc::time_t
                + (nanos / 1_000_000_000) as libc::time_t,
            tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
        };
        // SAFETY: `m` points to a mutex initialised by `mutex_init` in this boot (the
        // caller checks the boot id first); the mapping outlives the call; `deadline`
        // is a live, normalised timespec.
        let rc = unsafe { libc::pthread_mutex_timedlock(m, &deadline) };
        match rc {
            0 => Ok(Some(Locked::Clean)),
            libc::EOWNERDEAD => Ok(Some(Locked::OwnerDied)),
            libc::ETIMEDOUT => Ok(None),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// The thread id the writers' lock at `off` names as its holder, 0 when free.
    /// glibc keeps a robust mutex's futex word first: the holder's tid, plus the
    /// FUTEX_WAITERS and FUTEX_OWNER_DIED bits. A snapshot, stale at once.
    pub fn mutex_owner(&self, off: usize) -> u32 {
        const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
        self.u32_at(off).load(std::sync::atomic::Ordering::Acquire) & FUTEX_TID_MASK
    }

    /// Takes the writers' lock at `off` if it is free; None when another holds it.
    pub fn mutex_trylock(&self, off: usize) -> io::Result<Option<Locked>> {
        let m = self.mutex_ptr(off);
        // SAFETY: as for `mutex_timedlock`; trylock never blocks.
        let rc = unsafe { libc::pthread_mutex_trylock(m) };
        match rc {
            0 => Ok(Some(Locked::Clean)),
            libc::EOWNERDEAD => Ok(Some(Locked::OwnerDied)),
            libc::EBUSY => Ok(None),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// Marks a lock taken with `OwnerDied` as repaired.
    pub fn mutex_consistent(&self, off: usize) -> io::Result<()> {
        let m = self.mutex_ptr(off);
        // SAFETY: we hold the mutex (just acquired with EOWNERDEAD), as required.
        check_rc(unsafe { libc::pthread_mutex_consistent(m) })
    }

    /// Releases the writers' lock at `off`, which this thread holds.
    pub fn mutex_unlock(&self, off: usize) {
        let m = self.mutex_ptr(off);
        // SAFETY: only called by the guard that acquired the lock on this thread.
        unsafe {
            libc::pthread_mutex_unlock(m);
        }
    }
}

/// Reserves `len` bytes of disk for `file`, so stores into the mapping can never
/// fail for lack of space (which would be a SIGBUS, not an error).
pub(crate) fn preallocate(file: &File, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let len =
        libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: posix_fallocate only operates on the descriptor, which `file` keeps open.
    check_rc(unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) })
}

/// Stops this process (SIGSTOP) until someone continues or kills it: fault
/// injection's frozen writer.
#[cfg(feature = "fault-injection")]
pub(crate) fn stop_self() {
    // SAFETY: raise has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}

fn check_rc(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

//! The shared mapping of a woof file: the ONLY module with `unsafe`.
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

use std::fs::File;
use std::io;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

use memmap2::{MmapOptions, MmapRaw};

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

/// Restores the default disposition of the signals a program expects to find at
/// their defaults. An ignored disposition survives exec: the Rust runtime ignores
/// SIGPIPE, and a platform started under `nohup` ignores SIGHUP; a handler exec'd by
/// the shepherd must not inherit either.
pub(crate) fn default_signals() {
    const SIGNALS: [libc::c_int; 13] = [
        libc::SIGPIPE,
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGCHLD,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGXFSZ,
    ];
    for sig in SIGNALS {
        // SAFETY: installing SIG_DFL runs no handler code, so no async-signal-safety
        // concern arises; the shepherd calls this single-threaded, right before exec.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// Bytes written into a pipe and not yet read (FIONREAD). On the write end after
/// the reader died, this is what the reader never consumed.
pub(crate) fn pipe_unread(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points to `n`,
    // alive for the call; the fd is borrowed, so it stays open meanwhile.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n as *mut libc::c_int) };
    if rc == 0 {
        Ok(n.max(0) as usize)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Starts a copy of this process that is a child of our *parent*, not of us
/// (clone with CLONE_PARENT, otherwise like fork): our parent then waits for it as
/// for any child of its own. Returns the copy's pid here, and None in the copy.
/// Refuses unless this process has exactly one thread.
pub(crate) fn fork_sibling() -> io::Result<Option<u32>> {
    let threads = std::fs::read_dir("/proc/self/task")?.count();
    if threads != 1 {
        return Err(io::Error::other(format!(
            "fork_sibling: {threads} threads (needs exactly one)"
        )));
    }
    // SAFETY: without CLONE_VM the copy gets its own copy of our memory, as with
    // fork, and the raw syscall returns in it on its copy of this stack; newsp 0
    // means "the same stack pointer", and the tid/tls pointers are unused without
    // their flags. fork's dangers come from other threads (locks they held stay
    // locked in the copy); we checked there are none, and the count cannot grow
    // behind our back: only this thread could start another. What glibc's fork
    // would add (atfork handlers, the cached tid) matters to pthread-owned locks,
    // which neither copy takes: the copy only makes plain syscalls and execs.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::CLONE_PARENT as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match rc {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(pid as u32)),
    }
}

/// Receives one message on a socket, with the descriptors passed along with it
/// (SCM_RIGHTS), close-on-exec. Returns its length and the descriptors; 0 and
/// none means the peer closed. Retries on EINTR.
pub(crate) fn recv_with_fds(
    sock: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<(usize, Vec<std::os::fd::OwnedFd>)> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // Room for the control headers of up to 8 descriptors, 8-byte aligned.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain C data (integers and pointers, some private padding
    // fields on some targets): all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = loop {
        // SAFETY: msg points to `iov` (which describes `buf`, exclusively borrowed)
        // and to `control`, with their true lengths; all live across the call.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let mut fds = Vec::new();
    // SAFETY: the CMSG_* helpers walk the control buffer the kernel just filled,
    // within msg_controllen; SCM_RIGHTS data is an array of c_int read unaligned.
    // Each descriptor was installed in our table by this very recvmsg for us, so
    // nothing else owns it: wrapping it in an OwnedFd (closed on drop) is sound.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<libc::c_int>();
                let len = ((*c).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
                for i in 0..len / std::mem::size_of::<libc::c_int>() {
                    let fd = ptr::read_unaligned(data.add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::other("more descriptors than expected"));
    }
    Ok((n, fds))
}

/// What `spawn` sets up in the new process before exec. Everything is
/// prepared by the caller: the new process only makes syscalls.
pub struct SpawnPlan<'a> {
    pub program: &'a std::ffi::CStr,
    pub argv: &'a [&'a std::ffi::CStr],
    pub envp: &'a [&'a std::ffi::CStr],
    /// Working directory.
    pub dir: &'a std::ffi::CStr,
    /// (from, to): dup2'd in this order. Each `from` must be above 2.
    pub fds: &'a [(std::os::fd::BorrowedFd<'a>, i32)],
    /// (RLIMIT_*, soft and hard limit).
    pub rlimits: &'a [(i32, u64)],
    /// A child of our parent (CLONE_PARENT) rather than of us.
    pub sibling: bool,
}

/// The step of a `SpawnPlan` that failed in the new process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnStep {
    Parent,
    ProcessGroup,
    Rlimit,
    Descriptors,
    Directory,
    Exec,
}

const SPAWN_STEPS: [SpawnStep; 6] = [
    SpawnStep::Parent,
    SpawnStep::ProcessGroup,
    SpawnStep::Rlimit,
    SpawnStep::Descriptors,
    SpawnStep::Directory,
    SpawnStep::Exec,
];

/// Plain C data the new process reads; it reports a failure in the atomics.
struct SpawnArgs {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    dir: *const libc::c_char,
    fds: *const (libc::c_int, libc::c_int),
    nfds: usize,
    rlimits: *const (i32, u64),
    nrlimits: usize,
    /// The new process's parent: if it is not (any more), give up.
    parent: libc::pid_t,
    failed_step: std::sync::atomic::AtomicI32,
    failed_errno: std::sync::atomic::AtomicI32,
}

/// Runs in the new process, on its own stack, sharing our memory (CLONE_VM) while
/// we are suspended (CLONE_VFORK): only syscalls through libc, no allocation, no
/// panic, and it leaves through execve or _exit.
extern "C" fn spawned(arg: *mut libc::c_void) -> libc::c_int {
    use std::sync::atomic::Ordering;
    // SAFETY: `arg` is the SpawnArgs that spawn keeps alive until we exec
    // or exit (it is suspended meanwhile); every pointer in it points into data
    // spawn borrows for as long. The libc calls below are plain syscall
    // wrappers, safe after vfork (posix_spawn makes the same ones); errno is
    // written to the suspended thread's TLS slot, which that thread reads after
    // the clone only if the clone itself failed (and then no new process ran).
    unsafe {
        let a = &*(arg as *const SpawnArgs);
        let fail = |step: usize| -> ! {
            a.failed_errno
                .store(*libc::__errno_location(), Ordering::SeqCst);
            a.failed_step.store(step as i32 + 1, Ordering::SeqCst);
            libc::_exit(127)
        };
        // Ignored dispositions survive exec, handlers must not run here: default
        // them all (signals stay blocked until just before exec).
        for sig in 1..=31 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 || libc::getppid() != a.parent {
            fail(0);
        }
        if libc::setpgid(0, 0) != 0 {
            fail(1);
        }
        for i in 0..a.nrlimits {
            let (res, limit) = *a.rlimits.add(i);
            let rl = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(res as _, &rl) != 0 {
                fail(2);
            }
        }
        for i in 0..a.nfds {
            let (from, to) = *a.fds.add(i);
            if libc::dup2(from, to) < 0 {
                fail(3);
            }
        }
        if libc::chdir(a.dir) != 0 {
            fail(4);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, ptr::null_mut());
        libc::execve(a.program, a.argv, a.envp);
        fail(5)
    }
}

/// Starts `plan.program` the way posix_spawn does (CLONE_VM | CLONE_VFORK: no
/// copy of our memory, and this thread is suspended until it has exec'd or
/// failed), as our child or, with `plan.sibling`, our parent's (CLONE_PARENT),
/// after applying the plan: default signal dispositions and an empty signal mask,
/// death with its parent (PDEATHSIG, which follows the parent *thread*), its own
/// process group, the rlimits, the descriptors and the working directory. Returns
/// its pid, and the step that failed if it did not reach exec (it has then exited
/// with 127, and its parent must still reap it). Sound in a multi-threaded
/// process too, as posix_spawn is.
pub fn spawn(plan: &SpawnPlan<'_>) -> io::Result<(u32, Option<(SpawnStep, io::Error)>)> {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicI32, Ordering};
    let cptrs = |v: &[&std::ffi::CStr]| -> Vec<*const libc::c_char> {
        v.iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(ptr::null()))
            .collect()
    };
    let argv = cptrs(plan.argv);
    let envp = cptrs(plan.envp);
    let fds: Vec<(libc::c_int, libc::c_int)> = plan
        .fds
        .iter()
        .map(|(from, to)| (from.as_raw_fd(), *to))
        .collect();
    if fds.iter().any(|(from, _)| *from <= 2) {
        return Err(io::Error::other("spawn: a source descriptor is 0, 1 or 2"));
    }
    let args = SpawnArgs {
        program: plan.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        dir: plan.dir.as_ptr(),
        fds: fds.as_ptr(),
        nfds: fds.len(),
        rlimits: plan.rlimits.as_ptr(),
        nrlimits: plan.rlimits.len(),
        // SAFETY: getpid and getppid have no preconditions.
        parent: unsafe {
            if plan.sibling {
                libc::getppid()
            } else {
                libc::getpid()
            }
        },
        failed_step: AtomicI32::new(0),
        failed_errno: AtomicI32::new(0),
    };
    const STACK: usize = 64 << 10;
    let mut stack = vec![0u128; STACK / 16]; // 16-byte aligned
    // SAFETY: the stack top is one past the end of `stack`, which outlives the
    // clone: with CLONE_VFORK we resume only once the new process has exec'd or
    // exited, so it never runs on `stack` (nor reads `args`, `argv`, `envp`,
    // `fds`, or the plan's strings) after they are dropped. Other threads of ours
    // never see `stack` or `args` (both local to this call). All signals are
    // blocked in this thread around the clone, so the new process starts with
    // them blocked and no handler of ours can run in it before `spawned` has reset
    // the dispositions (its own copy: no CLONE_SIGHAND); our mask is restored
    // after. `spawned` only makes syscalls (see there).
    let (pid, errno) = unsafe {
        let top = stack.as_mut_ptr().add(stack.len()).cast::<libc::c_void>();
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let parent = if plan.sibling { libc::CLONE_PARENT } else { 0 };
        let pid = libc::clone(
            spawned,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | parent | libc::SIGCHLD,
            &args as *const SpawnArgs as *mut libc::c_void,
        );
        let errno = *libc::__errno_location();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
        (pid, errno)
    };
    drop(stack);
    if pid < 0 {
        return Err(io::Error::from_raw_os_error(errno));
    }
    let step = args.failed_step.load(Ordering::SeqCst);
    let failed = usize::try_from(step - 1)
        .ok()
        .and_then(|i| SPAWN_STEPS.get(i));
    Ok((
        pid as u32,
        failed.map(|s| {
            (
                *s,
                io::Error::from_raw_os_error(args.failed_errno.load(Ordering::SeqCst)),
            )
        }),
    ))
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

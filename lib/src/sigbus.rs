//! Surviving a woof file that shrinks while it is mapped. Its `unsafe` is the
//! signal handler's, the only kind this module owns.
//!
//! Touching a page of a `MAP_SHARED` mapping past the end of its file raises SIGBUS,
//! which kills the process: one `truncate -s 2048` of a woof killed woof-proxy and
//! every namespace it served. Checking the length before every access would cost an
//! fstat per element and still race with the truncation. Instead, a process that
//! maps woofs installs a SIGBUS handler once. For a fault inside a registered woof
//! mapping it maps a private zero page over the faulting page, so the access
//! completes (reads see zeros, writes go nowhere), and counts the fault. `Woof`
//! compares the count before and after each get and put and, if it moved, checks the
//! file's length and reports the woof as truncated instead of returning data. A
//! fault anywhere else restores the default action and lets the fault kill the
//! process, exactly as without the handler.
#![allow(unsafe_code)]

use std::sync::Once;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Mappings that can be registered at once; past it a mapping is simply not
/// protected (the proxy holds at most 256 woofs).
const SLOTS: usize = 1024;

static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static LENS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static FAULTS: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

/// How many faults were absorbed so far in this process.
#[inline(always)]
pub(crate) fn faults() -> u64 {
    FAULTS.load(Ordering::Acquire)
}

/// Protects [start, start + len); returns the slot to `unregister`, None when the
/// table is full.
pub(crate) fn register(start: usize, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    INSTALL.call_once(install);
    for (i, l) in LENS.iter().enumerate() {
        if l.compare_exchange(0, len, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            STARTS[i].store(start, Ordering::Release);
            return Some(i);
        }
    }
    None
}

/// Before the mapping is unmapped.
pub(crate) fn unregister(slot: usize) {
    STARTS[slot].store(0, Ordering::Release);
    LENS[slot].store(0, Ordering::Release);
}

fn install() {
    // SAFETY: `action` is a zeroed sigaction we fill in (handler, SA_SIGINFO, an empty
    // mask) before passing it; `on_sigbus` has the SA_SIGINFO signature and only does
    // async-signal-safe things (atomics, mmap, sigaction).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for an SA_SIGINFO handler; si_addr
    // is meaningful for SIGBUS.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    let page = page_size();
    let ours = code == libc::BUS_ADRERR
        && STARTS.iter().zip(LENS.iter()).any(|(s, l)| {
            let (s, l) = (s.load(Ordering::Acquire), l.load(Ordering::Acquire));
            s != 0 && addr >= s && addr < s.saturating_add(l)
        });
    if ours {
        let base = addr / page * page;
        // SAFETY: [base, base + page) lies inside a live woof mapping of this
        // process (registered, checked above); replacing it with a private zero page
        // keeps the address range valid for the mapping's owner, who unmaps the
        // whole range as before. mmap is async-signal-safe in practice (a syscall).
        let p = unsafe {
            libc::mmap(
                base as *mut libc::c_void,
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            FAULTS.fetch_add(1, Ordering::AcqRel);
            return;
        }
    }
    // Not a woof's page: the default action, on returning the access faults again.
    // SAFETY: installing SIG_DFL runs no code.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions and is async-signal-safe.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

//! A copy of this process as a sibling (a child of our parent).
#![allow(unsafe_code)]

use std::io;

/// Starts a copy of this process that is a child of our *parent*, not of us
/// (clone with CLONE_PARENT, otherwise like fork): our parent then waits for it as
/// for any child of its own. Returns the copy's pid here, and None in the copy.
/// Refuses unless this process has exactly one thread.
pub fn fork_sibling() -> io::Result<Option<u32>> {
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

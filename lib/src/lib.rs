//! woof: the WOOF storage core.
//!
//! A woof is an append-only, fixed-element-size, fixed-history circular log in one
//! memory-mapped file. Every element carries a 64-bit seqno that never wraps. Many
//! processes may put at once (a robust lock in the file serialises them); readers take
//! no lock and never block writers. `FORMAT.md` beside this crate is the normative
//! description of the file.
//!
//! ```no_run
//! use woof::{CreateOptions, Woof};
//! let w = Woof::create("temps".as_ref(), &CreateOptions::new(8, 1000))?;
//! let seqno = w.put(&21.5f64.to_le_bytes())?;
//! let mut buf = [0u8; 8];
//! w.get(seqno, &mut buf)?;
//! # Ok::<(), woof::Error>(())
//! ```

mod error;
pub mod fault;
pub mod format;
mod lock;
pub mod log;
mod map;
pub mod name;
pub mod namespace;
pub mod results;
pub mod schema;
mod sigbus;
mod wake;
mod woof;

pub use error::{Error, ErrorKind, Result};
pub use format::Durability;
pub use namespace::Namespace;
/// Restores default signal dispositions before exec'ing another program (exec keeps
/// ignored ones: the Rust runtime ignores SIGPIPE, `nohup` ignores SIGHUP).
pub fn default_signals_for_exec() {
    map::default_signals();
}

/// Bytes written into a pipe (given its write end) and not yet read. The platform
/// uses it to tell which frames a persistent handler that died had consumed.
pub fn pipe_unread(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<usize> {
    map::pipe_unread(fd)
}

/// Starts a copy of this single-threaded process as a child of its parent (not of
/// itself): Some(pid) in the caller, None in the copy. A served shepherd forks its
/// ready shepherds this way, so the platform waits for them (and the handlers they
/// become) directly. Refuses in a process with more than one thread.
pub fn fork_sibling() -> std::io::Result<Option<u32>> {
    map::fork_sibling()
}

/// Receives one message and the descriptors passed with it (SCM_RIGHTS), each
/// close-on-exec; (0, none): the peer closed.
pub fn recv_with_fds(
    sock: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> std::io::Result<(usize, Vec<std::os::fd::OwnedFd>)> {
    map::recv_with_fds(sock, buf)
}

pub use map::{SpawnPlan, SpawnStep, spawn};
pub use woof::{CreateOptions, Element, Info, Woof, Writer, now_ns};

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

pub use woof::{CreateOptions, Element, Info, Woof, Writer, now_ns};

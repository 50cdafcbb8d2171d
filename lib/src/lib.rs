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
mod map;
pub mod name;
pub mod namespace;
pub mod origins;
pub mod put_run;
pub mod records;
pub mod results;
pub mod schema;
mod sigbus;
pub mod trigger_log;
pub mod wake;
mod woof;

pub use error::{Error, ErrorKind, Result};
pub use format::Durability;
pub use namespace::Namespace;
pub use woof::{CreateOptions, Element, Info, Woof, Writer, now_ns};

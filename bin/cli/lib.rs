//! The command-line side of woof: argument definitions, output formats, cursors and
//! the error-to-exit-code contract shared by every `woof-*` binary. Each binary's
//! `main` is one call into here, so man pages and completions are generated from the
//! very definitions the binaries parse with (see `generate`).

pub mod consolidate;
pub mod create;
pub mod cspot_source;
pub mod cursor;
pub mod forward;
pub mod generate;
pub mod get;
pub mod handler;
pub mod input;
pub mod ls;
pub mod output;
pub mod platform;
pub mod plot;
pub mod progress;
pub mod put;
pub mod quantity;
pub mod range;
pub mod reader;
pub mod shepherd;
pub mod source;
pub mod table;
pub mod tail;
pub mod tail_many;
pub mod target;
pub mod template;
pub mod when;

pub use woof_toolkit::exit;
pub use woof_toolkit::{Failure, run_main};

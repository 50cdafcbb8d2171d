//! Starting a handler: one home for what a run is (`Job`), what it needs (`Run`:
//! handler, element on stdin, environment), why it may not start (`Refusal`, typed),
//! the limits it runs under and the posix_spawn-style start the platform uses
//! (`spawn`), and Linux namespaces for --isolate (`isolate`). The unsafe it takes
//! is woof-process's. The woof-shepherd tool (`crate::shepherd`) and woof-platform
//! both start handlers through here.

pub mod env;
pub mod isolate;
mod job;
mod refusal;
mod run;
mod spawn;

pub use job::Job;
pub use refusal::Refusal;
pub use run::{Run, c_string, environment, exec_failed, tools_dir};
pub use spawn::{Limits, Started, Woofs, spawn, start};

/// The shepherd's defaults for --files and --file-size (the platform has no
/// options for them).
pub const FILES_DEFAULT: &str = "1024";
pub const FILE_SIZE_DEFAULT: &str = "16G";

/// A byte count for a limit: `4G`, `16G`, `512M` (see `crate::quantity`).
pub use crate::quantity::parse as parse_size;

//! woof's process plumbing, kept out of the storage crate: what woof-platform and
//! woof-shepherd need from the kernel to start handlers and watch them. Each kind
//! of `unsafe` lives in the one module that owns it, every block with its SAFETY
//! comment; the rest of the workspace denies `unsafe_code`.

mod fds;
mod fork;
mod pipe;
mod signals;
mod spawn;

pub use fds::recv_with_fds;
pub use fork::fork_sibling;
pub use pipe::pipe_unread;
pub use signals::{catch_interrupts, default_signals, die_of, interrupted};
pub use spawn::{SpawnPlan, SpawnStep, spawn};

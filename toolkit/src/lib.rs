//! What every `woof-*` binary shares, whichever package builds it: how a tool ends
//! (`exit`: one line `tool: context: cause` and the exit code of the error's kind)
//! and how its man page and completions are rendered from its clap definition
//! (`generate`, with `names` completing woof and handler names from the
//! namespace), and the descriptor limit of those that hold many (`descriptors`).
//! The tools (root package) and woof-proxy (proxy/) both use it, so neither
//! depends on the other.

pub mod descriptors;
pub mod exit;
pub mod generate;
mod names;

pub use exit::{Failure, run_main};

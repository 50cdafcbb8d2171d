//! Shared helpers of the integration tests and the benchmarks, by concern:
//! commands for the real binaries with every `WOOF_*` variable cleared (`cmd`), a
//! temporary namespace (`ns`), self-verifying element contents (`elements`), counter elements for
//! forwarding (`counters`), what
//! the tools print parsed back (`records`), children and daemons killed in `Drop`
//! (`daemon`), network namespaces as hosts and routers (`netns`), the engines
//! woof-forward bridges to (`brokers`), a CSPOT host (`cspot_server`), a process's memory and threads (`proc_status`), and
//! seeded randomness (`rng`).
//!
//! Every helper bounds its waits, so a broken tool fails a test instead of hanging
//! the suite.

mod brokers;
mod cmd;
mod counters;
mod cspot_server;
mod daemon;
mod elements;
mod netns;
mod ns;
mod proc_status;
mod records;
mod rng;

pub use brokers::*;
pub use cmd::*;
pub use counters::*;
pub use cspot_server::*;
pub use daemon::*;
pub use elements::*;
pub use netns::*;
pub use ns::*;
pub use proc_status::*;
pub use records::*;
pub use rng::*;

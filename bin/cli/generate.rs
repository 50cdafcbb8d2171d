//! The command definitions of this package's tools, for their man pages and
//! completions (rendered by woof_toolkit::generate; tests/integration/generated.rs
//! compares them with the checked-in files). woof-proxy's is in proxy/.

use clap::{Command, CommandFactory};

/// Every tool's command definition.
pub fn commands() -> Vec<Command> {
    vec![
        crate::create::Args::command(),
        crate::put::Args::command(),
        crate::get::Args::command(),
        crate::tail::Args::command(),
        crate::platform::Args::command(),
        crate::shepherd::Args::command(),
        crate::ls::Args::command(),
        crate::forward::Args::command(),
    ]
}

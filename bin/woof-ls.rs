//! `woof-ls`: see `woof_cli::ls`.

fn main() -> std::process::ExitCode {
    woof_cli::run_main("woof-ls", woof_cli::ls::run)
}

//! `woof-put`: see `woof_cli::put`.

fn main() -> std::process::ExitCode {
    woof_cli::run_main("woof-put", woof_cli::put::run)
}

//! `woof-get`: see `woof_cli::get`.

fn main() -> std::process::ExitCode {
    woof_cli::run_main("woof-get", woof_cli::get::run)
}

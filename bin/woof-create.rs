//! `woof-create`: see `woof_cli::create`.

fn main() -> std::process::ExitCode {
    woof_cli::run_main("woof-create", woof_cli::create::run)
}

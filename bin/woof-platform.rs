//! `woof-platform`: see `woof_cli::platform`.

fn main() -> std::process::ExitCode {
    woof_cli::run_main("woof-platform", woof_cli::platform::run)
}

//! `woof-forward`: see `woof_cli::forward`.

fn main() -> std::process::ExitCode {
    woof_cli::run_main("woof-forward", woof_cli::forward::run)
}

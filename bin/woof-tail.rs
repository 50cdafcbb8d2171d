//! `woof-tail`: see `woof_cli::tail`.

fn main() -> std::process::ExitCode {
    woof_cli::run_main("woof-tail", woof_cli::tail::run)
}

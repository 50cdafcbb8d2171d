//! `woof-shepherd`: see `woof_cli::shepherd`.

fn main() -> std::process::ExitCode {
    woof_cli::run_main("woof-shepherd", woof_cli::shepherd::run)
}

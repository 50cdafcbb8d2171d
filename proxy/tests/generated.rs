//! woof-proxy's checked-in man page and completions must match its clap
//! definition. Run with WOOF_REGENERATE=1 (`make man completions`) to rewrite them.

use std::path::Path;

use clap::CommandFactory;
use woof_proxy::args::Args;
use woof_toolkit::generate;

#[test]
fn man_page_and_completions_match_the_cli() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let stale = generate::sync(&repo, &[Args::command()]).expect("generated files");
    assert!(
        stale.is_empty(),
        "generated files drifted from the CLI: {}\nrun `make man completions` and commit",
        stale.join(", ")
    );
}

#[test]
fn the_man_page_lists_exit_status_and_environment() {
    let page = String::from_utf8(generate::man_page(&Args::command())).expect("utf8");
    for section in [
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(page.contains(section), "woof-proxy: no {section}");
    }
}

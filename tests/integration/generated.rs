//! The checked-in man pages and completions must match what the CLI definitions
//! render. Run with WOOF_REGENERATE=1 (`make man completions`) to rewrite them.
//! woof-proxy's are checked by its own package (proxy/tests/generated.rs).

use std::path::Path;

use woof_cli::generate::commands;
use woof_toolkit::generate;

#[test]
fn man_pages_and_completions_match_the_cli() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stale = generate::sync(repo, &commands()).expect("generated files");
    assert!(
        stale.is_empty(),
        "generated files drifted from the CLI: {}\nrun `make man completions` and commit",
        stale.join(", ")
    );
}

#[test]
fn every_man_page_lists_exit_status_and_environment() {
    for cmd in commands() {
        let page = String::from_utf8(generate::man_page(&cmd)).expect("utf8");
        let sections = [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH EXAMPLES",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH \"SEE ALSO\"",
        ];
        for section in sections {
            assert!(page.contains(section), "{}: no {section}", cmd.get_name());
        }
    }
}

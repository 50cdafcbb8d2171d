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

#[test]
fn every_man_page_renders_at_80_columns_without_a_warning() {
    // groff as man-db runs it (tbl, continuous page) on an 80-column line.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .expect("man/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    pages.sort();
    assert!(pages.len() >= 10, "{pages:?}");
    for page in pages {
        let out = std::process::Command::new("groff")
            .args(["-t", "-man", "-Tutf8", "-ww", "-rLL=80n", "-rcR=1"])
            .arg(&page)
            .output()
            .expect("groff (make deps installs groff-base)");
        assert!(out.status.success(), "{}", page.display());
        // What an 80-column reader would see broken: a line or table too wide.
        // (Page-break notes do not apply: man renders one continuous page.)
        let said = String::from_utf8_lossy(&out.stderr);
        for too_wide in ["wider than", "line width", "can't break", "cannot adjust"] {
            assert!(
                !said.contains(too_wide),
                "{} at 80 columns: {said}",
                page.display()
            );
        }
    }
}

#[test]
fn synopsis_lines_show_what_each_option_takes() {
    let put = commands()
        .into_iter()
        .find(|c| c.get_name() == "woof-put")
        .expect("woof-put");
    let page = String::from_utf8(generate::man_page(&put)).expect("utf8");
    let synopsis = page
        .split(".SH SYNOPSIS\n")
        .nth(1)
        .and_then(|s| s.lines().next())
        .expect("a synopsis line");
    for want in [
        r"[\fB\-N\fR|\fB\-\-namespace\fR \fIDIR\fR]",
        r"[\fB\-H\fR|\fB\-\-handler\fR \fIHANDLER\fR]",
        r"[\fB\-\-pad\fR]",
        r"<\fINAME\fR>",
    ] {
        assert!(synopsis.contains(want), "{want} in {synopsis}");
    }
}

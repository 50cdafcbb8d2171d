//! The checked-in man pages and completions must match what the CLI definitions
//! render. Run with WOOF_REGENERATE=1 (`make man completions`) to rewrite them.

use std::path::{Path, PathBuf};

use clap_complete::Shell;
use woof_cli::generate;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares `want` with the file at `path`, or rewrites it when regenerating.
fn check(path: &Path, want: &[u8], stale: &mut Vec<String>) {
    if std::env::var_os("WOOF_REGENERATE").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create dir");
        }
        std::fs::write(path, want).expect("write generated file");
        return;
    }
    if std::fs::read(path).ok().as_deref() != Some(want) {
        stale.push(
            path.strip_prefix(root())
                .unwrap_or(path)
                .display()
                .to_string(),
        );
    }
}

#[test]
fn man_pages_and_completions_match_the_cli() {
    let mut stale = Vec::new();
    for cmd in generate::commands() {
        let name = cmd.get_name().to_string();
        check(
            &root().join("man").join(format!("{name}.1")),
            &generate::man_page(&cmd),
            &mut stale,
        );
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let (file, text) = generate::completion(&cmd, shell);
            check(&root().join("completions").join(file), &text, &mut stale);
        }
    }
    assert!(
        stale.is_empty(),
        "generated files drifted from the CLI: {}\nrun `make man completions` and commit",
        stale.join(", ")
    );
}

#[test]
fn every_man_page_lists_exit_status_and_environment() {
    for cmd in generate::commands() {
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

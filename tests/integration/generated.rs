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

/// What the bash completion of `tool` offers for the words `line` (the last one
/// being completed), with the namespace in WOOF_NAMESPACE or on the line.
fn bash_offers(tool: &str, line: &[&str], woof_ns: Option<&Path>) -> Vec<String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = Path::new(env!("CARGO_BIN_EXE_woof-ls"))
        .parent()
        .expect("target dir");
    let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source '{}/completions/{tool}.bash'\n\
         COMP_WORDS=({tool} {})\nCOMP_CWORD={}\n\
         _{}_names {tool} \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        repo.display(),
        words.join(" "),
        line.len(),
        tool.replace('-', "__"),
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c").arg(script);
    cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    cmd.env_remove("WOOF_NAMESPACE");
    if let Some(ns) = woof_ns {
        cmd.env("WOOF_NAMESPACE", ns);
    }
    let out = cmd.output().expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut offered: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    offered.sort();
    offered
}

#[test]
fn bash_completes_woof_and_handler_names_from_the_namespace() {
    use std::os::unix::fs::PermissionsExt;
    let ns = crate::util::Ns::new();
    ns.create("temps", 8, 10);
    ns.create("tide", 8, 10);
    ns.create("humidity", 8, 10);
    std::fs::write(ns.path().join("todo.txt"), "not a woof").expect("file");
    let handlers = ns.path().join("handlers");
    std::fs::create_dir_all(&handlers).expect("handlers/");
    for (h, mode) in [("alert", 0o755), ("archive", 0o755), ("notes", 0o644)] {
        std::fs::write(handlers.join(h), "#!/bin/sh\n").expect("handler");
        std::fs::set_permissions(handlers.join(h), std::fs::Permissions::from_mode(mode))
            .expect("mode");
    }
    let dir = ns.path().display().to_string();
    // Woofs of the namespace on the line; files that are not woofs are left out.
    assert_eq!(
        bash_offers("woof-get", &["-N", &dir, "t"], None),
        ["temps", "tide"]
    );
    assert_eq!(
        bash_offers("woof-tail", &["-f", "--namespace", &dir, "temps", ""], None),
        ["humidity", "temps", "tide"]
    );
    // Or of WOOF_NAMESPACE.
    assert_eq!(
        bash_offers("woof-put", &["h"], Some(ns.path())),
        ["humidity"]
    );
    // Handlers (executables only) after -H.
    assert_eq!(
        bash_offers("woof-put", &["-N", &dir, "temps", "-H", "a"], None),
        ["alert", "archive"]
    );
    assert_eq!(
        bash_offers("woof-forward", &["--all", "--handler", ""], Some(ns.path())),
        ["alert", "archive"]
    );
    // An option's value is clap's to complete, options stay options.
    assert_eq!(
        bash_offers(
            "woof-get",
            &["-N", &dir, "temps", "--time-format", "u"],
            None
        ),
        ["unix", "unix-ns"]
    );
    assert!(bash_offers("woof-get", &["-N", &dir, "--in"], None).contains(&"--info".to_string()));
}

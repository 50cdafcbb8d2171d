//! `make install` puts every binary, man page and completion under
//! DESTDIR/PREFIX, and `make uninstall` removes exactly those files. Uses the
//! binaries of this test build (`BUILD=0 RELEASE=…`), so no release build runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file (not directory) under `dir`, relative to it.
fn files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir");
                out.insert(rel.display().to_string());
            }
        }
    }
    out
}

/// The names in the checkout's `dir` matching `keep`.
fn checkout(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
    std::fs::read_dir(root().join(dir))
        .expect("read checkout dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| keep(n))
        .collect()
}

/// The `[[bin]]` names of Cargo.toml and proxy/Cargo.toml (woof-proxy is its own
/// package: the one binary that links libzmq).
fn cargo_bins() -> Vec<String> {
    let mut toml = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    toml += &std::fs::read_to_string(root().join("proxy/Cargo.toml")).expect("proxy/Cargo.toml");
    let mut bins = Vec::new();
    let mut in_bin = false;
    for line in toml.lines() {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(name) = line.strip_prefix("name = ") {
            bins.push(name.trim_matches('"').to_string());
        }
    }
    bins
}

fn make(target: &str, dest: &Path) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_woof-put"))
        .parent()
        .expect("binary dir");
    let out = Command::new("make")
        .arg("-C")
        .arg(root())
        .arg("--no-print-directory")
        .arg(target)
        .arg("PREFIX=/usr")
        .arg(format!("DESTDIR={}", dest.display()))
        .arg("BUILD=0")
        .arg(format!("RELEASE={}", bin_dir.display()))
        // Not the jobserver of a `make test` this may run under.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "make {target} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CSPOT program builds with the installed pkg-config file (relocatable, so it
/// works under DESTDIR) and a handler with the installed woof-cc; both run.
fn c_builds_against_the_install(dest: &Path) {
    let pc = dest.join("usr/lib/pkgconfig");
    let pkg = |args: &[&str]| -> String {
        let out = Command::new("pkg-config")
            .args(args)
            .arg("woof")
            .env("PKG_CONFIG_PATH", &pc)
            .output()
            .expect("pkg-config");
        assert!(out.status.success(), "pkg-config {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let work = tempfile::tempdir().expect("temp dir");
    let prog = work.path().join("misuse");
    let lib = format!("{}/libwoofc.a", pkg(&["--variable=libdir"]));
    let status = Command::new("cc")
        .arg("-o")
        .arg(&prog)
        .args(pkg(&["--cflags"]).split_whitespace())
        .arg(root().join("tests/cspot_c/misuse.c"))
        .arg(lib)
        .args(pkg(&["--variable=private_libs"]).split_whitespace())
        .status()
        .expect("cc");
    assert!(status.success());
    let ns = work.path().join("ns");
    std::fs::create_dir(&ns).expect("ns");
    std::fs::write(ns.join("notawoof.txt"), "not a woof\n").expect("file");
    let out = Command::new(&prog)
        .current_dir(&ns)
        .env_remove("WOOFC_DIR")
        .env_remove("WOOFC_NAMESPACE")
        .env_remove("WOOF_NAMESPACE")
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "survived\n");
    // The documented line, `cc … $(pkg-config --cflags --libs woof)`: the shared
    // library.
    let shared = work.path().join("misuse-shared");
    let status = Command::new("cc")
        .arg("-o")
        .arg(&shared)
        .arg(root().join("tests/cspot_c/misuse.c"))
        .args(pkg(&["--cflags", "--libs"]).split_whitespace())
        .status()
        .expect("cc");
    assert!(status.success());
    std::fs::write(ns.join("notawoof.txt"), "not a woof\n").expect("file");
    let out = Command::new(&shared)
        .current_dir(&ns)
        .env("LD_LIBRARY_PATH", dest.join("usr/lib"))
        .env_remove("WOOFC_DIR")
        .env_remove("WOOFC_NAMESPACE")
        .env_remove("WOOF_NAMESPACE")
        .output()
        .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "survived\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(dest.join("usr/bin/woof-cc"))
        .arg("-o")
        .arg(work.path().join("hw"))
        .arg(root().join("tests/cspot_c/hw.c"))
        .arg(format!("-I{}", root().join("tests/cspot_c").display()))
        .env_remove("WOOF_CFLAGS")
        .env_remove("WOOF_LIBS")
        .env_remove("PKG_CONFIG_PATH")
        .output()
        .expect("woof-cc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Run outside woof-platform it says what it is for (exit 2).
    let out = Command::new(work.path().join("hw")).output().expect("hw");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn install_puts_everything_under_destdir_and_uninstall_removes_exactly_it() {
    let dest = tempfile::Builder::new()
        .prefix("woof-install-")
        .tempdir()
        .expect("temp dir");
    make("install", dest.path());

    let mut want = BTreeSet::new();
    for b in cargo_bins() {
        want.insert(format!("usr/bin/{b}"));
    }
    for m in checkout("man", |n| n.ends_with(".1")) {
        want.insert(format!("usr/share/man/man1/{m}"));
    }
    want.insert("usr/share/man/man5/woof.5".into());
    want.insert("usr/share/man/man7/woof.7".into());
    for c in checkout("completions", |_| true) {
        let path = if let Some(n) = c.strip_suffix(".bash") {
            format!("usr/share/bash-completion/completions/{n}")
        } else if c.ends_with(".fish") {
            format!("usr/share/fish/vendor_completions.d/{c}")
        } else {
            format!("usr/share/zsh/site-functions/{c}")
        };
        want.insert(path);
    }
    for f in [
        "usr/lib/libwoofc.a",
        "usr/lib/libwoofc.so",
        "usr/include/woofc.h",
        "usr/lib/pkgconfig/woof.pc",
        "usr/bin/woof-cc",
        "usr/share/woof/handler-main.c",
        "usr/share/man/man3/woof_c.3",
    ] {
        want.insert(f.to_string());
    }
    // Every binary of the package, its man page and its completions, libwoof,
    // nothing else.
    assert_eq!(files(dest.path()), want);
    c_builds_against_the_install(dest.path());
    assert!(want.contains("usr/bin/woof-ls") && want.contains("usr/share/man/man1/woof-ls.1"));
    let installed = dest.path().join("usr/bin/woof-ls");
    let status = Command::new(&installed)
        .arg("--version")
        .output()
        .expect("run installed woof-ls");
    assert!(status.status.success());

    make("uninstall", dest.path());
    assert_eq!(files(dest.path()), BTreeSet::new());
}

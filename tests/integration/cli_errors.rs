//! Every bad input named in issue 2 ("Bad input"): each gets its one-line message on
//! stderr, the exit code of DESIGN §3, and changes nothing (the namespace's files
//! are byte-for-byte the same afterwards, or the put stopped exactly where it says).
//!
//! Damaged woof files (not a woof, wrong version, bad checksum, truncated) are
//! covered with committed fixture files in `tests/integration/fixtures.rs`.

use crate::util;

use std::io::Write;

use util::{Ns, fails};

const TOOLS: [&str; 4] = ["woof-create", "woof-put", "woof-get", "woof-tail"];

/// A namespace with woof `t` (8-byte elements, history 4) holding `n` elements
/// `00000001`, `00000002`, ... (as text).
fn ns_with(n: u64) -> Ns {
    let ns = Ns::new();
    ns.create("t", 8, 4);
    if n > 0 {
        let text: String = (1..=n).map(|i| format!("{i:08}\n")).collect();
        assert_eq!(ns.put_lines("t", &text), (1, n));
    }
    ns
}

/// Runs `bin` on `name` with whatever else it needs to get as far as the name check.
/// Every tool refuses each name with exit 2 and `TOOL: woof name SHOWN`, and the
/// namespace is left exactly as it was.
fn refused_by_every_tool(ns: &Ns, cases: &[(&str, String)]) {
    let before = ns.snapshot();
    for bin in TOOLS {
        for (name, shown) in cases {
            fails(
                &mut with_name(ns, bin, name),
                2,
                &format!("{bin}: woof name {shown}"),
            );
        }
    }
    assert_eq!(ns.snapshot(), before);
}

fn with_name(ns: &Ns, bin: &str, name: &str) -> assert_cmd::Command {
    let mut cmd = ns.cmd(bin);
    cmd.arg(name);
    match bin {
        "woof-create" => {
            cmd.args(["-s", "8", "-n", "4"]);
        }
        "woof-put" => {
            cmd.write_stdin("12345678");
        }
        _ => {}
    }
    cmd
}

// ---------------------------------------------------------------------------
// Element size on put.

#[test]
fn put_of_a_short_element_without_pad_is_refused() {
    let ns = ns_with(2);
    let before = ns.snapshot();
    fails(
        ns.cmd("woof-put").arg("t").write_stdin("abc"),
        65,
        "woof-put: t: element is 3 bytes, woof holds 8-byte elements: use --pad to zero-pad",
    );
    fails(
        ns.cmd("woof-put").arg("t").write_stdin(""),
        65,
        "woof-put: t: element is 0 bytes, woof holds 8-byte elements: use --pad to zero-pad",
    );
    assert_eq!(ns.snapshot(), before);
}

#[test]
fn put_of_a_long_element_is_refused_with_or_without_pad() {
    let ns = ns_with(2);
    let before = ns.snapshot();
    fails(
        ns.cmd("woof-put").arg("t").write_stdin("123456789"),
        65,
        "woof-put: t: element is 9 bytes, woof holds 8-byte elements",
    );
    fails(
        ns.cmd("woof-put")
            .args(["t", "--pad"])
            .write_stdin("123456789"),
        65,
        "woof-put: t: element is 9 bytes, woof holds 8-byte elements: --pad only pads shorter input",
    );
    // The message names the real size, however much there was.
    fails(
        ns.cmd("woof-put").arg("t").write_stdin(vec![7u8; 1 << 20]),
        65,
        "woof-put: t: element is 1048576 bytes, woof holds 8-byte elements",
    );
    assert_eq!(ns.snapshot(), before);
    assert_eq!(ns.latest("t"), 2);
}

#[test]
fn batch_with_a_trailing_partial_element_puts_the_whole_ones_then_fails() {
    let ns = ns_with(0);
    let mut input = b"aaaaaaaabbbbbbbb".to_vec();
    input.extend_from_slice(b"ccc");
    ns.cmd("woof-put")
        .args(["t", "--batch"])
        .write_stdin(input)
        .assert()
        .code(65)
        .stdout("1..2\n")
        .stderr(
            "woof-put: t: 3 bytes left over at end of input (not a whole 8-byte element); put 1..2\n",
        );
    assert_eq!(
        ns.get_hex("t", "1..2"),
        ["6161616161616161", "6262626262626262"]
    );
    assert_eq!(ns.latest("t"), 2);
}

#[test]
fn batch_of_only_a_partial_element_puts_nothing() {
    let ns = ns_with(1);
    let before = ns.snapshot();
    fails(
        ns.cmd("woof-put").args(["t", "--batch"]).write_stdin("ccc"),
        65,
        "woof-put: t: 3 bytes left over at end of input (not a whole 8-byte element); nothing was put",
    );
    assert_eq!(ns.snapshot(), before);
}

#[test]
fn lines_with_an_over_long_line_names_the_line_and_stops_there() {
    let ns = ns_with(0);
    // Lines 1 and 2 are whole and streamed in; line 3 is too long; line 4 is never put.
    ns.cmd("woof-put")
        .args(["t", "--lines", "--pad"])
        .write_stdin("one\ntwo\n123456789\nfour\n")
        .assert()
        .code(65)
        .stdout("1..2\n")
        .stderr(
            "woof-put: t: line 3: element is 9 bytes, woof holds 8-byte elements: --pad only pads shorter input\n",
        );
    assert_eq!(
        ns.get_hex("t", "1.."),
        ["6f6e650000000000", "74776f0000000000"]
    );
}

#[test]
fn lines_with_a_short_line_without_pad_names_the_line() {
    let ns = ns_with(0);
    let before = ns.snapshot();
    fails(
        ns.cmd("woof-put")
            .args(["t", "--lines"])
            .write_stdin("short\n12345678\n"),
        65,
        "woof-put: t: line 1: element is 5 bytes, woof holds 8-byte elements: use --pad to zero-pad",
    );
    assert_eq!(ns.snapshot(), before);
}

// ---------------------------------------------------------------------------
// Names: never a path, never hidden, never a control character, at most 200 bytes.

#[test]
fn names_that_are_paths_are_refused_by_every_tool() {
    let ns = ns_with(1);
    // A real woof one directory down must not be reachable through a path name.
    std::fs::create_dir(ns.file("sub")).expect("mkdir");
    util::bare("woof-create")
        .args(["-N"])
        .arg(ns.file("sub"))
        .args(["t", "-s", "8", "-n", "4"])
        .assert()
        .success();
    let sub_before = std::fs::read(ns.file("sub").join("t")).expect("sub woof");
    let slash = "contains '/' (a name is not a path; use -N DIR for another namespace)";
    let cases = [
        ("sub/t", slash),
        ("/etc/passwd", slash),
        ("x/../t", slash),
        ("..", "starts with a dot"),
        ("../t", "starts with a dot"),
        (".", "starts with a dot"),
    ];
    let cases: Vec<(&str, String)> = cases
        .iter()
        .map(|(n, why)| (*n, format!("'{n}': {why}")))
        .collect();
    refused_by_every_tool(&ns, &cases);
    assert_eq!(
        std::fs::read(ns.file("sub").join("t")).expect("sub woof"),
        sub_before
    );
}

#[test]
fn names_with_control_characters_are_refused_by_every_tool() {
    // A NUL byte cannot be passed in argv at all (execve takes C strings), so the
    // NUL case is covered by the unit test of `woof::name::validate`; here: other
    // control characters, which can.
    let ns = ns_with(1);
    let cases = [
        ("a\x01b", "'a\\u{1}b': contains control character 0x01"),
        ("a\nb", "'a\\nb': contains control character 0x0a"),
        ("tab\there", "'tab\\there': contains control character 0x09"),
        ("del\x7f", "'del\\u{7f}': contains control character 0x7f"),
    ];
    let cases: Vec<(&str, String)> = cases.iter().map(|(n, s)| (*n, s.to_string())).collect();
    refused_by_every_tool(&ns, &cases);
}

#[test]
fn hidden_empty_and_odd_names_are_refused() {
    let ns = ns_with(1);
    let cases = [
        (".hidden", "'.hidden': starts with a dot"),
        (".woof", "'.woof': starts with a dot"),
        ("", "'': is empty"),
        (
            "a b",
            "'a b': contains ' ' (allowed: letters, digits, '.', '_', '-')",
        ),
        (
            "t*",
            "'t*': contains '*' (allowed: letters, digits, '.', '_', '-')",
        ),
    ];
    let cases: Vec<(&str, String)> = cases.iter().map(|(n, s)| (*n, s.to_string())).collect();
    refused_by_every_tool(&ns, &cases);
}

#[test]
fn names_over_200_bytes_are_refused_and_200_is_fine() {
    let ns = ns_with(0);
    let long = "x".repeat(201);
    let shown = format!("'{}...': is 201 bytes long (at most 200)", "x".repeat(60));
    refused_by_every_tool(&ns, &[(long.as_str(), shown)]);
    let ok = "y".repeat(200);
    ns.create(&ok, 8, 4);
    assert_eq!(ns.put(&ok, b"12345678"), 1);
}

#[test]
fn non_utf8_names_are_usage_errors() {
    use std::os::unix::ffi::OsStrExt;
    let ns = ns_with(0);
    let before = ns.snapshot();
    for bin in TOOLS {
        let mut cmd = ns.cmd(bin);
        cmd.arg(std::ffi::OsStr::from_bytes(b"bad\xffname"));
        if bin == "woof-create" {
            cmd.args(["-s", "8", "-n", "4"]);
        }
        cmd.write_stdin("")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::starts_with(
                "error: invalid UTF-8 was detected in one or more arguments\n",
            ));
    }
    assert_eq!(ns.snapshot(), before);
}

// ---------------------------------------------------------------------------
// Seqnos and ranges.

#[test]
fn an_evicted_seqno_names_the_oldest() {
    let ns = Ns::new();
    ns.create("temps", 8, 4);
    let text: String = (1..=20).map(|i| format!("{i}\n")).collect();
    assert_eq!(ns.put_lines("temps", &text), (1, 20));
    fails(
        ns.cmd("woof-get").args(["temps", "3"]),
        66,
        "woof-get: temps: seqno 3 evicted (oldest is 17)",
    );
    // In a range, what exists is printed and the gap reported, still exit 66.
    ns.cmd("woof-get")
        .args(["temps", "15..18", "--format", "hex"])
        .assert()
        .code(66)
        .stdout("3137000000000000\n3138000000000000\n")
        .stderr("woof-get: temps: seqno 15 evicted (oldest is 17)\n");
}

#[test]
fn a_seqno_not_yet_written_names_the_latest() {
    let ns = ns_with(2);
    fails(
        ns.cmd("woof-get").args(["t", "3"]),
        66,
        "woof-get: t: seqno 3 not yet written (latest is 2)",
    );
    ns.cmd("woof-get")
        .args(["t", "2..5", "--format", "hex"])
        .assert()
        .code(66)
        .stdout("3030303030303032\n")
        .stderr("woof-get: t: seqno 3 not yet written (latest is 2)\n");
    // FROM.. ("to the latest") past the latest answers as FROM alone does.
    fails(
        ns.cmd("woof-get").args(["t", "3.."]),
        66,
        "woof-get: t: seqno 3 not yet written (latest is 2)",
    );
}

#[test]
fn the_latest_of_an_empty_woof_is_an_error() {
    let ns = ns_with(0);
    fails(
        ns.cmd("woof-get").arg("t"),
        66,
        "woof-get: t: empty (no element written yet)",
    );
    fails(
        ns.cmd("woof-get").args(["t", "1"]),
        66,
        "woof-get: t: seqno 1 not yet written (latest is 0)",
    );
}

#[test]
fn a_range_from_greater_than_to_is_a_usage_error() {
    let ns = ns_with(3);
    fails(
        ns.cmd("woof-get").args(["t", "3..2"]),
        2,
        "woof-get: range 3..2: FROM is greater than TO",
    );
    fails(
        ns.cmd("woof-get").args(["t", "0..2"]),
        2,
        "woof-get: range 0..2: seqnos start at 1",
    );
    fails(
        ns.cmd("woof-get").args(["t", "two"]),
        2,
        "woof-get: 'two' is not a seqno or FROM..TO range",
    );
    fails(
        ns.cmd("woof-get").args(["t", "1...3"]),
        2,
        "woof-get: '1...3' is not a seqno or FROM..TO range",
    );
}

// ---------------------------------------------------------------------------
// Missing things.

#[test]
fn a_missing_woof_is_66_for_every_tool() {
    let ns = ns_with(0);
    let before = ns.snapshot();
    for bin in ["woof-put", "woof-get", "woof-tail"] {
        fails(
            &mut with_name(&ns, bin, "nope"),
            66,
            &format!("{bin}: nope: no such woof in {}", ns.abs()),
        );
    }
    assert_eq!(
        ns.snapshot(),
        before,
        "a put to a missing woof creates nothing"
    );
}

#[test]
fn a_missing_namespace_is_66_for_every_tool() {
    let ns = Ns::new();
    let missing = ns.file("no-such-dir");
    for bin in TOOLS {
        let mut cmd = util::bare(bin);
        cmd.current_dir(ns.path()).arg("-N").arg(&missing);
        cmd.arg("t");
        if bin == "woof-create" {
            cmd.args(["-s", "8", "-n", "4"]);
        }
        fails(
            &mut cmd,
            66,
            &format!(
                "{bin}: namespace {}: no such file or directory",
                missing.display()
            ),
        );
    }
    assert!(!missing.exists());
    assert!(ns.listing().is_empty());

    // A namespace that is a file, not a directory.
    std::fs::write(ns.file("plain"), "x").expect("write");
    for bin in TOOLS {
        let mut cmd = util::bare(bin);
        cmd.arg("-N").arg(ns.file("plain")).arg("t");
        if bin == "woof-create" {
            cmd.args(["-s", "8", "-n", "4"]);
        }
        fails(
            &mut cmd,
            66,
            &format!(
                "{bin}: namespace {}: not a directory",
                ns.file("plain").display()
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// woof-create.

#[test]
fn create_over_an_existing_woof_is_refused_and_leaves_it_intact() {
    let ns = ns_with(3);
    let before = ns.snapshot();
    fails(
        ns.cmd("woof-create").args(["t", "-s", "16", "-n", "9"]),
        73,
        "woof-create: t: already exists (use --force to replace it and discard its elements)",
    );
    assert_eq!(ns.snapshot(), before);
    assert_eq!(ns.get_hex("t", "3"), ["3030303030303033"]);
    assert_eq!(ns.put("t", b"45678901"), 4);
}

#[test]
fn create_over_a_non_woof_file_is_refused_too() {
    let ns = Ns::new();
    std::fs::write(ns.file("notes"), "precious\n").expect("write");
    fails(
        ns.cmd("woof-create").args(["notes", "-s", "8", "-n", "4"]),
        73,
        "woof-create: notes: already exists (use --force to replace it and discard its elements)",
    );
    assert_eq!(
        std::fs::read(ns.file("notes")).expect("read"),
        b"precious\n"
    );
    assert_eq!(ns.listing(), ["notes"]);
}

#[test]
fn create_with_force_replaces_the_woof() {
    let ns = ns_with(3);
    ns.cmd("woof-create")
        .args(["t", "-s", "16", "-n", "9", "--force"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    assert_eq!(ns.info_field("t", "element size"), "16 bytes");
    assert_eq!(ns.info_field("t", "history"), "9");
    assert_eq!(ns.latest("t"), 0);
    fails(
        ns.cmd("woof-get").args(["t", "1"]),
        66,
        "woof-get: t: seqno 1 not yet written (latest is 0)",
    );
    // Only the woof itself: no temporary file left behind.
    assert_eq!(ns.listing(), ["t"]);
}

#[test]
fn zero_and_absurd_sizes_are_usage_errors() {
    let ns = Ns::new();
    let cases: [(&str, &str, &str); 6] = [
        ("0", "4", "element size must be at least 1 byte"),
        ("8", "0", "history must be at least 1 element"),
        (
            "67108865",
            "4",
            "element size 67108865 is too large (at most 67108864 bytes)",
        ),
        (
            "8",
            "4294967297",
            "history 4294967297 is too large (at most 4294967296)",
        ),
        (
            "18446744073709551615",
            "1",
            "element size 18446744073709551615 is too large (at most 67108864 bytes)",
        ),
        (
            "67108864",
            "20000",
            "20000 elements of 67108864 bytes need 1342177764096 bytes (at most 1099511627776)",
        ),
    ];
    for (size, history, msg) in cases {
        fails(
            ns.cmd("woof-create").args(["t", "-s", size, "-n", history]),
            2,
            &format!("woof-create: {msg}"),
        );
    }
    // Not numbers at all: clap's own usage errors, still exit 2.
    for (size, history) in [("-1", "4"), ("8", "many"), ("1e3", "4")] {
        ns.cmd("woof-create")
            .args(["t", "-s", size, "-n", history])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::starts_with("error: "));
    }
    assert!(ns.listing().is_empty(), "{:?}", ns.listing());
}

// ---------------------------------------------------------------------------
// Cursor files.

#[test]
fn a_cursor_file_with_garbage_is_bad_data() {
    let ns = ns_with(3);
    let cur = ns.path().join("cur");
    std::fs::write(&cur, "garbage\n").expect("write");
    fails(
        ns.cmd("woof-tail").args(["t", "--cursor"]).arg(&cur),
        65,
        &format!(
            "woof-tail: cursor {}: holds 'garbage', not a seqno",
            cur.display()
        ),
    );
    std::fs::write(&cur, b"\xff\xfe\x00\x01").expect("write");
    fails(
        ns.cmd("woof-tail").args(["t", "--cursor"]).arg(&cur),
        65,
        &format!("woof-tail: cursor {}: not a text file", cur.display()),
    );
    std::fs::write(&cur, "-5\n").expect("write");
    fails(
        ns.cmd("woof-tail").args(["t", "--cursor"]).arg(&cur),
        65,
        &format!(
            "woof-tail: cursor {}: holds '-5', not a seqno",
            cur.display()
        ),
    );
    // The bad file is left as it was, for a human to look at.
    assert_eq!(std::fs::read(&cur).expect("read"), b"-5\n");
}

#[test]
fn a_cursor_that_is_a_directory_or_in_a_missing_one_is_refused() {
    let ns = ns_with(3);
    let dir = ns.path().join("curdir");
    std::fs::create_dir(&dir).expect("mkdir");
    fails(
        ns.cmd("woof-tail").args(["t", "--cursor"]).arg(&dir),
        74,
        &format!("woof-tail: cursor {}: is a directory", dir.display()),
    );
    let missing = ns.path().join("nodir").join("cur");
    fails(
        ns.cmd("woof-tail").args(["t", "--cursor"]).arg(&missing),
        66,
        &format!(
            "woof-tail: cursor {}: no such file or directory",
            missing.display()
        ),
    );
}

#[test]
fn a_cursor_without_permission_is_77() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if nix::unistd::geteuid().is_root() {
        eprintln!("skipped: running as root, which file permissions do not stop");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let ns = ns_with(3);
    let cur = ns.path().join("cur");
    std::fs::write(&cur, "1\n").expect("write");
    std::fs::set_permissions(&cur, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    fails(
        ns.cmd("woof-tail").args(["t", "--cursor"]).arg(&cur),
        77,
        &format!("woof-tail: cursor {}: permission denied", cur.display()),
    );
}

// ---------------------------------------------------------------------------
// Usage errors from the argument parser itself.

#[test]
fn unknown_flags_and_missing_arguments_exit_2() {
    let ns = ns_with(0);
    for args in [
        vec!["woof-create", "t"],
        vec!["woof-create", "t", "-s", "8"],
        vec!["woof-put"],
        vec!["woof-get"],
        vec!["woof-tail"],
        vec!["woof-get", "t", "--bogus"],
        vec!["woof-put", "t", "--batch", "--lines"],
        vec!["woof-get", "t", "--format", "xml"],
        vec!["woof-tail", "t", "-n", "3", "--after", "2"],
    ] {
        ns.cmd(args[0])
            .args(&args[1..])
            .write_stdin("")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::starts_with("error: "));
    }
}

/// Input from a regular file (`woof-put t --batch < in.bin`) behaves like a pipe.
#[test]
fn put_with_stdin_from_a_file_works_like_a_pipe() {
    let ns = ns_with(0);
    let path = ns.path().join("in.bin");
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(b"ABCDEFGHIJKLMNOP").expect("write");
    drop(f);
    ns.cmd("woof-put")
        .args(["t", "--batch"])
        .pipe_stdin(&path)
        .expect("stdin")
        .assert()
        .success()
        .stdout("1..2\n")
        .stderr("");
    assert_eq!(
        ns.get_hex("t", "1..2"),
        ["4142434445464748", "494a4b4c4d4e4f50"]
    );
}

//! Commands for the real binaries, with every `WOOF_*` variable cleared and a bound
//! on how long each may run, and the checks of what they print.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Upper bound for any single command a test runs to completion.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound for waiting on something that should happen "at once".
pub const PROMPT: Duration = Duration::from_secs(10);

/// Path of one of the package's binaries (test builds carry `fault-injection`).
pub fn exe(bin: &str) -> &'static str {
    match bin {
        "woof-create" => env!("CARGO_BIN_EXE_woof-create"),
        "woof-put" => env!("CARGO_BIN_EXE_woof-put"),
        "woof-get" => env!("CARGO_BIN_EXE_woof-get"),
        "woof-tail" => env!("CARGO_BIN_EXE_woof-tail"),
        "woof-platform" => env!("CARGO_BIN_EXE_woof-platform"),
        "woof-shepherd" => env!("CARGO_BIN_EXE_woof-shepherd"),
        "woof-proxy" => proxy_exe(),
        "woof-ls" => env!("CARGO_BIN_EXE_woof-ls"),
        "woof-forward" => env!("CARGO_BIN_EXE_woof-forward"),
        other => panic!("no binary {other}"),
    }
}

/// What another package of the workspace builds into the target directory, beside
/// this package's binaries (cargo gives no CARGO_BIN_EXE for it); `make test`
/// builds those first, and `package` names what builds it when it is missing.
pub fn beside_binaries(file: &str, package: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_woof-put"))
        .parent()
        .expect("target dir");
    let p = dir.join(file);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p {package}` (make test does)",
        p.display()
    );
    p
}

/// woof-proxy is its own package (the one binary linking libzmq).
fn proxy_exe() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        beside_binaries("woof-proxy", "woof-proxy")
            .display()
            .to_string()
    })
}

/// A `std::process::Command` for `bin` with every `WOOF_*` variable removed and
/// stdin from /dev/null (a test that feeds stdin sets its own).
pub fn bare_std(bin: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(exe(bin));
    cmd.stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WOOF_") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// An `assert_cmd::Command` for `bin` with every `WOOF_*` variable removed and a
/// timeout; no namespace given.
pub fn bare(bin: &str) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::from_std(bare_std(bin));
    cmd.timeout(TIMEOUT);
    cmd
}

/// Runs `cmd` and checks it failed with exit `code`, printed exactly the one line
/// `stderr` (plus its newline) and nothing on stdout.
pub fn fails(cmd: &mut assert_cmd::Command, code: i32, stderr: &str) {
    cmd.assert()
        .code(code)
        .stdout("")
        .stderr(format!("{stderr}\n"));
}

/// Runs `cmd`, which must succeed with nothing on stderr; returns its stdout.
pub fn ok_stdout(mut cmd: impl std::borrow::BorrowMut<assert_cmd::Command>) -> Vec<u8> {
    cmd.borrow_mut()
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone()
}

/// Parses `N\n` (one-shot woof-put's output).
pub fn parse_seqno_line(out: &[u8]) -> u64 {
    let text = std::str::from_utf8(out).expect("utf8");
    let n = text
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("no newline: {text:?}"));
    n.parse()
        .unwrap_or_else(|_| panic!("not a seqno line: {text:?}"))
}

/// Parses `FIRST..LAST\n` (batch woof-put's output).
pub fn parse_range_line(out: &[u8]) -> (u64, u64) {
    let text = std::str::from_utf8(out).expect("utf8");
    let line = text
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("no newline: {text:?}"));
    let (a, b) = line
        .split_once("..")
        .unwrap_or_else(|| panic!("not FIRST..LAST: {text:?}"));
    let first = a.parse().unwrap_or_else(|_| panic!("bad FIRST: {text:?}"));
    let last = b.parse().unwrap_or_else(|_| panic!("bad LAST: {text:?}"));
    assert!(first <= last, "FIRST > LAST: {text:?}");
    (first, last)
}

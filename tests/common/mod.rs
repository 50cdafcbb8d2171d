//! Shared helpers for the integration tests: commands for the real binaries with
//! every `WOOF_*` variable cleared, a temporary namespace, self-verifying element
//! contents, and a guard for long-running children (killed in `Drop`).
//!
//! Every helper bounds its waits, so a broken tool fails a test instead of hanging
//! the suite.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

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
        other => panic!("no binary {other}"),
    }
}

/// woof-proxy is its own package (the one binary linking libzmq), so cargo gives
/// this package no CARGO_BIN_EXE for it: it sits beside the others in the target
/// directory (`cargo test --workspace` builds it).
fn proxy_exe() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let dir = Path::new(env!("CARGO_BIN_EXE_woof-put"))
            .parent()
            .expect("target dir");
        let p = dir.join("woof-proxy");
        assert!(
            p.exists(),
            "{} is missing: run `cargo build -p woof-proxy` (make test does)",
            p.display()
        );
        p.display().to_string()
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

/// A temporary namespace directory; removed when dropped.
pub struct Ns {
    dir: TempDir,
}

impl Default for Ns {
    fn default() -> Self {
        Ns::new()
    }
}

impl Ns {
    pub fn new() -> Ns {
        Ns {
            dir: tempfile::Builder::new()
                .prefix("woof-test-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The file of woof `name`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `bin -N <ns>`, run in the namespace directory, `WOOF_*` cleared, with a timeout.
    pub fn cmd(&self, bin: &str) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd(bin));
        cmd.timeout(TIMEOUT);
        cmd
    }

    /// As `cmd`, as a plain `std::process::Command` (for children a test steers).
    pub fn std_cmd(&self, bin: &str) -> std::process::Command {
        let mut cmd = bare_std(bin);
        cmd.arg("-N").arg(self.path()).current_dir(self.path());
        cmd
    }

    /// `woof-create name -s size -n history`, which must succeed quietly.
    pub fn create(&self, name: &str, size: u64, history: u64) {
        self.cmd("woof-create")
            .args([name, "-s", &size.to_string(), "-n", &history.to_string()])
            .assert()
            .success()
            .stdout("")
            .stderr("");
    }

    /// One-shot `woof-put name` of `data`; returns the seqno it printed.
    pub fn put(&self, name: &str, data: &[u8]) -> u64 {
        let out = ok_stdout(self.cmd("woof-put").arg(name).write_stdin(data));
        parse_seqno_line(&out)
    }

    /// `woof-put name --batch` of `data`; returns the FIRST..LAST it printed.
    pub fn put_batch(&self, name: &str, data: &[u8]) -> (u64, u64) {
        let out = ok_stdout(
            self.cmd("woof-put")
                .args([name, "--batch"])
                .write_stdin(data),
        );
        parse_range_line(&out)
    }

    /// `woof-put name --lines --pad` of `text`; returns the FIRST..LAST it printed.
    pub fn put_lines(&self, name: &str, text: &str) -> (u64, u64) {
        let out = ok_stdout(
            self.cmd("woof-put")
                .args([name, "--lines", "--pad"])
                .write_stdin(text),
        );
        parse_range_line(&out)
    }

    /// `woof-get name which --format hex`, which must succeed: one hex string per element.
    pub fn get_hex(&self, name: &str, which: &str) -> Vec<String> {
        let out = ok_stdout(self.cmd("woof-get").args([name, which, "--format", "hex"]));
        String::from_utf8(out)
            .expect("hex output is text")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `woof-get name which --format csv`, which must succeed, parsed.
    pub fn get_csv(&self, name: &str, which: &str) -> Vec<CsvLine> {
        let out = ok_stdout(self.cmd("woof-get").args([name, which, "--format", "csv"]));
        String::from_utf8(out)
            .expect("csv output is text")
            .lines()
            .map(CsvLine::parse)
            .collect()
    }

    /// The value of one `key: value` line of `woof-get name --info`.
    pub fn info_field(&self, name: &str, key: &str) -> String {
        let out = ok_stdout(self.cmd("woof-get").args([name, "--info"]));
        let text = String::from_utf8(out).expect("info is text");
        let prefix = format!("{key}:");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {key:?} in --info:\n{text}"))
            .trim()
            .to_string()
    }

    /// The latest seqno, from `--info`.
    pub fn latest(&self, name: &str) -> u64 {
        self.info_field(name, "latest")
            .parse()
            .expect("latest is a number")
    }

    /// The namespace's entries (names only), sorted: to prove nothing was created.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path())
            .expect("read namespace")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The bytes of woof `name`'s file.
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).expect("read woof file")
    }

    /// Every entry of the namespace with the bytes of each regular file (None for
    /// anything else): equal snapshots mean a command changed nothing.
    pub fn snapshot(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.listing()
            .into_iter()
            .map(|n| {
                let p = self.file(&n);
                let bytes = if p.is_file() {
                    Some(std::fs::read(&p).expect("read file"))
                } else {
                    None
                };
                (n, bytes)
            })
            .collect()
    }
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

/// One line of `--format csv` output: `seqno,put_time,hex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLine {
    pub seqno: u64,
    pub time: String,
    pub data: Vec<u8>,
}

impl CsvLine {
    pub fn parse(line: &str) -> CsvLine {
        CsvLine::try_parse(line).unwrap_or_else(|| panic!("not a csv element line: {line:?}"))
    }

    pub fn try_parse(line: &str) -> Option<CsvLine> {
        let mut parts = line.split(',');
        let seqno = parts.next()?.parse().ok()?;
        let time = parts.next()?.to_string();
        let data = unhex(parts.next()?)?;
        if parts.next().is_some() || !is_rfc3339_nanos(&time) {
            return None;
        }
        Some(CsvLine { seqno, time, data })
    }
}

pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            let pair = text.get(i..i + 2)?;
            if !pair
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return None;
            }
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, as woof prints put times.
pub fn is_rfc3339_nanos(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 30
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..29)
        && b[29] == b'Z'
}

// ---------------------------------------------------------------------------
// Self-verifying elements: (writer, counter) plus a checksum and filler derived
// from both, so that any torn, shifted or foreign bytes fail to verify.

/// Bytes of an encoded element (also a line for `--lines`: no newline inside).
pub const ELEMENT: usize = 48;

fn fnv(writer: u32, counter: u64) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in writer
        .to_le_bytes()
        .iter()
        .chain(counter.to_le_bytes().iter())
    {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The element writer `writer` puts as its `counter`-th: `wwww:cccccccc:ssssssss:` and
/// letters derived from all three, exactly `ELEMENT` bytes.
pub fn encode(writer: u32, counter: u64) -> Vec<u8> {
    let sum = fnv(writer, counter);
    let mut v = format!("{writer:04}:{counter:010}:{sum:08x}:").into_bytes();
    let mut i = 0u64;
    while v.len() < ELEMENT {
        let x = (u64::from(sum) + u64::from(writer) * 31 + counter + i) % 26;
        v.push(b'a' + x as u8);
        i += 1;
    }
    v
}

/// The (writer, counter) of an element made by `encode`, if every byte checks out.
/// The (seqno, writer, counter) of a printed element, which must verify.
pub fn whole(l: &CsvLine) -> (u64, u32, u64) {
    let (w, c) = decode(&l.data).unwrap_or_else(|| {
        panic!(
            "seqno {} is not whole: {:?}",
            l.seqno,
            String::from_utf8_lossy(&l.data)
        )
    });
    (l.seqno, w, c)
}

pub fn decode(data: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(data.get(..16)?).ok()?;
    let (w, rest) = text.split_once(':')?;
    let c = rest.strip_suffix(':').unwrap_or(rest);
    let (writer, counter) = (w.parse().ok()?, c.parse().ok()?);
    (encode(writer, counter) == data).then_some((writer, counter))
}

/// The lines `--lines` input for writer `writer`, counters `from..to`.
pub fn encoded_lines(writer: u32, counters: std::ops::Range<u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity((counters.end - counters.start) as usize * (ELEMENT + 1));
    for c in counters {
        out.extend_from_slice(&encode(writer, c));
        out.push(b'\n');
    }
    out
}

// ---------------------------------------------------------------------------
// Randomness without a dependency: xorshift, seeded from TEST_SEED or the clock
// (the seed is printed so a failure can be replayed).

pub struct Rng(u64);

impl Rng {
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64);
                t ^ u64::from(std::process::id()).rotate_left(32)
            });
        eprintln!("{test}: TEST_SEED={seed}");
        Rng(seed | 1)
    }

    pub fn with_seed(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

// ---------------------------------------------------------------------------
// Children a test steers.

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for `child` for at most `limit`; kills it and panics on timeout.
pub fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends SIGKILL to one child, by its pid.
pub fn sigkill(child: &Child) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
}

/// A running child whose stdout lines arrive on a channel (read by a thread, so a
/// test can wait with a bound) and whose stderr is collected. Killed on drop.
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Spawns `cmd` with stdout and stderr piped (stdin as the command has it).
    pub fn spawn(mut cmd: std::process::Command) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut err = err;
            let mut buf = [0u8; 4096];
            loop {
                match err.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink
                        .lock()
                        .expect("stderr lock")
                        .extend_from_slice(&buf[..n]),
                }
            }
        });
        Running {
            child,
            lines,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// The child's stdin, when the command was given `Stdio::piped()` for it.
    pub fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin was piped")
    }

    /// The next stdout line; panics when none arrives within `limit` (or at EOF).
    pub fn line(&self, limit: Duration) -> String {
        match self.lines.recv_timeout(limit) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => panic!(
                "no output line within {limit:?}; stderr so far: {:?}",
                self.stderr_text()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("output ended; stderr: {:?}", self.stderr_text())
            }
        }
    }

    /// The next line if one arrives within `limit`, None on timeout or EOF.
    pub fn try_line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr lock")).into_owned()
    }

    /// SIGKILLs the child, reaps it, and returns every stdout line it had printed
    /// that was not yet taken.
    pub fn kill_and_drain(&mut self) -> Vec<String> {
        sigkill(&self.child);
        let _ = self.child.wait();
        self.join_readers();
        self.lines.try_iter().collect()
    }

    /// Waits (bounded) for the child to exit; returns its status and the rest of its output.
    pub fn finish(&mut self, limit: Duration) -> (ExitStatus, Vec<String>) {
        let status = wait_bounded(&mut self.child, limit, "child");
        self.join_readers();
        (status, self.lines.try_iter().collect())
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            sigkill(&self.child);
        }
        let _ = self.child.wait();
    }
}

/// Kills (SIGKILL) and reaps a child when dropped, so a failing test leaves no
/// process behind.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            sigkill(&self.0);
        }
        let _ = self.0.wait();
    }
}

/// RFC 3339 in UTC with nanoseconds, computed independently of the tools
/// (days to civil date after H. Hinnant), to check the times they print.
pub fn rfc3339(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let nanos = ns % 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

// ---------------------------------------------------------------------------
// Handlers (issue 3): handler scripts in a namespace, a running woof-platform,
// and the results log read back through `woof-tail --results --format json`.

impl Ns {
    /// The namespace's canonical absolute path, as handlers see it in
    /// WOOF_NAMESPACE and causes name it.
    pub fn abs(&self) -> String {
        std::fs::canonicalize(self.path())
            .expect("canonicalize namespace")
            .display()
            .to_string()
    }

    /// Writes handler `handlers/NAME` (a whole script, shebang included), mode 0755.
    pub fn handler(&self, name: &str, script: &str) -> PathBuf {
        let dir = self.path().join("handlers");
        std::fs::create_dir_all(&dir).expect("mkdir handlers");
        let path = dir.join(name);
        std::fs::write(&path, script).expect("write handler");
        set_mode(&path, 0o755);
        path
    }

    /// `woof-put NAME --pad -H HANDLER` of `data`, which must succeed quietly;
    /// returns the seqno it printed.
    pub fn put_h(&self, name: &str, handler: &str, data: &[u8]) -> u64 {
        let out = ok_stdout(
            self.cmd("woof-put")
                .args([name, "--pad", "-H", handler])
                .write_stdin(data),
        );
        parse_seqno_line(&out)
    }

    /// `woof-put NAME --lines --pad -H HANDLER` of `text`; returns FIRST..LAST.
    pub fn put_lines_h(&self, name: &str, handler: &str, text: &str) -> (u64, u64) {
        let out = ok_stdout(
            self.cmd("woof-put")
                .args([name, "--lines", "--pad", "-H", handler])
                .write_stdin(text),
        );
        parse_range_line(&out)
    }

    /// The latest seqno of the trigger log (`.woof/triggers`), 0 when it does not exist.
    pub fn trigger_latest(&self) -> u64 {
        let state = self.path().join(".woof");
        if !state.join("triggers").exists() {
            return 0;
        }
        let out = bare("woof-get")
            .arg("-N")
            .arg(&state)
            .args(["triggers", "--info"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).expect("info is text");
        text.lines()
            .find_map(|l| l.strip_prefix("latest:"))
            .unwrap_or_else(|| panic!("no latest in --info:\n{text}"))
            .trim()
            .parse()
            .expect("latest is a number")
    }

    /// A file of the namespace as text (lossy), empty when it does not exist.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read(self.path().join(rel))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// `woof-platform -N <ns> ARGS`, running and ready (its "serving" line seen).
    pub fn platform(&self, args: &[&str]) -> Platform {
        let mut cmd = self.std_cmd("woof-platform");
        cmd.args(args);
        Platform::start(cmd)
    }

    /// Every record of the results log (none when it does not exist yet).
    pub fn results(&self) -> Vec<RunRec> {
        let out = self
            .cmd("woof-tail")
            .args(["--results", "-n", "1000000", "--format", "json"])
            .output()
            .expect("run woof-tail --results");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(66) && stderr.contains("no results log yet") {
            return Vec::new();
        }
        assert!(
            out.status.success() && stderr.is_empty(),
            "woof-tail --results failed: {:?} {stderr}",
            out.status
        );
        String::from_utf8(out.stdout)
            .expect("results are text")
            .lines()
            .map(RunRec::parse)
            .collect()
    }

    /// Polls the results log until `done` holds (panics after `limit`, showing them).
    pub fn wait_results(
        &self,
        limit: Duration,
        what: &str,
        mut done: impl FnMut(&[RunRec]) -> bool,
    ) -> Vec<RunRec> {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.results();
            if done(&r) {
                return r;
            }
            if Instant::now() >= deadline {
                let shown: Vec<String> = r.iter().map(RunRec::brief).collect();
                panic!(
                    "{what}: not within {limit:?}; results:\n{}",
                    shown.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Sets a file's permission bits.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The final outcomes (everything but "started") of the results.
pub fn finals(results: &[RunRec]) -> Vec<&RunRec> {
    results.iter().filter(|r| r.outcome != "started").collect()
}

/// Whether process `pid` is gone (no such process, or a zombie nobody reaped).
pub fn pid_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Sends `sig` to a process by pid (no error if it is gone).
pub fn signal_pid(pid: u32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
}

/// A running `woof-platform`: stdout lines on a channel, stderr collected. Dropping
/// it sends SIGTERM and waits (bounded) so its handlers' process groups are killed
/// too; SIGKILL if it does not stop.
pub struct Platform {
    pub run: Running,
}

impl Platform {
    /// Spawns `cmd` and waits (bounded) for "woof-platform: serving" on stderr.
    pub fn start(cmd: std::process::Command) -> Platform {
        Platform::try_start(cmd)
            .unwrap_or_else(|err| panic!("woof-platform did not become ready: {err:?}"))
    }

    /// As `start`, but returns what it printed on stderr if it did not become ready.
    pub fn try_start(cmd: std::process::Command) -> Result<Platform, String> {
        let mut p = Platform {
            run: Running::spawn(cmd),
        };
        wait_until(PROMPT, || {
            p.stderr_text().contains("woof-platform: serving ") || !p.run.is_running()
        });
        if p.stderr_text().contains("woof-platform: serving ") {
            return Ok(p);
        }
        // Exited (or hung): collect all it printed before judging.
        if p.run.is_running() {
            p.kill();
        }
        let (status, _) = p.run.finish(PROMPT);
        Err(format!("{}(status {status:?})", p.stderr_text()))
    }

    pub fn pid(&self) -> u32 {
        self.run.child.id()
    }

    pub fn stderr_text(&self) -> String {
        self.run.stderr_text()
    }

    /// Waits (bounded) until its stderr contains `needle`; returns whether it did.
    pub fn wait_stderr(&self, limit: Duration, needle: &str) -> bool {
        wait_until(limit, || self.stderr_text().contains(needle))
    }

    /// The next stdout line (panics if none within `limit`).
    pub fn line(&self, limit: Duration) -> String {
        self.run.line(limit)
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        signal_pid(self.pid(), sig);
    }

    /// SIGTERM, then waits (bounded); returns its status and remaining stdout lines.
    pub fn stop(&mut self) -> (ExitStatus, Vec<String>) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.run.finish(TIMEOUT)
    }

    /// SIGKILL (handlers it runs are left running, as after a crash).
    pub fn kill(&mut self) -> Vec<String> {
        self.run.kill_and_drain()
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        if self.run.is_running() {
            self.signal(nix::sys::signal::Signal::SIGTERM);
            wait_until(Duration::from_secs(15), || !self.run.is_running());
        }
        // Running's own Drop SIGKILLs what is left.
    }
}

/// One record of `woof-tail --results --format json`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRec {
    pub result: u64,
    pub trigger: u64,
    pub woof: String,
    pub seqno: u64,
    pub handler: String,
    pub outcome: String,
    pub code: Option<i64>,
    pub start: String,
    pub start_ns: u64,
    pub duration_ms: f64,
    pub cause: String,
    pub detail: String,
}

/// The keys of a results JSON object, in order.
pub const RESULT_KEYS: [&str; 12] = [
    "result",
    "trigger",
    "woof",
    "seqno",
    "handler",
    "outcome",
    "code",
    "start",
    "start_ns",
    "duration_ms",
    "cause",
    "detail",
];

impl RunRec {
    pub fn parse(line: &str) -> RunRec {
        let obj = parse_flat_json(line).unwrap_or_else(|| panic!("not a JSON object: {line:?}"));
        let keys: Vec<&str> = obj.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, RESULT_KEYS, "result keys of {line:?}");
        let get = |k: &str| {
            obj.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or(Json::Null)
        };
        let num = |k: &str| match get(k) {
            Json::Num(n) => n
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{k} not a u64 in {line:?}")),
            v => panic!("{k} is {v:?} in {line:?}"),
        };
        let text = |k: &str| match get(k) {
            Json::Str(s) => s,
            v => panic!("{k} is {v:?} in {line:?}"),
        };
        RunRec {
            result: num("result"),
            trigger: num("trigger"),
            woof: text("woof"),
            seqno: num("seqno"),
            handler: text("handler"),
            outcome: text("outcome"),
            code: match get("code") {
                Json::Null => None,
                Json::Num(n) => Some(n.parse().unwrap_or_else(|_| panic!("code in {line:?}"))),
                v => panic!("code is {v:?} in {line:?}"),
            },
            start: text("start"),
            start_ns: num("start_ns"),
            duration_ms: match get("duration_ms") {
                Json::Num(n) => n.parse().unwrap_or_else(|_| panic!("duration in {line:?}")),
                v => panic!("duration_ms is {v:?} in {line:?}"),
            },
            cause: text("cause"),
            detail: text("detail"),
        }
    }

    /// One line for failure messages.
    pub fn brief(&self) -> String {
        format!(
            "#{} t{} {}[{}] {} {} {:?} cause={:?} {:?}",
            self.result,
            self.trigger,
            self.handler,
            self.seqno,
            self.woof,
            self.outcome,
            self.code,
            self.cause,
            self.detail
        )
    }
}

/// A JSON value of a flat object.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Str(String),
    /// The number as written.
    Num(String),
    Bool(bool),
    Null,
}

/// Parses one flat JSON object (string keys; string, number, bool or null values)
/// into its (key, value) pairs in order; None if it is anything else.
pub fn parse_flat_json(text: &str) -> Option<Vec<(String, Json)>> {
    let mut p = JsonParser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    p.eat(b'{')?;
    let mut out = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let k = p.string()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            let v = p.value()?;
            out.push((k, v));
            p.ws();
            match p.peek()? {
                b',' => p.i += 1,
                b'}' => {
                    p.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == p.s.len()).then_some(out)
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.i += 1)
    }

    fn lit(&mut self, word: &str) -> Option<()> {
        let end = self.i + word.len();
        (self.s.get(self.i..end)? == word.as_bytes()).then(|| self.i = end)
    }

    fn value(&mut self) -> Option<Json> {
        match self.peek()? {
            b'"' => self.string().map(Json::Str),
            b'n' => self.lit("null").map(|()| Json::Null),
            b't' => self.lit("true").map(|()| Json::Bool(true)),
            b'f' => self.lit("false").map(|()| Json::Bool(false)),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                n.parse::<f64>().ok()?;
                Some(Json::Num(n.to_string()))
            }
            _ => None,
        }
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            self.i += 4;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                b if b < 0x20 => return None,
                b => out.push(b),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Network (issue 4): a running woof-proxy on a free loopback port.

/// A woof-proxy serving namespaces; killed on drop.
pub struct Proxy {
    pub run: Running,
    /// `tcp://ADDR:PORT` of each line "serving NS on ENDPOINT", in order.
    pub endpoints: Vec<(String, String)>,
}

impl Proxy {
    /// Starts `woof-proxy --export <each ns> --listen tcp://127.0.0.1:0 <extra>` and
    /// waits (bounded) until it reports its endpoint.
    pub fn start(exports: &[&Path], extra: &[&str]) -> Proxy {
        let mut cmd = bare_std("woof-proxy");
        for e in exports {
            cmd.arg("--export").arg(e);
        }
        if !extra
            .iter()
            .any(|a| *a == "--listen" || a.starts_with("--bind"))
        {
            cmd.args(["--listen", "tcp://127.0.0.1:0"]);
        }
        cmd.args(extra);
        Proxy::spawn(cmd, 1)
    }

    /// Runs `cmd` (a woof-proxy command) and waits for `n` "serving" lines.
    pub fn spawn(cmd: std::process::Command, n: usize) -> Proxy {
        let mut run = Running::spawn(cmd);
        let mut endpoints = Vec::new();
        let ok = wait_until(PROMPT, || {
            // Whole lines only: under load a line can be read half written, and a
            // cut-off port would send the test to the wrong one.
            endpoints = run
                .stderr_text()
                .split_inclusive('\n')
                .filter_map(|l| l.strip_suffix('\n'))
                .filter_map(|l| l.strip_prefix("woof-proxy: serving "))
                .filter_map(|l| l.split_once(" on "))
                .map(|(ns, ep)| {
                    let ep = ep.split_whitespace().next().unwrap_or("").to_string();
                    (ns.to_string(), ep)
                })
                .collect();
            endpoints.len() >= n || !run.is_running()
        });
        assert!(
            ok && endpoints.len() >= n,
            "woof-proxy did not start: {}",
            run.stderr_text()
        );
        Proxy { run, endpoints }
    }

    /// `host:port` of the first endpoint.
    pub fn authority(&self) -> String {
        self.endpoints[0].1.trim_start_matches("tcp://").to_string()
    }

    /// The URI of woof `name` in namespace `ns` through this proxy.
    pub fn uri(&self, ns: &Path, name: &str) -> String {
        format!("woof://{}{}/{}", self.authority(), ns.display(), name)
    }
}

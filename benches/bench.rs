//! woof's performance targets, each measured against a baseline taken in the same run
//! on the same machine (DESIGN.md §8). Run with `cargo bench --bench bench` (or
//! `make bench`).
//!
//! Prints one markdown table and writes it to `target/bench/latest.md`, so results can be
//! compared across commits. Timings live here, never in a test assertion: a missed
//! target is reported in the table, not as a failure.
//!
//! Rows that need a binary (`woof-put`, `woof-tail`) are reported as skipped when it is
//! missing; a row whose measurement goes wrong is reported as failed with the cause.

use std::fmt::Display;
use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use woof::{CreateOptions, Durability, Woof};

/// Every row moves 64-byte elements, the size the targets are stated for.
const ELEM: usize = 64;

/// In-process latency: puts/gets per timed batch, batches, individually timed calls.
const BATCH: usize = 1_000;
const BATCHES: usize = 300;
const SINGLES: usize = 20_000;
/// Ring size of the in-process rows; small enough to stay cache-warm like a busy woof.
const RING: u64 = 10_000;

/// Bulk ingest (`woof-put --batch` against `dd bs=64`).
const BULK_ELEMENTS: usize = 1_000_000;
const BULK_REPS: usize = 5;

/// Durable ingest (group commit) against a write + fdatasync loop.
const DURABLE_ELEMENTS: usize = 200_000;
const DURABLE_REPS: usize = 5;
/// The fdatasync loop stops at whichever comes first; ~135 µs each here, so ~1 s.
const FSYNC_MAX_OPS: usize = 5_000;
const FSYNC_MAX_TIME: Duration = Duration::from_secs(1);

/// One process per put against spawning `/bin/true`.
const SPAWNS: usize = 400;

/// Follow latency: how long one element may take to arrive (samples: see SPACINGS).
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(2);

type Res<T> = Result<T, String>;

/// Adds what was being done to an error, so a failed row names its cause.
trait Context<T> {
    fn ctx(self, what: &str) -> Res<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// What a row measures and what it should reach: known before measuring, so rows
/// that are skipped or fail still show up in the table.
struct Spec {
    op: &'static str,
    target: &'static str,
}

/// One line of the table.
struct Row {
    op: &'static str,
    result: String,
    baseline: String,
    ratio: String,
    target: String,
}

impl Row {
    /// A measured row; `met` decides the verdict shown after the target.
    fn measured(spec: &Spec, result: String, baseline: String, ratio: String, met: bool) -> Row {
        let verdict = if met { "met" } else { "**missed**" };
        Row {
            op: spec.op,
            result,
            baseline,
            ratio,
            target: format!("{} — {verdict}", spec.target),
        }
    }

    /// A row that could not be measured; `why` goes in the result column.
    fn not_measured(spec: &Spec, why: &str) -> Row {
        Row {
            op: spec.op,
            result: why.to_string(),
            baseline: "–".to_string(),
            ratio: "–".to_string(),
            target: spec.target.to_string(),
        }
    }

    fn markdown(&self) -> String {
        let cells = [
            self.op,
            &self.result,
            &self.baseline,
            &self.ratio,
            &self.target,
        ];
        let cells: Vec<String> = cells.iter().map(|c| escape_cell(c)).collect();
        format!("| {} |", cells.join(" | "))
    }
}

/// Error messages may hold `|` or newlines, which would break the table.
fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The rows of `specs` as `measured` returns them, or each marked failed with why.
fn rows_or_failed(specs: &[Spec], measured: Res<Vec<Row>>) -> Vec<Row> {
    measured.unwrap_or_else(|why| {
        let why = format!("failed: {why}");
        specs.iter().map(|s| Row::not_measured(s, &why)).collect()
    })
}

/// As `rows_or_failed` for rows that run the binary `name`; skipped when it is missing,
/// so the in-process rows still report while the binaries are being built.
fn rows_with_binary(
    name: &str,
    specs: &[Spec],
    measure: impl FnOnce(&Path) -> Res<Vec<Row>>,
) -> Vec<Row> {
    match binary(name) {
        Some(path) => rows_or_failed(specs, measure(&path)),
        None => {
            let why = format!("skipped (binary missing: {name})");
            specs.iter().map(|s| Row::not_measured(s, &why)).collect()
        }
    }
}

/// The median and 99th percentile of a set of samples, in nanoseconds.
#[derive(Clone, Copy)]
struct Stats {
    p50: f64,
    p99: f64,
}

impl Stats {
    fn of(samples: &mut [f64]) -> Stats {
        samples.sort_by(f64::total_cmp);
        Stats {
            p50: percentile(samples, 50.0),
            p99: percentile(samples, 99.0),
        }
    }

    fn show(self) -> String {
        format!("p50 {} · p99 {}", fmt_ns(self.p50), fmt_ns(self.p99))
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], pct: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    percentile(samples, 50.0)
}

fn fmt_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn fmt_rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}/s")
    }
}

fn fmt_times(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.2}×")
    }
}

fn ns_since(start: Instant) -> f64 {
    start.elapsed().as_nanos() as f64
}

// ---------------------------------------------------------------------------------
// Locating the binaries and running children
// ---------------------------------------------------------------------------------

/// Where the woof binaries are: `WOOF_BIN_DIR` when set (`make bench` points it at
/// the static release build that `make install` ships), else the ones cargo built for
/// this bench (`CARGO_BIN_EXE_*`), else beside the bench executable's profile dir.
fn binary(name: &str) -> Option<PathBuf> {
    let found = |p: &PathBuf| p.is_file();
    if let Some(dir) = std::env::var_os("WOOF_BIN_DIR") {
        return Some(PathBuf::from(dir).join(name)).filter(found);
    }
    let compiled = match name {
        "woof-put" => option_env!("CARGO_BIN_EXE_woof-put"),
        "woof-tail" => option_env!("CARGO_BIN_EXE_woof-tail"),
        _ => None,
    };
    let beside = || {
        let exe = std::env::current_exe().ok()?;
        Some(exe.parent()?.parent()?.join(name))
    };
    compiled
        .map(PathBuf::from)
        .filter(found)
        .or_else(|| beside().filter(found))
}

/// A command with no `WOOF_*` variables, so the user's environment (a default
/// namespace, say) cannot change what is measured. Baselines get the same treatment,
/// so both sides of a comparison spawn with the same environment.
fn command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WOOF_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs `cmd` with `input` written to its stdin through a pipe; returns the wall time
/// from spawn to exit and the child's stdout. A failure carries the child's stderr.
fn run_piped(mut cmd: Command, input: &[u8], what: &str) -> Res<(Duration, String)> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().ctx(&format!("spawning {what}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let (fed, output) = std::thread::scope(|s| {
        // Feed from another thread: the child's stdout must be drained concurrently.
        let feeder = s.spawn(move || stdin.write_all(input));
        let output = child.wait_with_output();
        (feeder.join(), output)
    });
    let elapsed = start.elapsed();
    let output = output.ctx(&format!("waiting for {what}"))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{what} failed ({}): {}", output.status, err.trim()));
    }
    match fed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("feeding {what}: {e}")),
        Err(_) => return Err(format!("feeding {what}: writer thread panicked")),
    }
    Ok((
        elapsed,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

/// Element `i`: distinct for each `i`, and also a valid line (63 digits and `\n`), so
/// the same bytes serve raw and line-oriented followers.
fn element(i: usize) -> [u8; ELEM] {
    let mut e = [0u8; ELEM];
    e.copy_from_slice(format!("{i:063}\n").as_bytes());
    e
}

/// Elements `0..n`, back to back: the input of a batch put.
fn elements(n: usize) -> Vec<u8> {
    (0..n).flat_map(element).collect()
}

fn create_woof(ns: &Path, name: &str, history: u64, durability: Durability) -> Res<Woof> {
    let mut opts = CreateOptions::new(ELEM as u64, history);
    opts.durability = durability;
    opts.force = true;
    Woof::create(&ns.join(name), &opts).ctx(&format!("creating woof {name}"))
}

// ---------------------------------------------------------------------------------
// Rows 1–2: in-process put and get
// ---------------------------------------------------------------------------------

/// Latency of `op`: p50 from batches of `BATCH` calls (the per-call mean of each
/// batch, so the clock's own cost is amortised), p99 from individually timed calls
/// (these include one clock read, ~20–40 ns under KVM).
fn latency(mut op: impl FnMut()) -> Stats {
    for _ in 0..BATCH * 10 {
        op();
    }
    let mut per_call: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..BATCH {
                op();
            }
            ns_since(start) / BATCH as f64
        })
        .collect();
    let mut singles: Vec<f64> = (0..SINGLES)
        .map(|_| {
            let start = Instant::now();
            op();
            ns_since(start)
        })
        .collect();
    Stats {
        p50: median(&mut per_call),
        p99: Stats::of(&mut singles).p99,
    }
}

/// The memcpy floors of a put and a get: 64 B into / out of a slot of a ring with a
/// woof's slot stride (24 B of slot header + 64 B). The ring is plain memory: once a
/// page is resident, a store costs the same whether or not a file backs it, and this
/// keeps `unsafe` out of everything but the core's mapping module.
fn memcpy_baselines() -> Res<(Stats, Stats)> {
    const STRIDE: usize = 24 + ELEM;
    let slots = RING as usize;
    let mut ring = vec![0u8; slots * STRIDE];
    let mem = ring.as_mut_slice();
    let src = element(7);
    let mut i = 0usize;
    let put = latency(|| {
        i = (i + 1) % slots;
        let off = 24 + i * STRIDE;
        black_box(&mut mem[off..off + ELEM]).copy_from_slice(black_box(&src));
    });
    let mut dst = [0u8; ELEM];
    let get = latency(|| {
        let off = 24 + black_box(i) * STRIDE;
        dst.copy_from_slice(black_box(&mem[off..off + ELEM]));
        black_box(&dst);
    });
    Ok((put, get))
}

const IN_PROCESS: [Spec; 2] = [
    Spec {
        op: "in-process put, 64 B (`Woof::put`)",
        target: "p50 ≤ 1 µs (C CSPOT: 28.5 µs)",
    },
    Spec {
        op: "in-process get of the latest, 64 B (`Woof::get(0)`)",
        target: "p50 ≤ 1 µs",
    },
];

fn in_process(ns: &Path) -> Res<Vec<Row>> {
    let w = create_woof(ns, "inproc", RING, Durability::None)?;
    let data = element(1);
    // Errors are counted rather than unwrapped so the hot loop stays a plain call;
    // any error invalidates the row.
    let mut errors = 0u64;
    let put = latency(|| errors += u64::from(w.put(black_box(&data)).is_err()));
    let puts = w.latest();
    let mut buf = [0u8; ELEM];
    let get = latency(|| errors += u64::from(w.get(0, black_box(&mut buf)).is_err()));
    if errors > 0 {
        return Err(format!("{errors} puts/gets failed"));
    }
    let expected = (BATCH * 10 + BATCH * BATCHES + SINGLES) as u64;
    if puts != expected {
        return Err(format!("latest is {puts} after {expected} puts"));
    }
    let (copy_in, copy_out) = memcpy_baselines()?;
    let row = |spec, woof: Stats, base: Stats, what: &str| {
        Row::measured(
            spec,
            woof.show(),
            format!("{} ({what})", base.show()),
            format!("{} memcpy", fmt_times(woof.p50 / base.p50)),
            woof.p50 <= 1_000.0,
        )
    };
    Ok(vec![
        row(&IN_PROCESS[0], put, copy_in, "64 B memcpy into a ring slot"),
        row(
            &IN_PROCESS[1],
            get,
            copy_out,
            "64 B memcpy out of a ring slot",
        ),
    ])
}

// ---------------------------------------------------------------------------------
// Rows 3–4: bulk and durable ingest through `woof-put --batch`
// ---------------------------------------------------------------------------------

/// Puts `data` through `woof-put --batch` (plus `extra` flags) into a freshly created
/// woof; returns elements per second.
fn woof_put_batch(
    put: &Path,
    ns: &Path,
    data: &[u8],
    durability: Durability,
    extra: &[&str],
) -> Res<f64> {
    let n = data.len() / ELEM;
    let w = create_woof(ns, "bulk", n as u64, durability)?;
    let mut cmd = command(put);
    cmd.arg("bulk").arg("--batch").args(extra).arg("-N").arg(ns);
    let (elapsed, out) = run_piped(cmd, data, "woof-put --batch")?;
    if w.latest() != n as u64 {
        return Err(format!(
            "latest is {} after a batch of {n} (woof-put said {})",
            w.latest(),
            out.trim()
        ));
    }
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// `dd bs=64` appending the file `input` to an empty file; returns blocks per second.
fn dd_append(ns: &Path, input: &Path, n: usize) -> Res<f64> {
    let out = ns.join("dd-out");
    File::create(&out).ctx("creating dd's output file")?;
    let mut cmd = command(Path::new("dd"));
    cmd.arg(format!("if={}", input.display()))
        .arg(format!("of={}", out.display()))
        .args(["bs=64", "oflag=append", "conv=notrunc", "status=none"]);
    let start = Instant::now();
    let status = cmd.status().ctx("running dd")?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err(format!("dd failed ({status})"));
    }
    let len = fs::metadata(&out).ctx("dd's output")?.len();
    if len != (n * ELEM) as u64 {
        return Err(format!("dd wrote {len} bytes, expected {}", n * ELEM));
    }
    Ok(n as f64 / elapsed.as_secs_f64())
}

const BULK: Spec = Spec {
    op: "`woof-put --batch`, 1 000 000 × 64 B from a pipe",
    target: "≥ 2 M/s and ≥ 3× dd",
};

fn bulk(put: &Path, ns: &Path) -> Res<Vec<Row>> {
    let data = elements(BULK_ELEMENTS);
    let input = ns.join("bulk-input");
    fs::write(&input, &data).ctx("writing dd's input file")?;
    let (mut woof, mut dd) = (Vec::new(), Vec::new());
    // Interleaved, so drift in the machine's load hits both sides alike.
    for _ in 0..BULK_REPS {
        woof.push(woof_put_batch(put, ns, &data, Durability::None, &[])?);
        dd.push(dd_append(ns, &input, BULK_ELEMENTS)?);
    }
    let (woof, dd) = (median(&mut woof), median(&mut dd));
    Ok(vec![Row::measured(
        &BULK,
        format!("{} (median of {BULK_REPS})", fmt_rate(woof)),
        format!(
            "{} (`dd bs=64 oflag=append` of the same 64 MB file)",
            fmt_rate(dd)
        ),
        format!("{} dd's rate", fmt_times(woof / dd)),
        woof >= 2e6 && woof >= 3.0 * dd,
    )])
}

/// The durable floor without group commit: 64 B written then `fdatasync`ed, one
/// element at a time, into a file already written with zeros (as `always` woofs are,
/// so neither side pays for allocating blocks). Returns elements per second.
fn fsync_loop(ns: &Path) -> Res<f64> {
    let path = ns.join("fsync-loop");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .ctx("creating the fdatasync file")?;
    file.write_all_at(&vec![0u8; FSYNC_MAX_OPS * ELEM], 0)
        .ctx("zero-filling the fdatasync file")?;
    file.sync_all().ctx("syncing the fdatasync file")?;
    let start = Instant::now();
    let mut ops = 0;
    while ops < FSYNC_MAX_OPS && start.elapsed() < FSYNC_MAX_TIME {
        file.write_all_at(&element(ops), (ops * ELEM) as u64)
            .ctx("write")?;
        file.sync_data().ctx("fdatasync")?;
        ops += 1;
    }
    Ok(ops as f64 / start.elapsed().as_secs_f64())
}

const DURABLE: Spec = Spec {
    op: "durable ingest: `woof-put --batch --durability always`, 200 000 × 64 B",
    target: "≥ 200 k/s",
};

fn durable(put: &Path, ns: &Path) -> Res<Vec<Row>> {
    let data = elements(DURABLE_ELEMENTS);
    let mut rates = Vec::new();
    for _ in 0..DURABLE_REPS {
        let flags = ["--durability", "always"];
        rates.push(woof_put_batch(put, ns, &data, Durability::Always, &flags)?);
    }
    let woof = median(&mut rates);
    let floor = fsync_loop(ns)?;
    Ok(vec![Row::measured(
        &DURABLE,
        format!("{} (median of {DURABLE_REPS})", fmt_rate(woof)),
        format!(
            "{} (64 B `write` + `fdatasync` per element)",
            fmt_rate(floor)
        ),
        format!("{} (group commit)", fmt_times(woof / floor)),
        woof >= 200e3,
    )])
}

// ---------------------------------------------------------------------------------
// Row 5: one process per put
// ---------------------------------------------------------------------------------

/// Spawns `cmd` with stdin from `input` and waits; returns the wall time.
fn spawn_once(cmd: &mut Command, input: &Path, what: &str) -> Res<f64> {
    let stdin = File::open(input).ctx("opening the one-element input")?;
    cmd.stdin(stdin).stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let status = cmd.status().ctx(&format!("running {what}"))?;
    let elapsed = ns_since(start);
    if !status.success() {
        return Err(format!("{what} failed ({status})"));
    }
    Ok(elapsed)
}

const ONESHOT: Spec = Spec {
    op: "one-shot `woof-put` (one process per element)",
    target: "≤ 1.2× `/bin/true`",
};

fn oneshot(put: &Path, ns: &Path) -> Res<Vec<Row>> {
    let w = create_woof(ns, "oneshot", RING, Durability::None)?;
    let input = ns.join("one-element");
    fs::write(&input, element(42)).ctx("writing the one-element input")?;
    // One checked run first, so a broken woof-put shows its own message.
    let mut cmd = command(put);
    cmd.arg("oneshot").arg("-N").arg(ns);
    run_piped(cmd, &element(42), "woof-put")?;
    let mut woof_put = command(put);
    woof_put.arg("oneshot").arg("-N").arg(ns);
    let mut true_cmd = command(Path::new("/bin/true"));
    let (mut woof, mut base) = (Vec::new(), Vec::new());
    // Alternate the two, so drift in the machine's load hits both sides alike.
    for _ in 0..SPAWNS {
        woof.push(spawn_once(&mut woof_put, &input, "woof-put")?);
        base.push(spawn_once(&mut true_cmd, &input, "/bin/true")?);
    }
    if w.latest() != SPAWNS as u64 + 1 {
        return Err(format!(
            "latest is {} after {} puts",
            w.latest(),
            SPAWNS + 1
        ));
    }
    let (woof, base) = (Stats::of(&mut woof), Stats::of(&mut base));
    let ratio = woof.p50 / base.p50;
    Ok(vec![Row::measured(
        &ONESHOT,
        woof.show(),
        format!("{} (spawn + wait `/bin/true`)", base.show()),
        format!("{} `/bin/true`'s time", fmt_times(ratio)),
        ratio <= 1.2,
    )])
}

// ---------------------------------------------------------------------------------
// Row 6: follow latency
// ---------------------------------------------------------------------------------

/// A following child (`woof-tail -f`, `tail -F`) whose stdout we read; killed on drop.
struct Follower {
    child: Child,
    out: ChildStdout,
}

impl Follower {
    /// Starts `cmd` with `stdin`; its stderr goes to ours, so a follower that fails
    /// says why.
    fn spawn(mut cmd: Command, stdin: Stdio, what: &str) -> Res<Follower> {
        cmd.stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().ctx(&format!("spawning {what}"))?;
        let out = child.stdout.take().ok_or("no stdout pipe")?;
        Ok(Follower { child, out })
    }

    /// Fills `buf` from the child's stdout; false if `timeout` passes first.
    fn read_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Res<bool> {
        let deadline = Instant::now() + timeout;
        let mut got = 0;
        while got < buf.len() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Ok(false);
            };
            if !self.readable(left)? {
                return Ok(false);
            }
            match self.out.read(&mut buf[got..]) {
                Ok(0) => return Err("follower exited".into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading the follower: {e}")),
            }
        }
        Ok(true)
    }

    /// Waits until the pipe has data (or EOF), at most `timeout`.
    fn readable(&self, timeout: Duration) -> Res<bool> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
        loop {
            let mut fds = [PollFd::new(self.out.as_fd(), PollFlags::POLLIN)];
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(n) => return Ok(n > 0),
                // A signal cut the wait short; waiting the whole timeout again errs on
                // the side of not calling a slow follower dead.
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(format!("poll: {e}")),
            }
        }
    }

    /// Discards whatever arrives until the pipe has been quiet for `quiet`.
    fn drain(&mut self, quiet: Duration) -> Res<()> {
        let mut junk = [0u8; 4096];
        while self.readable(quiet)? {
            match self.out.read(&mut junk) {
                Ok(0) => return Err("follower exited".into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading the follower: {e}")),
            }
        }
        Ok(())
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One follower under measurement: the child, and how to append element `i` to what
/// it follows.
struct Probe<'a> {
    follower: Follower,
    append: Box<dyn FnMut(usize) -> Res<()> + 'a>,
    next: usize,
}

impl<'a> Probe<'a> {
    /// Starts measuring `follower`, once it shows that it is following.
    fn new(follower: Follower, append: impl FnMut(usize) -> Res<()> + 'a) -> Res<Probe<'a>> {
        let mut probe = Probe {
            follower,
            append: Box::new(append),
            next: 0,
        };
        probe.warm_up()?;
        Ok(probe)
    }

    /// The follower needs a moment to open its file and start waiting; until then
    /// appends may be skipped (it starts at the end). Appends until one comes through,
    /// then discards any stragglers.
    fn warm_up(&mut self) -> Res<()> {
        let mut buf = [0u8; ELEM];
        for _ in 0..50 {
            (self.append)(self.next)?;
            self.next += 1;
            if self
                .follower
                .read_exact(&mut buf, Duration::from_millis(200))?
            {
                return self.follower.drain(Duration::from_millis(50));
            }
        }
        Err("the follower printed nothing within 10 s".into())
    }

    /// One sample, in ns: the time from just before appending the next element to the
    /// follower's stdout returning exactly its 64 bytes.
    fn sample(&mut self) -> Res<f64> {
        let i = self.next;
        self.next += 1;
        let mut buf = [0u8; ELEM];
        let start = Instant::now();
        (self.append)(i)?;
        if !self.follower.read_exact(&mut buf, FOLLOW_TIMEOUT)? {
            return Err(format!(
                "element {i} did not arrive within {FOLLOW_TIMEOUT:?}"
            ));
        }
        let ns = ns_since(start);
        if buf != element(i) {
            return Err(format!(
                "the follower printed something other than element {i}"
            ));
        }
        Ok(ns)
    }
}

/// How far apart follow samples are. The gap decides how deeply the idle vCPUs sleep,
/// and with it most of the latency, so it is part of the row's name.
struct Spacing {
    min: Duration,
    spread: Duration,
    samples: usize,
}

const FOLLOW_TARGET: &str = "p50 ≤ 50 µs and ≥ 2× faster than `tail -F`";

/// One row per spacing in SPACINGS.
const FOLLOW: [Spec; 2] = [
    Spec {
        op: "follow latency: put → `woof-tail -f --format raw` prints it (puts 0.5–2 ms apart)",
        target: FOLLOW_TARGET,
    },
    Spec {
        op: "follow latency: put → `woof-tail -f --format raw` prints it (idle follower, puts 10–12 ms apart)",
        target: FOLLOW_TARGET,
    },
];

/// Both regimes: puts in quick succession, and an idle follower woken from deep sleep
/// (the regime of sensors trickling data, and of limits.md's tail -F figure).
const SPACINGS: [Spacing; 2] = [
    Spacing {
        min: Duration::from_micros(500),
        spread: Duration::from_micros(1_500),
        samples: 300,
    },
    Spacing {
        min: Duration::from_millis(10),
        spread: Duration::from_millis(2),
        samples: 150,
    },
];

/// Follow latency of each probe. Samples alternate between the probes, so the noise of
/// a shared machine hits all of them alike, and are spaced by a jittered gap.
fn follow_latencies(probes: &mut [Probe], spacing: &Spacing) -> Res<Vec<Stats>> {
    let mut samples = vec![Vec::with_capacity(spacing.samples); probes.len()];
    let mut jitter = 0x2545_f491_u64;
    for _ in 0..spacing.samples {
        for (probe, samples) in probes.iter_mut().zip(&mut samples) {
            jitter = jitter
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let spread = spacing.spread.as_nanos() as u64;
            std::thread::sleep(spacing.min + Duration::from_nanos((jitter >> 16) % spread));
            samples.push(probe.sample()?);
        }
    }
    Ok(samples.iter_mut().map(|s| Stats::of(s)).collect())
}

fn follow(tail: &Path, ns: &Path) -> Res<Vec<Row>> {
    // woof: a put in this process, followed by `woof-tail -f` in a child.
    let w = create_woof(ns, "follow", RING, Durability::None)?;
    let mut cmd = command(tail);
    cmd.args(["follow", "-f", "-n", "0", "--format", "raw", "-N"])
        .arg(ns);
    let woof_tail = Follower::spawn(cmd, Stdio::null(), "woof-tail -f")?;
    let put = |i| w.put(&element(i)).map(drop).ctx("put");

    // Baseline: one write(2) per line to a plain file, as a logging process appends,
    // followed by `tail -F` (inotify).
    let log = ns.join("follow.log");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .ctx("creating the tail -F file")?;
    let mut cmd = command(Path::new("tail"));
    cmd.args(["-F", "-n0"]).arg(&log);
    let tail_f = Follower::spawn(cmd, Stdio::null(), "tail -F")?;
    let write = move |i| file.write_all(&element(i)).ctx("append");

    // The floor of any follower that prints: `cat` echoing a pipe, one wake in and one
    // out, with nothing to look up in between.
    let (pipe_out, mut pipe_in) = io::pipe().ctx("creating a pipe for cat")?;
    let cat = Follower::spawn(command(Path::new("cat")), pipe_out.into(), "cat")?;
    let echo = move |i| pipe_in.write_all(&element(i)).ctx("writing to cat");

    let mut probes = [
        Probe::new(woof_tail, put).map_err(|e| format!("woof-tail -f: {e}"))?,
        Probe::new(tail_f, write).map_err(|e| format!("tail -F: {e}"))?,
        Probe::new(cat, echo).map_err(|e| format!("cat: {e}"))?,
    ];
    let mut rows = Vec::new();
    for (spec, spacing) in FOLLOW.iter().zip(&SPACINGS) {
        let stats = follow_latencies(&mut probes, spacing)?;
        let (woof, base, floor) = (stats[0], stats[1], stats[2]);
        let gain = base.p50 / woof.p50;
        rows.push(Row::measured(
            spec,
            woof.show(),
            format!(
                "{} (`tail -F` of a file appended with `write`); floor, 64 B echoed by `cat`: {}",
                base.show(),
                floor.show()
            ),
            format!("{} faster than `tail -F`", fmt_times(gain)),
            woof.p50 <= 50_000.0 && gain >= 2.0,
        ));
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------

/// `target/bench` in the target dir the bench executable runs from, whatever
/// CARGO_TARGET_DIR is: the exe is `TARGET[/TRIPLE]/PROFILE/deps/bench-…`, and cargo
/// marks both TARGET and TARGET/TRIPLE with a CACHEDIR.TAG, so take the higher one.
fn bench_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let marked = |dir: &&Path| dir.join("CACHEDIR.TAG").is_file();
    let target = exe.ancestors().skip(3).take(2).filter(marked).last();
    target
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("bench")
}

/// Which code and machine the numbers belong to, for comparing runs.
fn provenance() -> String {
    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_string(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        );
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let bins = binary("woof-put").map_or_else(|| "none".to_string(), |p| p.display().to_string());
    format!(
        "commit {commit}, {cpus} CPUs, Linux {}, binaries: {bins}",
        kernel.trim()
    )
}

const NOTES: &str = "\
In-process p50 is the per-call mean of batches of 1000 calls (median over batches); p99 \
is from individually timed calls and includes one clock read. Rates are elements per \
second, spawn to exit. Follow latency runs from just before the append to the \
follower's stdout returning the 64 bytes.";

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| operation | result | baseline (same run) | ratio | target |\n|---|---|---|---|---|\n",
    );
    for row in rows {
        out.push_str(&row.markdown());
        out.push('\n');
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter, so arguments are ignored.
    let dir = bench_dir();
    fs::create_dir_all(&dir).expect("creating target/bench");
    // The namespace lives on the project's disk, not in /tmp: /tmp may be tmpfs, where
    // fdatasync and msync cost nothing and the durable row would mean nothing.
    let tmp = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&dir)
        .expect("creating a temporary namespace under target/bench");
    let ns = tmp.path();
    let started = Instant::now();
    let mut rows = Vec::new();
    rows.extend(rows_or_failed(&IN_PROCESS, in_process(ns)));
    rows.extend(rows_with_binary("woof-put", &[BULK], |put| bulk(put, ns)));
    rows.extend(rows_with_binary("woof-put", &[DURABLE], |put| {
        durable(put, ns)
    }));
    rows.extend(rows_with_binary("woof-put", &[ONESHOT], |put| {
        oneshot(put, ns)
    }));
    rows.extend(rows_with_binary("woof-tail", &FOLLOW, |tail| {
        follow(tail, ns)
    }));
    let report = format!(
        "{}\n{NOTES}\n\n{}, {:.0} s.\n",
        table(&rows),
        provenance(),
        started.elapsed().as_secs_f64()
    );
    print!("{report}");
    let latest = dir.join("latest.md");
    fs::write(&latest, &report).expect("writing target/bench/latest.md");
    eprintln!("wrote {}", latest.display());
}

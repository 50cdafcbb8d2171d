//! woof's performance targets, each measured against a baseline taken in the same run
//! on the same machine (DESIGN.md §8). Run with `cargo bench --bench bench` (or
//! `make bench`).
//!
//! Prints one markdown table and writes it to `target/bench/latest.md`, so results can be
//! compared across commits. Timings live here, never in a test assertion: a missed
//! target is reported in the table, not as a failure.
//!
//! Rows that need a binary (`woof-put`, `woof-tail`, `woof-platform`) are reported as
//! skipped when it is missing; a row whose measurement goes wrong is reported as failed
//! with the cause. `WOOF_BENCH_ONLY=handler-start,persistent` (names in `GROUPS`) runs
//! only some groups of rows, for iterating on one.

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

mod network;

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
        "woof-get" => option_env!("CARGO_BIN_EXE_woof-get"),
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
// Typed records: `woof-put --csv --batch` and `woof-get --format csv`
// ---------------------------------------------------------------------------------

const TYPED_ROWS: usize = 1_000_000;
const TYPED_REPS: usize = 5;
/// A sensor reading: 33-byte elements.
const TYPED_SCHEMA: &str = "time:timestamp,sensor:str16,celsius:f64,ok:bool";

/// `TYPED_ROWS` CSV records of `TYPED_SCHEMA`, each distinct, in the form woof-get
/// prints them (so the put and the get move the same text).
fn typed_csv(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 64);
    for i in 0..n {
        let celsius = (i % 4000) as f64 / 100.0 - 10.0;
        writeln!(
            out,
            "2026-11-22T{:02}:{:02}:{:02}.{:09}Z,sensor-{},{celsius:?},{}",
            i / 3600 % 24,
            i / 60 % 60,
            i % 60,
            i,
            i % 100,
            i % 3 == 0
        )
        .unwrap_or_default();
    }
    out
}

fn create_typed(ns: &Path, name: &str, history: u64) -> Res<Woof> {
    let mut opts = CreateOptions::new(33, history);
    opts.schema = TYPED_SCHEMA.as_bytes().to_vec();
    opts.force = true;
    Woof::create(&ns.join(name), &opts).ctx(&format!("creating woof {name}"))
}

/// Runs `cmd` with stdin from `input` (a file) and stdout drained through a pipe;
/// returns the wall time and the bytes it printed.
fn run_drained(mut cmd: Command, input: Option<&Path>, what: &str) -> Res<(Duration, u64)> {
    match input {
        Some(p) => cmd.stdin(File::open(p).ctx("opening the input")?),
        None => cmd.stdin(Stdio::null()),
    };
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().ctx(&format!("spawning {what}"))?;
    let mut out = child.stdout.take().ok_or("no stdout pipe")?;
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        match out.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading {what}'s output: {e}")),
        }
    }
    let output = child
        .wait_with_output()
        .ctx(&format!("waiting for {what}"))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{what} failed ({}): {}", output.status, err.trim()));
    }
    Ok((elapsed, total))
}

const TYPED_PUT: Spec = Spec {
    op: "`woof-put --csv --batch`, 1 000 000 typed rows (4 fields) from a file",
    target: "≥ 500 k rows/s",
};

const TYPED_GET: Spec = Spec {
    op: "`woof-get --format csv`, 1 000 000 typed elements to a pipe",
    target: "≥ 1 M rows/s",
};

fn typed_put(put: &Path, ns: &Path) -> Res<Vec<Row>> {
    let input = ns.join("typed.csv");
    fs::write(&input, typed_csv(TYPED_ROWS)).ctx("writing the CSV input")?;
    let (mut woof, mut base) = (Vec::new(), Vec::new());
    for _ in 0..TYPED_REPS {
        let w = create_typed(ns, "typed", TYPED_ROWS as u64)?;
        let mut cmd = command(put);
        cmd.args(["typed", "--csv", "--batch", "-N"]).arg(ns);
        let (elapsed, _) = run_drained(cmd, Some(&input), "woof-put --csv")?;
        if w.latest() != TYPED_ROWS as u64 {
            return Err(format!("latest is {} after {TYPED_ROWS} rows", w.latest()));
        }
        woof.push(TYPED_ROWS as f64 / elapsed.as_secs_f64());
        let mut wc = command(Path::new("wc"));
        wc.arg("-l");
        let (elapsed, _) = run_drained(wc, Some(&input), "wc -l")?;
        base.push(TYPED_ROWS as f64 / elapsed.as_secs_f64());
    }
    let (woof, base) = (median(&mut woof), median(&mut base));
    Ok(vec![Row::measured(
        &TYPED_PUT,
        format!("{} (median of {TYPED_REPS})", fmt_rate(woof)),
        format!("{} (`wc -l` of the same CSV file)", fmt_rate(base)),
        format!("{} wc's rate", fmt_times(woof / base)),
        woof >= 5e5,
    )])
}

fn typed_get(get: &Path, put: &Path, ns: &Path) -> Res<Vec<Row>> {
    let input = ns.join("typed.csv");
    fs::write(&input, typed_csv(TYPED_ROWS)).ctx("writing the CSV input")?;
    let w = create_typed(ns, "typed", TYPED_ROWS as u64)?;
    let mut cmd = command(put);
    cmd.args(["typed", "--csv", "-N"]).arg(ns);
    run_drained(cmd, Some(&input), "woof-put --csv")?;
    if w.latest() != TYPED_ROWS as u64 {
        return Err(format!("latest is {} after {TYPED_ROWS} rows", w.latest()));
    }
    // The baseline reads a file of exactly what woof-get prints.
    let printed = ns.join("typed-printed.csv");
    let mut cmd = command(get);
    cmd.args(["typed", "1..", "--format", "csv", "-N"]).arg(ns);
    cmd.stdout(File::create(&printed).ctx("creating the printed copy")?);
    let status = cmd.status().ctx("running woof-get")?;
    if !status.success() {
        return Err(format!("woof-get failed ({status})"));
    }
    let (mut woof, mut base) = (Vec::new(), Vec::new());
    for _ in 0..TYPED_REPS {
        let mut cmd = command(get);
        cmd.args(["typed", "1..", "--format", "csv", "-N"]).arg(ns);
        let (elapsed, bytes) = run_drained(cmd, None, "woof-get --format csv")?;
        woof.push(TYPED_ROWS as f64 / elapsed.as_secs_f64());
        let mut cat = command(Path::new("cat"));
        cat.arg(&printed);
        let (base_elapsed, base_bytes) = run_drained(cat, None, "cat")?;
        if base_bytes != bytes {
            return Err(format!("woof-get printed {bytes} bytes, cat {base_bytes}"));
        }
        base.push(TYPED_ROWS as f64 / base_elapsed.as_secs_f64());
    }
    let (woof, base) = (median(&mut woof), median(&mut base));
    Ok(vec![Row::measured(
        &TYPED_GET,
        format!("{} (median of {TYPED_REPS})", fmt_rate(woof)),
        format!("{} (`cat` of a file holding the same CSV)", fmt_rate(base)),
        format!("{} cat's rate", fmt_times(woof / base)),
        woof >= 1e6,
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
// Rows 8–11: handlers (woof-platform, woof-shepherd)
// ---------------------------------------------------------------------------------

/// Samples of put → handler start (and of its spawn baseline), and their spacing.
const START_SAMPLES: usize = 400;
const START_WARMUP: usize = 20;
const START_GAP_MIN: Duration = Duration::from_millis(2);
const START_GAP_SPREAD: Duration = Duration::from_millis(2);
/// Puts in the burst row, and the worker counts it tries (the default, 4, among them).
const BURST: usize = 2_000;
const BURST_WORKERS: [u16; 3] = [2, 4, 8];
/// Persistent-handler latency samples, 1–3 ms apart.
const PERSIST_SAMPLES: usize = 400;
const PERSIST_GAP_MIN: Duration = Duration::from_millis(1);
const PERSIST_GAP_SPREAD: Duration = Duration::from_millis(2);
/// Dispatches before the first RSS reading of the growth check, and between the two
/// readings. Both at full speed: the first 100 000 take the platform's heap to its
/// high-water mark (its queues fill while the trigger log is a whole log ahead).
const RSS_WARMUP: usize = 100_000;
const RSS_DISPATCHES: usize = 100_000;
/// How long one handler record may take to reach the FIFO.
const HANDLER_TIMEOUT: Duration = Duration::from_secs(5);

/// The handler every handler row runs: `benches/handler.c`, a small C program
/// compiled here with `cc -O2 -static` into `target/bench/` (what a user's static C
/// handler would be) and checked to be static (no ELF interpreter). Returns its
/// path and size.
fn build_handler(dir: &Path) -> Res<(PathBuf, u64)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/handler.c");
    let out = dir.join("woof-bench-handler");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let output = Command::new(&cc)
        .args(["-O2", "-static", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .ctx(&format!("running {}", cc.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "compiling {}: {}",
            src.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let elf = fs::read(&out).ctx("reading the compiled handler")?;
    if has_interpreter(&elf)? {
        return Err("the compiled handler is dynamically linked (has PT_INTERP)".into());
    }
    Ok((out, elf.len() as u64))
}

/// Whether an ELF64 little-endian executable names a program interpreter (ld.so).
fn has_interpreter(elf: &[u8]) -> Res<bool> {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    };
    if elf.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return Err("the compiled handler is not a 64-bit little-endian ELF file".into());
    }
    let bad = || "truncated ELF header".to_string();
    let phoff = u64_at(0x20).ok_or_else(bad)? as usize;
    let phentsize = usize::from(u16_at(0x36).ok_or_else(bad)?);
    let phnum = usize::from(u16_at(0x38).ok_or_else(bad)?);
    for i in 0..phnum {
        if u32_at(phoff + i * phentsize).ok_or_else(bad)? == PT_INTERP {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates namespace `root/name` for one platform: `handlers/{stamp,noop,persist}`
/// (hard links to the bench handler) and the FIFO `bench.fifo` the handler writes
/// its records to. Returns its absolute path.
fn handler_namespace(root: &Path, name: &str, handler: &Path) -> Res<PathBuf> {
    let dir = fs::canonicalize(root).ctx("namespace root")?.join(name);
    let handlers = dir.join("handlers");
    fs::create_dir_all(&handlers).ctx("creating handlers/")?;
    for h in ["stamp", "noop", "persist"] {
        let path = handlers.join(h);
        if fs::hard_link(handler, &path).is_err() {
            fs::copy(handler, &path).ctx(&format!("copying the handler to {}", path.display()))?;
        }
    }
    nix::unistd::mkfifo(
        &dir.join("bench.fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .ctx("mkfifo bench.fifo")?;
    Ok(dir)
}

/// What the handler wrote for one element: its clock (ns since the epoch), the
/// element's seqno, the put time (or trigger seqno, for `persist`), and the
/// element's last 8 bytes.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    clock: u64,
    seqno: u64,
    third: u64,
    tail: [u8; 8],
}

impl Stamp {
    /// Checks that the handler saw element `i` (put with seqno `seqno`).
    fn check(&self, seqno: u64, i: usize) -> Res<()> {
        let want = element(i);
        if self.seqno != seqno || self.tail[..] != want[ELEM - 8..] {
            return Err(format!(
                "the handler saw seqno {} ending {:?}, expected seqno {seqno} ending {:?}",
                self.seqno,
                String::from_utf8_lossy(&self.tail),
                String::from_utf8_lossy(&want[ELEM - 8..])
            ));
        }
        Ok(())
    }
}

/// The reading end of `bench.fifo`, opened read-write so that it never blocks on
/// open nor sees EOF between handlers.
struct Fifo {
    file: File,
}

impl Fifo {
    fn open(ns: &Path) -> Res<Fifo> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(ns.join("bench.fifo"))
            .ctx("opening bench.fifo")?;
        Ok(Fifo { file })
    }

    /// The next record, waiting at most `timeout`.
    fn read(&mut self, timeout: Duration) -> Res<Stamp> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let deadline = Instant::now() + timeout;
        let mut rec = [0u8; 32];
        let mut got = 0;
        while got < rec.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no handler record within {timeout:?}"));
            }
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(format!("poll: {e}")),
            }
            match self.file.read(&mut rec[got..]) {
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading bench.fifo: {e}")),
            }
        }
        let word = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&rec[i * 8..i * 8 + 8]);
            u64::from_le_bytes(a)
        };
        let mut tail = [0u8; 8];
        tail.copy_from_slice(&rec[24..]);
        Ok(Stamp {
            clock: word(0),
            seqno: word(1),
            third: word(2),
            tail,
        })
    }
}

/// A running `woof-platform`: stderr is collected (to explain failures), stdout
/// (handler output) discarded. SIGKILLed on drop if `stop` was not reached.
struct PlatformProc {
    child: Child,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl PlatformProc {
    /// Starts it on `ns` with `args` and waits for its "serving" line.
    fn start(bin: &Path, ns: &Path, args: &[&str]) -> Res<PlatformProc> {
        use std::io::BufRead;
        let mut cmd = command(bin);
        cmd.arg("-N")
            .arg(ns)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().ctx("spawning woof-platform")?;
        let err = child.stderr.take().ok_or("no stderr pipe")?;
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let keep = std::sync::Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in io::BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if line.contains("serving") {
                    let _ = tx.send(());
                }
                if let Ok(mut l) = keep.lock() {
                    l.push(line);
                }
            }
        });
        let mut p = PlatformProc {
            child,
            stderr: lines,
        };
        if rx.recv_timeout(Duration::from_secs(10)).is_err() {
            let _ = p.child.kill();
            let _ = p.child.wait();
            return Err(format!(
                "woof-platform did not start serving: {}",
                p.messages()
            ));
        }
        Ok(p)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed on stderr, for error messages.
    fn messages(&self) -> String {
        let lines = self.stderr.lock().map(|l| l.clone()).unwrap_or_default();
        let n = lines.len();
        lines[n.saturating_sub(5)..].join(" / ")
    }

    /// Lines on stderr beyond the "serving" line (abnormal handler outcomes, say).
    fn complaints(&self) -> Vec<String> {
        let lines = self.stderr.lock().map(|l| l.clone()).unwrap_or_default();
        lines
            .into_iter()
            .filter(|l| !l.contains("serving"))
            .collect()
    }

    /// VmRSS, RssAnon and RssFile from /proc/PID/status, in KiB.
    fn rss(&self) -> Res<(u64, u64, u64)> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ctx("reading /proc/PID/status")?;
        let field = |name: &str| -> Res<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| format!("no {name} in /proc/PID/status"))
        };
        Ok((field("VmRSS:")?, field("RssAnon:")?, field("RssFile:")?))
    }

    /// SIGTERM, then waits up to 10 s for it to exit (after that, drop SIGKILLs it).
    fn stop(mut self) -> Res<()> {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(self.pid() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().ctx("waiting for woof-platform")? {
                if !status.success() {
                    return Err(format!(
                        "woof-platform exited with {status}: {}",
                        self.messages()
                    ));
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("woof-platform did not stop within 10 s of SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for PlatformProc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A namespace with its trigger log and a woof `ev` of 64 B elements.
struct HandlerNs {
    dir: PathBuf,
    triggers: Woof,
    ev: Woof,
}

impl HandlerNs {
    fn create(root: &Path, name: &str, handler: &Path, history: u64) -> Res<HandlerNs> {
        let dir = handler_namespace(root, name, handler)?;
        let ev = create_woof(&dir, "ev", history, Durability::None)?;
        let triggers = woof::Namespace::open(&dir)
            .and_then(|ns| ns.trigger_log())
            .ctx("opening the trigger log")?;
        Ok(HandlerNs { dir, triggers, ev })
    }

    /// Puts element `i` with a trigger for `handler`; returns (element seqno,
    /// trigger seqno).
    fn put(&self, i: usize, handler: &str) -> woof::Result<(u64, u64)> {
        woof::trigger_log::put_triggered(
            &self.triggers,
            &self.ev,
            "ev",
            &element(i),
            handler,
            "",
            Durability::None,
        )
    }

    /// As `put`, waiting while the trigger log is full (the platform is a whole log
    /// behind) instead of failing.
    fn put_patiently(&self, i: usize, handler: &str) -> Res<(u64, u64)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.put(i, handler) {
                Err(e) if *e.kind() == woof::ErrorKind::Full && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_micros(200));
                }
                other => return other.ctx("triggered put"),
            }
        }
    }

    /// Waits until the platform has finished every trigger up to `last`.
    fn wait_consumed(&self, last: u64, timeout: Duration) -> Res<()> {
        let deadline = Instant::now() + timeout;
        while self.triggers.consumed() < last {
            if Instant::now() > deadline {
                return Err(format!(
                    "the platform finished {} of {last} triggers within {timeout:?}",
                    self.triggers.consumed()
                ));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        Ok(())
    }

    /// Every result record the results log still holds.
    fn results(&self) -> Res<Vec<woof::results::RunResult>> {
        let log = woof::Namespace::open(&self.dir)
            .and_then(|ns| ns.results_log())
            .ctx("opening the results log")?;
        let mut buf = vec![0u8; woof::results::RESULT_SIZE];
        let mut out = Vec::new();
        for s in log.oldest().max(1)..=log.latest() {
            log.get(s, &mut buf).ctx("reading the results log")?;
            out.push(woof::results::RunResult::decode(&buf).ctx("decoding a result")?);
        }
        Ok(out)
    }
}

/// A jittered gap in `min .. min + spread`.
struct Gaps(u64);

impl Gaps {
    fn sleep(&mut self, min: Duration, spread: Duration) {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let spread = spread.as_nanos().max(1) as u64;
        std::thread::sleep(min + Duration::from_nanos((self.0 >> 16) % spread));
    }
}

const HANDLER_START: Spec = Spec {
    op: "put → handler start (static binary, one at a time, puts 2–4 ms apart; `woof-platform --workers 1`)",
    target: "p50 ≤ 0.55 ms and ≤ 1.25× posix_spawn; p99 ≤ 1 ms (C CSPOT: p50 0.69 ms, p99 1.19 ms)",
};

/// Put → the handler's first clock read, against spawning the same binary from here
/// (std's `Command::spawn`, posix_spawn) → its first clock read.
fn handler_start(platform: &Path, handler: &Path, root: &Path) -> Res<Vec<Row>> {
    let hns = HandlerNs::create(root, "h-start", handler, RING)?;
    let mut fifo = Fifo::open(&hns.dir)?;
    let p = PlatformProc::start(platform, &hns.dir, &["--workers", "1"])?;
    let input = hns.dir.join("one-element");
    let mut gaps = Gaps(0x2545_f491);
    // (put start, put time, handler clock, trigger seqno) of each platform sample.
    let mut runs = Vec::new();
    let (mut woof, mut base) = (Vec::new(), Vec::new());
    for i in 0..START_WARMUP + START_SAMPLES {
        gaps.sleep(START_GAP_MIN, START_GAP_SPREAD);
        let t0 = woof::now_ns();
        let (seqno, t) = hns.put(i, "stamp").ctx("triggered put")?;
        let s = fifo
            .read(HANDLER_TIMEOUT)
            .map_err(|e| format!("element {seqno}: {e}; platform: {}", p.messages()))?;
        s.check(seqno, i)?;
        // WOOF_TIMESTAMP is the put time: after t0, before the handler started.
        if s.third < t0 || s.third > s.clock {
            return Err(format!(
                "WOOF_TIMESTAMP {} is not the put time (put at {t0}, handler at {})",
                s.third, s.clock
            ));
        }
        if i >= START_WARMUP {
            woof.push(s.clock.saturating_sub(t0) as f64);
            runs.push((t0, s.third, s.clock, t));
        }

        // Baseline: the same binary, spawned from here with the same environment.
        gaps.sleep(START_GAP_MIN, START_GAP_SPREAD);
        fs::write(&input, element(i)).ctx("writing the baseline's element")?;
        let stdin = File::open(&input).ctx("opening the baseline's element")?;
        let mut cmd = Command::new(handler);
        cmd.env_clear()
            .env("WOOF_HANDLER", "stamp")
            .env("WOOF_NAMESPACE", &hns.dir)
            .env("WOOF_SEQNO", (1_000_000 + i).to_string())
            .env("WOOF_TIMESTAMP", "0")
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t0 = woof::now_ns();
        let mut child = cmd.spawn().ctx("spawning the handler")?;
        let s = fifo.read(HANDLER_TIMEOUT)?;
        let status = child.wait().ctx("waiting for the handler")?;
        if !status.success() {
            return Err(format!("the baseline handler failed ({status})"));
        }
        s.check(1_000_000 + i as u64, i)?;
        if i >= START_WARMUP {
            base.push(s.clock.saturating_sub(t0) as f64);
        }
    }
    let last = runs.last().map_or(0, |r| r.3);
    hns.wait_consumed(last, Duration::from_secs(10))?;
    // The breakdown: the platform records when it claimed each trigger (the start
    // time of its results), between the put and the handler's first instruction.
    let results = hns.results()?;
    let claimed: std::collections::HashMap<u64, u64> = results
        .iter()
        .filter(|r| r.outcome == woof::results::Outcome::Started)
        .map(|r| (r.trigger, r.start_ns))
        .collect();
    let bad: Vec<_> = results
        .iter()
        .filter(|r| r.outcome.is_final() && r.outcome != woof::results::Outcome::Exited(0))
        .collect();
    if let Some(r) = bad.first() {
        return Err(format!(
            "{} runs did not exit 0, e.g. trigger {}: {} {}",
            bad.len(),
            r.trigger,
            r.outcome.name(),
            r.detail
        ));
    }
    let (mut put, mut wake, mut exec) = (Vec::new(), Vec::new(), Vec::new());
    for &(t0, put_time, clock, t) in &runs {
        let Some(&claim) = claimed.get(&t) else {
            return Err(format!("no \"started\" result for trigger {t}"));
        };
        put.push(put_time.saturating_sub(t0) as f64);
        wake.push(claim.saturating_sub(put_time) as f64);
        exec.push(clock.saturating_sub(claim) as f64);
    }
    p.stop()?;
    let (woof, base) = (Stats::of(&mut woof), Stats::of(&mut base));
    let (put, wake, exec) = (
        Stats::of(&mut put),
        Stats::of(&mut wake),
        Stats::of(&mut exec),
    );
    let ratio = woof.p50 / base.p50;
    Ok(vec![Row::measured(
        &HANDLER_START,
        format!(
            "{}; of which: put {}, put → platform claims it {}, claim → handler's main {}",
            woof.show(),
            fmt_ns(put.p50),
            fmt_ns(wake.p50),
            fmt_ns(exec.p50)
        ),
        format!("{} (spawn of the same binary → its main)", base.show()),
        format!("{} posix_spawn", fmt_times(ratio)),
        woof.p50 <= 550_000.0 && ratio <= 1.25 && woof.p99 <= 1_000_000.0,
    )])
}

const HANDLER_BURST: Spec = Spec {
    op: "burst: 2 000 triggered puts, handler = static no-op binary, until every run is recorded",
    target: "≥ 3.5 k runs/s on 2 cores (C CSPOT: ~2 k/s)",
};

/// 2 000 puts as fast as the library takes them, each triggering the no-op
/// handler; the rate is puts over the time until the platform has recorded every
/// run finished. Against: the same binary spawned and waited for from two threads.
fn handler_burst(platform: &Path, handler: &Path, root: &Path) -> Res<Vec<Row>> {
    let mut rates = Vec::new();
    let mut rss_after = 0;
    for workers in BURST_WORKERS {
        let hns = HandlerNs::create(root, &format!("h-burst-{workers}"), handler, 4_096)?;
        let w = workers.to_string();
        let p = PlatformProc::start(platform, &hns.dir, &["--workers", &w])?;
        // Let the pool of shepherds fill, as on a platform that has been idle.
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        let mut first = 0;
        let mut last = 0;
        for i in 0..BURST {
            let (_, t) = hns.put_patiently(i, "noop")?;
            if i == 0 {
                first = t;
            }
            last = t;
        }
        hns.wait_consumed(last, Duration::from_secs(60))
            .map_err(|e| format!("--workers {workers}: {e}; platform: {}", p.messages()))?;
        let rate = BURST as f64 / start.elapsed().as_secs_f64();
        // Every trigger ran once and exited 0.
        let mut ok = std::collections::HashSet::new();
        for r in hns.results()? {
            if !r.outcome.is_final() {
                continue;
            }
            if r.outcome != woof::results::Outcome::Exited(0) || r.handler != "noop" {
                return Err(format!(
                    "trigger {} ended {} {}",
                    r.trigger,
                    r.outcome.name(),
                    r.detail
                ));
            }
            ok.insert(r.trigger);
        }
        if ok.len() != BURST || (first..=last).any(|t| !ok.contains(&t)) {
            return Err(format!("{} of {BURST} runs recorded as exited 0", ok.len()));
        }
        if workers == 4 {
            rss_after = p.rss()?.0;
        }
        let complaints = p.complaints();
        p.stop()?;
        if let Some(c) = complaints.first() {
            return Err(format!("--workers {workers}: the platform said: {c}"));
        }
        rates.push((workers, rate));
    }
    let base = spawn_rate(handler, BURST)?;
    let (best_w, best) = rates
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, 0.0));
    let all: Vec<String> = rates
        .iter()
        .map(|(w, r)| format!("{w}: {}", fmt_rate(*r)))
        .collect();
    Ok(vec![Row::measured(
        &HANDLER_BURST,
        format!(
            "{} (best, `--workers {best_w}`; by --workers {}); platform VmRSS after, --workers 4: {:.1} MB",
            fmt_rate(best),
            all.join(", "),
            rss_after as f64 / 1024.0
        ),
        format!(
            "{} (the same binary spawned + waited for by 2 threads here)",
            fmt_rate(base)
        ),
        format!("{} the spawn rate", fmt_times(best / base)),
        best >= 3_500.0,
    )])
}

/// Runs of the no-op handler per second, spawned and waited for from two threads.
fn spawn_rate(handler: &Path, n: usize) -> Res<f64> {
    let start = Instant::now();
    let results: Vec<Res<()>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| -> Res<()> {
                    for _ in 0..n / 2 {
                        let status = Command::new(handler)
                            .env_clear()
                            .env("WOOF_HANDLER", "noop")
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .status()
                            .ctx("spawning the handler")?;
                        if !status.success() {
                            return Err(format!("the no-op handler failed ({status})"));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| Err("spawner panicked".into())))
            .collect()
    });
    for r in results {
        r?;
    }
    Ok((n / 2 * 2) as f64 / start.elapsed().as_secs_f64())
}

const PERSISTENT: [Spec; 2] = [
    Spec {
        op: "persistent handler: put → the handler has read the element (puts 1–3 ms apart)",
        target: "p50 ≤ 50 µs",
    },
    Spec {
        op: "`woof-platform` RSS: idle, and over 2 × 100 000 dispatches to a persistent handler (as fast as puts go)",
        target: "idle ≤ 5 MB; no growth over 100 000 dispatches (RssAnon, second 100 000: ≤ +256 kB)",
    },
];

/// The persistent handler's latency and the platform's memory, on one platform
/// (`--persistent persist`). Latency: put → the handler has the whole frame, against
/// the same handler binary fed the same frame by this process through a pipe.
fn persistent(platform: &Path, handler: &Path, root: &Path) -> Res<Vec<Row>> {
    let hns = HandlerNs::create(root, "h-persist", handler, 32_768)?;
    let mut fifo = Fifo::open(&hns.dir)?;
    let p = PlatformProc::start(
        platform,
        &hns.dir,
        &["--workers", "1", "--persistent", "persist"],
    )?;
    std::thread::sleep(Duration::from_millis(300));
    let idle = p.rss()?;

    // Baseline: the same handler, fed by us directly through a pipe.
    let mut direct = Command::new(handler)
        .env_clear()
        .env("WOOF_HANDLER", "persist")
        .env("WOOF_NAMESPACE", &hns.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ctx("spawning the persistent handler")?;
    let mut pipe = direct.stdin.take().ok_or("no stdin pipe")?;

    let mut gaps = Gaps(0x9e37_79b9);
    let (mut woof, mut base) = (Vec::new(), Vec::new());
    let mut i = 0;
    for k in 0..START_WARMUP + PERSIST_SAMPLES {
        gaps.sleep(PERSIST_GAP_MIN, PERSIST_GAP_SPREAD);
        let t0 = woof::now_ns();
        let (seqno, t) = hns.put(i, "persist").ctx("triggered put")?;
        let s = fifo
            .read(HANDLER_TIMEOUT)
            .map_err(|e| format!("element {seqno}: {e}; platform: {}", p.messages()))?;
        s.check(seqno, i)?;
        if s.third != t {
            return Err(format!(
                "frame for trigger {} where {t} was expected",
                s.third
            ));
        }
        if k >= START_WARMUP {
            woof.push(s.clock.saturating_sub(t0) as f64);
        }
        i += 1;

        gaps.sleep(PERSIST_GAP_MIN, PERSIST_GAP_SPREAD);
        let seqno = 1_000_000 + k as u64;
        let mut frame = format!("ev {seqno} {ELEM} {k}\n").into_bytes();
        frame.extend_from_slice(&element(i));
        let t0 = woof::now_ns();
        pipe.write_all(&frame).ctx("writing a frame")?;
        let s = fifo.read(HANDLER_TIMEOUT)?;
        s.check(seqno, i)?;
        if k >= START_WARMUP {
            base.push(s.clock.saturating_sub(t0) as f64);
        }
        i += 1;
    }
    drop(pipe);
    let _ = direct.wait();

    // Warm-up, then the growth check over 100 000, with a thread reading (and
    // checking) every record the handler writes.
    let dispatch = |n: usize, from: usize, fifo: &mut Fifo| -> Res<f64> {
        let start = Instant::now();
        std::thread::scope(|s| -> Res<()> {
            let reader = s.spawn(move || -> Res<()> {
                let mut expect = None;
                for _ in 0..n {
                    let st = fifo.read(HANDLER_TIMEOUT)?;
                    if let Some(e) = expect
                        && st.seqno != e
                    {
                        return Err(format!(
                            "the handler saw seqno {} after {}",
                            st.seqno,
                            e - 1
                        ));
                    }
                    expect = Some(st.seqno + 1);
                }
                Ok(())
            });
            let put = || -> Res<()> {
                for j in from..from + n {
                    hns.put_patiently(j, "persist")?;
                }
                Ok(())
            };
            let put = put();
            let read = reader
                .join()
                .unwrap_or_else(|_| Err("reader panicked".into()));
            put.and(read)
        })?;
        Ok(n as f64 / start.elapsed().as_secs_f64())
    };
    dispatch(RSS_WARMUP, i, &mut fifo).map_err(|e| format!("{e}; platform: {}", p.messages()))?;
    i += RSS_WARMUP;
    let warm = p.rss()?;
    let rate = dispatch(RSS_DISPATCHES, i, &mut fifo)
        .map_err(|e| format!("{e}; platform: {}", p.messages()))?;
    hns.wait_consumed(hns.triggers.latest(), Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_millis(100));
    let after = p.rss()?;
    let complaints = p.complaints();
    p.stop()?;
    if let Some(c) = complaints.first() {
        return Err(format!("the platform said: {c}"));
    }

    let (woof, base) = (Stats::of(&mut woof), Stats::of(&mut base));
    // A small C daemon for scale: `tail -F` idle.
    let tail_rss = idle_rss(&hns.dir)?;
    let mb = |kb: u64| format!("{:.1} MB", kb as f64 / 1024.0);
    let growth = after.1 as i64 - warm.1 as i64;
    Ok(vec![
        Row::measured(
            &PERSISTENT[0],
            woof.show(),
            format!(
                "{} (the same handler fed the frame by this process through a pipe)",
                base.show()
            ),
            format!("{} the direct pipe", fmt_times(woof.p50 / base.p50)),
            woof.p50 <= 50_000.0,
        ),
        Row::measured(
            &PERSISTENT[1],
            format!(
                "VmRSS idle {} (anon {}); after 100 000 dispatches: {} (anon {}); after 100 000 more ({}): {} (anon {}, file {}: the mapped logs)",
                mb(idle.0),
                mb(idle.1),
                mb(warm.0),
                mb(warm.1),
                fmt_rate(rate),
                mb(after.0),
                mb(after.1),
                mb(after.2)
            ),
            format!("{} (`tail -F`, idle)", mb(tail_rss)),
            format!(
                "{} `tail -F` idle",
                fmt_times(idle.0 as f64 / tail_rss as f64)
            ),
            idle.0 <= 5 * 1024 && growth <= 256,
        ),
    ])
}

/// VmRSS of an idle `tail -F`, in KiB.
fn idle_rss(dir: &Path) -> Res<u64> {
    let log = dir.join("tail.log");
    File::create(&log).ctx("creating tail's file")?;
    let mut child = command(Path::new("tail"))
        .args(["-F", "-n0"])
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ctx("spawning tail -F")?;
    std::thread::sleep(Duration::from_millis(200));
    let status = fs::read_to_string(format!("/proc/{}/status", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    status
        .ctx("reading tail's /proc/PID/status")?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS for tail".to_string())
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

/// The groups of rows WOOF_BENCH_ONLY can name, in the order they run.
const GROUPS: [&str; 11] = [
    "in-process",
    "bulk",
    "typed-put",
    "typed-get",
    "durable",
    "oneshot",
    "follow",
    "handler-start",
    "handler-burst",
    "persistent",
    "network",
];

/// The 1-minute load average: the machines are shared, and a loaded one skews rows.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

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
    if std::env::var_os(network::ECHO_ENV).is_some() {
        network::echo_server();
    }
    // `cargo bench` passes `--bench`; arguments are ignored (WOOF_BENCH_ONLY filters).
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
    let load_before = load_average();
    // WOOF_BENCH_ONLY=group,group...: run only those groups of rows (see GROUPS).
    let only = std::env::var("WOOF_BENCH_ONLY").unwrap_or_default();
    let run = |group: &str| {
        assert!(GROUPS.contains(&group), "unknown group {group}");
        only.is_empty() || only.split(',').any(|g| g.trim() == group)
    };
    let mut rows = Vec::new();
    if run("in-process") {
        rows.extend(rows_or_failed(&IN_PROCESS, in_process(ns)));
    }
    if run("bulk") {
        rows.extend(rows_with_binary("woof-put", &[BULK], |put| bulk(put, ns)));
    }
    if run("typed-put") {
        rows.extend(rows_with_binary("woof-put", &[TYPED_PUT], |put| {
            typed_put(put, ns)
        }));
    }
    if run("typed-get") {
        rows.extend(rows_with_binary("woof-get", &[TYPED_GET], |get| {
            let put = binary("woof-put").ok_or("binary missing: woof-put")?;
            typed_get(get, &put, ns)
        }));
    }
    if run("durable") {
        rows.extend(rows_with_binary("woof-put", &[DURABLE], |put| {
            durable(put, ns)
        }));
    }
    if run("oneshot") {
        rows.extend(rows_with_binary("woof-put", &[ONESHOT], |put| {
            oneshot(put, ns)
        }));
    }
    if run("follow") {
        rows.extend(rows_with_binary("woof-tail", &FOLLOW, |tail| {
            follow(tail, ns)
        }));
    }
    // The handler rows share one compiled handler; if it cannot be built, they say why.
    let handler = build_handler(&dir);
    let with_handler = |f: fn(&Path, &Path, &Path) -> Res<Vec<Row>>| {
        let handler = &handler;
        move |platform: &Path| {
            let (h, _) = handler
                .as_ref()
                .map_err(|e| format!("bench handler: {e}"))?;
            f(platform, h, ns)
        }
    };
    if run("handler-start") {
        rows.extend(rows_with_binary(
            "woof-platform",
            &[HANDLER_START],
            with_handler(handler_start),
        ));
    }
    if run("handler-burst") {
        rows.extend(rows_with_binary(
            "woof-platform",
            &[HANDLER_BURST],
            with_handler(handler_burst),
        ));
    }
    if run("persistent") {
        rows.extend(rows_with_binary(
            "woof-platform",
            &PERSISTENT,
            with_handler(persistent),
        ));
    }
    if run("network") {
        let bins = (
            binary("woof-proxy"),
            binary("woof-put"),
            binary("woof-tail"),
        );
        rows.extend(match bins {
            (Some(proxy), Some(put), Some(tail)) => {
                rows_or_failed(&network::ROWS, network::network(&proxy, &put, &tail, ns))
            }
            _ => network::ROWS
                .iter()
                .map(|s| {
                    Row::not_measured(
                        s,
                        "skipped (binary missing: woof-proxy, woof-put or woof-tail)",
                    )
                })
                .collect(),
        });
    }
    let handler_note = match &handler {
        Ok((_, size)) => format!(
            " The handler rows run `benches/handler.c`, built by this run into a {} kB \
             static executable.",
            size / 1024
        ),
        Err(_) => String::new(),
    };
    let report = format!(
        "{}\n{NOTES}{handler_note}\n\n{}, load average {load_before} before and {} after, {:.0} s.\n",
        table(&rows),
        provenance(),
        load_average(),
        started.elapsed().as_secs_f64()
    );
    print!("{report}");
    let latest = dir.join("latest.md");
    fs::write(&latest, &report).expect("writing target/bench/latest.md");
    eprintln!("wrote {}", latest.display());
}

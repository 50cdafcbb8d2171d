//! What every row is built from: specs and rows of the table, statistics and
//! their formatting, locating the binaries, running children, test elements.

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use woof::{CreateOptions, Durability, Woof};

/// Every row moves 64-byte elements, the size the targets are stated for.
pub(crate) const ELEM: usize = 64;

pub(crate) type Res<T> = Result<T, String>;

/// Adds what was being done to an error, so a failed row names its cause.
pub(crate) trait Context<T> {
    fn ctx(self, what: &str) -> Res<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// What a row measures and what it should reach: known before measuring, so rows
/// that are skipped or fail still show up in the table.
pub(crate) struct Spec {
    pub(crate) op: &'static str,
    pub(crate) target: &'static str,
}

/// One line of the table.
pub(crate) struct Row {
    pub(crate) op: &'static str,
    pub(crate) result: String,
    pub(crate) baseline: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
}

impl Row {
    /// A measured row; `met` decides the verdict shown after the target.
    pub(crate) fn measured(
        spec: &Spec,
        result: String,
        baseline: String,
        ratio: String,
        met: bool,
    ) -> Row {
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
    pub(crate) fn not_measured(spec: &Spec, why: &str) -> Row {
        Row {
            op: spec.op,
            result: why.to_string(),
            baseline: "–".to_string(),
            ratio: "–".to_string(),
            target: spec.target.to_string(),
        }
    }

    pub(crate) fn markdown(&self) -> String {
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
pub(crate) fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The rows of `specs` as `measured` returns them, or each marked failed with why.
pub(crate) fn rows_or_failed(specs: &[Spec], measured: Res<Vec<Row>>) -> Vec<Row> {
    measured.unwrap_or_else(|why| {
        let why = format!("failed: {why}");
        specs.iter().map(|s| Row::not_measured(s, &why)).collect()
    })
}

/// As `rows_or_failed` for rows that run the binary `name`; skipped when it is missing,
/// so the in-process rows still report while the binaries are being built.
pub(crate) fn rows_with_binary(
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
pub(crate) struct Stats {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
}

impl Stats {
    pub(crate) fn of(samples: &mut [f64]) -> Stats {
        samples.sort_by(f64::total_cmp);
        Stats {
            p50: percentile(samples, 50.0),
            p99: percentile(samples, 99.0),
        }
    }

    pub(crate) fn show(self) -> String {
        format!("p50 {} · p99 {}", fmt_ns(self.p50), fmt_ns(self.p99))
    }
}

/// Nearest-rank percentile of sorted samples.
pub(crate) fn percentile(sorted: &[f64], pct: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    percentile(samples, 50.0)
}

pub(crate) fn fmt_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

pub(crate) fn fmt_rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}/s")
    }
}

pub(crate) fn fmt_times(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.2}×")
    }
}

pub(crate) fn ns_since(start: Instant) -> f64 {
    start.elapsed().as_nanos() as f64
}

/// Where the woof binaries are: `WOOF_BIN_DIR` when set (`make bench` points it at
/// the static release build that `make install` ships), else the ones cargo built for
/// this bench (`CARGO_BIN_EXE_*`), else beside the bench executable's profile dir.
pub(crate) fn binary(name: &str) -> Option<PathBuf> {
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
pub(crate) fn command(program: &Path) -> Command {
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
pub(crate) fn run_piped(mut cmd: Command, input: &[u8], what: &str) -> Res<(Duration, String)> {
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
pub(crate) fn element(i: usize) -> [u8; ELEM] {
    let mut e = [0u8; ELEM];
    e.copy_from_slice(format!("{i:063}\n").as_bytes());
    e
}

/// Elements `0..n`, back to back: the input of a batch put.
pub(crate) fn elements(n: usize) -> Vec<u8> {
    (0..n).flat_map(element).collect()
}

pub(crate) fn create_woof(
    ns: &Path,
    name: &str,
    history: u64,
    durability: Durability,
) -> Res<Woof> {
    let mut opts = CreateOptions::new(ELEM as u64, history);
    opts.durability = durability;
    opts.force = true;
    Woof::create(&ns.join(name), &opts).ctx(&format!("creating woof {name}"))
}

// ---------------------------------------------------------------------------------

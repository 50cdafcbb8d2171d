//! Typed records: `woof-put --csv --batch` and `woof-get --format csv`.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use woof::{CreateOptions, Woof};

use super::*;

// Typed records: `woof-put --csv --batch` and `woof-get --format csv`
// ---------------------------------------------------------------------------------

pub(crate) const TYPED_ROWS: usize = 1_000_000;
pub(crate) const TYPED_REPS: usize = 5;
/// A sensor reading: 33-byte elements.
pub(crate) const TYPED_SCHEMA: &str = "time:timestamp,sensor:str16,celsius:f64,ok:bool";

/// `TYPED_ROWS` CSV records of `TYPED_SCHEMA`, each distinct, in the form woof-get
/// prints them (so the put and the get move the same text).
pub(crate) fn typed_csv(n: usize) -> Vec<u8> {
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

pub(crate) fn create_typed(ns: &Path, name: &str, history: u64) -> Res<Woof> {
    let mut opts = CreateOptions::new(33, history);
    opts.schema = TYPED_SCHEMA.as_bytes().to_vec();
    opts.force = true;
    Woof::create(&ns.join(name), &opts).ctx(&format!("creating woof {name}"))
}

/// Runs `cmd` with stdin from `input` (a file) and stdout drained through a pipe;
/// returns the wall time and the bytes it printed.
pub(crate) fn run_drained(
    mut cmd: Command,
    input: Option<&Path>,
    what: &str,
) -> Res<(Duration, u64)> {
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

pub(crate) const TYPED_PUT: Spec = Spec {
    op: "`woof-put --csv --batch`, 1 000 000 typed rows (4 fields) from a file",
    target: "≥ 500 k rows/s",
};

pub(crate) const TYPED_GET: [Spec; 3] = [
    Spec {
        op: "`woof-get --format csv`, 1 000 000 typed elements to a pipe",
        target: "≥ 1 M rows/s",
    },
    Spec {
        op: "`woof-get --every 5m --agg avg`, 1 000 000 typed elements consolidated",
        target: "≥ 5 M elements/s",
    },
    Spec {
        op: "`woof-get --plot celsius --output FILE.png`, 1 000 000 typed elements",
        target: "≤ 1 s",
    },
];

pub(crate) fn typed_put(put: &Path, ns: &Path) -> Res<Vec<Row>> {
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

pub(crate) fn typed_get(get: &Path, put: &Path, ns: &Path) -> Res<Vec<Row>> {
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
    let (mut woof, mut base, mut every, mut plot) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let png = ns.join("typed.png");
    for _ in 0..TYPED_REPS {
        let mut cmd = command(get);
        cmd.args(["typed", "--plot", "celsius", "--output"])
            .arg(&png)
            .arg("-N")
            .arg(ns);
        let (elapsed, _) = run_drained(cmd, None, "woof-get --plot")?;
        plot.push(elapsed.as_secs_f64() * 1e9);
        let mut cmd = command(get);
        cmd.args(["typed", "--every", "5m", "--agg", "avg", "-N"])
            .arg(ns);
        let (elapsed, _) = run_drained(cmd, None, "woof-get --every")?;
        every.push(TYPED_ROWS as f64 / elapsed.as_secs_f64());
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
    let (woof, base, every) = (median(&mut woof), median(&mut base), median(&mut every));
    let plot = median(&mut plot);
    Ok(vec![
        Row::measured(
            &TYPED_GET[0],
            format!("{} (median of {TYPED_REPS})", fmt_rate(woof)),
            format!("{} (`cat` of a file holding the same CSV)", fmt_rate(base)),
            format!("{} cat's rate", fmt_times(woof / base)),
            woof >= 1e6,
        ),
        Row::measured(
            &TYPED_GET[1],
            format!("{} (median of {TYPED_REPS})", fmt_rate(every)),
            format!(
                "{} (`woof-get --format csv` of the same, above)",
                fmt_rate(woof)
            ),
            format!("{} the csv rate", fmt_times(every / woof)),
            every >= 5e6,
        ),
        Row::measured(
            &TYPED_GET[2],
            format!("{} (median of {TYPED_REPS})", fmt_ns(plot)),
            format!(
                "{} (`woof-get --format csv` of the same)",
                fmt_ns(1e9 * TYPED_ROWS as f64 / woof)
            ),
            format!(
                "{} the csv time",
                fmt_times(plot / (1e9 * TYPED_ROWS as f64 / woof))
            ),
            plot <= 1e9,
        ),
    ])
}

// ---------------------------------------------------------------------------------

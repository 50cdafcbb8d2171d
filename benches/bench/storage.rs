//! Rows 1–5: in-process put and get, bulk and durable ingest through
//! `woof-put --batch`, one process per put.

use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use woof::Durability;

use super::*;

/// In-process latency: puts/gets per timed batch, batches, individually timed calls.
pub(crate) const BATCH: usize = 1_000;
pub(crate) const BATCHES: usize = 300;
pub(crate) const SINGLES: usize = 20_000;
/// Ring size of the in-process rows; small enough to stay cache-warm like a busy woof.
pub(crate) const RING: u64 = 10_000;

/// Bulk ingest (`woof-put --batch` against `dd bs=64`).
pub(crate) const BULK_ELEMENTS: usize = 1_000_000;
pub(crate) const BULK_REPS: usize = 5;

/// Durable ingest (group commit) against a write + fdatasync loop.
pub(crate) const DURABLE_ELEMENTS: usize = 200_000;
pub(crate) const DURABLE_REPS: usize = 5;
/// The fdatasync loop stops at whichever comes first; ~135 µs each here, so ~1 s.
pub(crate) const FSYNC_MAX_OPS: usize = 5_000;
pub(crate) const FSYNC_MAX_TIME: Duration = Duration::from_secs(1);

/// One process per put against spawning `/bin/true`.
pub(crate) const SPAWNS: usize = 400;

// Rows 1–2: in-process put and get
// ---------------------------------------------------------------------------------

/// Latency of `op`: p50 from batches of `BATCH` calls (the per-call mean of each
/// batch, so the clock's own cost is amortised), p99 from individually timed calls
/// (these include one clock read, ~20–40 ns under KVM).
pub(crate) fn latency(mut op: impl FnMut()) -> Stats {
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
pub(crate) fn memcpy_baselines() -> Res<(Stats, Stats)> {
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

pub(crate) const IN_PROCESS: [Spec; 2] = [
    Spec {
        op: "in-process put, 64 B (`Woof::put`)",
        target: "p50 ≤ 1 µs (C CSPOT: 28.5 µs)",
    },
    Spec {
        op: "in-process get of the latest, 64 B (`Woof::get(0)`)",
        target: "p50 ≤ 1 µs",
    },
];

pub(crate) fn in_process(ns: &Path) -> Res<Vec<Row>> {
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

/// Puts `data` through `woof-put --batch` (plus `extra` flags) into a freshly created
/// woof; returns elements per second.
pub(crate) fn woof_put_batch(
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
pub(crate) fn dd_append(ns: &Path, input: &Path, n: usize) -> Res<f64> {
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

pub(crate) const BULK: Spec = Spec {
    op: "`woof-put --batch`, 1 000 000 × 64 B from a pipe",
    target: "≥ 2 M/s and ≥ 3× dd",
};

pub(crate) fn bulk(put: &Path, ns: &Path) -> Res<Vec<Row>> {
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
pub(crate) fn fsync_loop(ns: &Path) -> Res<f64> {
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

pub(crate) const DURABLE: Spec = Spec {
    op: "durable ingest: `woof-put --batch --durability always`, 200 000 × 64 B",
    target: "≥ 200 k/s",
};

pub(crate) fn durable(put: &Path, ns: &Path) -> Res<Vec<Row>> {
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

/// Spawns `cmd` with stdin from `input` and waits; returns the wall time.
pub(crate) fn spawn_once(cmd: &mut Command, input: &Path, what: &str) -> Res<f64> {
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

pub(crate) const ONESHOT: Spec = Spec {
    op: "one-shot `woof-put` (one process per element)",
    target: "≤ 1.2× `/bin/true`",
};

pub(crate) fn oneshot(put: &Path, ns: &Path) -> Res<Vec<Row>> {
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

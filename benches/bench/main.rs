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

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod bridges;
mod follow;
mod handlers;
mod harness;
mod libwoof;
mod network;
mod parsers;
mod scale;
mod scale_big;
mod scale_proxy;
mod select;
mod storage;
mod tiers;
mod typed;
// The tests' helpers (tests/util/): the rows share its daemons instead of copies.
#[allow(dead_code, unused_imports)] // the bench uses a part of them
#[path = "../../tests/util/mod.rs"]
mod util;

use follow::*;
use handlers::*;
use harness::*;
use libwoof::*;
use parsers::*;
use scale::*;
use scale_big::*;
use scale_proxy::*;
use select::*;
use storage::*;
use typed::*;

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
const GROUPS: [&str; 19] = [
    "in-process",
    "parsers",
    "bulk",
    "typed-put",
    "typed-get",
    "select",
    "durable",
    "oneshot",
    "follow",
    "handler-start",
    "handler-burst",
    "persistent",
    "libwoof",
    "scale-namespace",
    "scale-big",
    "scale-proxy",
    "network",
    "tiers",
    "bridges",
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
    if run("parsers") {
        rows.extend(rows_or_failed(&PARSERS, parsers()));
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
        rows.extend(rows_with_binary("woof-get", &TYPED_GET, |get| {
            let put = binary("woof-put").ok_or("binary missing: woof-put")?;
            typed_get(get, &put, ns)
        }));
    }
    if run("select") {
        rows.extend(rows_with_binary("woof-get", &[SELECT], |get| {
            select(get, ns)
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
        rows.extend(rows_with_binary("woof-tail", &[FOLLOW_PIPE], |tail| {
            let put = binary("woof-put").ok_or("woof-put not built")?;
            follow_pipe(tail, &put, ns).map(|r| vec![r])
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
    if run("libwoof") {
        rows.extend(rows_with_binary(
            "woof-platform",
            &LIBWOOF,
            with_handler(libwoof),
        ));
    }
    if run("scale-namespace") {
        rows.extend(scale_namespace(ns).unwrap_or_else(|why| {
            SCALE_NAMESPACE
                .iter()
                .map(|s| Row::not_measured(s, &format!("failed: {why}")))
                .collect()
        }));
    }
    if run("scale-big") {
        rows.extend(rows_or_failed(&SCALE_BIG, scale_big(ns)));
    }
    if run("scale-proxy") {
        rows.extend(rows_or_failed(&SCALE_PROXY, scale_proxy(ns)));
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
    if run("tiers") {
        let bins = (
            binary("woof-proxy"),
            binary("woof-put"),
            binary("woof-forward"),
        );
        rows.extend(match bins {
            (Some(proxy), Some(put), Some(forward)) => {
                let bins = tiers::Bins {
                    proxy,
                    put,
                    forward,
                };
                tiers::tiers(&bins, ns)
            }
            _ => tiers::ROWS
                .iter()
                .map(|s| {
                    Row::not_measured(
                        s,
                        "skipped (binary missing: woof-proxy, woof-put or woof-forward)",
                    )
                })
                .collect(),
        });
    }
    if run("bridges") {
        rows.extend(match binary("woof-forward") {
            Some(forward) => bridges::bridges(&forward, ns),
            None => bridges::ROWS
                .iter()
                .map(|s| Row::not_measured(s, "skipped (binary missing: woof-forward)"))
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

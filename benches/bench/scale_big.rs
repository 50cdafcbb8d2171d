//! Scale rows (issue 14), big woofs: one woof of 16 777 216 elements of 64 B
//! (1 GiB of elements, a 16 M history), filled once, against a woof of 1 000
//! elements: create, put, get, tail and --since on each. The per-element work must
//! not grow with the woof (a seqno is an offset; --since is a binary search).

use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use woof::Durability;

use super::*;

const BIG: u64 = 1 << 24;
const SMALL: u64 = 1_000;
const PUTS: usize = 1_000_000;
const RUNS: usize = 7;

pub(crate) const SCALE_BIG: [Spec; 5] = [
    Spec {
        op: "`woof-create` of a 1 GiB woof (16 M elements of 64 B)",
        target: "≤ 1 s",
    },
    Spec {
        op: "put into the full 1 GiB woof (its ring wrapping), 1 M elements in process",
        target: "≤ 1.5× the small woof per element",
    },
    Spec {
        op: "`woof-get NAME SEQNO` of one element of the full 1 GiB woof",
        target: "≤ 1.2× the small woof",
    },
    Spec {
        op: "`woof-tail -n 100` of the full 1 GiB woof",
        target: "≤ 1.2× the small woof",
    },
    Spec {
        op: "`woof-get --since` the last second of the full 1 GiB woof (16 M history)",
        target: "≤ 1.2× the small woof",
    },
];

/// Median wall time of `args` run by `bin` (output discarded).
fn run_median(bin: &Path, args: &[&str], what: &str) -> Res<f64> {
    let mut v = Vec::new();
    for _ in 0..RUNS {
        let mut cmd = command(bin);
        cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
        let start = Instant::now();
        let status = cmd.status().ctx(what)?;
        if !status.success() {
            return Err(format!("{what} failed ({status})"));
        }
        v.push(ns_since(start));
    }
    Ok(median(&mut v))
}

/// ns per put of `n` elements into `w`.
fn put_rate(w: &woof::Woof, n: usize) -> Res<f64> {
    let e = element(7);
    let start = Instant::now();
    for _ in 0..n {
        w.put(&e).ctx("put")?;
    }
    Ok(ns_since(start) / n as f64)
}

pub(crate) fn scale_big(root: &Path) -> Res<Vec<Row>> {
    let (create, get, tail) = (
        binary("woof-create").ok_or("woof-create not built")?,
        binary("woof-get").ok_or("woof-get not built")?,
        binary("woof-tail").ok_or("woof-tail not built")?,
    );
    let ns = std::fs::canonicalize(root)
        .ctx("namespace path")?
        .join("big");
    std::fs::create_dir_all(&ns).ctx("namespace")?;
    let ns_text = ns.display().to_string();
    let (big_n, small_n) = (BIG.to_string(), SMALL.to_string());
    let create_times = |n: &str| {
        run_median(
            &create,
            &[
                "-N", &ns_text, "made", "-s", "64", "-n", n, "--force", "--yes",
            ],
            "woof-create",
        )
    };
    let (c_big, c_small) = (create_times(&big_n)?, create_times(&small_n)?);
    let _ = std::fs::remove_file(ns.join("made"));
    // Puts into fresh pages of the big one, into the (cache-warm) ring of the small.
    let big = create_woof(&ns, "big", BIG, Durability::None)?;
    let small = create_woof(&ns, "small", SMALL, Durability::None)?;
    let fresh = put_rate(&big, PUTS)?;
    // Fill the big one: its whole history held; then puts overwrite the oldest, as
    // in a woof that has run for a while, and the reads.
    put_rate(&big, (BIG as usize).saturating_sub(PUTS))?;
    let (p_big, p_small) = (put_rate(&big, PUTS)?, put_rate(&small, PUTS)?);
    // An element from the middle of what each holds.
    let seq = |w: &woof::Woof, n: u64| (w.latest() - n / 2).to_string();
    let (s_big, s_small) = (seq(&big, BIG), seq(&small, SMALL));
    let g = |name: &str, s: &str| {
        run_median(
            &get,
            &["-N", &ns_text, name, s, "--format", "raw"],
            "woof-get",
        )
    };
    let (g_big, g_small) = (g("big", &s_big)?, g("small", &s_small)?);
    let t = |name: &str| {
        run_median(
            &tail,
            &["-N", &ns_text, name, "-n", "100", "--format", "raw"],
            "woof-tail",
        )
    };
    let (t_big, t_small) = (t("big")?, t("small")?);
    // The last second's puts: a few at the end of each.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for _ in 0..10 {
        big.put(&element(1)).ctx("put")?;
        small.put(&element(1)).ctx("put")?;
    }
    let since = |name: &str| {
        run_median(
            &get,
            &["-N", &ns_text, name, "--since", "-1s", "--format", "raw"],
            "woof-get --since",
        )
    };
    let (w_big, w_small) = (since("big")?, since("small")?);
    let file_mb = std::fs::metadata(ns.join("big")).map_or(0, |m| m.len()) >> 20;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let lim = format!("{cpus} CPUs, a {file_mb} MiB file; commands: median of {RUNS}");
    let row = |i: usize, big: f64, small: f64, what: &str, limit: f64| {
        Row::measured(
            &SCALE_BIG[i],
            format!("{} ({lim})", fmt_ns(big)),
            format!("{} ({what})", fmt_ns(small)),
            format!("{} the small woof", fmt_times(big / small)),
            big / small <= limit,
        )
    };
    let second = 1e9;
    Ok(vec![
        Row::measured(
            &SCALE_BIG[0],
            format!("{} ({lim})", fmt_ns(c_big)),
            format!("{} (a woof of 1 000 elements)", fmt_ns(c_small)),
            format!("{} the small woof", fmt_times(c_big / c_small)),
            c_big <= second,
        ),
        row(
            1,
            p_big,
            p_small,
            &format!(
                "per put into a woof of 1 000 elements; the big one's first lap, into \
                 pages never touched: {} (page faults)",
                fmt_ns(fresh)
            ),
            1.5,
        ),
        row(2, g_big, g_small, "a woof of 1 000 elements", 1.2),
        row(3, t_big, t_small, "a woof of 1 000 elements", 1.2),
        row(4, w_big, w_small, "a woof of 1 000 elements", 1.2),
    ])
}

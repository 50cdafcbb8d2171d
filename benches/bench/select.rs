//! Selection by put time: `woof-get --since/--until` on a 10 M-element woof must
//! answer by binary search (about 24 gets), as fast as reading the latest element.
//! The answer's own cost is what the search adds to a process that reads the
//! latest element (both start, map the woof and print one element); a process's
//! start alone is about 1 ms here, so the whole process is not what ≤ 1 ms bounds.

use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use woof::Durability;

use super::*;

/// Elements in the woof searched (a 10 M-element history, 880 MB on disk).
const SELECT_ELEMENTS: usize = 10_000_000;
/// Processes timed for each side.
const SELECT_RUNS: usize = 30;

pub(crate) const SELECT: Spec = Spec {
    op: "`woof-get --since T --until T` on a 10 M-element woof (one element, by put time)",
    target: "the search answers in ≤ 1 ms (what it adds to reading the latest element), and the process takes ≤ 1.5× reading the latest element",
};

/// Wall time of one run of `woof-get ARGS` on `ns`, ns.
fn get_once(get: &Path, ns: &Path, args: &[&str]) -> Res<f64> {
    let mut cmd = command(get);
    cmd.arg("-N").arg(ns).args(args);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let status = cmd.status().ctx("running woof-get")?;
    let elapsed = ns_since(start);
    if !status.success() {
        return Err(format!("woof-get {args:?} failed ({status})"));
    }
    Ok(elapsed)
}

pub(crate) fn select(get: &Path, ns: &Path) -> Res<Vec<Row>> {
    let w = create_woof(ns, "big", SELECT_ELEMENTS as u64, Durability::None)?;
    {
        let mut writer = w.writer().ctx("writer")?;
        for i in 0..SELECT_ELEMENTS {
            writer.append(&element(i)).ctx("append")?;
        }
    }
    // A put time in the middle of the history, to the nanosecond.
    let mut buf = [0u8; ELEM];
    let mid = w
        .get(SELECT_ELEMENTS as u64 / 2, &mut buf)
        .ctx("reading the middle element")?;
    let at = format!(
        "{}.{:09}",
        mid.time_ns / 1_000_000_000,
        mid.time_ns % 1_000_000_000
    );
    let (mut since, mut latest) = (Vec::new(), Vec::new());
    for _ in 0..SELECT_RUNS {
        since.push(get_once(
            get,
            ns,
            &["big", "--since", &at, "--until", &at, "--format", "hex"],
        )?);
        latest.push(get_once(get, ns, &["big", "--format", "hex"])?);
    }
    let (since, latest) = (median(&mut since), median(&mut latest));
    let _ = std::fs::remove_file(ns.join("big"));
    let search = (since - latest).max(0.0);
    Ok(vec![Row::measured(
        &SELECT,
        format!(
            "the search adds {} to the process: {} per process (median of {SELECT_RUNS})",
            fmt_ns(search),
            fmt_ns(since)
        ),
        format!("{} (`woof-get big`: the latest element)", fmt_ns(latest)),
        format!("{} the latest's time", fmt_times(since / latest)),
        search <= 1e6 && since <= 1.5 * latest,
    )])
}

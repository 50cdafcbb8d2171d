//! Many writer processes into one woof while readers read (issue 2, "Concurrency"):
//! 8 `woof-put --lines` processes × 20 000 self-verifying elements, fed through
//! pipes in small chunks so their runs interleave, while a `woof-tail -f` follows
//! and a loop of `woof-get` ranges reads. Every element any reader prints must
//! verify; afterwards the woof holds all 160 000, seqnos contiguous, each writer's
//! elements exactly once and in its own order.

use crate::util;

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use util::{CsvLine, ELEMENT, Ns, Rng, Running, encoded_lines};

const WRITERS: u32 = 8;
const PER_WRITER: u64 = 20_000;
const TOTAL: u64 = WRITERS as u64 * PER_WRITER;
/// Lines per write into a writer's pipe.
const CHUNK: u64 = 16;

/// Checks one csv line a reader printed: parses, and its element verifies.
fn verified(line: &str) -> (u64, u32, u64) {
    let l = CsvLine::try_parse(line).unwrap_or_else(|| panic!("torn or malformed line {line:?}"));
    util::whole(&l)
}

#[test]
fn eight_writers_and_concurrent_readers() {
    let ns = Ns::new();
    ns.create("t", ELEMENT as u64, TOTAL);

    // Reader 1: a follower from the very start, printing everything in order.
    let mut tail = ns.std_cmd("woof-tail");
    tail.args(["-f", "t", "--after", "0", "--format", "csv"]);
    let tail = Running::spawn(tail);

    // Writers, each fed by its own thread in chunks.
    // All writers start before any is fed, so that their runs interleave.
    let mut writers = Vec::new();
    let mut feeders = Vec::new();
    let go = Arc::new(std::sync::Barrier::new(WRITERS as usize));
    for w in 0..WRITERS {
        let mut cmd = ns.std_cmd("woof-put");
        cmd.args(["t", "--lines"]).stdin(Stdio::piped());
        let mut run = Running::spawn(cmd);
        let mut stdin = run.stdin();
        let go = Arc::clone(&go);
        feeders.push(std::thread::spawn(move || {
            go.wait();
            let mut c = 0;
            while c < PER_WRITER {
                let end = (c + CHUNK).min(PER_WRITER);
                stdin
                    .write_all(&encoded_lines(w, c..end))
                    .expect("feed writer");
                c = end;
                // A short pause keeps each writer's runs short, so they interleave
                // at a fine grain and the writers overlap the readers for longer.
                std::thread::sleep(Duration::from_micros(100));
            }
        }));
        writers.push(run);
    }

    // Reader 2: random ranges near the moving end, while the writers run.
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let ranger = {
        let dir = ns.path().to_path_buf();
        let done = Arc::clone(&done);
        let reads = Arc::clone(&reads);
        std::thread::spawn(move || {
            let mut rng = Rng::from_env("eight_writers_and_concurrent_readers");
            while !done.load(Ordering::Relaxed) {
                let info = util::bare("woof-get")
                    .arg("-N")
                    .arg(&dir)
                    .args(["t", "--info", "--format", "json"])
                    .output()
                    .expect("woof-get --info");
                let text = String::from_utf8_lossy(&info.stdout).into_owned();
                let latest: u64 = text
                    .split("\"latest\":")
                    .nth(1)
                    .and_then(|r| r.split(',').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no latest in {text:?}"));
                if latest == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                let from = latest.saturating_sub(rng.below(4000)).max(1);
                let out = util::bare("woof-get")
                    .arg("-N")
                    .arg(&dir)
                    .args(["t", &format!("{from}..{latest}"), "--format", "csv"])
                    .output()
                    .expect("woof-get range");
                assert!(
                    out.status.success() && out.stderr.is_empty(),
                    "woof-get {from}..{latest}: {:?} {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
                let text = String::from_utf8(out.stdout).expect("utf8");
                let got: Vec<u64> = text.lines().map(|l| verified(l).0).collect();
                assert_eq!(got, (from..=latest).collect::<Vec<_>>());
                reads.fetch_add(got.len() as u64, Ordering::Relaxed);
            }
        })
    };

    let started = std::time::Instant::now();
    for f in feeders {
        f.join().expect("feeder");
    }
    for (w, mut run) in writers.into_iter().enumerate() {
        let (status, out) = run.finish(util::TIMEOUT);
        assert!(
            status.success(),
            "writer {w}: {status:?}: {}",
            run.stderr_text()
        );
        assert_eq!(run.stderr_text(), "", "writer {w}");
        assert_eq!(out.len(), 1, "writer {w} printed {out:?}");
        let (first, last) = util::parse_range_line(format!("{}\n", out[0]).as_bytes());
        assert!(first >= 1 && last <= TOTAL && last - first + 1 >= PER_WRITER);
    }
    let writing = started.elapsed();
    done.store(true, Ordering::Relaxed);
    ranger.join().expect("range reader");

    // The follower saw every element, in order, each whole.
    let mut next = vec![0u64; WRITERS as usize];
    for s in 1..=TOTAL {
        let (seqno, w, c) = verified(&tail.line(util::PROMPT));
        assert_eq!(seqno, s, "follower skipped or repeated");
        assert_eq!(
            c, next[w as usize],
            "writer {w}'s order, seen by the follower"
        );
        next[w as usize] += 1;
    }
    assert_eq!(tail.stderr_text(), "");

    // Afterwards: all of them, contiguous, each writer's exactly once and in order.
    assert_eq!(ns.latest("t"), TOTAL);
    let all = util::ok_stdout(ns.cmd("woof-get").args(["t", "1..", "--format", "csv"]));
    let text = String::from_utf8(all).expect("utf8");
    let mut next = vec![0u64; WRITERS as usize];
    let mut count = 0;
    let mut switches = 0;
    let mut previous = None;
    for (line, s) in text.lines().zip(1..) {
        let (seqno, w, c) = verified(line);
        if previous.is_some_and(|p| p != w) {
            switches += 1;
        }
        previous = Some(w);
        assert_eq!(seqno, s);
        assert!(w < WRITERS, "unknown writer {w}");
        assert_eq!(
            c, next[w as usize],
            "writer {w}: counter out of order at seqno {s}"
        );
        next[w as usize] += 1;
        count += 1;
    }
    assert_eq!(count, TOTAL);
    assert!(next.iter().all(|&n| n == PER_WRITER), "{next:?}");
    eprintln!(
        "writers ran {writing:?}, interleaved {switches} times; \
         the range reader verified {} elements meanwhile",
        reads.load(Ordering::Relaxed)
    );
}

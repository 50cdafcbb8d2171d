//! Writers that die mid-put (issue 2, "Crash"; FORMAT.md, "Recovery rules").
//!
//! - Deterministic (redb's approach): test builds have the `fault-injection`
//!   feature, and `WOOF_FAULT=NAME[@N]` aborts a put at the N-th pass of crash point
//!   NAME (`woof::fault::POINTS`). For every point: the woof opens, the element is
//!   wholly visible (only once `put:published` was passed) or absent, and the next
//!   put recovers the lock the dead writer held and gets the right seqno.
//! - Random: several lanes of one-shot and `--batch` writers, each SIGKILLed at a
//!   random moment, at least 200 kills in all; then every visible element is whole,
//!   seqnos are contiguous, every acknowledged element is there with its content,
//!   and puts never wait for a dead writer (bounded probe puts throughout).

use crate::util;

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use util::{CsvLine, ELEMENT, Ns, PROMPT, Rng, decode, encode, fails};

/// Every visible element of woof `t`: `woof-get t 1..` must succeed quietly, and
/// each element must verify. Returns (seqno, writer, counter) in seqno order.
fn visible(ns: &Ns) -> Vec<(u64, u32, u64)> {
    if ns.latest("t") == 0 {
        return Vec::new();
    }
    ns.get_csv("t", "1..")
        .into_iter()
        .map(|l| util::whole(&l))
        .collect()
}

fn assert_contiguous(v: &[(u64, u32, u64)]) {
    for (i, (s, _, _)) in v.iter().enumerate() {
        assert_eq!(*s, i as u64 + 1, "seqnos not contiguous");
    }
}

/// A one-shot put that must finish promptly (no dead writer may block it).
fn prompt_put(ns: &Ns, data: &[u8]) -> u64 {
    let out = util::ok_stdout(
        ns.cmd("woof-put")
            .timeout(PROMPT)
            .arg("t")
            .write_stdin(data),
    );
    util::parse_seqno_line(&out)
}

/// Runs `woof-put t [args]` with WOOF_FAULT=`fault` on `input`; it must abort.
fn put_aborting(ns: &Ns, fault: &str, args: &[&str], input: Vec<u8>) {
    let out = ns
        .cmd("woof-put")
        .env("WOOF_FAULT", fault)
        .arg("t")
        .args(args)
        .write_stdin(input)
        .output()
        .expect("run woof-put");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "WOOF_FAULT={fault} did not abort the put: {:?}, stderr {:?}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "an aborted put acknowledged something"
    );
}

/// Whether a put that died at `point` has published its element.
fn published_at(point: &str) -> bool {
    match point {
        "put:locked" | "put:slot-invalidated" | "put:data-written" | "put:slot-stamped" => false,
        "put:published" => true,
        other => panic!("crash point {other} is new: say here whether it is published"),
    }
}

#[test]
fn every_crash_point_leaves_the_element_whole_or_absent() {
    for point in woof::fault::POINTS {
        let ns = Ns::new();
        ns.create("t", ELEMENT as u64, 100);
        for c in 0..3 {
            assert_eq!(prompt_put(&ns, &encode(0, c)), c + 1);
        }
        put_aborting(&ns, point, &[], encode(1, 0));

        let v = visible(&ns);
        assert_contiguous(&v);
        let expect_visible = published_at(point);
        assert_eq!(v.len(), if expect_visible { 4 } else { 3 }, "after {point}");
        if expect_visible {
            assert_eq!((v[3].1, v[3].2), (1, 0), "after {point}");
        } else {
            fails(
                ns.cmd("woof-get").args(["t", "4"]),
                66,
                "woof-get: t: seqno 4 not yet written (latest is 3)",
            );
        }
        // The dead writer's lock is recovered; the next put gets the next seqno.
        let next = v.len() as u64 + 1;
        assert_eq!(prompt_put(&ns, &encode(2, 0)), next, "after {point}");
        assert_eq!(prompt_put(&ns, &encode(2, 1)), next + 1, "after {point}");
        let v = visible(&ns);
        assert_contiguous(&v);
        assert_eq!((v[next as usize - 1].1, v[next as usize - 1].2), (2, 0));
        assert_eq!(v.len() as u64, next + 1);
    }
}

#[test]
fn every_crash_point_in_a_full_woof_never_yields_torn_data() {
    // History 3, 5 elements: the aborted put reuses the slot of the oldest (3).
    for point in woof::fault::POINTS {
        let ns = Ns::new();
        ns.create("t", ELEMENT as u64, 3);
        for c in 0..5 {
            assert_eq!(prompt_put(&ns, &encode(0, c)), c + 1);
        }
        put_aborting(&ns, point, &[], encode(1, 0));
        let latest = ns.latest("t");
        assert_eq!(latest, if published_at(point) { 6 } else { 5 });
        // Element 3 is whole or (its slot taken by the dead put) evicted; never
        // corrupt, never other bytes.
        let out = ns
            .cmd("woof-get")
            .args(["t", "3", "--format", "csv"])
            .output()
            .expect("woof-get");
        match out.status.code() {
            Some(0) => {
                let l = CsvLine::parse(String::from_utf8_lossy(&out.stdout).trim_end());
                assert_eq!(l.data, encode(0, 2), "after {point}");
            }
            Some(66) => {
                // Either because the dead writer took its slot, or (published)
                // because 6 is in: either way 4 is the oldest readable.
                assert_eq!(
                    String::from_utf8_lossy(&out.stderr),
                    "woof-get: t: seqno 3 evicted (oldest is 4)\n",
                    "after {point}"
                );
            }
            _ => panic!("after {point}: woof-get t 3: {out:?}"),
        }
        for s in 4..=5 {
            let l = &ns.get_csv("t", &s.to_string())[0];
            assert_eq!(l.data, encode(0, s - 1), "after {point}");
        }
        assert_eq!(prompt_put(&ns, &encode(2, 0)), latest + 1, "after {point}");
        let all = ns.get_csv("t", &format!("{}..", latest - 1));
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|l| decode(&l.data).is_some()));
    }
}

#[test]
fn writers_dying_with_the_lock_one_after_another_do_not_wedge_the_woof() {
    let ns = Ns::new();
    ns.create("t", ELEMENT as u64, 100);
    for i in 0..5 {
        put_aborting(&ns, "put:locked", &[], encode(1, i));
    }
    assert_eq!(prompt_put(&ns, &encode(0, 0)), 1);
    put_aborting(&ns, "put:slot-stamped", &["--batch"], encode(1, 9));
    assert_eq!(prompt_put(&ns, &encode(0, 1)), 2);
    let v = visible(&ns);
    assert_eq!(v, [(1, 0, 0), (2, 0, 1)]);
}

#[test]
fn a_batch_aborted_midway_leaves_a_contiguous_prefix() {
    const WRITER: u32 = 7;
    let ns = Ns::new();
    ns.create("t", ELEMENT as u64, 1000);
    let mut cmd = ns.std_cmd("woof-put");
    cmd.args(["t", "--batch"])
        .env("WOOF_FAULT", "put:slot-stamped@50")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = util::Guard(cmd.spawn().expect("spawn"));
    let mut stdin = child.0.stdin.take().expect("stdin");
    // 30 elements go in (and are published, as batch mode streams); the 50th of
    // the next 70 aborts the writer after stamping its slot, before publishing.
    let first: Vec<u8> = (0..30).flat_map(|c| encode(WRITER, c)).collect();
    stdin.write_all(&first).expect("write");
    stdin.flush().expect("flush");
    assert!(
        util::wait_until(PROMPT, || ns.latest("t") == 30),
        "the first 30 were not put while the batch ran"
    );
    let rest: Vec<u8> = (30..100).flat_map(|c| encode(WRITER, c)).collect();
    let _ = stdin.write_all(&rest); // the writer may die before reading it all
    drop(stdin);
    let status = util::wait_bounded(&mut child.0, PROMPT, "woof-put --batch");
    assert_eq!(status.signal(), Some(libc::SIGABRT), "{status:?}");

    let v = visible(&ns);
    assert_contiguous(&v);
    let k = v.len() as u64;
    assert!((30..50).contains(&k), "{k} visible");
    for (i, (_, w, c)) in v.iter().enumerate() {
        assert_eq!((*w, *c), (WRITER, i as u64));
    }
    assert_eq!(prompt_put(&ns, &encode(0, 0)), k + 1);

    // Aborted at its very first element, a batch leaves nothing.
    put_aborting(
        &ns,
        "put:slot-stamped@1",
        &["--batch"],
        (0..10).flat_map(|c| encode(8, c)).collect(),
    );
    assert_eq!(ns.latest("t"), k + 1);
    assert_eq!(prompt_put(&ns, &encode(0, 1)), k + 2);
}

// ---------------------------------------------------------------------------
// Random kills.

/// What a writer process acknowledged (by printing its seqno or FIRST..LAST), or
/// that it was killed before it did.
enum Ack {
    One {
        writer: u32,
        seqno: u64,
    },
    Batch {
        writer: u32,
        n: u64,
        first: u64,
        last: u64,
    },
    Killed {
        writer: u32,
        n: u64,
    },
}

const LANES: usize = 4;
const MIN_KILLS: usize = 300;
/// A probe put (never killed, bounded) every this many processes per lane.
const PROBE_EVERY: usize = 25;
const MAX_BATCH: u64 = 200;
const MAX_STREAM: u64 = 1000;
/// Enough that the woof never wraps: once this much minus a stream per lane has
/// been handed to writers, lanes only run one-shot puts.
const HISTORY: u64 = 300_000;

#[test]
fn random_sigkills_of_writers_lose_nothing_acknowledged() {
    let ns = Arc::new(Ns::new());
    ns.create("t", ELEMENT as u64, HISTORY);
    let kills = Arc::new(AtomicUsize::new(0));
    let next_writer = Arc::new(AtomicU32::new(1));
    let fed = Arc::new(AtomicU64::new(0));
    // Writer 0's five calibration puts below, acknowledged as seqnos 1..=5.
    let acks = Arc::new(Mutex::new(vec![Ack::Batch {
        writer: 0,
        n: 5,
        first: 1,
        last: 5,
    }]));
    let seed = Rng::from_env("random_sigkills_of_writers_lose_nothing_acknowledged").next();
    // Calibrate the kill window to how long a whole put takes on this machine (a
    // debug build, maybe loaded), so kills land all over a writer's life: before
    // it opens the woof, while it holds the lock, after it has printed. The puts
    // doing it are acknowledged like any other.
    let mut took = Vec::new();
    for c in 0..5 {
        let t = Instant::now();
        let seqno = prompt_put(&ns, &encode(0, c));
        took.push(t.elapsed());
        assert_eq!(seqno, c + 1);
    }
    took.sort();
    let life = took[2].as_micros() as u64;
    eprintln!("a one-shot put takes ~{life} µs here");
    let started = Instant::now();

    let lanes: Vec<_> = (0..LANES)
        .map(|lane| {
            let (ns, kills, next_writer, acks, fed) = (
                Arc::clone(&ns),
                Arc::clone(&kills),
                Arc::clone(&next_writer),
                Arc::clone(&acks),
                Arc::clone(&fed),
            );
            std::thread::spawn(move || {
                let mut rng = Rng::with_seed(seed ^ (lane as u64 + 1).wrapping_mul(0x9e37_79b9));
                let mut spawned = 0;
                while kills.load(Ordering::Relaxed) < MIN_KILLS {
                    spawned += 1;
                    assert!(spawned < 2000, "lane {lane}: too few kills land");
                    let writer = next_writer.fetch_add(1, Ordering::Relaxed);
                    assert!(writer < 10_000);
                    if spawned % PROBE_EVERY == 0 {
                        let seqno = prompt_put(&ns, &encode(writer, 0));
                        acks.lock().expect("acks").push(Ack::One { writer, seqno });
                        continue;
                    }
                    // Room for one more stream in every lane at once.
                    let room = fed.load(Ordering::Relaxed) + LANES as u64 * MAX_STREAM < HISTORY;
                    let (outcome, killed) = match rng.below(8) {
                        4..=6 if room => batch(&ns, &mut rng, writer, life),
                        7 if room => stream(&ns, &mut rng, writer, life),
                        _ => one_shot(&ns, &mut rng, writer, life),
                    };
                    let given = match outcome {
                        Ack::One { .. } => 1,
                        Ack::Batch { n, .. } | Ack::Killed { n, .. } => n,
                    };
                    fed.fetch_add(given, Ordering::Relaxed);
                    kills.fetch_add(usize::from(killed), Ordering::Relaxed);
                    acks.lock().expect("acks").push(outcome);
                }
            })
        })
        .collect();
    for l in lanes {
        l.join().expect("lane");
    }
    let killing = started.elapsed();

    // Afterwards: the woof opens; every visible element is whole; seqnos contiguous.
    let v = visible(&ns);
    assert_contiguous(&v);
    assert!(
        (v.len() as u64) < HISTORY,
        "the woof wrapped: raise HISTORY"
    );
    // Each writer's elements are a prefix of what it was given, in order.
    let mut by_writer: std::collections::HashMap<u32, Vec<(u64, u64)>> = Default::default();
    for &(s, w, c) in &v {
        by_writer.entry(w).or_default().push((s, c));
    }
    for (w, els) in &by_writer {
        for (i, (_, c)) in els.iter().enumerate() {
            assert_eq!(*c, i as u64, "writer {w}: not a prefix in order");
        }
    }
    // Nothing acknowledged is lost.
    let acks = acks.lock().expect("acks");
    let (mut acked_runs, mut acked_elements, mut cut_short) = (0, 0, 0);
    for ack in acks.iter() {
        acked_runs += usize::from(!matches!(ack, Ack::Killed { .. }));
        match *ack {
            Ack::One { writer, seqno } => {
                let (s, w, c) = v[seqno as usize - 1];
                assert_eq!((s, w, c), (seqno, writer, 0), "acknowledged put lost");
                acked_elements += 1;
            }
            Ack::Batch {
                writer,
                n,
                first,
                last,
            } => {
                let els = by_writer.get(&writer).map_or(&[][..], Vec::as_slice);
                assert_eq!(
                    els.len() as u64,
                    n,
                    "writer {writer}: acknowledged batch lost"
                );
                assert!(els.iter().all(|(s, _)| (first..=last).contains(s)));
                acked_elements += n;
            }
            Ack::Killed { writer, n } => {
                let got = by_writer.get(&writer).map_or(0, Vec::len) as u64;
                assert!(got <= n, "writer {writer}: more visible than it was given");
                cut_short += usize::from(got > 0 && got < n);
            }
        }
    }
    // And a put after all those deaths is prompt.
    let w = next_writer.fetch_add(1, Ordering::Relaxed);
    assert_eq!(prompt_put(&ns, &encode(w, 0)), v.len() as u64 + 1);
    eprintln!(
        "{} kills ({cut_short} batches cut short with part visible), {acked_runs} \
         acknowledged runs ({acked_elements} elements), {} elements visible, in {killing:?}",
        kills.load(Ordering::Relaxed),
        v.len(),
    );
}

/// A one-shot put, SIGKILLed between 0 and 4 lifetimes (`life` µs: a put alone takes
/// that long; with the other lanes running, several times as long) after it starts.
fn one_shot(ns: &Ns, rng: &mut Rng, writer: u32, life: u64) -> (Ack, bool) {
    let mut cmd = ns.std_cmd("woof-put");
    cmd.arg("t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let kill_at = Instant::now() + Duration::from_micros(rng.below(life * 4 + 1));
    // No panic can happen between spawn and wait, so no guard is needed.
    let mut child = cmd.spawn().expect("spawn");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&encode(writer, 0));
    }
    sleep_until(kill_at);
    util::sigkill(&child);
    let out = child.wait_with_output().expect("wait");
    let (stdout, killed) = ended(&out, writer);
    let ack = match stdout {
        Some(stdout) => Ack::One {
            writer,
            seqno: util::parse_seqno_line(stdout.as_bytes()),
        },
        None => Ack::Killed { writer, n: 1 },
    };
    (ack, killed)
}

/// A `--batch` put of 1–200 elements fed in a few pieces, SIGKILLed between 0 and
/// 4 one-shot lifetimes after it starts.
fn batch(ns: &Ns, rng: &mut Rng, writer: u32, life: u64) -> (Ack, bool) {
    let n = 1 + rng.below(MAX_BATCH);
    let mut cmd = ns.std_cmd("woof-put");
    cmd.args(["t", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let kill_at = Instant::now() + Duration::from_micros(rng.below(life * 4 + 1));
    // No panic can happen between spawn and wait, so no guard is needed.
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take();
    // Feed in pieces until the kill is due (the first piece always); `given` counts
    // the elements written. Input stops there (EOF), so a writer that beats the
    // kill puts exactly those.
    let pieces = 1 + rng.below(4);
    let mut given = 0;
    for p in 0..pieces {
        if p > 0 && Instant::now() >= kill_at {
            break;
        }
        let end = if p + 1 == pieces {
            n
        } else {
            (given + n / pieces).min(n)
        };
        let data: Vec<u8> = (given..end).flat_map(|i| encode(writer, i)).collect();
        if stdin.as_mut().is_none_or(|s| s.write_all(&data).is_err()) {
            break; // the writer is gone: it cannot acknowledge anything now
        }
        given = end;
        std::thread::sleep(Duration::from_micros(rng.below(life / 4 + 1)));
    }
    drop(stdin);
    sleep_until(kill_at);
    util::sigkill(&child);
    let out = child.wait_with_output().expect("wait");
    let (stdout, killed) = ended(&out, writer);
    let ack = match stdout {
        Some(stdout) => {
            let (first, last) = util::parse_range_line(stdout.as_bytes());
            Ack::Batch {
                writer,
                n: given,
                first,
                last,
            }
        }
        None => Ack::Killed { writer, n: given },
    };
    (ack, killed)
}

/// A `--batch` put streaming up to 1000 elements as fast as the pipe takes them,
/// SIGKILLed between 1 and 9 one-shot lifetimes after it starts: long runs
/// under the lock, so kills often land while the writer holds it.
fn stream(ns: &Ns, rng: &mut Rng, writer: u32, life: u64) -> (Ack, bool) {
    let n = MAX_STREAM / 2 + rng.below(MAX_STREAM / 2);
    let mut cmd = ns.std_cmd("woof-put");
    cmd.args(["t", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let kill_at = Instant::now() + Duration::from_micros(life + rng.below(life * 8 + 1));
    let mut child = cmd.spawn().expect("spawn");
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        let Some(mut stdin) = stdin else { return false };
        let data: Vec<u8> = (0..n).flat_map(|i| encode(writer, i)).collect();
        stdin.write_all(&data).is_ok()
    });
    sleep_until(kill_at);
    util::sigkill(&child);
    let out = child.wait_with_output().expect("wait");
    let fed_all = feeder.join().expect("feeder");
    let (stdout, killed) = ended(&out, writer);
    let ack = match stdout {
        Some(stdout) => {
            assert!(fed_all, "writer {writer} finished without all its input");
            let (first, last) = util::parse_range_line(stdout.as_bytes());
            Ack::Batch {
                writer,
                n,
                first,
                last,
            }
        }
        None => Ack::Killed { writer, n },
    };
    (ack, killed)
}

/// How a writer ended: its stdout if it acknowledged anything (it finished on its
/// own, or printed its whole line just before the kill got it), and whether the
/// kill got it. Anything else (an error exit, another signal) fails the test.
fn ended(out: &std::process::Output, writer: u32) -> (Option<String>, bool) {
    let stdout = String::from_utf8(out.stdout.clone()).expect("utf8");
    if out.status.signal() == Some(libc::SIGKILL) {
        // The seqno (or FIRST..LAST) is printed only after the put is published.
        return (Some(stdout).filter(|s| s.ends_with('\n')), true);
    }
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "writer {writer}: {:?}, stderr {:?}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (Some(stdout), false)
}

fn sleep_until(t: Instant) {
    if let Some(d) = t.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

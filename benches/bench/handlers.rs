//! Rows 8–11: handlers (woof-platform, woof-shepherd): start latency, bursts,
//! persistent handlers, idle memory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use woof::{Durability, Woof};

use super::*;

// Rows 8–11: handlers (woof-platform, woof-shepherd)
// ---------------------------------------------------------------------------------

/// Samples of put → handler start (and of its spawn baseline), and their spacing.
pub(crate) const START_SAMPLES: usize = 400;
pub(crate) const START_WARMUP: usize = 20;
pub(crate) const START_GAP_MIN: Duration = Duration::from_millis(2);
pub(crate) const START_GAP_SPREAD: Duration = Duration::from_millis(2);
/// Puts in the burst row, and the worker counts it tries (the default, 4, among them).
pub(crate) const BURST: usize = 2_000;
pub(crate) const BURST_WORKERS: [u16; 3] = [2, 4, 8];
/// Persistent-handler latency samples, 1–3 ms apart.
pub(crate) const PERSIST_SAMPLES: usize = 400;
pub(crate) const PERSIST_GAP_MIN: Duration = Duration::from_millis(1);
pub(crate) const PERSIST_GAP_SPREAD: Duration = Duration::from_millis(2);
/// Dispatches before the first RSS reading of the growth check, and between the two
/// readings. Both at full speed: the first 100 000 take the platform's heap to its
/// high-water mark (its queues fill while the trigger log is a whole log ahead).
pub(crate) const RSS_WARMUP: usize = 100_000;
pub(crate) const RSS_DISPATCHES: usize = 100_000;
/// How long one handler record may take to reach the FIFO.
pub(crate) const HANDLER_TIMEOUT: Duration = Duration::from_secs(5);

/// The handler every handler row runs: `benches/handler.c`, a small C program
/// compiled here with `cc -O2 -static` into `target/bench/` (what a user's static C
/// handler would be) and checked to be static (no ELF interpreter). Returns its
/// path and size.
pub(crate) fn build_handler(dir: &Path) -> Res<(PathBuf, u64)> {
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
pub(crate) fn has_interpreter(elf: &[u8]) -> Res<bool> {
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
pub(crate) fn handler_namespace(root: &Path, name: &str, handler: &Path) -> Res<PathBuf> {
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
pub(crate) struct Stamp {
    pub(crate) clock: u64,
    pub(crate) seqno: u64,
    pub(crate) third: u64,
    pub(crate) tail: [u8; 8],
}

impl Stamp {
    /// Checks that the handler saw element `i` (put with seqno `seqno`).
    pub(crate) fn check(&self, seqno: u64, i: usize) -> Res<()> {
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
pub(crate) struct Fifo {
    pub(crate) file: File,
}

impl Fifo {
    pub(crate) fn open(ns: &Path) -> Res<Fifo> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(ns.join("bench.fifo"))
            .ctx("opening bench.fifo")?;
        Ok(Fifo { file })
    }

    /// The next record, waiting at most `timeout`.
    pub(crate) fn read(&mut self, timeout: Duration) -> Res<Stamp> {
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

/// A running `woof-platform` for a row: the tests' daemon helper
/// (tests/util/daemon.rs), with what the rows need on top of it: errors instead of
/// panics at start and stop, its memory, and what it complained about.
pub(crate) struct PlatformProc(util::Platform);

impl PlatformProc {
    /// Starts it on `ns` with `args` and waits for its "serving" line.
    pub(crate) fn start(bin: &Path, ns: &Path, args: &[&str]) -> Res<PlatformProc> {
        let mut cmd = command(bin);
        cmd.arg("-N").arg(ns).args(args).stdin(Stdio::null());
        util::Platform::try_start(cmd)
            .map(PlatformProc)
            .map_err(|e| format!("woof-platform did not start serving: {e}"))
    }

    /// The last lines it printed on stderr, for error messages.
    pub(crate) fn messages(&self) -> String {
        let text = self.0.stderr_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" / ")
    }

    /// Lines on stderr beyond the "serving" line (abnormal handler outcomes, say).
    pub(crate) fn complaints(&self) -> Vec<String> {
        let text = self.0.stderr_text();
        text.lines()
            .filter(|l| !l.contains("serving"))
            .map(str::to_string)
            .collect()
    }

    /// VmRSS, RssAnon and RssFile from /proc/PID/status, in KiB.
    pub(crate) fn rss(&self) -> Res<(u64, u64, u64)> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.0.pid()))
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

    /// SIGTERM, then waits (bounded) for it to exit.
    pub(crate) fn stop(mut self) -> Res<()> {
        let (status, _) = self.0.stop();
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "woof-platform exited with {status}: {}",
                self.messages()
            ))
        }
    }
}

/// A namespace with its trigger log and a woof `ev` of 64 B elements.
pub(crate) struct HandlerNs {
    pub(crate) dir: PathBuf,
    pub(crate) triggers: Woof,
    pub(crate) ev: Woof,
}

impl HandlerNs {
    pub(crate) fn create(root: &Path, name: &str, handler: &Path, history: u64) -> Res<HandlerNs> {
        let dir = handler_namespace(root, name, handler)?;
        let ev = create_woof(&dir, "ev", history, Durability::None)?;
        let triggers = woof::Namespace::open(&dir)
            .and_then(|ns| ns.trigger_log())
            .ctx("opening the trigger log")?;
        Ok(HandlerNs { dir, triggers, ev })
    }

    /// Puts element `i` with a trigger for `handler`; returns (element seqno,
    /// trigger seqno).
    pub(crate) fn put(&self, i: usize, handler: &str) -> woof::Result<(u64, u64)> {
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
    pub(crate) fn put_patiently(&self, i: usize, handler: &str) -> Res<(u64, u64)> {
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
    pub(crate) fn wait_consumed(&self, last: u64, timeout: Duration) -> Res<()> {
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
    pub(crate) fn results(&self) -> Res<Vec<woof::results::RunResult>> {
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
pub(crate) struct Gaps(pub(crate) u64);

impl Gaps {
    pub(crate) fn sleep(&mut self, min: Duration, spread: Duration) {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let spread = spread.as_nanos().max(1) as u64;
        std::thread::sleep(min + Duration::from_nanos((self.0 >> 16) % spread));
    }
}

pub(crate) const HANDLER_START: Spec = Spec {
    op: "put → handler start (static binary, one at a time, puts 2–4 ms apart; `woof-platform --workers 1`)",
    target: "p50 ≤ 0.55 ms and ≤ 1.25× posix_spawn in every one of 5 runs; p99 ≤ 1 ms (C CSPOT: p50 0.69 ms, p99 1.19 ms)",
};

/// Runs of the put → handler start row: the ratio swings with the machine's load,
/// so the target holds for each.
const START_RUNS: usize = 5;

/// One run's put → handler start, its baseline and the breakdown of its p50s.
struct StartRun {
    woof: Stats,
    base: Stats,
    put: Stats,
    wake: Stats,
    exec: Stats,
}

/// `START_RUNS` runs, each on a platform of its own; the row shows the run of
/// median ratio and the ratios' min, median and max.
pub(crate) fn handler_start(platform: &Path, handler: &Path, root: &Path) -> Res<Vec<Row>> {
    let mut runs = Vec::new();
    for r in 0..START_RUNS {
        runs.push(start_run(platform, handler, root, r)?);
    }
    let ratio = |r: &StartRun| r.woof.p50 / r.base.p50;
    runs.sort_by(|a, b| ratio(a).total_cmp(&ratio(b)));
    let mid = &runs[START_RUNS / 2];
    let (min, med, max) = (ratio(&runs[0]), ratio(mid), ratio(&runs[START_RUNS - 1]));
    let met = runs
        .iter()
        .all(|r| ratio(r) <= 1.25 && r.woof.p50 <= 550_000.0 && r.woof.p99 <= 1_000_000.0);
    Ok(vec![Row::measured(
        &HANDLER_START,
        format!(
            "{}; of which: put {}, put → platform claims it {}, claim → handler's main {} (the run of median ratio)",
            mid.woof.show(),
            fmt_ns(mid.put.p50),
            fmt_ns(mid.wake.p50),
            fmt_ns(mid.exec.p50)
        ),
        format!("{} (spawn of the same binary → its main)", mid.base.show()),
        format!(
            "{} posix_spawn (min {}, max {} over {START_RUNS} runs)",
            fmt_times(med),
            fmt_times(min),
            fmt_times(max)
        ),
        met,
    )])
}

/// Put → the handler's first clock read, against spawning the same binary from here
/// (std's `Command::spawn`, posix_spawn) → its first clock read.
fn start_run(platform: &Path, handler: &Path, root: &Path, run: usize) -> Res<StartRun> {
    let hns = HandlerNs::create(root, &format!("h-start-{run}"), handler, RING)?;
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
    Ok(StartRun {
        woof: Stats::of(&mut woof),
        base: Stats::of(&mut base),
        put: Stats::of(&mut put),
        wake: Stats::of(&mut wake),
        exec: Stats::of(&mut exec),
    })
}

pub(crate) const HANDLER_BURST: Spec = Spec {
    op: "burst: 2 000 triggered puts, handler = static no-op binary, until every run is recorded",
    target: "≥ 3.5 k runs/s on 2 cores (C CSPOT: ~2 k/s)",
};

/// 2 000 puts as fast as the library takes them, each triggering the no-op
/// handler; the rate is puts over the time until the platform has recorded every
/// run finished. Against: the same binary spawned and waited for from two threads.
pub(crate) fn handler_burst(platform: &Path, handler: &Path, root: &Path) -> Res<Vec<Row>> {
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
pub(crate) fn spawn_rate(handler: &Path, n: usize) -> Res<f64> {
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

pub(crate) const PERSISTENT: [Spec; 2] = [
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
pub(crate) fn persistent(platform: &Path, handler: &Path, root: &Path) -> Res<Vec<Row>> {
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
    // The floor of any design where a process other than the putter hands the
    // frame over (as woof-platform does): the same handler fed by `cat` relaying
    // our pipe, two wake-ups where the direct pipe has one.
    let mut relay = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ctx("spawning the relay cat")?;
    let relayed = relay.stdout.take().ok_or("no stdout pipe from cat")?;
    let mut via_cat = relay.stdin.take().ok_or("no stdin pipe to cat")?;
    let mut behind = Command::new(handler)
        .env_clear()
        .env("WOOF_HANDLER", "persist")
        .env("WOOF_NAMESPACE", &hns.dir)
        .stdin(Stdio::from(relayed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ctx("spawning the relayed handler")?;

    let mut gaps = Gaps(0x9e37_79b9);
    let (mut woof, mut base, mut floor) = (Vec::new(), Vec::new(), Vec::new());
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

        // The same frame written into the direct pipe, then into the relay.
        for (into, first, samples) in [
            (&mut pipe as &mut dyn Write, 1_000_000, &mut base),
            (&mut via_cat, 2_000_000, &mut floor),
        ] {
            gaps.sleep(PERSIST_GAP_MIN, PERSIST_GAP_SPREAD);
            let seqno = first + k as u64;
            let mut frame = format!("ev {seqno} {ELEM} {k}\n").into_bytes();
            frame.extend_from_slice(&element(i));
            let t0 = woof::now_ns();
            into.write_all(&frame).ctx("writing a frame")?;
            let s = fifo.read(HANDLER_TIMEOUT)?;
            s.check(seqno, i)?;
            if k >= START_WARMUP {
                samples.push(s.clock.saturating_sub(t0) as f64);
            }
            i += 1;
        }
    }
    drop(pipe);
    let _ = direct.wait();
    drop(via_cat);
    let _ = relay.wait();
    let _ = behind.wait();

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

    let (woof, base, floor) = (
        Stats::of(&mut woof),
        Stats::of(&mut base),
        Stats::of(&mut floor),
    );
    // A small C daemon for scale: `tail -F` idle.
    let tail_rss = idle_rss(&hns.dir)?;
    let mb = |kb: u64| format!("{:.1} MB", kb as f64 / 1024.0);
    let growth = after.1 as i64 - warm.1 as i64;
    Ok(vec![
        Row::measured(
            &PERSISTENT[0],
            woof.show(),
            format!(
                "{} (the same handler fed the frame by this process through a pipe); floor with one process between, the pipe relayed by `cat`: {}",
                base.show(),
                floor.show()
            ),
            format!(
                "{} the direct pipe ({} the relayed one; the relay itself: {})",
                fmt_times(woof.p50 / base.p50),
                fmt_times(woof.p50 / floor.p50),
                fmt_times(floor.p50 / base.p50)
            ),
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
pub(crate) fn idle_rss(dir: &Path) -> Res<u64> {
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

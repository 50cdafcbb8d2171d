//! Row 6: follow latency, `woof-tail -f` against `tail -F`.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use woof::Durability;

use super::*;

/// Follow latency: how long one element may take to arrive (samples: see SPACINGS).
pub(crate) const FOLLOW_TIMEOUT: Duration = Duration::from_secs(2);

// Row 6: follow latency
// ---------------------------------------------------------------------------------

/// A following child (`woof-tail -f`, `tail -F`) whose stdout we read; killed on drop.
/// Not the tests' `util::Running`: that one hands lines to a reader thread, and the
/// hop to it would be part of every latency measured here; this reads the pipe
/// itself, with poll, in the timing thread.
pub(crate) struct Follower {
    pub(crate) child: Child,
    pub(crate) out: ChildStdout,
}

impl Follower {
    /// Starts `cmd` with `stdin`; its stderr goes to ours, so a follower that fails
    /// says why.
    pub(crate) fn spawn(mut cmd: Command, stdin: Stdio, what: &str) -> Res<Follower> {
        cmd.stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().ctx(&format!("spawning {what}"))?;
        let out = child.stdout.take().ok_or("no stdout pipe")?;
        Ok(Follower { child, out })
    }

    /// Fills `buf` from the child's stdout; false if `timeout` passes first.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Res<bool> {
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
    pub(crate) fn readable(&self, timeout: Duration) -> Res<bool> {
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
    pub(crate) fn drain(&mut self, quiet: Duration) -> Res<()> {
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
pub(crate) struct Probe<'a> {
    pub(crate) follower: Follower,
    pub(crate) append: Box<dyn FnMut(usize) -> Res<()> + 'a>,
    pub(crate) next: usize,
}

impl<'a> Probe<'a> {
    /// Starts measuring `follower`, once it shows that it is following.
    pub(crate) fn new(
        follower: Follower,
        append: impl FnMut(usize) -> Res<()> + 'a,
    ) -> Res<Probe<'a>> {
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
    pub(crate) fn warm_up(&mut self) -> Res<()> {
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
    pub(crate) fn sample(&mut self) -> Res<f64> {
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
pub(crate) struct Spacing {
    pub(crate) min: Duration,
    pub(crate) spread: Duration,
    pub(crate) samples: usize,
}

pub(crate) const FOLLOW_TARGET: &str = "p50 ≤ 50 µs and ≥ 2× faster than `tail -F`";

/// One row per spacing in SPACINGS.
pub(crate) const FOLLOW: [Spec; 2] = [
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
pub(crate) const SPACINGS: [Spacing; 2] = [
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
pub(crate) fn follow_latencies(probes: &mut [Probe], spacing: &Spacing) -> Res<Vec<Stats>> {
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

pub(crate) fn follow(tail: &Path, ns: &Path) -> Res<Vec<Row>> {
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

pub(crate) const FOLLOW_PIPE: Spec = Spec {
    op: "follow through a live pipe: producer | `woof-put --batch` → `woof-tail -f --format raw` prints it (writes 0.5–2 ms apart)",
    target: "≥ 1.5× faster than producer | `cat >> file` → `tail -F`",
};

/// Spawns `cmd` with its stdin a pipe from here; returns it and the pipe.
fn producer(
    mut cmd: std::process::Command,
    what: &str,
) -> Res<(super::util::Guard, std::process::ChildStdin)> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().ctx(what)?;
    let stdin = child.stdin.take().ok_or("no stdin pipe")?;
    Ok((super::util::Guard(child), stdin))
}

/// The latency a shell pipeline sees: this process writes an element into
/// `woof-put --batch`'s stdin, `woof-tail -f` prints it; against writing the
/// same into `cat >> file` followed by `tail -F`.
pub(crate) fn follow_pipe(tail: &Path, put: &Path, ns: &Path) -> Res<Row> {
    let _w = create_woof(ns, "piped", RING, Durability::None)?;
    let mut cmd = command(put);
    cmd.args(["piped", "--batch", "-N"]).arg(ns);
    let (_put, mut into_put) = producer(cmd, "woof-put --batch")?;
    let mut cmd = command(tail);
    cmd.args(["piped", "-f", "-n", "0", "--format", "raw", "-N"])
        .arg(ns);
    let woof_tail = Follower::spawn(cmd, Stdio::null(), "woof-tail -f")?;
    let write_put = move |i| into_put.write_all(&element(i)).ctx("writing to woof-put");

    let log = ns.join("piped.log");
    std::fs::write(&log, b"").ctx("creating the cat file")?;
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg("exec cat >> \"$0\"").arg(&log);
    let (_cat, mut into_cat) = producer(cmd, "cat >> file")?;
    let mut cmd = command(Path::new("tail"));
    cmd.args(["-F", "-n0"]).arg(&log);
    let tail_f = Follower::spawn(cmd, Stdio::null(), "tail -F")?;
    let write_cat = move |i| into_cat.write_all(&element(i)).ctx("writing to cat");

    // The floor of any pipeline of two processes between the producer and the
    // reader: `cat | cat`, three pipe wake-ups and nothing looked up or stored.
    let (pipe_out, mut pipe_in) = io::pipe().ctx("creating a pipe for cat | cat")?;
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg("cat | cat");
    let cats = Follower::spawn(cmd, pipe_out.into(), "cat | cat")?;
    let write_cats = move |i| pipe_in.write_all(&element(i)).ctx("writing to cat | cat");

    let mut probes = [
        Probe::new(woof_tail, write_put).map_err(|e| format!("woof-put | woof-tail -f: {e}"))?,
        Probe::new(tail_f, write_cat).map_err(|e| format!("cat | tail -F: {e}"))?,
        Probe::new(cats, write_cats).map_err(|e| format!("cat | cat: {e}"))?,
    ];
    let stats = follow_latencies(&mut probes, &SPACINGS[0])?;
    let (woof, base, floor) = (stats[0], stats[1], stats[2]);
    let gain = base.p50 / woof.p50;
    Ok(Row::measured(
        &FOLLOW_PIPE,
        woof.show(),
        format!(
            "{} (producer | `cat >> file`, followed by `tail -F`); floor, producer | `cat | cat`: {} ({} faster than `tail -F`)",
            base.show(),
            floor.show(),
            fmt_times(base.p50 / floor.p50)
        ),
        format!("{} faster than `tail -F`", fmt_times(gain)),
        gain >= 1.5,
    ))
}

// ---------------------------------------------------------------------------------

//! Claiming triggers in log order, running each through a shepherd, recording every
//! outcome, and advancing the persisted watermark that makes delivery at-least-once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use woof::results::Outcome;
use woof::trigger_log::Trigger;
use woof::{Namespace, Woof, now_ns};

use super::books::{self, Books};
use super::launcher::{Launch, Launcher};
use super::output::Tail;
use super::persistent::{self, Done, Persistent};
use super::timer::Timer;
use crate::handler::{self, Job, Limits, Woofs};

/// The persistent handlers, by name.
pub type Feeds = HashMap<String, Arc<Persistent>>;

/// What became of a claimed trigger.
enum Handed {
    /// Run it as a process.
    Process(Trigger),
    /// Written to its persistent handler; what to record now.
    Written(Arc<Persistent>, Done),
}

/// How long a failed run's record waits for its stderr pipe to close, so the last
/// lines are all there.
const STDERR_SETTLE: Duration = Duration::from_millis(200);

/// Times a job no shepherd took is offered again (100 ms apart) before the run is
/// recorded failed.
const LAUNCH_TRIES: u32 = 50;

/// Waits for handler process `pid` (our child: the shepherd that became it was
/// forked as one) to end.
fn wait(pid: i32) -> nix::Result<WaitStatus> {
    loop {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::__WALL)) {
            Err(nix::errno::Errno::EINTR) => {}
            Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return Ok(s),
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
}

/// The workers' side of the platform: claims triggers in log order and runs each
/// as a handler process, or hands it to its persistent handler.
pub struct Platform {
    books: Books,
    /// The namespace directory, absolute.
    dir: PathBuf,
    /// Handlers start from here (a posix_spawn-like start per run), except with
    /// --isolate: then through the launcher shepherd, a single-threaded process.
    limits: Limits,
    /// The woofs handlers read from, kept open.
    woofs: Woofs,
    launcher: Option<Arc<Launcher>>,
    timer: Arc<Timer>,
    timeout: Duration,
    stopping: AtomicBool,
    persistent: Feeds,
}

impl Platform {
    pub fn new(
        ns: Namespace,
        triggers: Woof,
        results: Woof,
        limits: Limits,
        launcher: Option<Arc<Launcher>>,
        timeout: Duration,
        persistent: Feeds,
    ) -> std::io::Result<Platform> {
        let dir = std::fs::canonicalize(ns.dir())?;
        Ok(Platform {
            books: Books::new(ns, triggers, results)?,
            dir,
            limits,
            woofs: Woofs::default(),
            launcher,
            timer: Timer::start(),
            timeout,
            stopping: AtomicBool::new(false),
            persistent,
        })
    }

    /// The books the workers and the persistent handlers' feeders settle runs in.
    pub fn books(&self) -> &Books {
        &self.books
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// One worker: claim the next trigger in log order, run it, repeat.
    pub fn work(&self) {
        while !self.stopping() {
            let claimed = {
                let mut st = self.books.lock();
                if st.next <= self.books.triggers.latest() {
                    st.next += 1;
                    let t = st.next - 1;
                    // Decoded, and written to a persistent handler, under the claim
                    // lock: persistent handlers then see frames in log order.
                    Ok((
                        t,
                        self.books
                            .decode(t)
                            .map(|trig| self.hand_to_persistent(t, trig)),
                    ))
                } else {
                    Err(st.next - 1)
                }
            };
            match claimed {
                Ok((t, Ok(Handed::Process(trig)))) => self.run_process(t, &trig),
                Ok((t, Ok(Handed::Written(h, d)))) => {
                    // The pipe write woke the handler with a "sync" wake-up, which
                    // queues it on this CPU expecting us to sleep soon: with nothing
                    // else to claim, let it run now rather than after the
                    // bookkeeping below (measured: p50 put → handler read ~45 →
                    // ~30 µs). Not in a stream, where it would only slow us down.
                    if self.books.triggers.latest() <= t {
                        std::thread::yield_now();
                    }
                    // Out of the claim lock: the feeder may need it to finish frames.
                    if d.wake {
                        h.wake();
                    }
                    persistent::done(&self.books, d);
                }
                Ok((t, Err(detail))) => {
                    let unknown = books::unknown();
                    self.books
                        .record(t, &unknown, now_ns(), 0, Outcome::Failed, &detail);
                    self.books.finish(t);
                }
                // Sleeps on the trigger log's futex; a put wakes it. The bound only
                // matters at shutdown, for a worker that parks just after the
                // shutdown wake-up went out.
                Err(seen) => {
                    self.books
                        .triggers
                        .wait_after(seen, Some(Duration::from_millis(500)));
                }
            }
        }
    }

    /// Writes a persistent handler's trigger to it, or gives it back to be run as
    /// a process.
    fn hand_to_persistent(&self, t: u64, trig: Trigger) -> Handed {
        match self.persistent.get(&trig.handler) {
            Some(h) => Handed::Written(Arc::clone(h), h.deliver(&self.books, t, trig)),
            None => Handed::Process(trig),
        }
    }

    /// Starts the handler for `job`: here, or through the launcher.
    fn launch(&self, job: &Job) -> std::io::Result<Launch> {
        if let Some(launcher) = &self.launcher {
            return launcher.launch(job);
        }
        Ok(
            match handler::start(&self.books.ns, &self.dir, job, &self.limits, &self.woofs) {
                Ok(s) => Launch::Started {
                    pid: s.pid,
                    stdout: s.stdout,
                    stderr: s.stderr,
                },
                Err((pid, r)) => Launch::Refused {
                    pid,
                    outcome: r.outcome,
                    detail: r.detail,
                },
            },
        )
    }

    fn run_process(&self, t: u64, trig: &Trigger) {
        let start_ns = now_ns();
        let t0 = Instant::now();
        let fail = |outcome: Outcome, detail: &str| {
            self.books.record(
                t,
                trig,
                start_ns,
                t0.elapsed().as_nanos() as u64,
                outcome,
                detail,
            );
            self.books.finish(t);
        };
        let job = Job {
            woof: trig.woof.clone(),
            seqno: trig.seqno,
            handler: trig.handler.clone(),
            trigger: t,
        };
        let mut tries = 0;
        let launched = loop {
            match self.launch(&job) {
                Ok(Launch::NotTaken) if tries < LAUNCH_TRIES && !self.stopping() => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(Launch::NotTaken) => {
                    break Err(
                        "no shepherd took the job (woof-shepherd --serve keeps dying?)".into(),
                    );
                }
                other => break other.map_err(|e| e.to_string()),
            }
        };
        let (pgid, stdout, stderr) = match launched {
            Err(e) => return fail(Outcome::Failed, &format!("shepherd: {e}")),
            Ok(Launch::Refused {
                pid,
                outcome,
                detail,
            }) => {
                if let Some(pid) = pid {
                    let _ = wait(pid);
                }
                return fail(outcome, &detail);
            }
            Ok(Launch::NotTaken) => {
                return fail(Outcome::Failed, "shepherd: no shepherd took the job");
            }
            Ok(Launch::Started {
                pid,
                stdout,
                stderr,
            }) => (pid, stdout, stderr),
        };
        // The exec happened: the child is the handler now.
        self.books.lock().running.insert(t, pgid);
        let label = format!("{}[{}]", trig.handler, trig.seqno);
        let tail = Arc::new(Tail::default());
        self.books.output.add_all([
            (stdout, label.clone(), false, None),
            (stderr, label, true, Some(Arc::clone(&tail))),
        ]);
        self.books
            .record(t, trig, start_ns, 0, Outcome::Started, "");
        let armed = self.timer.arm(Instant::now() + self.timeout, pgid);
        let waited = wait(pgid);
        self.timer.disarm(&armed);
        let killed = {
            let mut st = self.books.lock();
            st.running.remove(&t);
            // Children left behind keep the group alive; remember it for shutdown.
            if killpg(Pid::from_raw(pgid), None).is_ok() {
                st.lingering.push(pgid);
            }
            st.killed.contains(&t)
        };
        self.books.idle.notify_all();
        let outcome = match waited {
            _ if armed.fired.load(Ordering::SeqCst) => Outcome::TimedOut,
            _ if killed => Outcome::Killed,
            Ok(WaitStatus::Exited(_, c)) => Outcome::Exited(c),
            Ok(WaitStatus::Signaled(_, s, _)) => Outcome::Signaled(s as i32),
            _ => Outcome::Failed,
        };
        let mut detail = match outcome {
            Outcome::TimedOut => format!(
                "ran past --timeout {}; its process group was killed",
                humantime::format_duration(self.timeout)
            ),
            Outcome::Killed => {
                "killed at shutdown after the grace period; it runs again at the next start"
                    .to_string()
            }
            _ => String::new(),
        };
        // A failed run says what it said last on stderr (once its pipe closes:
        // at most a moment, unless a child it left behind holds it open).
        if !matches!(outcome, Outcome::Exited(0) | Outcome::Killed) {
            let said = tail.text(STDERR_SETTLE);
            if !said.is_empty() {
                let sep = if detail.is_empty() { "" } else { "; " };
                detail = format!("{detail}{sep}stderr: {said}");
            }
        }
        self.books.record(
            t,
            trig,
            start_ns,
            t0.elapsed().as_nanos() as u64,
            outcome.clone(),
            &detail,
        );
        if outcome != Outcome::Killed {
            self.books.finish(t);
        }
    }

    /// Shutdown: stop claiming, let running handlers finish for `grace`, then kill
    /// what is left (their triggers stay unfinished and run again at the next start).
    pub fn shut_down(&self, grace: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        self.books.triggers.wake_waiters();
        let deadline = Instant::now() + grace;
        let mut st = self.books.lock();
        while !st.running.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let running: Vec<(u64, i32)> = st.running.iter().map(|(t, g)| (*t, *g)).collect();
                for (t, pgid) in running {
                    st.killed.insert(t);
                    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                }
                break;
            }
            st = self
                .books
                .idle
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        for pgid in std::mem::take(&mut st.lingering) {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        drop(st);
        for h in self.persistent.values() {
            h.close();
        }
    }
}

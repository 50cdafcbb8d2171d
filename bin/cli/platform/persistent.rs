//! Persistent handlers (`--persistent HANDLER`): one long-lived process receives
//! every element for HANDLER as a frame on its stdin — a header line
//! `WOOF SEQNO LENGTH TRIGGER\n`, then LENGTH bytes — instead of one process per
//! element.
//!
//! The worker that claims a trigger writes its frame itself, under the claim lock
//! (so frames keep log order), with a non-blocking write: no hand-off to another
//! thread on the way to the handler. What cannot be written at once (the pipe is
//! full, or no process runs) waits in a backlog that the handler's feeder thread
//! writes when the pipe has room; new frames queue behind it.
//!
//! Nothing is lost when the process dies: the feeder counts the bytes written and
//! asks the pipe how many are still unread (FIONREAD), so it knows which frames
//! the handler consumed. A frame counts as delivered (and its trigger finished)
//! once read; when the process dies, every frame it had not fully read is sent
//! again, first, to a new one.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{ErrorKind as IoKind, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use woof::results::Outcome;
use woof::trigger_log::Trigger;
use woof::{ErrorKind, Namespace, Woof, now_ns};

use super::books::{self, Books};

/// How often frames in flight are checked for being read (only while some are).
const SETTLE_EVERY: Duration = Duration::from_millis(20);
/// In-flight frames at which the claiming worker settles them itself, so that a
/// fast stream does not wait for the feeder's next look to advance the watermark.
const SETTLE_AT: usize = 64;
/// Frames settled at once (the rest at the next look, straight after).
const SETTLE_MOST: usize = 256;
/// Consecutive failed starts after which a frame is recorded failed and dropped.
const MAX_STARTS: u32 = 5;

struct Running {
    child: Child,
    /// Our end of its stdin pipe, non-blocking.
    stdin: File,
    /// Bytes written to this process so far.
    written: u64,
    /// The last frame it was known to have read (its end is recorded against it).
    last_read: Option<Queued>,
}

/// A trigger waiting for its frame to be written. Queues hold only this much: the
/// trigger record itself stays in the trigger log until finished, so it is read
/// again when needed, and a stream far ahead of its handler costs little memory.
#[derive(Clone, Copy)]
struct Queued {
    t: u64,
    start_ns: u64,
}

/// A frame written to the process, not yet known to be read.
#[derive(Clone, Copy)]
pub struct Sent {
    t: u64,
    start_ns: u64,
    /// Where the frame ends in the process's byte stream.
    end: u64,
}

/// A trigger that could not become a frame: record it, then finish it.
pub struct Unframed {
    t: u64,
    start_ns: u64,
    outcome: Outcome,
    detail: String,
}

#[derive(Default)]
struct Feed {
    running: Option<Running>,
    in_flight: VecDeque<Sent>,
    /// Not yet written, in claim order.
    backlog: VecDeque<Queued>,
    /// The backlog's first frame once built: its bytes and how many are written.
    current: Option<(Vec<u8>, usize)>,
    /// A write found the process gone.
    broken: bool,
    /// Shutting down: take no more frames.
    closed: bool,
    /// The feeder thread sleeps without a deadline (nothing to settle or write).
    parked: bool,
    failed_starts: u32,
    woofs: HashMap<String, Woof>,
}

/// One persistent handler: its process, its frames, and its feeder thread's
/// wake-up.
pub struct Persistent {
    handler: String,
    feed: Mutex<Feed>,
    cv: Condvar,
}

impl Persistent {
    /// `most`: the most frames that can be outstanding at once (the trigger log's
    /// history: a put waits when the platform is a whole log behind). The queues
    /// get that room up front, so a fast stream never makes them grow, and
    /// reallocate, again (their pages are only touched as they are used).
    pub fn new(handler: &str, most: usize) -> Persistent {
        Persistent {
            handler: handler.to_string(),
            feed: Mutex::new(Feed {
                in_flight: VecDeque::with_capacity(most),
                backlog: VecDeque::with_capacity(most),
                ..Feed::default()
            }),
            cv: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Feed> {
        self.feed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called by the claiming worker, under the claim lock: writes trigger `t`'s
    /// frame (or queues it behind frames not yet written). Returns what the caller
    /// passes to `done` once it has left the claim lock.
    pub fn deliver(&self, p: &Books, t: u64, trig: Trigger) -> Done {
        let mut f = self.lock();
        if f.closed {
            return Done::default(); // shutting down: it runs again at the next start
        }
        let mut out = Done::default();
        let start_ns = now_ns();
        if f.backlog.is_empty() && f.running.is_some() {
            // The usual case: straight into the pipe, no trigger log read again.
            match f.frame(&p.ns, t, trig, start_ns) {
                Ok(bytes) => f.current = Some((bytes, 0)),
                Err(u) => {
                    out.unframed.push(u);
                    return out;
                }
            }
        }
        f.backlog.push_back(Queued { t, start_ns });
        out.unframed = f.flush(p);
        if f.in_flight.len() >= SETTLE_AT {
            out.read = f.settle(SETTLE_MOST);
        }
        out.wake = f.parked && (!f.in_flight.is_empty() || !f.backlog.is_empty() || f.broken);
        out
    }

    /// Wakes the feeder thread (for `Done::wake`).
    pub fn wake(&self) {
        self.cv.notify_one();
    }

    /// Shutdown: no more frames; the feeder stops the process and returns.
    pub fn close(&self) {
        self.lock().closed = true;
        self.cv.notify_one();
    }

    /// The feeder thread: starts the process when frames wait, writes what the
    /// workers could not, settles frames read, restarts the process when it dies.
    pub fn feed(&self, p: &Books, shepherd: &std::path::Path, args: &[String]) {
        loop {
            let mut f = self.lock();
            let dead = f.broken
                || f.running
                    .as_mut()
                    .is_some_and(|r| matches!(r.child.try_wait(), Ok(Some(_))));
            if dead && let Some((child, read, unread)) = f.bury() {
                drop(f);
                buried(p, child, read, unread);
                continue;
            }
            if f.closed {
                let unframed = f.flush(p);
                let read = f.settle(usize::MAX);
                let running = f.running.take();
                drop(f);
                done(
                    p,
                    Done {
                        read,
                        unframed,
                        wake: false,
                    },
                );
                if let Some(r) = running {
                    stop(r);
                }
                return;
            }
            if f.running.is_none() && !f.backlog.is_empty() {
                let backoff = f.failed_starts;
                drop(f);
                if backoff > 0 {
                    std::thread::sleep(Duration::from_millis(100 << backoff.min(4)));
                }
                self.start(p, shepherd, args);
                continue;
            }
            let read = f.settle(SETTLE_MOST);
            if !read.is_empty() {
                drop(f);
                done(
                    p,
                    Done {
                        read,
                        ..Done::default()
                    },
                );
                continue;
            }
            if let Some(fd) = f.waiting_for_room() {
                drop(f);
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
                let _ = poll(&mut fds, PollTimeout::from(SETTLE_EVERY.as_millis() as u16));
                let unframed = self.lock().flush(p);
                done(
                    p,
                    Done {
                        unframed,
                        ..Done::default()
                    },
                );
                continue;
            }
            if f.in_flight.is_empty() {
                f.parked = true;
                let mut f = self.cv.wait(f).unwrap_or_else(|p| p.into_inner());
                f.parked = false;
            } else {
                let _ = self
                    .cv
                    .wait_timeout(f, SETTLE_EVERY)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
    }

    /// Starts the process (outside the lock: workers keep queueing meanwhile),
    /// then writes the backlog to it. After MAX_STARTS failures in a row the
    /// oldest frame is recorded failed and dropped.
    fn start(&self, p: &Books, shepherd: &std::path::Path, args: &[String]) {
        match spawn(p, &self.handler, shepherd, args) {
            Ok(r) => {
                let mut f = self.lock();
                f.running = Some(r);
                let unframed = f.flush(p);
                drop(f);
                done(
                    p,
                    Done {
                        unframed,
                        ..Done::default()
                    },
                );
            }
            Err(e) => {
                let mut f = self.lock();
                f.failed_starts += 1;
                if f.failed_starts < MAX_STARTS {
                    return;
                }
                f.current = None;
                let Some(q) = f.backlog.pop_front() else {
                    return;
                };
                drop(f);
                let detail = format!("cannot start persistent handler: {e}");
                record(p, q.t, q.start_ns, 0, Outcome::Failed, &detail);
                p.finish(q.t);
            }
        }
    }
}

/// What a worker or the feeder hands over to be recorded outside the feed lock.
#[derive(Default)]
pub struct Done {
    read: Vec<Sent>,
    unframed: Vec<Unframed>,
    /// The feeder thread sleeps and now has frames to settle or write: wake it.
    pub wake: bool,
}

impl Feed {
    /// Reads the element and builds trigger `t`'s frame.
    fn frame(
        &mut self,
        ns: &Namespace,
        t: u64,
        trig: Trigger,
        start_ns: u64,
    ) -> Result<Vec<u8>, Unframed> {
        let fail = |outcome: Outcome, detail: String| Unframed {
            t,
            start_ns,
            outcome,
            detail,
        };
        if !self.woofs.contains_key(&trig.woof) {
            match ns.open_woof_readonly(&trig.woof) {
                Ok(w) => {
                    self.woofs.insert(trig.woof.clone(), w);
                }
                Err(e) => return Err(fail(Outcome::Failed, e.to_string())),
            }
        }
        let Some(w) = self.woofs.get(&trig.woof) else {
            return Err(fail(Outcome::Failed, "woof not open".into()));
        };
        let mut bytes =
            format!("{} {} {} {t}\n", trig.woof, trig.seqno, w.element_size()).into_bytes();
        let head = bytes.len();
        bytes.resize(head + w.element_size(), 0);
        if let Err(e) = w.get(trig.seqno, &mut bytes[head..]) {
            let outcome = match e.kind() {
                ErrorKind::Evicted { oldest, .. } => Outcome::Evicted { oldest: *oldest },
                _ => Outcome::Failed,
            };
            let detail = e.within(&trig.woof).to_string();
            return Err(fail(outcome, detail));
        }
        Ok(bytes)
    }

    /// Writes backlog frames, in order, while the pipe takes them. Returns the
    /// triggers that could not be framed (taken off the backlog).
    fn flush(&mut self, p: &Books) -> Vec<Unframed> {
        let mut unframed = Vec::new();
        if self.running.is_none() {
            return unframed;
        }
        while let Some(&q) = self.backlog.front() {
            if self.current.is_none() {
                let built = p
                    .decode(q.t)
                    .map_err(|detail| Unframed {
                        t: q.t,
                        start_ns: q.start_ns,
                        outcome: Outcome::Failed,
                        detail,
                    })
                    .and_then(|trig| self.frame(&p.ns, q.t, trig, q.start_ns));
                match built {
                    Ok(bytes) => self.current = Some((bytes, 0)),
                    Err(u) => {
                        unframed.push(u);
                        self.backlog.pop_front();
                        continue;
                    }
                }
            }
            let (Some(r), Some((bytes, sent))) = (self.running.as_mut(), self.current.as_mut())
            else {
                break;
            };
            match r.stdin.write(&bytes[*sent..]) {
                Ok(n) => {
                    *sent += n;
                    r.written += n as u64;
                    if *sent < bytes.len() {
                        continue;
                    }
                    self.current = None;
                    self.backlog.pop_front();
                    self.in_flight.push_back(Sent {
                        t: q.t,
                        start_ns: q.start_ns,
                        end: r.written,
                    });
                }
                Err(e) if e.kind() == IoKind::Interrupted => {}
                Err(e) if e.kind() == IoKind::WouldBlock => break,
                Err(_) => {
                    self.broken = true; // EPIPE: the feeder buries it
                    break;
                }
            }
        }
        unframed
    }

    /// A copy of the pipe to wait on for room, when frames wait for it.
    fn waiting_for_room(&self) -> Option<OwnedFd> {
        if self.backlog.is_empty() || self.broken {
            return None;
        }
        self.running
            .as_ref()
            .and_then(|r| r.stdin.as_fd().try_clone_to_owned().ok())
    }

    /// Takes the frames the process has read off the in-flight queue.
    /// At most `most` at a time: the list is allocated per call, and a bounded,
    /// small one keeps the allocator from growing the heap for it.
    fn settle(&mut self, most: usize) -> Vec<Sent> {
        let mut read = Vec::new();
        let Some(r) = self.running.as_ref() else {
            return read;
        };
        if let Ok(unread) = woof_process::pipe_unread(r.stdin.as_fd()) {
            let consumed = r.written.saturating_sub(unread as u64);
            while read.len() < most && self.in_flight.front().is_some_and(|f| f.end <= consumed) {
                read.extend(self.in_flight.pop_front());
            }
            self.failed_starts = 0;
        }
        if let (Some(r), Some(last)) = (self.running.as_mut(), read.last()) {
            r.last_read = Some(Queued {
                t: last.t,
                start_ns: last.start_ns,
            });
        }
        read
    }

    /// Takes the dead process: returns it, the frames it read, and the frame to
    /// record its end against; every unread frame goes back to the front of the
    /// backlog.
    fn bury(&mut self) -> Option<(Child, Vec<Sent>, Option<Queued>)> {
        self.broken = false;
        let r = self.running.take()?;
        let unread = woof_process::pipe_unread(r.stdin.as_fd()).unwrap_or(usize::MAX) as u64;
        let consumed = r.written.saturating_sub(unread);
        let mut read = Vec::new();
        // Unread frames go back to the backlog's front, in order (in place: the
        // queues keep the buffers they were given).
        while let Some(f) = self.in_flight.pop_back() {
            if f.end <= consumed {
                read.push(f);
            } else {
                self.backlog.push_front(Queued {
                    t: f.t,
                    start_ns: f.start_ns,
                });
            }
        }
        read.reverse();
        self.current = None;
        let blame = read
            .last()
            .map(|s| Queued {
                t: s.t,
                start_ns: s.start_ns,
            })
            .or(r.last_read)
            .or(self.backlog.front().copied());
        Some((r.child, read, blame))
    }
}

/// Records how a dead process ended (against `blame`: the last frame it read, or
/// the first it did not), and finishes what it read.
fn buried(p: &Books, mut child: Child, read: Vec<Sent>, blame: Option<Queued>) {
    let ended = match child.wait() {
        Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
            (Some(c), _) => Outcome::Exited(c),
            (None, Some(sig)) => Outcome::Signaled(sig),
            _ => Outcome::Failed,
        },
        Err(_) => Outcome::Failed,
    };
    if let Some(q) = blame {
        let detail =
            "persistent handler ended; restarting it (unread frames go to the new instance)";
        record(p, q.t, q.start_ns, 0, ended, detail);
    }
    done(
        p,
        Done {
            read,
            ..Done::default()
        },
    );
}

/// Records frames read as delivered and unframed triggers as what they were, and
/// finishes them all. Outside the feed lock: finishing takes the claim lock, which
/// workers hold while taking the feed lock.
pub fn done(p: &Books, d: Done) {
    for u in d.unframed {
        record(p, u.t, u.start_ns, 0, u.outcome, &u.detail);
        p.finish(u.t);
    }
    for s in d.read {
        let took = now_ns().saturating_sub(s.start_ns);
        record(p, s.t, s.start_ns, took, Outcome::Delivered, "");
        p.finish(s.t);
    }
}

/// Records a result for trigger `t`, read again from the trigger log.
fn record(p: &Books, t: u64, start_ns: u64, took: u64, outcome: Outcome, detail: &str) {
    let trig = p.decode(t).unwrap_or_else(|_| books::unknown());
    p.record(t, &trig, start_ns, took, outcome, detail);
}

fn spawn(
    p: &Books,
    handler: &str,
    shepherd: &std::path::Path,
    args: &[String],
) -> std::io::Result<Running> {
    let mut cmd = Command::new(shepherd);
    cmd.args(args).args(["--persistent", handler]).env_clear();
    let mut child = super::pass_env(&mut cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let label = format!("{handler}[persistent]");
    if let Some(out) = child.stdout.take() {
        p.output.add(out.into(), label.clone(), false);
    }
    if let Some(err) = child.stderr.take() {
        p.output.add(err.into(), label, true);
    }
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
    let stdin = File::from(OwnedFd::from(stdin));
    // Only our end: the handler's stdin stays blocking.
    let flags = fcntl(stdin.as_raw_fd(), FcntlArg::F_GETFL)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(stdin.as_raw_fd(), FcntlArg::F_SETFL(flags))?;
    Ok(Running {
        child,
        stdin,
        written: 0,
        last_read: None,
    })
}

/// End of input is the signal to finish; one that ignores it is killed. Frames
/// still unread stay unfinished and are sent again at the next start.
fn stop(mut r: Running) {
    drop(r.stdin);
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if matches!(r.child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = r.child.kill();
    let _ = r.child.wait();
}

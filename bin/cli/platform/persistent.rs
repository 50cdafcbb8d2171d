//! Persistent handlers (`--persistent HANDLER`): one long-lived process receives
//! every element for HANDLER as a frame on its stdin — a header line
//! `WOOF SEQNO LENGTH TRIGGER\n`, then LENGTH bytes — instead of one process per
//! element.
//!
//! Nothing is lost when it dies: the feeder counts the bytes it wrote and asks the
//! pipe how many are still unread (FIONREAD), so it knows which frames the handler
//! consumed. A frame counts as delivered (and its trigger finished) once read; when
//! the process dies, every frame it had not fully read is sent again to a new one.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::os::fd::AsFd;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use woof::log::Trigger;
use woof::results::Outcome;
use woof::{ErrorKind, Woof, now_ns};

use super::dispatch::Platform;

/// How often frames in flight are checked for being read (only while some are).
const SETTLE_EVERY: Duration = Duration::from_millis(20);
/// Consecutive failed starts after which a frame is recorded failed and dropped.
const MAX_STARTS: u32 = 5;

struct Running {
    child: Child,
    stdin: ChildStdin,
    /// Bytes written to this process so far.
    written: u64,
}

/// A frame and what it is for.
struct Frame {
    t: u64,
    trig: Trigger,
    start_ns: u64,
    bytes: Vec<u8>,
    /// With the running process: where the frame ends in its byte stream.
    end: u64,
}

struct Feeder<'a> {
    p: &'a Platform,
    handler: &'a str,
    shepherd: &'a std::path::Path,
    args: &'a [String],
    running: Option<Running>,
    /// Written, not yet known to be read.
    in_flight: VecDeque<Frame>,
    failed_starts: u32,
}

/// Feeds `handler` every trigger arriving on `rx`, until the channel closes.
pub fn feed(
    p: &Platform,
    handler: &str,
    shepherd: &std::path::Path,
    args: &[String],
    rx: Receiver<(u64, Trigger)>,
) {
    let mut f = Feeder {
        p,
        handler,
        shepherd,
        args,
        running: None,
        in_flight: VecDeque::new(),
        failed_starts: 0,
    };
    let mut woofs: HashMap<String, Woof> = HashMap::new();
    loop {
        let next = if f.in_flight.is_empty() {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(SETTLE_EVERY)
        };
        match next {
            Ok((t, trig)) => {
                if let Some(frame) = frame(p, &mut woofs, t, trig) {
                    f.send(frame);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        f.settle();
    }
    f.stop();
}

/// Reads the element and builds its frame; records and finishes it on failure.
fn frame(p: &Platform, woofs: &mut HashMap<String, Woof>, t: u64, trig: Trigger) -> Option<Frame> {
    let start_ns = now_ns();
    if !woofs.contains_key(&trig.woof) {
        match p.ns.open_woof_readonly(&trig.woof) {
            Ok(w) => {
                woofs.insert(trig.woof.clone(), w);
            }
            Err(e) => {
                p.record(t, &trig, start_ns, 0, Outcome::Failed, &e.to_string());
                p.finish(t);
                return None;
            }
        }
    }
    let w = woofs.get(&trig.woof)?;
    let mut bytes = format!("{} {} {} {t}\n", trig.woof, trig.seqno, w.element_size()).into_bytes();
    let head = bytes.len();
    bytes.resize(head + w.element_size(), 0);
    if let Err(e) = w.get(trig.seqno, &mut bytes[head..]) {
        let outcome = match e.kind() {
            ErrorKind::Evicted { oldest, .. } => Outcome::Evicted { oldest: *oldest },
            _ => Outcome::Failed,
        };
        p.record(
            t,
            &trig,
            start_ns,
            0,
            outcome,
            &e.within(&trig.woof).to_string(),
        );
        p.finish(t);
        return None;
    }
    Some(Frame {
        t,
        trig,
        start_ns,
        bytes,
        end: 0,
    })
}

impl Feeder<'_> {
    fn spawn(&self) -> std::io::Result<Running> {
        let mut cmd = Command::new(self.shepherd);
        cmd.args(self.args)
            .args(["--persistent", self.handler])
            .env_clear();
        let mut child = super::inherit_remote_env(&mut cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let label = format!("{}[persistent]", self.handler);
        if let Some(out) = child.stdout.take() {
            self.p.output.add(out.into(), label.clone(), false);
        }
        if let Some(err) = child.stderr.take() {
            self.p.output.add(err.into(), label, true);
        }
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
        Ok(Running {
            child,
            stdin,
            written: 0,
        })
    }

    /// Writes `frame` to the running process, starting one if needed.
    fn send(&mut self, mut frame: Frame) {
        loop {
            if self.running.is_none() {
                if self.failed_starts > 0 {
                    std::thread::sleep(Duration::from_millis(100 << self.failed_starts.min(4)));
                }
                match self.spawn() {
                    Ok(r) => self.running = Some(r),
                    Err(e) => {
                        self.failed_starts += 1;
                        if self.failed_starts >= MAX_STARTS {
                            let detail = format!("cannot start persistent handler: {e}");
                            self.p.record(
                                frame.t,
                                &frame.trig,
                                frame.start_ns,
                                0,
                                Outcome::Failed,
                                &detail,
                            );
                            self.p.finish(frame.t);
                            return;
                        }
                        continue;
                    }
                }
            }
            let Some(r) = self.running.as_mut() else {
                return;
            };
            if r.stdin
                .write_all(&frame.bytes)
                .and_then(|()| r.stdin.flush())
                .is_ok()
            {
                r.written += frame.bytes.len() as u64;
                frame.end = r.written;
                self.in_flight.push_back(frame);
                return;
            }
            // It died: whatever it had not read goes to the next one, then this frame.
            let mut resend = self.bury();
            resend.push_back(frame);
            for f in resend {
                self.send(f);
            }
            return;
        }
    }

    /// Marks frames the process has read as delivered; notices a dead process.
    fn settle(&mut self) {
        let Some(r) = self.running.as_mut() else {
            return;
        };
        if let Ok(unread) = woof::pipe_unread(r.stdin.as_fd()) {
            let consumed = r.written.saturating_sub(unread as u64);
            while self.in_flight.front().is_some_and(|f| f.end <= consumed) {
                if let Some(f) = self.in_flight.pop_front() {
                    let took = now_ns().saturating_sub(f.start_ns);
                    self.p
                        .record(f.t, &f.trig, f.start_ns, took, Outcome::Delivered, "");
                    self.p.finish(f.t);
                }
            }
            self.failed_starts = 0;
        }
        let dead = matches!(
            self.running.as_mut().map(|r| r.child.try_wait()),
            Some(Ok(Some(_)))
        );
        if dead {
            let resend = self.bury();
            for f in resend {
                self.send(f);
            }
        }
    }

    /// Reaps the running process: records how it ended, and returns the frames it
    /// had not fully read (to be sent again). Frames it did read are delivered.
    fn bury(&mut self) -> VecDeque<Frame> {
        let Some(mut r) = self.running.take() else {
            return VecDeque::new();
        };
        let unread = woof::pipe_unread(r.stdin.as_fd()).unwrap_or(usize::MAX) as u64;
        let consumed = r.written.saturating_sub(unread);
        drop(r.stdin);
        let ended = match r.child.wait() {
            Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(c), _) => Outcome::Exited(c),
                (None, Some(sig)) => Outcome::Signaled(sig),
                _ => Outcome::Failed,
            },
            Err(_) => Outcome::Failed,
        };
        let mut resend = VecDeque::new();
        let mut last_read: Option<&Frame> = None;
        for f in &self.in_flight {
            if f.end <= consumed {
                last_read = Some(f);
            }
        }
        // The process's end is recorded against the last frame it read (or the
        // first it did not, if it read none).
        let blame = last_read.or(self.in_flight.front());
        if let Some(f) = blame {
            let detail =
                "persistent handler ended; restarting it (unread frames go to the new instance)";
            self.p.record(f.t, &f.trig, f.start_ns, 0, ended, detail);
        }
        for f in std::mem::take(&mut self.in_flight) {
            if f.end <= consumed {
                let took = now_ns().saturating_sub(f.start_ns);
                self.p
                    .record(f.t, &f.trig, f.start_ns, took, Outcome::Delivered, "");
                self.p.finish(f.t);
            } else {
                resend.push_back(Frame { end: 0, ..f });
            }
        }
        resend
    }

    /// End of input is the signal to finish; one that ignores it is killed. Frames
    /// still unread stay unfinished and are sent again at the next start.
    fn stop(&mut self) {
        self.settle();
        let Some(mut r) = self.running.take() else {
            return;
        };
        drop(r.stdin);
        for _ in 0..100 {
            if matches!(r.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = r.child.kill();
        let _ = r.child.wait();
    }
}

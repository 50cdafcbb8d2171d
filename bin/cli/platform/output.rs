//! Handler output: every line a handler writes to stdout or stderr appears on the
//! platform's stdout or stderr, prefixed `HANDLER[SEQNO]: `. One thread polls every
//! open pipe; new pipes arrive over a channel, announced through a wake-up pipe.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

struct Stream {
    file: std::fs::File,
    label: String,
    to_stderr: bool,
    partial: Vec<u8>,
    /// Keeps the last lines, for the results of a run that fails.
    tail: Option<Arc<Tail>>,
}

/// The last lines a handler wrote to stderr, kept so that the results log can say
/// why a run failed (`woof-tail --results`), not only that it did.
#[derive(Default)]
pub struct Tail {
    state: Mutex<(VecDeque<String>, bool)>,
    closed: Condvar,
}

impl Tail {
    /// Lines kept, and the bytes kept of each.
    const LINES: usize = 3;
    const WIDTH: usize = 160;

    fn push(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end();
        if text.is_empty() {
            return;
        }
        let cut = text.floor_char_boundary(Self::WIDTH);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.0.len() == Self::LINES {
            st.0.pop_front();
        }
        st.0.push_back(text[..cut].to_string());
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        self.closed.notify_all();
    }

    /// The kept lines joined with " / " once the pipe has closed (the handler and
    /// whatever it started are gone), or what there is after `wait`.
    pub fn text(&self, wait: Duration) -> String {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (st, _) = self
            .closed
            .wait_timeout_while(st, wait, |s| !s.1)
            .unwrap_or_else(|p| p.into_inner());
        st.0.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// Hands pipes to the output thread.
pub struct Output {
    tx: Mutex<Sender<Stream>>,
    wake: Mutex<std::fs::File>,
}

impl Output {
    /// Starts the output thread.
    pub fn start() -> io::Result<Output> {
        let (r, w) = nix::unistd::pipe()?;
        let (tx, rx) = channel();
        std::thread::Builder::new()
            .name("output".into())
            .spawn(move || pump(rx, std::fs::File::from(r)))?;
        Ok(Output {
            tx: Mutex::new(tx),
            wake: Mutex::new(std::fs::File::from(w)),
        })
    }

    /// Prefixes and forwards what `fd` carries until it closes.
    pub fn add(&self, fd: OwnedFd, label: String, to_stderr: bool) {
        self.add_all([(fd, label, to_stderr, None)]);
    }

    /// As `add` for several pipes, with one wake-up of the output thread; a pipe
    /// given a `Tail` also keeps its last lines there.
    pub fn add_all<const N: usize>(&self, pipes: [(OwnedFd, String, bool, Option<Arc<Tail>>); N]) {
        if let Ok(tx) = self.tx.lock() {
            for (fd, label, to_stderr, tail) in pipes {
                let _ = tx.send(Stream {
                    file: std::fs::File::from(fd),
                    label,
                    to_stderr,
                    partial: Vec::new(),
                    tail,
                });
            }
        }
        if let Ok(mut w) = self.wake.lock() {
            let _ = w.write_all(b"x");
        }
    }
}

fn pump(rx: Receiver<Stream>, mut wake: std::fs::File) {
    let mut streams: Vec<Stream> = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let (ready, wake_ready) = {
            let mut fds: Vec<PollFd> = Vec::with_capacity(streams.len() + 1);
            fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
            fds.extend(
                streams
                    .iter()
                    .map(|s| PollFd::new(s.file.as_fd(), PollFlags::POLLIN)),
            );
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue; // EINTR
            }
            let hit = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            let ready: Vec<bool> = fds[1..].iter().map(hit).collect();
            (ready, hit(&fds[0]))
        };
        if wake_ready {
            let _ = wake.read(&mut buf);
            streams.extend(rx.try_iter());
        }
        let mut closed = Vec::new();
        for (i, s) in streams
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| ready.get(*i) == Some(&true))
        {
            match s.file.read(&mut buf) {
                Ok(0) | Err(_) => {
                    if !s.partial.is_empty() {
                        s.partial.push(b'\n');
                        emit(s);
                    }
                    if let Some(t) = &s.tail {
                        t.close();
                    }
                    closed.push(i);
                }
                Ok(n) => {
                    s.partial.extend_from_slice(&buf[..n]);
                    emit(s);
                }
            }
        }
        for i in closed.into_iter().rev() {
            streams.swap_remove(i);
        }
    }
}

/// Writes every complete line of `s.partial`, prefixed; keeps the rest.
fn emit(s: &mut Stream) {
    let Some(end) = s.partial.iter().rposition(|&b| b == b'\n') else {
        return;
    };
    let mut out = Vec::with_capacity(end + 64);
    for line in s.partial[..=end].split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(s.label.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(line);
        if let Some(t) = &s.tail {
            t.push(line);
        }
    }
    s.partial.drain(..=end);
    let _ = if s.to_stderr {
        io::stderr().write_all(&out)
    } else {
        io::stdout().write_all(&out)
    };
}

//! The TCP stream under a connection: buffered reads and whole writes, each bounded by
//! a deadline.
//!
//! Socket timeouts are set from the time left, but only when the one in force is too
//! long (or far shorter than needed): a timeout shorter than the time left merely
//! makes the loop wake up, check the deadline and go on, so the hot path usually makes
//! no `setsockopt` call at all.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::error::NetError;

/// Read buffer size: large enough that a burst of small pipelined replies costs one
/// `read` call.
const READ_BUF: usize = 64 * 1024;

/// Big bodies grow in steps of this much, so a peer that announces a large frame and
/// sends nothing does not make us allocate it all up front.
const GROW_STEP: usize = 1024 * 1024;

pub(crate) struct Wire {
    stream: TcpStream,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

/// The time left before `deadline`, or a timeout error naming what we were doing.
fn time_left(deadline: Instant, doing: &str) -> Result<Duration, NetError> {
    let now = Instant::now();
    if deadline <= now {
        return Err(NetError::Timeout(format!("timed out {doing}")));
    }
    Ok(deadline - now)
}

/// Whether a socket timeout of `current` is fine for `left`: not longer than the time
/// left (we would overshoot the deadline) and not so short that we spin.
fn timeout_fits(current: Option<Duration>, left: Duration) -> bool {
    current.is_some_and(|t| t <= left && t >= left / 2)
}

impl Wire {
    pub(crate) fn new(stream: TcpStream) -> Wire {
        Wire {
            stream,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            pos: 0,
            len: 0,
            read_timeout: None,
            write_timeout: None,
        }
    }

    fn arm_write(&mut self, deadline: Instant, doing: &str) -> Result<(), NetError> {
        let left = time_left(deadline, doing)?;
        if !timeout_fits(self.write_timeout, left) {
            self.stream
                .set_write_timeout(Some(left))
                .map_err(|e| NetError::io(&e, doing))?;
            self.write_timeout = Some(left);
        }
        Ok(())
    }

    /// Fills `out` completely.
    pub(crate) fn read_exact(
        &mut self,
        out: &mut [u8],
        deadline: Instant,
        doing: &str,
    ) -> Result<(), NetError> {
        let mut done = 0;
        while done < out.len() {
            if self.pos < self.len {
                let n = (self.len - self.pos).min(out.len() - done);
                out[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                done += n;
                continue;
            }
            self.pos = 0;
            self.len = 0;
            if out.len() - done >= self.buf.len() {
                done += read_once(
                    &mut self.stream,
                    &mut self.read_timeout,
                    &mut out[done..],
                    deadline,
                    doing,
                )?;
            } else {
                self.len = read_once(
                    &mut self.stream,
                    &mut self.read_timeout,
                    &mut self.buf,
                    deadline,
                    doing,
                )?;
            }
        }
        Ok(())
    }

    /// Whether bytes are there to read, waiting at most until `deadline`. Nothing
    /// is consumed, and running out of time is not an error: the stream stays
    /// usable (a client that has waited long enough for a first reply asks the
    /// host something else meanwhile).
    pub(crate) fn readable(&mut self, deadline: Instant) -> Result<bool, NetError> {
        const DOING: &str = "waiting for a reply";
        if self.pos < self.len {
            return Ok(true);
        }
        loop {
            let Ok(left) = time_left(deadline, DOING) else {
                return Ok(false);
            };
            if !timeout_fits(self.read_timeout, left) {
                self.stream
                    .set_read_timeout(Some(left))
                    .map_err(|e| NetError::io(&e, DOING))?;
                self.read_timeout = Some(left);
            }
            // Ok(0), the peer gone, counts as readable: the read that follows says so.
            match self.stream.peek(&mut [0u8; 1]) {
                Ok(_) => return Ok(true),
                Err(e) if is_retry(&e) => continue,
                Err(e) => return Err(NetError::io(&e, DOING)),
            }
        }
    }

    pub(crate) fn read_u8(&mut self, deadline: Instant, doing: &str) -> Result<u8, NetError> {
        if self.pos < self.len {
            let b = self.buf[self.pos];
            self.pos += 1;
            return Ok(b);
        }
        let mut one = [0u8; 1];
        self.read_exact(&mut one, deadline, doing)?;
        Ok(one[0])
    }

    /// Replaces `out`'s contents with the next `n` bytes, growing it as data arrives.
    pub(crate) fn read_vec(
        &mut self,
        out: &mut Vec<u8>,
        n: usize,
        deadline: Instant,
        doing: &str,
    ) -> Result<(), NetError> {
        out.clear();
        while out.len() < n {
            let start = out.len();
            let step = (n - start).min(GROW_STEP);
            out.resize(start + step, 0);
            self.read_exact(&mut out[start..], deadline, doing)?;
        }
        Ok(())
    }

    /// Writes all of `data`.
    pub(crate) fn write_all(
        &mut self,
        data: &[u8],
        deadline: Instant,
        doing: &str,
    ) -> Result<(), NetError> {
        let mut done = 0;
        while done < data.len() {
            self.arm_write(deadline, doing)?;
            match self.stream.write(&data[done..]) {
                Ok(0) => {
                    return Err(NetError::io(
                        &io::Error::from(io::ErrorKind::WriteZero),
                        doing,
                    ));
                }
                Ok(n) => done += n,
                Err(e) if is_retry(&e) => continue,
                Err(e) => return Err(NetError::io(&e, doing)),
            }
        }
        Ok(())
    }
}

/// One `read` into `dst`, retrying interruptions and socket timeouts until the
/// deadline; end of stream is an error.
fn read_once(
    stream: &mut TcpStream,
    timeout: &mut Option<Duration>,
    dst: &mut [u8],
    deadline: Instant,
    doing: &str,
) -> Result<usize, NetError> {
    loop {
        let left = time_left(deadline, doing)?;
        if !timeout_fits(*timeout, left) {
            stream
                .set_read_timeout(Some(left))
                .map_err(|e| NetError::io(&e, doing))?;
            *timeout = Some(left);
        }
        match stream.read(dst) {
            Ok(0) => {
                return Err(NetError::io(
                    &io::Error::from(io::ErrorKind::UnexpectedEof),
                    doing,
                ));
            }
            Ok(n) => return Ok(n),
            Err(e) if is_retry(&e) => continue,
            Err(e) => return Err(NetError::io(&e, doing)),
        }
    }
}

/// Interrupted calls and socket timeouts go round the loop again: the loop's deadline
/// check decides whether time is really up.
fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

//! Shepherds started ahead of time: each is a `woof-shepherd --serve` blocked on
//! its job socket, so a trigger costs one exec (the handler's) on the critical path
//! instead of two. A background thread keeps the pool full.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// A shepherd waiting for its job.
pub struct Ready {
    pub child: Child,
    pub socket: UnixStream,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

pub struct Pool {
    command: Vec<String>,
    program: PathBuf,
    size: usize,
    ready: Mutex<Vec<Ready>>,
    cv: Condvar,
    stopping: AtomicBool,
}

impl Pool {
    /// Starts the refill thread; `args` are the shepherd's flags (namespace, limits).
    pub fn start(program: PathBuf, args: Vec<String>, size: usize) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            command: args,
            program,
            size,
            ready: Mutex::new(Vec::new()),
            cv: Condvar::new(),
            stopping: AtomicBool::new(false),
        });
        let p = Arc::clone(&pool);
        let _ = std::thread::Builder::new()
            .name("pool".into())
            .spawn(move || p.refill());
        pool
    }

    /// Starts one shepherd now.
    pub fn spawn(&self) -> io::Result<Ready> {
        let (ours, theirs) = UnixStream::pair()?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.command).arg("--serve").env_clear();
        let mut child = super::inherit_remote_env(&mut cmd)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("starting {}: {e}", self.program.display()),
                )
            })?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io::Error::other("shepherd pipes missing"));
        };
        Ok(Ready {
            child,
            socket: ours,
            stdout: out.into(),
            stderr: err.into(),
        })
    }

    /// A ready shepherd: one from the pool, or a fresh one when it is empty. The
    /// pool is not refilled here: call `refill_soon` once the job has started, so
    /// starting the replacement does not compete with the job for the CPU.
    pub fn take(&self) -> io::Result<Ready> {
        let got = self.ready.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match got {
            Some(r) => Ok(r),
            None => self.spawn(),
        }
    }

    /// Lets the refill thread replace what `take` handed out.
    pub fn refill_soon(&self) {
        self.cv.notify_one();
    }

    fn refill(&self) {
        loop {
            {
                let mut ready = self.ready.lock().unwrap_or_else(|p| p.into_inner());
                while ready.len() >= self.size && !self.stopping.load(Ordering::SeqCst) {
                    ready = self.cv.wait(ready).unwrap_or_else(|p| p.into_inner());
                }
                if self.stopping.load(Ordering::SeqCst) {
                    return;
                }
            }
            match self.spawn() {
                Ok(r) => self.ready.lock().unwrap_or_else(|p| p.into_inner()).push(r),
                Err(e) => {
                    eprintln!("woof-platform: {e}");
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        }
    }

    /// Stops refilling and dismisses the waiting shepherds (they read EOF and exit).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.cv.notify_all();
        let idle: Vec<Ready> =
            std::mem::take(&mut *self.ready.lock().unwrap_or_else(|p| p.into_inner()));
        for mut r in idle {
            drop(r.socket);
            let _ = r.child.wait();
        }
    }
}

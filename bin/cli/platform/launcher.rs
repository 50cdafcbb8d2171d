//! Isolated runs (--isolate): Linux namespaces must be entered by a
//! single-threaded process right before exec, never by the platform, so these
//! runs go through one `woof-shepherd --serve` (the launcher), started ahead of
//! time and fed jobs over a socket. It forks a copy of itself per job as our child
//! (CLONE_PARENT), which isolates itself and execs the handler: we wait for each
//! run by pid. A thread starts the launcher again if it dies.

use std::io::{self, IoSlice, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, socketpair,
};
use nix::unistd::pipe2;

use woof::results::Outcome;

use crate::handler::{Job, Refusal};

/// How long to wait before starting a launcher again after one died.
const RESTART_AFTER: Duration = Duration::from_millis(100);

/// What became of a job given to a shepherd.
pub enum Launch {
    /// The handler runs as process `pid` (also its process group).
    Started {
        pid: i32,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// The run stopped before exec (what to record, and why); `pid` is our child
    /// that tried (it has exited), if one was started.
    Refused {
        pid: Option<i32>,
        outcome: Outcome,
        detail: String,
    },
    /// No shepherd took the job (the launcher died with it queued): try again.
    NotTaken,
}

pub struct Launcher {
    command: Vec<String>,
    program: PathBuf,
    /// Our end of the current launcher's job socket.
    jobs: Mutex<Option<Arc<OwnedFd>>>,
    launcher: Mutex<Option<Child>>,
    stopping: AtomicBool,
    watcher: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Launcher {
    /// Starts the launcher (here, in the calling thread: handlers die with the
    /// thread that started it (PDEATHSIG), so call this from the main thread) and
    /// the thread that restarts it. `args` are the shepherd's flags.
    pub fn start(program: PathBuf, args: Vec<String>) -> Arc<Launcher> {
        let launcher = Arc::new(Launcher {
            command: args,
            program,
            jobs: Mutex::new(None),
            launcher: Mutex::new(None),
            stopping: AtomicBool::new(false),
            watcher: Mutex::new(None),
        });
        if let Err(e) = launcher.spawn() {
            eprintln!("woof-platform: {e}");
        }
        let p = Arc::clone(&launcher);
        let watcher = std::thread::Builder::new()
            .name("launcher".into())
            .spawn(move || p.watch());
        *launcher.watcher.lock().unwrap_or_else(|p| p.into_inner()) = watcher.ok();
        launcher
    }

    /// Starts a launcher with a fresh job socket.
    fn spawn(&self) -> io::Result<()> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.command).arg("--serve").env_clear();
        let child = super::pass_env(&mut cmd)
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("starting {}: {e}", self.program.display()),
                )
            })?;
        *self.launcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        *self.jobs.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(ours));
        Ok(())
    }

    /// Restarts the launcher whenever it dies, until `stop`.
    fn watch(&self) {
        loop {
            let child = self
                .launcher
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(mut c) = child {
                let _ = c.wait();
            }
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            // Jobs queued for the dead launcher's copies are dropped with its socket;
            // their workers see the status pipe close and report it.
            self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
            std::thread::sleep(RESTART_AFTER);
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self.spawn() {
                eprintln!("woof-platform: {e}");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }

    /// Gives `job` to a ready shepherd and waits until it has exec'd the handler
    /// (or stopped before).
    pub fn launch(&self, job: &Job) -> io::Result<Launch> {
        let jobs = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| io::Error::other("no shepherd running (restarting)"))?;
        let (status_r, status_w) = pipe2(OFlag::O_CLOEXEC)?;
        let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC)?;
        let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC)?;
        let line = job.line();
        let fds = [status_w.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
        sendmsg::<()>(
            jobs.as_raw_fd(),
            &[IoSlice::new(line.as_bytes())],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(|e| io::Error::other(format!("sending a job to the shepherd: {e}")))?;
        drop((status_w, out_w, err_w, jobs));
        // Sleep until the pipe's last writer is gone: asking for no event but
        // hang-up, an isolated run's `pid` line, written just before its exec,
        // does not wake us a moment too early.
        let mut fds = [PollFd::new(status_r.as_fd(), PollFlags::empty())];
        loop {
            match poll(&mut fds, PollTimeout::NONE) {
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
                Ok(_) => break,
            }
        }
        let mut text = String::new();
        std::fs::File::from(status_r).read_to_string(&mut text)?;
        if text.is_empty() {
            return Ok(Launch::NotTaken);
        }
        let (pid, rest) = match text
            .strip_prefix("pid ")
            .and_then(|t| t.split_once('\n'))
            .and_then(|(pid, rest)| Some((pid.parse::<i32>().ok()?, rest)))
        {
            Some((pid, rest)) => (Some(pid), rest),
            None => (None, text.as_str()),
        };
        match pid {
            Some(pid) if rest.is_empty() => Ok(Launch::Started {
                pid,
                stdout: out_r,
                stderr: err_r,
            }),
            _ => {
                let (outcome, detail) = Refusal::parse_status_line(rest);
                Ok(Launch::Refused {
                    pid,
                    outcome,
                    detail,
                })
            }
        }
    }

    /// Stops restarting and closes the job socket: the launcher and its waiting
    /// copies read end of file and exit.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        let watcher = self
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(w) = watcher {
            let _ = w.join();
        }
    }
}

//! Served mode (`woof-shepherd --serve`, started once by the platform): a zygote.
//! It keeps `--ready` copies of itself forked ahead of time, each waiting for a job
//! on the job socket (its stdin, a SOCK_SEQPACKET socket they all share: each job
//! reaches exactly one). The copy that takes a job prepares the run and execs the
//! handler: a trigger costs one exec and no fork or process start on its critical
//! path, and a replacement costs a fork of this small process, not a whole start.
//!
//! Copies are forked with CLONE_PARENT: they are the platform's children, so the
//! platform waits for each handler itself, and each copy dies with the platform
//! (PDEATHSIG), as the zygote does.
//!
//! A job is one message: the line `WOOF SEQNO HANDLER TRIGGER\n` and three
//! descriptors (SCM_RIGHTS): the status pipe, the handler's stdout and its stderr.
//! On the status pipe the copy writes `pid N\n` just before exec; if it stops
//! before exec it adds `KIND [OLDEST] DETAIL\n` and exits. The exec closes the
//! pipe (close-on-exec), so the platform reads to end of file either way. Each
//! copy that took a job tells the zygote through a pipe, which forks another.

use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use nix::unistd::{Pid, dup2, getppid, pipe2};
use woof::Namespace;

use super::{Args, Job, Refusal, confine, prepare};
use crate::exit::Failure;

/// How long after a copy took a job its replacement is forked (unless none is
/// left): about one handler exec, which the fork would otherwise slow down.
const REFILL_AFTER: Duration = Duration::from_millis(1);
/// How long to wait before forking again after fork failed.
const RETRY_FORK_AFTER: Duration = Duration::from_millis(100);

/// A copy's reporting ends: the status pipe to the platform, the zygote's pipe.
pub struct Served {
    status: File,
    taken: OwnedFd,
    announced: Cell<bool>,
}

impl Served {
    /// Tells the platform our pid and the zygote to fork a replacement. Called
    /// right before exec, or when stopping before it.
    pub fn announce(&self) {
        if self.announced.replace(true) {
            return;
        }
        let _ = (&self.status).write_all(format!("pid {}\n", std::process::id()).as_bytes());
        let _ = nix::unistd::write(&self.taken, b"t");
    }

    fn refuse(&self, r: &Refusal) {
        self.announce();
        let _ = (&self.status).write_all(r.status_line().as_bytes());
    }
}

pub fn serve(args: &Args, ns: &Namespace, dir: &Path) -> Result<(), Failure> {
    // If the platform dies (even by SIGKILL), the zygote and every copy die with it
    // instead of running on unsupervised; triggers run again when it restarts.
    let platform = getppid();
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| Failure::io("prctl", e.into()))?;
    if getppid() != platform {
        return Ok(());
    }
    let _ = super::program(); // looked up once; every copy inherits the answer
    let (taken_r, taken_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| Failure::io("pipe", e.into()))?;
    let mut taken_r = File::from(taken_r);
    let want = usize::from(args.ready.max(1));
    let mut ready = 0;
    // When to fork the copies missing: a while after the first was taken, so the
    // fork does not compete with that handler's exec for the CPU; at once when
    // none is left.
    let mut due: Option<Instant> = None;
    let mut buf = [0u8; 64];
    loop {
        if ready < want {
            let now = Instant::now();
            let at = *due.get_or_insert(now + REFILL_AFTER);
            if ready == 0 || now >= at {
                while ready < want {
                    match woof::fork_sibling() {
                        Ok(Some(_)) => ready += 1,
                        Ok(None) => copy(args, ns, dir, platform, taken_w),
                        Err(e) => {
                            eprintln!("woof-shepherd: fork: {e}");
                            due = Some(now + RETRY_FORK_AFTER);
                            break;
                        }
                    }
                }
                if ready == want {
                    due = None;
                }
            }
        }
        let stdin = std::io::stdin();
        let mut fds = [
            PollFd::new(taken_r.as_fd(), PollFlags::POLLIN),
            PollFd::new(stdin.as_fd(), PollFlags::empty()),
        ];
        // Sleep until a copy takes a job, the platform closes the job socket, or
        // it is time to fork.
        let wait = match due {
            Some(at) => {
                let ms = at.saturating_duration_since(Instant::now()).as_millis();
                PollTimeout::from(ms.clamp(1, 1000) as u16)
            }
            None => PollTimeout::NONE,
        };
        match poll(&mut fds, wait) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Failure::io("poll", e.into())),
        }
        let hit = |f: &PollFd, flags: PollFlags| f.revents().is_some_and(|r| r.intersects(flags));
        if hit(
            &fds[1],
            PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL,
        ) {
            return Ok(()); // the platform is done
        }
        if hit(&fds[0], PollFlags::POLLIN) {
            let n = taken_r.read(&mut buf).unwrap_or(0);
            ready = ready.saturating_sub(n);
        }
    }
}

/// A forked copy: waits for one job, then runs it (never returns).
fn copy(args: &Args, ns: &Namespace, dir: &Path, platform: Pid, taken: OwnedFd) -> ! {
    // Our parent is the platform now; die with it.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != platform {
        std::process::exit(0);
    }
    // Process group and rlimits while waiting, off the critical path.
    let confined = confine(args);
    let mut line = [0u8; 1100];
    let (n, fds) = match woof::recv_with_fds(std::io::stdin().as_fd(), &mut line) {
        Ok((0, _)) => std::process::exit(0), // the platform closed the job socket
        Ok(got) => got,
        Err(e) => {
            eprintln!("woof-shepherd: job: {e}");
            std::process::exit(74);
        }
    };
    let Ok([status, out, err]) = <[OwnedFd; 3]>::try_from(fds) else {
        eprintln!("woof-shepherd: job: expected 3 descriptors");
        std::process::exit(65);
    };
    let served = Served {
        status: File::from(status),
        taken,
        announced: Cell::new(false),
    };
    let job = std::str::from_utf8(&line[..n])
        .map_err(|_| "job line is not UTF-8".to_string())
        .and_then(Job::parse);
    let job = match job {
        Ok(j) => j,
        Err(e) => {
            served.refuse(&Refusal::new("failed", 65, format!("job: {e}")));
            std::process::exit(65);
        }
    };
    for (fd, to) in [(out, 1), (err, 2)] {
        if let Err(e) = dup2(fd.as_raw_fd(), to) {
            served.refuse(&Refusal::new("failed", 71, format!("dup2: {e}")));
            std::process::exit(71);
        }
    }
    let r = confined
        .and_then(|()| prepare(args, ns, dir, &job, Some(&served)))
        .unwrap_or_else(|r| r);
    served.refuse(&r);
    std::process::exit(0);
}

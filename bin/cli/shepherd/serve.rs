//! Served mode (`woof-shepherd --serve`, started once by the platform): a
//! single-threaded launcher. It reads jobs from the job socket (its stdin, a
//! SOCK_SEQPACKET socket), and for each checks the handler, reads the element,
//! and starts the handler the way posix_spawn does (clone with CLONE_VM and
//! CLONE_VFORK: no copy of this process, one exec), with CLONE_PARENT so that the
//! handler is the platform's child and the platform waits for it itself. The new
//! process applies the limits (process group, rlimits, PDEATHSIG, default signals,
//! empty mask, stdin/stdout/stderr, working directory) and execs; nothing runs in
//! it but syscalls (see `woof_process::fork_sibling`).
//!
//! With --isolate a run needs Linux namespaces entered by a single-threaded
//! process right before exec, which that cannot do: the launcher then forks a copy
//! of itself per job (also CLONE_PARENT), and the copy confines and isolates
//! itself and execs, as a shepherd run by hand does.
//!
//! A job is one message: the line `WOOF SEQNO HANDLER TRIGGER\n` and three
//! descriptors (SCM_RIGHTS): the status pipe, the handler's stdout and its stderr.
//! On the status pipe the platform reads, up to end of file: `pid N\n` once the
//! handler process exists, and `KIND [OLDEST] DETAIL\n` if the run stopped before
//! exec (after `pid N` when that process exists and has exited).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::signal::Signal;
use nix::unistd::{Pid, dup2, getppid};
use woof::{ErrorKind, Namespace};

use super::{Args, Job, Refusal, Run, c_string, confine, prepare};
use crate::exit::Failure;
use crate::handler::{Limits, spawn};

/// The status pipe of one job, as the copy that runs an isolated job holds it.
pub struct Served {
    status: File,
    announced: std::cell::Cell<bool>,
}

impl Served {
    /// Tells the platform our pid (once), right before exec.
    pub fn announce(&self) {
        if !self.announced.replace(true) {
            let _ = (&self.status).write_all(format!("pid {}\n", std::process::id()).as_bytes());
        }
    }
}

pub fn serve(args: &Args, ns: &Namespace, dir: &Path) -> Result<(), Failure> {
    // If the platform dies (even by SIGKILL), the launcher dies with it, and so do
    // the handlers (PDEATHSIG, set in each); their triggers run again when it
    // restarts.
    let platform = getppid();
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| Failure::io("prctl", e.into()))?;
    if getppid() != platform {
        return Ok(());
    }
    let dir_c = c_string(dir.display().to_string()).map_err(|r| Failure::new(&r.kind, r.detail))?;
    let mut line = [0u8; 1100];
    loop {
        let (n, fds) = match woof_process::recv_with_fds(std::io::stdin().as_fd(), &mut line) {
            Ok((0, _)) => return Ok(()), // the platform closed the job socket
            Ok(got) => got,
            Err(e) => return Err(Failure::io("job socket", e)),
        };
        let Ok([status, out, err]) = <[OwnedFd; 3]>::try_from(fds) else {
            eprintln!("woof-shepherd: job: expected 3 descriptors");
            continue;
        };
        let mut status = File::from(status);
        let job = std::str::from_utf8(&line[..n])
            .map_err(|_| "job line is not UTF-8".to_string())
            .and_then(Job::parse);
        let job = match job {
            Ok(j) => j,
            Err(e) => {
                let r = Refusal::failed(ErrorKind::BadData, format!("job: {e}"));
                let _ = status.write_all(r.status_line().as_bytes());
                continue;
            }
        };
        let report = if args.isolate {
            match woof_process::fork_sibling() {
                Ok(None) => isolated(args, ns, dir, platform, &job, status, out, err),
                Ok(Some(_)) => continue, // the copy reports
                Err(e) => Refusal::failed(ErrorKind::System, format!("fork: {e}")).status_line(),
            }
        } else {
            launch(args, ns, dir, &dir_c, &job, &out, &err)
        };
        let _ = status.write_all(report.as_bytes());
    }
}

/// Starts the handler for `job`; returns what to write on the status pipe.
fn launch(
    args: &Args,
    ns: &Namespace,
    dir: &Path,
    dir_c: &std::ffi::CStr,
    job: &Job,
    out: &OwnedFd,
    err: &OwnedFd,
) -> String {
    let run = match Run::new(ns, dir, job) {
        Ok(r) => r,
        Err(r) => return r.status_line(),
    };
    let limits = Limits {
        cpu: args.cpu,
        memory: args.memory,
        files: args.files,
        file_size: args.file_size,
    };
    match spawn(&run, dir, dir_c, &limits, out, err, true) {
        Ok(pid) => format!("pid {pid}\n"),
        Err((Some(pid), r)) => format!("pid {pid}\n{}", r.status_line()),
        Err((None, r)) => r.status_line(),
    }
}

/// A forked copy running one isolated job: it confines and isolates itself and
/// execs (never returns).
#[allow(clippy::too_many_arguments)]
fn isolated(
    args: &Args,
    ns: &Namespace,
    dir: &Path,
    platform: Pid,
    job: &Job,
    status: File,
    out: OwnedFd,
    err: OwnedFd,
) -> ! {
    let served = Served {
        status,
        announced: std::cell::Cell::new(false),
    };
    let refuse = |r: Refusal| -> ! {
        served.announce();
        let _ = (&served.status).write_all(r.status_line().as_bytes());
        std::process::exit(0)
    };
    // Our parent is the platform now; die with it.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != platform {
        refuse(Refusal::failed(ErrorKind::System, "the platform is gone"));
    }
    for (fd, to) in [(out, 1), (err, 2)] {
        if let Err(e) = dup2(fd.as_raw_fd(), to) {
            refuse(Refusal::failed(ErrorKind::System, format!("dup2: {e}")));
        }
    }
    let r = confine(args)
        .and_then(|()| prepare(args, ns, dir, job, Some(&served)))
        .unwrap_or_else(|r| r);
    refuse(r)
}

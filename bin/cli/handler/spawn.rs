//! Starting a handler the way posix_spawn does (`woof_process::spawn`: one exec, no copy
//! of the starting process), with everything a shepherd applies: its own process
//! group, the rlimits, death with its parent, default signals and an empty mask,
//! the element on stdin, the namespace as working directory, a clean environment.
//! Everything but Linux namespaces (--isolate), which need a single-threaded
//! process of their own. Used by the platform, for each run, and by the launcher.

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use woof::{ErrorKind, Namespace, Woof};
use woof_process::{SpawnPlan, SpawnStep};

use super::{Job, Refusal, Run, c_string, environment, exec_failed, parse_size};

/// The rlimits a handler runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub cpu: u64,
    pub memory: u64,
    pub files: u64,
    pub file_size: u64,
}

impl Limits {
    /// CPU seconds and address space as given, files and file size the shepherd's
    /// defaults.
    pub fn new(cpu: u64, memory: u64) -> Limits {
        Limits {
            cpu,
            memory,
            files: super::FILES_DEFAULT.parse().unwrap_or(1024),
            file_size: parse_size(super::FILE_SIZE_DEFAULT).unwrap_or(16 << 30),
        }
    }
}

/// A handler process started by `start`: our child, and its process group.
pub struct Started {
    pub pid: i32,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Why a run stopped before exec, and the pid of the process that tried (it has
/// exited; reap it), if one was started.
pub type Stopped = (Option<i32>, Refusal);

/// Woofs kept open between runs: opening one maps it, and unmapping costs every
/// CPU a TLB flush in a multi-threaded process. A name is opened again when it
/// names another file (`woof-create --force` renames a new one into place).
#[derive(Default)]
pub struct Woofs(Mutex<HashMap<String, (Arc<Woof>, FileId)>>);

/// (device, inode): which file a name named when it was opened.
type FileId = (u64, u64);

impl Woofs {
    fn get(&self, ns: &Namespace, name: &str) -> woof::Result<Arc<Woof>> {
        let path = ns.woof_path(name)?;
        let id = std::fs::metadata(&path).map(|m| (m.dev(), m.ino())).ok();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(id), Some((w, had))) = (id, map.get(name))
            && *had == id
        {
            return Ok(Arc::clone(w));
        }
        map.remove(name);
        let w = Arc::new(ns.open_woof_readonly(name)?);
        if let Some(id) = id {
            map.insert(name.to_string(), (Arc::clone(&w), id));
        }
        Ok(w)
    }
}

/// Starts the handler for `job` as our child, with stdout and stderr on new pipes.
pub fn start(
    ns: &Namespace,
    dir: &Path,
    job: &Job,
    limits: &Limits,
    woofs: &Woofs,
) -> Result<Started, Stopped> {
    let failed = |e: nix::Error| {
        (
            None,
            Refusal::failed(ErrorKind::System, format!("pipe: {e}")),
        )
    };
    let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).map_err(failed)?;
    let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).map_err(failed)?;
    let handler = Run::handler(ns, job).map_err(|r| (None, r))?;
    let woof = woofs
        .get(ns, &job.woof)
        .map_err(|e| (None, Run::unopened(e)))?;
    let run = Run::read(handler, &woof, dir, job).map_err(|r| (None, r))?;
    let dir_c = c_string(dir.display().to_string()).map_err(|r| (None, r))?;
    let pid = spawn(&run, dir, &dir_c, limits, &out_w, &err_w, false)?;
    Ok(Started {
        pid,
        stdout: out_r,
        stderr: err_r,
    })
}

/// Starts `run` with `out` and `err` as its stdout and stderr, as our child or
/// (`sibling`) our parent's. Returns its pid.
pub fn spawn(
    run: &Run,
    dir: &Path,
    dir_c: &CStr,
    limits: &Limits,
    out: &OwnedFd,
    err: &OwnedFd,
    sibling: bool,
) -> Result<i32, Stopped> {
    let envp = environment(&run.env).map_err(|r| (None, r))?;
    let program = c_string(run.handler.display().to_string()).map_err(|r| (None, r))?;
    let envp: Vec<&CStr> = envp.iter().map(|c| c.as_c_str()).collect();
    let plan = SpawnPlan {
        program: &program,
        argv: &[&program],
        envp: &envp,
        dir: dir_c,
        fds: &[(run.stdin.as_fd(), 0), (out.as_fd(), 1), (err.as_fd(), 2)],
        rlimits: &[
            (nix::libc::RLIMIT_CPU as i32, limits.cpu),
            (nix::libc::RLIMIT_AS as i32, limits.memory),
            (nix::libc::RLIMIT_NOFILE as i32, limits.files),
            (nix::libc::RLIMIT_FSIZE as i32, limits.file_size),
        ],
        sibling,
    };
    match woof_process::spawn(&plan) {
        Ok((pid, None)) => Ok(pid as i32),
        Ok((pid, Some((step, e)))) => {
            let errno = nix::Error::from_raw(e.raw_os_error().unwrap_or(0));
            let r = match step {
                SpawnStep::Exec => exec_failed(&run.handler, errno),
                SpawnStep::Parent => Refusal::failed(ErrorKind::System, "the platform is gone"),
                SpawnStep::ProcessGroup => {
                    Refusal::failed(ErrorKind::System, format!("setpgid: {e}"))
                }
                SpawnStep::Rlimit => Refusal::failed(ErrorKind::System, format!("setrlimit: {e}")),
                SpawnStep::Descriptors => Refusal::failed(ErrorKind::System, format!("dup2: {e}")),
                SpawnStep::Directory => {
                    Refusal::failed(ErrorKind::Io, format!("chdir {}: {e}", dir.display()))
                }
            };
            Err((Some(pid as i32), r))
        }
        Err(e) => Err((
            None,
            Refusal::failed(ErrorKind::System, format!("clone: {e}")),
        )),
    }
}

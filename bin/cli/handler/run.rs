//! What one run of a handler needs, however it is started: the checked handler, its
//! stdin (the element in a sealed memfd), its environment (DESIGN §4), and why an
//! exec failed, as the platform records it.

use std::ffi::CString;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MemFdCreateFlag, memfd_create};
use woof::results::Outcome;
use woof::{ErrorKind, Namespace};

use super::{Job, Refusal};

/// What one run of a handler needs: the handler, its stdin (the element in a
/// sealed memfd) and its WOOF_* environment.
pub struct Run {
    pub handler: PathBuf,
    pub stdin: OwnedFd,
    pub env: Vec<(&'static str, String)>,
}

impl Run {
    /// Checks the handler and reads the element (refusing: missing, evicted …).
    pub fn new(ns: &Namespace, dir: &Path, job: &Job) -> Result<Run, Refusal> {
        let handler = Run::handler(ns, job)?;
        let woof = ns.open_woof_readonly(&job.woof).map_err(Run::unopened)?;
        Run::read(handler, &woof, dir, job)
    }

    /// The handler's checked path.
    pub fn handler(ns: &Namespace, job: &Job) -> Result<PathBuf, Refusal> {
        ns.handler_path(&job.handler).map_err(|e| match e.kind() {
            ErrorKind::BadName => Refusal::failed(ErrorKind::BadName, e.to_string()),
            ErrorKind::NotFound => Refusal::missing(ErrorKind::NotFound, e.to_string()),
            _ => Refusal::missing(ErrorKind::Denied, e.to_string()),
        })
    }

    pub fn unopened(e: woof::Error) -> Refusal {
        Refusal::failed(e.kind().clone(), e.to_string())
    }

    /// Reads the element from `woof` and sets up the run.
    pub fn read(
        handler: PathBuf,
        woof: &woof::Woof,
        dir: &Path,
        job: &Job,
    ) -> Result<Run, Refusal> {
        let mut buf = vec![0u8; woof.element_size()];
        let el = match woof.get(job.seqno, &mut buf) {
            Ok(el) => el,
            Err(e) => {
                let kind = e.kind().clone();
                let msg = e.within(&job.woof).to_string();
                return Err(match kind {
                    ErrorKind::Evicted { oldest, .. } => Refusal {
                        outcome: Outcome::Evicted { oldest },
                        detail: format!(
                            "{msg}: the woof wrapped before the handler ran; enlarge its history (now {})",
                            woof.history()
                        ),
                        kind,
                    },
                    _ => Refusal::failed(kind, msg),
                });
            }
        };
        let stdin = sealed_memfd(&buf)
            .map_err(|e| Refusal::failed(ErrorKind::Io, format!("element memfd: {e}")))?;
        let cause = match job.trigger {
            0 => format!("{}#-", dir.display()),
            t => format!("{}#{t}", dir.display()),
        };
        let env = vec![
            ("WOOF_NAMESPACE", dir.display().to_string()),
            ("WOOF_NAME", job.woof.clone()),
            ("WOOF_SEQNO", el.seqno.to_string()),
            ("WOOF_HANDLER", job.handler.clone()),
            ("WOOF_ELEMENT_SIZE", woof.element_size().to_string()),
            ("WOOF_TIMESTAMP", el.time_ns.to_string()),
            ("WOOF_CAUSE", cause),
        ];
        Ok(Run {
            handler,
            stdin,
            env,
        })
    }
}

pub fn c_string(s: String) -> Result<CString, Refusal> {
    CString::new(s).map_err(|_| Refusal::failed(ErrorKind::BadData, "NUL in the environment"))
}

/// The handler's whole environment: PATH, then `env`.
pub fn environment(env: &[(&str, String)]) -> Result<Vec<CString>, Refusal> {
    // The woof tools first, so a handler can woof-put wherever they are installed;
    // never an empty entry (that would put the namespace directory on PATH).
    let tools = tools_dir()
        .map(|d| format!("{}:", d.display()))
        .unwrap_or_default();
    let mut envp = vec![c_string(format!(
        "PATH={tools}/usr/local/bin:/usr/bin:/bin"
    ))?];
    for (k, v) in env {
        envp.push(c_string(format!("{k}={v}"))?);
    }
    // HOME, LANG, the remote settings and --env (see env.rs).
    for (k, v) in super::env::passed() {
        envp.push(c_string(format!("{k}={v}"))?);
    }
    Ok(envp)
}

/// Why exec'ing `handler` failed, as the platform records it.
pub fn exec_failed(handler: &Path, e: nix::Error) -> Refusal {
    let detail = format!("exec {}: {}", handler.display(), e.desc().to_lowercase());
    match e {
        nix::Error::EACCES => Refusal::missing(ErrorKind::Denied, detail),
        nix::Error::ENOENT => Refusal::missing(ErrorKind::System, detail),
        _ => Refusal::failed(ErrorKind::System, detail),
    }
}

/// The element in a sealed memfd positioned at 0: the handler reads exactly the
/// element and cannot change what other readers would see.
fn sealed_memfd(data: &[u8]) -> std::io::Result<OwnedFd> {
    let fd = memfd_create(
        c"woof-element",
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )?;
    let mut f = File::from(fd);
    f.write_all(data)?;
    f.seek(SeekFrom::Start(0))?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(f.as_raw_fd(), FcntlArg::F_ADD_SEALS(seals))?;
    Ok(OwnedFd::from(f))
}

/// The directory the running woof tool was installed in (the others are beside
/// it), absolute; None when the kernel cannot say.
pub fn tools_dir() -> Option<PathBuf> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .filter(|d| d.is_absolute() && !d.as_os_str().to_string_lossy().contains(':'))
    })
    .clone()
}

//! `woof-shepherd`: runs ONE handler invocation. It checks the element is still
//! there, puts it on the handler's stdin (a sealed memfd), sets the environment
//! contract (DESIGN §4), a new process group, rlimits, the working directory and
//! optionally Linux namespaces, then execs the handler: the shepherd process becomes
//! the handler, so the platform's child *is* the run.
//!
//! Three modes: by hand (`woof-shepherd WOOF SEQNO HANDLER`, for debugging), served
//! (`--serve`: the platform's launcher for isolated runs, see serve.rs), and
//! persistent (`--persistent HANDLER`: exec the handler with stdin left as is, for
//! a stream of framed elements). The platform starts non-isolated runs itself with
//! the same setup (spawn.rs), posix_spawn-style.

mod isolate;
mod job;
mod serve;
mod spawn;

use std::ffi::CString;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use clap::Parser;
use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MemFdCreateFlag, memfd_create};
use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::{Pid, dup2, execve, setpgid};
use woof::results::Outcome;
use woof::{ErrorKind, Namespace};

pub use job::Job;
pub use spawn::{Limits, Started, Woofs, start};

use crate::exit::Failure;

const EXAMPLES: &str = "\
Examples:
  woof-shepherd hello 1 hw              run handlers/hw on element 1 of hello, by hand
  woof-shepherd hello 1 hw --isolate    the same with no network and a read-only system
  woof-shepherd hello 1 hw --cpu 5 --memory 256M";

/// Run one handler invocation with its environment and limits (used by woof-platform).
///
/// The handler gets the element on stdin (exactly the element size), the environment
/// WOOF_NAMESPACE, WOOF_NAME, WOOF_SEQNO, WOOF_HANDLER, WOOF_ELEMENT_SIZE,
/// WOOF_TIMESTAMP, WOOF_CAUSE and PATH, its own process group, the namespace as its
/// working directory, and the rlimits below. If the element was overwritten before
/// the handler could run, the handler is not run (exit 66, "evicted").
#[derive(Debug, Clone, Parser)]
#[command(name = "woof-shepherd", version, after_help = EXAMPLES)]
pub struct Args {
    /// Woof holding the element (by hand)
    #[arg(required_unless_present_any = ["serve", "persistent"])]
    pub woof: Option<String>,
    /// Seqno of the element
    #[arg(required_unless_present_any = ["serve", "persistent"])]
    pub seqno: Option<u64>,
    /// Handler to run (an executable in the namespace's handlers/)
    #[arg(required_unless_present_any = ["serve", "persistent"])]
    pub handler: Option<String>,
    /// Trigger seqno this run serves (names the run in WOOF_CAUSE)
    #[arg(long, value_name = "SEQNO")]
    pub trigger: Option<u64>,
    /// Serve the platform: run the jobs it sends on stdin (internal)
    #[arg(long, hide = true, conflicts_with_all = ["woof", "persistent"])]
    pub serve: bool,
    /// Exec HANDLER as a persistent handler, reading framed elements on stdin
    #[arg(long, value_name = "HANDLER", conflicts_with = "woof")]
    pub persistent: Option<String>,
    /// CPU time limit (RLIMIT_CPU), seconds
    #[arg(long, value_name = "SECONDS", default_value = "300")]
    pub cpu: u64,
    /// Address-space limit (RLIMIT_AS), bytes with optional K/M/G suffix
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_size)]
    pub memory: u64,
    /// Open files limit (RLIMIT_NOFILE)
    #[arg(long, value_name = "N", default_value = FILES_DEFAULT)]
    pub files: u64,
    /// Largest file the handler may write (RLIMIT_FSIZE), bytes with K/M/G suffix
    #[arg(long, value_name = "BYTES", default_value = FILE_SIZE_DEFAULT, value_parser = parse_size)]
    pub file_size: u64,
    /// Run in new user, mount and network namespaces: no network, private /tmp,
    /// everything but the namespace directory read-only. Fails if the kernel refuses.
    #[arg(long)]
    pub isolate: bool,
    #[command(flatten)]
    pub ns: crate::target::NamespaceArg,
}

const FILES_DEFAULT: &str = "1024";
const FILE_SIZE_DEFAULT: &str = "16G";

/// Parses `123`, `64K`, `256M`, `4G`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&s[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("'{s}' is not a size (a number with an optional K, M or G)"))
}

/// Why a run did not reach exec: what the platform records (failed, missing or
/// evicted), why as an error kind (a one-shot shepherd exits with its code), and
/// the detail.
#[derive(Debug)]
pub struct Refusal {
    pub outcome: Outcome,
    pub kind: ErrorKind,
    pub detail: String,
}

impl Refusal {
    /// The run failed: the handler is there, something else went wrong.
    pub fn failed(kind: ErrorKind, detail: impl Into<String>) -> Refusal {
        Refusal {
            outcome: Outcome::Failed,
            kind,
            detail: detail.into(),
        }
    }

    /// The handler is missing (or cannot be executed).
    pub fn missing(kind: ErrorKind, detail: impl Into<String>) -> Refusal {
        Refusal {
            outcome: Outcome::Missing,
            kind,
            detail: detail.into(),
        }
    }

    /// The exit code of a one-shot shepherd that refused.
    pub fn code(&self) -> u8 {
        self.kind.exit_code() as u8
    }

    /// The line a served shepherd reports: `KIND [OLDEST] DETAIL`.
    pub fn status_line(&self) -> String {
        let detail = self.detail.replace('\n', " ");
        match self.outcome {
            Outcome::Evicted { oldest } => format!("evicted {oldest} {detail}\n"),
            _ => format!("{} {detail}\n", self.outcome.name()),
        }
    }

    /// What the platform records from a served shepherd's `status_line`.
    pub fn parse_status_line(line: &str) -> (Outcome, String) {
        let line = line.trim_end();
        let (kind, detail) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "evicted" => {
                let (oldest, rest) = detail.split_once(' ').unwrap_or(("0", detail));
                let oldest = oldest.parse().unwrap_or(0);
                (Outcome::Evicted { oldest }, rest.to_string())
            }
            "missing" => (Outcome::Missing, detail.to_string()),
            _ => (Outcome::Failed, detail.to_string()),
        }
    }
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ns = args.ns.open()?;
    let dir = std::fs::canonicalize(ns.dir()).map_err(|e| Failure::io("namespace", e))?;
    if args.serve {
        return serve::serve(&args, &ns, &dir);
    }
    let refused = match &args.persistent {
        Some(h) => confine(&args).and_then(|()| prepare_persistent(&args, &ns, &dir, h)),
        None => {
            let job = Job {
                woof: args.woof.clone().unwrap_or_default(),
                seqno: args.seqno.unwrap_or_default(),
                handler: args.handler.clone().unwrap_or_default(),
                trigger: args.trigger.unwrap_or(0),
            };
            confine(&args).and_then(|()| prepare(&args, &ns, &dir, &job, None))
        }
    };
    // Only returns on failure: success is the exec.
    let r = refused.unwrap_or_else(|r| r);
    Err(Failure::new(&r.kind, r.detail))
}

/// Its own process group (so a timeout or shutdown reaches every process the
/// handler starts) and the rlimits. A served shepherd does this while it waits for
/// its job, off the critical path.
fn confine(args: &Args) -> Result<(), Refusal> {
    let failed = |what: &str, e: nix::Error| {
        Refusal::failed(
            ErrorKind::System,
            format!("{what}: {}", e.desc().to_lowercase()),
        )
    };
    setpgid(Pid::from_raw(0), Pid::from_raw(0)).map_err(|e| failed("setpgid", e))?;
    for (res, limit) in [
        (Resource::RLIMIT_CPU, args.cpu),
        (Resource::RLIMIT_AS, args.memory),
        (Resource::RLIMIT_NOFILE, args.files),
        (Resource::RLIMIT_FSIZE, args.file_size),
    ] {
        setrlimit(res, limit, limit).map_err(|e| failed(&format!("setrlimit {res:?}"), e))?;
    }
    Ok(())
}

/// Sets everything up and execs; returns only on failure.
fn prepare(
    args: &Args,
    ns: &Namespace,
    dir: &Path,
    job: &Job,
    served: Option<&serve::Served>,
) -> Result<Refusal, Refusal> {
    let run = Run::new(ns, dir, job)?;
    dup2(run.stdin.as_raw_fd(), 0)
        .map_err(|e| Refusal::failed(ErrorKind::System, format!("stdin: {e}")))?;
    drop(run.stdin);
    exec(args, dir, &run.handler, &run.env, served)
}

/// What one run of a handler needs: the handler, its stdin (the element in a
/// sealed memfd) and its WOOF_* environment.
pub struct Run {
    handler: PathBuf,
    stdin: OwnedFd,
    env: Vec<(&'static str, String)>,
}

impl Run {
    /// Checks the handler and reads the element (refusing: missing, evicted …).
    fn new(ns: &Namespace, dir: &Path, job: &Job) -> Result<Run, Refusal> {
        let handler = Run::handler(ns, job)?;
        let woof = ns.open_woof_readonly(&job.woof).map_err(Run::unopened)?;
        Run::read(handler, &woof, dir, job)
    }

    /// The handler's checked path.
    fn handler(ns: &Namespace, job: &Job) -> Result<PathBuf, Refusal> {
        ns.handler_path(&job.handler).map_err(|e| match e.kind() {
            ErrorKind::BadName => Refusal::failed(ErrorKind::BadName, e.to_string()),
            ErrorKind::NotFound => Refusal::missing(ErrorKind::NotFound, e.to_string()),
            _ => Refusal::missing(ErrorKind::Denied, e.to_string()),
        })
    }

    fn unopened(e: woof::Error) -> Refusal {
        Refusal::failed(e.kind().clone(), e.to_string())
    }

    /// Reads the element from `woof` and sets up the run.
    fn read(handler: PathBuf, woof: &woof::Woof, dir: &Path, job: &Job) -> Result<Run, Refusal> {
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

fn prepare_persistent(
    args: &Args,
    ns: &Namespace,
    dir: &Path,
    handler: &str,
) -> Result<Refusal, Refusal> {
    let path = ns
        .handler_path(handler)
        .map_err(|e| Refusal::missing(e.kind().clone(), e.to_string()))?;
    let env = [
        ("WOOF_NAMESPACE", dir.display().to_string()),
        ("WOOF_HANDLER", handler.to_string()),
        ("WOOF_PERSISTENT", "1".to_string()),
        ("WOOF_CAUSE", format!("{}#persistent", dir.display())),
    ];
    exec(args, dir, &path, &env, None)
}

/// Process group, limits, directory, isolation, clean environment, exec.
fn exec(
    args: &Args,
    dir: &Path,
    handler: &Path,
    env: &[(&str, String)],
    served: Option<&serve::Served>,
) -> Result<Refusal, Refusal> {
    if args.isolate {
        isolate::enter(dir, tools_dir().as_deref()).map_err(|e| {
            Refusal::failed(
                ErrorKind::System,
                format!("--isolate refused by the kernel: {e}"),
            )
        })?;
    }
    // After isolation's mounts, so the namespace directory is the one in view.
    std::env::set_current_dir(dir)
        .map_err(|e| Refusal::failed(ErrorKind::Io, format!("chdir {}: {e}", dir.display())))?;
    let envp = environment(env)?;
    let path = c_string(handler.display().to_string())?;
    let argv = [path.clone()];
    woof_process::default_signals();
    // The platform blocks SIGTERM, SIGINT and SIGHUP (it takes them with sigwait) and
    // a spawned child inherits that mask: unblock everything, or the handler (and
    // whatever it starts) could never be stopped by those signals.
    let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
    if let Some(s) = served {
        s.announce();
    }
    let e = execve(&path, &argv, &envp)
        .err()
        .unwrap_or(nix::Error::UnknownErrno);
    Err(exec_failed(handler, e))
}

fn c_string(s: String) -> Result<CString, Refusal> {
    CString::new(s).map_err(|_| Refusal::failed(ErrorKind::BadData, "NUL in the environment"))
}

/// The handler's whole environment: PATH, then `env`.
fn environment(env: &[(&str, String)]) -> Result<Vec<CString>, Refusal> {
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
    // Handlers that put to other hosts reach them as the platform was told to.
    for k in ["WOOF_KEYS", "WOOF_TIMEOUT"] {
        if let Some(v) = std::env::var_os(k) {
            envp.push(c_string(format!("{k}={}", v.to_string_lossy()))?);
        }
    }
    Ok(envp)
}

/// Why exec'ing `handler` failed, as the platform records it.
fn exec_failed(handler: &Path, e: nix::Error) -> Refusal {
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

/// Where woof-shepherd is: beside the running binary, else on PATH.
pub fn program() -> PathBuf {
    tools_dir()
        .map(|d| d.join("woof-shepherd"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("woof-shepherd"))
}

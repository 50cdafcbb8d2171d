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
//! the same setup, posix_spawn-style (`crate::handler`, which this tool uses too).

mod serve;

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use clap::Parser;
use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::{Pid, dup2, execve, setpgid};
use woof::{ErrorKind, Namespace};

use crate::handler::{
    FILE_SIZE_DEFAULT, FILES_DEFAULT, Job, Refusal, Run, c_string, environment, exec_failed,
    isolate, parse_size, tools_dir,
};

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
/// WOOF_TIMESTAMP, WOOF_CAUSE and PATH (the woof tools' directory first), HOME,
/// LANG, WOOF_KEYS and WOOF_TIMEOUT when set, and what --env names, and nothing else
/// of the shepherd's environment; its own process group, the namespace as its
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
    /// Pass variable NAME to the handler, with VALUE or the shepherd's own
    /// (repeatable; HOME, LANG, WOOF_KEYS and WOOF_TIMEOUT are passed when set)
    #[arg(long = "env", value_name = "NAME[=VALUE]", value_parser = crate::handler::env::parse)]
    pub env: Vec<crate::handler::env::EnvArg>,
    #[command(flatten)]
    pub ns: crate::target::NamespaceArg,
}

pub fn run(args: Args) -> Result<(), Failure> {
    crate::handler::env::settle(&args.env);
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

/// Where woof-shepherd is: beside the running binary, else on PATH.
pub fn program() -> PathBuf {
    tools_dir()
        .map(|d| d.join("woof-shepherd"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("woof-shepherd"))
}

//! `woof-platform`: the namespace daemon. It follows the trigger log, runs each
//! trigger's handler through a shepherd (up to --workers at once), records every
//! outcome in the results log, and persists how far it got, so that delivery is
//! at-least-once across crashes and restarts.

mod books;
mod dispatch;
mod launcher;
mod ledger;
mod output;
mod persistent;
mod status;
mod timer;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use woof::{Error, ErrorKind, Namespace};

use crate::exit::Failure;
use crate::{handler, shepherd};
use dispatch::Platform;

const EXAMPLES: &str = "\
Examples:
  woof-platform &                          serve the namespace in the current directory
  woof-platform -N /srv/woof/ns --workers 8 --timeout 30s
  woof-platform --persistent fast          one long-lived process for handler 'fast'
  woof-tail -f --results --format json     watch what it runs (another shell)";

/// Run handlers for the puts of a namespace.
///
/// One per namespace: a second one exits with an error naming the first one's pid.
/// It claims triggers in log order and runs up to --workers handlers at once, each
/// started directly the way posix_spawn does (one exec, nothing copied) with what
/// woof-shepherd applies: own process group, rlimits, clean environment, the element
/// on stdin. With --isolate each run goes through a woof-shepherd started ahead of
/// time, which enters the Linux namespaces in a process of its own. Every
/// outcome (started, exit status or signal, duration, evicted, missing, timed out) is
/// recorded in the results log, which `woof-tail --results` follows. Handler output
/// appears here, each line prefixed HANDLER[SEQNO].
///
/// Delivery is at-least-once: how far dispatch got is persisted, and after a crash
/// or restart every trigger that did not finish runs again, as do triggers put while
/// no platform ran. Handlers should therefore be idempotent.
///
/// SIGTERM and SIGINT stop claiming, wait up to --grace for running handlers, kill
/// what is left (their triggers run again at the next start) and exit 0. SIGHUP is
/// ignored (reported on stderr), so a closed terminal does not stop dispatch.
#[derive(Debug, Parser)]
#[command(name = "woof-platform", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub ns: crate::target::NamespaceArg,
    /// Handlers run at once
    #[arg(long, value_name = "N", default_value = "4", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: u16,
    /// Kill a handler's process group after it runs this long
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// At shutdown, wait this long for running handlers before killing them
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub grace: Duration,
    /// Run HANDLER as one long-lived process fed framed elements (repeatable)
    #[arg(long, value_name = "HANDLER")]
    pub persistent: Vec<String>,
    /// Run handlers isolated (see woof-shepherd --isolate)
    #[arg(long)]
    pub isolate: bool,
    /// Handler CPU time limit, seconds
    #[arg(long, value_name = "SECONDS", default_value = "300")]
    pub cpu: u64,
    /// Handler address-space limit, bytes with optional K/M/G suffix
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = handler::parse_size)]
    pub memory: u64,
    /// Say what the namespace's platform is doing (serving or not, triggers put,
    /// finished, running and waiting) and exit; takes nothing from a running one
    #[arg(long)]
    pub status: bool,
    /// Pass variable NAME to handlers, with VALUE or the platform's own (repeatable;
    /// HOME, LANG, WOOF_KEYS and WOOF_TIMEOUT are passed when set)
    #[arg(long = "env", value_name = "NAME[=VALUE]", value_parser = handler::env::parse)]
    pub env: Vec<handler::env::EnvArg>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ns = args.ns.open()?;
    let dir = std::fs::canonicalize(ns.dir()).map_err(|e| Failure::io("namespace", e))?;
    if !dir.join("handlers").is_dir() && !ns.state_dir().is_dir() {
        return Err(Failure::from(
            Error::new(ErrorKind::NotFound, format!("namespace {}", dir.display())).detail(
                "not a namespace (no handlers/ or .woof/ directory; mkdir handlers to make it one)",
            ),
        ));
    }
    ns.check_layout()?;
    if args.status {
        return status::print(&ns, &dir);
    }
    for h in &args.persistent {
        ns.handler_path(h)?;
    }
    std::fs::create_dir_all(ns.state_dir()).map_err(|e| Failure::io(".woof", e))?;
    let _lock = singleton(&ns, &dir)?;
    let triggers = ns.trigger_log()?;
    let results = ns.results_log()?;

    // Signals are taken by one thread with sigwait; block them everywhere else
    // before any thread starts. Children inherit the mask: the shepherd clears it
    // before exec'ing a handler.
    let mut signals = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        signals.add(s);
    }
    signals
        .thread_block()
        .map_err(|e| Failure::io("signals", e.into()))?;

    let mut shepherd_args = vec![
        "-N".to_string(),
        dir.display().to_string(),
        "--cpu".into(),
        args.cpu.to_string(),
        "--memory".into(),
        args.memory.to_string(),
    ];
    if args.isolate {
        shepherd_args.push("--isolate".into());
    }
    // What handlers get, settled once; shepherds are handed the same (by name: the
    // values go in their environment, not on their command line).
    for (name, _) in handler::env::settle(&args.env) {
        if !handler::env::DEFAULT.contains(&name.as_str()) {
            shepherd_args.extend(["--env".to_string(), name.clone()]);
        }
    }
    let program = shepherd::program();
    // Handlers start from the workers, posix_spawn-style; isolated ones need a
    // single-threaded process to enter Linux namespaces: the launcher shepherd.
    let launcher = args
        .isolate
        .then(|| launcher::Launcher::start(program.clone(), shepherd_args.clone()));
    let mut feeds = HashMap::new();
    for h in &args.persistent {
        let most = usize::try_from(triggers.history()).unwrap_or(usize::MAX);
        feeds.insert(h.clone(), Arc::new(persistent::Persistent::new(h, most)));
    }
    let platform = Arc::new(
        Platform::new(
            ns,
            triggers,
            results,
            handler::Limits::new(args.cpu, args.memory),
            launcher.clone(),
            args.timeout,
            feeds.clone(),
        )
        .map_err(|e| Failure::io("platform", e))?,
    );
    ledger::record_dead_runs(platform.books());
    let mut threads = Vec::new();
    for h in feeds.into_values() {
        let (p, program, sargs) = (
            Arc::clone(&platform),
            program.clone(),
            shepherd_args.clone(),
        );
        threads.push(std::thread::spawn(move || {
            h.feed(p.books(), &program, &sargs)
        }));
    }
    for _ in 0..args.workers {
        let p = Arc::clone(&platform);
        threads.push(std::thread::spawn(move || p.work()));
    }
    eprintln!(
        "woof-platform: serving {} (pid {}, {} workers)",
        dir.display(),
        std::process::id(),
        args.workers
    );
    loop {
        match signals.wait() {
            Ok(Signal::SIGHUP) => {
                eprintln!("woof-platform: SIGHUP ignored (SIGTERM or SIGINT stop)")
            }
            Ok(sig) => {
                eprintln!(
                    "woof-platform: {sig}: stopping (grace {})",
                    humantime::format_duration(args.grace)
                );
                break;
            }
            Err(_) => {}
        }
    }
    platform.shut_down(args.grace);
    for t in threads {
        let _ = t.join();
    }
    if let Some(launcher) = launcher {
        launcher.stop();
    }
    Ok(())
}

/// The pid of the woof-platform serving `ns`, if one does: whoever holds the record
/// lock on `.woof/platform.lock` (see `singleton`). Asked without taking it.
pub fn serving(ns: &Namespace) -> Option<i32> {
    let f = File::open(ns.state_dir().join("platform.lock")).ok()?;
    let mut probe = nix::libc::flock {
        l_type: nix::libc::F_WRLCK as _,
        l_whence: nix::libc::SEEK_SET as _,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(f.as_raw_fd(), nix::fcntl::FcntlArg::F_GETLK(&mut probe)).ok()?;
    (probe.l_type != nix::libc::F_UNLCK as nix::libc::c_short).then_some(probe.l_pid)
}

/// Takes `.woof/platform.lock` and writes our pid in it; a second platform learns
/// the first one's pid from it. A POSIX record lock, not flock: both die with the
/// process, but a flock is shared with every child forked and not yet exec'd, and
/// such a child could outlive a SIGKILLed platform by long enough to make its
/// restart fail. Record locks are never inherited.
fn singleton(ns: &Namespace, dir: &std::path::Path) -> Result<File, Failure> {
    let path = ns.state_dir().join("platform.lock");
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Failure::io(&path.display().to_string(), e))?;
    let whole = nix::libc::flock {
        l_type: nix::libc::F_WRLCK as _,
        l_whence: nix::libc::SEEK_SET as _,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    if nix::fcntl::fcntl(f.as_raw_fd(), nix::fcntl::FcntlArg::F_SETLK(&whole)).is_err() {
        let mut pid = String::new();
        let _ = f.read_to_string(&mut pid);
        return Err(Failure::new(
            &woof::ErrorKind::Locked,
            format!(
                "namespace {}: another woof-platform serves it (pid {})",
                dir.display(),
                pid.trim()
            ),
        ));
    }
    let pid = format!("{}\n", std::process::id());
    let write = f
        .set_len(0)
        .and_then(|()| f.seek(SeekFrom::Start(0)))
        .and_then(|_| f.write_all(pid.as_bytes()));
    write.map_err(|e| Failure::io(&path.display().to_string(), e))?;
    Ok(f)
}

/// Shepherds start with an empty environment but these, which they hand on to
/// handlers so that puts to other hosts reach them as the platform was told to
/// (woof(7), NETWORK).
/// A shepherd the platform starts gets exactly what handlers get (`handler::env`):
/// its environment is cleared, then those variables set; shepherd_args name the
/// ones beyond the defaults with `--env NAME`.
fn pass_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    for (k, v) in handler::env::passed() {
        cmd.env(k, v);
    }
    cmd
}

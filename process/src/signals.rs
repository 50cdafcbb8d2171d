//! Signal dispositions for a process about to exec another program.
#![allow(unsafe_code)]

/// Restores the default disposition of the signals a program expects to find at
/// their defaults. An ignored disposition survives exec: the Rust runtime ignores
/// SIGPIPE, and a platform started under `nohup` ignores SIGHUP; a handler exec'd by
/// the shepherd must not inherit either.
pub fn default_signals() {
    const SIGNALS: [libc::c_int; 13] = [
        libc::SIGPIPE,
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGCHLD,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGXFSZ,
    ];
    for sig in SIGNALS {
        // SAFETY: installing SIG_DFL runs no handler code, so no async-signal-safety
        // concern arises; the shepherd calls this single-threaded, right before exec.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// The signal `catch_interrupts` noted (0: none yet).
static INTERRUPTED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn note(sig: libc::c_int) {
    // Async-signal-safe: one atomic store.
    INTERRUPTED.store(sig, std::sync::atomic::Ordering::SeqCst);
}

/// Catches SIGINT and SIGTERM instead of dying of them: the signal is noted
/// (`interrupted`) and a blocked read or poll returns EINTR (no SA_RESTART), so a
/// long ingest can finish what it holds and say what it put; `die_of` then ends
/// the process as the signal would have.
pub fn catch_interrupts() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid starting value; the handler only
        // stores to an atomic (async-signal-safe), and sa_mask is emptied before use.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = note as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut act.sa_mask);
            act.sa_flags = 0;
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// The signal caught by `catch_interrupts`, if one came.
pub fn interrupted() -> Option<i32> {
    match INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// Ends the process as `sig` would have (its default action, so the shell sees
/// 128 + sig and an interactive shell stops a loop of such commands).
pub fn die_of(sig: i32) -> ! {
    // SAFETY: restoring SIG_DFL and raising the signal run no handler code.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    // Only if the signal is blocked: exit with the status it would have given.
    std::process::exit(128 + sig)
}

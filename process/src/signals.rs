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

//! Starting a program the way posix_spawn does, with what a handler needs set up
//! in between (process group, rlimits, descriptors, directory, parent death).
#![allow(unsafe_code)]

use std::io;
use std::ptr;

/// What `spawn` sets up in the new process before exec. Everything is
/// prepared by the caller: the new process only makes syscalls.
pub struct SpawnPlan<'a> {
    pub program: &'a std::ffi::CStr,
    pub argv: &'a [&'a std::ffi::CStr],
    pub envp: &'a [&'a std::ffi::CStr],
    /// Working directory.
    pub dir: &'a std::ffi::CStr,
    /// (from, to): dup2'd in this order. Each `from` must be above 2.
    pub fds: &'a [(std::os::fd::BorrowedFd<'a>, i32)],
    /// (RLIMIT_*, soft and hard limit).
    pub rlimits: &'a [(i32, u64)],
    /// A child of our parent (CLONE_PARENT) rather than of us.
    pub sibling: bool,
}

/// The step of a `SpawnPlan` that failed in the new process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnStep {
    Parent,
    ProcessGroup,
    Rlimit,
    Descriptors,
    Directory,
    Exec,
}

const SPAWN_STEPS: [SpawnStep; 6] = [
    SpawnStep::Parent,
    SpawnStep::ProcessGroup,
    SpawnStep::Rlimit,
    SpawnStep::Descriptors,
    SpawnStep::Directory,
    SpawnStep::Exec,
];

/// Plain C data the new process reads; it reports a failure in the atomics.
struct SpawnArgs {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    dir: *const libc::c_char,
    fds: *const (libc::c_int, libc::c_int),
    nfds: usize,
    rlimits: *const (i32, u64),
    nrlimits: usize,
    /// The new process's parent: if it is not (any more), give up.
    parent: libc::pid_t,
    failed_step: std::sync::atomic::AtomicI32,
    failed_errno: std::sync::atomic::AtomicI32,
}

/// Runs in the new process, on its own stack, sharing our memory (CLONE_VM) while
/// we are suspended (CLONE_VFORK): only syscalls through libc, no allocation, no
/// panic, and it leaves through execve or _exit.
extern "C" fn spawned(arg: *mut libc::c_void) -> libc::c_int {
    use std::sync::atomic::Ordering;
    // SAFETY: `arg` is the SpawnArgs that spawn keeps alive until we exec
    // or exit (it is suspended meanwhile); every pointer in it points into data
    // spawn borrows for as long. The libc calls below are plain syscall
    // wrappers, safe after vfork (posix_spawn makes the same ones); errno is
    // written to the suspended thread's TLS slot, which that thread reads after
    // the clone only if the clone itself failed (and then no new process ran).
    unsafe {
        let a = &*(arg as *const SpawnArgs);
        let fail = |step: usize| -> ! {
            a.failed_errno
                .store(*libc::__errno_location(), Ordering::SeqCst);
            a.failed_step.store(step as i32 + 1, Ordering::SeqCst);
            libc::_exit(127)
        };
        // Ignored dispositions survive exec, handlers must not run here: default
        // them all (signals stay blocked until just before exec).
        for sig in 1..=31 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 || libc::getppid() != a.parent {
            fail(0);
        }
        if libc::setpgid(0, 0) != 0 {
            fail(1);
        }
        for i in 0..a.nrlimits {
            let (res, limit) = *a.rlimits.add(i);
            let rl = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(res as _, &rl) != 0 {
                fail(2);
            }
        }
        for i in 0..a.nfds {
            let (from, to) = *a.fds.add(i);
            if libc::dup2(from, to) < 0 {
                fail(3);
            }
        }
        if libc::chdir(a.dir) != 0 {
            fail(4);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, ptr::null_mut());
        libc::execve(a.program, a.argv, a.envp);
        fail(5)
    }
}

/// Starts `plan.program` the way posix_spawn does (CLONE_VM | CLONE_VFORK: no
/// copy of our memory, and this thread is suspended until it has exec'd or
/// failed), as our child or, with `plan.sibling`, our parent's (CLONE_PARENT),
/// after applying the plan: default signal dispositions and an empty signal mask,
/// death with its parent (PDEATHSIG, which follows the parent *thread*), its own
/// process group, the rlimits, the descriptors and the working directory. Returns
/// its pid, and the step that failed if it did not reach exec (it has then exited
/// with 127, and its parent must still reap it). Sound in a multi-threaded
/// process too, as posix_spawn is.
pub fn spawn(plan: &SpawnPlan<'_>) -> io::Result<(u32, Option<(SpawnStep, io::Error)>)> {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicI32, Ordering};
    let cptrs = |v: &[&std::ffi::CStr]| -> Vec<*const libc::c_char> {
        v.iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(ptr::null()))
            .collect()
    };
    let argv = cptrs(plan.argv);
    let envp = cptrs(plan.envp);
    let fds: Vec<(libc::c_int, libc::c_int)> = plan
        .fds
        .iter()
        .map(|(from, to)| (from.as_raw_fd(), *to))
        .collect();
    if fds.iter().any(|(from, _)| *from <= 2) {
        return Err(io::Error::other("spawn: a source descriptor is 0, 1 or 2"));
    }
    let args = SpawnArgs {
        program: plan.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        dir: plan.dir.as_ptr(),
        fds: fds.as_ptr(),
        nfds: fds.len(),
        rlimits: plan.rlimits.as_ptr(),
        nrlimits: plan.rlimits.len(),
        // SAFETY: getpid and getppid have no preconditions.
        parent: unsafe {
            if plan.sibling {
                libc::getppid()
            } else {
                libc::getpid()
            }
        },
        failed_step: AtomicI32::new(0),
        failed_errno: AtomicI32::new(0),
    };
    const STACK: usize = 64 << 10;
    let mut stack = vec![0u128; STACK / 16]; // 16-byte aligned
    // SAFETY: the stack top is one past the end of `stack`, which outlives the
    // clone: with CLONE_VFORK we resume only once the new process has exec'd or
    // exited, so it never runs on `stack` (nor reads `args`, `argv`, `envp`,
    // `fds`, or the plan's strings) after they are dropped. Other threads of ours
    // never see `stack` or `args` (both local to this call). All signals are
    // blocked in this thread around the clone, so the new process starts with
    // them blocked and no handler of ours can run in it before `spawned` has reset
    // the dispositions (its own copy: no CLONE_SIGHAND); our mask is restored
    // after. `spawned` only makes syscalls (see there).
    let (pid, errno) = unsafe {
        let top = stack.as_mut_ptr().add(stack.len()).cast::<libc::c_void>();
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let parent = if plan.sibling { libc::CLONE_PARENT } else { 0 };
        let pid = libc::clone(
            spawned,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | parent | libc::SIGCHLD,
            &args as *const SpawnArgs as *mut libc::c_void,
        );
        let errno = *libc::__errno_location();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
        (pid, errno)
    };
    drop(stack);
    if pid < 0 {
        return Err(io::Error::from_raw_os_error(errno));
    }
    let step = args.failed_step.load(Ordering::SeqCst);
    let failed = usize::try_from(step - 1)
        .ok()
        .and_then(|i| SPAWN_STEPS.get(i));
    Ok((
        pid as u32,
        failed.map(|s| {
            (
                *s,
                io::Error::from_raw_os_error(args.failed_errno.load(Ordering::SeqCst)),
            )
        }),
    ))
}

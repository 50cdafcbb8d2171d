//! A follower whose reader left ends, as GNU `tail -f` does: `woof-tail -f | head -1`
//! must not linger until the next put (or for ever, for a woof nobody writes).
//!
//! A follower sleeps on a futex or a network reply, which cannot also wait on a
//! descriptor, so one thread does: poll(2) on stdout with no events reports only
//! POLLERR/POLLHUP, which a pipe's write end gets when its last reader closes (and a
//! terminal or socket on hangup). Regular files never report them: the thread just
//! sleeps.

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Held by the follower while it writes and stores its cursor, so the process never
/// ends between the two.
pub type Busy = Arc<Mutex<()>>;

/// Starts the watcher; the process exits 0 (a closed stdout is not an error) as
/// soon as stdout's reader is gone and the follower is not mid-write.
pub fn exit_when_gone() -> Busy {
    let busy: Busy = Arc::new(Mutex::new(()));
    let held = Arc::clone(&busy);
    let started = std::thread::Builder::new()
        .name("stdout-watch".into())
        .spawn(move || {
            let stdout = std::io::stdout();
            loop {
                let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::empty())];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) => {
                        let gone = PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL;
                        if fds[0].revents().is_some_and(|r| r.intersects(gone)) {
                            break;
                        }
                    }
                    Err(nix::Error::EINTR) => {}
                    Err(_) => return,
                }
            }
            let _mid_write = held.lock();
            std::process::exit(0);
        });
    // Without the thread the follower still ends at its next write (EPIPE).
    drop(started);
    busy
}

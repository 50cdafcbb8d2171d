//! How much of what we wrote into a pipe its reader never took.
#![allow(unsafe_code)]

use std::io;

/// Bytes written into a pipe and not yet read (FIONREAD). On the write end after
/// the reader died, this is what the reader never consumed.
pub fn pipe_unread(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points to `n`,
    // alive for the call; the fd is borrowed, so it stays open meanwhile.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n as *mut libc::c_int) };
    if rc == 0 {
        Ok(n.max(0) as usize)
    } else {
        Err(io::Error::last_os_error())
    }
}

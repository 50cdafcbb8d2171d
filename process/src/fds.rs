//! Descriptors passed over a Unix socket (SCM_RIGHTS).
#![allow(unsafe_code)]

use std::io;
use std::ptr;

/// Receives one message on a socket, with the descriptors passed along with it
/// (SCM_RIGHTS), close-on-exec. Returns its length and the descriptors; 0 and
/// none means the peer closed. Retries on EINTR.
pub fn recv_with_fds(
    sock: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<(usize, Vec<std::os::fd::OwnedFd>)> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // Room for the control headers of up to 8 descriptors, 8-byte aligned.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain C data (integers and pointers, some private padding
    // fields on some targets): all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = loop {
        // SAFETY: msg points to `iov` (which describes `buf`, exclusively borrowed)
        // and to `control`, with their true lengths; all live across the call.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let mut fds = Vec::new();
    // SAFETY: the CMSG_* helpers walk the control buffer the kernel just filled,
    // within msg_controllen; SCM_RIGHTS data is an array of c_int read unaligned.
    // Each descriptor was installed in our table by this very recvmsg for us, so
    // nothing else owns it: wrapping it in an OwnedFd (closed on drop) is sound.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<libc::c_int>();
                let len = ((*c).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
                for i in 0..len / std::mem::size_of::<libc::c_int>() {
                    let fd = ptr::read_unaligned(data.add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::other("more descriptors than expected"));
    }
    Ok((n, fds))
}

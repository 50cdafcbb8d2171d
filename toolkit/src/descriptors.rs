//! The descriptor limit of a tool that holds a descriptor per client or per source
//! (woof-proxy, woof-forward --all): its soft limit goes up to the hard one, as a
//! server's is expected to, through the `rlimit` crate rather than unsafe libc calls.

/// Raises the soft limit on open files to the hard one; returns the limit now, or
/// why it could not be read or raised.
pub fn raise_to_hard_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

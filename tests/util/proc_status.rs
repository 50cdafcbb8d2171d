//! What the kernel says of a process: its memory and threads (/proc/PID/status),
//! and the limits a load runs under.

/// (VmRSS in KiB, Threads) of process `pid`; zeros when it is gone.
pub fn rss_threads(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("Threads:"))
}

/// CPU time (user + system) process `pid` has used so far; zero when it is gone.
pub fn cpu_time(pid: u32) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 12th
    // and 13th of those, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    std::time::Duration::from_millis(ticks * 10)
}

/// The limits a load runs under, for its summary line: CPUs and this process's
/// open-file limit.
pub fn limits() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let files = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(0, |(soft, _)| soft);
    format!("{cpus} CPUs, {files} open files")
}

/// Raises this process's open-file limit to its hard limit (a load that holds one
/// end of thousands of connections); returns the limit, 0 when it cannot.
pub fn raise_files() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((_, hard)) if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() => hard,
        _ => 0,
    }
}

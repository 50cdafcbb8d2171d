//! `--isolate`: new user, mount and network namespaces, entered by the
//! single-threaded shepherd right before exec (the kernel refuses a new user
//! namespace in a multi-threaded process). Inside: only a loopback interface that is
//! down (no network), a private /tmp, every mount read-only except the namespace
//! directory. Any step the kernel refuses is an error: never run half-isolated.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{getgid, getuid};

type Res = Result<(), String>;

fn step<T>(what: &str, r: nix::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {}", e.desc().to_lowercase()))
}

/// `tools`: where the woof tools are installed; if the private /tmp would hide
/// them, they are bound back at the same path, read-only, so a handler can still
/// woof-put.
pub fn enter(ns_dir: &Path, tools: Option<&Path>) -> Res {
    let (uid, gid) = (getuid(), getgid());
    step(
        "unshare(user, mount, net)",
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET),
    )?;
    // Reach the namespace directory later through this fd, even after /tmp is
    // replaced by an empty tmpfs (tests and many users keep namespaces in /tmp).
    // Opened after unshare: a bind mount's source must be a mount of the new mount
    // namespace (an fd from the old one gives EINVAL).
    let keep = fs::File::open(ns_dir).map_err(|e| format!("open {}: {e}", ns_dir.display()))?;
    let tools =
        tools.filter(|t| t.starts_with("/tmp") && !t.starts_with(ns_dir) && !ns_dir.starts_with(t));
    let keep_tools = match tools {
        Some(t) => Some(fs::File::open(t).map_err(|e| format!("open {}: {e}", t.display()))?),
        None => None,
    };
    // Same ids inside as outside, so files keep their owners.
    fs::write("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
    fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))
        .map_err(|e| format!("uid_map: {e}"))?;
    fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))
        .map_err(|e| format!("gid_map: {e}"))?;
    let none: Option<&str> = None;
    step(
        "make mounts private",
        mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none),
    )?;
    step(
        "mount /tmp",
        mount(
            Some("tmpfs"),
            "/tmp",
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=1777"),
        ),
    )?;
    // Put the namespace directory back where it was, writable, on its own mount.
    fs::create_dir_all(ns_dir).map_err(|e| format!("recreate {}: {e}", ns_dir.display()))?;
    let src = PathBuf::from(format!("/proc/self/fd/{}", keep.as_raw_fd()));
    step(
        "bind the namespace",
        mount(
            Some(&src),
            ns_dir,
            none,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            none,
        ),
    )?;
    drop(keep);
    if let (Some(t), Some(fd)) = (tools, keep_tools) {
        fs::create_dir_all(t).map_err(|e| format!("recreate {}: {e}", t.display()))?;
        let src = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        step(
            "bind the woof tools",
            mount(Some(&src), t, none, MsFlags::MS_BIND, none),
        )?;
    }
    read_only_except(&[ns_dir, Path::new("/tmp")], tools)
}

/// Remounts every mount read-only, except those at or under `keep` (but not the
/// woof tools bound under one of them), preserving the
/// flags the kernel locks in a user namespace (nosuid, nodev, noexec, atime).
fn read_only_except(keep: &[&Path], tools: Option<&Path>) -> Res {
    let info = fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("mountinfo: {e}"))?;
    let none: Option<&str> = None;
    for line in info.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (Some(point), Some(opts)) = (f.get(4), f.get(5)) else {
            continue;
        };
        let point = PathBuf::from(unescape(point));
        let kept = keep.iter().any(|k| point.starts_with(k))
            && !tools.is_some_and(|t| point.starts_with(t));
        if kept || !point.starts_with("/") {
            continue;
        }
        let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
        for o in opts.split(',') {
            flags |= match o {
                "nosuid" => MsFlags::MS_NOSUID,
                "nodev" => MsFlags::MS_NODEV,
                "noexec" => MsFlags::MS_NOEXEC,
                "noatime" => MsFlags::MS_NOATIME,
                "nodiratime" => MsFlags::MS_NODIRATIME,
                "relatime" => MsFlags::MS_RELATIME,
                _ => MsFlags::empty(),
            };
        }
        match mount(none, &point, none, flags, none) {
            Ok(()) => {}
            // A mount hidden under another one cannot be reached; what covers it is
            // remounted in its own turn.
            Err(nix::Error::ENOENT) | Err(nix::Error::EINVAL) if !point.exists() => {}
            Err(e) => {
                return Err(format!(
                    "remount {} read-only: {}",
                    point.display(),
                    e.desc().to_lowercase()
                ));
            }
        }
    }
    Ok(())
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! What a forwarder leaves in the namespace, per (source woof, destination), under
//! `.woof/forward/`: a lock file held for its whole life (a kernel lock: it dies with
//! its holder, so a killed forwarder never wedges the next one, unlike CSPOT's lock
//! woof), and a state file for `--status` and as a hint of the last acknowledged
//! seqno. The destination's mark is the truth; the hint only shows lag while the
//! destination cannot be asked.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use woof::{Error, ErrorKind};

/// How often the state file is rewritten while forwarding (each rewrite is a
/// write, an fsync and a rename).
const STATE_EVERY: Duration = Duration::from_secs(1);

/// The file names of one (source, destination) pair: `NAME.HASH.lock`/`.state`,
/// HASH telling destinations of one source apart.
fn stem(dir: &Path, name: &str, dest: &str, kind: &str) -> PathBuf {
    // FNV-1a: a short, stable tag for a file name, not a security boundary.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dest.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    dir.join(format!("{name}.{:08x}.{kind}", h as u32))
}

/// The directory of a namespace's forwarding state.
pub fn dir(ns_state: &Path) -> PathBuf {
    ns_state.join("forward")
}

/// One (source, destination) pair's lock and state file.
pub struct State {
    _lock: File,
    path: PathBuf,
    written: Option<Instant>,
    /// The fields last written, in order.
    pub fields: BTreeMap<&'static str, String>,
}

impl State {
    /// Takes the pair's lock; another forwarder of the same pair is refused (exit 75)
    /// with its pid.
    pub fn lock(dir: &Path, name: &str, dest: &str) -> Result<State, Error> {
        let ctx = || format!("{name} -> {dest}");
        fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
        let lock_path = stem(dir, name, dest, "lock");
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| Error::io(lock_path.display().to_string(), e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                // The holder writes its pid just after it locks: give it a moment.
                let mut holder = String::new();
                for _ in 0..50 {
                    holder = fs::read_to_string(&lock_path).unwrap_or_default();
                    if !holder.trim().is_empty() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                let who = match holder.trim() {
                    "" => "another woof-forward".to_string(),
                    pid => format!("woof-forward pid {pid}"),
                };
                return Err(Error::new(ErrorKind::Locked, ctx())
                    .detail(format!("already being forwarded ({who})")));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::io(lock_path.display().to_string(), e));
            }
        }
        let _ = lock.set_len(0);
        let _ = writeln!(lock, "{}", std::process::id());
        let path = stem(dir, name, dest, "state");
        let fields = read_fields(&path).unwrap_or_default();
        Ok(State {
            _lock: lock,
            path,
            written: None,
            fields,
        })
    }

    /// The last acknowledged seqno a previous run recorded, if any.
    pub fn hint(&self) -> Option<u64> {
        self.fields.get("acked").and_then(|v| v.parse().ok())
    }

    /// The source incarnation that acknowledgement counted in.
    pub fn incarnation(&self) -> Option<u64> {
        self.fields
            .get("incarnation")
            .and_then(|v| u64::from_str_radix(v, 16).ok())
    }

    /// The gaps a previous run recorded.
    pub fn gaps(&self) -> u64 {
        self.fields
            .get("gaps")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn set(&mut self, key: &'static str, value: impl ToString) {
        self.fields.insert(key, value.to_string());
    }

    /// Writes the state file if `force` or it is older than STATE_EVERY: temp, fsync,
    /// rename, so a reader (or a crash) never sees half of it.
    pub fn save(&mut self, force: bool) -> io::Result<()> {
        if !force && self.written.is_some_and(|t| t.elapsed() < STATE_EVERY) {
            return Ok(());
        }
        self.written = Some(Instant::now());
        let mut text = String::new();
        for (k, v) in &self.fields {
            text.push_str(k);
            text.push('=');
            text.push_str(&v.replace('\n', " "));
            text.push('\n');
        }
        let tmp = self.path.with_extension("state.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_data()?;
        fs::rename(&tmp, &self.path)
    }
}

fn read_fields(path: &Path) -> Option<BTreeMap<&'static str, String>> {
    let text = fs::read_to_string(path).ok()?;
    let mut fields = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once('=')?;
        if let Some(key) = KEYS.iter().find(|key| **key == k) {
            fields.insert(*key, v.to_string());
        }
    }
    Some(fields)
}

/// The keys of a state file.
pub const KEYS: [&str; 12] = [
    "resent",
    "woof",
    "dest",
    "acked",
    "latest",
    "gaps",
    "state",
    "error",
    "since",
    "updated",
    "pid",
    "incarnation",
];

/// One state file as `--status` reads it, and whether its forwarder is running.
pub struct Seen {
    pub fields: BTreeMap<&'static str, String>,
    pub running: bool,
}

/// Every state file under `dir`, sorted by woof then destination.
pub fn read_all(dir: &Path) -> Vec<Seen> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Seen> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".state"))
        .filter_map(|p| {
            let fields = read_fields(&p)?;
            let lock = PathBuf::from(p.to_string_lossy().replace(".state", ".lock"));
            let running = File::open(&lock).is_ok_and(|f| match f.try_lock_shared() {
                Ok(()) => false,
                Err(fs::TryLockError::WouldBlock) => true,
                Err(_) => false,
            });
            Some(Seen { fields, running })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.fields.get("woof"), a.fields.get("dest"))
            .cmp(&(b.fields.get("woof"), b.fields.get("dest")))
    });
    out
}

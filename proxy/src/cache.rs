//! The proxy keeps the woofs it served open, once for all its threads: opening and
//! mapping a woof per request would cost more than the request. A cached woof is
//! checked against the file's inode on every use, so a woof re-created with --force
//! is re-opened, and a removed one is reported as missing. A thread holds its woof
//! (an `Arc`) only while it serves the request, also when the cache lets go of it.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

use woof::{Error, ErrorKind, Namespace, Woof};

const MAX_OPEN: usize = 256;

#[derive(Default)]
pub struct Cache {
    inner: Mutex<Open>,
}

struct Open {
    open: HashMap<(usize, String), (Arc<Woof>, u64, u64)>,
    /// The most woofs held at once: MAX_OPEN, lowered when descriptors run out.
    cap: usize,
}

impl Default for Open {
    fn default() -> Open {
        Open {
            open: HashMap::new(),
            cap: MAX_OPEN,
        }
    }
}

impl Cache {
    /// Woof `name` of export `export` (namespace `ns`), writable when the file allows.
    pub fn get(&self, export: usize, ns: &Namespace, name: &str) -> Result<Arc<Woof>, Error> {
        // A poisoned lock only means a thread panicked while holding it; the map
        // itself is still whole.
        let mut open = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        open.get(export, ns, name)
    }
}

impl Open {
    fn get(&mut self, export: usize, ns: &Namespace, name: &str) -> Result<Arc<Woof>, Error> {
        let path = ns.woof_path(name)?;
        let key = (export, name.to_string());
        // lstat, never stat: a name from the network must not follow a link out of
        // the namespace. Anything but a regular file, or a file shorter than the
        // cached woof's mapping (truncated under us: touching its pages would be a
        // SIGBUS), is handed to the core's open, so the client gets exactly the error
        // a local tool gives.
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_file() => m,
            _ => {
                self.open.remove(&key);
                return open(ns, name);
            }
        };
        if let Some((w, _, _)) = self.open.get(&key)
            && meta.len() < w.header().file_len()
        {
            self.open.remove(&key);
        }
        let key = (export, name.to_string());
        let fresh = self
            .open
            .get(&key)
            .is_some_and(|(_, dev, ino)| *dev == meta.dev() && *ino == meta.ino());
        if !fresh {
            if self.open.len() >= self.cap {
                self.open.clear();
            }
            let woof = match open(ns, name) {
                // Every woof held keeps a descriptor: when the process runs out
                // (EMFILE, or anything else I/O), let go of them and try once more,
                // and from then on hold at most half as many, leaving descriptors
                // for connections — rather than fail every new woof and connection.
                Err(e) if *e.kind() == ErrorKind::Io && !self.open.is_empty() => {
                    self.cap = (self.open.len() / 2).max(1);
                    self.open.clear();
                    open(ns, name)?
                }
                other => other?,
            };
            self.open
                .insert(key.clone(), (woof, meta.dev(), meta.ino()));
        }
        self.open
            .get(&key)
            .map(|(w, _, _)| Arc::clone(w))
            .ok_or_else(|| Error::new(ErrorKind::NotFound, name))
    }
}

/// Opens a woof for writing, or for reading only when the file allows no more.
fn open(ns: &Namespace, name: &str) -> Result<Arc<Woof>, Error> {
    match ns.open_woof(name) {
        Err(e) if *e.kind() == ErrorKind::Denied => ns.open_woof_readonly(name),
        other => other,
    }
    .map(Arc::new)
}

//! Each worker keeps the woofs it served open: opening and mapping a woof per
//! request would cost more than the request. A cached woof is checked against the
//! file's inode on every use, so a woof re-created with --force is re-opened, and a
//! removed one is reported as missing.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

use woof::{Error, ErrorKind, Namespace, Woof};

const MAX_OPEN: usize = 256;

#[derive(Default)]
pub struct Cache {
    open: HashMap<(usize, String), (Woof, u64, u64)>,
}

impl Cache {
    /// Woof `name` of export `export` (namespace `ns`), writable when the file allows.
    pub fn get(&mut self, export: usize, ns: &Namespace, name: &str) -> Result<&Woof, Error> {
        let path = ns.woof_path(name)?;
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                self.open.remove(&(export, name.to_string()));
                return Err(Error::io(name, e));
            }
        };
        if !meta.is_file() {
            return Err(Error::new(ErrorKind::NotFound, name).detail("not a woof file"));
        }
        let key = (export, name.to_string());
        let fresh = self
            .open
            .get(&key)
            .is_some_and(|(_, dev, ino)| *dev == meta.dev() && *ino == meta.ino());
        if !fresh {
            if self.open.len() >= MAX_OPEN {
                self.open.clear();
            }
            let woof = match ns.open_woof(name) {
                Err(e) if *e.kind() == ErrorKind::Denied => ns.open_woof_readonly(name)?,
                other => other?,
            };
            self.open
                .insert(key.clone(), (woof, meta.dev(), meta.ino()));
        }
        self.open
            .get(&key)
            .map(|(w, _, _)| w)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, name))
    }
}

//! A namespace: a directory holding woofs at its top level, `handlers/`, and `.woof/`.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::name;
use crate::woof::{CreateOptions, Woof};

/// A namespace directory that exists.
#[derive(Debug, Clone)]
pub struct Namespace {
    dir: PathBuf,
}

impl Namespace {
    /// Opens the namespace at `dir`; it must be an existing directory.
    pub fn open(dir: &Path) -> Result<Namespace> {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(Namespace {
                dir: dir.to_path_buf(),
            }),
            Ok(_) => Err(
                Error::new(ErrorKind::NotFound, format!("namespace {}", dir.display()))
                    .detail("not a directory"),
            ),
            Err(e) => Err(Error::io(format!("namespace {}", dir.display()), e)),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of woof `name`, after checking `name` is a plain name.
    pub fn woof_path(&self, name: &str) -> Result<PathBuf> {
        name::validate("woof name", name)?;
        Ok(self.dir.join(name))
    }

    /// Opens woof `name`; errors name the woof.
    pub fn open_woof(&self, name: &str) -> Result<Woof> {
        let path = self.woof_path(name)?;
        Woof::open(&path).map_err(|e| rename_context(e, &path, name))
    }

    /// Opens woof `name` for reading only.
    pub fn open_woof_readonly(&self, name: &str) -> Result<Woof> {
        let path = self.woof_path(name)?;
        Woof::open_readonly(&path).map_err(|e| rename_context(e, &path, name))
    }

    /// Creates woof `name`.
    pub fn create_woof(&self, name: &str, opts: &CreateOptions) -> Result<Woof> {
        let path = self.woof_path(name)?;
        Woof::create(&path, opts).map_err(|e| rename_context(e, &path, name))
    }
}

/// Errors from the file layer carry the full path; users typed the woof name.
fn rename_context(e: Error, path: &Path, name: &str) -> Error {
    if e.context() == path.display().to_string() {
        e.with_context(name)
    } else {
        e
    }
}

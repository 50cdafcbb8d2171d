//! A namespace: a directory holding woofs at its top level, `handlers/`, and `.woof/`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::woof::{CreateOptions, Woof};
use crate::{name, results, trigger_log};

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

    /// The namespace's own state directory (`.woof/`).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join(".woof")
    }

    /// The executable of handler `name` (`handlers/NAME`), checked: a plain name, a
    /// regular file (not a symlink), executable. Only such files can ever run.
    pub fn handler_path(&self, name: &str) -> Result<PathBuf> {
        name::validate("handler name", name)?;
        let ctx = || format!("handler {name}");
        self.real_dir("handlers").map_err(|e| e.within(ctx()))?;
        let path = self.dir.join("handlers").join(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(ErrorKind::NotFound, ctx())
                    .detail(format!("no such handler (no file {})", path.display())));
            }
            Err(e) => return Err(Error::io(ctx(), e)),
        };
        if !meta.file_type().is_file() {
            return Err(Error::new(ErrorKind::Denied, ctx())
                .detail(format!("{} is not a regular file", path.display())));
        }
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(Error::new(ErrorKind::Denied, ctx())
                .detail(format!("{} is not executable (chmod +x)", path.display())));
        }
        Ok(path)
    }

    /// The trigger log, created (with `.woof/`) on first use.
    pub fn trigger_log(&self) -> Result<Woof> {
        self.state_woof(
            "triggers",
            trigger_log::TRIGGER_SIZE as u64,
            trigger_log::DEFAULT_TRIGGER_HISTORY,
        )
    }

    /// The results log, created (with `.woof/`) on first use.
    pub fn results_log(&self) -> Result<Woof> {
        self.state_woof(
            "results",
            results::RESULT_SIZE as u64,
            results::DEFAULT_RESULTS_HISTORY,
        )
    }

    /// Opens `.woof/NAME`, creating it if absent (two racing creators: one wins, the
    /// other opens what it made).
    fn state_woof(&self, name: &str, size: u64, history: u64) -> Result<Woof> {
        self.real_dir(".woof")?;
        let path = self.state_dir().join(name);
        match Woof::open(&path) {
            Err(e) if *e.kind() == ErrorKind::NotFound => {}
            other => return other,
        }
        std::fs::create_dir_all(self.state_dir())
            .map_err(|e| Error::io(self.state_dir().display().to_string(), e))?;
        match Woof::create(&path, &CreateOptions::new(size, history)) {
            Err(e) if *e.kind() == ErrorKind::Exists => Woof::open(&path),
            other => other,
        }
    }

    /// Refuses a namespace whose `handlers/` or `.woof/` is a symbolic link or not a
    /// directory (the platform checks this before it writes anything).
    pub fn check_layout(&self) -> Result<()> {
        self.real_dir("handlers")?;
        self.real_dir(".woof")
    }

    /// Refuses a namespace subdirectory (`handlers/`, `.woof/`) that is a symbolic
    /// link or not a directory: what runs and where triggers go stay inside the
    /// namespace. An absent one is fine (created on first use, or nothing to run).
    fn real_dir(&self, sub: &str) -> Result<()> {
        let path = self.dir.join(sub);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_dir() => Ok(()),
            Ok(m) => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "not a directory"
                };
                Err(
                    Error::new(ErrorKind::Denied, path.display().to_string()).detail(format!(
                        "is {what}; a namespace's {sub}/ must be a real directory inside it"
                    )),
                )
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(path.display().to_string(), e)),
        }
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

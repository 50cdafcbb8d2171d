//! A cursor file: the seqno of the last element a reader printed, so a later run
//! (even after kill -9) resumes right after it. The file holds one decimal number
//! and a newline; it is rewritten in place with one `pwrite` after each flushed batch
//! of output, so it is never seen half-written.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use woof::{Error, ErrorKind};

use crate::exit::Failure;

pub struct Cursor {
    file: File,
    path: PathBuf,
    len: usize,
}

impl Cursor {
    /// Opens (creating if absent) the cursor at `path`; returns the seqno it holds,
    /// None for a new or empty file.
    pub fn open(path: &Path) -> Result<(Cursor, Option<u64>), Failure> {
        let ctx = format!("cursor {}", path.display());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Failure::from(Error::io(&ctx, e)))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| {
            let err = if e.kind() == std::io::ErrorKind::InvalidData {
                Error::new(ErrorKind::BadData, &ctx).detail("not a text file")
            } else {
                Error::io(&ctx, e)
            };
            Failure::from(err)
        })?;
        let trimmed = text.trim();
        let seqno = if trimmed.is_empty() {
            None
        } else {
            let shown: String = trimmed
                .chars()
                .take(40)
                .flat_map(char::escape_debug)
                .collect();
            Some(trimmed.parse::<u64>().map_err(|_| {
                Failure::from(
                    Error::new(ErrorKind::BadData, &ctx)
                        .detail(format!("holds '{shown}', not a seqno")),
                )
            })?)
        };
        Ok((
            Cursor {
                file,
                path: path.to_path_buf(),
                len: text.len(),
            },
            seqno,
        ))
    }

    /// Records `seqno` as the last element printed.
    pub fn store(&mut self, seqno: u64) -> Result<(), Failure> {
        let text = format!("{seqno}\n");
        let ctx = format!("cursor {}", self.path.display());
        self.file
            .write_all_at(text.as_bytes(), 0)
            .map_err(|e| Failure::io(&ctx, e))?;
        if text.len() < self.len {
            // Seqnos only grow, so this happens only after a user edited the file.
            self.file
                .set_len(text.len() as u64)
                .map_err(|e| Failure::io(&ctx, e))?;
        }
        self.len = text.len();
        Ok(())
    }
}

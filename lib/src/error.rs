//! One error type for the core, with a user-facing `Display` and the exit code
//! every tool maps it to (DESIGN §3).

use std::fmt;
use std::io;

/// What went wrong, in terms a user (and a script checking `$?`) cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No such woof, namespace or file.
    NotFound,
    /// The woof already exists (create without force).
    Exists,
    /// The woof holds no element yet.
    Empty,
    /// The seqno was overwritten; `oldest` is the oldest still held.
    Evicted { seqno: u64, oldest: u64 },
    /// The seqno has not been written; `latest` is the newest.
    NotYet { seqno: u64, latest: u64 },
    /// An element of the wrong size.
    Size { expected: u64, got: u64 },
    /// The file is not a woof, or a slot failed its checksum.
    Corrupt,
    /// The file is a woof of a format version this build does not read.
    Version { found: u32, supported: u32 },
    /// A name that is not a plain woof/handler name.
    BadName,
    /// An argument value out of range (sizes, ranges).
    BadArgument,
    /// Malformed input data.
    BadData,
    /// A lock could not be taken (another instance holds it).
    Locked,
    /// Permission denied.
    Denied,
    /// A timed wait expired.
    Timeout,
    /// No room now (a trigger log whose consumer is far behind); retry later.
    Full,
    /// Could not create a file.
    CantCreate,
    /// Any other I/O failure.
    Io,
    /// The operating system refused a process operation (fork, clone, pipe,
    /// setpgid, setrlimit, dup2, exec of something that is not there).
    System,
    /// A remote peer (woof-proxy) could not be reached or did not answer in time.
    Unavailable,
    /// A remote peer sent something the protocol does not allow.
    Protocol,
    /// A forwarded batch would leave a hole: the destination holds its origin's
    /// elements up to `mark` only (woof-forward resends from there).
    Gap { mark: u64 },
    /// A forwarded batch comes from a new incarnation of its source (re-created with
    /// --force) while the destination counts in an older one.
    Reincarnated,
}

/// A core error: what kind, about what, and the underlying cause when there is one.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    context: String,
    detail: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, context: impl Into<String>) -> Error {
        Error {
            kind,
            context: context.into(),
            detail: None,
        }
    }

    /// Adds the cause shown after the context (`context: detail`).
    pub fn detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    /// Wraps an OS error, choosing the kind from the errno.
    pub fn io(context: impl Into<String>, err: io::Error) -> Error {
        let kind = match err.kind() {
            io::ErrorKind::NotFound => ErrorKind::NotFound,
            io::ErrorKind::PermissionDenied => ErrorKind::Denied,
            io::ErrorKind::AlreadyExists => ErrorKind::Exists,
            _ => ErrorKind::Io,
        };
        Error::new(kind, context).detail(describe_io(&err))
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// The cause shown after the context, if any.
    pub fn detail_text(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// Replaces the context.
    pub fn with_context(mut self, context: impl Into<String>) -> Error {
        self.context = context.into();
        self
    }

    /// Prefixes the context, e.g. with the woof's name.
    pub fn within(mut self, outer: impl fmt::Display) -> Error {
        self.context = if self.context.is_empty() {
            outer.to_string()
        } else {
            format!("{outer}: {}", self.context)
        };
        self
    }

    /// The process exit code for this error (DESIGN §3, sysexits).
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl ErrorKind {
    pub fn exit_code(&self) -> i32 {
        match self {
            ErrorKind::BadArgument | ErrorKind::BadName => 2,
            ErrorKind::Size { .. } | ErrorKind::BadData | ErrorKind::Corrupt => 65,
            ErrorKind::Gap { .. } | ErrorKind::Reincarnated => 65,
            ErrorKind::Version { .. } => 65,
            ErrorKind::NotFound
            | ErrorKind::Empty
            | ErrorKind::Evicted { .. }
            | ErrorKind::NotYet { .. } => 66,
            ErrorKind::Exists | ErrorKind::CantCreate => 73,
            ErrorKind::System => 71,
            ErrorKind::Io => 74,
            ErrorKind::Locked | ErrorKind::Timeout | ErrorKind::Full => 75,
            ErrorKind::Unavailable => 69,
            ErrorKind::Protocol => 76,
            ErrorKind::Denied => 77,
        }
    }
}

/// `io::Error`'s Display appends "(os error N)"; users want just the words.
fn describe_io(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_lowercase(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            ErrorKind::Evicted { seqno, oldest } => {
                Some(format!("seqno {seqno} evicted (oldest is {oldest})"))
            }
            ErrorKind::NotYet { seqno, latest } => Some(format!(
                "seqno {seqno} not yet written (latest is {latest})"
            )),
            ErrorKind::Empty => Some("empty (no element written yet)".to_string()),
            ErrorKind::Size { expected, got } => Some(format!(
                "element is {got} bytes, woof holds {expected}-byte elements"
            )),
            ErrorKind::Version { found, supported } => Some(format!(
                "format version {found} not supported (this build reads version {supported})"
            )),
            _ => None,
        };
        let mut parts: Vec<&str> = Vec::with_capacity(3);
        if !self.context.is_empty() {
            parts.push(&self.context);
        }
        if let Some(w) = &what {
            parts.push(w);
        }
        if let Some(d) = &self.detail {
            parts.push(d);
        }
        write!(f, "{}", parts.join(": "))
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_documented_exit_code() {
        let cases = [
            (ErrorKind::BadArgument, 2),
            (ErrorKind::BadName, 2),
            (
                ErrorKind::Size {
                    expected: 1,
                    got: 2,
                },
                65,
            ),
            (ErrorKind::BadData, 65),
            (ErrorKind::Corrupt, 65),
            (ErrorKind::Gap { mark: 1 }, 65),
            (ErrorKind::Reincarnated, 65),
            (
                ErrorKind::Version {
                    found: 9,
                    supported: 1,
                },
                65,
            ),
            (ErrorKind::NotFound, 66),
            (ErrorKind::Empty, 66),
            (
                ErrorKind::Evicted {
                    seqno: 1,
                    oldest: 2,
                },
                66,
            ),
            (
                ErrorKind::NotYet {
                    seqno: 3,
                    latest: 2,
                },
                66,
            ),
            (ErrorKind::Exists, 73),
            (ErrorKind::CantCreate, 73),
            (ErrorKind::Io, 74),
            (ErrorKind::Locked, 75),
            (ErrorKind::Timeout, 75),
            (ErrorKind::Full, 75),
            (ErrorKind::Unavailable, 69),
            (ErrorKind::Protocol, 76),
            (ErrorKind::Denied, 77),
        ];
        for (kind, code) in cases {
            assert_eq!(kind.exit_code(), code, "{kind:?}");
        }
    }

    #[test]
    fn display_is_one_line_context_then_cause() {
        let e = Error::new(
            ErrorKind::Evicted {
                seqno: 3,
                oldest: 17,
            },
            "temps",
        );
        assert_eq!(e.to_string(), "temps: seqno 3 evicted (oldest is 17)");
        let e = Error::io("temps", io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(e.to_string(), "temps: no such file or directory");
        assert_eq!(e.kind(), &ErrorKind::NotFound);
    }
}

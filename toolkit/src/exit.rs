//! How a tool ends: one line on stderr, `tool: context: cause`, and the exit code of
//! DESIGN §3. A closed stdout pipe is not an error (exit 0, silently).

use std::io;
use std::process::ExitCode;

use clap::Parser;
use woof::ErrorKind;

/// Why a tool stopped with an error.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Stops with `message` and the exit code of `kind` (the one table, DESIGN §3).
    pub fn new(kind: &ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            code: kind.exit_code() as u8,
            message: message.into(),
        }
    }

    /// The exit code of `kind`, for problems already reported with `warn`.
    pub fn reported(kind: &ErrorKind) -> Failure {
        Failure::new(kind, String::new())
    }

    /// A bad command-line value (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(&ErrorKind::BadArgument, message)
    }

    /// Not an error after all: exit 0 without a word.
    fn quiet() -> Failure {
        Failure {
            code: 0,
            message: String::new(),
        }
    }

    /// An I/O error on `context` (exit 74, or 0 for a closed pipe).
    pub fn io(context: &str, err: io::Error) -> Failure {
        if err.kind() == io::ErrorKind::BrokenPipe {
            return Failure::quiet();
        }
        Failure::from(woof::Error::io(context, err))
    }

    /// Whether this failure has the exit code of `kind`.
    pub fn is(&self, kind: &ErrorKind) -> bool {
        i32::from(self.code) == kind.exit_code()
    }

    /// Writing to stdout failed.
    pub fn stdout(err: io::Error) -> Failure {
        Failure::io("stdout", err)
    }
}

impl From<woof::Error> for Failure {
    fn from(e: woof::Error) -> Failure {
        Failure::new(e.kind(), e.to_string())
    }
}

/// Parses the arguments, runs the tool, reports the outcome. Usage errors from
/// clap exit 2 with clap's own message.
pub fn run_main<A: Parser>(tool: &str, run: fn(A) -> Result<(), Failure>) -> ExitCode {
    let args = A::parse();
    finish(tool, run(args))
}

/// Turns a tool's result into its exit status, printing the error line.
pub fn finish(tool: &str, result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("{tool}: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

/// Prints a warning for an item that failed while the tool goes on
/// (ripgrep's "errored" flag: the tool still exits non-zero at the end).
pub fn warn(tool: &str, message: &str) {
    eprintln!("{tool}: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_pipe_is_quiet_success() {
        let f = Failure::stdout(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(f.code, 0);
        let f = Failure::stdout(io::Error::from_raw_os_error(libc::EIO));
        assert_eq!(f.code, 74);
        assert_eq!(f.message, "stdout: input/output error");
    }
}

//! What can go wrong talking ZMTP, sorted by what the caller should do about it: the
//! variants map onto exit codes (69 unavailable, 76 protocol, 77 permission).

use std::fmt;
use std::io;

/// A failed connection or exchange. `Display` is one lowercase line without a period.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetError {
    /// No connection: refused, no route, bad address, or the deadline passed while
    /// connecting (exit 69).
    Unreachable(String),
    /// The deadline passed while waiting on a connected peer (exit 69).
    Timeout(String),
    /// The peer closed or reset the connection mid-exchange (exit 69).
    Closed(String),
    /// The peer broke the protocol: bad greeting or version, malformed or oversized
    /// frame, failed decryption (exit 76).
    Protocol(String),
    /// The server uses another security mechanism than ours (exit 77).
    Mechanism(String),
    /// The server refused us during the handshake with an ERROR command (exit 77).
    Denied(String),
    /// A local failure that is not the network's: the OS random number generator,
    /// socket options (exit 74).
    Io(String),
}

/// The variant of a [`NetError`] without its text, for matching and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetErrorKind {
    Unreachable,
    Timeout,
    Closed,
    Protocol,
    Mechanism,
    Denied,
    Io,
}

impl NetError {
    pub fn kind(&self) -> NetErrorKind {
        match self {
            NetError::Unreachable(_) => NetErrorKind::Unreachable,
            NetError::Timeout(_) => NetErrorKind::Timeout,
            NetError::Closed(_) => NetErrorKind::Closed,
            NetError::Protocol(_) => NetErrorKind::Protocol,
            NetError::Mechanism(_) => NetErrorKind::Mechanism,
            NetError::Denied(_) => NetErrorKind::Denied,
            NetError::Io(_) => NetErrorKind::Io,
        }
    }

    /// The core error kind this is to the tools, and so its exit code: the one
    /// table is `woof::ErrorKind::exit_code`.
    pub fn error_kind(&self) -> woof::ErrorKind {
        match self.kind() {
            NetErrorKind::Unreachable | NetErrorKind::Timeout | NetErrorKind::Closed => {
                woof::ErrorKind::Unavailable
            }
            NetErrorKind::Protocol => woof::ErrorKind::Protocol,
            NetErrorKind::Mechanism | NetErrorKind::Denied => woof::ErrorKind::Denied,
            NetErrorKind::Io => woof::ErrorKind::Io,
        }
    }

    /// The sysexits code the tools exit with for this error.
    pub fn exit_code(&self) -> i32 {
        self.error_kind().exit_code()
    }

    pub(crate) fn protocol(msg: impl Into<String>) -> NetError {
        NetError::Protocol(msg.into())
    }

    /// Classifies an I/O error on a connected socket; `doing` names the step.
    pub(crate) fn io(err: &io::Error, doing: &str) -> NetError {
        match err.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                NetError::Timeout(format!("timed out {doing}"))
            }
            io::ErrorKind::UnexpectedEof => {
                NetError::Closed(format!("connection closed by peer {doing}"))
            }
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected => {
                NetError::Closed(format!("connection lost {doing}: {}", lower(err)))
            }
            _ => NetError::Closed(format!("{doing}: {}", lower(err))),
        }
    }

    pub(crate) fn local(err: &io::Error, doing: &str) -> NetError {
        NetError::Io(format!("{doing}: {}", lower(err)))
    }
}

/// std's messages start with a capital and may carry "(os error N)"; our lines are
/// lowercase.
fn lower(err: &io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(crate) fn connect_error(err: &io::Error, addr: std::net::SocketAddr) -> NetError {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            NetError::Unreachable(format!("{addr}: timed out connecting"))
        }
        _ => NetError::Unreachable(format!("{addr}: {}", lower(err))),
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Unreachable(m)
            | NetError::Timeout(m)
            | NetError::Closed(m)
            | NetError::Mechanism(m)
            | NetError::Io(m) => f.write_str(m),
            NetError::Protocol(m) => write!(f, "protocol error: {m}"),
            NetError::Denied(m) => write!(f, "access denied: {m}"),
        }
    }
}

impl std::error::Error for NetError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_exit_codes() {
        let cases = [
            (NetError::Unreachable("x".into()), 69),
            (NetError::Timeout("x".into()), 69),
            (NetError::Closed("x".into()), 69),
            (NetError::Protocol("x".into()), 76),
            (NetError::Mechanism("x".into()), 77),
            (NetError::Denied("x".into()), 77),
            (NetError::Io("x".into()), 74),
        ];
        for (err, code) in cases {
            assert_eq!(err.exit_code(), code, "{err}");
        }
    }

    #[test]
    fn io_errors_read_as_one_lowercase_line() {
        let err = io::Error::from(io::ErrorKind::ConnectionRefused);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
        let text = connect_error(&err, addr).to_string();
        assert!(
            text.starts_with("127.0.0.1:9: connection refused"),
            "{text}"
        );
        assert!(!text.ends_with('.'));
    }
}

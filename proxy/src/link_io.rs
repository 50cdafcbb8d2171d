//! Moving a ZMTP link's bytes to and from its non-blocking socket, for client
//! connections and the uplink alike.

use std::io::{self, Read, Write};

use woof_net::zmtp::{Authenticate, Link, Message, NetError};

/// Replies queued for a peer that does not read them: beyond this they are
/// dropped (the peer loses replies, the proxy keeps its memory), as a ROUTER
/// drops at its high-water mark.
pub const MAX_PENDING: usize = 256 * 1024 * 1024;

/// What a read or write left of a connection.
#[derive(PartialEq)]
pub enum Left {
    Open,
    Gone,
}

/// Writes what `link` has pending to `stream` until it would block.
pub fn write_out(stream: &mut impl Write, link: &mut Link) -> Left {
    loop {
        let pending = link.pending();
        if pending.is_empty() {
            return Left::Open;
        }
        match stream.write(pending) {
            Ok(0) => return Left::Gone,
            Ok(n) => link.wrote(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Left::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Left::Gone,
        }
    }
}

/// What reading a connection dry left.
pub struct Drained {
    pub left: Left,
    /// Bytes read (a silent peer reads none).
    pub bytes: usize,
    /// The link failed on what came: the rest was read and dropped.
    pub failed: Option<NetError>,
}

/// Reads all there is (the poll is edge-triggered) and feeds it to `link`, whole
/// messages to `messages`. Once the link has failed (`failed`, or on what comes
/// now) the bytes are read and dropped, so the peer is not reset before it has read
/// our ERROR.
pub fn read_in(
    stream: &mut impl Read,
    link: &mut Link,
    failed: bool,
    buf: &mut [u8],
    auth: &mut Authenticate,
    messages: &mut Vec<Message>,
) -> Drained {
    let mut got = Drained {
        left: Left::Open,
        bytes: 0,
        failed: None,
    };
    loop {
        let n = match stream.read(buf) {
            Ok(0) => {
                got.left = Left::Gone;
                return got;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                got.left = Left::Gone;
                return got;
            }
        };
        got.bytes += n;
        if failed || got.failed.is_some() {
            continue;
        }
        if let Err(e) = link.input(&buf[..n], auth, messages) {
            got.failed = Some(e);
        }
    }
}

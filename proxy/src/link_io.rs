//! Writing a ZMTP link's queued bytes to its non-blocking socket, for client
//! connections and the uplink alike.

use std::io::{self, Write};

use woof_net::zmtp::Link;

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

//! What a woof client reads from a server that is not what it should be: the
//! greeting, the NULL and CURVE handshakes (frames, commands, metadata, ERROR),
//! then replies with heartbeats among them. The input is the server's side of a
//! socket pair; the client must end with a result or an error, never a panic or
//! a hang (the deadline bounds every read).

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use woof_net::zmtp::{Conn, CurveClient, NetError, Security};

pub fn run(data: &[u8]) {
    let _ = replies(data);
}

/// The replies a client gets from the server bytes in `data` (after a mode byte:
/// bit 0 the one-write NULL handshake, bit 1 CURVE), up to the first error.
pub fn replies(data: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<NetError>) {
    let mut got = Vec::new();
    let Some((&mode, server_bytes)) = data.split_first() else {
        return (got, None);
    };
    let (client, mut server) = match UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => return (got, Some(NetError::Io(e.to_string()))),
    };
    // Fuzz inputs are far smaller than a socket buffer: all of it fits, then EOF.
    if let Err(e) = server
        .write_all(server_bytes)
        .and_then(|()| server.shutdown(Shutdown::Write))
    {
        return (got, Some(NetError::Io(e.to_string())));
    }
    // ZMTP runs over any stream socket; the client only reads, writes and sets timeouts.
    let stream = TcpStream::from(OwnedFd::from(client));
    let security = if mode & 2 != 0 {
        Security::Curve(CurveClient {
            server_public: [7; 32],
            public: [8; 32],
            secret: [9; 32],
        })
    } else {
        Security::Null
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut conn = match Conn::over_stream(stream, &security, mode & 1 != 0, deadline) {
        Ok(conn) => conn,
        Err(e) => return (got, Some(e)),
    };
    conn.set_limits(1 << 16, 1 << 18);
    for _ in 0..8 {
        match conn.request(&[b"woof", b"info", b"w"], deadline) {
            Ok(reply) => got.push(reply),
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

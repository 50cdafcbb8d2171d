//! What woof-proxy reads from a client that is not what it should be: the greeting,
//! the NULL and CURVE handshakes (HELLO, INITIATE, metadata), then messages with
//! commands among them, arriving in pieces of any size. The server side must end
//! each piece with messages or an error, never panic, stay failed once failed, and
//! never hand on a part or a message over its limits.

use woof_net::zmtp::{Link, Message, ServerKeys};

/// Limits small enough for the fuzzer to reach.
const MAX_FRAME: usize = 1 << 12;
const MAX_MESSAGE: usize = 1 << 14;

pub fn run(data: &[u8]) {
    let _ = messages(data);
}

/// The messages a server takes from the client bytes in `data`, after a mode byte
/// (bit 0: CURVE with a fixed key pair; bits 1-7: the size of the pieces the bytes
/// arrive in, 0 for all at once).
pub fn messages(data: &[u8]) -> Vec<Message> {
    let mut got = Vec::new();
    let Some((&mode, client)) = data.split_first() else {
        return got;
    };
    let keys = (mode & 1 != 0).then(|| std::sync::Arc::new(ServerKeys::from_secret([9; 32])));
    let mut conn = Link::accepted(keys, MAX_FRAME, MAX_MESSAGE);
    let mut auth = |key: &[u8; 32]| (key == &[8; 32]).then(|| "fuzz".to_string());
    let piece = usize::from(mode >> 1).max(1);
    let pieces: Vec<&[u8]> = if mode >> 1 == 0 {
        vec![client]
    } else {
        client.chunks(piece).collect()
    };
    let mut failed = false;
    for p in pieces {
        let mut messages = Vec::new();
        let result = conn.input(p, &mut auth, &mut messages);
        assert!(
            !(failed && result.is_ok()),
            "a failed connection took input"
        );
        failed |= result.is_err();
        for m in &messages {
            assert!(m.iter().all(|part| part.len() <= MAX_FRAME));
            assert!(m.iter().map(Vec::len).sum::<usize>() <= MAX_MESSAGE);
        }
        got.extend(messages);
        // What it would write: the greeting, handshake commands and PONGs only.
        let n = conn.pending().len();
        conn.wrote(n);
        if conn.is_ready() {
            assert!(conn.send(&[b"reply".to_vec()]).is_ok() || failed);
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_null_seed_gives_its_three_messages_in_any_pieces() {
        for (name, seed) in crate::seeds::zmtp_client_streams() {
            let got = messages(&seed);
            if name.starts_with("null") {
                assert_eq!(got.len(), 3, "{name}");
                assert_eq!(
                    got[0],
                    vec![b"".to_vec(), b"WOOF/1".to_vec(), b"info".to_vec()]
                );
                assert_eq!(got[1], vec![vec![b'x'; 300]]);
            } else {
                assert!(got.is_empty(), "{name}");
            }
        }
    }
}

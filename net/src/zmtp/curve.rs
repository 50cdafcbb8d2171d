//! The CURVE mechanism (CurveZMQ, RFC 26) as libzmq 4.3 speaks it, client side.
//!
//! Handshake: HELLO (our transient key C' and a box proving we know the server's
//! long-term key S) → WELCOME (the server's transient key S' and a cookie) →
//! INITIATE (the cookie, our long-term key C and a vouch binding C' to C, plus our
//! metadata) → READY (the server's metadata). Afterwards every message part is a
//! `MESSAGE`: a short nonce and a box of flags + payload under (S', c').
//!
//! Boxes are NaCl `crypto_box`: X25519 + XSalsa20Poly1305. On the wire a box is the
//! 16-byte Poly1305 tag followed by the ciphertext (what libsodium's `_easy` calls
//! produce, and `crypto_box` after stripping its 16 zero bytes). RustCrypto's
//! `SalsaBox` gives us the tag detached, so we lay it out ourselves.
//!
//! Full nonces are a 16-byte ASCII prefix naming the command plus an 8-byte
//! big-endian counter (or the 8-byte prefix `WELCOME-`/`VOUCH---` plus 16 bytes).
//! Our counter starts at 1 and is shared by HELLO, INITIATE and all MESSAGEs; the
//! server's must strictly increase from its READY on, or someone replays frames.

use std::time::Instant;

use crypto_box::aead::AeadInPlace;
use crypto_box::{Nonce, PublicKey, SalsaBox, SecretKey};
use zeroize::Zeroize;

use super::error::NetError;
use super::frame::{self, FLAG_COMMAND, FLAG_MORE};
use super::metadata;
use super::wire::Wire;
use super::{CurveClient, MAX_HANDSHAKE_FRAME};

pub(crate) const TAG: usize = 16;
const MESSAGE_NAME: &[u8] = b"\x07MESSAGE";
/// A MESSAGE body beyond its payload: name, short nonce, tag, flags byte.
pub(crate) const MESSAGE_OVERHEAD: usize = MESSAGE_NAME.len() + 8 + TAG + 1;

/// Flags inside a MESSAGE box (libzmq's msg_t flags, not the frame flags).
const INNER_MORE: u8 = 0x01;
const INNER_COMMAND: u8 = 0x02;

/// A fresh key pair (public, secret) from the OS random number generator, as
/// `zmq_curve_keypair` makes (use `z85::encode_key` for the text form).
pub fn curve_keypair() -> Result<([u8; 32], [u8; 32]), NetError> {
    let secret = random_secret()?;
    let public = secret.public_key().to_bytes();
    Ok((public, secret.to_bytes()))
}

pub(crate) fn random_secret() -> Result<SecretKey, NetError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| NetError::Io(format!("reading the OS random number generator: {e}")))?;
    let secret = SecretKey::from(bytes);
    bytes.zeroize();
    Ok(secret)
}

pub(crate) fn short_nonce(prefix: &[u8; 16], counter: u64) -> Nonce {
    let mut n = [0u8; 24];
    n[..16].copy_from_slice(prefix);
    n[16..].copy_from_slice(&counter.to_be_bytes());
    Nonce::from(n)
}

pub(crate) fn long_nonce(prefix: &[u8; 8], tail: &[u8; 16]) -> Nonce {
    let mut n = [0u8; 24];
    n[..8].copy_from_slice(prefix);
    n[8..].copy_from_slice(tail);
    Nonce::from(n)
}

/// Appends box(plaintext) as tag || ciphertext.
pub(crate) fn seal_into(
    out: &mut Vec<u8>,
    cipher: &SalsaBox,
    nonce: &Nonce,
    plaintext: &[u8],
) -> Result<(), NetError> {
    let tag_at = out.len();
    out.extend_from_slice(&[0u8; TAG]);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(nonce, b"", &mut out[tag_at + TAG..])
        .map_err(|_| NetError::protocol("encrypting a CURVE box failed"))?;
    out[tag_at..tag_at + TAG].copy_from_slice(&tag);
    Ok(())
}

/// Opens a box (tag || ciphertext) in place; returns the plaintext's range in `boxed`.
pub(crate) fn open_in_place(cipher: &SalsaBox, nonce: &Nonce, boxed: &mut [u8]) -> Result<(), ()> {
    if boxed.len() < TAG {
        return Err(());
    }
    let (tag, text) = boxed.split_at_mut(TAG);
    let tag = crypto_box::Tag::clone_from_slice(tag);
    cipher
        .decrypt_in_place_detached(nonce, b"", text, &tag)
        .map_err(|_| ())
}

/// An established CURVE session: the precomputed (S', c') box, both counters, and
/// the nonce prefixes of each direction (a client sends `...MESSAGEC`, a server
/// `...MESSAGES`).
pub(crate) struct Session {
    cipher: SalsaBox,
    next_nonce: u64,
    peer_nonce: u64,
    ours: &'static [u8; 16],
    theirs: &'static [u8; 16],
}

const FROM_CLIENT: &[u8; 16] = b"CurveZMQMESSAGEC";
const FROM_SERVER: &[u8; 16] = b"CurveZMQMESSAGES";

/// Reads the next handshake command into `scratch`; an ERROR becomes `Denied`, and
/// a closed connection gets `on_close`'s explanation.
fn read_command<'a>(
    wire: &mut Wire,
    scratch: &'a mut Vec<u8>,
    deadline: Instant,
    doing: &str,
    on_close: fn() -> NetError,
) -> Result<frame::Command<'a>, NetError> {
    let flags = match frame::read_frame(wire, scratch, MAX_HANDSHAKE_FRAME, deadline, doing) {
        Ok(flags) => flags,
        Err(NetError::Closed(_)) => return Err(on_close()),
        Err(e) => return Err(e),
    };
    if flags & FLAG_COMMAND == 0 {
        return Err(NetError::protocol(
            "server sent a message during the CURVE handshake",
        ));
    }
    let cmd = frame::parse_command(scratch)?;
    if cmd.name == b"ERROR" {
        return Err(NetError::Denied(metadata::error_reason(cmd.data)));
    }
    Ok(cmd)
}

/// Runs the client side of the handshake after the greetings.
pub(crate) fn handshake(
    wire: &mut Wire,
    keys: &CurveClient,
    wbuf: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    deadline: Instant,
) -> Result<Session, NetError> {
    let (mut hello, data) = ClientHello::new(keys)?;
    // wbuf holds the end of our greeting.
    frame::put_command(wbuf, b"HELLO", &data);
    wire.write_all(wbuf, deadline, "sending CURVE HELLO")?;

    let welcome = read_command(wire, scratch, deadline, "waiting for CURVE WELCOME", || {
        NetError::protocol(
            "server closed the connection after our CURVE HELLO (wrong server public key?)",
        )
    })?;
    if welcome.name != b"WELCOME" {
        return Err(NetError::protocol(format!(
            "expected CURVE WELCOME, got {}",
            frame::show(welcome.name)
        )));
    }
    let initiate = hello.initiate(keys, welcome.data)?;
    wbuf.clear();
    frame::put_command(wbuf, b"INITIATE", &initiate);
    wire.write_all(wbuf, deadline, "sending CURVE INITIATE")?;

    let ready = read_command(wire, scratch, deadline, "waiting for CURVE READY", || {
        NetError::Denied(
            "server closed the connection after our CURVE INITIATE (client key refused?)".into(),
        )
    })?;
    if ready.name != b"READY" {
        return Err(NetError::protocol(format!(
            "expected CURVE READY, got {}",
            frame::show(ready.name)
        )));
    }
    hello.ready(ready.data)
}

/// The client's side of a handshake in steps, for the blocking client above and
/// a dialer without I/O of its own: HELLO's data from `new`, INITIATE's from
/// `initiate` (given WELCOME's), the session from `ready` (given READY's).
pub(crate) struct ClientHello {
    transient: SecretKey,
    /// (S, c'): HELLO's signature box and WELCOME.
    to_server: SalsaBox,
    /// (S', c'): INITIATE, READY and every message, once WELCOME is in.
    cipher: Option<SalsaBox>,
    counter: u64,
}

impl ClientHello {
    /// HELLO: version 1.0, 72 bytes of anti-amplification padding, C', short
    /// nonce, box of 64 zero bytes.
    pub(crate) fn new(keys: &CurveClient) -> Result<(ClientHello, Vec<u8>), NetError> {
        let server = PublicKey::from(keys.server_public);
        let transient = random_secret()?;
        let to_server = SalsaBox::new(&server, &transient);
        let counter: u64 = 1;
        let mut hello = Vec::with_capacity(194);
        hello.extend_from_slice(&[1, 0]);
        hello.extend_from_slice(&[0u8; 72]);
        hello.extend_from_slice(transient.public_key().as_bytes());
        hello.extend_from_slice(&counter.to_be_bytes());
        seal_into(
            &mut hello,
            &to_server,
            &short_nonce(b"CurveZMQHELLO---", counter),
            &[0u8; 64],
        )?;
        Ok((
            ClientHello {
                transient,
                to_server,
                cipher: None,
                counter: counter + 1,
            },
            hello,
        ))
    }

    /// Opens WELCOME (16-byte long nonce, box of S' and the 96-byte cookie) and
    /// returns INITIATE's data: the cookie, a short nonce, and a box of C, the
    /// vouch (C owns C') and our metadata.
    pub(crate) fn initiate(
        &mut self,
        keys: &CurveClient,
        welcome: &[u8],
    ) -> Result<Vec<u8>, NetError> {
        let mut data = [0u8; 16 + TAG + 128];
        if welcome.len() != data.len() {
            return Err(NetError::protocol("malformed CURVE WELCOME"));
        }
        data.copy_from_slice(welcome);
        let (nonce_tail, boxed) = data.split_at_mut(16);
        let mut tail = [0u8; 16];
        tail.copy_from_slice(nonce_tail);
        open_in_place(&self.to_server, &long_nonce(b"WELCOME-", &tail), boxed).map_err(|()| {
            NetError::protocol("cannot open the server's CURVE WELCOME (wrong server public key?)")
        })?;
        let plain = &boxed[TAG..];
        let mut server_transient = [0u8; 32];
        server_transient.copy_from_slice(&plain[..32]);
        let cookie = &plain[32..128];
        let server_transient = PublicKey::from(server_transient);
        let cipher = SalsaBox::new(&server_transient, &self.transient);

        // The vouch: box [C', S] from our long-term key to S', proving C owns C'.
        let long_term = SecretKey::from(keys.secret);
        let vouch_cipher = SalsaBox::new(&server_transient, &long_term);
        let mut vouch_tail = [0u8; 16];
        getrandom::fill(&mut vouch_tail)
            .map_err(|e| NetError::Io(format!("reading the OS random number generator: {e}")))?;
        let mut vouch_plain = [0u8; 64];
        vouch_plain[..32].copy_from_slice(self.transient.public_key().as_bytes());
        vouch_plain[32..].copy_from_slice(&keys.server_public);
        let mut inner = Vec::with_capacity(128 + 32);
        inner.extend_from_slice(&keys.public);
        inner.extend_from_slice(&vouch_tail);
        seal_into(
            &mut inner,
            &vouch_cipher,
            &long_nonce(b"VOUCH---", &vouch_tail),
            &vouch_plain,
        )?;
        inner.extend_from_slice(&metadata::ours());

        let mut initiate = Vec::with_capacity(96 + 8 + TAG + inner.len());
        initiate.extend_from_slice(cookie);
        initiate.extend_from_slice(&self.counter.to_be_bytes());
        seal_into(
            &mut initiate,
            &cipher,
            &short_nonce(b"CurveZMQINITIATE", self.counter),
            &inner,
        )?;
        self.counter += 1;
        self.cipher = Some(cipher);
        Ok(initiate)
    }

    /// Opens READY (short nonce, box of the server's metadata): the session.
    pub(crate) fn ready(self, ready: &[u8]) -> Result<Session, NetError> {
        let Some(cipher) = self.cipher else {
            return Err(NetError::protocol("CURVE READY before WELCOME"));
        };
        if ready.len() < 8 + TAG {
            return Err(NetError::protocol("malformed CURVE READY"));
        }
        let mut data = ready.to_vec();
        let (nonce, boxed) = data.split_at_mut(8);
        let peer_nonce = u64::from_be_bytes([
            nonce[0], nonce[1], nonce[2], nonce[3], nonce[4], nonce[5], nonce[6], nonce[7],
        ]);
        open_in_place(
            &cipher,
            &short_nonce(b"CurveZMQREADY---", peer_nonce),
            boxed,
        )
        .map_err(|()| NetError::protocol("cannot open the server's CURVE READY"))?;
        metadata::check_server(&boxed[TAG..])?;
        Ok(Session {
            cipher,
            next_nonce: self.counter,
            peer_nonce,
            ours: FROM_CLIENT,
            theirs: FROM_SERVER,
        })
    }
}

/// What a MESSAGE carried besides its payload.
pub(crate) struct Opened {
    pub more: bool,
    pub command: bool,
}

impl Session {
    /// The server's side of a session whose READY went out with nonce `sent` and
    /// whose client's last nonce (INITIATE's) was `peer_nonce`.
    pub(crate) fn server(cipher: SalsaBox, sent: u64, peer_nonce: u64) -> Session {
        Session {
            cipher,
            next_nonce: sent + 1,
            peer_nonce,
            ours: FROM_SERVER,
            theirs: FROM_CLIENT,
        }
    }

    /// Appends one message part as a MESSAGE frame; `frame_flags` carries MORE.
    pub(crate) fn put_message(
        &mut self,
        out: &mut Vec<u8>,
        frame_flags: u8,
        payload: &[u8],
    ) -> Result<(), NetError> {
        let inner = if frame_flags & FLAG_MORE != 0 {
            INNER_MORE
        } else {
            0
        };
        self.put(out, inner, payload)
    }

    /// Appends a command (PONG) sent inside a MESSAGE, as libzmq does under CURVE.
    pub(crate) fn put_command(&mut self, out: &mut Vec<u8>, body: &[u8]) -> Result<(), NetError> {
        self.put(out, INNER_COMMAND, body)
    }

    fn put(&mut self, out: &mut Vec<u8>, inner: u8, payload: &[u8]) -> Result<(), NetError> {
        // libzmq sends MESSAGE as a plain frame (no MORE, no COMMAND flag outside):
        // MORE travels inside the box.
        frame::put_header(out, 0, MESSAGE_OVERHEAD + payload.len());
        out.extend_from_slice(MESSAGE_NAME);
        out.extend_from_slice(&self.next_nonce.to_be_bytes());
        let tag_at = out.len();
        out.extend_from_slice(&[0u8; TAG]);
        out.push(inner);
        out.extend_from_slice(payload);
        let nonce = short_nonce(self.ours, self.next_nonce);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce, b"", &mut out[tag_at + TAG..])
            .map_err(|_| NetError::protocol("encrypting a CURVE message failed"))?;
        out[tag_at..tag_at + TAG].copy_from_slice(&tag);
        self.next_nonce += 1;
        Ok(())
    }

    /// Opens a MESSAGE frame body in place, leaving just the payload in `body`.
    pub(crate) fn open(&mut self, body: &mut Vec<u8>) -> Result<Opened, NetError> {
        if body.len() < MESSAGE_OVERHEAD || !body.starts_with(MESSAGE_NAME) {
            return Err(NetError::protocol("malformed CURVE MESSAGE"));
        }
        let mut counter = [0u8; 8];
        counter.copy_from_slice(&body[8..16]);
        let counter = u64::from_be_bytes(counter);
        if counter <= self.peer_nonce {
            return Err(NetError::protocol(
                "CURVE message nonce did not increase (replayed frame?)",
            ));
        }
        let nonce = short_nonce(self.theirs, counter);
        open_in_place(&self.cipher, &nonce, &mut body[16..])
            .map_err(|()| NetError::protocol("CURVE message failed authentication"))?;
        self.peer_nonce = counter;
        let inner = body[16 + TAG];
        body.copy_within(MESSAGE_OVERHEAD.., 0);
        body.truncate(body.len() - MESSAGE_OVERHEAD);
        Ok(Opened {
            more: inner & INNER_MORE != 0,
            command: inner & INNER_COMMAND != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> SecretKey {
        SecretKey::from([byte; 32])
    }

    /// A client session and the server's side of the same (S', c') box.
    fn pair() -> (Session, SalsaBox) {
        let (client, server) = (secret(1), secret(2));
        let session = Session {
            cipher: SalsaBox::new(&server.public_key(), &client),
            next_nonce: 3,
            peer_nonce: 1,
            ours: FROM_CLIENT,
            theirs: FROM_SERVER,
        };
        (session, SalsaBox::new(&client.public_key(), &server))
    }

    fn server_message(server: &SalsaBox, counter: u64, inner: u8, payload: &[u8]) -> Vec<u8> {
        let mut body = MESSAGE_NAME.to_vec();
        body.extend_from_slice(&counter.to_be_bytes());
        let mut plain = vec![inner];
        plain.extend_from_slice(payload);
        let nonce = short_nonce(FROM_SERVER, counter);
        assert!(seal_into(&mut body, server, &nonce, &plain).is_ok());
        body
    }

    #[test]
    fn messages_open_once_and_in_order() {
        let (mut session, server) = pair();
        let msg = server_message(&server, 2, INNER_MORE, b"hello");
        let mut body = msg.clone();
        let opened = session.open(&mut body).ok();
        assert!(opened.is_some_and(|o| o.more && !o.command));
        assert_eq!(body, b"hello");
        // The same frame again is a replay; an older counter too.
        assert!(session.open(&mut msg.clone()).is_err());
        assert!(
            session
                .open(&mut server_message(&server, 1, 0, b"x"))
                .is_err()
        );
        // A flipped bit fails authentication.
        let mut bad = server_message(&server, 3, 0, b"hello");
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(session.open(&mut bad).is_err());
        // Too short to hold a box.
        assert!(session.open(&mut MESSAGE_NAME.to_vec()).is_err());
        let mut cmd = server_message(&server, 4, INNER_COMMAND, b"\x04PING\0\0");
        assert!(session.open(&mut cmd).is_ok_and(|o| o.command && !o.more));
    }

    #[test]
    fn our_messages_open_on_the_server_side() {
        let (mut session, server) = pair();
        let mut out = Vec::new();
        assert!(session.put_message(&mut out, FLAG_MORE, b"abc").is_ok());
        // Frame header: no flags outside, short size.
        assert_eq!(out[..2], [0, (MESSAGE_OVERHEAD + 3) as u8]);
        let body = &mut out[2..];
        assert_eq!(&body[..8], MESSAGE_NAME);
        assert_eq!(body[8..16], 3u64.to_be_bytes());
        let nonce = short_nonce(b"CurveZMQMESSAGEC", 3);
        assert!(open_in_place(&server, &nonce, &mut body[16..]).is_ok());
        assert_eq!(&body[16 + TAG..], b"\x01abc");
        assert_eq!(session.next_nonce, 4);
    }
}

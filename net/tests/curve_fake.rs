//! CURVE against a hand-written server (RFC 26 from the server's side), for what a
//! stock libzmq server cannot be made to do from the zmq crate: send heartbeat
//! PINGs inside MESSAGE boxes, or replay a frame.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{drain, fake_server, greeting, read_frame, soon};
use crypto_box::aead::AeadInPlace;
use crypto_box::{Nonce, PublicKey, SalsaBox, SecretKey};
use woof_net::zmtp::{Conn, CurveClient, NetErrorKind, Security, curve_keypair};

fn nonce(prefix: &[u8], tail: &[u8]) -> Nonce {
    let mut n = [0u8; 24];
    n[..prefix.len()].copy_from_slice(prefix);
    n[prefix.len()..].copy_from_slice(tail);
    Nonce::from(n)
}

fn seal(cipher: &SalsaBox, n: &Nonce, plain: &[u8]) -> Vec<u8> {
    let mut text = plain.to_vec();
    let tag = cipher.encrypt_in_place_detached(n, b"", &mut text).unwrap();
    let mut out = tag.to_vec();
    out.extend_from_slice(&text);
    out
}

fn open(cipher: &SalsaBox, n: &Nonce, boxed: &[u8]) -> Vec<u8> {
    let (tag, text) = boxed.split_at(16);
    let mut text = text.to_vec();
    cipher
        .decrypt_in_place_detached(n, b"", &mut text, crypto_box::Tag::from_slice(tag))
        .unwrap();
    text
}

fn command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let len = 1 + name.len() + data.len();
    let mut out = if len > 255 {
        let mut h = vec![0x06];
        h.extend_from_slice(&(len as u64).to_be_bytes());
        h
    } else {
        vec![0x04, len as u8]
    };
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    out
}

/// The server's side of an established session.
struct Server {
    stream: TcpStream,
    cipher: SalsaBox,
    counter: u64,
}

impl Server {
    /// Runs the server side of the handshake, checking everything the client sends.
    fn accept(mut s: TcpStream, secret: &SecretKey, client_public: [u8; 32]) -> Server {
        s.write_all(&greeting("CURVE")).unwrap();
        let mut theirs = [0u8; 64];
        s.read_exact(&mut theirs).unwrap();
        assert_eq!(&theirs[12..18], b"CURVE\0");

        let (flags, hello) = read_frame(&mut s);
        assert_eq!(flags, 0x04);
        assert_eq!(hello.len(), 200);
        assert_eq!(&hello[..8], b"\x05HELLO\x01\x00");
        assert!(hello[8..80].iter().all(|&b| b == 0));
        let c_transient = PublicKey::from_slice(&hello[80..112]).unwrap();
        let to_client = SalsaBox::new(&c_transient, secret);
        let sig = open(
            &to_client,
            &nonce(b"CurveZMQHELLO---", &hello[112..120]),
            &hello[120..],
        );
        assert_eq!(sig, [0u8; 64]);

        let s_transient = SecretKey::from([9u8; 32]);
        let mut plain = s_transient.public_key().as_bytes().to_vec();
        plain.extend_from_slice(&[0xc0; 96]); // the cookie: opaque to the client
        let long = [5u8; 16];
        let mut welcome = long.to_vec();
        welcome.extend(seal(&to_client, &nonce(b"WELCOME-", &long), &plain));
        s.write_all(&command(b"WELCOME", &welcome)).unwrap();

        let (_, initiate) = read_frame(&mut s);
        assert_eq!(&initiate[..9], b"\x08INITIATE");
        assert_eq!(initiate[9..105], [0xc0; 96]);
        let cipher = SalsaBox::new(&c_transient, &s_transient);
        let inner = open(
            &cipher,
            &nonce(b"CurveZMQINITIATE", &initiate[105..113]),
            &initiate[113..],
        );
        assert_eq!(inner[..32], client_public);
        let vouch_cipher =
            SalsaBox::new(&PublicKey::from_slice(&inner[..32]).unwrap(), &s_transient);
        let vouch = open(
            &vouch_cipher,
            &nonce(b"VOUCH---", &inner[32..48]),
            &inner[48..128],
        );
        assert_eq!(vouch[..32], *c_transient.as_bytes());
        assert_eq!(vouch[32..], *secret.public_key().as_bytes());
        assert_eq!(&inner[128..], b"\x0bSocket-Type\0\0\0\x06DEALER");

        let mut ready = 1u64.to_be_bytes().to_vec();
        ready.extend(seal(
            &cipher,
            &nonce(b"CurveZMQREADY---", &1u64.to_be_bytes()),
            b"\x0bSocket-Type\0\0\0\x06ROUTER",
        ));
        s.write_all(&command(b"READY", &ready)).unwrap();
        Server {
            stream: s,
            cipher,
            counter: 2,
        }
    }

    /// A MESSAGE frame with the given inner flags, at the given counter.
    fn message_at(&self, counter: u64, inner: u8, payload: &[u8]) -> Vec<u8> {
        let mut plain = vec![inner];
        plain.extend_from_slice(payload);
        let mut body = b"\x07MESSAGE".to_vec();
        body.extend_from_slice(&counter.to_be_bytes());
        body.extend(seal(
            &self.cipher,
            &nonce(b"CurveZMQMESSAGES", &counter.to_be_bytes()),
            &plain,
        ));
        let mut out = vec![0x00, body.len() as u8];
        out.extend(body);
        out
    }

    fn send(&mut self, inner: u8, payload: &[u8]) {
        let frame = self.message_at(self.counter, inner, payload);
        self.counter += 1;
        self.stream.write_all(&frame).unwrap();
    }

    /// Reads one client MESSAGE: (inner flags, payload).
    fn recv(&mut self) -> (u8, Vec<u8>) {
        let (flags, body) = read_frame(&mut self.stream);
        assert_eq!(flags & 0x04, 0, "MESSAGE goes out as a plain frame");
        assert_eq!(&body[..8], b"\x07MESSAGE");
        let plain = open(
            &self.cipher,
            &nonce(b"CurveZMQMESSAGEC", &body[8..16]),
            &body[16..],
        );
        (plain[0], plain[1..].to_vec())
    }
}

fn start(script: impl FnOnce(Server) + Send + 'static) -> (std::net::SocketAddr, Security) {
    let server_secret = SecretKey::from([3u8; 32]);
    let server_public = *server_secret.public_key().as_bytes();
    let (public, secret) = curve_keypair().unwrap();
    let addr = fake_server(move |s| script(Server::accept(s, &server_secret, public)));
    let security = Security::Curve(CurveClient {
        server_public,
        public,
        secret,
    });
    (addr, security)
}

#[test]
fn handshake_checks_out_and_pings_inside_boxes_get_pongs() {
    let (addr, security) = start(|mut server| {
        assert_eq!(server.recv(), (0x01, vec![]));
        assert_eq!(server.recv(), (0x00, b"get".to_vec()));
        server.send(0x02, b"\x04PING\x00\x10ctx");
        server.send(0x01, b"");
        server.send(0x00, b"ok");
        assert_eq!(server.recv(), (0x02, b"\x04PONGctx".to_vec()));
        // Only a server that saw the PONG answers the second request.
        assert_eq!(server.recv(), (0x01, vec![]));
        assert_eq!(server.recv(), (0x00, b"again".to_vec()));
        server.send(0x01, b"");
        server.send(0x00, b"ok2");
        drain(server.stream);
    });
    let mut conn = Conn::connect(addr, &security, soon()).unwrap();
    assert_eq!(
        conn.request(&[b"get"], soon()).unwrap(),
        vec![b"ok".to_vec()]
    );
    assert_eq!(
        conn.request(&[b"again"], soon()).unwrap(),
        vec![b"ok2".to_vec()]
    );
}

#[test]
fn a_replayed_message_is_a_protocol_error() {
    let (addr, security) = start(|mut server| {
        server.recv();
        server.recv();
        let frame = server.message_at(2, 0x01, b"");
        server.stream.write_all(&frame).unwrap();
        server.stream.write_all(&frame).unwrap();
        drain(server.stream);
    });
    let mut conn = Conn::connect(addr, &security, soon()).unwrap();
    let err = conn.request(&[b"get"], soon()).err().unwrap();
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("nonce"), "{err}");
}

#[test]
fn a_forged_message_is_a_protocol_error() {
    let (addr, security) = start(|mut server| {
        server.recv();
        server.recv();
        let mut frame = server.message_at(2, 0x00, b"");
        let last = frame.len() - 1;
        frame[last] ^= 0x80;
        server.stream.write_all(&frame).unwrap();
        drain(server.stream);
    });
    let mut conn = Conn::connect(addr, &security, soon()).unwrap();
    let err = conn.request(&[b"get"], soon()).err().unwrap();
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("authentication"), "{err}");
}

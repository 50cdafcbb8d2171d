//! Timeouts, hang-ups and malformed servers: every one is a typed error within the
//! deadline, never a panic or a hang.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::{drain, fake_server, greeting, null_handshake, read_message, soon};
use woof_net::zmtp::{Conn, NetError, NetErrorKind, Security};

fn in_ms(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

fn connect_err(addr: std::net::SocketAddr, deadline: Instant) -> NetError {
    Conn::connect(addr, &Security::Null, deadline)
        .err()
        .unwrap()
}

#[test]
fn closed_port_is_unreachable() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The listener is dropped: nothing listens there now.
    let err = connect_err(addr, soon());
    assert_eq!(err.kind(), NetErrorKind::Unreachable, "{err}");
    assert!(err.to_string().contains("refused"), "{err}");
}

#[test]
fn a_passed_deadline_is_unreachable_before_connecting() {
    let addr = fake_server(drain);
    let err = connect_err(addr, Instant::now());
    assert_eq!(err.kind(), NetErrorKind::Unreachable, "{err}");
}

#[test]
fn a_silent_listener_times_out() {
    let addr = fake_server(drain);
    let err = connect_err(addr, in_ms(300));
    assert_eq!(err.kind(), NetErrorKind::Timeout, "{err}");
}

#[test]
fn a_silent_server_times_out_waiting_for_a_reply_and_stays_failed() {
    let addr = fake_server(|mut s| {
        null_handshake(&mut s);
        drain(s);
    });
    let mut conn = Conn::connect(addr, &Security::Null, soon()).unwrap();
    let err = conn.request(&[b"x"], in_ms(300)).err().unwrap();
    assert_eq!(err.kind(), NetErrorKind::Timeout, "{err}");
    // The connection may be mid-frame now: it refuses further use.
    let again = conn.request(&[b"y"], soon()).err().unwrap();
    assert_eq!(again, err);
}

#[test]
fn peer_closing_mid_reply_is_closed() {
    let addr = fake_server(|mut s| {
        null_handshake(&mut s);
        assert_eq!(read_message(&mut s), vec![b"".to_vec(), b"get".to_vec()]);
        // The delimiter with MORE, then half of a 10-byte frame, then hang up.
        s.write_all(&[0x01, 0x00, 0x00, 10, b'a', b'b']).unwrap();
    });
    let mut conn = Conn::connect(addr, &Security::Null, soon()).unwrap();
    let err = conn.request(&[b"get"], soon()).err().unwrap();
    assert_eq!(err.kind(), NetErrorKind::Closed, "{err}");
}

#[test]
fn bad_signature_is_a_protocol_error() {
    let addr = fake_server(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        drain(s);
    });
    let err = connect_err(addr, soon());
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("signature"), "{err}");
}

#[test]
fn zmtp_2_is_a_protocol_error() {
    let addr = fake_server(|mut s| {
        let mut g = greeting("NULL");
        g[10] = 1; // ZMTP 2.0's revision byte
        let _ = s.write_all(&g[..12]);
        drain(s);
    });
    let err = connect_err(addr, soon());
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("revision 1"), "{err}");
}

#[test]
fn other_mechanisms_are_named() {
    let addr = fake_server(|mut s| {
        let _ = s.write_all(&greeting("PLAIN"));
        drain(s);
    });
    let err = connect_err(addr, soon());
    assert_eq!(err.kind(), NetErrorKind::Mechanism, "{err}");
    assert!(err.to_string().contains("PLAIN"), "{err}");
}

#[test]
fn garbage_after_the_greeting_is_a_protocol_error() {
    let addr = fake_server(|mut s| {
        let _ = s.write_all(&greeting("NULL"));
        let _ = s.write_all(&[0xf8; 32]);
        drain(s);
    });
    let err = connect_err(addr, soon());
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
}

#[test]
fn error_command_in_the_handshake_is_denied() {
    let addr = fake_server(|mut s| {
        let _ = s.write_all(&greeting("NULL"));
        let _ = s.write_all(b"\x04\x0a\x05ERROR\x03400");
        drain(s);
    });
    let err = connect_err(addr, soon());
    assert_eq!(err.kind(), NetErrorKind::Denied, "{err}");
}

#[test]
fn incompatible_socket_type_is_a_protocol_error() {
    let addr = fake_server(|mut s| {
        let _ = s.write_all(&greeting("NULL"));
        let body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x03PUB";
        let _ = s.write_all(&[0x04, body.len() as u8]);
        let _ = s.write_all(body);
        drain(s);
    });
    let err = connect_err(addr, soon());
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("PUB"), "{err}");
}

/// Handshakes, reads one request, answers with `reply` bytes, keeps the line open.
fn replying(reply: Vec<u8>) -> std::net::SocketAddr {
    fake_server(move |mut s| {
        null_handshake(&mut s);
        read_message(&mut s);
        let _ = s.write_all(&reply);
        drain(s);
    })
}

#[test]
fn oversized_frames_are_refused_before_reading_them() {
    // A long frame announcing 1 TiB.
    let mut reply = vec![0x01, 0x00, 0x02];
    reply.extend_from_slice(&(1u64 << 40).to_be_bytes());
    let mut conn = Conn::connect(replying(reply), &Security::Null, soon()).unwrap();
    let err = conn.request(&[b"x"], soon()).err().unwrap();
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("exceeds"), "{err}");

    // And a configured smaller cap.
    let mut reply = vec![0x01, 0x00, 0x02];
    reply.extend_from_slice(&1000u64.to_be_bytes());
    reply.extend_from_slice(&[7; 1000]);
    let mut conn = Conn::connect(replying(reply), &Security::Null, soon()).unwrap();
    conn.set_limits(999, 10_000);
    let err = conn.request(&[b"x"], soon()).err().unwrap();
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
}

#[test]
fn a_reply_without_the_delimiter_is_a_protocol_error() {
    let mut conn =
        Conn::connect(replying(b"\x00\x02hi".to_vec()), &Security::Null, soon()).unwrap();
    let err = conn.request(&[b"x"], soon()).err().unwrap();
    assert_eq!(err.kind(), NetErrorKind::Protocol, "{err}");
}

#[test]
fn pings_are_answered_and_never_taken_for_replies() {
    let addr = fake_server(|mut s| {
        null_handshake(&mut s);
        read_message(&mut s);
        // PING: TTL 0x0010, context "ctx"; then PONG (ignored), then the reply.
        s.write_all(b"\x04\x0a\x04PING\x00\x10ctx").unwrap();
        s.write_all(b"\x04\x05\x04PONG").unwrap();
        s.write_all(b"\x01\x00\x00\x02ok").unwrap();
        let (flags, body) = common::read_frame(&mut s);
        assert_eq!(flags, 0x04);
        assert_eq!(body, b"\x04PONGctx");
        // Only a server that saw the PONG answers the second request.
        assert_eq!(read_message(&mut s), vec![b"".to_vec(), b"y".to_vec()]);
        s.write_all(b"\x01\x00\x00\x03ok2").unwrap();
        drain(s);
    });
    let mut conn = Conn::connect(addr, &Security::Null, soon()).unwrap();
    assert_eq!(conn.request(&[b"x"], soon()).unwrap(), vec![b"ok".to_vec()]);
    assert_eq!(
        conn.request(&[b"y"], soon()).unwrap(),
        vec![b"ok2".to_vec()]
    );
}

/// A tiny xorshift generator: reproducible "random" servers without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_servers_give_errors_not_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..300 {
        let len = (rng.next() % 200) as usize;
        let mut script = match round % 3 {
            0 => Vec::new(),
            1 => greeting("NULL").to_vec(),
            _ => {
                let mut g = greeting("NULL").to_vec();
                g.extend_from_slice(b"\x04\x06\x05READY");
                g
            }
        };
        script.extend(rng.bytes(len));
        // Flip a few bytes of the valid prefix now and then.
        if round % 7 == 0 && !script.is_empty() {
            let at = (rng.next() as usize) % script.len();
            script[at] ^= 1 << (rng.next() % 8);
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let _ = s.write_all(&script);
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        });
        let deadline = in_ms(2000);
        if let Ok(mut conn) = Conn::connect(addr, &Security::Null, deadline) {
            let _ = conn.request(&[b"x"], deadline);
        }
        assert!(Instant::now() < deadline + Duration::from_secs(2));
        server.join().unwrap();
    }
}

#[test]
fn random_bytes_after_a_curve_greeting_give_errors_not_panics() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let keys = woof_net::zmtp::curve_keypair().unwrap();
    let security = Security::Curve(woof_net::zmtp::CurveClient {
        server_public: keys.0,
        public: keys.0,
        secret: keys.1,
    });
    for _ in 0..100 {
        let mut script = greeting("CURVE").to_vec();
        // A WELCOME-shaped command with random contents, or just noise.
        if rng.next().is_multiple_of(2) {
            script.extend_from_slice(b"\x04\xa8\x07WELCOME");
            script.extend(rng.bytes(160));
        } else {
            let len = (rng.next() % 300) as usize;
            script.extend(rng.bytes(len));
        }
        let addr = fake_server(move |mut s: TcpStream| {
            let _ = s.write_all(&script);
            let _ = s.shutdown(std::net::Shutdown::Write);
            drain(s);
        });
        let err = Conn::connect(addr, &security, in_ms(2000)).err().unwrap();
        assert!(
            matches!(
                err.kind(),
                NetErrorKind::Protocol
                    | NetErrorKind::Closed
                    | NetErrorKind::Denied
                    | NetErrorKind::Timeout
            ),
            "{err}"
        );
    }
}

//! Both sides of `zmtp::Link`: accepted, against clients (ours and real libzmq REQ
//! and DEALER sockets), and dialed, against servers (ours and a libzmq ROUTER);
//! NULL and CURVE, allowed and refused keys, heartbeats.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::soon;
use woof_net::zmtp::{Conn, CurveClient, Link, NetErrorKind, Security, ServerKeys, curve_keypair};

/// Serves each connection on a thread of its own: every message comes back with the
/// client's name (from its key, or "-") in front of its parts after the delimiter.
fn serve(keys: Option<([u8; 32], [u8; 32])>, allowed: Vec<[u8; 32]>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let keys = keys.map(|(_, secret)| Arc::new(ServerKeys::from_secret(secret)));
    thread::spawn(move || {
        for stream in listener.incoming() {
            let (keys, allowed) = (keys.clone(), allowed.clone());
            thread::spawn(move || echo(stream.unwrap(), keys, &allowed));
        }
    });
    addr
}

fn echo(mut s: TcpStream, keys: Option<Arc<ServerKeys>>, allowed: &[[u8; 32]]) {
    let mut conn = Link::accepted(keys, 1 << 24, 1 << 26);
    let mut auth = |key: &[u8; 32]| allowed.contains(key).then(|| "edge1".to_string());
    let mut buf = vec![0u8; 4096];
    loop {
        s.write_all(conn.pending()).unwrap();
        let n = conn.pending().len();
        conn.wrote(n);
        let got = match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut messages = Vec::new();
        if conn.input(&buf[..got], &mut auth, &mut messages).is_err() {
            let _ = s.write_all(conn.pending());
            let _ = s.shutdown(Shutdown::Write);
            while s.read(&mut buf).is_ok_and(|n| n > 0) {}
            return;
        }
        for mut parts in messages {
            let who = conn.user().unwrap_or("-").as_bytes().to_vec();
            let at = usize::from(parts.first().is_some_and(Vec::is_empty));
            parts.insert(at, who);
            conn.send(&parts).unwrap();
        }
    }
}

fn curve(server_public: [u8; 32], (public, secret): ([u8; 32], [u8; 32])) -> Security {
    Security::Curve(CurveClient {
        server_public,
        public,
        secret,
    })
}

#[test]
fn our_client_over_null_sends_parts_of_every_size_and_pipelines() {
    let addr = serve(None, Vec::new());
    let mut conn = Conn::connect(addr, &Security::Null, soon()).unwrap();
    for size in [0usize, 1, 255, 256, 1 << 20] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let reply = conn.request(&[b"put", &payload], soon()).unwrap();
        assert_eq!(reply, vec![b"-".to_vec(), b"put".to_vec(), payload]);
    }
    for i in 0..1000u32 {
        conn.send_request(&[&i.to_be_bytes()], soon()).unwrap();
    }
    for i in 0..1000u32 {
        let reply = conn.recv_reply(soon()).unwrap();
        assert_eq!(reply, vec![b"-".to_vec(), i.to_be_bytes().to_vec()]);
    }
}

#[test]
fn our_client_over_curve_is_known_by_its_key_or_refused() {
    let server = curve_keypair().unwrap();
    let (known, stranger) = (curve_keypair().unwrap(), curve_keypair().unwrap());
    let addr = serve(Some(server), vec![known.0]);
    let mut conn = Conn::connect(addr, &curve(server.0, known), soon()).unwrap();
    for size in [0usize, 300, 1 << 20] {
        let payload = vec![7u8; size];
        let reply = conn.request(&[&payload], soon()).unwrap();
        assert_eq!(reply, vec![b"edge1".to_vec(), payload]);
    }
    let refused = Conn::connect(addr, &curve(server.0, stranger), soon())
        .err()
        .unwrap();
    assert_eq!(refused.kind(), NetErrorKind::Denied);
    assert_eq!(
        refused.to_string(),
        "access denied: server refused our credentials (400)"
    );
    // A client holding another server key cannot open WELCOME.
    let wrong = curve_keypair().unwrap();
    let e = Conn::connect(addr, &curve(wrong.0, known), soon())
        .err()
        .unwrap();
    assert_eq!(e.kind(), NetErrorKind::Protocol, "{e}");
}

#[test]
fn mechanisms_that_differ_are_named() {
    let server = curve_keypair().unwrap();
    let curved = serve(Some(server), Vec::new());
    let e = Conn::connect(curved, &Security::Null, soon())
        .err()
        .unwrap();
    assert_eq!(e.kind(), NetErrorKind::Mechanism);
    assert!(e.to_string().contains("server requires CURVE"), "{e}");
    let plain = serve(None, Vec::new());
    let e = Conn::connect(plain, &curve(server.0, server), soon())
        .err()
        .unwrap();
    assert_eq!(e.kind(), NetErrorKind::Mechanism);
}

#[test]
fn libzmq_req_and_dealer_clients_round_trip_over_null_and_curve() {
    let ctx = zmq::Context::new();
    let server = curve_keypair().unwrap();
    let client = curve_keypair().unwrap();
    for curved in [false, true] {
        let addr = if curved {
            serve(Some(server), vec![client.0])
        } else {
            serve(None, Vec::new())
        };
        let who: &[u8] = if curved { b"edge1" } else { b"-" };
        for kind in [zmq::REQ, zmq::DEALER] {
            let s = ctx.socket(kind).unwrap();
            s.set_rcvtimeo(10_000).unwrap();
            if curved {
                s.set_curve_serverkey(&server.0).unwrap();
                s.set_curve_publickey(&client.0).unwrap();
                s.set_curve_secretkey(&client.1).unwrap();
            }
            s.connect(&format!("tcp://{addr}")).unwrap();
            for size in [1usize, 300, 70_000] {
                let body = vec![b'x'; size];
                if kind == zmq::DEALER {
                    s.send_multipart([&b""[..], b"get", &body], 0).unwrap();
                } else {
                    s.send_multipart([&b"get"[..], &body], 0).unwrap();
                }
                let mut reply = s.recv_multipart(0).unwrap();
                if kind == zmq::DEALER {
                    assert_eq!(reply.remove(0), b"");
                }
                assert_eq!(reply, vec![who.to_vec(), b"get".to_vec(), body]);
            }
        }
    }
}

#[test]
fn libzmq_heartbeats_get_pongs_and_the_connection_stays() {
    // A DEALER with ZMTP heartbeats (an edge's uplink) closes a connection that does
    // not answer its PINGs within the timeout; it must still be there after many.
    let ctx = zmq::Context::new();
    let server = curve_keypair().unwrap();
    let client = curve_keypair().unwrap();
    let addr = serve(Some(server), vec![client.0]);
    let s = ctx.socket(zmq::DEALER).unwrap();
    s.set_curve_serverkey(&server.0).unwrap();
    s.set_curve_publickey(&client.0).unwrap();
    s.set_curve_secretkey(&client.1).unwrap();
    s.set_heartbeat_ivl(50).unwrap();
    s.set_heartbeat_timeout(150).unwrap();
    s.set_rcvtimeo(5_000).unwrap();
    let monitor = "inproc://serve-monitor";
    s.monitor(monitor, zmq::SocketEvent::DISCONNECTED as i32)
        .unwrap();
    let events = ctx.socket(zmq::PAIR).unwrap();
    events.connect(monitor).unwrap();
    s.connect(&format!("tcp://{addr}")).unwrap();
    s.send_multipart([&b""[..], b"one"], 0).unwrap();
    assert_eq!(s.recv_multipart(0).unwrap().len(), 3);
    thread::sleep(Duration::from_millis(1_000));
    events.set_rcvtimeo(0).unwrap();
    assert!(
        events.recv_multipart(0).is_err(),
        "libzmq dropped the connection: PINGs went unanswered"
    );
    s.send_multipart([&b""[..], b"two"], 0).unwrap();
    assert_eq!(s.recv_multipart(0).unwrap()[2], b"two");
}

#[test]
fn garbage_and_old_protocols_are_refused_without_an_answer_beyond_the_greeting() {
    let addr = serve(None, Vec::new());
    for junk in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        // ZMTP 2.0 greeting start: signature, revision 1.
        &[0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1][..],
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(junk).unwrap();
        let mut got = Vec::new();
        match s.read_to_end(&mut got) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("server kept a junk connection open: {e}"),
        }
        // Only our greeting and READY went out.
        assert!(got.len() <= 64 + 32, "{} bytes", got.len());
    }
}

/// A dialed link over a blocking stream: sends `parts` as one message once the
/// handshake is done (and a PING with it), returns the first message back.
fn dial_once(
    addr: SocketAddr,
    security: &Security,
    parts: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, NetErrorKind> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut link = Link::dialed(security, 1 << 24, 1 << 26).unwrap();
    let mut auth = |_: &[u8; 32]| None;
    let mut buf = vec![0u8; 4096];
    let mut sent = false;
    loop {
        s.write_all(link.pending()).unwrap();
        let n = link.pending().len();
        link.wrote(n);
        let got = match s.read(&mut buf) {
            Ok(0) | Err(_) => return Err(NetErrorKind::Closed),
            Ok(n) => n,
        };
        let mut messages = Vec::new();
        link.input(&buf[..got], &mut auth, &mut messages)
            .map_err(|e| e.kind())?;
        if let Some(m) = messages.into_iter().next() {
            return Ok(m);
        }
        if link.is_ready() && !sent {
            link.ping().unwrap();
            link.send(parts).unwrap();
            sent = true;
        }
    }
}

#[test]
fn a_dialed_link_talks_to_our_server_with_null_and_curve_and_is_refused_by_key() {
    let plain = serve(None, Vec::new());
    let msg = vec![Vec::new(), b"hello".to_vec()];
    assert_eq!(
        dial_once(plain, &Security::Null, &msg),
        Ok(vec![Vec::new(), b"-".to_vec(), b"hello".to_vec()])
    );
    let server = curve_keypair().unwrap();
    let (known, stranger) = (curve_keypair().unwrap(), curve_keypair().unwrap());
    let curved = serve(Some(server), vec![known.0]);
    let big = vec![Vec::new(), vec![5u8; 100_000]];
    assert_eq!(
        dial_once(curved, &curve(server.0, known), &big),
        Ok(vec![Vec::new(), b"edge1".to_vec(), vec![5u8; 100_000]])
    );
    assert_eq!(
        dial_once(curved, &curve(server.0, stranger), &msg),
        Err(NetErrorKind::Denied)
    );
    assert_eq!(
        dial_once(curved, &Security::Null, &msg),
        Err(NetErrorKind::Mechanism)
    );
}

#[test]
fn a_dialed_link_talks_to_a_libzmq_router_with_null_and_curve() {
    let ctx = zmq::Context::new();
    let server = curve_keypair().unwrap();
    let client = curve_keypair().unwrap();
    for curved in [false, true] {
        let router = ctx.socket(zmq::ROUTER).unwrap();
        if curved {
            router.set_curve_server(true).unwrap();
            router.set_curve_secretkey(&server.1).unwrap();
        }
        router.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = router.get_last_endpoint().unwrap().unwrap();
        let addr: SocketAddr = endpoint.trim_start_matches("tcp://").parse().unwrap();
        thread::spawn(move || {
            while let Ok(mut msg) = router.recv_multipart(0) {
                msg.push(b"back".to_vec());
                router.send_multipart(msg, 0).unwrap();
            }
        });
        let security = if curved {
            curve(server.0, client)
        } else {
            Security::Null
        };
        let sent = vec![b"UPLINK/1".to_vec(), b"hello".to_vec()];
        assert_eq!(
            dial_once(addr, &security, &sent),
            Ok(vec![
                b"UPLINK/1".to_vec(),
                b"hello".to_vec(),
                b"back".to_vec()
            ]),
            "curve: {curved}"
        );
    }
}

#[test]
fn a_peer_that_is_not_zmtp_is_named_for_its_side() {
    let junk = b"HTTP/1.1 400 Bad Request\r\n\r\n";
    let mut auth = |_: &[u8; 32]| None;
    let mut messages = Vec::new();
    let mut dialed = Link::dialed(&Security::Null, 1 << 20, 1 << 22).unwrap();
    let e = dialed.input(junk, &mut auth, &mut messages).err().unwrap();
    assert_eq!(e.kind(), NetErrorKind::Protocol);
    assert!(
        e.to_string()
            .contains("not a ZMTP server (bad greeting signature)"),
        "{e}"
    );
    let mut accepted = Link::accepted(None, 1 << 20, 1 << 22);
    let e = accepted
        .input(junk, &mut auth, &mut messages)
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("not a ZMTP client (bad greeting signature)"),
        "{e}"
    );
    // A ZMTP 2 peer, by its revision byte.
    let old = [0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1];
    let mut accepted = Link::accepted(None, 1 << 20, 1 << 22);
    let e = accepted
        .input(&old, &mut auth, &mut messages)
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("client speaks ZMTP revision 1, woof needs ZMTP 3"),
        "{e}"
    );
    assert!(messages.is_empty());
}

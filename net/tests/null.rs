//! NULL mechanism against real libzmq: a ROUTER→DEALER proxy with a REP worker.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ServerOpts, soon, start_proxy};
use woof_net::zmtp::{Conn, NetErrorKind, Security};

#[test]
fn round_trips_sizes_across_the_long_frame_boundary() {
    let addr = start_proxy(ServerOpts::default());
    let mut conn = Conn::connect(addr, &Security::Null, soon()).unwrap();
    for size in [0usize, 1, 255, 256, 1 << 20] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let reply = conn.request(&[b"put", &payload], soon()).unwrap();
        assert_eq!(reply.len(), 2, "size {size}");
        assert_eq!(reply[0], b"put");
        assert_eq!(reply[1], payload, "size {size}");
    }
    // A single empty part, and many parts.
    assert_eq!(
        conn.request(&[b""], soon()).unwrap(),
        vec![Vec::<u8>::new()]
    );
    let many: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; usize::from(i)]).collect();
    let refs: Vec<&[u8]> = many.iter().map(|v| v.as_slice()).collect();
    assert_eq!(conn.request(&refs, soon()).unwrap(), many);
}

#[test]
fn pipelines_a_thousand_requests_in_order() {
    let addr = start_proxy(ServerOpts::default());
    let mut conn = Conn::connect(addr, &Security::Null, soon()).unwrap();
    for i in 0..1000u32 {
        conn.send_request(&[b"get", &i.to_be_bytes()], soon())
            .unwrap();
    }
    for i in 0..1000u32 {
        let reply = conn.recv_reply(soon()).unwrap();
        assert_eq!(reply, vec![b"get".to_vec(), i.to_be_bytes().to_vec()]);
    }
}

#[test]
fn curve_server_refuses_a_null_client_by_mechanism() {
    let (_, secret) = woof_net::zmtp::curve_keypair().unwrap();
    let addr = start_proxy(ServerOpts {
        curve_secret: Some(secret),
        ..ServerOpts::default()
    });
    let err = Conn::connect(addr, &Security::Null, soon()).err().unwrap();
    assert_eq!(err.kind(), NetErrorKind::Mechanism, "{err}");
    assert_eq!(
        err.to_string(),
        "server requires CURVE; no server public key for this host"
    );
}

/// A one-shot request costs one connection: the handshake is sent in one write and
/// the request after the server's READY (libzmq 4.3 hangs up on a request that
/// arrives with the handshake, which once made every one-shot connect twice).
#[test]
fn a_first_request_uses_one_connection() {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    router
        .monitor("inproc://accepts", zmq::SocketEvent::ACCEPTED as i32)
        .unwrap();
    let events = ctx.socket(zmq::PAIR).unwrap();
    events.connect("inproc://accepts").unwrap();
    let ep = router.get_last_endpoint().unwrap().unwrap();
    let addr: std::net::SocketAddr = ep.trim_start_matches("tcp://").parse().unwrap();
    let server = std::thread::spawn(move || {
        let mut req = router.recv_multipart(0).unwrap();
        req.push(b"done".to_vec());
        router.send_multipart(req, 0).unwrap();
        router
    });
    let mut conn = Conn::connect_sending(addr, &Security::Null, Some(&[b"hello"]), soon()).unwrap();
    assert_eq!(
        conn.recv_reply(soon()).unwrap(),
        vec![b"hello".to_vec(), b"done".to_vec()]
    );
    let _router = server.join().unwrap();
    let mut accepted = 0;
    while events.poll(zmq::POLLIN, 200).unwrap() > 0 {
        events.recv_multipart(0).unwrap();
        accepted += 1;
    }
    assert_eq!(accepted, 1, "connections accepted for one request");
}

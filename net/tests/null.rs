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

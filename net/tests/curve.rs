//! CURVE against real libzmq: keys from libzmq itself, ZAP refusal, wrong keys.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ServerOpts, soon, start_proxy};
use woof_net::z85;
use woof_net::zmtp::{Conn, CurveClient, NetErrorKind, Security, curve_keypair};

fn libzmq_keypair() -> ([u8; 32], [u8; 32]) {
    let pair = zmq::CurveKeyPair::new().unwrap();
    (pair.public_key, pair.secret_key)
}

fn client(server_public: [u8; 32], (public, secret): ([u8; 32], [u8; 32])) -> Security {
    Security::Curve(CurveClient {
        server_public,
        public,
        secret,
    })
}

#[test]
fn round_trips_with_libzmq_keys() {
    let (server_public, server_secret) = libzmq_keypair();
    let addr = start_proxy(ServerOpts {
        curve_secret: Some(server_secret),
        ..ServerOpts::default()
    });
    let mut conn = Conn::connect(addr, &client(server_public, libzmq_keypair()), soon()).unwrap();
    for size in [0usize, 1, 255, 256, 1 << 20] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let reply = conn.request(&[b"put", &payload], soon()).unwrap();
        assert_eq!(reply, vec![b"put".to_vec(), payload], "size {size}");
    }
    for i in 0..1000u32 {
        conn.send_request(&[&i.to_be_bytes()], soon()).unwrap();
    }
    for i in 0..1000u32 {
        assert_eq!(
            conn.recv_reply(soon()).unwrap(),
            vec![i.to_be_bytes().to_vec()]
        );
    }
}

#[test]
fn our_keys_work_with_libzmq_and_z85_text_keys() {
    // The server's key goes through its Z85 text form, as a user would paste it.
    let (server_public, server_secret) = curve_keypair().unwrap();
    let text = z85::encode_key(&server_public);
    assert_eq!(text.len(), 40);
    let addr = start_proxy(ServerOpts {
        curve_secret: Some(server_secret),
        allowed_clients: None,
    });
    let keys = curve_keypair().unwrap();
    let security = client(z85::decode_key(&text).unwrap(), keys);
    let mut conn = Conn::connect(addr, &security, soon()).unwrap();
    assert_eq!(
        conn.request(&[b"a", b"", b"c"], soon()).unwrap(),
        vec![b"a".to_vec(), vec![], b"c".to_vec()]
    );
}

#[test]
fn libzmq_z85_keys_decode_to_the_same_bytes() {
    let pair = zmq::CurveKeyPair::new().unwrap();
    let text = zmq::z85_encode(&pair.public_key).unwrap();
    assert_eq!(z85::decode_key(&text).unwrap(), pair.public_key);
    assert_eq!(z85::encode_key(&pair.public_key), text);
}

#[test]
fn zap_admits_a_listed_key_and_refuses_others_with_denied() {
    let (server_public, server_secret) = libzmq_keypair();
    let good = libzmq_keypair();
    let addr = start_proxy(ServerOpts {
        curve_secret: Some(server_secret),
        allowed_clients: Some(vec![good.0]),
    });
    let mut conn = Conn::connect(addr, &client(server_public, good), soon()).unwrap();
    assert_eq!(conn.request(&[b"x"], soon()).unwrap(), vec![b"x".to_vec()]);

    let err = Conn::connect(addr, &client(server_public, libzmq_keypair()), soon())
        .err()
        .unwrap();
    assert_eq!(err.kind(), NetErrorKind::Denied, "{err}");
    assert!(err.to_string().contains("400"), "{err}");
    eprintln!("refused by zap: {err}");
}

#[test]
fn wrong_server_key_fails_the_handshake_within_the_deadline() {
    let (_, server_secret) = libzmq_keypair();
    let addr = start_proxy(ServerOpts {
        curve_secret: Some(server_secret),
        ..ServerOpts::default()
    });
    let (wrong_public, _) = libzmq_keypair();
    let deadline = Instant::now() + Duration::from_secs(3);
    let err = Conn::connect(addr, &client(wrong_public, libzmq_keypair()), deadline)
        .err()
        .unwrap();
    assert!(
        matches!(err.kind(), NetErrorKind::Protocol | NetErrorKind::Timeout),
        "{err}"
    );
    assert!(Instant::now() < deadline + Duration::from_secs(1));
    eprintln!("wrong server key: {err}");
}

#[test]
fn null_server_refuses_a_curve_client_by_mechanism() {
    let addr = start_proxy(ServerOpts::default());
    let (server_public, _) = libzmq_keypair();
    let err = Conn::connect(addr, &client(server_public, libzmq_keypair()), soon())
        .err()
        .unwrap();
    assert_eq!(err.kind(), NetErrorKind::Mechanism, "{err}");
    assert_eq!(err.to_string(), "server does not use CURVE");
}

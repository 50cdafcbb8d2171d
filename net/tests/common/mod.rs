//! Servers for the interop tests: real libzmq (a ROUTER→DEALER proxy with a REP
//! worker, as woof-proxy is built) and hand-made fakes over a plain TcpListener.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// A deadline comfortably far away for calls that should succeed.
pub fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// Options for the libzmq server.
#[derive(Default, Clone)]
pub struct ServerOpts {
    /// CURVE server secret key; NULL when absent.
    pub curve_secret: Option<[u8; 32]>,
    /// With CURVE: client public keys a ZAP handler accepts; others get 400.
    /// `None` runs no ZAP handler (libzmq then accepts every client).
    pub allowed_clients: Option<Vec<[u8; 32]>>,
}

/// Starts ROUTER (tcp, random port) → DEALER (inproc) → REP echo worker, each in a
/// thread that lives until the test process exits. Returns the ROUTER's address.
pub fn start_proxy(opts: ServerOpts) -> SocketAddr {
    let ctx = zmq::Context::new();
    if let Some(allowed) = opts.allowed_clients.clone() {
        let zap = ctx.socket(zmq::REP).unwrap();
        zap.bind("inproc://zeromq.zap.01").unwrap();
        thread::spawn(move || zap_handler(zap, allowed));
    }
    let frontend = ctx.socket(zmq::ROUTER).unwrap();
    if let Some(secret) = opts.curve_secret {
        frontend.set_curve_server(true).unwrap();
        frontend.set_curve_secretkey(&secret).unwrap();
    }
    frontend.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = frontend.get_last_endpoint().unwrap().unwrap();
    let backend = ctx.socket(zmq::DEALER).unwrap();
    let inproc = format!(
        "inproc://backend-{}",
        endpoint.replace([':', '/', '.'], "-")
    );
    backend.bind(&inproc).unwrap();
    let worker = ctx.socket(zmq::REP).unwrap();
    worker.connect(&inproc).unwrap();
    thread::spawn(move || {
        loop {
            let msg = worker.recv_multipart(0).unwrap();
            worker.send_multipart(msg, 0).unwrap();
        }
    });
    thread::spawn(move || {
        let _keep = ctx;
        let _ = zmq::proxy(&frontend, &backend);
    });
    endpoint
        .trim_start_matches("tcp://")
        .parse()
        .expect("tcp endpoint")
}

/// ZAP (RFC 27): allow CURVE clients whose key is listed, refuse others with 400.
fn zap_handler(zap: zmq::Socket, allowed: Vec<[u8; 32]>) {
    loop {
        let req = zap.recv_multipart(0).unwrap();
        // version, request id, domain, address, identity, mechanism, credentials...
        let ok = req.len() >= 7
            && req[5] == b"CURVE"
            && allowed.iter().any(|k| k.as_slice() == req[6].as_slice());
        let (code, text): (&[u8], &[u8]) = if ok {
            (b"200", b"OK")
        } else {
            (b"400", b"unknown key")
        };
        let reply: Vec<&[u8]> = vec![b"1.0", &req[1], code, text, b"", b""];
        zap.send_multipart(reply, 0).unwrap();
    }
}

/// A fake server: accepts one connection and hands it to `script` in a thread.
pub fn fake_server(script: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            script(stream);
        }
    });
    addr
}

/// A ZMTP 3.1 greeting as a server would send it.
pub fn greeting(mechanism: &str) -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xff;
    g[8] = 1; // libzmq sends a length here; the client must not mind
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    g[12..12 + mechanism.len()].copy_from_slice(mechanism.as_bytes());
    g[32] = 1;
    g
}

/// The server side of a NULL handshake: greeting, then READY both ways.
pub fn null_handshake(s: &mut TcpStream) {
    s.write_all(&greeting("NULL")).unwrap();
    let mut theirs = [0u8; 64];
    s.read_exact(&mut theirs).unwrap();
    assert_eq!(&theirs[12..16], b"NULL");
    let mut ready = vec![0x04, 0];
    let body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER";
    ready[1] = body.len() as u8;
    ready.extend_from_slice(body);
    s.write_all(&ready).unwrap();
    let (flags, body) = read_frame(s);
    assert_eq!(flags & 0x04, 0x04);
    assert!(body.starts_with(b"\x05READY"));
}

/// Reads one frame: (flags, body).
pub fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    let size = if head[0] & 0x02 != 0 {
        let mut rest = [0u8; 7];
        s.read_exact(&mut rest).unwrap();
        let mut eight = [head[1], 0, 0, 0, 0, 0, 0, 0];
        eight[1..].copy_from_slice(&rest);
        u64::from_be_bytes(eight) as usize
    } else {
        head[1] as usize
    };
    let mut body = vec![0u8; size];
    s.read_exact(&mut body).unwrap();
    (head[0], body)
}

/// Reads one whole multipart message (frame bodies).
pub fn read_message(s: &mut TcpStream) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    loop {
        let (flags, body) = read_frame(s);
        parts.push(body);
        if flags & 0x01 == 0 {
            return parts;
        }
    }
}

/// Keeps the connection open until the client hangs up.
pub fn drain(mut s: TcpStream) {
    let mut sink = [0u8; 4096];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

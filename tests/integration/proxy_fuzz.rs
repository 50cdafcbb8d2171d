//! A live woof-proxy under fire (issue 4): thousands of random multipart messages —
//! random frame counts and sizes (empty to a few MB), `WOOF/1` with random ops and
//! arguments, CSPOT tags with garbage, truncated requests — from several REQ and
//! DEALER sockets, plus raw TCP connections sending random bytes and cut-off ZMTP
//! handshakes, while a correct client keeps putting and reading through woof's
//! protocol (the library) and the tools (`woof-put`/`woof-get woof://…`).
//!
//! The correct client must get correct answers throughout; every garbage request
//! must get a well-formed reply (never silence); afterwards the correct client's
//! woof holds exactly what it put, and the proxy still runs and serves. A frame
//! over the proxy's message limit drops that connection, nothing else. With CURVE,
//! the same garbage from authenticated clients (one with write, one with only the
//! read right) is answered, connections without a key or with an unknown one are
//! never answered, and the keyed client is served throughout. A proxy short of file
//! descriptors keeps serving many woofs and accepting connections. And the other way
//! round: a lying proxy (impossible geometry, a schema not fitting the elements,
//! malformed replies) gets errors from every remote tool, never a panic or abort.
//!
//! The garbage is seeded: the seed is printed (`TEST_SEED=… cargo test` replays it).

#![allow(clippy::unwrap_used)]

use crate::util;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use util::{ELEMENT, Ns, PROMPT, Proxy, Rng, TIMEOUT, encode, hex, ok_stdout};
use woof_net::Uri;
use woof_net::client::{Client, Options};

/// Garbage messages in all, over the REQ and DEALER senders.
const MESSAGES: usize = 5000;
const REQ_SENDERS: usize = 3;
/// Requests a DEALER keeps in flight (bounded, so it never fills the proxy's queue:
/// a full queue answers "busy", which the correct client would then see).
const DEALER_WINDOW: usize = 16;
/// Raw TCP connections with random bytes or cut-off ZMTP handshakes.
const RAW_CONNECTIONS: usize = 300;
/// The largest message the proxy accepts.
const MAX_MESSAGE: usize = woof_net::proto::MAX_MESSAGE as usize;

/// Random bytes of a random size: mostly small, sometimes large (up to 4 MiB).
fn blob(rng: &mut Rng) -> Vec<u8> {
    let len = match rng.below(1000) {
        0..=599 => rng.below(17),
        600..=899 => rng.below(1025),
        900..=994 => rng.below(65_537),
        _ => rng.below(4 << 20),
    } as usize;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        v.extend_from_slice(&rng.next().to_le_bytes());
    }
    v.truncate(len);
    v
}

fn pick<'a>(rng: &mut Rng, from: &[&'a [u8]]) -> &'a [u8] {
    from[rng.below(from.len() as u64) as usize]
}

/// What the garbage may aim at. `w` (the correct client's woof) is only ever named
/// by reading requests, so nothing random can legitimately change it.
struct Targets {
    ns: Vec<u8>,
    uri_w: Vec<u8>,
    uri_junk: Vec<u8>,
    uri_triggers: Vec<u8>,
}

/// A number-ish frame: decimal, huge, negative, with NUL, or random.
fn numberish(rng: &mut Rng) -> Vec<u8> {
    match rng.below(7) {
        0 => b"0".to_vec(),
        1 => rng.below(100).to_string().into_bytes(),
        2 => u64::MAX.to_string().into_bytes(),
        3 => b"99999999999999999999999".to_vec(),
        4 => b"-1".to_vec(),
        5 => format!("{}\0", rng.below(10)).into_bytes(),
        _ => blob(rng),
    }
}

/// One random request (possibly zero frames).
fn garbage(rng: &mut Rng, t: &Targets) -> Vec<Vec<u8>> {
    let names: [&[u8]; 12] = [
        b"junk",
        b"missing",
        b"..",
        b"../w",
        b".woof",
        b"handlers",
        b"",
        b"w/",
        b"w\0\0",
        b"junk\0",
        b"\xff\xfe",
        b"/etc/passwd",
    ];
    let spaces: [&[u8]; 6] = [&t.ns, b"/", b"/tmp", b"", b"\xc3\x28", b"relative"];
    let mut frames: Vec<Vec<u8>> = match rng.below(6) {
        // Anything at all.
        0 => (0..rng.below(11)).map(|_| blob(rng)).collect(),
        // woof's protocol: a random op (valid or not), then random-ish arguments.
        1 | 2 => {
            let ops: [&[u8]; 10] = [
                b"put", b"putb", b"get", b"follow", b"info", b"create", b"PUT", b"put\0", b"",
                b"delete",
            ];
            let op = pick(rng, &ops).to_vec();
            let reading = [&b"get"[..], b"follow", b"info"].contains(&op.as_slice());
            // Mostly the real namespace and woofs, to get past the lookups.
            let space = if rng.below(10) < 7 {
                t.ns.clone()
            } else {
                pick(rng, &spaces).to_vec()
            };
            let name = match rng.below(10) {
                0..=3 if reading => b"w".to_vec(),
                0..=4 => b"junk".to_vec(),
                _ => pick(rng, &names).to_vec(),
            };
            let magic: &[u8] = match rng.below(8) {
                0 => b"WOOF/2",
                1 => b"woof/1",
                _ => b"WOOF/1",
            };
            // Half the time exactly the op's arity, so requests get past the frame
            // count into argument parsing, rights and the woof itself.
            let arity = match op.as_slice() {
                b"put" | b"putb" => 4,
                b"get" => 2,
                b"follow" => 3,
                b"info" => 0,
                b"create" => 5,
                _ => rng.below(7),
            };
            let args = if rng.below(2) == 0 {
                arity
            } else {
                rng.below(7)
            };
            let mut f = vec![magic.to_vec(), op, space, name];
            let tokens: [&[u8]; 7] = [b"", b"none", b"always", b"batch", b"0", b"1", b"h"];
            for _ in 0..args {
                f.push(match rng.below(3) {
                    0 => numberish(rng),
                    1 => pick(rng, &tokens).to_vec(),
                    _ => blob(rng),
                });
            }
            f
        }
        // CSPOT: a tag, a URI, garbage. Only tags that read may name `w`.
        3 | 4 => {
            let tags: [&[u8]; 12] = [
                b"1", b"2", b"3", b"4", b"5", b"1\0", b"3\0", b"01", b"6", b"21", b"999", b"0",
            ];
            let tag = pick(rng, &tags).to_vec();
            let reading = [&b"2"[..], b"3", b"4", b"5", b"3\0"].contains(&tag.as_slice());
            let uri = match rng.below(5) {
                0 if reading => t.uri_w.clone(),
                0 | 1 => t.uri_junk.clone(),
                2 => t.uri_triggers.clone(),
                3 => [&t.uri_junk[..], b"/"].concat(),
                _ => blob(rng),
            };
            let mut f = vec![tag, uri];
            for _ in 0..rng.below(5) {
                f.push(if rng.below(2) == 0 {
                    numberish(rng)
                } else {
                    blob(rng)
                });
            }
            f
        }
        // A valid request for junk, truncated: frames dropped or cut short.
        _ => {
            let mut f: Vec<Vec<u8>> = vec![
                b"WOOF/1".to_vec(),
                b"put".to_vec(),
                t.ns.clone(),
                b"junk".to_vec(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                vec![b'j'; ELEMENT],
            ];
            f.truncate(rng.below(f.len() as u64) as usize);
            if let Some(last) = f.last_mut() {
                let keep = rng.below(last.len() as u64 + 1) as usize;
                last.truncate(keep);
            }
            f
        }
    };
    frames.truncate(10);
    frames
}

/// Replies seen by this file's tests, by kind (printed: shows the garbage reached
/// every part of the proxy).
static KINDS: std::sync::Mutex<std::collections::BTreeMap<String, usize>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// A reply is well-formed: woof's `OK`/`ERR`, or CSPOT's one or two frames.
fn check_reply(request: &[Vec<u8>], reply: &[Vec<u8>]) {
    let kind = match reply {
        [ok, ..] if ok == b"OK" => "OK".to_string(),
        [err, kind, ..] if err == b"ERR" => format!("ERR {}", String::from_utf8_lossy(kind)),
        [one] if one.is_empty() => "CSPOT empty".to_string(),
        [one] if one == b"18446744073709551615\0" => "CSPOT fail".to_string(),
        [_] => "CSPOT value".to_string(),
        [_, _] => "CSPOT tail".to_string(),
        _ => "?".to_string(),
    };
    *KINDS.lock().unwrap().entry(kind).or_default() += 1;
    let first = reply.first().map(Vec::as_slice);
    let ok = matches!(first, Some(b"OK" | b"ERR")) || (1..=2).contains(&reply.len());
    assert!(
        ok,
        "malformed reply {:?} to request of {} frames starting {:?}",
        reply.iter().map(|f| f.len()).collect::<Vec<_>>(),
        request.len(),
        request
            .first()
            .map(|f| String::from_utf8_lossy(&f[..f.len().min(20)]).into_owned())
    );
}

/// A CURVE identity for a libzmq client socket: the server's public key and the
/// client's key pair, Z85 (None: no security, the NULL mechanism).
type Curve = Option<(String, String, String)>;

fn secure(sock: &zmq::Socket, curve: &Curve) {
    if let Some((server, public, secret)) = curve {
        sock.set_curve_serverkey(&zmq::z85_decode(server).unwrap())
            .unwrap();
        sock.set_curve_publickey(&zmq::z85_decode(public).unwrap())
            .unwrap();
        sock.set_curve_secretkey(&zmq::z85_decode(secret).unwrap())
            .unwrap();
    }
}

/// Fires `count` requests through a REQ socket; every one must get a reply.
fn req_sender(endpoint: &str, t: &Targets, seed: u64, count: usize, sent: &AtomicUsize) {
    req_sender_as(endpoint, &None, t, seed, count, sent);
}

/// As `req_sender`, authenticated as `curve`.
fn req_sender_as(
    endpoint: &str,
    curve: &Curve,
    t: &Targets,
    seed: u64,
    count: usize,
    sent: &AtomicUsize,
) {
    let mut rng = Rng::with_seed(seed);
    let ctx = zmq::Context::new();
    let sock = ctx.socket(zmq::REQ).unwrap();
    sock.set_linger(0).unwrap();
    secure(&sock, curve);
    // Longer than the proxy's follow cap (1 s): a random follow may wait that long.
    sock.set_rcvtimeo(PROMPT.as_millis() as i32).unwrap();
    sock.connect(endpoint).unwrap();
    for i in 0..count {
        let mut req = garbage(&mut rng, t);
        if req.is_empty() {
            // A REQ socket cannot send no frame at all (the DEALER does).
            req.push(Vec::new());
        }
        sock.send_multipart(&req, 0).unwrap();
        let reply = sock.recv_multipart(0).unwrap_or_else(|e| {
            panic!(
                "REQ seed {seed}: no reply to request {i} ({} frames, sizes {:?}): {e}",
                req.len(),
                req.iter().map(Vec::len).collect::<Vec<_>>()
            )
        });
        check_reply(&req, &reply);
        sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// Fires `count` requests through a DEALER (no envelope discipline: frames exactly
/// as generated, zero frames included), a window at a time; every one must get a reply.
fn dealer_sender(endpoint: &str, t: &Targets, seed: u64, count: usize, sent: &AtomicUsize) {
    let mut rng = Rng::with_seed(seed);
    let ctx = zmq::Context::new();
    let sock = ctx.socket(zmq::DEALER).unwrap();
    sock.set_linger(0).unwrap();
    sock.set_rcvtimeo(PROMPT.as_millis() as i32).unwrap();
    sock.connect(endpoint).unwrap();
    let (mut out, mut back) = (0usize, 0usize);
    while back < out || out < count {
        if out < count && out - back < DEALER_WINDOW {
            let req = garbage(&mut rng, t);
            if req.is_empty() {
                // ZeroMQ has no zero-part message: one empty frame, which the proxy
                // takes as the envelope delimiter, so it sees a request of no frames.
                sock.send(Vec::<u8>::new(), 0).unwrap();
            } else {
                sock.send_multipart(&req, 0).unwrap();
            }
            out += 1;
            sent.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let reply = sock.recv_multipart(0).unwrap_or_else(|e| {
            panic!("DEALER seed {seed}: {out} sent, {back} replies, then none: {e}")
        });
        // A request that began with an empty frame got the delimiter back in front.
        // (No reply of its own starts with an empty frame and has more frames.)
        let reply = match reply.split_first() {
            Some((d, rest)) if d.is_empty() && !rest.is_empty() => rest.to_vec(),
            _ => reply,
        };
        check_reply(&[], &reply);
        back += 1;
    }
}

/// A ZMTP 3 greeting announcing NULL, as a client sends it (64 bytes).
fn zmtp_greeting() -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend_from_slice(&mech);
    g.push(0);
    g.resize(64, 0);
    g
}

/// Opens raw TCP connections that send random bytes, or a valid greeting followed
/// by a cut-off or corrupted handshake, and close (some are left open until the end).
fn raw_sender(addr: &str, seed: u64, stop: &AtomicBool) -> Vec<TcpStream> {
    let mut rng = Rng::with_seed(seed);
    let mut kept = Vec::new();
    let ready = {
        // READY with Socket-Type DEALER, then a message frame.
        let mut r = vec![0x04, 26, 5];
        r.extend_from_slice(b"READY");
        r.extend_from_slice(&[11]);
        r.extend_from_slice(b"Socket-Type");
        r.extend_from_slice(&[0, 0, 0, 6]);
        r.extend_from_slice(b"DEALER");
        r
    };
    for _ in 0..RAW_CONNECTIONS {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(mut s) = TcpStream::connect(addr) else {
            continue;
        };
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        let bytes = match rng.below(4) {
            0 => blob(&mut rng),
            1 => {
                let g = zmtp_greeting();
                g[..rng.below(64) as usize].to_vec()
            }
            2 => {
                let mut b = zmtp_greeting();
                b.extend_from_slice(&ready[..rng.below(ready.len() as u64) as usize]);
                b
            }
            _ => {
                // A whole handshake, then a frame header announcing more than is sent.
                let mut b = zmtp_greeting();
                b.extend_from_slice(&ready);
                b.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 0x10, 0, 0]);
                b.extend_from_slice(&blob(&mut rng));
                b
            }
        };
        let _ = s.write_all(&bytes);
        if rng.below(10) == 0 {
            kept.push(s);
        }
    }
    kept
}

/// The correct client: puts through the library and checks each element reads back;
/// every so often through the tools too. Returns what it put, in seqno order.
fn correct_client(uri: &str, keys: &Path, stop: &AtomicBool) -> Vec<Vec<u8>> {
    let parsed = Uri::parse(uri).unwrap();
    let opts = Options::new(PROMPT, Some(keys));
    let mut c = Client::connect(&parsed, &opts).unwrap();
    let mut put: Vec<Vec<u8>> = Vec::new();
    // At least a few hundred, and on until the garbage is done.
    while put.len() < 300 || !stop.load(Ordering::Relaxed) {
        let n = put.len() as u64;
        let el = encode(1, n);
        if n % 50 == 7 {
            // Through the tools, as a user would.
            let out = ok_stdout(
                util::bare("woof-put")
                    .args([uri, "--keys"])
                    .arg(keys)
                    .write_stdin(el.clone()),
            );
            assert_eq!(out, format!("{}\n", n + 1).into_bytes(), "woof-put's seqno");
            let got = ok_stdout(
                util::bare("woof-get")
                    .args([uri, &(n + 1).to_string(), "--format", "hex", "--keys"])
                    .arg(keys),
            );
            assert_eq!(got, format!("{}\n", hex(&el)).into_bytes(), "woof-get");
        } else {
            let seqno = c
                .put("", "", None, &el)
                .unwrap_or_else(|e| panic!("correct put #{} failed: {e}", n + 1));
            assert_eq!(seqno, n + 1, "the correct client's seqnos are contiguous");
        }
        let got = c
            .get(n + 1, n + 1, ELEMENT)
            .unwrap_or_else(|e| panic!("correct get #{} failed: {e}", n + 1));
        assert_eq!(got.meta.len(), 1, "one element back for #{}", n + 1);
        assert_eq!((got.meta[0].seqno, &got.data), (n + 1, &el));
        put.push(el);
    }
    put
}

#[test]
fn thousands_of_random_frames_change_nothing_and_correct_clients_are_served_throughout() {
    let ns = Ns::new();
    let keys = Ns::new(); // an empty key directory: no CURVE, whatever $HOME holds
    ns.create("w", ELEMENT as u64, 100_000);
    ns.create("junk", ELEMENT as u64, 1000);
    // Every right for anyone, so that random creates (even --force over junk, which
    // the other senders are using) reach the namespace too.
    let mut proxy = Proxy::start(&[ns.path()], &["--timeout", "1s", "--anonymous", "all"]);
    let endpoint = proxy.endpoints[0].1.clone();
    let uri = proxy.uri(ns.path(), "w");
    let ns_path = ns.path().display().to_string();
    let t = Targets {
        ns: ns_path.clone().into_bytes(),
        uri_w: uri.clone().into_bytes(),
        uri_junk: proxy.uri(ns.path(), "junk").into_bytes(),
        uri_triggers: proxy.uri(&ns.path().join(".woof"), "triggers").into_bytes(),
    };
    let authority = proxy.authority();
    let mut rng = Rng::from_env("proxy_fuzz");
    let seeds: Vec<u64> = (0..REQ_SENDERS + 2).map(|_| rng.next()).collect();
    let per = MESSAGES / (REQ_SENDERS + 1);
    let sent = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let started = Instant::now();

    let put = std::thread::scope(|s| {
        let client = s.spawn(|| correct_client(&uri, keys.path(), &stop));
        let raw = s.spawn(|| raw_sender(&authority, seeds[REQ_SENDERS + 1], &stop));
        let senders: Vec<_> = (0..REQ_SENDERS)
            .map(|i| {
                let (endpoint, t, sent, seed) = (&endpoint, &t, &sent, seeds[i]);
                s.spawn(move || req_sender(endpoint, t, seed, per, sent))
            })
            .chain(std::iter::once({
                let (endpoint, t, sent, seed) = (&endpoint, &t, &sent, seeds[REQ_SENDERS]);
                s.spawn(move || dealer_sender(endpoint, t, seed, per, sent))
            }))
            .collect();
        let mut failure = None;
        for h in senders {
            if let Err(e) = h.join() {
                failure.get_or_insert(e);
            }
        }
        stop.store(true, Ordering::Relaxed);
        let kept = raw.join();
        let put = client.join();
        drop(kept);
        if let Some(e) = failure {
            std::panic::resume_unwind(e);
        }
        put.unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    assert_eq!(sent.load(Ordering::Relaxed), per * (REQ_SENDERS + 1));
    eprintln!(
        "proxy_fuzz: {} correct puts; replies to garbage: {:?}",
        put.len(),
        KINDS.lock().unwrap()
    );
    assert!(
        started.elapsed() < TIMEOUT,
        "the barrage finished within {TIMEOUT:?}"
    );
    assert!(proxy.run.is_running(), "{}", proxy.run.stderr_text());

    // The woof holds exactly what the correct client put: remotely and locally.
    let want: Vec<String> = put.iter().map(|e| hex(e)).collect();
    let remote = ok_stdout(util::bare("woof-get").args([
        &uri,
        "1..",
        "--format",
        "hex",
        "--keys",
        &keys.path().display().to_string(),
    ]));
    let remote = String::from_utf8(remote).unwrap();
    assert_eq!(
        remote.lines().collect::<Vec<_>>(),
        want,
        "through the proxy"
    );
    assert_eq!(ns.get_hex("w", "1.."), want, "locally");
    // Still running, and nothing panicked on the way (a worker thread dying would
    // not kill the process, but would print).
    assert!(proxy.run.is_running());
    let err = proxy.run.stderr_text();
    assert!(!err.contains("panicked"), "{err}");
}

/// Subscribes to a socket's DISCONNECTED events.
fn disconnects(ctx: &zmq::Context, sock: &zmq::Socket, name: &str) -> zmq::Socket {
    let addr = format!("inproc://monitor-{name}");
    sock.monitor(&addr, zmq::SocketEvent::DISCONNECTED as i32)
        .unwrap();
    let mon = ctx.socket(zmq::PAIR).unwrap();
    mon.set_rcvtimeo(PROMPT.as_millis() as i32).unwrap();
    mon.connect(&addr).unwrap();
    mon
}

#[test]
fn a_message_over_the_size_limit_drops_its_connection_and_nothing_else() {
    let ns = Ns::new();
    let keys = Ns::new();
    ns.create("w", ELEMENT as u64, 10);
    let mut proxy = Proxy::start(&[ns.path()], &[]);
    let endpoint = proxy.endpoints[0].1.clone();
    let uri = proxy.uri(ns.path(), "w");
    let opts = Options::new(PROMPT, Some(keys.path()));
    let mut c = Client::connect(&Uri::parse(&uri).unwrap(), &opts).unwrap();
    assert_eq!(c.put("", "", None, &encode(1, 0)).unwrap(), 1);

    let ctx = zmq::Context::new();
    let big = ctx.socket(zmq::DEALER).unwrap();
    big.set_linger(0).unwrap();
    big.set_rcvtimeo(2000).unwrap();
    let mon = disconnects(&ctx, &big, "big");
    big.connect(&endpoint).unwrap();
    // Just under the limit (32 MiB): an ordinary bad request, answered.
    let mut frames = vec![
        b"WOOF/1".to_vec(),
        b"put".to_vec(),
        ns.path().display().to_string().into_bytes(),
        b"w".to_vec(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        vec![7u8; 32 << 20],
    ];
    big.send_multipart(&frames, 0).unwrap();
    let reply = big.recv_multipart(0).expect("a reply to a 32 MiB put");
    assert_eq!(reply[0], b"ERR");
    assert_eq!(reply[1], b"size", "a 32 MiB element for a 48-byte woof");
    // Over it: the proxy drops the connection, with no reply.
    *frames.last_mut().unwrap() = vec![7u8; MAX_MESSAGE + 4096];
    big.send_multipart(&frames, 0).unwrap();
    drop(frames);
    let event = mon
        .recv_multipart(0)
        .expect("the proxy dropped the connection");
    let code = u16::from_le_bytes([event[0][0], event[0][1]]);
    assert_eq!(code, zmq::SocketEvent::DISCONNECTED as u16);
    assert!(
        big.recv_multipart(0).is_err(),
        "no reply to the oversized message"
    );

    // The proxy is alive and serves the other client, on its existing connection
    // and on a new one.
    assert!(proxy.run.is_running(), "{}", proxy.run.stderr_text());
    assert_eq!(c.put("", "", None, &encode(1, 1)).unwrap(), 2);
    let mut fresh = Client::connect(&Uri::parse(&uri).unwrap(), &opts).unwrap();
    let got = fresh.get(1, 2, ELEMENT).unwrap();
    assert_eq!(got.data, [encode(1, 0), encode(1, 1)].concat());
    // And the same DEALER, reconnected by ZeroMQ, is served again.
    let info = vec![
        b"WOOF/1".to_vec(),
        b"info".to_vec(),
        ns.path().display().to_string().into_bytes(),
        b"w".to_vec(),
    ];
    big.set_rcvtimeo(PROMPT.as_millis() as i32).unwrap();
    big.send_multipart(&info, 0).unwrap();
    let reply = big.recv_multipart(0).expect("served after reconnecting");
    assert_eq!(reply[0], b"OK");
}

/// The Z85 key in a key file (`id.pub`, `id.key`), without its newline.
fn key_file(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Strangers knock: connections without CURVE and with keys the proxy does not
/// know send a request each; none may get an answer (the handshake turns them away).
/// A friend's request, sent alongside, is answered (so the silence means something).
fn strangers(endpoint: &str, server_public: &str, info: &[Vec<u8>], friend: &Curve) {
    let ctx = zmq::Context::new();
    for _round in 0..5 {
        let known = ctx.socket(zmq::DEALER).unwrap();
        known.set_linger(0).unwrap();
        known.set_rcvtimeo(PROMPT.as_millis() as i32).unwrap();
        secure(&known, friend);
        known.connect(endpoint).unwrap();
        known.send_multipart(info, 0).unwrap();
        let socks: Vec<zmq::Socket> = (0..20)
            .map(|i| {
                let sock = ctx.socket(zmq::DEALER).unwrap();
                sock.set_linger(0).unwrap();
                if i % 2 == 1 {
                    let pair = zmq::CurveKeyPair::new().unwrap();
                    let z = |k: &[u8]| zmq::z85_encode(k).unwrap();
                    let curve = Some((
                        server_public.to_string(),
                        z(&pair.public_key),
                        z(&pair.secret_key),
                    ));
                    secure(&sock, &curve);
                }
                sock.connect(endpoint).unwrap();
                sock.send_multipart(info, zmq::DONTWAIT).unwrap();
                sock
            })
            .collect();
        let mut items: Vec<zmq::PollItem> =
            socks.iter().map(|s| s.as_poll_item(zmq::POLLIN)).collect();
        let reply = known
            .recv_multipart(0)
            .expect("the known client is answered");
        assert_eq!(reply[0], b"OK");
        let n = zmq::poll(&mut items, 300).unwrap();
        assert_eq!(n, 0, "a stranger got an answer");
    }
}

#[test]
fn a_keyed_proxy_serves_its_client_through_authenticated_garbage_and_failed_handshakes() {
    let ns = Ns::new();
    ns.create("w", ELEMENT as u64, 100_000);
    ns.create("junk", ELEMENT as u64, 1000);
    let keys = Ns::new();
    let dir = |who: &str| keys.path().join(who);
    for who in ["server", "good", "reader"] {
        util::bare("woof-proxy")
            .arg("--gen-keys")
            .arg(dir(who))
            .assert()
            .success();
    }
    for who in ["good", "reader"] {
        std::fs::copy(
            dir(who).join("id.pub"),
            dir("server").join(format!("clients/{who}.pub")),
        )
        .unwrap();
    }
    let ns_path = ns.path().display().to_string();
    std::fs::write(
        dir("server").join("acl"),
        format!("{ns_path} good read,write\n{ns_path} reader read\n"),
    )
    .unwrap();
    let mut cmd = util::bare_std("woof-proxy");
    cmd.arg("--export").arg(ns.path());
    cmd.args(["--listen", "tcp://127.0.0.1:0", "--timeout", "1s", "--keys"]);
    cmd.arg(dir("server"));
    let mut proxy = Proxy::spawn(cmd, 1);
    let endpoint = proxy.endpoints[0].1.clone();
    let server_public = key_file(&dir("server").join("id.pub"));
    for who in ["good", "reader"] {
        std::fs::copy(
            dir("server").join("id.pub"),
            dir(who).join(format!("servers/{}.pub", proxy.authority())),
        )
        .unwrap();
    }
    let curve = |who: &str| -> Curve {
        Some((
            server_public.clone(),
            key_file(&dir(who).join("id.pub")),
            key_file(&dir(who).join("id.key")),
        ))
    };
    let uri = proxy.uri(ns.path(), "w");
    let t = Targets {
        ns: ns_path.clone().into_bytes(),
        uri_w: uri.clone().into_bytes(),
        uri_junk: proxy.uri(ns.path(), "junk").into_bytes(),
        uri_triggers: proxy.uri(&ns.path().join(".woof"), "triggers").into_bytes(),
    };
    let info: Vec<Vec<u8>> = [&b"WOOF/1"[..], b"info", ns_path.as_bytes(), b"w"]
        .iter()
        .map(|f| f.to_vec())
        .collect();
    let mut rng = Rng::from_env("proxy_fuzz keyed");
    let seeds: Vec<u64> = (0..3).map(|_| rng.next()).collect();
    let per = 600;
    let sent = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let good_dir = dir("good");

    let put = std::thread::scope(|s| {
        let client = s.spawn(|| correct_client(&uri, &good_dir, &stop));
        let friend = curve("reader");
        let (ep, key, info) = (&endpoint, &server_public, &info);
        let knocks = s.spawn(move || strangers(ep, key, info, &friend));
        let senders: Vec<_> = ["good", "good", "reader"]
            .iter()
            .zip(&seeds)
            .map(|(who, &seed)| {
                let (endpoint, t, sent, curve) = (&endpoint, &t, &sent, curve(who));
                s.spawn(move || req_sender_as(endpoint, &curve, t, seed, per, sent))
            })
            .collect();
        let mut failure = None;
        for h in senders.into_iter().chain(std::iter::once(knocks)) {
            if let Err(e) = h.join() {
                failure.get_or_insert(e);
            }
        }
        stop.store(true, Ordering::Relaxed);
        let put = client.join();
        if let Some(e) = failure {
            std::panic::resume_unwind(e);
        }
        put.unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    assert_eq!(sent.load(Ordering::Relaxed), 3 * per);
    eprintln!(
        "proxy_fuzz keyed: {} correct puts; replies to garbage: {:?}",
        put.len(),
        KINDS.lock().unwrap()
    );
    assert!(proxy.run.is_running(), "{}", proxy.run.stderr_text());
    let err = proxy.run.stderr_text();
    assert!(!err.contains("panicked"), "{err}");
    let want: Vec<String> = put.iter().map(|e| hex(e)).collect();
    assert_eq!(ns.get_hex("w", "1.."), want, "exactly what the client put");
}

/// A fake proxy (libzmq ROUTER) answering every request with `reply(request)`,
/// until the test ends; returns its endpoint.
fn lying_proxy(reply: fn(&[Vec<u8>]) -> Vec<Vec<u8>>) -> String {
    let ctx = zmq::Context::new();
    let sock = ctx.socket(zmq::ROUTER).unwrap();
    sock.set_linger(0).unwrap();
    sock.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = sock.get_last_endpoint().unwrap().unwrap();
    std::thread::spawn(move || {
        let _ctx = ctx;
        while let Ok(mut frames) = sock.recv_multipart(0) {
            // identity, delimiter, request
            let request = frames.split_off(2);
            frames.extend(reply(&request));
            let _ = sock.send_multipart(frames, 0);
        }
    });
    endpoint
}

fn info_reply(size: &str) -> Vec<Vec<u8>> {
    info_with_schema(size, "")
}

fn info_with_schema(size: &str, schema: &str) -> Vec<Vec<u8>> {
    vec![
        b"OK".to_vec(),
        format!("element_size={size}\nhistory=10\nlatest=3\noldest=1\ndurability=none\ncreated_ns=1\nfile_len=1\nschema={schema}\n").into_bytes(),
    ]
}

/// The reply of a proxy that answers info honestly (48-byte elements, 1..=3 held)
/// and everything else with `lie`.
fn honest_info(request: &[Vec<u8>], lie: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if request.get(1).map(Vec::as_slice) == Some(b"info") {
        info_reply("48")
    } else {
        lie
    }
}

#[test]
fn a_lying_proxy_gets_errors_from_the_tools_never_panics() {
    type Lie = fn(&[Vec<u8>]) -> Vec<Vec<u8>>;
    let cases: [(&str, Lie); 9] = [
        ("huge element size", |_| info_reply("1152921504606846976")),
        // Typed reads slice elements by the schema's layout.
        ("a schema bigger than the elements", |_| {
            info_with_schema("8", "a:u64,b:u64")
        }),
        ("max element size", |_| info_reply("18446744073709551615")),
        ("OK and nothing", |r| honest_info(r, vec![b"OK".to_vec()])),
        ("not numbers", |r| {
            honest_info(r, vec![b"OK".to_vec(), b"x".to_vec(), b"y".to_vec()])
        }),
        ("not woof's", |r| honest_info(r, vec![b"hello".to_vec()])),
        ("a bad error", |r| {
            honest_info(r, vec![b"ERR".to_vec(), b"?".to_vec()])
        }),
        ("data not matching meta", |r| {
            let meta = vec![1; 16];
            honest_info(
                r,
                vec![
                    b"OK".to_vec(),
                    b"3".to_vec(),
                    b"1".to_vec(),
                    meta,
                    vec![0; 47],
                ],
            )
        }),
        ("always empty, latest huge", |r| {
            let latest = b"9223372036854775807".to_vec();
            honest_info(
                r,
                vec![
                    b"OK".to_vec(),
                    latest,
                    b"1".to_vec(),
                    Vec::new(),
                    Vec::new(),
                ],
            )
        }),
    ];
    let tools: [&[&str]; 9] = [
        &["woof-put", "--batch"],
        &["woof-put"],
        &["woof-put", "--pad"],
        &["woof-put", "--csv"],
        &["woof-get", "1.."],
        &["woof-get", "2"],
        &["woof-get", "1", "--format", "json"],
        &["woof-tail", "-n", "2"],
        &["woof-tail", "-n", "2", "--format", "csv"],
    ];
    for (what, reply) in cases {
        let ep = lying_proxy(reply);
        let authority = ep.trim_start_matches("tcp://").to_string();
        let uri = format!("woof://{authority}/srv/ns/w");
        for args in tools {
            let out = util::bare(args[0])
                .arg(&uri)
                .args(&args[1..])
                .write_stdin(vec![1u8; 48])
                .timeout(Duration::from_secs(20))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            let ctx = format!("{what}: {args:?}: {:?} {err:?}", out.status);
            // Never a panic (101) or a signal (an aborted allocation): an exit code,
            // and either success or lines of error.
            let code = out.status.code().unwrap_or_else(|| panic!("{ctx}"));
            assert_ne!(code, 101, "{ctx}");
            if code == 0 {
                assert_eq!(err, "", "{ctx}");
            } else {
                // (A range reports each element it cannot read on a line of its own.)
                assert!(
                    err.ends_with('\n')
                        && err
                            .lines()
                            .all(|l| l.starts_with(&format!("{}: ", args[0]))),
                    "{ctx}"
                );
            }
            // What every tool says about an impossible woof: nothing is allocated
            // for it (the one-shot put needs no info, so it sees a bad seqno).
            if what.ends_with("element size") && args != ["woof-put"] {
                let size = if what.starts_with("huge") {
                    "1152921504606846976"
                } else {
                    "18446744073709551615"
                };
                assert_eq!(
                    (code, err.as_ref()),
                    (
                        76,
                        format!(
                            "{}: info reply: impossible woof: element size {size} is too large (at most 67108864 bytes)\n",
                            args[0]
                        )
                        .as_str()
                    ),
                    "{ctx}"
                );
            }
            if what.starts_with("a schema") && args != ["woof-put"] {
                assert_eq!(
                    (code, err.as_ref()),
                    (
                        76,
                        format!(
                            "{}: info reply: impossible woof: its schema makes 16-byte elements, not 8\n",
                            args[0]
                        )
                        .as_str()
                    ),
                    "{ctx}"
                );
            }
            // A batch whose acknowledgement makes no sense says why, not "0 batches".
            if what == "OK and nothing" && args == ["woof-put", "--batch"] {
                assert_eq!(
                    (code, err.as_ref()),
                    (76, "woof-put: putb reply: expected first, last\n"),
                    "{ctx}"
                );
            }
        }
    }
}

#[test]
fn a_proxy_short_of_file_descriptors_keeps_serving_many_woofs() {
    // Each open woof holds a descriptor, and every thread of the proxy keeps its own
    // woofs open: with more woofs than descriptors, a proxy must close what it
    // holds rather than fail every new woof (and every new connection) for good.
    const WOOFS: usize = 300;
    let ns = Ns::new();
    let space = woof::Namespace::open(ns.path()).unwrap();
    for i in 0..WOOFS {
        space
            .create_woof(&format!("w{i}"), &woof::CreateOptions::new(8, 2))
            .unwrap();
    }
    // 128 descriptors: the proxy itself needs some 80 (libzmq's sockets and threads).
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -n 128 && exec \"$0\" \"$@\"",
        util::exe("woof-proxy"),
    ]);
    cmd.arg("--export");
    cmd.arg(ns.path()).args(["--listen", "tcp://127.0.0.1:0"]);
    cmd.stdin(std::process::Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WOOF_") {
            cmd.env_remove(&key);
        }
    }
    let proxy = Proxy::spawn(cmd, 1);
    let ctx = zmq::Context::new();
    let sock = ctx.socket(zmq::REQ).unwrap();
    sock.set_linger(0).unwrap();
    sock.set_rcvtimeo(PROMPT.as_millis() as i32).unwrap();
    sock.connect(&proxy.endpoints[0].1).unwrap();
    // Twice round all of them, CSPOT's latest seqno: 0 each time, never the failure;
    // and now and then a new connection, which is accepted and served.
    for round in 0..2 {
        for i in 0..WOOFS {
            let uri = proxy.uri(ns.path(), &format!("w{i}"));
            sock.send_multipart([&b"5\0"[..], uri.as_bytes()], 0)
                .unwrap();
            let reply = sock.recv_multipart(0).expect("a reply");
            assert_eq!(reply, vec![b"0\0".to_vec()], "round {round}, woof w{i}");
            if i % 50 == 49 {
                let get = util::bare("woof-get")
                    .args([&uri, "--info", "--timeout", "5s"])
                    .output()
                    .unwrap();
                let out = String::from_utf8_lossy(&get.stdout);
                assert!(
                    out.contains("latest:       0\n"),
                    "round {round}, new connection for w{i}: {:?} {}",
                    get.status,
                    String::from_utf8_lossy(&get.stderr)
                );
            }
        }
    }
}

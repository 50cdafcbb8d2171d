//! Seed inputs of every fuzz target, made with woof's own encoders so that the
//! fuzzers start from valid inputs and mutate from there (examples/seeds.rs writes
//! them into corpus/; tests/seeds.rs checks they are what they claim).

use woof::results::{Outcome, RunResult};
use woof::trigger_log::Trigger;
use woof::{CreateOptions, Error, ErrorKind, Namespace};
use woof_net::proto;

use crate::{NS, join};

/// Named inputs of one target.
pub type Seeds = Vec<(&'static str, Vec<u8>)>;

/// Every target's seeds.
pub fn all() -> Result<Vec<(&'static str, Seeds)>, Error> {
    Ok(vec![
        ("woof_file", woof_files()?),
        ("log_records", log_records()?),
        ("proxy_request", proxy_requests()),
        ("client_reply", client_replies()),
        ("zmtp_client", zmtp_streams()),
        ("zmtp_server", zmtp_client_streams()),
        ("schema", schemas()),
        ("records", records()),
    ])
}

pub fn woof_files() -> Result<Seeds, Error> {
    let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
    let ns = Namespace::open(dir.path())?;
    let plain = ns.create_woof("plain", &CreateOptions::new(8, 4))?;
    for i in 0..6u64 {
        plain.put(&i.to_le_bytes())?;
    }
    let mut typed = CreateOptions::new(16, 2);
    typed.schema = b"t:timestamp,v:f64".to_vec();
    let typed = ns.create_woof("typed", &typed)?;
    typed.put(&[1; 16])?;
    ns.create_woof("empty", &CreateOptions::new(1, 1))?;
    let read = |name: &str| {
        std::fs::read(dir.path().join(name)).map_err(|e| Error::io(name.to_string(), e))
    };
    drop((plain, typed));
    Ok(vec![
        ("plain", read("plain")?),
        ("typed", read("typed")?),
        ("empty", read("empty")?),
    ])
}

pub fn log_records() -> Result<Seeds, Error> {
    let t = Trigger {
        woof: "temps".into(),
        seqno: 7,
        handler: "alarm".into(),
        put_time_ns: 1_700_000_000_000_000_000,
        cause: "alarm:temps:6".into(),
    };
    let r = RunResult {
        trigger: 3,
        woof: "temps".into(),
        seqno: 7,
        handler: "alarm".into(),
        start_ns: 1_700_000_000_000_000_000,
        duration_ns: 1_500_000,
        outcome: Outcome::Exited(3),
        cause: String::new(),
        detail: "exit status 3".into(),
    };
    Ok(vec![
        ("trigger", t.encode()?.to_vec()),
        ("result", r.encode().to_vec()),
    ])
}

pub fn proxy_requests() -> Seeds {
    let woof = |op: &[u8], name: &[u8], args: &[&[u8]]| {
        let mut f: Vec<&[u8]> = vec![proto::MAGIC, op, NS, name];
        f.extend_from_slice(args);
        join(&f)
    };
    let cspot_uri = [b"woof://localhost".as_slice(), NS, b"/w\0"].concat();
    let typed_uri = [b"woof://localhost".as_slice(), NS, b"/t\0"].concat();
    vec![
        ("info", woof(b"info", b"w", &[])),
        ("put", woof(b"put", b"w", &[b"", b"", b"", b"12345678"])),
        (
            "put-trigger",
            woof(b"put", b"w", &[b"h", b"cause", b"always", b"abcdefgh"]),
        ),
        ("putb", woof(b"putb", b"t", &[b"", b"", b"none", &[2; 32]])),
        ("get", woof(b"get", b"w", &[b"1", b"5"])),
        ("follow", woof(b"follow", b"w", &[b"0", b"0", b"10"])),
        (
            "create",
            woof(b"create", b"new", &[b"8", b"16", b"", b"", b""]),
        ),
        (
            "fput",
            woof(
                b"fput",
                b"w",
                &[
                    b"edge:/ns/w",
                    b"7",
                    b"1",
                    b"",
                    b"",
                    b"",
                    b"",
                    &[1; 16],
                    b"1234567812345678",
                ],
            ),
        ),
        (
            "fput-lost-reset",
            woof(
                b"fput",
                b"w",
                &[
                    b"edge:/ns/w",
                    b"9",
                    b"5",
                    b"lost,reset",
                    b"h",
                    b"",
                    b"none",
                    &[2; 8],
                    b"abcdefgh",
                ],
            ),
        ),
        ("origin", woof(b"origin", b"w", &[b"edge:/ns/w"])),
        ("cspot-put", join(&[b"1\0", &cspot_uri, b"\0", b"12345678"])),
        (
            "cspot-put-handler",
            join(&[b"1\0", &cspot_uri, b"h\0", b"12345678"]),
        ),
        ("cspot-size", join(&[b"2\0", &typed_uri])),
        ("cspot-get", join(&[b"3\0", &cspot_uri, b"1\0"])),
        ("cspot-tail", join(&[b"4\0", &cspot_uri, b"3\0"])),
        ("cspot-latest", join(&[b"5\0", &cspot_uri])),
    ]
}

pub fn client_replies() -> Seeds {
    let err = Error::new(ErrorKind::NotFound, "temps").detail("no such woof");
    let mut err_frames = proto::error_reply(&err);
    err_frames.remove(0);
    let refs = |v: &[Vec<u8>]| v.to_vec();
    let info = woof::Info {
        element_size: 8,
        history: 16,
        latest: 5,
        oldest: 1,
        created_ns: 1_700_000_000_000_000_000,
        durability: woof::Durability::Always,
        schema: b"t:timestamp,v:f64".to_vec(),
        file_len: 4096 + 16 * 40,
        incarnation: 7,
    };
    let mut meta = Vec::new();
    for seqno in 1..=2u64 {
        proto::push_meta(
            &mut meta,
            &woof::Element {
                seqno,
                time_ns: 1_700_000_000_000_000_000 + seqno,
            },
        );
    }
    let joined = |frames: &[Vec<u8>]| {
        let r: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        join(&r)
    };
    vec![
        ("error", [vec![0u8], joined(&refs(&err_frames))].concat()),
        ("info", [vec![0u8], proto::info_text(&info)].concat()),
        (
            "elements",
            [
                vec![8u8],
                joined(&[b"2".to_vec(), b"1".to_vec(), meta, vec![7; 16]]),
            ]
            .concat(),
        ),
    ]
}

/// A ZMTP 3.1 greeting naming `mechanism`.
fn zmtp_greeting(mechanism: &[u8]) -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 1];
    let mut m = mechanism.to_vec();
    m.resize(20, 0);
    g.extend_from_slice(&m);
    g.resize(64, 0);
    g
}

/// A short ZMTP command frame.
fn zmtp_command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name);
    body.extend_from_slice(data);
    let mut f = vec![0x04, body.len() as u8];
    f.extend_from_slice(&body);
    f
}

/// A short ZMTP message frame.
fn zmtp_frame(more: bool, body: &[u8]) -> Vec<u8> {
    let mut f = vec![u8::from(more), body.len() as u8];
    f.extend_from_slice(body);
    f
}

/// READY metadata naming a socket type.
fn socket_type(value: &[u8]) -> Vec<u8> {
    let name = b"Socket-Type";
    let mut p = vec![name.len() as u8];
    p.extend_from_slice(name);
    p.extend_from_slice(&(value.len() as u32).to_be_bytes());
    p.extend_from_slice(value);
    p
}

/// A server's side of a connection as libzmq 4.3 writes it.
pub fn zmtp_streams() -> Seeds {
    let (greeting, command, frame) = (zmtp_greeting, zmtp_command, zmtp_frame);
    let ready = command(b"READY", &socket_type(b"ROUTER"));
    let reply = [
        frame(true, b""),
        frame(true, b"OK"),
        frame(false, b"8 16 5 1"),
    ]
    .concat();
    let ping = command(b"PING", b"\0\x0aabc");
    let null = [greeting(b"NULL"), ready.clone(), reply.clone(), ping, reply].concat();
    let error = [greeting(b"NULL"), command(b"ERROR", b"\x0bno access!!")].concat();
    let welcome = [greeting(b"CURVE"), command(b"WELCOME", &[0; 160])].concat();
    vec![
        ("null-at-once", [vec![1], null.clone()].concat()),
        ("null-careful", [vec![0], null].concat()),
        ("null-error", [vec![0], error].concat()),
        ("curve-welcome", [vec![2], welcome].concat()),
    ]
}

/// What clients send a server: NULL with REQ- and DEALER-style messages and a
/// PING (all at once, and in pieces of 1 and 7 bytes), CURVE's HELLO.
pub fn zmtp_client_streams() -> Seeds {
    let (greeting, command, frame) = (zmtp_greeting, zmtp_command, zmtp_frame);
    let ready = command(b"READY", &socket_type(b"REQ"));
    let request = [
        frame(true, b""),
        frame(true, b"WOOF/1"),
        frame(false, b"info"),
    ]
    .concat();
    let long = [vec![0x02], 300u64.to_be_bytes().to_vec(), vec![b'x'; 300]].concat();
    let ping = command(b"PING", b"\0\x0aabc");
    let null = [
        greeting(b"NULL"),
        ready,
        request.clone(),
        ping,
        long,
        request,
    ]
    .concat();
    let mut hello = vec![1, 0];
    hello.resize(194, 0);
    let curve = [greeting(b"CURVE"), command(b"HELLO", &hello)].concat();
    vec![
        ("null", [vec![0], null.clone()].concat()),
        ("null-bytewise", [vec![2], null.clone()].concat()),
        ("null-sevens", [vec![14], null].concat()),
        ("curve-hello", [vec![1], curve].concat()),
    ]
}

pub fn schemas() -> Seeds {
    vec![
        ("all-types", b"t:timestamp,a:i8,b:i16,c:i32,d:i64,e:u8=3,f:u16,g:u32,h:u64,x:f32,y:f64=1.5,ok:bool,s:str12=hi,raw:bytes4\0\x01\x02\x03".to_vec()),
        ("short", b"v:f64".to_vec()),
    ]
}

pub fn records() -> Seeds {
    let csv = b"t,a,b,c,d,e,f,g,h,x,y,ok,s,raw\n2026-01-02T03:04:05Z,-1,2,3,4,5,6,7,8,1.5,2.5,true,\"kit,chen\",00ff00ff\n1700000000,1,1,1,1,1,1,1,1,1,1,false,\"a\nb\",01020304\n";
    let json = b"{\"t\":\"2026-01-02T03:04:05.5Z\",\"a\":-1,\"x\":1e3,\"ok\":true,\"s\":\"k\\u00e9\"}\n{\"t\":1700000000,\"h\":18446744073709551615}\n";
    vec![
        ("csv", [b"\x02".as_slice(), csv].concat()),
        ("json", [b"\x01".as_slice(), json].concat()),
    ]
}

//! CSPOT's wire protocol against a live woof-proxy (issue 4), through a CSPOT client
//! written here from the message catalogue (cspot-spec §4.5) with a libzmq REQ
//! socket, exactly as the C client library talks: tag 1 put, 2 element size, 3 get,
//! 4 tail, 5 latest seqno; decimal string frames, sent both with the 2.0 encoder's
//! trailing NUL and without it (1.0); an empty handler frame for no handler.
//!
//! Where the original stayed silent, the proxy must reply at once with CSPOT's
//! failure value (2^64-1, or an empty frame for data) and change nothing. Elements
//! written over CSPOT read back identically through woof's tools (remote and local)
//! and vice versa, and a CSPOT put with a handler triggers it through woof-platform.

#![allow(clippy::unwrap_used)]

use crate::util;

use util::{Ns, PROMPT, Proxy, TIMEOUT, hex, ok_stdout, wait_until};

/// A multipart message.
type Frames = Vec<Vec<u8>>;

/// CSPOT's failure value for numbers.
const FAIL: &[u8] = b"18446744073709551615\0";

/// How string frames are encoded: CSPOT 2.0 appends a NUL, 1.0 did not.
#[derive(Debug, Clone, Copy)]
enum Enc {
    Nul,
    Bare,
}

impl Enc {
    fn s(self, text: &str) -> Vec<u8> {
        let mut v = text.as_bytes().to_vec();
        if matches!(self, Enc::Nul) {
            v.push(0);
        }
        v
    }
}

/// A CSPOT client: one REQ socket, a bounded wait for each reply (CSPOT's own
/// client waits 3 s; a silent proxy fails the test instead of hanging it).
struct Cspot {
    sock: zmq::Socket,
    _ctx: zmq::Context,
}

impl Cspot {
    fn connect(endpoint: &str) -> Cspot {
        let ctx = zmq::Context::new();
        let sock = ctx.socket(zmq::REQ).unwrap();
        sock.set_linger(0).unwrap();
        sock.set_rcvtimeo(PROMPT.as_millis() as i32).unwrap();
        sock.set_sndtimeo(PROMPT.as_millis() as i32).unwrap();
        sock.connect(endpoint).unwrap();
        Cspot { sock, _ctx: ctx }
    }

    /// Sends one request and returns the reply's frames.
    fn call(&self, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
        self.sock.send_multipart(frames, 0).unwrap();
        self.sock
            .recv_multipart(0)
            .unwrap_or_else(|e| panic!("no reply to {}: {e}", shown(frames)))
    }

    fn put(&self, enc: Enc, uri: &str, handler: &str, data: &[u8]) -> Vec<Vec<u8>> {
        self.call(&[enc.s("1"), enc.s(uri), enc.s(handler), data.to_vec()])
    }

    fn size(&self, enc: Enc, uri: &str) -> Vec<Vec<u8>> {
        self.call(&[enc.s("2"), enc.s(uri)])
    }

    fn get(&self, enc: Enc, uri: &str, seqno: u64) -> Vec<Vec<u8>> {
        self.call(&[enc.s("3"), enc.s(uri), enc.s(&seqno.to_string())])
    }

    fn tail(&self, enc: Enc, uri: &str, count: u64) -> Vec<Vec<u8>> {
        self.call(&[enc.s("4"), enc.s(uri), enc.s(&count.to_string())])
    }

    fn latest(&self, enc: Enc, uri: &str) -> Vec<Vec<u8>> {
        self.call(&[enc.s("5"), enc.s(uri)])
    }
}

/// Frames for failure messages: printable ones as text, others as hex.
fn shown(frames: &[Vec<u8>]) -> String {
    let parts: Vec<String> = frames
        .iter()
        .map(|f| match std::str::from_utf8(f) {
            Ok(t) if f.len() < 100 => format!("{t:?}"),
            _ => format!("<{} bytes {}>", f.len(), hex(&f[..f.len().min(16)])),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A number reply as CSPOT 2.0 sends it: decimal plus NUL.
fn n(v: u64) -> Vec<u8> {
    let mut out = v.to_string().into_bytes();
    out.push(0);
    out
}

/// A 16-byte element with binary content (NULs included) derived from `i`.
fn element(i: u8) -> Vec<u8> {
    (0..16u8).map(|k| k.wrapping_mul(37) ^ i).collect()
}

#[test]
fn put_size_get_tail_and_latest_round_trip_with_and_without_trailing_nuls() {
    for enc in [Enc::Nul, Enc::Bare] {
        let ns = Ns::new();
        ns.create("w", 16, 10);
        let proxy = Proxy::start(&[ns.path()], &[]);
        let c = Cspot::connect(&proxy.endpoints[0].1);
        let uri = proxy.uri(ns.path(), "w");
        let ctx = format!("{enc:?}");

        // An empty woof: latest 0, get fails (empty frame), tail reads nothing.
        assert_eq!(c.latest(enc, &uri), vec![n(0)], "{ctx}");
        assert_eq!(c.size(enc, &uri), vec![n(16)], "{ctx}");
        assert_eq!(c.get(enc, &uri, 0), vec![Vec::<u8>::new()], "{ctx}");
        assert_eq!(c.tail(enc, &uri, 5), vec![n(0), Vec::new()], "{ctx}");

        for i in 1..=3u8 {
            assert_eq!(c.put(enc, &uri, "", &element(i)), vec![n(u64::from(i))]);
        }
        assert_eq!(c.latest(enc, &uri), vec![n(3)], "{ctx}");
        assert_eq!(c.get(enc, &uri, 2), vec![element(2)], "{ctx}");
        assert_eq!(c.get(enc, &uri, 0), vec![element(3)], "seq 0 is the latest");
        assert_eq!(c.get(enc, &uri, 4), vec![Vec::<u8>::new()], "not yet put");
        // Tail: the count read, then the elements newest first, concatenated.
        assert_eq!(
            c.tail(enc, &uri, 2),
            vec![n(2), [element(3), element(2)].concat()],
            "{ctx}"
        );
        assert_eq!(
            c.tail(enc, &uri, 100),
            vec![n(3), [element(3), element(2), element(1)].concat()],
            "{ctx}"
        );

        // Past the history (10): only what is held, and evicted seqnos fail.
        for i in 4..=12u8 {
            assert_eq!(c.put(enc, &uri, "", &element(i)), vec![n(u64::from(i))]);
        }
        let newest: Vec<u8> = (3..=12u8).rev().flat_map(element).collect();
        assert_eq!(c.tail(enc, &uri, 100), vec![n(10), newest], "{ctx}");
        assert_eq!(c.get(enc, &uri, 1), vec![Vec::<u8>::new()], "evicted");
        assert_eq!(c.get(enc, &uri, 3), vec![element(3)], "{ctx}");
        assert_eq!(c.latest(enc, &uri), vec![n(12)], "{ctx}");
    }
}

#[test]
fn bad_requests_get_the_failure_value_at_once_and_change_nothing() {
    let ns = Ns::new();
    let other = Ns::new(); // a namespace that exists but is not exported
    ns.create("w", 16, 10);
    other.create("w", 16, 10);
    ns.handler("h", "#!/bin/sh\nexit 0\n");
    let proxy = Proxy::start(&[ns.path()], &[]);
    let c = Cspot::connect(&proxy.endpoints[0].1);
    let uri = proxy.uri(ns.path(), "w");
    let missing = proxy.uri(ns.path(), "missing");
    let unexported = proxy.uri(other.path(), "w");
    let internals = format!("{}/.woof/triggers", uri.trim_end_matches("/w"));
    let el = element(1);
    let e = Enc::Nul;
    assert_eq!(c.put(e, &uri, "", &el), vec![n(1)]);
    let before = (ns.snapshot(), other.snapshot(), ns.trigger_latest());

    let empty = vec![Vec::<u8>::new()];
    let fail = vec![FAIL.to_vec()];
    let tail_fail = vec![FAIL.to_vec(), Vec::new()];
    let cases: Vec<(&str, Frames, Frames)> = vec![
        (
            "put to a missing woof",
            vec![e.s("1"), e.s(&missing), e.s(""), el.clone()],
            fail.clone(),
        ),
        (
            "put of a short element",
            vec![e.s("1"), e.s(&uri), e.s(""), el[..15].to_vec()],
            fail.clone(),
        ),
        (
            "put of a long element",
            vec![e.s("1"), e.s(&uri), e.s(""), [&el[..], b"x"].concat()],
            fail.clone(),
        ),
        (
            "put of an empty element",
            vec![e.s("1"), e.s(&uri), e.s(""), Vec::new()],
            fail.clone(),
        ),
        (
            "put with handler ../x",
            vec![e.s("1"), e.s(&uri), e.s("../x"), el.clone()],
            fail.clone(),
        ),
        (
            "put with handler a/h",
            vec![e.s("1"), e.s(&uri), e.s("a/h"), el.clone()],
            fail.clone(),
        ),
        (
            "put with handler .h",
            vec![e.s("1"), e.s(&uri), e.s(".h"), el.clone()],
            fail.clone(),
        ),
        (
            "put with a missing handler",
            vec![e.s("1"), e.s(&uri), e.s("nohandler"), el.clone()],
            fail.clone(),
        ),
        (
            "put to a namespace not exported",
            vec![e.s("1"), e.s(&unexported), e.s(""), el.clone()],
            fail.clone(),
        ),
        (
            "put to the trigger log",
            vec![e.s("1"), e.s(&internals), e.s(""), el.clone()],
            fail.clone(),
        ),
        (
            "put to a URI with a trailing slash",
            vec![e.s("1"), e.s(&format!("{uri}/")), e.s(""), el.clone()],
            fail.clone(),
        ),
        (
            "put to a name with ..",
            vec![e.s("1"), e.s(&format!("{uri}/..")), e.s(""), el.clone()],
            fail.clone(),
        ),
        (
            "put to a plain name, not a URI",
            vec![e.s("1"), e.s("w"), e.s(""), el.clone()],
            fail.clone(),
        ),
        (
            "put with 3 frames",
            vec![e.s("1"), e.s(&uri), el.clone()],
            fail.clone(),
        ),
        (
            "put with 5 frames",
            vec![e.s("1"), e.s(&uri), e.s(""), el.clone(), el.clone()],
            fail.clone(),
        ),
        (
            "size of a missing woof",
            vec![e.s("2"), e.s(&missing)],
            fail.clone(),
        ),
        (
            "size of a namespace not exported",
            vec![e.s("2"), e.s(&unexported)],
            fail.clone(),
        ),
        (
            "size with 3 frames",
            vec![e.s("2"), e.s(&uri), e.s("1")],
            fail.clone(),
        ),
        (
            "get of a missing woof",
            vec![e.s("3"), e.s(&missing), e.s("1")],
            empty.clone(),
        ),
        (
            "get with a seqno not a number",
            vec![e.s("3"), e.s(&uri), e.s("one")],
            empty.clone(),
        ),
        (
            "get with a negative seqno",
            vec![e.s("3"), e.s(&uri), e.s("-1")],
            empty.clone(),
        ),
        (
            "get with 2 frames",
            vec![e.s("3"), e.s(&uri)],
            empty.clone(),
        ),
        (
            "tail of a missing woof",
            vec![e.s("4"), e.s(&missing), e.s("3")],
            tail_fail.clone(),
        ),
        (
            "tail with a count not a number",
            vec![e.s("4"), e.s(&uri), e.s("")],
            tail_fail.clone(),
        ),
        (
            "latest of a missing woof",
            vec![e.s("5"), e.s(&missing)],
            fail.clone(),
        ),
        (
            "latest of the trigger log",
            vec![e.s("5"), e.s(&internals)],
            fail.clone(),
        ),
        ("latest with only the tag", vec![e.s("5")], fail.clone()),
        ("tag 0", vec![e.s("0"), e.s(&uri)], fail.clone()),
        (
            "tag 6 (repair builds only)",
            vec![e.s("6"), e.s(&uri)],
            fail.clone(),
        ),
        (
            "tag 21 (capabilities)",
            vec![e.s("21"), vec![0; 16], e.s(&uri), e.s(""), el.clone()],
            fail.clone(),
        ),
        ("tag 999", vec![e.s("999"), e.s(&uri)], fail.clone()),
    ];
    for (what, request, want) in &cases {
        let got = c.call(request);
        assert_eq!(got, *want, "{what}: {} -> {}", shown(request), shown(&got));
    }

    // A first frame that is not a decimal tag is not CSPOT's: it gets woof's own
    // explicit error reply (a CSPOT client reads that as a failed parse), never silence.
    for tag in ["1x", "-1", "1234", ""] {
        let got = c.call(&[e.s(tag), e.s(&uri)]);
        assert_eq!(
            got.first().map(Vec::as_slice),
            Some(&b"ERR"[..]),
            "tag {tag:?}: {}",
            shown(&got)
        );
        assert_eq!(got[1], b"protocol", "tag {tag:?}: {}", shown(&got));
    }
    assert_eq!(
        (ns.snapshot(), other.snapshot(), ns.trigger_latest()),
        before,
        "no failed request changed anything"
    );
    // And the socket still serves.
    assert_eq!(c.get(e, &uri, 1), vec![el]);
}

#[test]
fn a_cspot_put_with_a_handler_triggers_it_through_the_platform() {
    let ns = Ns::new();
    ns.create("w", 16, 10);
    // The handler keeps its stdin and environment where the test can see them.
    ns.handler(
        "h",
        "#!/bin/sh\ncat > \"$WOOF_NAMESPACE/got.$WOOF_SEQNO\"\n\
         echo \"$WOOF_NAME $WOOF_HANDLER cause=$WOOF_CAUSE\" > \"$WOOF_NAMESPACE/env.$WOOF_SEQNO\"\n",
    );
    let _platform = ns.platform(&[]);
    let proxy = Proxy::start(&[ns.path()], &[]);
    let c = Cspot::connect(&proxy.endpoints[0].1);
    let uri = proxy.uri(ns.path(), "w");
    for (enc, i) in [(Enc::Nul, 1u8), (Enc::Bare, 2)] {
        assert_eq!(c.put(enc, &uri, "h", &element(i)), vec![n(u64::from(i))]);
    }
    // A put without a handler triggers nothing.
    assert_eq!(c.put(Enc::Nul, &uri, "", &element(3)), vec![n(3)]);
    for i in 1..=2u8 {
        let got = format!("got.{i}");
        assert!(
            wait_until(TIMEOUT, || ns.read(&format!("env.{i}")).ends_with('\n')),
            "handler h did not run for seqno {i}; results: {:?}",
            ns.results()
        );
        assert_eq!(std::fs::read(ns.file(&got)).unwrap(), element(i));
        // A remote CSPOT put carries no cause, as in the original (cause 0, 0): the
        // handler's own run is its WOOF_CAUSE.
        let env = ns.read(&format!("env.{i}"));
        assert!(
            env.starts_with("w h cause=") && env.contains(&format!("{}#", ns.abs())),
            "{env:?}"
        );
    }
    let r = ns.wait_results(TIMEOUT, "2 runs", |r| util::finals(r).len() == 2);
    // (Sorted: the two runs may end in either order.)
    let mut runs: Vec<(String, u64, String, Option<i64>, String)> = util::finals(&r)
        .iter()
        .map(|x| {
            (
                x.woof.clone(),
                x.seqno,
                x.outcome.clone(),
                x.code,
                x.cause.clone(),
            )
        })
        .collect();
    runs.sort_by_key(|r| r.1);
    assert_eq!(
        runs,
        vec![
            ("w".into(), 1, "exited".into(), Some(0), String::new()),
            ("w".into(), 2, "exited".into(), Some(0), String::new()),
        ],
        "exactly the two puts with a handler ran, each uncaused"
    );
    assert!(
        !ns.file("got.3").exists(),
        "the put without handler ran nothing"
    );
}

#[test]
fn elements_put_over_cspot_read_back_identically_through_woof_tools_and_vice_versa() {
    let ns = Ns::new();
    ns.create("w", 16, 100);
    let proxy = Proxy::start(&[ns.path()], &[]);
    let c = Cspot::connect(&proxy.endpoints[0].1);
    let uri = proxy.uri(ns.path(), "w");

    // CSPOT puts 1..=3 ...
    for i in 1..=3u8 {
        assert_eq!(
            c.put(Enc::Nul, &uri, "", &element(i)),
            vec![n(u64::from(i))]
        );
    }
    let want: Vec<String> = (1..=3u8).map(|i| hex(&element(i))).collect();
    // ... which woof-get reads the same over woof's protocol and locally.
    let remote = ok_stdout(util::bare("woof-get").args([&uri, "1..", "--format", "hex"]));
    assert_eq!(
        String::from_utf8(remote)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        want
    );
    assert_eq!(ns.get_hex("w", "1.."), want);

    // woof-put puts 4..=5 remotely (a batch) and 6 locally ...
    let batch = [element(4), element(5)].concat();
    let out = ok_stdout(
        util::bare("woof-put")
            .args([&uri, "--batch"])
            .write_stdin(batch),
    );
    assert_eq!(out, b"4..5\n");
    assert_eq!(ns.put("w", &element(6)), 6);
    // ... which CSPOT reads back byte for byte: get, latest, tail.
    for i in 1..=6u8 {
        for enc in [Enc::Nul, Enc::Bare] {
            assert_eq!(
                c.get(enc, &uri, u64::from(i)),
                vec![element(i)],
                "{enc:?} {i}"
            );
        }
    }
    assert_eq!(c.latest(Enc::Bare, &uri), vec![n(6)]);
    let newest: Vec<u8> = (1..=6u8).rev().flat_map(element).collect();
    assert_eq!(c.tail(Enc::Nul, &uri, 6), vec![n(6), newest]);
    let info = ok_stdout(util::bare("woof-get").args([&uri, "--info"]));
    let info = String::from_utf8(info).unwrap();
    assert!(info.contains("latest:       6\n"), "{info}");
}

#[test]
fn a_tail_reply_is_bounded_like_a_get_reply() {
    // CSPOT's tail has no continuation, so the proxy bounds it as it bounds woof's
    // own get replies (MAX_REPLY_DATA): the count frame says how many it read,
    // which WooFReadTail allows to be fewer than asked.
    const SIZE: usize = 1 << 20;
    let held = woof_net::proto::MAX_REPLY_DATA / SIZE + 2;
    let ns = Ns::new();
    ns.create("big", SIZE as u64, 2 * held as u64);
    let els: Vec<Vec<u8>> = (0..held).map(|i| vec![i as u8 + 1; SIZE]).collect();
    assert_eq!(ns.put_batch("big", &els.concat()), (1, held as u64));
    let proxy = Proxy::start(&[ns.path()], &[]);
    let c = Cspot::connect(&proxy.endpoints[0].1);
    let uri = proxy.uri(ns.path(), "big");
    let fit = woof_net::proto::MAX_REPLY_DATA / SIZE;
    let newest: Vec<u8> = els.iter().rev().take(fit).flatten().copied().collect();
    let reply = c.tail(Enc::Nul, &uri, 1000);
    assert_eq!(reply.len(), 2);
    assert_eq!(reply[0], n(fit as u64), "{}", shown(&reply));
    assert!(
        reply[1] == newest,
        "the {fit} newest elements, newest first"
    );
    // Within the bound, exactly what was asked.
    let reply = c.tail(Enc::Nul, &uri, 2);
    assert_eq!(
        reply,
        vec![n(2), [&els[held - 1][..], &els[held - 2]].concat()]
    );
}

#[test]
fn one_endpoint_serves_each_exported_namespace_by_the_uri_and_no_other() {
    let (one, two, other) = (Ns::new(), Ns::new(), Ns::new());
    for ns in [&one, &two, &other] {
        ns.create("w", 16, 10);
    }
    let proxy = Proxy::start(&[one.path(), two.path()], &[]);
    let c = Cspot::connect(&proxy.endpoints[0].1);
    // The same woof name in two namespaces: two woofs.
    assert_eq!(
        c.put(Enc::Nul, &proxy.uri(one.path(), "w"), "", &element(1)),
        vec![n(1)]
    );
    for i in 2..=3u8 {
        assert_eq!(
            c.put(Enc::Nul, &proxy.uri(two.path(), "w"), "", &element(i)),
            vec![n(u64::from(i) - 1)]
        );
    }
    assert_eq!(one.get_hex("w", "1.."), vec![hex(&element(1))]);
    assert_eq!(
        two.get_hex("w", "1.."),
        vec![hex(&element(2)), hex(&element(3))]
    );
    assert_eq!(c.latest(Enc::Nul, &proxy.uri(one.path(), "w")), vec![n(1)]);
    assert_eq!(c.latest(Enc::Nul, &proxy.uri(two.path(), "w")), vec![n(2)]);
    // A namespace the proxy does not export is not reachable through it, nor is a
    // path inside an exported one.
    let inside = one.path().join("sub");
    std::fs::create_dir(&inside).unwrap();
    util::bare("woof-create")
        .arg("-N")
        .arg(&inside)
        .args(["w", "-s", "16", "-n", "10"])
        .assert()
        .success();
    for uri in [proxy.uri(other.path(), "w"), proxy.uri(&inside, "w")] {
        assert_eq!(c.latest(Enc::Nul, &uri), vec![FAIL.to_vec()], "{uri}");
        assert_eq!(
            c.put(Enc::Nul, &uri, "", &element(9)),
            vec![FAIL.to_vec()],
            "{uri}"
        );
    }
    assert_eq!(other.latest("w"), 0);
    let nested = util::bare("woof-get")
        .arg("-N")
        .arg(&inside)
        .args(["w", "--info"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&nested.stdout).contains("latest:       0\n"));
}

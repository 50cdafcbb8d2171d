//! The tools on `woof://` URIs through a real woof-proxy on loopback: the same
//! output as local reads, puts that trigger handlers, remote follow with a cursor,
//! and every bad input of the network issue with its message and exit code.

use crate::util;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use util::*;

fn exported(ns: &Ns, name: &str, size: u64, history: u64) -> Proxy {
    ns.create(name, size, history);
    Proxy::start(&[ns.path()], &[])
}

#[test]
fn remote_reads_print_what_local_reads_print() {
    let ns = Ns::new();
    let proxy = exported(&ns, "temps", 16, 50);
    let uri = proxy.uri(ns.path(), "temps");
    for i in 0..30u64 {
        let out = ok_stdout(
            bare("woof-put")
                .args([&uri, "--pad"])
                .write_stdin(format!("reading {i}")),
        );
        assert_eq!(parse_seqno_line(&out), i + 1);
    }
    for args in [
        vec!["1..30", "--format", "csv"],
        vec!["5", "--format", "hex"],
        vec!["0", "--format", "json"],
        vec!["25..", "--format", "dump"],
        vec!["--info"],
        vec!["--info", "--format", "json"],
    ] {
        let local = ok_stdout(ns.cmd("woof-get").arg("temps").args(&args));
        let remote = ok_stdout(bare("woof-get").arg(&uri).args(&args));
        let local = String::from_utf8_lossy(&local).replace("temps", "NAME");
        let remote = String::from_utf8_lossy(&remote).replace(&uri, "NAME");
        assert_eq!(remote, local, "woof-get {args:?}");
    }
    let local = ok_stdout(
        ns.cmd("woof-tail")
            .args(["temps", "-n", "7", "--format", "csv"]),
    );
    let remote = ok_stdout(bare("woof-tail").args([&uri, "-n", "7", "--format", "csv"]));
    assert_eq!(remote, local);
}

#[test]
fn remote_batch_put_streams_every_element_in_order() {
    let ns = Ns::new();
    let proxy = exported(&ns, "bulk", 48, 100_000);
    let uri = proxy.uri(ns.path(), "bulk");
    // Enough for many batches in flight at once.
    let data = encoded_lines(1, 0..50_000);
    let out = ok_stdout(
        bare("woof-put")
            .args([&uri, "--lines", "--pad"])
            .write_stdin(data),
    );
    assert_eq!(parse_range_line(&out), (1, 50_000));
    let lines = ns.get_csv("bulk", "1..");
    assert_eq!(lines.len(), 50_000);
    for (i, l) in lines.iter().enumerate() {
        let (seqno, writer, counter) = whole(l);
        assert_eq!((seqno, writer, counter), (i as u64 + 1, 1, i as u64));
    }
    // Fixed-size batches with a partial element at the end: the whole ones are
    // put and reported, the rest is an error.
    let mut raw = vec![7u8; 48 * 3];
    raw.extend_from_slice(b"tail");
    bare("woof-put")
        .args([&uri, "--batch"])
        .write_stdin(raw)
        .assert()
        .code(65)
        .stdout("50001..50003\n")
        .stderr(predicates::str::contains(
            "4 bytes left over at end of input",
        ));
}

#[test]
fn remote_put_with_a_handler_triggers_it_on_the_server() {
    let ns = Ns::new();
    ns.create("hello", 32, 10);
    ns.handler(
        "hw",
        "#!/bin/sh\ncat > \"out.$WOOF_SEQNO\"\necho \"$WOOF_NAME\" >> \"out.$WOOF_SEQNO\"\n",
    );
    let _platform = ns.platform(&[]);
    let proxy = Proxy::start(&[ns.path()], &[]);
    let uri = proxy.uri(ns.path(), "hello");
    let out = ok_stdout(
        bare("woof-put")
            .args([&uri, "--pad", "-H", "hw"])
            .env("WOOF_CAUSE", "edge#7")
            .write_stdin("my first bark"),
    );
    assert_eq!(parse_seqno_line(&out), 1);
    assert!(
        wait_until(PROMPT, || ns.read("out.1").ends_with("hello\n")),
        "handler output: {:?}",
        ns.read("out.1")
    );
    assert!(ns.read("out.1").starts_with("my first bark\0"));
    // The put's cause (a handler on another host) is carried into the results.
    let results = ns.wait_results(PROMPT, "the run's result", |r| !finals(r).is_empty());
    let run = finals(&results)[0];
    assert_eq!(
        (run.outcome.as_str(), run.cause.as_str()),
        ("exited", "edge#7"),
        "{}",
        run.brief()
    );
    // A handler that does not exist is refused at put time, nothing written.
    bare("woof-put")
        .args([&uri, "--pad", "-H", "nope"])
        .write_stdin("x")
        .assert()
        .code(66)
        .stderr(predicates::str::contains("nope"));
    bare("woof-put")
        .args([&uri, "--pad", "-H", "../../bin/sh"])
        .write_stdin("x")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("handler name '../../bin/sh'"));
    assert_eq!(ns.latest("hello"), 1);
}

#[test]
fn remote_follow_resumes_from_its_cursor() {
    let ns = Ns::new();
    let proxy = exported(&ns, "feed", 8, 1000);
    let uri = proxy.uri(ns.path(), "feed");
    let cur = ns.path().join("cursor");
    let mut follow = bare_std("woof-tail");
    follow
        .args(["-f", &uri, "--format", "csv", "--cursor"])
        .arg(&cur);
    let mut tail = Running::spawn(follow);
    for i in 1..=3u64 {
        ns.put("feed", &i.to_le_bytes());
        let line = tail.line(PROMPT);
        assert!(line.starts_with(&format!("{i},")), "{line}");
    }
    // The cursor is written right after the output is flushed.
    assert!(wait_until(PROMPT, || std::fs::read_to_string(&cur)
        .is_ok_and(|c| c == "3\n")));
    tail.kill_and_drain();
    // Put while nobody follows; the next run starts right after the cursor.
    for i in 4..=6u64 {
        ns.put("feed", &i.to_le_bytes());
    }
    let mut follow = bare_std("woof-tail");
    follow
        .args(["-f", &uri, "--format", "csv", "--cursor"])
        .arg(&cur);
    let tail = Running::spawn(follow);
    for i in 4..=6u64 {
        assert!(tail.line(PROMPT).starts_with(&format!("{i},")));
    }
    ns.put("feed", &7u64.to_le_bytes());
    assert!(tail.line(PROMPT).starts_with("7,"));
}

#[test]
fn remote_create_needs_the_create_right() {
    let ns = Ns::new();
    let proxy = Proxy::start(&[ns.path()], &[]);
    let uri = proxy.uri(ns.path(), "new");
    bare("woof-create")
        .args([&uri, "-s", "8", "-n", "4"])
        .assert()
        .code(77)
        .stderr(format!(
            "woof-create: {uri}: this client has no create right in {}\n",
            ns.path().display()
        ));
    assert!(!ns.file("new").exists());
    let proxy = Proxy::start(&[ns.path()], &["--anonymous", "all"]);
    let uri = proxy.uri(ns.path(), "new");
    bare("woof-create")
        .args([&uri, "-s", "8", "-n", "4"])
        .assert()
        .success();
    assert_eq!(ns.info_field("new", "history"), "4");
    bare("woof-create")
        .args([&uri, "-s", "8", "-n", "4"])
        .assert()
        .code(73);
}

#[test]
fn bad_uris_are_refused_before_anything_is_sent() {
    for (uri, code, msg) in [
        ("woof://h/srv/ns/", 2, "ends with '/'"),
        ("woof://h/temps", 2, "missing namespace"),
        ("woof://h/srv/../etc/temps", 2, "contains '..'"),
        ("woof://h:99999/srv/ns/temps", 2, "port 99999 out of range"),
        ("woof://h:0/srv/ns/temps", 2, "port 0 out of range"),
        ("woof://h/srv/ns/.woof", 2, "starts with a dot"),
    ] {
        for tool in ["woof-get", "woof-put", "woof-tail"] {
            bare(tool)
                .arg(uri)
                .write_stdin("x")
                .assert()
                .code(code)
                .stderr(predicates::str::contains(msg))
                .stderr(predicates::str::starts_with(format!("{tool}: URI '")));
        }
    }
}

#[test]
fn unreachable_proxies_fail_within_the_timeout() {
    // Nothing listens on this port (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let uri = format!("woof://127.0.0.1:{port}/srv/ns/temps");
    bare("woof-get")
        .args([&uri, "--timeout", "1s"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(69)
        .stderr(format!(
            "woof-get: woof://127.0.0.1:{port}: unreachable: connection refused\n"
        ));
    bare("woof-put")
        .arg("woof://no-such-host.invalid/srv/ns/temps")
        .write_stdin("x")
        .timeout(Duration::from_secs(20))
        .assert()
        .code(69)
        .stderr(predicates::str::contains("unknown host"));
    // A listener that never answers: the timeout, not a hang.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    bare("woof-get")
        .args([
            &format!("woof://127.0.0.1:{port}/srv/ns/temps"),
            "--timeout",
            "300ms",
        ])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(69)
        .stderr(predicates::str::contains("unreachable"));
}

#[test]
fn remote_errors_are_the_local_errors() {
    let ns = Ns::new();
    let proxy = exported(&ns, "temps", 8, 3);
    let uri = proxy.uri(ns.path(), "temps");
    let other = Ns::new();
    let not_exported = format!(
        "woof://{}{}/temps",
        proxy.authority(),
        other.path().display()
    );
    fails(
        bare("woof-get").arg(&not_exported),
        66,
        &format!(
            "woof-get: woof://{}: namespace {}: not exported here",
            proxy.authority(),
            other.path().display()
        ),
    );
    fails(
        bare("woof-get").arg(proxy.uri(ns.path(), "missing")),
        66,
        &format!(
            "woof-get: {}: no such woof in {}",
            proxy.uri(ns.path(), "missing"),
            ns.abs()
        ),
    );
    fails(
        bare("woof-put").arg(&uri).write_stdin("too long!"),
        65,
        &format!("woof-put: {uri}: element is 9 bytes, woof holds 8-byte elements"),
    );
    fails(
        bare("woof-get").arg(&uri),
        66,
        &format!("woof-get: {uri}: empty (no element written yet)"),
    );
    for i in 0..5u64 {
        ns.put("temps", &i.to_le_bytes());
    }
    fails(
        bare("woof-get").args([&uri, "1"]),
        66,
        &format!("woof-get: {uri}: seqno 1 evicted (oldest is 3)"),
    );
    fails(
        bare("woof-get").args([&uri, "9"]),
        66,
        &format!("woof-get: {uri}: seqno 9 not yet written (latest is 5)"),
    );
    // The proxy is still serving after all of that.
    assert_eq!(
        ok_stdout(bare("woof-get").args([&uri, "5", "--format", "hex"])),
        b"0400000000000000\n"
    );
}

#[test]
fn the_proxy_refuses_bad_setups_clearly() {
    let ns = Ns::new();
    // Not a namespace.
    bare("woof-proxy")
        .args(["--export", "/no/such/dir"])
        .assert()
        .code(66)
        .stderr(predicates::str::starts_with("woof-proxy: "));
    // Without keys, only loopback.
    bare("woof-proxy")
        .arg("--export")
        .arg(ns.path())
        .args(["--listen", "tcp://0.0.0.0:0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("needs --insecure"));
    // A port in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    bare("woof-proxy")
        .arg("--export")
        .arg(ns.path())
        .args(["--listen", &format!("tcp://127.0.0.1:{port}")])
        .assert()
        .code(69)
        .stderr(predicates::str::contains("address already in use"));
}

#[test]
fn keyed_proxies_let_in_only_known_clients_with_the_right_rights() {
    let ns = Ns::new();
    ns.create("temps", 8, 10);
    let keys = Ns::new();
    let (server, edge, stranger) = (
        keys.path().join("server"),
        keys.path().join("edge"),
        keys.path().join("stranger"),
    );
    for d in [&server, &edge, &stranger] {
        bare("woof-proxy")
            .arg("--gen-keys")
            .arg(d)
            .assert()
            .success();
    }
    std::fs::copy(edge.join("id.pub"), server.join("clients/edge.pub")).expect("allow edge");
    std::fs::write(
        server.join("acl"),
        format!("{} edge read,write\n", ns.path().display()),
    )
    .expect("acl");
    let mut cmd = bare_std("woof-proxy");
    cmd.arg("--export")
        .arg(ns.path())
        .args(["--listen", "tcp://127.0.0.1:0", "--keys"])
        .arg(&server);
    let proxy = Proxy::spawn(cmd, 1);
    let uri = proxy.uri(ns.path(), "temps");
    let host = proxy.authority();
    for d in [&edge, &stranger] {
        std::fs::copy(server.join("id.pub"), d.join(format!("servers/{host}.pub")))
            .expect("trust server");
    }
    // The known client reads and writes.
    let out = ok_stdout(
        bare("woof-put")
            .args([&uri, "--keys"])
            .arg(&edge)
            .write_stdin("12345678"),
    );
    assert_eq!(parse_seqno_line(&out), 1);
    assert_eq!(
        ok_stdout(
            bare("woof-get")
                .args([&uri, "--format", "hex", "--keys"])
                .arg(&edge)
        ),
        b"3132333435363738\n"
    );
    // ... but has no trigger or create right.
    ns.handler("h", "#!/bin/sh\ncat >/dev/null\n");
    bare("woof-put")
        .args([&uri, "-H", "h", "--keys"])
        .arg(&edge)
        .write_stdin("12345678")
        .assert()
        .code(77)
        .stderr(format!(
            "woof-put: {uri}: edge has no trigger right in {}\n",
            ns.path().display()
        ));
    // An unknown key is turned away in the handshake.
    bare("woof-get")
        .args([&uri, "--keys"])
        .arg(&stranger)
        .assert()
        .code(77)
        .stderr(format!(
            "woof-get: woof://{host}: access denied: server refused our credentials (400) \
             (is {}/id.pub among the proxy's clients/?)\n",
            stranger.display()
        ));
    // No key for this server at all: the client says what is missing.
    let nokeys = Ns::new();
    bare("woof-get")
        .args([&uri, "--keys"])
        .arg(nokeys.path())
        .assert()
        .code(77)
        .stderr(predicates::str::contains("server requires CURVE"));
    assert_eq!(ns.latest("temps"), 1);
}

#[test]
fn a_slow_stream_goes_out_as_it_arrives() {
    let ns = Ns::new();
    let proxy = exported(&ns, "trickle", 8, 100);
    let uri = proxy.uri(ns.path(), "trickle");
    let mut cmd = bare_std("woof-put");
    cmd.args([&uri, "--lines", "--pad"]).stdin(Stdio::piped());
    let mut put = Running::spawn(cmd);
    let mut stdin = put.stdin();
    for i in 1..=3u64 {
        writeln!(stdin, "line{i}").expect("write");
        stdin.flush().expect("flush");
        assert!(
            wait_until(PROMPT, || ns.latest("trickle") == i),
            "element {i} not put while the stream stays open"
        );
    }
    drop(stdin);
    let (status, lines) = put.finish(PROMPT);
    assert!(status.success());
    assert_eq!(lines, vec!["1..3".to_string()]);
}

#[test]
fn typed_records_travel_as_text_and_arrive_typed() {
    let ns = Ns::new();
    let proxy = Proxy::start(&[ns.path()], &["--anonymous", "all"]);
    let uri = proxy.uri(ns.path(), "temps");
    bare("woof-create")
        .args([
            &uri,
            "-n",
            "100",
            "--schema",
            "sensor:str8,celsius:f64,ok:bool",
        ])
        .assert()
        .success();
    assert_eq!(ns.info_field("temps", "element size"), "17 bytes");
    let out = ok_stdout(
        bare("woof-put")
            .args([&uri, "--csv"])
            .write_stdin("sensor,celsius,ok\nkitchen,21.5,true\nattic,-4.25,false\n"),
    );
    assert_eq!(out, b"1..2\n");
    let out = ok_stdout(
        bare("woof-put")
            .args([&uri, "--json"])
            .write_stdin("{\"sensor\":\"porch\",\"celsius\":1e3,\"ok\":true}\n"),
    );
    assert_eq!(out, b"3..3\n");
    let local = ok_stdout(
        ns.cmd("woof-get")
            .args(["temps", "1..", "--format", "json"]),
    );
    let remote = ok_stdout(bare("woof-get").args([&uri, "1..", "--format", "json"]));
    assert_eq!(remote, local);
    let text = String::from_utf8(remote).expect("utf-8");
    assert!(
        text.contains("\"sensor\":\"attic\",\"celsius\":-4.25,\"ok\":false"),
        "{text}"
    );
    // A bad record: its line and field, nothing of it written.
    bare("woof-put")
        .args([&uri, "--csv"])
        .write_stdin("cellar,warm,true\n")
        .assert()
        .code(65)
        .stderr(predicates::str::contains("line 1"))
        .stderr(predicates::str::contains("celsius"));
    assert_eq!(ns.latest("temps"), 3);
    // A schema the proxy cannot accept changes nothing either.
    bare("woof-create")
        .args([&proxy.uri(ns.path(), "bad"), "-s", "4", "-n", "10"])
        .arg("--schema")
        .arg("a:u64")
        .assert()
        .code(2);
    assert!(!ns.file("bad").exists());
}

/// examples/sensors/README.md, "Forward from an edge to a collector": one
/// `woof-forward --all` of the sensor namespace, the collector killed and restarted
/// while readings keep coming, delivers every reading exactly once, typed woofs
/// checked against the collector's schemas.
#[test]
fn the_sensor_forwarding_recipe_loses_nothing_across_collector_restarts() {
    let (edge, collector) = (Ns::new(), Ns::new());
    let schema = "time:timestamp,host:str16,load1:f64";
    for ns in [&edge, &collector] {
        for name in ["load", "memory"] {
            ns.cmd("woof-create")
                .args([name, "-n", "1000", "--schema", schema])
                .assert()
                .success();
        }
    }
    let mut proxy = Proxy::start(&[collector.path()], &["--timeout", "2s"]);
    let listen = format!("tcp://{}", proxy.authority());
    let dest = format!("woof://{}{}", proxy.authority(), collector.path().display());
    let put = |name: &str, from: u64, to: u64| {
        let rows: String = (from..to)
            .map(|i| format!("{},edge,{i}.5\n", 1_700_000_000 + i))
            .collect();
        ok_stdout(edge.cmd("woof-put").args([name, "--csv"]).write_stdin(rows));
    };
    let mut cmd = edge.std_cmd("woof-forward");
    cmd.args(["--all", &dest, "--timeout", "1s", "--heartbeat", "200ms"]);
    let fwd = Running::spawn(cmd);
    put("load", 0, 10);
    put("memory", 0, 5);
    assert!(wait_until(PROMPT, || collector.latest("load") == 10));
    for round in 0..3 {
        proxy.run.kill_and_drain();
        put("load", 10 + round * 10, 20 + round * 10);
        put("memory", 5 + round * 5, 10 + round * 5);
        proxy = Proxy::start_on(collector.path(), &listen);
    }
    let csv = |ns: &Ns, name: &str| {
        let out = ok_stdout(ns.cmd("woof-get").args([name, "1..", "--format", "csv"]));
        String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| l.split_once(',').map_or("", |(_, rest)| rest).to_string())
            .collect::<Vec<_>>()
    };
    for (name, n) in [("load", 40), ("memory", 20)] {
        assert!(
            wait_until(Duration::from_secs(40), || collector.latest(name) == n),
            "{name}: {} of {n}; {}",
            collector.latest(name),
            fwd.stderr_text()
        );
        // The same readings, with the same put times, in order, once.
        assert_eq!(csv(&collector, name), csv(&edge, name), "{name}");
    }
    let status =
        String::from_utf8(ok_stdout(edge.cmd("woof-forward").arg("--status"))).expect("utf-8");
    assert!(status.contains(" forwarding "), "{status}");
}

/// A local writer frozen while it holds a woof's lock: the proxy keeps serving
/// everything else (puts that could wait never run on the thread that owns the
/// sockets), a put to that woof times out on its client, and when the writer is
/// killed the lock is repaired and the puts go through.
#[test]
fn a_writer_frozen_holding_a_lock_stalls_only_puts_to_its_woof() {
    let ns = Ns::new();
    ns.create("frozen", 8, 10);
    ns.create("other", 8, 10);
    let proxy = Proxy::start(&[ns.path()], &[]);
    let mut cmd = ns.std_cmd("woof-put");
    cmd.arg("frozen")
        .env("WOOF_FAULT", "put:locked:stop")
        .stdin(Stdio::piped());
    let mut writer = Running::spawn(cmd);
    writer.stdin().write_all(b"12345678").expect("element");
    let pid = writer.child.id();
    let stopped = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('T'))
        })
    };
    assert!(
        wait_until(PROMPT, stopped),
        "the writer did not stop holding the lock"
    );
    let frozen = proxy.uri(ns.path(), "frozen");
    let other = proxy.uri(ns.path(), "other");
    let put = |uri: &str, data: &str| {
        bare("woof-put")
            .args([uri, "--timeout", "2s"])
            .write_stdin(data)
            .timeout(Duration::from_secs(30))
            .output()
            .expect("woof-put")
    };
    assert!(put(&other, "aaaaaaaa").status.success());
    let out = put(&frozen, "bbbbbbbb");
    assert_eq!(out.status.code(), Some(69), "{out:?}");
    // Still serving: another woof, and reads of the frozen one.
    assert!(put(&other, "cccccccc").status.success());
    assert_eq!(ns.latest("other"), 2);
    let info = ok_stdout(bare("woof-get").args([&frozen, "--info"]));
    assert!(String::from_utf8_lossy(&info).contains("latest:       0"));
    // The writer dies holding the lock: the next holder repairs it.
    writer.kill_and_drain();
    assert!(put(&frozen, "dddddddd").status.success());
    // The put that timed out on its client was waiting on a worker: it went in too.
    assert!(wait_until(PROMPT, || ns.latest("frozen") == 2));
}

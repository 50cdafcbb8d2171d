//! woof-forward into the engines users already run (issue 12), against the real
//! brokers (tests/util/brokers.rs): what each acknowledged is there, once, whatever
//! is killed; refusals are clear and change nothing.

use std::time::Duration;

use crate::util;

use util::{Broker, Ns, Rng, Running};

/// Element `i`: its number, zero-padded to 8 bytes.
fn element(i: u64) -> Vec<u8> {
    format!("{i:08}").into_bytes()
}

fn put_range(ns: &Ns, name: &str, from: u64, to: u64) {
    let data: Vec<u8> = (from..=to).flat_map(element).collect();
    ns.put_batch(name, &data);
}

fn redis_or_skip(password: Option<&str>) -> Option<Broker> {
    let b = util::redis(password);
    if b.is_none() {
        eprintln!("skipped: redis-server is not installed (make deps installs it)");
    }
    b
}

/// The stream's entries: (id, fields).
fn entries(b: &Broker, key: &str) -> Vec<(String, Vec<(String, Vec<u8>)>)> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", b.port)).expect("client");
    let mut con = client.get_connection().expect("connect");
    let v: redis::Value = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query(&mut con)
        .expect("XRANGE");
    let redis::Value::Array(items) = v else {
        panic!("XRANGE: {v:?}");
    };
    items
        .into_iter()
        .map(|e| {
            let redis::Value::Array(parts) = e else {
                panic!("entry {e:?}")
            };
            let [redis::Value::BulkString(id), redis::Value::Array(fields)] = &parts[..] else {
                panic!("entry {parts:?}")
            };
            let fields = fields
                .chunks(2)
                .map(|p| match p {
                    [redis::Value::BulkString(k), redis::Value::BulkString(v)] => {
                        (String::from_utf8_lossy(k).into_owned(), v.clone())
                    }
                    _ => panic!("fields {p:?}"),
                })
                .collect();
            (String::from_utf8_lossy(id).into_owned(), fields)
        })
        .collect()
}

/// Asserts the stream holds exactly source elements 1..=n, ids `i-0`, in order.
fn stream_holds(b: &Broker, key: &str, n: u64) {
    let got = entries(b, key);
    let ids: Vec<String> = got.iter().map(|(id, _)| id.clone()).collect();
    let want: Vec<String> = (1..=n).map(|i| format!("{i}-0")).collect();
    assert_eq!(ids.len(), want.len(), "entries: {} want {n}", ids.len());
    assert_eq!(ids, want);
    for (i, (_, fields)) in got.iter().enumerate() {
        let data = fields
            .iter()
            .find(|(k, _)| k == "data")
            .map(|f| f.1.clone());
        assert_eq!(data, Some(element(i as u64 + 1)), "entry {}", i + 1);
    }
}

#[test]
fn a_woof_forwarded_into_a_redis_stream_is_there_once_with_its_seqnos_as_ids() {
    let Some(redis) = redis_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 1000);
    put_range(&edge, "load", 1, 50);
    let uri = format!("redis://127.0.0.1:{}/edge1:load", redis.port);
    let once = || {
        edge.cmd("woof-forward")
            .args(["load", &uri, "--once"])
            .assert()
            .success();
    };
    once();
    stream_holds(&redis, "edge1:load", 50);
    // Again: the stream's last id says where to resume; nothing is added twice.
    once();
    put_range(&edge, "load", 51, 60);
    once();
    stream_holds(&redis, "edge1:load", 60);
    let (_, fields) = &entries(&redis, "edge1:load")[0];
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["origin", "incarnation", "put_time", "data"]);
}

#[test]
fn typed_woofs_go_to_redis_as_json_or_csv() {
    let Some(redis) = redis_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.cmd("woof-create")
        .args(["temps", "--schema", "sensor:str8,celsius:f64", "-n", "10"])
        .assert()
        .success();
    edge.cmd("woof-put")
        .args(["temps", "--csv", "--no-header"])
        .write_stdin("kitchen,21.5\n")
        .assert()
        .success();
    for format in ["json", "csv"] {
        let key = format!("t:{format}");
        edge.cmd("woof-forward")
            .args(["temps", &format!("redis://127.0.0.1:{}/{key}", redis.port)])
            .args(["--once", "--format", format])
            .assert()
            .success();
        let got = entries(&redis, &key);
        let (_, body) = got[0]
            .1
            .iter()
            .find(|(k, _)| k == format)
            .expect("body field");
        let want = String::from_utf8(util::ok_stdout(
            edge.cmd("woof-get").args(["temps", "--format", format]),
        ))
        .expect("utf8");
        assert_eq!(String::from_utf8_lossy(body), want.trim_end(), "{format}");
    }
    // An untyped woof has no JSON to give.
    edge.create("raw", 8, 10);
    edge.put("raw", b"12345678");
    edge.cmd("woof-forward")
        .args([
            "raw",
            &format!("redis://127.0.0.1:{}/raw", redis.port),
            "--once",
            "--format",
            "json",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--format: json and csv need a typed woof",
        ));
}

#[test]
fn a_hundred_forwarder_kills_leave_the_redis_stream_whole_without_duplicates() {
    let Some(redis) = redis_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 100_000);
    let uri = format!("redis://127.0.0.1:{}/k", redis.port);
    let mut rng = Rng::from_env("redis_forwarder_kills");
    let mut next = 1;
    for _ in 0..100 {
        let n = 1 + rng.next() % 50;
        put_range(&edge, "load", next, next + n - 1);
        next += n;
        let mut cmd = edge.std_cmd("woof-forward");
        cmd.args(["load", &uri, "--timeout", "1s"]);
        let mut fwd = Running::spawn(cmd);
        std::thread::sleep(Duration::from_micros(rng.next() % 20_000));
        fwd.kill_and_drain();
    }
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once"])
        .assert()
        .success();
    stream_holds(&redis, "k", next - 1);
}

#[test]
fn redis_killed_and_restarted_under_a_stream_loses_nothing_it_acknowledged() {
    let Some(mut redis) = redis_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 100_000);
    let uri = format!("redis://127.0.0.1:{}/k", redis.port);
    let mut cmd = edge.std_cmd("woof-forward");
    cmd.args(["load", &uri, "--timeout", "1s", "--heartbeat", "200ms"]);
    let fwd = Running::spawn(cmd);
    let mut rng = Rng::from_env("redis_restarts");
    let mut next = 1;
    for _ in 0..20 {
        let n = 1 + rng.next() % 100;
        put_range(&edge, "load", next, next + n - 1);
        next += n;
        std::thread::sleep(Duration::from_micros(rng.next() % 30_000));
        redis.restart();
    }
    let done = util::wait_until(Duration::from_secs(60), || {
        entries(&redis, "k").len() as u64 == next - 1
    });
    assert!(
        done,
        "{} of {}: {}",
        entries(&redis, "k").len(),
        next - 1,
        fwd.stderr_text()
    );
    stream_holds(&redis, "k", next - 1);
}

#[test]
fn redis_refusals_are_clear_and_change_nothing() {
    let Some(redis) = redis_or_skip(Some("s3cret")) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 100);
    put_range(&edge, "load", 1, 3);
    let port = redis.port;
    // No password: refused (77), nothing written.
    edge.cmd("woof-forward")
        .args(["load", &format!("redis://127.0.0.1:{port}/k"), "--once"])
        .assert()
        .code(77)
        .stderr(predicates::str::contains(
            "load: stopped before source seqno 1: redis://127.0.0.1",
        ));
    // The password in the URI: it goes, and is never shown.
    edge.cmd("woof-forward")
        .args([
            "load",
            &format!("redis://default:s3cret@127.0.0.1:{port}/k"),
            "--once",
        ])
        .assert()
        .success();
    let status =
        String::from_utf8(util::ok_stdout(edge.cmd("woof-forward").arg("--status"))).expect("utf8");
    assert!(
        !status.contains("s3cret") && status.contains("default:***@"),
        "{status}"
    );
    // A re-created source cannot go on in the same stream (its ids only grow).
    edge.cmd("woof-create")
        .args(["load", "-s", "8", "-n", "100", "--force"])
        .assert()
        .success();
    put_range(&edge, "load", 1, 1);
    edge.cmd("woof-forward")
        .args([
            "load",
            &format!("redis://default:s3cret@127.0.0.1:{port}/k"),
            "--once",
        ])
        .assert()
        .code(65)
        .stderr(predicates::str::contains("the source was re-created"));
    // Unreachable: exit 69 with --once, named.
    edge.cmd("woof-forward")
        .args([
            "load",
            &format!("redis://127.0.0.1:{}/k", util::free_port()),
            "--once",
        ])
        .assert()
        .code(69)
        .stderr(predicates::str::contains("unreachable"));
}

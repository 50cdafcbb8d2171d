//! woof-forward into the engines users already run (issue 12), against the real
//! brokers (tests/util/brokers.rs): what each acknowledged is there, once, whatever
//! is killed; refusals are clear and change nothing.

use std::time::Duration;

use crate::util;

use util::{Broker, Ns, Rng, Running, counter, kill_forwarders, put_counters};

fn redis_or_skip(password: Option<&str>) -> Option<Broker> {
    let b = util::redis(password);
    if b.is_none() {
        eprintln!("skipped: redis-server is not installed (make deps installs it)");
    }
    b
}

/// A stream entry: its id and its fields.
type Entry = (String, Vec<(String, Vec<u8>)>);

/// The stream's entries.
fn entries(b: &Broker, key: &str) -> Vec<Entry> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", b.port)).expect("client");
    let mut con = client.get_connection().expect("connect");
    // Just restarted, Redis answers "loading" until its AOF is read back: wait
    // (bounded) for the stream, as a reader would.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let v: redis::Value = loop {
        match redis::cmd("XRANGE")
            .arg(key)
            .arg("-")
            .arg("+")
            .query(&mut con)
        {
            Err(e)
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => break other.expect("XRANGE"),
        }
    };
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
        assert_eq!(data, Some(counter(i as u64 + 1)), "entry {}", i + 1);
    }
}

/// 100 forwarders into `uri` killed at random while counters from `next` are put
/// into the edge's `load`, then one `--once` to finish; returns the last counter.
fn kills_then_once(
    edge: &Ns,
    uri: &str,
    timeout: &str,
    pause_us: u64,
    seed: &str,
    next: u64,
) -> u64 {
    let mut rng = Rng::from_env(seed);
    let next = kill_forwarders(
        edge,
        uri,
        &["--timeout", timeout],
        100,
        pause_us,
        &mut rng,
        next,
    );
    edge.cmd("woof-forward")
        .args(["load", uri, "--once"])
        .assert()
        .success();
    next - 1
}

/// Runs of counters from `next` put into the edge's `load` while `engine` is
/// restarted 20 times; returns the next counter.
fn restarts_under_puts(edge: &Ns, engine: &mut Broker, seed: &str, mut next: u64) -> u64 {
    let mut rng = Rng::from_env(seed);
    for _ in 0..20 {
        let n = 1 + rng.next() % 100;
        put_counters(edge, "load", next, next + n - 1);
        next += n;
        std::thread::sleep(Duration::from_micros(rng.next() % 30_000));
        engine.restart();
    }
    next
}

#[test]
fn a_woof_forwarded_into_a_redis_stream_is_there_once_with_its_seqnos_as_ids() {
    let Some(redis) = redis_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 1000);
    put_counters(&edge, "load", 1, 50);
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
    put_counters(&edge, "load", 51, 60);
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
    let last = kills_then_once(&edge, &uri, "1s", 20_000, "redis_forwarder_kills", 1);
    stream_holds(&redis, "k", last);
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
    let next = restarts_under_puts(&edge, &mut redis, "redis_restarts", 1);
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
    put_counters(&edge, "load", 1, 3);
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
    put_counters(&edge, "load", 1, 1);
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

// ---------------------------------------------------------------------------
// MQTT (mosquitto)

fn mosquitto_or_skip(login: Option<(&str, &str)>) -> Option<Broker> {
    let b = util::mosquitto(login, true);
    if b.is_none() {
        eprintln!("skipped: mosquitto is not installed (make deps installs it)");
    }
    b
}

/// A running `woof-forward mqtt://…/FILTER NAME` into `ns`.
fn mqtt_in(ns: &Ns, filter: &str, name: &str, extra: &[&str]) -> Running {
    let mut cmd = ns.std_cmd("woof-forward");
    cmd.args([filter, name, "--timeout", "2s"]).args(extra);
    Running::spawn(cmd)
}

#[test]
fn a_woof_published_over_mqtt_arrives_once_with_its_identity() {
    let Some(broker) = mosquitto_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 1000);
    put_counters(&edge, "load", 1, 20);
    let mut sub = std::process::Command::new("mosquitto_sub");
    sub.args([
        "-p",
        &broker.port.to_string(),
        "-t",
        "edge1/load",
        "-q",
        "1",
        "-V",
        "mqttv5",
    ])
    .args(["-C", "20", "-W", "30", "-F", "%p %P"]);
    let sub = Running::spawn(sub);
    std::thread::sleep(Duration::from_millis(300));
    edge.cmd("woof-forward")
        .args([
            "load",
            &format!("mqtt://127.0.0.1:{}/edge1/load", broker.port),
            "--once",
        ])
        .assert()
        .success();
    for i in 1..=20u64 {
        let line = sub.line(Duration::from_secs(10));
        let (body, props) = line.split_once(' ').expect("body and properties");
        assert_eq!(body.as_bytes(), counter(i));
        assert!(props.contains(&format!("woof-seqno:{i}")), "{props}");
        assert!(
            props.contains("woof-origin:") && props.contains("woof-incarnation:"),
            "{props}"
        );
    }
}

#[test]
fn mqtt_messages_become_typed_elements_and_bad_ones_stop_it_unless_skipped() {
    let Some(broker) = mosquitto_or_skip(None) else {
        return;
    };
    let cloud = Ns::new();
    cloud
        .cmd("woof-create")
        .args(["temps", "--schema", "sensor:str8,celsius:f64", "-n", "100"])
        .assert()
        .success();
    let filter = format!("mqtt://127.0.0.1:{}/sensors/+/temp", broker.port);
    let mut fwd = mqtt_in(&cloud, &filter, "temps", &["--csv"]);
    let publish = |topic: &str, msg: &str| {
        let ok = std::process::Command::new("mosquitto_pub")
            .args([
                "-p",
                &broker.port.to_string(),
                "-q",
                "1",
                "-t",
                topic,
                "-m",
                msg,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mosquitto_pub");
    };
    // Subscribed once the forwarder's session exists: wait for it to say nothing
    // and a message to go through.
    let mut sent = 0;
    let through = util::wait_until(Duration::from_secs(10), || {
        sent += 1;
        publish("sensors/kitchen/temp", "kitchen,21.5");
        cloud.latest("temps") > 0
    });
    assert!(through, "{}", fwd.stderr_text());
    publish("sensors/cellar/temp", "cellar,12.25");
    assert!(util::wait_until(util::PROMPT, || {
        let csv = util::ok_stdout(cloud.cmd("woof-get").args(["temps", "--format", "csv"]));
        String::from_utf8_lossy(&csv).contains(",cellar,12.25")
    }));
    // A message that does not parse: named with its topic, not acknowledged, and
    // the forwarder stops (65) with nothing put.
    let before = cloud.latest("temps");
    publish("sensors/attic/temp", "no-number-here");
    let (status, _) = fwd.finish(util::PROMPT);
    assert_eq!(status.code(), Some(65), "{}", fwd.stderr_text());
    assert!(
        fwd.stderr_text()
            .contains("message on sensors/attic/temp: line 1"),
        "{}",
        fwd.stderr_text()
    );
    assert_eq!(cloud.latest("temps"), before);
    // With --skip-bad the broker's redelivery is counted, acknowledged and skipped.
    let fwd = mqtt_in(&cloud, &filter, "temps", &["--csv", "--skip-bad"]);
    publish("sensors/hall/temp", "hall,19");
    assert!(
        util::wait_until(util::PROMPT, || cloud.latest("temps") == before + 1),
        "{}",
        fwd.stderr_text()
    );
    assert!(
        fwd.stderr_text().contains("message on sensors/attic/temp"),
        "{}",
        fwd.stderr_text()
    );
    assert!(fwd.stderr_text().contains("skipped"));
    let _ = sent;
}

#[test]
fn mqtt_refusals_are_clear_and_put_nothing() {
    let Some(broker) = mosquitto_or_skip(Some(("edge", "pw"))) else {
        return;
    };
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 10);
    cloud.create("load", 8, 10);
    put_counters(&edge, "load", 1, 2);
    let port = broker.port;
    edge.cmd("woof-forward")
        .args(["load", &format!("mqtt://127.0.0.1:{port}/t"), "--once"])
        .assert()
        .code(77)
        .stderr(predicates::str::contains("the broker refused us"));
    cloud
        .cmd("woof-forward")
        .args([&format!("mqtt://127.0.0.1:{port}/t"), "load"])
        .assert()
        .code(77)
        .stderr(predicates::str::contains("the broker refused us"));
    cloud
        .cmd("woof-forward")
        .args([&format!("mqtt://127.0.0.1:{port}/a/#/b"), "load"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "'#' must be a whole level, the last",
        ));
    edge.cmd("woof-forward")
        .args(["load", &format!("mqtt://127.0.0.1:{port}/a/+"), "--once"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no wildcards"));
    // With the login: a message larger than the woof's element is refused, nothing put.
    let login = format!("mqtt://edge:pw@127.0.0.1:{port}/big");
    let fwd = mqtt_in(&cloud, &login, "load", &[]);
    let mut fwd = fwd;
    let published = util::wait_until(Duration::from_secs(10), || {
        std::process::Command::new("mosquitto_pub")
            .args([
                "-p",
                &port.to_string(),
                "-u",
                "edge",
                "-P",
                "pw",
                "-q",
                "1",
                "-t",
                "big",
            ])
            .args(["-m", "twelve bytes"])
            .status()
            .is_ok_and(|s| s.success())
            && !fwd.is_running()
    });
    assert!(published, "{}", fwd.stderr_text());
    assert!(
        fwd.stderr_text()
            .contains("message on big: element is 12 bytes, woof holds 8-byte elements"),
        "{}",
        fwd.stderr_text()
    );
    assert_eq!(cloud.latest("load"), 0);
}

/// edge woof → woof-forward → mosquitto → woof-forward → cloud woof, with one of
/// them killed (or the broker restarted) again and again while readings come:
/// the cloud ends with every reading once (the MQTT source recognises redeliveries
/// by the properties the MQTT sink gave them).
fn through_mosquitto(kill: &str, rounds: usize) {
    let Some(mut broker) = mosquitto_or_skip(None) else {
        return;
    };
    let topic = format!("mqtt://127.0.0.1:{}/edge1/load", broker.port);
    through(&mut broker, &topic, &[], kill, rounds);
}

/// The same through `broker` at `topic` (a URI for topic edge1/load), both
/// forwarders given `extra` (a login is in the URI; TLS files here).
pub fn through(broker: &mut Broker, topic: &str, extra: &[&str], kill: &str, rounds: usize) {
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 100_000);
    cloud.create("load", 8, 100_000);
    let start_in = || mqtt_in(&cloud, topic, "load", extra);
    let start_out = || {
        let mut cmd = edge.std_cmd("woof-forward");
        cmd.args(["load", topic, "--timeout", "2s", "--heartbeat", "200ms"])
            .args(extra);
        Running::spawn(cmd)
    };
    // The subscriber's session must exist before anything is published.
    let mut sub = start_in();
    assert!(
        broker.wait_subscribed("edge1/load"),
        "{}",
        sub.stderr_text()
    );
    let mut fwd = start_out();
    let mut rng = Rng::from_env(kill);
    let mut next = 1;
    for _ in 0..rounds {
        let n = 1 + rng.next() % 40;
        put_counters(&edge, "load", next, next + n - 1);
        next += n;
        std::thread::sleep(Duration::from_micros(rng.next() % 20_000));
        match kill {
            "broker" => {
                // SIGTERM: mosquitto saves its sessions and queues on the way out
                // (after a SIGKILL it keeps only its last autosave: see woof-forward(1)).
                util::signal_pid(broker.pid(), nix::sys::signal::Signal::SIGTERM);
                std::thread::sleep(Duration::from_millis(100));
                broker.restart();
            }
            "sink" => {
                fwd.kill_and_drain();
                fwd = start_out();
            }
            _ => {
                sub.kill_and_drain();
                sub = start_in();
            }
        }
    }
    let n = next - 1;
    let done = util::wait_until(Duration::from_secs(60), || cloud.latest("load") >= n);
    assert!(
        done,
        "cloud has {} of {n}: sink {} source {}",
        cloud.latest("load"),
        fwd.stderr_text(),
        sub.stderr_text()
    );
    util::holds_counters(&cloud, "load", 1, n);
}

#[test]
fn mqtt_both_ways_survives_twenty_broker_restarts_losing_and_repeating_nothing() {
    through_mosquitto("broker", 20);
}

#[test]
fn mqtt_both_ways_survives_a_hundred_sink_kills() {
    through_mosquitto("sink", 100);
}

#[test]
fn mqtt_both_ways_survives_a_hundred_source_kills_between_put_and_puback() {
    through_mosquitto("source", 100);
}

// ---------------------------------------------------------------------------
// NATS JetStream (nats-server -js)

fn nats_or_skip(login: Option<(&str, &str)>) -> Option<Broker> {
    let b = util::nats(login);
    if b.is_none() {
        eprintln!("skipped: nats-server is not installed (make deps installs it)");
    }
    b
}

/// Every message of the stream capturing `subject`: (Nats-Msg-Id, payload).
fn jetstream_messages(b: &Broker, subject: &str) -> Vec<(String, Vec<u8>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = async_nats::connect(format!("127.0.0.1:{}", b.port))
            .await
            .expect("connect");
        let js = async_nats::jetstream::new(client);
        let name = js.stream_by_subject(subject).await.expect("stream");
        let mut stream = js.get_stream(&name).await.expect("get stream");
        let state = stream.info().await.expect("info").state.clone();
        let (first, last) = (state.first_sequence, state.last_sequence);
        let mut out = Vec::new();
        for seq in first..=last {
            if state.messages == 0 {
                break;
            }
            let m = stream.get_raw_message(seq).await.expect("message");
            let id = m
                .headers
                .get("Nats-Msg-Id")
                .map(|v| v.as_str().to_string())
                .unwrap_or_default();
            out.push((id, m.payload.to_vec()));
        }
        out
    })
}

/// Asserts the stream holds source elements 1..=n once each, in order.
fn jetstream_holds(b: &Broker, subject: &str, n: u64) {
    let got = jetstream_messages(b, subject);
    let seqnos: Vec<u64> = got
        .iter()
        .map(|(id, _)| {
            id.rsplit(':')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    let want: Vec<u64> = (1..=n).collect();
    assert_eq!(
        seqnos.len(),
        want.len(),
        "{} messages, want {n}",
        seqnos.len()
    );
    assert_eq!(seqnos, want);
    for (i, (_, payload)) in got.iter().enumerate() {
        assert_eq!(payload, &counter(i as u64 + 1));
    }
}

#[test]
fn a_woof_forwarded_into_jetstream_is_there_once_and_resumes_from_the_stream() {
    let Some(nats) = nats_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 1000);
    put_counters(&edge, "load", 1, 30);
    let uri = format!("nats://127.0.0.1:{}/edge1.load", nats.port);
    // No stream captures the subject: said, exit 66, until --create.
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once"])
        .assert()
        .code(66)
        .stderr(predicates::str::contains(
            "no JetStream stream captures this subject",
        ));
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--create"])
        .assert()
        .success();
    jetstream_holds(&nats, "edge1.load", 30);
    // The local state gone: the stream's last message says where to resume.
    std::fs::remove_dir_all(edge.path().join(".woof/forward")).expect("wipe state");
    put_counters(&edge, "load", 31, 35);
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once"])
        .assert()
        .success();
    jetstream_holds(&nats, "edge1.load", 35);
}

#[test]
fn a_hundred_forwarder_kills_leave_the_jetstream_stream_whole_without_duplicates() {
    let Some(nats) = nats_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 100_000);
    let uri = format!("nats://127.0.0.1:{}/k", nats.port);
    put_counters(&edge, "load", 1, 1);
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--create"])
        .assert()
        .success();
    let last = kills_then_once(&edge, &uri, "2s", 30_000, "nats_forwarder_kills", 2);
    jetstream_holds(&nats, "k", last);
}

#[test]
fn nats_restarted_under_a_stream_loses_and_repeats_nothing_and_refusals_are_clear() {
    let Some(mut nats) = nats_or_skip(None) else {
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 100_000);
    let uri = format!("nats://127.0.0.1:{}/s", nats.port);
    put_counters(&edge, "load", 1, 1);
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--create"])
        .assert()
        .success();
    let mut cmd = edge.std_cmd("woof-forward");
    cmd.args(["load", &uri, "--timeout", "2s", "--heartbeat", "200ms"]);
    let fwd = Running::spawn(cmd);
    let next = restarts_under_puts(&edge, &mut nats, "nats_restarts", 2);
    let n = next - 1;
    let done = util::wait_until(Duration::from_secs(90), || {
        jetstream_messages(&nats, "s").len() as u64 >= n
    });
    assert!(
        done,
        "{} of {n}: {}",
        jetstream_messages(&nats, "s").len(),
        fwd.stderr_text()
    );
    jetstream_holds(&nats, "s", n);
    drop(fwd);
    // A server that wants a login: refused (77) without it.
    let Some(locked) = nats_or_skip(Some(("edge", "pw"))) else {
        return;
    };
    edge.cmd("woof-forward")
        .args([
            "load",
            &format!("nats://127.0.0.1:{}/t", locked.port),
            "--once",
        ])
        .assert()
        .code(77)
        .stderr(predicates::str::contains("the server refused us"));
}

// ---------------------------------------------------------------------------
// examples/bridges/README.md, as a user would run them

#[test]
fn the_mqtt_sensor_recipe_puts_readings_and_fires_the_handler() {
    let Some(broker) = mosquitto_or_skip(None) else {
        return;
    };
    let cloud = Ns::new();
    cloud
        .cmd("woof-create")
        .args([
            "temps",
            "--schema",
            "sensor:str16,celsius:f64",
            "-n",
            "100000",
        ])
        .assert()
        .success();
    cloud.handler(
        "alert",
        &format!(
            "#!/bin/sh\n{} \"$WOOF_NAME\" \"$WOOF_SEQNO\" --format csv\n",
            util::exe("woof-get")
        ),
    );
    let _platform = cloud.platform(&[]);
    let filter = format!("mqtt://127.0.0.1:{}/sensors/+/temp", broker.port);
    let fwd = mqtt_in(&cloud, &filter, "temps", &["--csv", "-H", "alert"]);
    let publish = |msg: &str| {
        std::process::Command::new("mosquitto_pub")
            .args([
                "-p",
                &broker.port.to_string(),
                "-q",
                "1",
                "-t",
                "sensors/kitchen/temp",
                "-m",
                msg,
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    // Once subscribed, the first reading goes in; then a second.
    assert!(
        util::wait_until(Duration::from_secs(10), || publish("kitchen,21.5")
            && cloud.latest("temps") > 0),
        "{}",
        fwd.stderr_text()
    );
    assert!(publish("kitchen,22.5"));
    let exited = |r: &[util::RunRec]| {
        r.iter()
            .filter(|x| x.handler == "alert" && x.outcome == "exited" && x.code == Some(0))
            .count()
    };
    let ran = cloud.wait_results(util::PROMPT, "two alert runs", |r| exited(r) >= 2);
    assert!(exited(&ran) >= 2, "{ran:?}");
    let csv = String::from_utf8(util::ok_stdout(
        cloud
            .cmd("woof-get")
            .args(["temps", "1..", "--format", "csv"]),
    ))
    .expect("utf8");
    assert!(csv.contains(",kitchen,22.5"), "{csv}");
}

#[test]
fn the_redis_recipe_reads_back_with_redis_cli() {
    let Some(redis) = redis_or_skip(None) else {
        return;
    };
    if !util::installed("redis-cli") {
        eprintln!("skipped: redis-cli is not installed (make deps installs it)");
        return;
    }
    let edge = Ns::new();
    edge.create("load", 8, 100);
    put_counters(&edge, "load", 1, 5);
    edge.cmd("woof-forward")
        .args([
            "load",
            &format!("redis://127.0.0.1:{}/edge1:load", redis.port),
            "--once",
        ])
        .assert()
        .success();
    let out = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &redis.port.to_string(),
            "XRANGE",
            "edge1:load",
            "-",
            "+",
            "COUNT",
            "3",
        ])
        .output()
        .expect("redis-cli");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "1-0", "{text}");
    assert!(
        lines.contains(&"origin") && lines.contains(&"data") && lines.contains(&"00000001"),
        "{text}"
    );
    assert!(lines.contains(&"3-0") && !lines.contains(&"4-0"), "{text}");
}

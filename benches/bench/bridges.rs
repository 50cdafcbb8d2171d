//! Bridge rows (issue 12): woof-forward into and out of the engines, against those
//! engines' own command-line clients moving the same data in the same run, on the
//! same broker (Debian's mosquitto and redis-server, started here on loopback).

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use woof::{Durability, Woof};

use super::util;
use super::{Context, Res, Row, Spec, command, create_woof, element, fmt_rate, fmt_times};

pub const ROWS: [Spec; 3] = [
    Spec {
        op: "woof → MQTT QoS 1: `woof-forward --once` of 100 000 × 64 B to a local mosquitto",
        target: "≥ 0.8× `mosquitto_pub -q 1 -l` sending the same 100 000 lines (counted as the broker delivers them)",
    },
    Spec {
        op: "MQTT → woof: `woof-forward mqtt://… NAME` putting 100 000 QoS 1 messages",
        target: "≥ 0.8× `mosquitto_sub -q 1` receiving the same stream to /dev/null",
    },
    Spec {
        op: "woof → Redis: `woof-forward --once` of 100 000 × 64 B into a stream (XADD per element)",
        target: "≥ 0.8× `redis-cli --pipe` of the same XADDs",
    },
];

const N: usize = 100_000;

/// One 64-byte line per element (63 characters and a newline), for the clients.
fn lines() -> Vec<u8> {
    let mut out = Vec::with_capacity(N * 64);
    for i in 0..N {
        let e = element(i);
        out.extend(e[..63].iter().map(|b| b'a' + b % 26));
        out.push(b'\n');
    }
    out
}

pub fn bridges(forward: &Path, ns: &Path) -> Vec<Row> {
    let one = |i: usize, r: Res<Row>| {
        r.unwrap_or_else(|why| Row::not_measured(&ROWS[i], &format!("failed: {why}")))
    };
    let skipped = |i: usize, what: &str| {
        Row::not_measured(
            &ROWS[i],
            &format!("skipped ({what} is not installed: make deps)"),
        )
    };
    let mut rows = Vec::new();
    match util::mosquitto(None, false) {
        Some(broker) => {
            rows.push(one(0, to_mqtt(forward, ns, &broker)));
            rows.push(one(1, from_mqtt(forward, ns, &broker)));
        }
        None => rows.extend([skipped(0, "mosquitto"), skipped(1, "mosquitto")]),
    }
    match util::redis(None) {
        Some(redis) => rows.push(one(2, to_redis(forward, ns, &redis))),
        None => rows.push(skipped(2, "redis-server")),
    }
    rows
}

fn source(ns: &Path) -> Res<Woof> {
    let w = create_woof(ns, "bridged", N as u64, Durability::None)?;
    let mut wr = w.writer().ctx("writer")?;
    for i in 0..N {
        wr.append(&element(i)).ctx("put")?;
    }
    drop(wr);
    Ok(w)
}

fn timed(mut cmd: std::process::Command, input: Option<&[u8]>, what: &str) -> Res<Duration> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = cmd.spawn().ctx(what)?;
    if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(data).ctx(what)?;
    }
    let status = child.wait().ctx(what)?;
    if !status.success() {
        return Err(format!("{what} failed: {status}"));
    }
    Ok(start.elapsed())
}

/// A QoS 1 subscriber counting what the broker delivers on a topic, until it has N
/// or 8 s passed.
struct Delivered {
    child: std::process::Child,
    counter: std::thread::JoinHandle<usize>,
}

impl Delivered {
    fn start(broker: &util::Broker, topic: &str) -> Res<Delivered> {
        let mut sub = std::process::Command::new("mosquitto_sub");
        sub.args(["-p", &broker.port.to_string(), "-t", topic, "-q", "1"])
            // One "." line per message, whatever its payload holds.
            .args(["-C", &N.to_string(), "-W", "8", "-F", "."])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = sub.spawn().ctx("mosquitto_sub")?;
        let mut out = child.stdout.take().ok_or("mosquitto_sub: no stdout")?;
        let counter = std::thread::spawn(move || {
            let mut buf = [0u8; 1 << 16];
            let mut lines = 0;
            while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
                if n == 0 {
                    break;
                }
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
            }
            lines
        });
        if !broker.wait_subscribed(topic) {
            return Err(format!("mosquitto_sub did not subscribe to {topic}"));
        }
        Ok(Delivered { child, counter })
    }

    fn count(mut self) -> Res<usize> {
        self.child.wait().ctx("mosquitto_sub")?;
        self.counter
            .join()
            .map_err(|_| "the counting thread".to_string())
    }
}

/// woof-forward's rate against mosquitto_pub's, both as messages the broker
/// delivered per second: `mosquitto_pub -l` exits at the end of its input without
/// waiting for its PUBACKs, and here the broker got only about a third of its
/// lines, so its raw rate counts messages never sent.
fn to_mqtt(forward: &Path, ns: &Path, broker: &util::Broker) -> Res<Row> {
    let _w = source(ns)?;
    let port = broker.port.to_string();
    let (mut ours, mut theirs, mut offered, mut got) = (Vec::new(), Vec::new(), Vec::new(), 0.0);
    let input = lines();
    for rep in 0..3 {
        let _ = std::fs::remove_dir_all(ns.join(".woof/forward"));
        let topic = format!("bench/{rep}");
        let seen = Delivered::start(broker, &topic)?;
        let mut cmd = command(forward);
        cmd.arg("-N").arg(ns).args([
            "bridged",
            &format!("mqtt://127.0.0.1:{port}/{topic}"),
            "--once",
        ]);
        let t = timed(cmd, None, "woof-forward → mqtt")?.as_secs_f64();
        let n = seen.count()?;
        if n != N {
            return Err(format!("woof-forward: the broker delivered {n} of {N}"));
        }
        ours.push(N as f64 / t);
        let topic = format!("bench/pub{rep}");
        let seen = Delivered::start(broker, &topic)?;
        let mut pubc = std::process::Command::new("mosquitto_pub");
        pubc.args(["-p", &port, "-q", "1", "-l", "-t", &topic]);
        let t = timed(pubc, Some(&input), "mosquitto_pub -l")?.as_secs_f64();
        let n = seen.count()?;
        theirs.push(n as f64 / t);
        offered.push(N as f64 / t);
        got += n as f64 / (3 * N) as f64;
    }
    let (ra, rb) = (super::median(&mut ours), super::median(&mut theirs));
    let offered = super::median(&mut offered);
    Ok(Row::measured(
        &ROWS[0],
        format!(
            "{} (median of 3, whole process, MQTT 5, PUBACK awaited; all delivered)",
            fmt_rate(ra)
        ),
        format!(
            "{} delivered (`mosquitto_pub -q 1 -l`, MQTT 3.1.1: {} offered, {:.0} % of it delivered)",
            fmt_rate(rb),
            fmt_rate(offered),
            100.0 * got
        ),
        format!("{} mosquitto_pub's delivered rate", fmt_times(ra / rb)),
        ra >= 0.8 * rb,
    ))
}

/// Time from the first message published to the receiver having all N. The
/// publisher is woof-forward, every message PUBACKed (`mosquitto_pub -l` was seen
/// to leave two thirds of 100 000 lines undelivered here).
fn receive(
    forward: &Path,
    ns: &Path,
    broker: &util::Broker,
    topic: &str,
    done: &mut dyn FnMut() -> bool,
) -> Res<Duration> {
    let _ = std::fs::remove_dir_all(ns.join(".woof/forward"));
    let mut pubc = command(forward);
    pubc.arg("-N").arg(ns).args([
        "bridged",
        &format!("mqtt://127.0.0.1:{}/{topic}", broker.port),
        "--once",
    ]);
    let start = Instant::now();
    timed(pubc, None, "woof-forward → mqtt")?;
    while !done() {
        if start.elapsed() > Duration::from_secs(120) {
            return Err("the receiver did not get every message within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(start.elapsed())
}

fn from_mqtt(forward: &Path, ns: &Path, broker: &util::Broker) -> Res<Row> {
    let _w = source(ns)?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for rep in 0..3 {
        let name = format!("in{rep}");
        let mut opts = woof::CreateOptions::new(64, N as u64);
        opts.force = true;
        let w = Woof::create(&ns.join(&name), &opts).ctx("create")?;
        let topic = format!("bench/in{rep}");
        let mut cmd = command(forward);
        cmd.arg("-N")
            .arg(ns)
            .args([
                &format!("mqtt://127.0.0.1:{}/{topic}", broker.port),
                name.as_str(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().ctx("woof-forward mqtt →")?;
        std::thread::sleep(Duration::from_millis(500)); // subscribed
        let t = receive(forward, ns, broker, &topic, &mut || w.latest() >= N as u64);
        let _ = child.kill();
        let _ = child.wait();
        ours.push(t?.as_secs_f64());
        // Theirs: mosquitto_sub counting N to /dev/null.
        let topic = format!("bench/sub{rep}");
        let mut sub = std::process::Command::new("mosquitto_sub");
        sub.args(["-p", &broker.port.to_string(), "-q", "1", "-t", &topic])
            .args(["-C", &N.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut sub = sub.spawn().ctx("mosquitto_sub")?;
        std::thread::sleep(Duration::from_millis(500));
        let mut exited = || matches!(sub.try_wait(), Ok(Some(_)));
        let t = receive(forward, ns, broker, &topic, &mut exited);
        let _ = sub.kill();
        let _ = sub.wait();
        theirs.push(t?.as_secs_f64());
    }
    let (a, b) = (super::median(&mut ours), super::median(&mut theirs));
    let (ra, rb) = (N as f64 / a, N as f64 / b);
    Ok(Row::measured(
        &ROWS[1],
        format!(
            "{} (median of 3; from the first publish to all put)",
            fmt_rate(ra)
        ),
        format!("{} (`mosquitto_sub -q 1 -C {N}` > /dev/null)", fmt_rate(rb)),
        format!("{} mosquitto_sub's rate", fmt_times(ra / rb)),
        ra >= 0.8 * rb,
    ))
}

/// The RESP of the XADDs woof-forward sends (the same fields, values of the same
/// sizes), for redis-cli --pipe.
fn xadds(key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(N * 250);
    let origin = format!(
        "{:032x}:{}",
        7u128, "/work/main/target/bench/run-XXXXXX/bridged"
    );
    for i in 0..N {
        let id = format!("{}-0", i + 1);
        let time = format!("{}", 1_796_290_212_503_588_018u64 + i as u64);
        let data = element(i);
        let args: [&[u8]; 11] = [
            b"XADD",
            key.as_bytes(),
            id.as_bytes(),
            b"origin",
            origin.as_bytes(),
            b"incarnation",
            b"1977f989b89e892b",
            b"put_time",
            time.as_bytes(),
            b"data",
            &data,
        ];
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn to_redis(forward: &Path, ns: &Path, redis: &util::Broker) -> Res<Row> {
    let _w = source(ns)?;
    let port = redis.port.to_string();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for rep in 0..3 {
        let _ = std::fs::remove_dir_all(ns.join(".woof/forward"));
        let mut cmd = command(forward);
        cmd.arg("-N").arg(ns).args([
            "bridged",
            &format!("redis://127.0.0.1:{port}/ours{rep}"),
            "--once",
        ]);
        ours.push(timed(cmd, None, "woof-forward → redis")?.as_secs_f64());
        let mut cli = std::process::Command::new("redis-cli");
        cli.args(["-p", &port, "--pipe"]);
        theirs.push(
            timed(
                cli,
                Some(&xadds(&format!("theirs{rep}"))),
                "redis-cli --pipe",
            )?
            .as_secs_f64(),
        );
    }
    let (a, b) = (super::median(&mut ours), super::median(&mut theirs));
    let (ra, rb) = (N as f64 / a, N as f64 / b);
    Ok(Row::measured(
        &ROWS[2],
        format!("{} (median of 3, whole process)", fmt_rate(ra)),
        format!("{} (`redis-cli --pipe` of the same entries)", fmt_rate(rb)),
        format!("{} redis-cli's rate", fmt_times(ra / rb)),
        ra >= 0.8 * rb,
    ))
}

//! woof-forward (issue 11): a source woof copied into a destination woof through
//! its woof-proxy, each element exactly once, whatever is killed, restarted, frozen
//! or refused on the way. Every check reads the destination back element by element:
//! the counters put at the source must come out in order, none missing, none twice.

use std::path::Path;
use std::time::Duration;

use crate::util;

use util::{
    Ns, PROMPT, Proxy, Rng, Running, bare, bare_std, counter, counters, holds_counters,
    kill_forwarders, ok_stdout, put_counters,
};

/// A forwarder of `src` in `edge` to `dest`, running until dropped.
fn forwarder(edge: &Ns, src: &str, dest: &str, extra: &[&str]) -> Running {
    let mut cmd = edge.std_cmd("woof-forward");
    cmd.args([src, dest, "--timeout", "1s", "--heartbeat", "200ms"])
        .args(extra);
    Running::spawn(cmd)
}

/// `woof-forward --once`, which must succeed.
fn forward_once(edge: &Ns, src: &str, dest: &str) {
    edge.cmd("woof-forward")
        .args([src, dest, "--once", "--timeout", "5s"])
        .assert()
        .success();
}

/// Waits until the destination's latest reaches `n`.
fn wait_latest(ns: &Ns, name: &str, n: u64, limit: Duration) {
    let ok = util::wait_until(limit, || ns.latest(name) >= n);
    assert!(ok, "destination stopped at {} of {n}", ns.latest(name));
}

fn pair(history: u64) -> (Ns, Ns, Proxy, String) {
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, history);
    cloud.create("load", 8, history);
    let proxy = Proxy::start(&[cloud.path()], &["--timeout", "2s"]);
    let uri = proxy.uri(cloud.path(), "load");
    (edge, cloud, proxy, uri)
}

#[test]
fn forwarding_copies_every_element_once_and_a_rerun_adds_nothing() {
    let (edge, cloud, _proxy, uri) = pair(1000);
    put_counters(&edge, "load", 1, 50);
    forward_once(&edge, "load", &uri);
    holds_counters(&cloud, "load", 1, 50);
    // The source's put times go with the elements.
    assert_eq!(
        edge.get_csv("load", "7")[0].time,
        cloud.get_csv("load", "7")[0].time
    );
    // Again, with nothing new: the destination is asked where it is, nothing sent.
    forward_once(&edge, "load", &uri);
    put_counters(&edge, "load", 51, 60);
    forward_once(&edge, "load", &uri);
    holds_counters(&cloud, "load", 1, 60);
    // Even with the local hint wiped, the destination's mark is the truth.
    std::fs::remove_dir_all(edge.path().join(".woof/forward")).expect("wipe state");
    forward_once(&edge, "load", &uri);
    holds_counters(&cloud, "load", 1, 60);
    let status =
        String::from_utf8(ok_stdout(edge.cmd("woof-forward").arg("--status"))).expect("utf8");
    let row = status.lines().nth(1).expect("a row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[..5],
        ["load", uri.as_str(), "60", "0", "0"],
        "{status}"
    );
    assert!(row.contains("not running"), "{status}");
}

#[test]
fn a_live_forwarder_follows_puts_as_they_come() {
    let (edge, cloud, _proxy, uri) = pair(1000);
    let mut fwd = forwarder(&edge, "load", &uri, &[]);
    for i in 1..=20 {
        edge.put("load", &counter(i));
        wait_latest(&cloud, "load", i, PROMPT);
    }
    holds_counters(&cloud, "load", 1, 20);
    // Running: --status says so, with no lag.
    let status =
        String::from_utf8(ok_stdout(edge.cmd("woof-forward").arg("--status"))).expect("utf8");
    assert!(status.contains(" forwarding "), "{status}");
    // A second forwarder of the same pair is refused, naming the first.
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once"])
        .assert()
        .code(75)
        .stderr(predicates::str::contains(format!(
            "already being forwarded (woof-forward pid {})",
            fwd.child.id()
        )));
    // SIGTERM: it exits 0 and the state says it is not running.
    util::signal_pid(fwd.child.id(), nix::sys::signal::Signal::SIGTERM);
    let (status, _) = fwd.finish(PROMPT);
    assert!(status.success(), "{status:?}");
}

#[test]
fn hundreds_of_forwarder_kills_lose_and_repeat_nothing() {
    let (edge, cloud, _proxy, uri) = pair(100_000);
    let mut rng = Rng::from_env("forwarder_kills");
    // Puts keep coming while the forwarder is killed at random points: in a
    // batch, between the acknowledgement and the state file, while idle.
    let next = kill_forwarders(
        &edge,
        &uri,
        &["--window", "2", "--timeout", "1s"],
        200,
        20_000,
        &mut rng,
        1,
    );
    forward_once(&edge, "load", &uri);
    holds_counters(&cloud, "load", 1, next - 1);
}

#[test]
fn destination_proxy_kills_and_restarts_lose_and_repeat_nothing() {
    let (edge, cloud, mut proxy, uri) = pair(100_000);
    let listen = format!("tcp://{}", proxy.authority());
    let mut fwd = forwarder(&edge, "load", &uri, &[]);
    let mut rng = Rng::from_env("proxy_kills");
    let mut next = 1;
    for round in 0..50 {
        let n = 1 + rng.next() % 200;
        put_counters(&edge, "load", next, next + n - 1);
        next += n;
        std::thread::sleep(Duration::from_micros(rng.next() % 30_000));
        proxy.run.kill_and_drain();
        if round % 10 == 0 {
            // Down for longer than the forwarder's timeout while puts go on.
            put_counters(&edge, "load", next, next + 9);
            next += 10;
            std::thread::sleep(Duration::from_millis(1200));
        }
        proxy = Proxy::start_on(cloud.path(), &listen);
    }
    wait_latest(&cloud, "load", next - 1, Duration::from_secs(60));
    holds_counters(&cloud, "load", 1, next - 1);
    assert!(
        fwd.is_running(),
        "the forwarder exited: {}",
        fwd.stderr_text()
    );
}

#[test]
fn both_sides_killed_at_random_lose_and_repeat_nothing() {
    let (edge, cloud, mut proxy, uri) = pair(100_000);
    let listen = format!("tcp://{}", proxy.authority());
    let mut rng = Rng::from_env("both_killed");
    let mut next = 1;
    for _ in 0..30 {
        let mut fwd = forwarder(&edge, "load", &uri, &[]);
        let n = 1 + rng.next() % 300;
        put_counters(&edge, "load", next, next + n - 1);
        next += n;
        std::thread::sleep(Duration::from_micros(rng.next() % 30_000));
        if rng.next().is_multiple_of(2) {
            proxy.run.kill_and_drain();
            util::sigkill(&fwd.child);
        } else {
            util::sigkill(&fwd.child);
            proxy.run.kill_and_drain();
        }
        fwd.kill_and_drain();
        proxy = Proxy::start_on(cloud.path(), &listen);
    }
    forward_once(&edge, "load", &uri);
    holds_counters(&cloud, "load", 1, next - 1);
}

#[test]
fn a_destination_killed_between_publish_and_its_mark_appends_nothing_twice() {
    // The proxy dies at each step of a forwarded batch (journal written; batch
    // published, mark not yet updated); the forwarder resends; the restarted proxy
    // must recognise what was published.
    for point in woof::fault::FORWARD_POINTS {
        let (edge, cloud, proxy, _) = pair(1000);
        drop(proxy);
        let mut cmd = bare_std("woof-proxy");
        cmd.arg("--export")
            .arg(cloud.path())
            .args(["--listen", "tcp://127.0.0.1:0"])
            .env("WOOF_FAULT", format!("{point}@2"));
        let mut dying = Proxy::spawn(cmd, 1);
        let listen = format!("tcp://{}", dying.authority());
        let uri = dying.uri(cloud.path(), "load");
        put_counters(&edge, "load", 1, 10);
        forward_once(&edge, "load", &uri);
        put_counters(&edge, "load", 11, 20);
        edge.cmd("woof-forward")
            .args(["load", &uri, "--once", "--timeout", "2s"])
            .assert()
            .failure();
        assert!(!dying.run.is_running(), "{point}: the proxy did not die");
        dying.run.kill_and_drain();
        let _proxy = Proxy::start_on(cloud.path(), &listen);
        forward_once(&edge, "load", &uri);
        holds_counters(&cloud, "load", 1, 20);
    }
}

#[test]
fn a_frozen_proxy_is_given_up_on_and_resumed_after() {
    let (edge, cloud, proxy, uri) = pair(1000);
    let fwd = forwarder(&edge, "load", &uri, &[]);
    put_counters(&edge, "load", 1, 10);
    wait_latest(&cloud, "load", 10, PROMPT);
    util::signal_pid(proxy.run.child.id(), nix::sys::signal::Signal::SIGSTOP);
    put_counters(&edge, "load", 11, 30);
    // Longer than the forwarder's timeout: it notices, says so, keeps trying.
    let said = util::wait_until(PROMPT, || fwd.stderr_text().contains("retrying"));
    assert!(said, "{}", fwd.stderr_text());
    util::signal_pid(proxy.run.child.id(), nix::sys::signal::Signal::SIGCONT);
    wait_latest(&cloud, "load", 30, Duration::from_secs(40));
    holds_counters(&cloud, "load", 1, 30);
}

#[test]
fn a_ring_that_wrapped_during_an_outage_is_reported_as_an_exact_gap() {
    let (edge, cloud, mut proxy, uri) = pair(10);
    let listen = format!("tcp://{}", proxy.authority());
    put_counters(&edge, "load", 1, 5);
    forward_once(&edge, "load", &uri);
    proxy.run.kill_and_drain();
    // 25 more while the cloud is away; the ring holds 10: 21..=30. Lost: 6..=20.
    put_counters(&edge, "load", 6, 30);
    let _proxy = Proxy::start_on(cloud.path(), &listen);
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--timeout", "5s"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "load: source elements 6..20 were overwritten before they could be sent (15 lost)",
        ));
    // The cloud (history 10) holds the last ten forwarded: 21..=30.
    holds_counters(&cloud, "load", 21, 30);
    let status =
        String::from_utf8(ok_stdout(edge.cmd("woof-forward").arg("--status"))).expect("utf8");
    let cells: Vec<String> = status
        .lines()
        .nth(1)
        .expect("row")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(
        (cells[2].as_str(), cells[4].as_str()),
        ("30", "15"),
        "{status}"
    );
}

#[test]
fn a_re_created_source_stops_the_forwarder_unless_told() {
    let (edge, cloud, _proxy, uri) = pair(1000);
    put_counters(&edge, "load", 1, 5);
    forward_once(&edge, "load", &uri);
    edge.cmd("woof-create")
        .args(["load", "-s", "8", "-n", "1000", "--force"])
        .assert()
        .success();
    put_counters(&edge, "load", 101, 103);
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once"])
        .assert()
        .code(65)
        .stderr(predicates::str::contains("the source was re-created"))
        .stderr(predicates::str::contains("--new-incarnation"));
    holds_counters(&cloud, "load", 1, 5);
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--new-incarnation"])
        .assert()
        .success();
    let got = counters(&cloud, "load");
    assert_eq!(got, [1, 2, 3, 4, 5, 101, 102, 103]);
    // And from then on it is the one forwarded, without the flag.
    put_counters(&edge, "load", 104, 104);
    forward_once(&edge, "load", &uri);
    assert_eq!(counters(&cloud, "load").last(), Some(&104));
}

#[test]
fn a_missing_destination_is_waited_for_and_a_wrong_one_stops_with_the_reason() {
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 100);
    let proxy = Proxy::start(&[cloud.path()], &["--anonymous", "all"]);
    let uri = proxy.uri(cloud.path(), "load");
    put_counters(&edge, "load", 1, 5);
    let fwd = forwarder(&edge, "load", &uri, &[]);
    let said = util::wait_until(PROMPT, || {
        fwd.stderr_text().contains("no such destination woof")
    });
    assert!(said, "{}", fwd.stderr_text());
    cloud.create("load", 8, 100);
    wait_latest(&cloud, "load", 5, Duration::from_secs(40));
    holds_counters(&cloud, "load", 1, 5);
    drop(fwd);
    // A destination of another element size: stopped, exit 65, nothing appended.
    cloud.create("wide", 16, 100);
    edge.cmd("woof-forward")
        .args(["load", &proxy.uri(cloud.path(), "wide"), "--once"])
        .assert()
        .code(65)
        .stderr(predicates::str::contains(
            "holds 16-byte elements, the source 8-byte ones",
        ));
    assert_eq!(cloud.latest("wide"), 0);
    // --create makes it like the source.
    edge.cmd("woof-forward")
        .args([
            "load",
            &proxy.uri(cloud.path(), "made"),
            "--once",
            "--create",
        ])
        .assert()
        .success();
    holds_counters(&cloud, "made", 1, 5);
    assert_eq!(cloud.info_field("made", "history"), "100");
}

#[test]
fn all_forwards_every_woof_and_picks_up_new_ones() {
    let (edge, cloud) = (Ns::new(), Ns::new());
    for name in ["a", "b", "c"] {
        edge.create(name, 8, 100);
        put_counters(&edge, name, 1, 3);
    }
    for name in ["a", "b"] {
        cloud.create(name, 8, 100);
    }
    let proxy = Proxy::start(&[cloud.path()], &[]);
    let dest = format!("woof://{}{}", proxy.authority(), cloud.path().display());
    let mut cmd = edge.std_cmd("woof-forward");
    cmd.args(["--all", &dest, "--timeout", "1s"]);
    let fwd = Running::spawn(cmd);
    wait_latest(&cloud, "a", 3, PROMPT);
    wait_latest(&cloud, "b", 3, PROMPT);
    // c has no destination: named, the others go on.
    let said = util::wait_until(PROMPT, || fwd.stderr_text().contains("c: "));
    assert!(said, "{}", fwd.stderr_text());
    // A woof created later is picked up.
    edge.create("d", 8, 100);
    cloud.create("d", 8, 100);
    put_counters(&edge, "d", 1, 4);
    wait_latest(&cloud, "d", 4, PROMPT);
    cloud.create("c", 8, 100);
    wait_latest(&cloud, "c", 3, Duration::from_secs(40));
    for (name, n) in [("a", 3), ("b", 3), ("c", 3), ("d", 4)] {
        holds_counters(&cloud, name, 1, n);
    }
}

/// More sources than woof-forward keeps connections for (256): quiet ones let
/// theirs go and connect again on their next element; nothing is missed, and
/// the forwarder holds about one descriptor per source, not three.
#[test]
fn all_over_more_woofs_than_connections_misses_nothing() {
    const N: usize = 300;
    let (edge, cloud) = (Ns::new(), Ns::new());
    for i in 0..N {
        edge.create(&format!("w{i:03}"), 8, 100);
    }
    for i in (0..N).step_by(7) {
        put_counters(&edge, &format!("w{i:03}"), 1, 1);
    }
    let proxy = Proxy::start(&[cloud.path()], &["--anonymous", "all"]);
    let dest = format!("woof://{}{}", proxy.authority(), cloud.path().display());
    let mut cmd = edge.std_cmd("woof-forward");
    cmd.args(["--all", &dest, "--create", "--timeout", "5s"]);
    let fwd = Running::spawn(cmd);
    let all_there = util::wait_until(Duration::from_secs(120), || {
        (0..N).all(|i| cloud.file(&format!("w{i:03}")).exists())
            && (0..N)
                .step_by(7)
                .all(|i| cloud.latest(&format!("w{i:03}")) == 1)
    });
    assert!(all_there, "{}", fwd.stderr_text());
    // Later elements of sources whose connections were let go, and a new woof.
    for i in [0, 1, 150, 299] {
        put_counters(
            &edge,
            &format!("w{i:03}"),
            if i % 7 == 0 { 2 } else { 1 },
            2,
        );
    }
    edge.create("new", 8, 100);
    put_counters(&edge, "new", 1, 3);
    for i in [0, 1, 150, 299] {
        wait_latest(&cloud, &format!("w{i:03}"), 2, PROMPT);
        holds_counters(&cloud, &format!("w{i:03}"), 1, 2);
    }
    wait_latest(&cloud, "new", 3, PROMPT);
    holds_counters(&cloud, "new", 1, 3);
    // The destination killed and back on its port: connected and idle streams alike
    // resume from its marks.
    let listen = format!("tcp://{}", proxy.authority());
    drop(proxy);
    let _proxy = Proxy::start_retrying(|| {
        let mut cmd = bare_std("woof-proxy");
        cmd.arg("--export")
            .arg(cloud.path())
            .args(["--listen", &listen, "--anonymous", "all"]);
        cmd
    });
    for i in [0, 2, 151, 299] {
        put_counters(&edge, &format!("w{i:03}"), 3, 4);
    }
    for i in [0, 2, 151, 299] {
        let name = format!("w{i:03}");
        // w002 and w151 had nothing before: their 1..2 are the counters put now.
        let n = if i == 0 || i == 299 { 4 } else { 2 };
        wait_latest(&cloud, &name, n, Duration::from_secs(60));
    }
    holds_counters(&cloud, "w000", 1, 4);
    holds_counters(&cloud, "w299", 1, 4);
    let fds = std::fs::read_dir(format!("/proc/{}/fd", fwd.child.id())).map_or(0, |d| d.count());
    assert!(
        fds <= N + 1 + 256 + 16,
        "woof-forward holds {fds} descriptors for {} sources",
        N + 1
    );
}

#[test]
fn a_handler_fires_at_the_destination_on_each_forwarded_element() {
    let (edge, cloud, _proxy, uri) = pair(100);
    // One write per run (O_APPEND): runs in parallel do not interleave.
    cloud.handler(
        "seen",
        "#!/bin/sh\nprintf '%s\\n' \"$(cat)\" >> \"$WOOF_NAMESPACE/seen.txt\"\n",
    );
    let _platform = cloud.platform(&[]);
    put_counters(&edge, "load", 1, 3);
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "-H", "seen"])
        .assert()
        .success();
    let ok = util::wait_until(PROMPT, || cloud.read("seen.txt").lines().count() == 3);
    assert!(ok, "{:?}", cloud.read("seen.txt"));
    let mut seen: Vec<String> = cloud.read("seen.txt").lines().map(String::from).collect();
    seen.sort();
    assert_eq!(seen, ["00000001", "00000002", "00000003"]);
}

#[test]
fn bad_destinations_and_arguments_are_refused_with_the_reason() {
    let edge = Ns::new();
    edge.create("load", 8, 10);
    let refuse = |args: &[&str], code: i32, msg: &str| {
        edge.cmd("woof-forward")
            .args(args)
            .assert()
            .code(code)
            .stderr(predicates::str::contains(msg.to_string()));
    };
    refuse(
        &["load", "cloud/load"],
        2,
        "cloud/load: the destination must be a woof:// URI",
    );
    refuse(&["load", "woof://h/"], 2, "woof://h/: not a namespace URI");
    refuse(&["load", "woof://h"], 2, "no path");
    refuse(&["woof://h/ns/load"], 2, "no source woof");
    // Engine URIs: each malformed one named, before anything is opened.
    refuse(
        &["load", "redis://h"],
        2,
        "no key: expected redis://HOST[:PORT]/KEY",
    );
    refuse(&["load", "nats://h:x/s"], 2, "bad port 'x'");
    refuse(
        &["load", "mqtt:///t"],
        2,
        "no host: expected mqtt://HOST[:PORT]/TOPIC",
    );
    refuse(
        &["load", "mqtts://h"],
        2,
        "no topic: expected mqtts://HOST[:PORT]/TOPIC",
    );
    refuse(
        &["load", "woof://h/srv/ns/load", "--mqtt", "3.1.1"],
        2,
        "woof-forward: --mqtt is for mqtt:// and mqtts:// URIs",
    );
    refuse(&["load", "nats://h/a.*"], 2, "without wildcards");
    refuse(
        &["load", "redis://h/k", "--format", "yaml"],
        2,
        "invalid value 'yaml'",
    );
    refuse(
        &["load", "woof://h/ns/load", "--format", "json"],
        2,
        "--format is for engines",
    );
    refuse(
        &["load", "redis://h/k", "-H", "h"],
        2,
        "-H is for woof:// destinations",
    );
    refuse(&[], 2, "missing the destination");
    refuse(
        &["--all", "load", "woof://h/ns"],
        2,
        "--all forwards every woof",
    );
    refuse(&["../x", "woof://h/ns/x"], 2, "woof name");
    refuse(
        &["nope", "woof://127.0.0.1:9/ns/nope"],
        66,
        "nope: no such woof",
    );
    // Two sources, one missing: it is named; the other is still forwarded.
    let cloud = Ns::new();
    cloud.create("load", 8, 10);
    let proxy = Proxy::start(&[cloud.path()], &[]);
    put_counters(&edge, "load", 1, 2);
    let dest = format!("woof://{}{}", proxy.authority(), cloud.path().display());
    edge.cmd("woof-forward")
        .args(["load", "gone", &dest, "--once"])
        .assert()
        .code(66)
        .stderr(predicates::str::contains("gone: no such woof"));
    holds_counters(&cloud, "load", 1, 2);
}

#[test]
fn a_client_key_forwards_only_its_own_origins() {
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 10);
    cloud.create("load", 8, 10);
    let keys = Ns::new();
    let dirs: Vec<_> = ["server", "edge1", "edge2"]
        .iter()
        .map(|n| keys.path().join(n))
        .collect();
    for d in &dirs {
        bare("woof-proxy")
            .arg("--gen-keys")
            .arg(d)
            .assert()
            .success();
    }
    let mut acl = String::new();
    for name in ["edge1", "edge2"] {
        std::fs::copy(
            keys.path().join(name).join("id.pub"),
            dirs[0].join(format!("clients/{name}.pub")),
        )
        .expect("client key");
        acl.push_str(&format!("{} {name} read,write\n", cloud.path().display()));
    }
    std::fs::write(dirs[0].join("acl"), acl).expect("acl");
    let mut cmd = bare_std("woof-proxy");
    cmd.arg("--export")
        .arg(cloud.path())
        .args(["--listen", "tcp://127.0.0.1:0", "--keys"])
        .arg(&dirs[0]);
    let proxy = Proxy::spawn(cmd, 1);
    for d in &dirs[1..] {
        std::fs::copy(
            dirs[0].join("id.pub"),
            d.join(format!("servers/{}.pub", proxy.authority())),
        )
        .expect("trust");
    }
    let uri = proxy.uri(cloud.path(), "load");
    put_counters(&edge, "load", 1, 3);
    let with = |key: &Path, origin: &str| {
        let mut c = edge.cmd("woof-forward");
        c.args(["load", &uri, "--once", "--origin", origin, "--keys"])
            .arg(key);
        c
    };
    with(&dirs[1], "edge1").assert().success();
    holds_counters(&cloud, "load", 1, 3);
    // edge2 claiming edge1's origin (same name, same path) is refused.
    with(&dirs[2], "edge1")
        .assert()
        .code(77)
        .stderr(predicates::str::contains(
            "this origin is forwarded by another client key",
        ));
    holds_counters(&cloud, "load", 1, 3);
}

#[test]
fn a_forwarder_without_keys_is_refused_by_a_keyed_proxy() {
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 10);
    cloud.create("load", 8, 10);
    let keys = Ns::new();
    bare("woof-proxy")
        .arg("--gen-keys")
        .arg(keys.path())
        .assert()
        .success();
    let mut cmd = bare_std("woof-proxy");
    cmd.arg("--export")
        .arg(cloud.path())
        .args(["--listen", "tcp://127.0.0.1:0", "--keys"])
        .arg(keys.path());
    let proxy = Proxy::spawn(cmd, 1);
    let empty = Ns::new();
    edge.cmd("woof-forward")
        .args(["load", &proxy.uri(cloud.path(), "load"), "--once", "--keys"])
        .arg(empty.path())
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "load: stopped before source seqno 1: woof://",
        ))
        .stderr(predicates::str::contains("server requires CURVE"));
    assert_eq!(cloud.latest("load"), 0);
}

#[test]
fn a_network_partition_longer_than_the_heartbeat_loses_and_repeats_nothing() {
    let mut lab = match util::Lab::new("part") {
        Ok(l) => l,
        Err(why) => {
            eprintln!("skipped: network namespaces unavailable: {why}");
            return;
        }
    };
    let (edge_host, cloud_host) = (lab.host("e"), lab.host("c"));
    lab.link(
        &edge_host,
        "eth0",
        "10.204.1.1",
        &cloud_host,
        "eth0",
        "10.204.1.2",
    );
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 100_000);
    cloud.create("load", 8, 100_000);
    let mut cmd = lab.cmd(&cloud_host, util::exe("woof-proxy"));
    cmd.arg("--export")
        .arg(cloud.path())
        .args(["--listen", "tcp://10.204.1.2:7500", "--insecure"]);
    let _proxy = Proxy::spawn(cmd, 1);
    let uri = format!("woof://10.204.1.2:7500{}/load", cloud.path().display());
    let mut cmd = lab.cmd(&edge_host, util::exe("woof-forward"));
    cmd.arg("-N")
        .arg(edge.path())
        .args(["load", &uri, "--timeout", "1s", "--heartbeat", "200ms"]);
    let fwd = Running::spawn(cmd);
    put_counters(&edge, "load", 1, 100);
    wait_latest(&cloud, "load", 100, PROMPT);
    // Every packet from the edge dropped for 3 s (15 heartbeats), puts going on.
    let drop_rule = "table inet part {\n chain input {\n  type filter hook input priority 0;\n  \
                     ip saddr 10.204.1.1 drop\n }\n}\n";
    if let Err(why) = lab.nft(&cloud_host, drop_rule) {
        eprintln!("skipped: no nftables: {why}");
        return;
    }
    let mut next = 101;
    for _ in 0..30 {
        put_counters(&edge, "load", next, next + 9);
        next += 10;
        std::thread::sleep(Duration::from_millis(100));
    }
    let noticed = util::wait_until(PROMPT, || fwd.stderr_text().contains("retrying"));
    assert!(noticed, "{}", fwd.stderr_text());
    lab.nft(&cloud_host, "delete table inet part\n")
        .expect("heal");
    wait_latest(&cloud, "load", next - 1, Duration::from_secs(60));
    holds_counters(&cloud, "load", 1, next - 1);
}

#[test]
fn two_forwarders_started_at_once_leave_exactly_one_running() {
    let (edge, cloud, _proxy, uri) = pair(1000);
    put_counters(&edge, "load", 1, 100);
    let (mut a, mut b) = (
        forwarder(&edge, "load", &uri, &[]),
        forwarder(&edge, "load", &uri, &[]),
    );
    let one_left = util::wait_until(PROMPT, || a.is_running() != b.is_running());
    assert!(one_left, "a: {} b: {}", a.stderr_text(), b.stderr_text());
    let (mut gone, running) = if a.is_running() { (b, a) } else { (a, b) };
    let (status, _) = gone.finish(PROMPT);
    assert_eq!(status.code(), Some(75), "{}", gone.stderr_text());
    assert!(gone.stderr_text().contains(&format!(
        "already being forwarded (woof-forward pid {})",
        running.child.id()
    )));
    wait_latest(&cloud, "load", 100, PROMPT);
    holds_counters(&cloud, "load", 1, 100);
}

#[test]
fn skip_to_moves_past_elements_and_counts_them_as_a_gap() {
    let (edge, cloud, _proxy, uri) = pair(1000);
    put_counters(&edge, "load", 1, 10);
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--skip-to", "5"])
        .assert()
        .success();
    holds_counters(&cloud, "load", 5, 10);
    let status =
        String::from_utf8(ok_stdout(edge.cmd("woof-forward").arg("--status"))).expect("utf8");
    let cells: Vec<String> = status
        .lines()
        .nth(1)
        .expect("row")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(
        (cells[2].as_str(), cells[4].as_str()),
        ("10", "4"),
        "{status}"
    );
}

#[test]
fn a_rate_cap_holds_a_catch_up_back() {
    let (edge, cloud, _proxy, uri) = pair(1000);
    put_counters(&edge, "load", 1, 200);
    let fwd = forwarder(&edge, "load", &uri, &["--rate", "20"]);
    std::thread::sleep(Duration::from_secs(1));
    let sent = cloud.latest("load");
    // About 20 in the first second; far fewer than 200 in any case.
    assert!(
        (1..100).contains(&sent),
        "{sent} sent in a second at --rate 20"
    );
    drop(fwd);
    forward_once(&edge, "load", &uri);
    holds_counters(&cloud, "load", 1, 200);
}

#[test]
fn a_destination_of_another_schema_is_refused_before_anything_is_sent() {
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.cmd("woof-create")
        .args(["t", "--schema", "time:timestamp,celsius:f64", "-n", "10"])
        .assert()
        .success();
    cloud
        .cmd("woof-create")
        .args(["t", "--schema", "time:timestamp,volts:f64", "-n", "10"])
        .assert()
        .success();
    edge.cmd("woof-put")
        .args(["t", "--csv", "--no-header"])
        .write_stdin("1700000000,21.5\n")
        .assert()
        .success();
    let proxy = Proxy::start(&[cloud.path()], &[]);
    edge.cmd("woof-forward")
        .args(["t", &proxy.uri(cloud.path(), "t"), "--once"])
        .assert()
        .code(65)
        .stderr(predicates::str::contains("t: stopped before source seqno 1"))
        .stderr(predicates::str::contains(
            "its schema (time:timestamp,volts:f64) is not the source's (time:timestamp,celsius:f64)",
        ));
    assert_eq!(cloud.latest("t"), 0);
}

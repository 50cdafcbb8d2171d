//! woof's tools against a CSPOT host (issue 13): `cspot://` URIs speak CSPOT's
//! protocol (put with a handler, get, latest, element size, follow by polling)
//! to a CSPOT-protocol server written from the message catalogue
//! (tests/util/cspot_server.rs); a `woof://` URI to such a host fails at once
//! with what to do; what the protocol cannot carry is refused, named.

use std::time::{Duration, Instant};

use crate::util;

use util::{CspotServer, Ns, Running};

#[test]
fn woof_tools_put_get_and_follow_a_cspot_host() {
    let host = CspotServer::start(&[("temps", 8, 5)]);
    let uri = host.uri("cspot", "temps");
    let ns = Ns::new();
    ns.cmd("woof-put")
        .arg(&uri)
        .write_stdin("reading1")
        .assert()
        .success()
        .stdout("1\n");
    ns.cmd("woof-put")
        .args([&uri, "-H", "alert"])
        .write_stdin("reading2")
        .assert()
        .success()
        .stdout("2\n");
    ns.cmd("woof-put")
        .args([&uri, "--batch"])
        .write_stdin("reading3reading4reading5reading6reading7")
        .assert()
        .success()
        .stdout("3..7\n");
    let puts = host.puts.lock().expect("lock").clone();
    assert_eq!(
        puts[..2],
        ["put temps ".to_string(), "put temps alert".to_string()]
    );
    // Latest, one, a range; the host's ring (5) no longer holds 1 and 2.
    ns.cmd("woof-get")
        .arg(&uri)
        .assert()
        .success()
        .stdout("reading7");
    ns.cmd("woof-get")
        .args([&uri, "4", "--format", "text"])
        .assert()
        .success()
        .stdout("reading4\n");
    let out = ns
        .cmd("woof-get")
        .args([&uri, "1..7", "--format", "text"])
        .assert()
        .code(66)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "reading3\nreading4\nreading5\nreading6\nreading7\n"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("seqno 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = ns.cmd("woof-get").args([&uri, "--info"]).assert().success();
    let info = String::from_utf8_lossy(&info.get_output().stdout).into_owned();
    assert!(
        info.contains("element size: 8 bytes") && info.contains("latest:       7"),
        "{info}"
    );
    // Following by polling: two more puts reach a woof-tail -f.
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args([&uri, "-f", "-n", "0", "-C", "2", "--format", "text"]);
    let tail = Running::spawn(cmd);
    std::thread::sleep(Duration::from_millis(300));
    for r in ["reading8", "reading9"] {
        ns.cmd("woof-put")
            .arg(&uri)
            .write_stdin(r)
            .assert()
            .success();
    }
    assert_eq!(tail.line(Duration::from_secs(5)), "reading8");
    assert_eq!(tail.line(Duration::from_secs(5)), "reading9");
}

#[test]
fn a_follower_of_a_cspot_host_goes_on_across_its_restart_losing_and_repeating_nothing() {
    // The README's recipe: woof-tail -F cspot://…, and the host restarts.
    let mut host = CspotServer::start(&[("temps", 8, 100)]);
    let uri = host.uri("cspot", "temps");
    let ns = Ns::new();
    let put = |r: &str| {
        ns.cmd("woof-put")
            .arg(&uri)
            .write_stdin(r.to_string())
            .assert()
    };
    put("reading1").success();
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args([
        &uri,
        "-F",
        "-n",
        "+1",
        "-C",
        "4",
        "--format",
        "text",
        "--timeout",
        "1s",
    ]);
    let mut tail = Running::spawn(cmd);
    assert_eq!(tail.line(Duration::from_secs(5)), "reading1");
    put("reading2").success();
    assert_eq!(tail.line(Duration::from_secs(5)), "reading2");
    host.restart(Duration::from_secs(2));
    put("reading3").success();
    put("reading4").success();
    assert_eq!(tail.line(Duration::from_secs(15)), "reading3");
    assert_eq!(tail.line(Duration::from_secs(5)), "reading4");
    let (status, rest) = tail.finish(Duration::from_secs(5));
    let err = tail.stderr_text();
    assert!(status.success(), "{err}");
    // It did lose the host, and said so once, and that it follows again.
    assert!(
        err.contains("; retrying") && err.contains(": following again"),
        "{err}"
    );
    assert!(rest.is_empty(), "nothing repeated: {rest:?}");
    // A put while the host is down fails, named, and puts nothing.
    host.restart(Duration::ZERO);
    let before = host.puts.lock().expect("lock").len();
    drop(host);
    ns.cmd("woof-put")
        .args([&uri, "--timeout", "1s"])
        .write_stdin("reading5")
        .assert()
        .code(69)
        .stdout("");
    assert_eq!(before, 4);
}

#[test]
fn a_woof_uri_to_a_cspot_host_fails_at_once_saying_to_use_cspot() {
    let host = CspotServer::start(&[("temps", 8, 5)]);
    let ns = Ns::new();
    let woof = host.uri("woof", "temps");
    let cspot = host.uri("cspot", "temps");
    for (tool, stdin) in [("woof-put", "reading1"), ("woof-get", "")] {
        let start = Instant::now();
        let out = ns
            .cmd(tool)
            .arg(&woof)
            .write_stdin(stdin)
            .assert()
            .code(76)
            .stdout("")
            .get_output()
            .clone();
        // Not the whole timeout (5 s) and a misleading "unreachable".
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{tool} took {:?}",
            start.elapsed()
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("a CSPOT host: it speaks CSPOT's protocol, not woof's; use ")
                && err.contains(&cspot)
                && err.lines().count() == 1,
            "{err}"
        );
    }
    // Nothing was put by the woof request.
    assert!(host.puts.lock().expect("lock").is_empty());
    assert!(*host.ignored.lock().expect("lock") >= 2);
}

#[test]
fn what_cspots_protocol_cannot_carry_is_refused_by_name() {
    let host = CspotServer::start(&[("temps", 8, 5)]);
    let uri = host.uri("cspot", "temps");
    let ns = Ns::new();
    util::fails(
        ns.cmd("woof-create").args([&uri, "-s", "8", "-n", "5"]),
        2,
        &format!(
            "woof-create: {uri}: CSPOT's protocol cannot create a woof; create it on that host (its WooFCreate, e.g. senspot-init), or serve it with woof-proxy"
        ),
    );
    util::fails(
        ns.cmd("woof-put")
            .args([&uri, "--durability", "always"])
            .write_stdin("reading1"),
        2,
        &format!("woof-put: {uri}: --durability (CSPOT's protocol cannot carry it)"),
    );
    util::fails(
        ns.cmd("woof-put")
            .args([&uri, "--csv"])
            .write_stdin("1,2\n"),
        2,
        &format!(
            "woof-put: {uri}: --csv, --json and --skip-bad: a CSPOT woof has no schema (CSPOT's protocol cannot carry it)"
        ),
    );
    for tool in ["woof-get", "woof-tail", "woof-put"] {
        util::fails(
            ns.cmd(tool)
                .args([&uri, "--keys", "/k"])
                .write_stdin("reading1"),
            2,
            &format!("{tool}: {uri}: --keys (CSPOT's protocol has no keys)"),
        );
    }
    for tool in ["woof-get", "woof-tail"] {
        util::fails(
            ns.cmd(tool).args([&uri, "--since", "-1h"]),
            2,
            &format!("{tool}: --since/--until: a CSPOT host keeps no put times (select by seqno)"),
        );
    }
    // A woof the host does not have; an element of the wrong size.
    let missing = host.uri("cspot", "nope");
    ns.cmd("woof-get")
        .arg(&missing)
        .assert()
        .code(66)
        .stderr(format!(
            "woof-get: {missing}: no such woof on the CSPOT host\n"
        ));
    ns.cmd("woof-put")
        .arg(&uri)
        .write_stdin("toolong!!")
        .assert()
        .code(65)
        .stdout("");
    assert!(host.puts.lock().expect("lock").is_empty(), "nothing put");
}

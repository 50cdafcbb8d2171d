//! MQTT over TLS (`mqtts://`, `--tls-*`) and in version 3.1.1 (`--mqtt 3.1.1`),
//! against a real mosquitto (tests/util/brokers.rs; openssl makes the
//! certificates): what the sink publishes arrives once, what the source
//! subscribes to is put, a session outlives the forwarder, and TLS that cannot be
//! trusted is a clear error that sends nothing.

use std::time::Duration;

use predicates::prelude::PredicateBooleanExt;

use crate::util;

use util::{Ns, Running, put_counters};

/// A running `woof-forward URI NAME` (MQTT into a woof of `ns`).
fn mqtt_in(ns: &Ns, filter: &str, name: &str, extra: &[&str]) -> Running {
    let mut cmd = ns.std_cmd("woof-forward");
    cmd.args([filter, name, "--timeout", "2s"]).args(extra);
    Running::spawn(cmd)
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn mqtts_both_ways_with_a_login_and_client_certificates_across_broker_restarts() {
    // examples/bridges/README.md's mqtts:// recipe (a login in the URI, the
    // broker's CA), with client certificates too; the broker restarted 5 times
    // under the stream: the cloud ends with every reading once.
    let Some((mut broker, pki)) = util::mosquitto_tls(Some(("iot", "secret")), true) else {
        eprintln!("skipped: mosquitto or openssl is not installed (make deps installs them)");
        return;
    };
    let uri = format!("mqtts://iot:secret@localhost:{}/edge1/load", broker.port);
    let tls = [
        "--tls-ca",
        path(&pki.ca),
        "--tls-cert",
        path(&pki.client_cert),
        "--tls-key",
        path(&pki.client_key),
    ];
    crate::bridges::through(&mut broker, &uri, &tls, "broker", 5);
}

#[test]
fn mqtts_that_cannot_be_trusted_is_a_clear_error_and_sends_nothing() {
    let Some((broker, pki)) = util::mosquitto_tls(None, false) else {
        eprintln!("skipped: mosquitto or openssl is not installed (make deps installs them)");
        return;
    };
    let edge = Ns::new();
    edge.create("load", 8, 100);
    put_counters(&edge, "load", 1, 3);
    let uri = format!("mqtts://localhost:{}/edge1/load", broker.port);
    // A subscriber that would see anything published.
    let mut sub = std::process::Command::new("mosquitto_sub");
    sub.args([
        "-h",
        "localhost",
        "-p",
        &broker.port.to_string(),
        "--cafile",
    ])
    .arg(&pki.ca)
    .args(["-t", "edge1/load", "-q", "1", "-C", "1", "-W", "5"]);
    let sub = Running::spawn(sub);
    assert!(
        broker.wait_subscribed("edge1/load"),
        "{}",
        sub.stderr_text()
    );
    // Signed by a CA we were not told to trust: the handshake fails, named.
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--tls-ca", path(&pki.other_ca)])
        .assert()
        .code(77)
        .stdout("")
        .stderr(predicates::str::contains("TLS: ").and(predicates::str::contains("--tls-ca")));
    // Nor by the system's trust store (here: SSL_CERT_FILE).
    edge.cmd("woof-forward")
        .env("SSL_CERT_FILE", &pki.other_ca)
        .args(["load", &uri, "--once"])
        .assert()
        .code(77)
        .stderr(predicates::str::contains("TLS: "));
    assert_eq!(
        sub.try_line(Duration::from_secs(1)),
        None,
        "nothing was published"
    );
    // Bad settings are refused before anything is tried.
    let not_pem = edge.path().join("ca.txt");
    std::fs::write(&not_pem, "not a certificate\n").expect("file");
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--tls-ca", path(&not_pem)])
        .assert()
        .code(65)
        .stderr(format!(
            "woof-forward: --tls-ca {}: not PEM (no -----BEGIN line)\n",
            not_pem.display()
        ));
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--tls-ca", "/nonexistent/ca.pem"])
        .assert()
        .failure()
        .stderr(predicates::str::starts_with(
            "woof-forward: --tls-ca /nonexistent/ca.pem: ",
        ));
    util::fails(
        edge.cmd("woof-forward").args([
            "load",
            &format!("mqtt://localhost:{}/t", broker.port),
            "--once",
            "--tls-ca",
            path(&pki.ca),
        ]),
        2,
        "woof-forward: --tls-ca, --tls-cert and --tls-key are for mqtts:// URIs",
    );
    edge.cmd("woof-forward")
        .args(["load", &uri, "--tls-cert", path(&pki.client_cert)])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--tls-key <FILE>"));
}

#[test]
fn mqtt_311_both_ways_and_its_session_outlives_the_forwarder() {
    let Some(broker) = util::mosquitto(None, true) else {
        eprintln!("skipped: mosquitto is not installed (make deps installs it)");
        return;
    };
    let port = broker.port.to_string();
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 100);
    cloud.create("load", 8, 100);
    put_counters(&edge, "load", 1, 5);
    // woof → MQTT 3.1.1: the bodies alone (3.1.1 has no properties).
    let mut sub = std::process::Command::new("mosquitto_sub");
    sub.args(["-p", &port, "-V", "mqttv311", "-t", "edge1/load", "-q", "1"])
        .args(["-C", "5", "-W", "30", "-F", "%p"]);
    let sub = Running::spawn(sub);
    assert!(
        broker.wait_subscribed("edge1/load"),
        "{}",
        sub.stderr_text()
    );
    let uri = format!("mqtt://127.0.0.1:{port}/edge1/load");
    edge.cmd("woof-forward")
        .args(["load", &uri, "--once", "--mqtt", "3.1.1"])
        .assert()
        .success();
    for i in 1..=5 {
        assert_eq!(
            sub.line(Duration::from_secs(10)).as_bytes(),
            util::counter(i)
        );
    }
    // MQTT 3.1.1 → woof, with a persistent session: what is published while the
    // forwarder is down is put when it comes back.
    let filter = format!("mqtt://127.0.0.1:{port}/in/+");
    let publish = |from: u64, to: u64| {
        for i in from..=to {
            let ok = std::process::Command::new("mosquitto_pub")
                .args(["-p", &port, "-V", "mqttv311", "-q", "1", "-t", "in/a", "-m"])
                .arg(std::str::from_utf8(&util::counter(i)).expect("ASCII"))
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "mosquitto_pub");
        }
    };
    let mut fwd = mqtt_in(&cloud, &filter, "load", &["--mqtt", "3.1.1"]);
    assert!(broker.wait_subscribed("in/+"), "{}", fwd.stderr_text());
    publish(1, 5);
    assert!(
        util::wait_until(Duration::from_secs(10), || cloud.latest("load") >= 5),
        "{}",
        fwd.stderr_text()
    );
    util::signal_pid(fwd.child.id(), nix::sys::signal::Signal::SIGTERM);
    assert!(util::wait_until(Duration::from_secs(10), || !fwd.is_running()));
    publish(6, 10);
    let fwd = mqtt_in(&cloud, &filter, "load", &["--mqtt", "3.1.1"]);
    assert!(
        util::wait_until(Duration::from_secs(10), || cloud.latest("load") >= 10),
        "{}",
        fwd.stderr_text()
    );
    util::holds_counters(&cloud, "load", 1, 10);
}

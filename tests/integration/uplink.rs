//! Uplinks (issue 11): an edge proxy dials the cloud (`--uplink`) and the cloud's
//! clients reach the edge's woofs as `woof://cloud/@NAME/...`, NAME being the edge's
//! key name at the cloud; the edge's ACL decides what they may do. On loopback for
//! the protocol, and across a real NAT (three network namespaces: edge, a
//! masquerading router, cloud) for what it is for.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util;

use util::{Lab, Ns, PROMPT, Proxy, Running, bare, exe, ok_stdout, parse_seqno_line};

/// Key directories of a cloud, an edge and a user of the cloud, each knowing the
/// others as an uplink deployment needs: the cloud lets in `edge1` and `alice`;
/// the edge's ACL lets alice read and write its namespace.
struct Keys {
    _dir: Ns,
    cloud: PathBuf,
    edge: PathBuf,
    alice: PathBuf,
}

impl Keys {
    fn new(edge_ns: &Path) -> Keys {
        let dir = Ns::new();
        let [cloud, edge, alice] = ["cloud", "edge", "alice"].map(|n| dir.path().join(n));
        for d in [&cloud, &edge, &alice] {
            bare("woof-proxy")
                .arg("--gen-keys")
                .arg(d)
                .assert()
                .success();
        }
        std::fs::copy(edge.join("id.pub"), cloud.join("clients/edge1.pub")).expect("edge key");
        std::fs::copy(alice.join("id.pub"), cloud.join("clients/alice.pub")).expect("alice key");
        std::fs::write(
            edge.join("acl"),
            format!("{} alice read,write\n", edge_ns.display()),
        )
        .expect("edge acl");
        Keys {
            _dir: dir,
            cloud,
            edge,
            alice,
        }
    }

    /// Lets `dir` trust the cloud listening at `authority`.
    fn trust_cloud(&self, dir: &Path, authority: &str) {
        std::fs::copy(
            self.cloud.join("id.pub"),
            dir.join(format!("servers/{authority}.pub")),
        )
        .expect("trust cloud");
    }
}

fn cloud_proxy(cloud: &Ns, keys: &Keys, listen: &str) -> Proxy {
    let mut cmd = util::bare_std("woof-proxy");
    cmd.arg("--export")
        .arg(cloud.path())
        .args(["--accept-uplinks", "--listen", listen, "--keys"])
        .arg(&keys.cloud);
    Proxy::spawn(cmd, 1)
}

fn edge_proxy(edge: &Ns, keys: &Keys, cloud: &str) -> Running {
    let mut cmd = util::bare_std("woof-proxy");
    cmd.arg("--export")
        .arg(edge.path())
        .args([
            "--listen",
            "tcp://127.0.0.1:0",
            "--uplink",
            &format!("tcp://{cloud}"),
            "--keys",
        ])
        .arg(&keys.edge);
    Running::spawn(cmd)
}

/// Waits until `woof-get URI --info` through the cloud succeeds.
fn reachable(uri: &str, keys: &Path) -> bool {
    util::wait_until(PROMPT, || {
        bare("woof-get")
            .args([uri, "--info", "--timeout", "1s", "--keys"])
            .arg(keys)
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn the_clouds_clients_reach_an_edges_woofs_through_its_uplink() {
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 100);
    edge.create("valve", 8, 100);
    edge.put("load", b"00000007");
    let keys = Keys::new(edge.path());
    let mut cloudp = cloud_proxy(&cloud, &keys, "tcp://127.0.0.1:0");
    let listen = cloudp.endpoints[0].1.clone();
    let host = cloudp.authority();
    keys.trust_cloud(&keys.edge, &host);
    keys.trust_cloud(&keys.alice, &host);
    let mut edgep = edge_proxy(&edge, &keys, &host);
    let uri = |name: &str| format!("woof://{host}/@edge1{}/{name}", edge.path().display());
    assert!(
        reachable(&uri("load"), &keys.alice),
        "{}",
        edgep.stderr_text()
    );
    assert!(
        cloudp
            .run
            .stderr_text()
            .contains("uplink from edge1 connected")
    );
    // Read, put, follow: every tool works through it.
    let got = ok_stdout(
        bare("woof-get")
            .args([&uri("load"), "--format", "raw", "--keys"])
            .arg(&keys.alice),
    );
    assert_eq!(got, b"00000007");
    let out = ok_stdout(
        bare("woof-put")
            .args([&uri("valve"), "--keys"])
            .arg(&keys.alice)
            .write_stdin("00000001"),
    );
    assert_eq!(parse_seqno_line(&out), 1);
    assert_eq!(edge.latest("valve"), 1);
    let mut cmd = util::bare_std("woof-tail");
    cmd.args(["-F", &uri("load"), "--format", "csv", "--keys"])
        .arg(&keys.alice);
    let tail = Running::spawn(cmd);
    assert!(tail.line(PROMPT).ends_with(&util::hex(b"00000007")));
    edge.put("load", b"00000008");
    assert!(tail.line(PROMPT).ends_with(&util::hex(b"00000008")));
    // woof-forward into the edge, through the cloud.
    let src = Ns::new();
    src.create("valve", 8, 100);
    src.put_batch("valve", b"0000000200000003");
    src.cmd("woof-forward")
        .args(["valve", &uri("valve"), "--once", "--keys"])
        .arg(&keys.alice)
        .assert()
        .success();
    assert_eq!(edge.latest("valve"), 3);
    // The edge's ACL decides: alice may not create there (exit 77, its words).
    bare("woof-create")
        .args([&uri("new"), "-s", "8", "-n", "10", "--keys"])
        .arg(&keys.alice)
        .assert()
        .code(77)
        .stderr(predicates::str::contains("alice has no create right"));
    // An edge that is not connected: at once, exit 69, named.
    let start = Instant::now();
    bare("woof-get")
        .args([
            &format!("woof://{host}/@edge2{}/load", edge.path().display()),
            "--keys",
        ])
        .arg(&keys.alice)
        .assert()
        .code(69)
        .stderr(predicates::str::contains("edge edge2 is not connected"));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    // Restart the edge: reachable again. Restart the cloud: the edge dials again.
    edgep.kill_and_drain();
    let down = util::wait_until(Duration::from_secs(15), || {
        bare("woof-get")
            .args([&uri("load"), "--info", "--timeout", "1s", "--keys"])
            .arg(&keys.alice)
            .output()
            .is_ok_and(|o| o.status.code() == Some(69))
    });
    assert!(down, "a dead edge is still served");
    let _edgep = edge_proxy(&edge, &keys, &host);
    assert!(reachable(&uri("load"), &keys.alice));
    cloudp.run.kill_and_drain();
    let _cloudp = Proxy::start_retrying(|| {
        let mut cmd = util::bare_std("woof-proxy");
        cmd.arg("--export")
            .arg(cloud.path())
            .args(["--accept-uplinks", "--listen", &listen, "--keys"])
            .arg(&keys.cloud);
        cmd
    });
    assert!(reachable(&uri("load"), &keys.alice));
}

#[test]
fn an_edge_gives_up_a_frozen_cloud_and_dials_again_when_it_thaws() {
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 100);
    let keys = Keys::new(edge.path());
    let cloudp = cloud_proxy(&cloud, &keys, "tcp://127.0.0.1:0");
    let host = cloudp.authority();
    keys.trust_cloud(&keys.edge, &host);
    keys.trust_cloud(&keys.alice, &host);
    let edgep = edge_proxy(&edge, &keys, &host);
    let uri = format!("woof://{host}/@edge1{}/load", edge.path().display());
    assert!(reachable(&uri, &keys.alice), "{}", edgep.stderr_text());
    // Frozen longer than the edge waits to hear from it (PINGs unanswered).
    let cloud_pid = cloudp.run.child.id();
    util::signal_pid(cloud_pid, nix::sys::signal::Signal::SIGSTOP);
    let lost = util::wait_until(Duration::from_secs(10), || {
        edgep.stderr_text().contains("lost (nothing heard for 3 s)")
    });
    util::signal_pid(cloud_pid, nix::sys::signal::Signal::SIGCONT);
    assert!(lost, "{}", edgep.stderr_text());
    assert!(reachable(&uri, &keys.alice), "{}", edgep.stderr_text());
    let connected = edgep.stderr_text().matches(": connected").count();
    assert!(connected >= 2, "{}", edgep.stderr_text());
}

#[test]
fn uplinks_are_refused_without_keys_and_unknown_edges_are_logged() {
    let (edge, cloud) = (Ns::new(), Ns::new());
    bare("woof-proxy")
        .arg("--export")
        .arg(edge.path())
        .args(["--uplink", "tcp://127.0.0.1:9"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--uplink tcp://127.0.0.1:9: needs --keys",
        ));
    bare("woof-proxy")
        .arg("--export")
        .arg(cloud.path())
        .arg("--accept-uplinks")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--accept-uplinks: needs --keys"));
    // An edge whose key the cloud does not know: refused in the handshake, and the
    // cloud says which key to add.
    let keys = Keys::new(edge.path());
    std::fs::remove_file(keys.cloud.join("clients/edge1.pub")).expect("forget edge1");
    let cloudp = cloud_proxy(&cloud, &keys, "tcp://127.0.0.1:0");
    let host = cloudp.authority();
    keys.trust_cloud(&keys.edge, &host);
    keys.trust_cloud(&keys.alice, &host);
    let _edgep = edge_proxy(&edge, &keys, &host);
    let edge_key = std::fs::read_to_string(keys.edge.join("id.pub")).expect("key");
    let logged = util::wait_until(PROMPT, || {
        cloudp
            .run
            .stderr_text()
            .contains(&format!("unknown key {}", edge_key.trim()))
    });
    assert!(logged, "{}", cloudp.run.stderr_text());
    bare("woof-get")
        .args([
            &format!("woof://{host}/@edge1{}/load", edge.path().display()),
            "--keys",
        ])
        .arg(&keys.alice)
        .assert()
        .code(69)
        .stderr(predicates::str::contains("edge edge1 is not connected"));
}

#[test]
fn an_edge_behind_a_real_nat_is_reached_only_through_its_uplink() {
    let mut lab = match Lab::new("nat") {
        Ok(l) => l,
        Err(why) => {
            eprintln!("skipped: network namespaces unavailable: {why}");
            return;
        }
    };
    // edge 10.203.1.2 — router (10.203.1.1 | 10.203.2.1, masquerading) — cloud 10.203.2.2.
    let (edge_ns, router, cloud_ns) = (lab.host("e"), lab.host("r"), lab.host("c"));
    lab.link(&edge_ns, "eth0", "10.203.1.2", &router, "in0", "10.203.1.1");
    lab.link(
        &router,
        "out0",
        "10.203.2.1",
        &cloud_ns,
        "eth0",
        "10.203.2.2",
    );
    lab.ip(&edge_ns, &["route", "add", "default", "via", "10.203.1.1"]);
    lab.forwarding(&router);
    if let Err(why) = lab.nft(
        &router,
        "table ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n  \
         oifname \"out0\" masquerade\n }\n}\n",
    ) {
        eprintln!("skipped: no nftables NAT: {why}");
        return;
    }
    let (edge, cloud) = (Ns::new(), Ns::new());
    edge.create("load", 8, 100);
    edge.put("load", b"00000042");
    let keys = Keys::new(edge.path());
    let cloud_ep = "10.203.2.2:7400";
    keys.trust_cloud(&keys.edge, cloud_ep);
    keys.trust_cloud(&keys.alice, cloud_ep);
    let start_cloud = || {
        Proxy::start_retrying(|| {
            let mut cmd = lab.cmd(&cloud_ns, exe("woof-proxy"));
            cmd.arg("--export")
                .arg(cloud.path())
                .args([
                    "--accept-uplinks",
                    "--listen",
                    &format!("tcp://{cloud_ep}"),
                    "--keys",
                ])
                .arg(&keys.cloud);
            cmd
        })
    };
    let start_edge = || {
        let mut cmd = lab.cmd(&edge_ns, exe("woof-proxy"));
        cmd.arg("--export")
            .arg(edge.path())
            .args([
                "--listen",
                "tcp://10.203.1.2:7401",
                "--uplink",
                &format!("tcp://{cloud_ep}"),
                "--keys",
            ])
            .arg(&keys.edge);
        Proxy::spawn(cmd, 1)
    };
    let mut cloudp = start_cloud();
    let mut edgep = start_edge();
    let client = |args: &[&str]| {
        let mut c = assert_cmd::Command::from_std(lab.cmd(&cloud_ns, exe("woof-get")));
        c.args(args)
            .arg("--keys")
            .arg(&keys.alice)
            .timeout(util::TIMEOUT);
        c
    };
    // From the cloud, the edge's own address is unreachable (no route through NAT).
    std::fs::copy(
        keys.edge.join("id.pub"),
        keys.alice.join("servers/10.203.1.2:7401.pub"),
    )
    .expect("trust edge");
    client(&[
        &format!("woof://10.203.1.2:7401{}/load", edge.path().display()),
        "--timeout",
        "1s",
    ])
    .assert()
    .code(69);
    let uri = format!("woof://{cloud_ep}/@edge1{}/load", edge.path().display());
    let through = || {
        util::wait_until(Duration::from_secs(20), || {
            client(&[&uri, "--format", "raw", "--timeout", "1s"])
                .output()
                .is_ok_and(|o| o.status.success() && o.stdout.ends_with(b"00000042"))
        })
    };
    assert!(
        through(),
        "edge: {} cloud: {}",
        edgep.run.stderr_text(),
        cloudp.run.stderr_text()
    );
    // Either side restarted: the edge dials again and is reachable again.
    edgep.run.kill_and_drain();
    edgep = start_edge();
    assert!(
        through(),
        "after an edge restart: {}",
        edgep.run.stderr_text()
    );
    cloudp.run.kill_and_drain();
    cloudp = start_cloud();
    assert!(
        through(),
        "after a cloud restart: {}",
        cloudp.run.stderr_text()
    );
    drop((edgep, cloudp));
}

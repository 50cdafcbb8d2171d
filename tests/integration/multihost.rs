//! Several hosts on one machine (issue 4): each host is a Linux network namespace,
//! created by the test, linked to the others through a bridge in a namespace of its
//! own, with its own namespace directory, woof-proxy and woof-platform. Every
//! process of a test runs inside those namespaces (`ip netns exec`), and the only
//! addresses used are 10.201.0.x inside them: no packet of these tests can leave
//! the machine (from the root namespace 10.x routes out — nothing here goes there).
//!
//! Covered: a handler chain A → B → C → A across the hosts, each hop a handler's
//! `woof-put woof://…` to the next host's CSPOT port, with the causes carried along,
//! B's hop over CURVE (B's ACL lets A's key write and trigger, nothing else), and a
//! remote `woof-tail -f` on B seeing everything that comes back to A;
//! a woof-proxy SIGKILLed under a slow `woof-put --batch` stream: the client fails
//! within its timeout (exit 69) and reports what was acknowledged, all of which is in
//! the woof after the restart, and a retry of the rest completes, while a remote
//! follower with a cursor fails too and resumes losing and repeating nothing; a proxy
//! frozen (SIGSTOP) under a stream: clients fail within their timeout saying what was
//! not acknowledged, and once thawed it serves again; twelve streams from three hosts
//! at once, each appended whole and in its own order; a handler reaching a keyed
//! host with the keys and timeout of its platform; and hosts over IPv6.
//!
//! Creating namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and `ip`; where
//! the kernel refuses, the chain prints "skipped: <reason>" and the other two run on
//! loopback in the test's own namespace instead.

#![allow(clippy::unwrap_used)]

use crate::util;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use util::{
    Ns, PROMPT, Platform, Proxy, RunRec, Running, TIMEOUT, encode, exe, finals, hex, ip, ip_ok,
    ok_stdout, parse_range_line,
};

/// Bytes of the elements these tests put.
const SIZE: u64 = util::ELEMENT as u64;

/// Network namespaces for `n` hosts on a bridge; every one is deleted on drop
/// (which also removes the veth links inside them). Hosts are numbered from 0 and
/// host i has the address 10.201.0.(i+1)/24 on its eth0, and loopback up.
struct Hosts {
    /// Namespace names: the bridge's first, then the hosts'.
    names: Vec<String>,
}

impl Hosts {
    /// Creates them, or returns why the kernel refused (no root, no netns support).
    /// Names carry the pid and `tag`, so concurrent runs and tests never collide.
    fn create(tag: &str, n: usize) -> Result<Hosts, String> {
        let mut hosts = Hosts { names: Vec::new() };
        let base = format!("woof{}{tag}", std::process::id());
        let bridge = format!("{base}br");
        ip_ok(&["netns", "add", &bridge])?;
        hosts.names.push(bridge.clone());
        // From here on a failure is not a missing privilege: fail the test.
        let setup = |hosts: &mut Hosts| -> Result<(), String> {
            ip_ok(&["-n", &bridge, "link", "add", "br0", "type", "bridge"])?;
            ip_ok(&["-n", &bridge, "link", "set", "br0", "up"])?;
            for i in 0..n {
                let host = format!("{base}{i}");
                ip_ok(&["netns", "add", &host])?;
                hosts.names.push(host.clone());
                let port = format!("p{i}");
                // The veth is born with its ends in the two namespaces: it never
                // exists in the root namespace.
                ip_ok(&[
                    "-n", &host, "link", "add", "eth0", "type", "veth", "peer", "name", &port,
                    "netns", &bridge,
                ])?;
                ip_ok(&["-n", &bridge, "link", "set", &port, "master", "br0"])?;
                ip_ok(&["-n", &bridge, "link", "set", &port, "up"])?;
                let addr = format!("{}/24", Hosts::addr(i));
                ip_ok(&["-n", &host, "addr", "add", &addr, "dev", "eth0"])?;
                ip_ok(&["-n", &host, "link", "set", "eth0", "up"])?;
                ip_ok(&["-n", &host, "link", "set", "lo", "up"])?;
            }
            Ok(())
        };
        if let Err(e) = setup(&mut hosts) {
            panic!("setting up network namespaces: {e}");
        }
        Ok(hosts)
    }

    fn addr(i: usize) -> String {
        format!("10.201.0.{}", i + 1)
    }

    fn netns(&self, i: usize) -> &str {
        &self.names[i + 1]
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for name in self.names.iter().rev() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Where a test's processes run: in host namespaces, or (without them) all on
/// loopback in the test's own namespace.
enum Net {
    Hosts(Hosts),
    Loopback,
}

impl Net {
    /// `bin` with every `WOOF_*` variable removed, stdin from /dev/null, run on
    /// host `i` (`ip netns exec` execs the tool: the pid is the tool's).
    fn cmd(&self, i: usize, bin: &str) -> Command {
        let mut cmd = match self {
            Net::Hosts(h) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", h.netns(i), exe(bin)]);
                c
            }
            Net::Loopback => Command::new(exe(bin)),
        };
        cmd.stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("WOOF_") {
                cmd.env_remove(&key);
            }
        }
        cmd
    }

    /// As `cmd`, for assert_cmd, with the usual bound.
    fn run(&self, i: usize, bin: &str) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.cmd(i, bin));
        c.timeout(TIMEOUT);
        c
    }

    fn addr(&self, i: usize) -> String {
        match self {
            Net::Hosts(_) => Hosts::addr(i),
            Net::Loopback => "127.0.0.1".to_string(),
        }
    }

    /// woof-proxy on host `i` exporting `ns`, on `port` (0: any free one).
    fn proxy(&self, i: usize, ns: &str, port: u16) -> Proxy {
        let mut cmd = self.cmd(i, "woof-proxy");
        cmd.args(["--export", ns, "--listen"]);
        cmd.arg(format!("tcp://{}:{port}", self.addr(i)));
        if matches!(self, Net::Hosts(_)) {
            cmd.arg("--insecure");
        }
        Proxy::spawn(cmd, 1)
    }
}

/// Polls `f` every 50 ms until it returns Some, for at most `limit`.
fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Elements of a local woof as (seqno, data), read straight from its file.
fn elements(ns: &Ns, woof: &str) -> Vec<(u64, Vec<u8>)> {
    if ns.latest(woof) == 0 {
        return Vec::new();
    }
    ns.get_csv(woof, "1..")
        .into_iter()
        .map(|l| (l.seqno, l.data))
        .collect()
}

/// The final results of `handler`'s runs by the seqno they ran for.
fn runs_by_seqno(r: &[RunRec], handler: &str) -> BTreeMap<u64, RunRec> {
    let mut out = BTreeMap::new();
    for rec in finals(r).into_iter().filter(|x| x.handler == handler) {
        assert_eq!(
            (rec.outcome.as_str(), rec.code),
            ("exited", Some(0)),
            "{}",
            rec.brief()
        );
        assert!(
            out.insert(rec.seqno, rec.clone()).is_none(),
            "{handler} ran twice for seqno {}",
            rec.seqno
        );
    }
    out
}

/// A → B → C → A: a handler on each host puts the element on to the next host's
/// CSPOT port (no port in the URI), the last hop without a handler.
#[test]
fn a_handler_chain_crosses_three_hosts_and_comes_back_with_its_causes() {
    const N: u64 = 20;
    let hosts = match Hosts::create("c", 3) {
        Ok(h) => Net::Hosts(h),
        Err(why) => {
            eprintln!("skipped: network namespaces unavailable: {why}");
            return;
        }
    };
    let ns: Vec<Ns> = (0..3).map(|_| Ns::new()).collect();
    let abs: Vec<String> = ns.iter().map(Ns::abs).collect();
    let uri = |i: usize, name: &str| format!("woof://{}{}/{name}", hosts.addr(i), abs[i]);
    ns[0].create("start", SIZE, 100);
    ns[0].create("final", SIZE, 100);
    ns[1].create("mid", SIZE, 100);
    ns[2].create("last", SIZE, 100);
    // B is the "cloud" host: CURVE, and an ACL letting A's key write and trigger.
    let keys = Ns::new();
    let kdir = |who: &str| keys.path().join(who);
    for who in ["b", "a"] {
        util::bare("woof-proxy")
            .arg("--gen-keys")
            .arg(kdir(who))
            .assert()
            .success();
    }
    std::fs::copy(kdir("a").join("id.pub"), kdir("b").join("clients/a.pub")).unwrap();
    std::fs::write(
        kdir("b").join("acl"),
        format!("{} a write,trigger\n", abs[1]),
    )
    .unwrap();
    // The client side knows B's key by its address (any port).
    let b_pub = kdir("a").join(format!("servers/{}.pub", hosts.addr(1)));
    std::fs::copy(kdir("b").join("id.pub"), b_pub).unwrap();
    // Handlers find woof-put on the PATH the shepherd gives them; the element is
    // their stdin, their run is WOOF_CAUSE, which woof-put carries to the next host.
    // A's finds its keys through WOOF_KEYS, inherited from A's platform.
    ns[0].handler(
        "ha",
        &format!("#!/bin/sh\nexec woof-put {} -H hb\n", uri(1, "mid")),
    );
    ns[1].handler(
        "hb",
        &format!("#!/bin/sh\nexec woof-put {} -H hc\n", uri(2, "last")),
    );
    ns[2].handler(
        "hc",
        &format!("#!/bin/sh\nexec woof-put {}\n", uri(0, "final")),
    );
    let _proxies: Vec<Proxy> = (0..3)
        .map(|i| {
            // The CSPOT port of the namespace, on the host's own address.
            let mut cmd = hosts.cmd(i, "woof-proxy");
            cmd.args(["--export", &abs[i], "--bind", &hosts.addr(i)]);
            if i == 1 {
                cmd.arg("--keys").arg(kdir("b"));
            } else {
                cmd.arg("--insecure");
            }
            let p = Proxy::spawn(cmd, 1);
            let port = woof_net::uri::cspot_port(&abs[i]);
            assert_eq!(
                p.endpoints[0],
                (abs[i].clone(), format!("tcp://{}:{port}", hosts.addr(i)))
            );
            p
        })
        .collect();
    let _platforms: Vec<Platform> = (0..3)
        .map(|i| {
            let mut cmd = hosts.cmd(i, "woof-platform");
            cmd.arg("-N").arg(&abs[i]);
            if i == 0 {
                cmd.env("WOOF_KEYS", kdir("a"));
            }
            Platform::start(cmd)
        })
        .collect();
    // Without a key, B turns a client away; A's key may not read there.
    hosts
        .run(2, "woof-get")
        .args([&uri(1, "mid"), "--keys"])
        .arg(keys.path())
        .assert()
        .code(77)
        .stderr(predicates::str::contains("server requires CURVE"));
    hosts
        .run(2, "woof-get")
        .args([&uri(1, "mid"), "--keys"])
        .arg(kdir("a"))
        .assert()
        .code(77)
        .stderr(format!(
            "woof-get: {}: a has no read right in {}\n",
            uri(1, "mid"),
            abs[1]
        ));
    // A follower on host B watches A's final woof from its first element.
    let mut follow = hosts.cmd(1, "woof-tail");
    follow.args([&uri(0, "final"), "-f", "--after", "0", "--format", "hex"]);
    let follower = Running::spawn(follow);

    // N elements from host C to A's start woof, over the network, with A's handler.
    let sent: Vec<Vec<u8>> = (0..N).map(|i| encode(7, i)).collect();
    let out = ok_stdout(
        hosts
            .run(2, "woof-put")
            .args([&uri(0, "start"), "--batch", "-H", "ha"])
            .write_stdin(sent.concat()),
    );
    assert_eq!(parse_range_line(&out), (1, N));

    // Every element comes back to A's final woof (in whatever order the hops ran).
    let back = poll(TIMEOUT, || {
        let e = elements(&ns[0], "final");
        (e.len() as u64 >= N).then_some(e)
    });
    let Some(back) = back else {
        let shown: Vec<String> = ns
            .iter()
            .flat_map(|n| n.results())
            .map(|r| r.brief())
            .collect();
        panic!(
            "final has {} of {N} elements; results:\n{}",
            elements(&ns[0], "final").len(),
            shown.join("\n")
        );
    };
    let mut got: Vec<String> = back.iter().map(|(_, d)| hex(d)).collect();
    let mut want: Vec<String> = sent.iter().map(|d| hex(d)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "final holds each element exactly once");
    // The remote follower on B saw them all, in the woof's order.
    let followed: Vec<String> = (0..N).map(|_| follower.line(PROMPT)).collect();
    let in_order: Vec<String> = back.iter().map(|(_, d)| hex(d)).collect();
    assert_eq!(followed, in_order, "woof-tail -f over the network");

    // The causes chain: B's run for an element names A's run for it, C's names B's.
    let results: Vec<Vec<RunRec>> = (0..3)
        .map(|i| {
            ns[i].wait_results(TIMEOUT, "every hop recorded", |r| {
                finals(r).len() as u64 == N
            })
        })
        .collect();
    let (ra, rb, rc) = (
        runs_by_seqno(&results[0], "ha"),
        runs_by_seqno(&results[1], "hb"),
        runs_by_seqno(&results[2], "hc"),
    );
    let seqno_of = |n: &Ns, woof: &str| -> BTreeMap<Vec<u8>, u64> {
        elements(n, woof).into_iter().map(|(s, d)| (d, s)).collect()
    };
    let (at_b, at_c) = (seqno_of(&ns[1], "mid"), seqno_of(&ns[2], "last"));
    for (i, el) in sent.iter().enumerate() {
        let a = &ra[&(i as u64 + 1)];
        assert_eq!((a.woof.as_str(), a.cause.as_str()), ("start", ""));
        let b = &rb[&at_b[el]];
        assert_eq!(b.woof, "mid");
        assert_eq!(
            b.cause,
            format!("{}#{}", abs[0], a.trigger),
            "{}",
            b.brief()
        );
        let c = &rc[&at_c[el]];
        assert_eq!(c.woof, "last");
        assert_eq!(
            c.cause,
            format!("{}#{}", abs[1], b.trigger),
            "{}",
            c.brief()
        );
    }
}

/// Feeds `els` to `stdin` one at a time with a pause, until done or the pipe breaks;
/// counts what it wrote.
fn trickle(mut stdin: std::process::ChildStdin, els: &[Vec<u8>], written: &AtomicUsize) {
    for el in els {
        if stdin.write_all(el).and_then(|()| stdin.flush()).is_err() {
            return;
        }
        written.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_proxy_killed_mid_stream_loses_nothing_acknowledged_and_a_retry_completes() {
    const TOTAL: u64 = 2000;
    let net = match Hosts::create("r", 2) {
        Ok(h) => Net::Hosts(h),
        Err(why) => {
            eprintln!("network namespaces unavailable ({why}): running on loopback");
            Net::Loopback
        }
    };
    // Host 0 serves, host 1 is the client.
    let ns = Ns::new();
    let abs = ns.abs();
    ns.create("stream", SIZE, 100_000);
    let mut proxy = net.proxy(0, &abs, 0);
    let uri = proxy.uri(std::path::Path::new(&abs), "stream");
    let port: u16 = proxy
        .authority()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    let els: Vec<Vec<u8>> = (0..TOTAL).map(|i| encode(3, i)).collect();

    // A follower on the client host, from the first element, keeps a cursor as it goes.
    let cursor = ns.path().join("follower.cursor");
    let mut cmd = net.cmd(1, "woof-tail");
    cmd.args([
        &uri,
        "-f",
        "--after",
        "0",
        "--format",
        "hex",
        "--timeout",
        "2s",
    ]);
    cmd.arg("--cursor");
    cmd.arg(&cursor);
    let mut follower = Running::spawn(cmd);

    let mut cmd = net.cmd(1, "woof-put");
    cmd.args([&uri, "--batch", "--timeout", "2s"]);
    cmd.stdin(Stdio::piped());
    let mut client = Running::spawn(cmd);
    let written = AtomicUsize::new(0);
    let (status, lines) = std::thread::scope(|s| {
        let stdin = client.stdin();
        s.spawn(|| trickle(stdin, &els, &written));
        // Once a good part of the stream is in, the proxy dies.
        let began = poll(TIMEOUT, || (ns.latest("stream") >= 50).then_some(()));
        if began.is_none() {
            client.kill_and_drain(); // so the feeder sees a broken pipe and stops
            panic!("the stream did not start: {}", client.stderr_text());
        }
        proxy.run.kill_and_drain();
        // The client notices on its next send or acknowledgement and gives up
        // within its 2 s timeout (bounded generously, never asserted as a time).
        client.finish(TIMEOUT)
    });
    let err = client.stderr_text();
    assert_eq!(status.code(), Some(69), "{err}");
    assert!(
        err.starts_with(&format!("woof-put: woof://{}:{port}: ", net.addr(0)))
            && err.contains("unreachable"),
        "{err}"
    );
    assert!(
        (written.load(Ordering::Relaxed) as u64) < TOTAL,
        "the client died before the stream ended"
    );
    // What it printed is what was acknowledged.
    assert_eq!(lines.len(), 1, "one FIRST..LAST line: {lines:?}");
    let (first, last) = parse_range_line(format!("{}\n", lines[0]).as_bytes());
    assert_eq!(first, 1);
    // Acknowledgements are read as the client's window (8 batches) fills, so a few
    // of the 50 put may not be acknowledged yet; most are.
    assert!(last >= 25, "acknowledged {first}..{last}, but 50 were in");

    // The follower fails the same way, within its timeout.
    let (status, mut followed) = follower.finish(TIMEOUT);
    let err = follower.stderr_text();
    assert_eq!(status.code(), Some(69), "{err}");
    assert!(err.contains("unreachable"), "{err}");

    // Meanwhile, a one-shot put fails the same way, within its timeout.
    net.run(1, "woof-put")
        .args([&uri, "--timeout", "1s"])
        .write_stdin(encode(9, 0))
        .assert()
        .code(69)
        .stdout("")
        .stderr(predicates::str::contains("unreachable"));

    // The proxy comes back on the same port: everything acknowledged is there, in
    // order; what was sent but not acknowledged may be too (a prefix of the rest).
    let _proxy = net.proxy(0, &abs, port);
    let held = poll(PROMPT, || {
        net.run(1, "woof-get")
            .args([&uri, "1..", "--format", "hex"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8(o.stdout).unwrap())
    })
    .expect("woof-get through the restarted proxy");
    let held: Vec<&str> = held.lines().collect();
    assert!(
        held.len() as u64 >= last,
        "{} held, {last} acknowledged",
        held.len()
    );
    for (i, h) in held.iter().enumerate() {
        assert_eq!(*h, hex(&els[i]), "element {} is the stream's", i + 1);
    }
    // The retry: the rest of the stream, from what the woof holds.
    let from = held.len();
    let out = ok_stdout(
        net.run(1, "woof-put")
            .args([&uri, "--batch"])
            .write_stdin(els[from..].concat()),
    );
    assert_eq!(parse_range_line(&out), (from as u64 + 1, TOTAL));
    let all: Vec<String> = ns.get_hex("stream", "1..");
    assert_eq!(all, els.iter().map(|e| hex(e)).collect::<Vec<_>>());
    // The follower resumes from its cursor: with what it printed before the crash,
    // every element exactly once, in order.
    let out = ok_stdout(
        net.run(1, "woof-tail")
            .args([&uri, "--format", "hex", "--cursor"])
            .arg(&cursor),
    );
    followed.extend(String::from_utf8(out).unwrap().lines().map(str::to_string));
    assert_eq!(
        followed, all,
        "followed before the crash + resumed after it"
    );
}

#[test]
fn a_frozen_proxy_fails_clients_within_their_timeout_and_then_serves_what_it_had() {
    let net = match Hosts::create("f", 2) {
        Ok(h) => Net::Hosts(h),
        Err(why) => {
            eprintln!("network namespaces unavailable ({why}): running on loopback");
            Net::Loopback
        }
    };
    let ns = Ns::new();
    let abs = ns.abs();
    ns.create("stream", SIZE, 100);
    let proxy = net.proxy(0, &abs, 0);
    let uri = proxy.uri(std::path::Path::new(&abs), "stream");
    let els: Vec<Vec<u8>> = (0..3).map(|i| encode(5, i)).collect();

    let mut cmd = net.cmd(1, "woof-put");
    cmd.args([&uri, "--batch", "--timeout", "1s"]);
    cmd.stdin(Stdio::piped());
    let mut client = Running::spawn(cmd);
    let mut stdin = client.stdin();
    stdin.write_all(&els[0]).unwrap();
    stdin.flush().unwrap();
    assert!(
        poll(PROMPT, || (ns.latest("stream") == 1).then_some(())).is_some(),
        "the first element did not arrive: {}",
        client.stderr_text()
    );
    // The proxy stops answering (SIGSTOP: its sockets stay open, nothing is read).
    // Dropping the proxy SIGKILLs it, which works on a stopped process too.
    let pid = proxy.run.child.id();
    util::signal_pid(pid, nix::sys::signal::Signal::SIGSTOP);
    stdin.write_all(&els[1..].concat()).unwrap();
    drop(stdin);
    // The first batch's acknowledgement was waiting; the second's never comes.
    let (status, lines) = client.finish(TIMEOUT);
    let err = client.stderr_text();
    assert_eq!(status.code(), Some(69), "{err}");
    assert_eq!(lines, vec!["1..1".to_string()], "{err}");
    assert!(
        err.starts_with(&format!(
            "woof-put: woof://{}: unreachable: ",
            proxy.authority()
        )) && err.ends_with(
            "; 1 batch(es) sent but not acknowledged; check the woof before re-sending\n"
        ) && err.lines().count() == 1,
        "{err}"
    );
    // Any other client fails the same way, within its timeout.
    net.run(1, "woof-get")
        .args([&uri, "--timeout", "1s"])
        .assert()
        .code(69)
        .stdout("")
        .stderr(predicates::str::contains("unreachable"));

    // Thawed, it serves again, and puts the batch it had been sent before it
    // stopped: why the client said to check the woof before re-sending.
    util::signal_pid(pid, nix::sys::signal::Signal::SIGCONT);
    let info = ok_stdout(net.run(1, "woof-get").args([&uri, "--info"]));
    assert!(
        String::from_utf8_lossy(&info).contains("element size: 48 bytes"),
        "{info:?}"
    );
    let whole = poll(PROMPT, || (ns.latest("stream") == 3).then_some(()));
    assert!(
        whole.is_some(),
        "the unacknowledged batch was not put: latest {}",
        ns.latest("stream")
    );
    let want: Vec<String> = els.iter().map(|e| hex(e)).collect();
    assert_eq!(ns.get_hex("stream", "1.."), want);
}

#[test]
fn hosts_reach_each_other_over_ipv6() {
    let (net, server) = match Hosts::create("6", 2) {
        Ok(h) => {
            // Addresses usable at once (no duplicate detection to wait for).
            for i in 0..2 {
                let addr = format!("fd00:201::{}/64", i + 1);
                if let Err(why) = ip_ok(&[
                    "-n",
                    h.netns(i),
                    "addr",
                    "add",
                    &addr,
                    "dev",
                    "eth0",
                    "nodad",
                ]) {
                    eprintln!("skipped: no IPv6 in network namespaces: {why}");
                    return;
                }
            }
            (Net::Hosts(h), "fd00:201::1".to_string())
        }
        Err(why) => {
            let lo = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
            if !lo
                .lines()
                .any(|l| l.starts_with("00000000000000000000000000000001"))
            {
                eprintln!("skipped: no network namespaces ({why}) and no ::1");
                return;
            }
            eprintln!("network namespaces unavailable ({why}): running on ::1");
            (Net::Loopback, "::1".to_string())
        }
    };
    let ns = Ns::new();
    let abs = ns.abs();
    ns.create("six", SIZE, 10);
    // On the namespace's CSPOT port, at the host's IPv6 address.
    let mut cmd = net.cmd(0, "woof-proxy");
    cmd.args(["--export", &abs, "--bind", &server]);
    if matches!(net, Net::Hosts(_)) {
        cmd.arg("--insecure");
    }
    let proxy = Proxy::spawn(cmd, 1);
    let port = woof_net::uri::cspot_port(&abs);
    assert_eq!(proxy.endpoints[0].1, format!("tcp://[{server}]:{port}"));
    let uri = format!("woof://[{server}]{abs}/six");
    let out = ok_stdout(net.run(1, "woof-put").arg(&uri).write_stdin(encode(6, 0)));
    assert_eq!(out, b"1\n");
    let out = ok_stdout(net.run(1, "woof-get").args([&uri, "1", "--format", "hex"]));
    assert_eq!(out, format!("{}\n", hex(&encode(6, 0))).into_bytes());
    // With the port written out too.
    let uri = format!("woof://[{server}]:{port}{abs}/six");
    let out = ok_stdout(net.run(1, "woof-get").args([&uri, "--info"]));
    assert!(String::from_utf8_lossy(&out).contains("latest:       1\n"));
}

#[test]
fn clients_on_several_hosts_stream_at_once_each_in_its_order() {
    const HOSTS: usize = 3;
    const WRITERS: u32 = 4;
    const EACH: u64 = 500;
    let net = match Hosts::create("m", HOSTS) {
        Ok(h) => Net::Hosts(h),
        Err(why) => {
            eprintln!("network namespaces unavailable ({why}): running on loopback");
            Net::Loopback
        }
    };
    let ns = Ns::new();
    let abs = ns.abs();
    ns.create("many", SIZE, 100_000);
    let proxy = net.proxy(0, &abs, 0);
    let uri = proxy.uri(std::path::Path::new(&abs), "many");
    // Writers on every host (the server's too), each a pipelined --lines stream.
    let children: Vec<(u32, std::process::Child)> = (0..HOSTS as u32 * WRITERS)
        .map(|w| {
            let mut cmd = net.cmd(w as usize % HOSTS, "woof-put");
            cmd.args([&uri, "--lines"]);
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
            (w, cmd.spawn().unwrap())
        })
        .collect();
    let mut guards = Vec::new();
    for (w, mut child) in children {
        let mut stdin = child.stdin.take().unwrap();
        let lines = util::encoded_lines(w, 0..EACH);
        let feeder = std::thread::spawn(move || stdin.write_all(&lines));
        guards.push((w, util::Guard(child), feeder));
    }
    for (w, mut guard, feeder) in guards {
        feeder.join().unwrap().unwrap();
        let status = util::wait_bounded(&mut guard.0, TIMEOUT, "woof-put --lines");
        let mut out = String::new();
        std::io::Read::read_to_string(guard.0.stdout.as_mut().unwrap(), &mut out).unwrap();
        assert!(status.success(), "writer {w}: {status:?} {out}");
        let (first, last) = parse_range_line(out.as_bytes());
        assert_eq!(last - first + 1, EACH, "writer {w}: {out}");
    }
    // Every element exactly once, whole, and each writer's in the order it sent them.
    let lines = ns.get_csv("many", "1..");
    assert_eq!(lines.len() as u64, HOSTS as u64 * u64::from(WRITERS) * EACH);
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    for l in &lines {
        let (_, w, c) = util::whole(l);
        let n = next.entry(w).or_insert(0);
        assert_eq!(
            c, *n,
            "writer {w}'s elements out of order at seqno {}",
            l.seqno
        );
        *n += 1;
    }
    assert!(next.values().all(|&n| n == EACH), "{next:?}");
}

#[test]
fn handlers_reach_a_keyed_host_with_the_platforms_keys_and_timeout() {
    let net = match Hosts::create("k", 2) {
        Ok(h) => Net::Hosts(h),
        Err(why) => {
            eprintln!("network namespaces unavailable ({why}): running on loopback");
            Net::Loopback
        }
    };
    // Host 0: a keyed proxy letting "edge" write. Host 1: a platform whose handler
    // puts there, knowing nothing of keys itself.
    let (cloud, edge, keys) = (Ns::new(), Ns::new(), Ns::new());
    let kdir = |who: &str| keys.path().join(who);
    for who in ["cloud", "edge"] {
        util::bare("woof-proxy")
            .arg("--gen-keys")
            .arg(kdir(who))
            .assert()
            .success();
    }
    std::fs::copy(
        kdir("edge").join("id.pub"),
        kdir("cloud").join("clients/edge.pub"),
    )
    .unwrap();
    let cloud_abs = cloud.abs();
    std::fs::write(
        kdir("cloud").join("acl"),
        format!("{cloud_abs} edge write\n"),
    )
    .unwrap();
    std::fs::copy(
        kdir("cloud").join("id.pub"),
        kdir("edge").join(format!("servers/{}.pub", net.addr(0))),
    )
    .unwrap();
    cloud.create("temps", SIZE, 10);
    let mut cmd = net.cmd(0, "woof-proxy");
    cmd.args(["--export", &cloud_abs, "--listen"]);
    cmd.arg(format!("tcp://{}:0", net.addr(0)))
        .arg("--keys")
        .arg(kdir("cloud"));
    let proxy = Proxy::spawn(cmd, 1);
    let uri = proxy.uri(std::path::Path::new(&cloud_abs), "temps");

    edge.create("reading", SIZE, 10);
    edge.handler(
        "forward",
        &format!("#!/bin/sh\nenv > \"$WOOF_NAMESPACE/env\"\nexec woof-put {uri} > /dev/null\n"),
    );
    let mut cmd = net.cmd(1, "woof-platform");
    cmd.arg("-N").arg(edge.abs());
    cmd.env("WOOF_KEYS", kdir("edge")).env("WOOF_TIMEOUT", "3s");
    let _platform = Platform::start(cmd);
    assert_eq!(edge.put_h("reading", "forward", &encode(4, 0)), 1);
    let r = edge.wait_results(TIMEOUT, "forward ran", |r| !finals(r).is_empty());
    let f = finals(&r);
    assert_eq!(
        (f[0].outcome.as_str(), f[0].code),
        ("exited", Some(0)),
        "{}",
        f[0].brief()
    );
    assert_eq!(cloud.get_hex("temps", "1"), vec![hex(&encode(4, 0))]);
    let env = edge.read("env");
    for want in [
        format!("WOOF_KEYS={}", kdir("edge").display()),
        "WOOF_TIMEOUT=3s".to_string(),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} not in:\n{env}");
    }
}

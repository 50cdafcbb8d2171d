//! Remote follows that wait, parked on their woofs in woof-proxy (proxy/src/parker.rs):
//! more woofs than one futex wait can watch, follows whose wait runs out, and
//! clients that leave while parked.

use crate::util;

use std::time::Duration;

use util::{Ns, Proxy, raise_files, rss_threads};
use woof_net::Uri;
use woof_net::client::{Client, Options};
use woof_net::proto::Op;

fn connect(proxy: &Proxy, ns: &Ns, name: &str) -> Client {
    let uri = Uri::parse(&proxy.uri(ns.path(), name)).expect("uri");
    Client::connect(&uri, &Options::new(Duration::from_secs(20), None)).expect("connect")
}

/// Sends a follow after `after` that may wait `wait_ms`.
fn follow(c: &mut Client, after: u64, wait_ms: u64) {
    let (a, w) = (after.to_string(), wait_ms.to_string());
    c.send(Op::Follow, &[a.as_bytes(), w.as_bytes(), b"10"])
        .expect("send a follow");
}

/// `n` clients, each with a follow of `w` after `after` that may wait 10 s.
fn following(proxy: &Proxy, ns: &Ns, n: usize, after: u64) -> Vec<Client> {
    (0..n)
        .map(|_| {
            let mut c = connect(proxy, ns, "w");
            follow(&mut c, after, 10_000);
            c
        })
        .collect()
}

/// The data frame of a follow's reply.
fn data(c: &mut Client) -> Vec<u8> {
    let reply = c.recv(Duration::from_secs(20)).expect("a follow's reply");
    reply.get(3).expect("the elements frame").clone()
}

#[test]
fn follows_on_more_woofs_than_one_wait_watches_each_see_their_put() {
    // One futex_waitv takes 128 words: 200 woofs put the rest on the re-check.
    const WOOFS: usize = 200;
    let ns = Ns::new();
    for i in 0..WOOFS {
        ns.create(&format!("w{i:03}"), 8, 10);
    }
    let proxy = Proxy::start(&[ns.path()], &["--timeout", "30s"]);
    let mut clients: Vec<Client> = (0..WOOFS)
        .map(|i| {
            let mut c = connect(&proxy, &ns, &format!("w{i:03}"));
            follow(&mut c, 0, 25_000);
            c
        })
        .collect();
    // Parked before the puts (a follow with data already there is not parked).
    std::thread::sleep(Duration::from_millis(300));
    for i in (0..WOOFS).rev() {
        ns.put(&format!("w{i:03}"), &(i as u64).to_le_bytes());
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(data(c), (i as u64).to_le_bytes(), "woof w{i:03}");
    }
}

#[test]
fn a_follow_whose_wait_runs_out_is_answered_empty_and_the_next_one_waits_again() {
    let ns = Ns::new();
    ns.create("quiet", 8, 10);
    let proxy = Proxy::start(&[ns.path()], &[]);
    let mut c = connect(&proxy, &ns, "quiet");
    follow(&mut c, 0, 200);
    assert!(data(&mut c).is_empty(), "nothing was put");
    follow(&mut c, 0, 10_000);
    std::thread::sleep(Duration::from_millis(200));
    ns.put("quiet", &5u64.to_le_bytes());
    assert_eq!(data(&mut c), 5u64.to_le_bytes());
}

#[test]
fn clients_that_leave_while_parked_cost_the_others_nothing() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    let proxy = Proxy::start(&[ns.path()], &["--followers", "20"]);
    // Ten follows parked, then their clients gone.
    drop(following(&proxy, &ns, 10, 0));
    let mut stays = following(&proxy, &ns, 5, 0);
    std::thread::sleep(Duration::from_millis(200));
    ns.put("w", &9u64.to_le_bytes());
    for c in &mut stays {
        assert_eq!(data(c), 9u64.to_le_bytes());
    }
    // The gone ones' replies were dropped; their places are free again.
    let mut more = following(&proxy, &ns, 20, 1);
    std::thread::sleep(Duration::from_millis(200));
    ns.put("w", &10u64.to_le_bytes());
    for c in &mut more {
        assert_eq!(data(c), 10u64.to_le_bytes());
    }
}

#[test]
fn a_follow_past_the_limit_is_told_busy_at_once_and_the_parked_ones_stay() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    let proxy = Proxy::start(&[ns.path()], &["--followers", "2"]);
    let mut parked = following(&proxy, &ns, 2, 0);
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = connect(&proxy, &ns, "w");
    follow(&mut extra, 0, 10_000);
    // Refused, not parked: a parked one would be answered (empty) only after 10 s,
    // and without an error.
    let refused = extra
        .recv(Duration::ZERO)
        .expect_err("a third follow past --followers 2");
    assert!(matches!(refused.kind(), woof::ErrorKind::Full), "{refused}");
    assert!(refused.to_string().contains("too busy; retry"), "{refused}");
    ns.put("w", &3u64.to_le_bytes());
    for c in &mut parked {
        assert_eq!(data(c), 3u64.to_le_bytes());
    }
}

#[test]
fn parked_follows_and_their_connections_cost_the_proxy_a_few_kilobytes_each() {
    // The same count through a libzmq ROUTER cost about 28 kB a connection.
    const CLIENTS: usize = 300;
    raise_files();
    let ns = Ns::new();
    ns.create("w", 8, 10);
    let proxy = Proxy::start(&[ns.path()], &["--timeout", "30s"]);
    let pid = proxy.run.child.id();
    // One follower first: the parker thread and the buffers every follow shares.
    let mut first = following(&proxy, &ns, 1, 0);
    std::thread::sleep(Duration::from_millis(300));
    let (before, _) = rss_threads(pid);
    let mut clients = following(&proxy, &ns, CLIENTS, 0);
    std::thread::sleep(Duration::from_millis(500));
    let (after, threads) = rss_threads(pid);
    let per_client = after.saturating_sub(before) * 1024 / CLIENTS as u64;
    assert!(
        per_client <= 8 * 1024,
        "proxy RSS grew {per_client} bytes a parked follow ({before} kB → {after} kB)"
    );
    assert!(threads <= 16, "proxy has {threads} threads");
    ns.put("w", b"12345678");
    assert_eq!(data(&mut first[0]), b"12345678");
    for c in &mut clients {
        assert_eq!(data(c), b"12345678");
    }
}

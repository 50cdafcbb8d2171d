//! `woof-tail -F`: a follower that outlives what may come back (a woof-proxy that
//! restarts, a woof replaced by `woof-create --force`), losing and repeating
//! nothing, and that still stops for what will not.

use std::time::Duration;

use crate::util;

use util::{Ns, PROMPT, Proxy, Running};

/// Element `i`: its number, zero-padded to 8 bytes.
fn element(i: u64) -> Vec<u8> {
    format!("{i:08}").into_bytes()
}

/// The number in a `--format csv` line (`seqno,put_time,hex`).
fn counter(line: &str) -> u64 {
    let hex = line.rsplit(',').next().unwrap_or("");
    let bytes = util::unhex(hex).unwrap_or_default();
    String::from_utf8_lossy(&bytes).parse().unwrap_or(u64::MAX)
}

#[test]
fn a_remote_follower_with_a_cursor_loses_and_repeats_nothing_across_proxy_restarts() {
    let ns = Ns::new();
    ns.create("w", 8, 1000);
    let mut proxy = Proxy::start(&[ns.path()], &["--timeout", "2s"]);
    let listen = format!("tcp://{}", proxy.authority());
    let uri = proxy.uri(ns.path(), "w");
    let cursor = ns.path().join("fwd.cur");
    let mut cmd = util::bare_std("woof-tail");
    cmd.args(["-F", &uri, "--format", "csv", "--timeout", "1s", "--cursor"])
        .arg(&cursor);
    let tail = Running::spawn(cmd);
    let mut next = 1;
    let mut seen = Vec::new();
    for round in 0..3 {
        for _ in 0..5 {
            assert_eq!(ns.put("w", &element(next)), next);
            next += 1;
        }
        while (seen.len() as u64) < next - 1 {
            seen.push(counter(&tail.line(PROMPT)));
        }
        // SIGKILL the proxy; put while it is down; start it again on the same port.
        proxy.run.kill_and_drain();
        for _ in 0..5 {
            assert_eq!(ns.put("w", &element(next)), next);
            next += 1;
        }
        if round == 1 {
            // Down for longer than the client's timeout: the follower keeps trying.
            std::thread::sleep(Duration::from_millis(2500));
        }
        proxy = Proxy::start_on(ns.path(), &listen);
        while (seen.len() as u64) < next - 1 {
            seen.push(counter(&tail.line(Duration::from_secs(20))));
        }
    }
    let want: Vec<u64> = (1..next).collect();
    assert_eq!(seen, want, "every element once, in order");
    assert!(
        tail.try_line(Duration::from_millis(300)).is_none(),
        "nothing repeated"
    );
    let stored = std::fs::read_to_string(&cursor).expect("cursor");
    assert_eq!(stored.trim(), (next - 1).to_string());
    let said = tail.stderr_text();
    assert!(said.contains("retrying"), "{said}");
    assert!(said.contains("following again"), "{said}");
}

#[test]
fn a_local_follower_follows_a_woof_replaced_under_its_name_from_its_start() {
    let ns = Ns::new();
    ns.create("w", 8, 100);
    for i in 1..=3 {
        ns.put("w", &element(i));
    }
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args(["-F", "w", "--format", "csv"]);
    let tail = Running::spawn(cmd);
    let first: Vec<u64> = (0..3).map(|_| counter(&tail.line(PROMPT))).collect();
    assert_eq!(first, [1, 2, 3]);
    // A new woof under the name: its elements come, from its seqno 1.
    ns.cmd("woof-create")
        .args(["w", "-s", "8", "-n", "100", "--force"])
        .assert()
        .success();
    ns.put("w", &element(101));
    ns.put("w", &element(102));
    let line = tail.line(PROMPT);
    assert!(line.starts_with("1,"), "{line}");
    assert_eq!(counter(&line), 101);
    assert_eq!(counter(&tail.line(PROMPT)), 102);
    assert!(
        tail.stderr_text().contains("replaced"),
        "{}",
        tail.stderr_text()
    );
}

#[test]
fn a_follower_stops_when_the_woof_comes_back_in_another_shape() {
    let ns = Ns::new();
    ns.create("w", 8, 100);
    ns.put("w", &element(1));
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args(["-F", "w", "--format", "csv"]);
    let mut tail = Running::spawn(cmd);
    assert_eq!(counter(&tail.line(PROMPT)), 1);
    ns.cmd("woof-create")
        .args(["w", "-s", "16", "-n", "100", "--force"])
        .assert()
        .success();
    let (status, _) = tail.finish(PROMPT);
    assert_eq!(status.code(), Some(65));
    assert!(
        tail.stderr_text()
            .contains("w: now a woof of another shape (8-byte elements before, 16 now"),
        "{}",
        tail.stderr_text()
    );
}

#[test]
fn plain_f_still_exits_69_when_the_proxy_goes_away() {
    let ns = Ns::new();
    ns.create("w", 8, 100);
    let mut proxy = Proxy::start(&[ns.path()], &[]);
    let uri = proxy.uri(ns.path(), "w");
    let mut cmd = util::bare_std("woof-tail");
    cmd.args(["-f", &uri, "--format", "csv", "--timeout", "1s"]);
    let mut tail = Running::spawn(cmd);
    ns.put("w", &element(1));
    assert_eq!(counter(&tail.line(PROMPT)), 1);
    proxy.run.kill_and_drain();
    let (status, _) = tail.finish(Duration::from_secs(30));
    assert_eq!(status.code(), Some(69), "{}", tail.stderr_text());
}

#[test]
fn minus_f_gives_up_on_what_will_not_come_back() {
    let ns = Ns::new();
    // A name that can never be a woof: refused at once, not retried.
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args(["-F", "no/such"]);
    let mut tail = Running::spawn(cmd);
    let (status, _) = tail.finish(PROMPT);
    assert_eq!(status.code(), Some(2), "{}", tail.stderr_text());
}

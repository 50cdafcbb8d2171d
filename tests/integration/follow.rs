//! woof-tail: the last N, --after, cursors (new, resumed, across kill -9), eviction
//! warnings, and -f following new puts as they happen.
//!
//! Followers run as children whose stdout lines arrive on a channel; every wait is
//! bounded (`PROMPT`), and children are SIGKILLed in `Drop`.

use crate::util;

use std::collections::BTreeMap;
use std::path::Path;

use util::{CsvLine, Ns, PROMPT, Rng, Running, fails, hex};

fn element(i: u64) -> Vec<u8> {
    format!("el{i:06}").into_bytes()
}

/// `woof-tail` with `args` on woof `t`, csv output, running.
fn follower(ns: &Ns, args: &[&str]) -> Running {
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.arg("t").args(["--format", "csv"]).args(args);
    Running::spawn(cmd)
}

fn seqnos(out: &str) -> Vec<u64> {
    out.lines().map(|l| CsvLine::parse(l).seqno).collect()
}

fn cursor_value(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn tail_out(ns: &Ns, args: &[&str]) -> String {
    String::from_utf8(util::ok_stdout(
        ns.cmd("woof-tail")
            .arg("t")
            .args(["--format", "csv"])
            .args(args),
    ))
    .expect("utf8")
}

fn ns_with(n: u64, history: u64) -> Ns {
    let ns = Ns::new();
    ns.create("t", 8, history);
    if n > 0 {
        let data: Vec<u8> = (1..=n).flat_map(element).collect();
        assert_eq!(ns.put_batch("t", &data), (1, n));
    }
    ns
}

#[test]
fn tail_prints_the_last_ten_by_default_and_the_last_n_on_request() {
    let ns = ns_with(25, 100);
    assert_eq!(seqnos(&tail_out(&ns, &[])), (16..=25).collect::<Vec<_>>());
    assert_eq!(seqnos(&tail_out(&ns, &["-n", "3"])), [23, 24, 25]);
    assert_eq!(seqnos(&tail_out(&ns, &["-n", "0"])), Vec::<u64>::new());
    // Asking for more than the woof holds is not an error.
    assert_eq!(seqnos(&tail_out(&ns, &["-n", "1000"])).len(), 25);
    let lines: Vec<CsvLine> = tail_out(&ns, &["-n", "2"])
        .lines()
        .map(CsvLine::parse)
        .collect();
    assert_eq!(lines[0].data, element(24));
    assert_eq!(lines[1].data, element(25));
}

#[test]
fn tail_of_an_empty_woof_prints_nothing() {
    let ns = ns_with(0, 10);
    assert_eq!(tail_out(&ns, &[]), "");
}

#[test]
fn tail_after_starts_right_after_the_seqno() {
    let ns = ns_with(12, 100);
    assert_eq!(seqnos(&tail_out(&ns, &["--after", "9"])), [10, 11, 12]);
    assert_eq!(seqnos(&tail_out(&ns, &["--after", "0"])).len(), 12);
    assert_eq!(tail_out(&ns, &["--after", "12"]), "");
    // Beyond the latest: a warning (was the woof re-created?), nothing printed.
    ns.cmd("woof-tail")
        .args(["t", "--after", "40"])
        .assert()
        .success()
        .stdout("")
        .stderr(
            "woof-tail: t: starting after seqno 40, beyond the latest (12); was the woof re-created?\n",
        );
}

#[test]
fn tail_warns_and_exits_66_when_elements_were_evicted_before_they_were_read() {
    let ns = ns_with(10, 4);
    // --after 2 asks for 3.., but the woof only holds 7..10.
    ns.cmd("woof-tail")
        .args(["t", "--after", "2", "--format", "hex"])
        .assert()
        .code(66)
        .stdout(
            [7, 8, 9, 10]
                .iter()
                .map(|&i| hex(&element(i)) + "\n")
                .collect::<String>(),
        )
        .stderr("woof-tail: t: seqnos 3..6 were evicted before they were read (oldest is 7)\n");
    // One missing element is named alone.
    ns.cmd("woof-tail")
        .args(["t", "--after", "5", "--format", "hex"])
        .assert()
        .code(66)
        .stderr("woof-tail: t: seqno 6 was evicted before it was read (oldest is 7)\n");
    // The same through a cursor: it warns, prints what is left, and moves on.
    let cur = ns.path().join("cur");
    std::fs::write(&cur, "2\n").expect("write cursor");
    ns.cmd("woof-tail")
        .args(["t", "--format", "csv", "--cursor"])
        .arg(&cur)
        .assert()
        .code(66)
        .stderr("woof-tail: t: seqnos 3..6 were evicted before they were read (oldest is 7)\n");
    assert_eq!(cursor_value(&cur), Some(10));
    // Next time nothing was lost.
    ns.cmd("woof-tail")
        .args(["t", "--cursor"])
        .arg(&cur)
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn a_new_cursor_without_n_starts_at_the_oldest_element() {
    let ns = ns_with(8, 5);
    let cur = ns.path().join("cur");
    let out = String::from_utf8(util::ok_stdout(
        ns.cmd("woof-tail")
            .args(["t", "--format", "csv", "--cursor"])
            .arg(&cur),
    ))
    .expect("utf8");
    assert_eq!(seqnos(&out), [4, 5, 6, 7, 8]);
    assert_eq!(std::fs::read_to_string(&cur).expect("cursor"), "8\n");
    // Resuming prints only what is new.
    let data: Vec<u8> = (9..=10).flat_map(element).collect();
    ns.put_batch("t", &data);
    let out = tail_out(&ns, &["--cursor", cur.to_str().expect("utf8 path")]);
    assert_eq!(seqnos(&out), [9, 10]);
    assert_eq!(std::fs::read_to_string(&cur).expect("cursor"), "10\n");
    // A new cursor with -n starts at the last N.
    let cur2 = ns.path().join("cur2");
    let out = tail_out(&ns, &["-n", "2", "--cursor", cur2.to_str().expect("utf8")]);
    assert_eq!(seqnos(&out), [9, 10]);
    assert_eq!(cursor_value(&cur2), Some(10));
}

#[test]
fn an_empty_cursor_file_counts_as_new() {
    let ns = ns_with(3, 10);
    let cur = ns.path().join("cur");
    std::fs::write(&cur, "").expect("write");
    let out = tail_out(&ns, &["--cursor", cur.to_str().expect("utf8")]);
    assert_eq!(seqnos(&out), [1, 2, 3]);
    assert_eq!(cursor_value(&cur), Some(3));
}

#[test]
fn follow_sees_each_new_element() {
    let ns = ns_with(2, 1000);
    let tail = follower(&ns, &["-f"]);
    for s in 1..=2 {
        let l = CsvLine::parse(&tail.line(PROMPT));
        assert_eq!((l.seqno, l.data), (s, element(s)));
    }
    for s in 3..=12 {
        assert_eq!(ns.put("t", &element(s)), s);
        let l = CsvLine::parse(&tail.line(PROMPT));
        assert_eq!((l.seqno, &l.data), (s, &element(s)));
    }
    // A batch arrives whole and in order.
    let data: Vec<u8> = (13..=512).flat_map(element).collect();
    assert_eq!(ns.put_batch("t", &data), (13, 512));
    for s in 13..=512 {
        let l = CsvLine::parse(&tail.line(PROMPT));
        assert_eq!((l.seqno, &l.data), (s, &element(s)));
    }
    assert!(
        tail.try_line(std::time::Duration::from_millis(50))
            .is_none()
    );
    assert_eq!(tail.stderr_text(), "");
}

#[test]
fn follow_in_hex_and_raw_formats() {
    let ns = ns_with(0, 100);
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args(["-f", "t", "--format", "hex"]);
    let tail = Running::spawn(cmd);
    ns.put("t", b"abcdefgh");
    assert_eq!(tail.line(PROMPT), "6162636465666768");
    ns.put("t", b"ijklmnop");
    assert_eq!(tail.line(PROMPT), "696a6b6c6d6e6f70");

    // raw: 8 bytes per element, so newline-terminated elements read as lines.
    // (--after, not -n 0: the put may land before the child has looked.)
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args(["-f", "t", "--format", "raw", "--after", "2"]);
    let raw = Running::spawn(cmd);
    ns.put("t", b"1234567\n");
    assert_eq!(raw.line(PROMPT), "1234567");
}

#[test]
fn a_cursor_resumes_without_loss_or_duplication_across_a_kill() {
    let ns = ns_with(0, 1000);
    let cur = ns.path().join("t.cur");
    let cur_arg = cur.to_str().expect("utf8 path").to_string();
    let mut seen: Vec<u64> = Vec::new();

    // Run 1: follow, one put at a time; after each line the cursor must catch up.
    let mut tail = follower(&ns, &["-f", "--cursor", &cur_arg]);
    for s in 1..=6 {
        ns.put("t", &element(s));
        let l = CsvLine::parse(&tail.line(PROMPT));
        assert_eq!((l.seqno, &l.data), (s, &element(s)));
        seen.push(l.seqno);
        assert!(
            util::wait_until(PROMPT, || cursor_value(&cur) == Some(s)),
            "cursor did not reach {s}: {:?}",
            cursor_value(&cur)
        );
    }
    // kill -9 once the cursor holds the last printed seqno.
    let rest = tail.kill_and_drain();
    assert!(rest.is_empty(), "printed after the last put: {rest:?}");
    drop(tail);

    // Elements put while nobody follows.
    let data: Vec<u8> = (7..=15).flat_map(element).collect();
    assert_eq!(ns.put_batch("t", &data), (7, 15));

    // Run 2 picks up at 7, then follows again.
    let mut tail = follower(&ns, &["-f", "--cursor", &cur_arg]);
    for s in 7..=15 {
        let l = CsvLine::parse(&tail.line(PROMPT));
        assert_eq!((l.seqno, &l.data), (s, &element(s)));
        seen.push(l.seqno);
    }
    ns.put("t", &element(16));
    seen.push(CsvLine::parse(&tail.line(PROMPT)).seqno);
    assert!(util::wait_until(PROMPT, || cursor_value(&cur) == Some(16)));
    assert!(tail.kill_and_drain().is_empty());

    // Run 3, not following: nothing new, nothing repeated.
    assert_eq!(tail_out(&ns, &["--cursor", &cur_arg]), "");
    assert_eq!(seen, (1..=16).collect::<Vec<_>>());
}

/// kill -9 at random moments while elements stream in. A kill can land between
/// writing a batch of lines and storing the cursor (the cursor is stored after the
/// output is flushed, never before), so the next run may repeat the tail of the
/// killed run's last batch — but it must never skip anything, the cursor must never
/// run ahead of what was printed, and the next run starts right after the cursor.
#[test]
fn random_kills_of_a_cursor_follower_lose_nothing() {
    let mut rng = Rng::from_env("random_kills_of_a_cursor_follower_lose_nothing");
    let ns = ns_with(0, 100_000);
    let cur = ns.path().join("t.cur");
    let cur_arg = cur.to_str().expect("utf8 path").to_string();
    let total: u64 = 3000;
    let mut count: BTreeMap<u64, u32> = BTreeMap::new();
    let mut put_so_far = 0u64;
    let mut runs = 0;
    let mut duplicates = 0;
    while put_so_far < total || count.len() < total as usize {
        runs += 1;
        assert!(runs < 200, "no progress after {runs} runs");
        let start_after = cursor_value(&cur).unwrap_or(0);
        let mut tail = follower(&ns, &["-f", "--cursor", &cur_arg]);
        // Put a burst, read a random number of lines, then kill at a random moment.
        let burst = (1 + rng.below(300)).min(total - put_so_far);
        if burst > 0 {
            let data: Vec<u8> = (put_so_far + 1..=put_so_far + burst)
                .flat_map(element)
                .collect();
            ns.put_batch("t", &data);
            put_so_far += burst;
        }
        let available = put_so_far - start_after;
        let want = if put_so_far == total {
            available // the last runs drain everything
        } else {
            rng.below(available + 1)
        };
        let mut printed = Vec::new();
        for _ in 0..want {
            printed.push(tail.line(PROMPT));
        }
        std::thread::sleep(std::time::Duration::from_micros(rng.below(2000)));
        printed.extend(tail.kill_and_drain());
        let got: Vec<u64> = printed.iter().map(|l| CsvLine::parse(l).seqno).collect();
        // Each run starts right after the cursor it found and prints in order.
        let expect: Vec<u64> = (start_after + 1..=start_after + got.len() as u64).collect();
        assert_eq!(got, expect, "run {runs} started after {start_after}");
        for l in &printed {
            let l = CsvLine::parse(l);
            assert_eq!(l.data, element(l.seqno));
        }
        // The cursor never claims more than was printed.
        let stored = cursor_value(&cur).unwrap_or(0);
        let last = got.last().copied().unwrap_or(start_after);
        assert!(
            start_after <= stored && stored <= last,
            "cursor {stored} outside [{start_after}, {last}]"
        );
        duplicates += last - stored;
        for s in got {
            *count.entry(s).or_default() += 1;
        }
    }
    assert_eq!(count.len() as u64, total);
    assert_eq!(
        count.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    eprintln!("{runs} runs killed, {duplicates} elements printed again after a kill");
}

#[test]
fn follow_from_a_new_cursor_starts_at_the_oldest_then_follows() {
    let ns = ns_with(7, 5);
    let cur = ns.path().join("c");
    let tail = follower(&ns, &["-f", "--cursor", cur.to_str().expect("utf8")]);
    for s in 3..=7 {
        assert_eq!(CsvLine::parse(&tail.line(PROMPT)).seqno, s);
    }
    ns.put("t", &element(8));
    assert_eq!(CsvLine::parse(&tail.line(PROMPT)).seqno, 8);
    assert_eq!(tail.stderr_text(), "");
}

#[test]
fn follow_reports_elements_evicted_before_they_were_read_and_goes_on() {
    let ns = ns_with(10, 4);
    let cur = ns.path().join("c");
    std::fs::write(&cur, "2\n").expect("write");
    let tail = follower(&ns, &["-f", "--cursor", cur.to_str().expect("utf8")]);
    for s in 7..=10 {
        assert_eq!(CsvLine::parse(&tail.line(PROMPT)).seqno, s);
    }
    assert!(util::wait_until(PROMPT, || tail.stderr_text()
        == "woof-tail: t: seqnos 3..6 were evicted before they were read (oldest is 7)\n"));
    ns.put("t", &element(11));
    assert_eq!(CsvLine::parse(&tail.line(PROMPT)).seqno, 11);
}

#[test]
fn follow_of_a_missing_woof_fails_at_once() {
    let ns = Ns::new();
    fails(
        ns.cmd("woof-tail").args(["-f", "nope"]),
        66,
        &format!("woof-tail: nope: no such woof in {}", ns.abs()),
    );
}

#[test]
fn n_plus_n_starts_at_that_seqno_or_the_oldest_held() {
    let ns = ns_with(25, 20); // holds 6..25
    assert_eq!(
        seqnos(&tail_out(&ns, &["-n", "+20"])),
        (20..=25).collect::<Vec<_>>()
    );
    // Gone, or asked from the very start: from the oldest held, without a word.
    assert_eq!(
        seqnos(&tail_out(&ns, &["-n", "+1"])),
        (6..=25).collect::<Vec<_>>()
    );
    assert_eq!(seqnos(&tail_out(&ns, &["-n", "+30"])), Vec::<u64>::new());
    ns.cmd("woof-tail")
        .args(["t", "-n", "+x"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::starts_with(
            "error: invalid value '+x' for '--lines <[+]N>': 'x' is not a number",
        ));
}

#[test]
fn c_stops_after_n_elements_and_w_gives_up_with_75() {
    let ns = ns_with(3, 100);
    // -C counts what is printed first too (here the last 10: 1..3).
    assert_eq!(seqnos(&tail_out(&ns, &["-f", "-C", "2"])), [1, 2]);
    // Following only new ones: the first two puts, then exit 0.
    let mut tail = follower(&ns, &["-f", "--after", "3", "-C", "2"]);
    for i in 4..=6 {
        ns.put("t", &element(i));
    }
    let (status, rest) = tail.finish(PROMPT);
    assert!(status.success(), "{}", tail.stderr_text());
    assert_eq!(seqnos(&rest.join("\n")), [4, 5]);
    // Nothing new within -W: exit 75, saying so.
    fails(
        ns.cmd("woof-tail")
            .args(["t", "-f", "-n", "0", "-W", "300ms"]),
        75,
        "woof-tail: t: no element within 300ms",
    );
    // Bad combinations change nothing.
    fails(
        ns.cmd("woof-tail").args(["t", "-W", "1s"]),
        2,
        "woof-tail: -W needs -f or -F",
    );
    fails(
        ns.cmd("woof-tail").args(["t", "-f", "-C", "0"]),
        2,
        "woof-tail: -C needs at least 1",
    );
}

#[test]
fn w_bounds_a_remote_follow_too() {
    let ns = ns_with(1, 100);
    let proxy = util::Proxy::start(&[ns.path()], &[]);
    let uri = proxy.uri(ns.path(), "t");
    fails(
        util::bare("woof-tail").args(["-f", &uri, "-n", "0", "-W", "500ms"]),
        75,
        &format!("woof-tail: {uri}: no element within 500ms"),
    );
    let out = util::ok_stdout(util::bare("woof-tail").args([
        "-f", &uri, "-n", "1", "-C", "1", "-W", "5s", "--format", "csv",
    ]));
    assert_eq!(seqnos(&String::from_utf8_lossy(&out)), [1]);
}

#[test]
fn until_stops_at_the_first_element_put_after_it() {
    let ns = ns_with(0, 100);
    for i in 1..=3 {
        ns.put("t", &element(i));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let times: Vec<String> = ns
        .get_csv("t", "1..3")
        .into_iter()
        .map(|l| l.time)
        .collect();
    assert_eq!(seqnos(&tail_out(&ns, &["--until", &times[1]])), [1, 2]);
    assert_eq!(
        seqnos(&tail_out(
            &ns,
            &["--since", &times[1], "--until", &times[1]]
        )),
        [2]
    );
    // Following: what comes before the bound is printed; the first element put
    // after it ends the follow (exit 0) without being printed. The bound leaves
    // room for a slow machine to put element 4 before it.
    let bound_ns = util::now_ns() + 2_000_000_000;
    let bound = util::rfc3339(bound_ns);
    let mut tail = follower(&ns, &["-f", "--after", "3", "--until", &bound]);
    ns.put("t", &element(4));
    assert_eq!(CsvLine::parse(&tail.line(PROMPT)).seqno, 4);
    while util::now_ns() <= bound_ns + 10_000_000 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ns.put("t", &element(5));
    let (status, lines) = tail.finish(PROMPT);
    assert!(status.success(), "{}", tail.stderr_text());
    assert!(lines.is_empty(), "element 5 is past the bound: {lines:?}");
}

#[test]
fn several_woofs_local_and_remote_are_followed_at_once_each_line_tagged() {
    let ns = ns_with(0, 100);
    ns.create("u", 4, 10);
    let proxy = util::Proxy::start(&[ns.path()], &[]);
    let remote_u = proxy.uri(ns.path(), "u");
    // t locally, u through the proxy: csv lines get a woof column, hex ones a prefix.
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args([
        "-f", "t", &remote_u, "--format", "csv", "--after", "0", "-C", "2",
    ]);
    let mut tail = Running::spawn(cmd);
    ns.put("t", &element(1));
    ns.put("u", b"abcd");
    ns.put("t", &element(2));
    ns.put("u", b"efgh");
    let (status, lines) = tail.finish(PROMPT);
    assert!(status.success(), "{}", tail.stderr_text());
    let mut t_rows: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("t,"))
        .cloned()
        .collect();
    let mut u_rows: Vec<String> = lines
        .iter()
        .filter(|l| {
            l.starts_with(&format!("{},", remote_u)) || l.starts_with(&format!("\"{remote_u}\","))
        })
        .cloned()
        .collect();
    assert_eq!((t_rows.len(), u_rows.len()), (2, 2), "{lines:?}");
    t_rows.sort();
    u_rows.sort();
    assert!(t_rows[0].ends_with(&hex(&element(1))), "{t_rows:?}");
    assert!(u_rows[1].ends_with(&hex(b"efgh")), "{u_rows:?}");
    // JSON gets a woof member; other formats a prefix.
    let json = tail_out_many(&ns, &["t", "u", "--format", "json"]);
    assert!(
        json.iter()
            .any(|l| l.starts_with("{\"woof\":\"t\",\"seqno\":1,")),
        "{json:?}"
    );
    assert!(
        json.iter()
            .any(|l| l.starts_with("{\"woof\":\"u\",\"seqno\":2,")),
        "{json:?}"
    );
    let hexed = tail_out_many(&ns, &["t", "u", "--format", "hex"]);
    assert!(hexed.contains(&format!("u: {}", hex(b"abcd"))), "{hexed:?}");
}

fn tail_out_many(ns: &Ns, args: &[&str]) -> Vec<String> {
    let out = util::ok_stdout(ns.cmd("woof-tail").args(args));
    String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn several_woofs_end_with_the_first_failure_and_refuse_what_cannot_be_tagged() {
    let ns = ns_with(2, 100);
    ns.cmd("woof-tail")
        .args(["t", "nope", "--format", "csv"])
        .assert()
        .code(66)
        .stdout(predicates::str::contains("t,1,"))
        .stderr(format!("woof-tail: nope: no such woof in {}\n", ns.abs()));
    fails(
        ns.cmd("woof-tail").args(["t", "t", "--format", "raw"]),
        2,
        "woof-tail: --format raw cannot tag several woofs' elements (try hex, text or csv)",
    );
    fails(
        ns.cmd("woof-tail").args(["t", "t", "--cursor", "c"]),
        2,
        "woof-tail: --cursor resumes one woof: give one name",
    );
}

//! Basic behaviour of woof-create, woof-put and woof-get through the real binaries:
//! round trips in every output format, --info, --lines/--batch output, a closed
//! stdout pipe, the namespace from WOOF_NAMESPACE, and live forwarding through a
//! `woof-tail -f | woof-put --batch` pipeline.

use crate::util;

use std::io::{Read, Write};
use std::process::Stdio;

use util::{CsvLine, Guard, Ns, PROMPT, fails, hex, rfc3339, wait_until};

/// 22 bytes with NUL, 0xff and control bytes: two rows in a dump.
const DATA: &[u8] = b"hello\x00\xffworld\x01\x02\x03\x04ABCDEF";

fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    String::from_utf8(
        cmd.assert()
            .success()
            .stderr("")
            .get_output()
            .stdout
            .clone(),
    )
    .expect("utf8 output")
}

#[test]
fn independent_time_formatter_agrees_with_a_known_value() {
    assert_eq!(
        rfc3339(1_763_793_000_123_456_789),
        "2025-11-22T06:30:00.123456789Z"
    );
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
    assert_eq!(
        rfc3339(951_782_400_000_000_001),
        "2000-02-29T00:00:00.000000001Z"
    );
}

#[test]
fn one_element_round_trips_in_every_format() {
    let ns = Ns::new();
    ns.create("t", DATA.len() as u64, 10);
    let before = util::now_ns();
    assert_eq!(ns.put("t", DATA), 1);
    let after = util::now_ns();

    // raw, explicitly and as the default on a pipe; seqno 0 and no seqno = latest.
    for args in [
        vec!["t", "1", "--format", "raw"],
        vec!["t", "1"],
        vec!["t", "0"],
        vec!["t"],
    ] {
        ns.cmd("woof-get")
            .args(&args)
            .assert()
            .success()
            .stderr("")
            .stdout(DATA);
    }

    // hex
    assert_eq!(
        stdout_of(ns.cmd("woof-get").args(["t", "1", "--format", "hex"])),
        "68656c6c6f00ff776f726c6401020304414243444546\n"
    );

    // json: the put time in ns lies within the put, and its text form matches.
    let json = stdout_of(ns.cmd("woof-get").args(["t", "1", "--format", "json"]));
    let rest = json
        .strip_prefix("{\"seqno\":1,\"put_time\":\"")
        .unwrap_or_else(|| panic!("json: {json}"));
    let (time, rest) = rest.split_once("\",\"put_time_ns\":").expect("put_time_ns");
    let (ns_text, rest) = rest.split_once(",\"hex\":\"").expect("hex field");
    assert_eq!(rest, format!("{}\"}}\n", hex(DATA)));
    let put_ns: u64 = ns_text.parse().expect("put_time_ns is a number");
    assert!(
        before <= put_ns && put_ns <= after,
        "put time {put_ns} outside [{before}, {after}]"
    );
    assert_eq!(time, rfc3339(put_ns));

    // csv: same seqno, same time, same bytes.
    let csv = stdout_of(ns.cmd("woof-get").args(["t", "1", "--format", "csv"]));
    assert_eq!(csv, format!("1,{time},{}\n", hex(DATA)));
    assert_eq!(
        CsvLine::parse(csv.trim_end()),
        CsvLine {
            seqno: 1,
            time: time.to_string(),
            data: DATA.to_vec()
        }
    );

    // dump: a heading, then hexdump -C style rows.
    let dump = stdout_of(ns.cmd("woof-get").args(["t", "1", "--format", "dump"]));
    let expected = format!(
        "seqno 1  put {time}  22 bytes\n\
         00000000  68 65 6c 6c 6f 00 ff 77  6f 72 6c 64 01 02 03 04  |hello..world....|\n\
         00000010  41 42 43 44 45 46{}|ABCDEF|\n",
        " ".repeat(33)
    );
    assert_eq!(dump, expected);
}

#[test]
fn ranges_print_in_order_in_every_format() {
    let ns = Ns::new();
    ns.create("t", 4, 100);
    assert_eq!(ns.put_batch("t", b"aaaabbbbccccdddd"), (1, 4));
    assert_eq!(
        stdout_of(ns.cmd("woof-get").args(["t", "2..3", "--format", "raw"])),
        "bbbbcccc"
    );
    assert_eq!(ns.get_hex("t", "3.."), ["63636363", "64646464"]);
    let csv = ns.get_csv("t", "1..4");
    assert_eq!(
        csv.iter().map(|l| l.seqno).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(csv[2].data, b"cccc");
    let json = stdout_of(ns.cmd("woof-get").args(["t", "1..4", "--format", "json"]));
    assert_eq!(json.lines().count(), 4);
    for (i, line) in json.lines().enumerate() {
        assert!(
            line.starts_with(&format!("{{\"seqno\":{},", i + 1)),
            "{line}"
        );
        assert!(line.ends_with(&format!("\"hex\":\"{}\"}}", hex(&[b'a' + i as u8; 4]))));
    }
    let dump = stdout_of(ns.cmd("woof-get").args(["t", "1..2", "--format", "dump"]));
    let headings: Vec<_> = dump.lines().filter(|l| l.starts_with("seqno ")).collect();
    assert_eq!(headings.len(), 2);
    assert!(headings[1].starts_with("seqno 2  put ") && headings[1].ends_with("  4 bytes"));
}

#[test]
fn one_shot_puts_print_consecutive_seqnos_and_pad_on_request() {
    let ns = Ns::new();
    ns.create("t", 8, 3);
    assert_eq!(ns.put("t", b"12345678"), 1);
    ns.cmd("woof-put")
        .args(["t", "--pad"])
        .write_stdin("abc")
        .assert()
        .success()
        .stdout("2\n")
        .stderr("");
    ns.cmd("woof-put")
        .args(["t", "--pad"])
        .write_stdin("")
        .assert()
        .success()
        .stdout("3\n");
    assert_eq!(ns.put("t", b"87654321"), 4);
    assert_eq!(
        ns.get_hex("t", "2.."),
        ["6162630000000000", "0000000000000000", "3837363534333231"]
    );
}

#[test]
fn lines_with_pad_print_first_and_last() {
    let ns = Ns::new();
    ns.create("t", 8, 2000);
    let text: String = (1..=1000).map(|i| format!("{i}\n")).collect();
    ns.cmd("woof-put")
        .args(["t", "--lines", "--pad"])
        .write_stdin(text)
        .assert()
        .success()
        .stdout("1..1000\n")
        .stderr("");
    assert_eq!(ns.get_hex("t", "1"), ["3100000000000000"]);
    assert_eq!(
        ns.get_hex("t", "999..1000"),
        ["3939390000000000", "3130303000000000"]
    );
    // The last line counts without a newline; an empty line is a zero element.
    ns.cmd("woof-put")
        .args(["t", "--lines", "--pad"])
        .write_stdin("x\n\nlast")
        .assert()
        .success()
        .stdout("1001..1003\n");
    assert_eq!(
        ns.get_hex("t", "1001.."),
        ["7800000000000000", "0000000000000000", "6c61737400000000"]
    );
    // Empty input puts nothing and prints nothing.
    ns.cmd("woof-put")
        .args(["t", "--lines", "--pad"])
        .write_stdin("")
        .assert()
        .success()
        .stdout("")
        .stderr("");
    assert_eq!(ns.latest("t"), 1003);
}

#[test]
fn batch_prints_first_and_last_and_continues_the_sequence() {
    let ns = Ns::new();
    ns.create("t", 3, 100);
    assert_eq!(ns.put_batch("t", b"aaabbbccc"), (1, 3));
    assert_eq!(ns.put("t", b"ddd"), 4);
    assert_eq!(ns.put_batch("t", b"eeefff"), (5, 6));
    assert_eq!(
        stdout_of(ns.cmd("woof-get").args(["t", "1..6", "--format", "raw"])),
        "aaabbbcccdddeeefff"
    );
    ns.cmd("woof-put")
        .args(["t", "--batch"])
        .write_stdin("")
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn durability_modes_are_accepted_and_shown() {
    let ns = Ns::new();
    for mode in ["none", "batch", "always"] {
        let name = format!("d-{mode}");
        ns.cmd("woof-create")
            .args([&name, "-s", "4", "-n", "16", "--durability", mode])
            .assert()
            .success();
        assert_eq!(ns.info_field(&name, "durability"), mode);
        assert_eq!(ns.put(&name, b"abcd"), 1);
        for per_put in ["none", "batch", "always"] {
            ns.cmd("woof-put")
                .args([&name, "--durability", per_put])
                .write_stdin("efgh")
                .assert()
                .success()
                .stderr("");
            ns.cmd("woof-put")
                .args([&name, "--batch", "--durability", per_put])
                .write_stdin("ijklmnop")
                .assert()
                .success()
                .stderr("");
        }
        assert_eq!(ns.latest(&name), 1 + 3 * 3);
        assert_eq!(ns.get_hex(&name, "10"), ["6d6e6f70"]);
    }
}

#[test]
fn info_describes_the_woof() {
    let ns = Ns::new();
    let before = util::now_ns();
    ns.create("t", 64, 1000);
    let after = util::now_ns();
    let text = stdout_of(ns.cmd("woof-get").args(["t", "--info"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert_eq!(lines[0], "name:         t");
    assert_eq!(lines[1], "element size: 64 bytes");
    assert_eq!(lines[2], "history:      1000");
    assert_eq!(lines[3], "latest:       0");
    assert_eq!(lines[4], "oldest:       -");
    assert_eq!(lines[5], "durability:   none");
    let created = lines[6].strip_prefix("created:      ").expect("created");
    assert!(util::is_rfc3339_nanos(created), "{created}");
    assert!(
        rfc3339(before).as_str() <= created && created <= rfc3339(after).as_str(),
        "created {created} not within the create"
    );
    // 4096-byte header + 1000 slots of 24 + 64 bytes.
    assert_eq!(lines[7], "file size:    92096 bytes");
    assert_eq!(std::fs::metadata(ns.file("t")).expect("stat").len(), 92096);

    let text: String = (1..=1002).map(|i| format!("{i}\n")).collect();
    ns.put_lines("t", &text);
    assert_eq!(ns.info_field("t", "latest"), "1002");
    assert_eq!(ns.info_field("t", "oldest"), "3");

    let json = stdout_of(ns.cmd("woof-get").args(["t", "--info", "--format", "json"]));
    let expected_start = "{\"name\":\"t\",\"element_size\":64,\"history\":1000,\"latest\":1002,\
                          \"oldest\":3,\"durability\":\"none\",\"created\":\"";
    assert!(json.starts_with(expected_start), "{json}");
    assert!(
        json.ends_with(",\"file_size\":92096,\"schema\":null}\n"),
        "{json}"
    );
    assert!(
        json.contains(&format!("\"created\":\"{created}\"")),
        "{json}"
    );
}

#[test]
fn a_closed_stdout_pipe_is_a_quiet_success() {
    let ns = Ns::new();
    ns.create("big", 8, 100_000);
    let text: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
    assert_eq!(ns.put_lines("big", &text), (1, 100_000));
    // Like `woof-get big 1..100000 | head -c 10`: 800 kB does not fit in a pipe, so
    // the tool is still writing when the reader goes away.
    for (bin, args) in [
        ("woof-get", vec!["big", "1..100000", "--format", "raw"]),
        ("woof-get", vec!["big", "1..", "--format", "csv"]),
        ("woof-tail", vec!["big", "-n", "100000", "--format", "hex"]),
    ] {
        let mut cmd = ns.std_cmd(bin);
        cmd.args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = Guard(cmd.spawn().expect("spawn"));
        let mut out = child.0.stdout.take().expect("stdout");
        let mut head = [0u8; 10];
        out.read_exact(&mut head).expect("first 10 bytes");
        drop(out);
        let status = util::wait_bounded(&mut child.0, util::TIMEOUT, bin);
        let mut err = String::new();
        child
            .0
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("stderr");
        assert_eq!(status.code(), Some(0), "{bin} {args:?}: {status:?}, {err}");
        assert_eq!(err, "", "{bin} {args:?}");
    }
}

#[test]
fn a_follower_whose_reader_goes_away_exits_quietly_at_the_next_element() {
    let ns = Ns::new();
    ns.create("t", 8, 100);
    ns.put("t", b"11111111");
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args(["-f", "t", "--format", "hex"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard(cmd.spawn().expect("spawn"));
    let mut out = child.0.stdout.take().expect("stdout");
    let mut line = [0u8; 17];
    out.read_exact(&mut line).expect("first line");
    assert_eq!(&line, b"3131313131313131\n");
    drop(out);
    ns.put("t", b"22222222");
    let status = util::wait_bounded(&mut child.0, PROMPT, "woof-tail -f");
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
}

#[test]
fn the_namespace_comes_from_woof_namespace_when_n_is_absent() {
    let ns = Ns::new();
    let elsewhere = Ns::new();
    // No -N: WOOF_NAMESPACE names the directory; the current directory is elsewhere.
    util::bare("woof-create")
        .env("WOOF_NAMESPACE", ns.path())
        .current_dir(elsewhere.path())
        .args(["t", "-s", "4", "-n", "8"])
        .assert()
        .success();
    assert!(ns.file("t").is_file());
    assert!(elsewhere.listing().is_empty());
    util::bare("woof-put")
        .env("WOOF_NAMESPACE", ns.path())
        .current_dir(elsewhere.path())
        .arg("t")
        .write_stdin("wxyz")
        .assert()
        .success()
        .stdout("1\n");
    util::bare("woof-get")
        .env("WOOF_NAMESPACE", ns.path())
        .current_dir(elsewhere.path())
        .args(["t", "--format", "hex"])
        .assert()
        .success()
        .stdout("7778797a\n");
    util::bare("woof-tail")
        .env("WOOF_NAMESPACE", ns.path())
        .current_dir(elsewhere.path())
        .args(["t", "--format", "hex"])
        .assert()
        .success()
        .stdout("7778797a\n");
    // -N wins over WOOF_NAMESPACE.
    util::bare("woof-get")
        .env("WOOF_NAMESPACE", ns.path())
        .arg("-N")
        .arg(elsewhere.path())
        .arg("t")
        .assert()
        .code(66)
        .stderr(format!(
            "woof-get: t: no such woof in {}\n",
            elsewhere.abs()
        ));
    // Neither: the current directory.
    util::bare("woof-get")
        .current_dir(ns.path())
        .args(["t", "--format", "hex"])
        .assert()
        .success()
        .stdout("7778797a\n");
    fails(
        util::bare("woof-get")
            .current_dir(elsewhere.path())
            .arg("t"),
        66,
        &format!("woof-get: t: no such woof in {}", elsewhere.abs()),
    );
}

#[test]
fn live_forwarding_through_a_pipeline_moves_each_element_as_it_arrives() {
    // woof-tail -f A --format raw | woof-put --batch -N other A
    let a = Ns::new();
    let b = Ns::new();
    a.create("t", 8, 100);
    b.create("t", 8, 100);
    let mut tail = a.std_cmd("woof-tail");
    tail.args(["-f", "t", "--format", "raw"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut tail = Guard(tail.spawn().expect("spawn woof-tail"));
    let pipe = tail.0.stdout.take().expect("tail stdout");
    let mut put = util::bare_std("woof-put");
    put.args(["--batch", "-N"])
        .arg(b.path())
        .arg("t")
        .stdin(pipe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut put = Guard(put.spawn().expect("spawn woof-put"));
    for i in 1..=5u64 {
        let data = format!("element{i}");
        assert_eq!(a.put("t", data.as_bytes()), i);
        assert!(
            wait_until(PROMPT, || b.latest("t") == i),
            "element {i} was not forwarded while the pipeline ran (b has {})",
            b.latest("t")
        );
        assert!(
            put.0.try_wait().expect("try_wait").is_none(),
            "woof-put exited"
        );
        assert!(
            tail.0.try_wait().expect("try_wait").is_none(),
            "woof-tail exited"
        );
        assert_eq!(b.get_hex("t", &i.to_string()), [hex(data.as_bytes())]);
    }
    // End of the stream: the tail dies, the batch put sees EOF and reports.
    util::sigkill(&tail.0);
    let status = util::wait_bounded(&mut put.0, PROMPT, "woof-put --batch");
    let mut out = String::new();
    put.0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert!(status.success(), "{status:?}");
    assert_eq!(out, "1..5\n");
}

#[test]
fn batch_puts_each_element_as_soon_as_it_arrives() {
    let ns = Ns::new();
    ns.create("t", 4, 100);
    let mut cmd = ns.std_cmd("woof-put");
    cmd.args(["t", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard(cmd.spawn().expect("spawn"));
    let mut stdin = child.0.stdin.take().expect("stdin");
    // Half an element is held back; a whole one goes in at once.
    stdin.write_all(b"ab").expect("write");
    stdin.flush().expect("flush");
    stdin.write_all(b"cdef").expect("write");
    stdin.flush().expect("flush");
    assert!(wait_until(PROMPT, || ns.latest("t") == 1), "not put live");
    assert_eq!(ns.get_hex("t", "1"), ["61626364"]);
    stdin.write_all(b"gh").expect("write");
    assert!(wait_until(PROMPT, || ns.latest("t") == 2), "not put live");
    drop(stdin);
    let status = util::wait_bounded(&mut child.0, PROMPT, "woof-put --batch");
    assert!(status.success());
    let mut out = String::new();
    child
        .0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert_eq!(out, "1..2\n");
    assert_eq!(ns.get_hex("t", "1..2"), ["61626364", "65666768"]);
}

#[test]
fn every_tool_has_help_with_examples() {
    for bin in [
        "woof-create",
        "woof-put",
        "woof-get",
        "woof-tail",
        "woof-ls",
    ] {
        let help = stdout_of(util::bare(bin).arg("--help"));
        assert!(help.contains("Examples:"), "{bin} --help lacks examples");
        assert!(help.contains("--namespace"), "{bin} --help lacks -N");
    }
}

#[test]
fn sizes_and_histories_take_unit_suffixes() {
    let ns = Ns::new();
    ns.cmd("woof-create")
        .args(["k", "-s", "1K", "-n", "2K"])
        .assert()
        .success();
    assert_eq!(ns.info_field("k", "element size"), "1024 bytes");
    assert_eq!(ns.info_field("k", "history"), "2048");
    ns.cmd("woof-create")
        .args(["d", "-s", "1kB", "-n", "1kB"])
        .assert()
        .success();
    assert_eq!(ns.info_field("d", "element size"), "1000 bytes");
    assert_eq!(ns.info_field("d", "history"), "1000");
    let before = ns.snapshot();
    ns.cmd("woof-create")
        .args(["x", "-s", "1.5K", "-n", "10"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::starts_with(
            "error: invalid value '1.5K' for '--element-size <BYTES>': '1.5K' is not a number (digits, then optionally K, M, G, T for ×1024 or kB, MB, GB, TB for ×1000)\n",
        ));
    assert_eq!(ns.snapshot(), before, "nothing created");
}

#[test]
fn lines_from_a_crlf_file_lose_the_cr() {
    let ns = Ns::new();
    ns.create("t", 4, 10);
    assert_eq!(ns.put_lines("t", "ab\r\ncd\r\nef"), (1, 3));
    assert_eq!(
        ns.get_hex("t", "1..3"),
        [hex(b"ab\0\0"), hex(b"cd\0\0"), hex(b"ef\0\0")]
    );
}

#[test]
fn an_interrupted_ingest_says_what_it_put_and_where_to_resume() {
    use std::os::unix::process::ExitStatusExt;
    // Batch durability waits in a poll between reads (to sync a stalled input):
    // the signal must end that wait too.
    for (signal, name, durability) in [
        (nix::sys::signal::Signal::SIGINT, "SIGINT", "none"),
        (nix::sys::signal::Signal::SIGTERM, "SIGTERM", "batch"),
    ] {
        let ns = Ns::new();
        ns.create("t", 8, 100);
        let mut cmd = ns.std_cmd("woof-put");
        cmd.args(["t", "--lines", "--pad", "--durability", durability])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = Guard(cmd.spawn().expect("spawn woof-put"));
        let mut input = child.0.stdin.take().expect("stdin");
        input.write_all(b"one\ntwo\nthree\n").expect("write");
        input.flush().expect("flush");
        assert!(
            wait_until(PROMPT, || ns.latest("t") == 3),
            "three lines put"
        );
        // It waits for more input; the signal stops it there.
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.0.id() as i32), signal)
            .expect("kill");
        let status = util::wait_bounded(&mut child.0, PROMPT, "woof-put");
        assert_eq!(status.signal(), Some(signal as i32), "dies of {name}");
        let mut out = String::new();
        let mut err = String::new();
        child
            .0
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("read");
        child
            .0
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("read");
        assert_eq!(out, "1..3\n");
        assert_eq!(
            err,
            format!("woof-put: t: interrupted by {name} before line 4; put 1..3\n")
        );
        drop(input);
    }
}

#[test]
fn a_woof_larger_than_the_free_space_is_refused_unless_yes() {
    let ns = Ns::new();
    // 16 383 elements of 64 MiB: just under the 1 TiB a woof may take, and more
    // than this file system has free (checked, so the test cannot pass vacuously).
    let df = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(ns.path())
        .output()
        .expect("df");
    let free: u64 = String::from_utf8_lossy(&df.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df's free bytes");
    let need = 4096 + 16_383 * (64 * 1024 * 1024 + 24);
    assert!(
        need > free,
        "this test needs less than 1 TiB free under /tmp"
    );
    let before = ns.snapshot();
    ns.cmd("woof-create")
        .args(["big", "-s", "64M", "-n", "16383"])
        .assert()
        .code(73)
        .stdout("")
        .stderr(predicates::str::starts_with(
            "woof-create: big: needs 1023.9 GiB on disk, and ",
        ))
        .stderr(predicates::str::ends_with(format!(
            " is free in {} (--yes creates it anyway)\n",
            ns.path().display()
        )));
    assert_eq!(ns.snapshot(), before, "nothing created");
    // --yes tries, and the file system says no: still nothing left behind.
    ns.cmd("woof-create")
        .args(["big", "-s", "64M", "-n", "16383", "--yes"])
        .assert()
        .failure();
    assert_eq!(ns.snapshot(), before, "nothing left behind");
}

#[test]
fn on_a_terminal_woof_create_says_how_much_disk_the_woof_takes() {
    let ns = Ns::new();
    // `script` gives the command a terminal; on a pipe it says nothing (other tests).
    let cmd = format!(
        "{} -N {} t -s 1K -n 1K",
        util::exe("woof-create"),
        ns.path().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .output()
        .expect("script (util-linux)");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
        "woof-create: t: 1.0 MiB on disk (1024 elements of 1024 bytes)\n"
    );
}

#[test]
fn since_and_until_select_by_put_time_locally_and_remotely() {
    let ns = Ns::new();
    ns.create("t", 8, 100);
    for i in 1..=5u8 {
        ns.put("t", &[i; 8]);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The put times, as woof-get prints them (RFC 3339, ns).
    let times: Vec<String> = ns
        .get_csv("t", "1..5")
        .into_iter()
        .map(|l| l.time)
        .collect();
    let seqnos = |args: &[&str]| -> Vec<u64> {
        let out = stdout_of(
            ns.cmd("woof-get")
                .arg("t")
                .args(["--format", "csv"])
                .args(args),
        );
        out.lines().map(|l| CsvLine::parse(l).seqno).collect()
    };
    assert_eq!(seqnos(&["--since", &times[1]]), [2, 3, 4, 5]);
    assert_eq!(seqnos(&["--until", &times[2]]), [1, 2, 3]);
    assert_eq!(
        seqnos(&["--since", &times[1], "--until", &times[3]]),
        [2, 3, 4]
    );
    assert_eq!(seqnos(&["--since", &times[4], "--until", &times[4]]), [5]);
    assert_eq!(seqnos(&["--since", "-1h"]), [1, 2, 3, 4, 5]);
    assert_eq!(
        seqnos(&["--since", "yesterday", "--until", "now"]),
        [1, 2, 3, 4, 5]
    );
    // A window with nothing in it: nothing printed, and no error.
    assert_eq!(seqnos(&["--until", "2000-01-01"]), Vec::<u64>::new());
    assert_eq!(seqnos(&["--since", "+1h"]), Vec::<u64>::new());
    // woof-tail starts there.
    let out = stdout_of(
        ns.cmd("woof-tail")
            .args(["t", "--format", "csv", "--since", &times[3]]),
    );
    let tailed: Vec<u64> = out.lines().map(|l| CsvLine::parse(l).seqno).collect();
    assert_eq!(tailed, [4, 5]);
    // Through a proxy: the same search, one get per step.
    let proxy = util::Proxy::start(&[ns.path()], &[]);
    let uri = proxy.uri(ns.path(), "t");
    let out = stdout_of(util::bare("woof-get").args([
        &uri, "--format", "csv", "--since", &times[2], "--until", &times[3],
    ]));
    let remote: Vec<u64> = out.lines().map(|l| CsvLine::parse(l).seqno).collect();
    assert_eq!(remote, [3, 4]);
    // Mistakes.
    fails(
        ns.cmd("woof-get").args(["t", "1..3", "--since", "-1h"]),
        2,
        "woof-get: give a seqno or range, or --since/--until, not both",
    );
    ns.cmd("woof-get")
        .args(["t", "--since", "1733212800000"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "'1733212800000' would be after the year 5000 as Unix seconds; milliseconds? (1733212800)",
        ));
}

#[test]
fn times_without_an_offset_are_local_unless_utc() {
    // A POSIX TZ (no tz database needed): 5 h 30 east of UTC, no DST.
    const TZ: &str = "IST-5:30";
    let ns = Ns::new();
    ns.create("t", 8, 10);
    ns.put("t", &[1; 8]);
    let local = stdout_of(ns.cmd("woof-get").env("TZ", TZ).args([
        "t",
        "--format",
        "csv",
        "--time-format",
        "local",
    ]));
    // seqno,put_time,hex with the put time in that zone.
    let when = local.split(',').nth(1).expect("a put time").to_string();
    assert!(when.ends_with("+05:30") && when.len() == 35, "{when}");
    // The minute of the put, as a person there reads a clock: `YYYY-MM-DD HH:MM`.
    let minute = format!("{} {}", &when[..10], &when[11..16]);
    let seqnos = |args: &[&str]| -> Vec<u64> {
        let out = stdout_of(
            ns.cmd("woof-get")
                .env("TZ", TZ)
                .args(["t", "--format", "csv"])
                .args(args),
        );
        out.lines().map(|l| CsvLine::parse(l).seqno).collect()
    };
    assert_eq!(seqnos(&["--since", &minute]), [1]);
    assert_eq!(seqnos(&["--since", "today"]), [1]);
    // The same words in UTC are 5 h 30 later: after the put.
    assert_eq!(seqnos(&["--since", &minute, "--utc"]), Vec::<u64>::new());
    assert_eq!(seqnos(&["--until", &minute, "--utc"]), [1]);
    // woof-tail reads them the same way.
    let tailed = stdout_of(
        ns.cmd("woof-tail")
            .env("TZ", TZ)
            .args(["t", "--format", "csv", "--utc", "--since", &minute]),
    );
    assert_eq!(tailed, "");
    fails(
        ns.cmd("woof-get")
            .args(["t", "--utc", "--time-format", "local"]),
        2,
        "woof-get: --utc and --time-format local ask for two zones: give one",
    );
}

#[test]
fn time_format_applies_to_info_too() {
    let ns = Ns::new();
    ns.create("t", 8, 10);
    let json = stdout_of(ns.cmd("woof-get").args(["t", "--info", "--format", "json"]));
    let created_ns: u64 = json
        .split("\"created_ns\":")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .expect("created_ns");
    assert!(
        json.contains(&format!("\"created\":\"{}\"", rfc3339(created_ns))),
        "{json}"
    );
    let text = stdout_of(
        ns.cmd("woof-get")
            .args(["t", "--info", "--time-format", "unix-ns"]),
    );
    assert!(
        text.contains(&format!("created:      {created_ns}\n")),
        "{text}"
    );
    let json = stdout_of(ns.cmd("woof-get").args([
        "t",
        "--info",
        "--format",
        "json",
        "--time-format",
        "unix-ns",
    ]));
    assert!(
        json.contains(&format!("\"created\":{created_ns},")),
        "{json}"
    );
}

#[test]
fn time_format_local_prints_the_system_zone_with_its_offset() {
    let ns = Ns::new();
    ns.create("t", 8, 10);
    ns.put("t", b"12345678");
    let utc = ns.get_csv("t", "1").remove(0).time;
    let ns_since_epoch: i64 = stdout_of(ns.cmd("woof-get").args(["t", "1", "--format", "%T"]))
        .trim()
        .parse()
        .expect("ns");
    // Fixed-offset POSIX zones: no tz database needed.
    for (tz, hours, sign) in [("XST-3", 3i64, '+'), ("YST+5", -5, '-')] {
        let out = stdout_of(ns.cmd("woof-get").env("TZ", tz).args([
            "t",
            "1",
            "--format",
            "csv",
            "--time-format",
            "local",
        ]));
        let shifted = rfc3339((ns_since_epoch + hours * 3_600_000_000_000) as u64);
        let want = format!(
            "{}{sign}{:02}:00",
            shifted.trim_end_matches('Z'),
            hours.abs()
        );
        assert_eq!(
            out.split(',').nth(1),
            Some(want.as_str()),
            "{tz}: {out} (UTC {utc})"
        );
    }
}

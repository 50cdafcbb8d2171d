//! Bad input and faults around handlers (issue 3): each gets a clear message, a
//! recorded result, and loses nothing. Missing, non-executable and badly named
//! handlers at put time; handlers gone by dispatch time, or that exec refuses;
//! non-zero exits, signals, hangs past --timeout, children that outlive their
//! handler; elements evicted before dispatch; a directory that is not a namespace;
//! two platforms; a full trigger log; SIGHUP.

use crate::util;

use nix::sys::signal::Signal;
use util::{Ns, PROMPT, RunRec, TIMEOUT, fails, finals, pid_gone, set_mode, wait_until};

/// Waits (bounded) for a namespace file holding a pid, and returns the pid.
fn pid_in(ns: &Ns, file: &str) -> u32 {
    assert!(
        wait_until(PROMPT, || ns.read(file).ends_with('\n')),
        "{file} never written; results: {:?}",
        ns.results()
    );
    ns.read(file).trim().parse().expect("a pid")
}

/// The single final result of trigger `t`.
fn final_of(r: &[RunRec], t: u64) -> RunRec {
    let f: Vec<&RunRec> = finals(r).into_iter().filter(|x| x.trigger == t).collect();
    assert_eq!(f.len(), 1, "one final result for trigger {t}: {r:?}");
    f[0].clone()
}

/// A namespace with woof `hello` (32 bytes, history 5), handlers/ and a good handler.
fn hello_ns() -> Ns {
    let ns = Ns::new();
    ns.create("hello", 32, 5);
    ns.handler("good", "#!/bin/sh\ncat > /dev/null\n");
    ns
}

fn put_with(ns: &Ns, handler: &str) -> assert_cmd::Command {
    let mut cmd = ns.cmd("woof-put");
    cmd.args(["hello", "--pad", "-H", handler]).write_stdin("x");
    cmd
}

#[test]
fn a_missing_handler_at_put_time_is_66_and_writes_nothing() {
    let ns = hello_ns();
    let before = ns.snapshot();
    let path = ns.path().join("handlers/nope");
    fails(
        &mut put_with(&ns, "nope"),
        66,
        &format!(
            "woof-put: handler nope: no such handler (no file {})",
            path.display()
        ),
    );
    assert_eq!(ns.snapshot(), before, "nothing written");
    assert_eq!(ns.latest("hello"), 0);
    assert!(!ns.path().join(".woof").exists(), "no trigger log made");
    // Once a trigger log exists, a refused put adds nothing to it either.
    assert_eq!(ns.put_h("hello", "good", b"ok"), 1);
    assert_eq!(ns.trigger_latest(), 1);
    fails(
        &mut put_with(&ns, "nope"),
        66,
        &format!(
            "woof-put: handler nope: no such handler (no file {})",
            path.display()
        ),
    );
    // --batch too: nothing put, nothing printed.
    ns.cmd("woof-put")
        .args(["hello", "--batch", "-H", "nope"])
        .write_stdin(vec![b'y'; 64])
        .assert()
        .code(66)
        .stdout("");
    assert_eq!((ns.latest("hello"), ns.trigger_latest()), (1, 1));
}

#[test]
fn a_handler_that_cannot_be_executed_is_77_at_put_time_and_writes_nothing() {
    let ns = hello_ns();
    let plain = ns.handler("plain", "#!/bin/sh\n");
    set_mode(&plain, 0o644);
    std::fs::create_dir(ns.path().join("handlers/adir")).expect("mkdir");
    std::os::unix::fs::symlink(
        ns.path().join("handlers/good"),
        ns.path().join("handlers/link"),
    )
    .expect("symlink");
    let before = ns.snapshot();
    let h = |n: &str| ns.path().join("handlers").join(n).display().to_string();
    fails(
        &mut put_with(&ns, "plain"),
        77,
        &format!(
            "woof-put: handler plain: {} is not executable (chmod +x)",
            h("plain")
        ),
    );
    fails(
        &mut put_with(&ns, "adir"),
        77,
        &format!(
            "woof-put: handler adir: {} is not a regular file",
            h("adir")
        ),
    );
    fails(
        &mut put_with(&ns, "link"),
        77,
        &format!(
            "woof-put: handler link: {} is not a regular file",
            h("link")
        ),
    );
    assert_eq!(ns.snapshot(), before, "nothing written");
    assert_eq!((ns.latest("hello"), ns.trigger_latest()), (0, 0));
}

#[test]
fn handler_names_that_are_paths_or_hidden_are_usage_errors() {
    let ns = hello_ns();
    let before = ns.snapshot();
    for (name, why) in [
        ("a/b", "contains '/'"),
        ("../good", "starts with a dot"),
        ("..", "starts with a dot"),
        (".hidden", "starts with a dot"),
        ("/bin/sh", "contains '/'"),
        ("", "is empty"),
    ] {
        let out = put_with(&ns, name)
            .assert()
            .code(2)
            .stdout("")
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            err.starts_with(&format!("woof-put: handler name '{name}': {why}"))
                && err.ends_with('\n')
                && err.lines().count() == 1,
            "{name:?}: {err:?}"
        );
    }
    assert_eq!(ns.snapshot(), before, "nothing written");
    assert_eq!((ns.latest("hello"), ns.trigger_latest()), (0, 0));
    // --persistent checks its names too.
    ns.cmd("woof-platform")
        .args(["--persistent", "../x"])
        .assert()
        .code(2)
        .stdout("");
}

#[test]
fn a_handler_gone_or_unexecutable_by_dispatch_time_is_recorded_missing() {
    let ns = hello_ns();
    ns.handler("gone", "#!/bin/sh\n");
    ns.handler("noexec", "#!/bin/sh\n");
    // Put while no platform runs; break the handlers before one starts.
    assert_eq!(ns.put_h("hello", "gone", b"1"), 1);
    assert_eq!(ns.put_h("hello", "noexec", b"2"), 2);
    assert_eq!(ns.put_h("hello", "good", b"3"), 3);
    std::fs::remove_file(ns.path().join("handlers/gone")).expect("rm");
    set_mode(&ns.path().join("handlers/noexec"), 0o644);
    let platform = ns.platform(&["--workers", "1"]);
    let r = ns.wait_results(PROMPT, "3 outcomes", |r| finals(r).len() == 3);
    let gone = final_of(&r, 1);
    assert_eq!(gone.outcome, "missing", "{gone:?}");
    assert!(gone.detail.contains("no such handler"), "{gone:?}");
    let noexec = final_of(&r, 2);
    assert_eq!(noexec.outcome, "missing", "{noexec:?}");
    assert!(noexec.detail.contains("not executable"), "{noexec:?}");
    // Neither blocks the rest.
    let good = final_of(&r, 3);
    assert_eq!((good.outcome.as_str(), good.code), ("exited", Some(0)));
    assert!(
        !r.iter().any(|x| x.outcome == "started" && x.trigger < 3),
        "nothing started for missing handlers: {r:?}"
    );
    let err = platform.stderr_text();
    assert!(err.contains("woof-platform: gone[1]: missing: "), "{err:?}");
    assert!(
        err.contains("woof-platform: noexec[2]: missing: "),
        "{err:?}"
    );
}

#[test]
fn non_zero_exits_and_signals_are_recorded() {
    let ns = hello_ns();
    ns.handler("ex3", "#!/bin/sh\nexit 3\n");
    ns.handler("sig9", "#!/bin/sh\nkill -KILL $$\n");
    ns.handler("sig15", "#!/bin/sh\nkill -TERM $$\n");
    let platform = ns.platform(&[]);
    assert_eq!(ns.put_h("hello", "ex3", b"a"), 1);
    assert_eq!(ns.put_h("hello", "sig9", b"b"), 2);
    assert_eq!(ns.put_h("hello", "sig15", b"c"), 3);
    assert_eq!(ns.put_h("hello", "good", b"d"), 4);
    let r = ns.wait_results(PROMPT, "4 outcomes", |r| finals(r).len() == 4);
    let got: Vec<(String, Option<i64>)> = (1..=4)
        .map(|t| {
            let f = final_of(&r, t);
            (f.outcome, f.code)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("exited".to_string(), Some(3)),
            ("signaled".to_string(), Some(9)),
            ("signaled".to_string(), Some(15)),
            ("exited".to_string(), Some(0)),
        ]
    );
    let err = platform.stderr_text();
    for line in [
        "woof-platform: ex3[1]: exited with status 3\n",
        "woof-platform: sig9[2]: killed by signal 9\n",
        "woof-platform: sig15[3]: killed by signal 15\n",
    ] {
        assert!(err.contains(line), "{line:?} not in {err:?}");
    }
    assert!(!err.contains("good[4]"), "{err:?}");
}

#[test]
fn a_hung_handler_is_killed_with_its_children_at_the_timeout_and_blocks_nothing() {
    let ns = hello_ns();
    // A child that would outlive it, then hang.
    ns.handler(
        "hang",
        "#!/bin/sh\nsleep 1000 &\necho $! > \"$WOOF_NAMESPACE/child\"\nsleep 1000\n",
    );
    ns.handler(
        "quick",
        "#!/bin/sh\necho \"$WOOF_SEQNO\" >> \"$WOOF_NAMESPACE/quick\"\n",
    );
    let platform = ns.platform(&["--workers", "2", "--timeout", "3s"]);
    assert_eq!(ns.put_h("hello", "hang", b"h"), 1);
    let child = pid_in(&ns, "child");
    for s in 2..=5 {
        assert_eq!(ns.put_h("hello", "quick", b"q"), s);
    }
    let r = ns.wait_results(TIMEOUT, "5 outcomes", |r| finals(r).len() == 5);
    let hang = final_of(&r, 1);
    assert_eq!(hang.outcome, "timed-out", "{hang:?}");
    assert_eq!(
        hang.detail,
        "ran past --timeout 3s; its process group was killed"
    );
    for t in 2..=5 {
        let q = final_of(&r, t);
        assert_eq!((q.outcome.as_str(), q.code), ("exited", Some(0)));
        // The quick ones finished while the hung one still ran.
        assert!(q.result < hang.result, "{q:?} after {hang:?}");
    }
    assert!(
        wait_until(PROMPT, || pid_gone(child)),
        "the hung handler's child {child} survived the timeout"
    );
    assert!(
        platform.stderr_text().contains(
            "woof-platform: hang[1]: timed-out: ran past --timeout 3s; its process group was killed\n"
        ),
        "{:?}",
        platform.stderr_text()
    );
}

#[test]
fn a_child_left_behind_by_a_finished_handler_is_killed_at_shutdown() {
    let ns = hello_ns();
    ns.handler(
        "leaver",
        "#!/bin/sh\nsleep 1000 > /dev/null 2>&1 &\necho $! > \"$WOOF_NAMESPACE/child\"\nexit 0\n",
    );
    let mut platform = ns.platform(&[]);
    assert_eq!(ns.put_h("hello", "leaver", b"x"), 1);
    let r = ns.wait_results(PROMPT, "leaver exits", |r| finals(r).len() == 1);
    assert_eq!(final_of(&r, 1).code, Some(0));
    let child = pid_in(&ns, "child");
    assert!(!pid_gone(child), "the child runs on after its handler");
    let (status, _) = platform.stop();
    assert_eq!(status.code(), Some(0));
    assert!(
        wait_until(PROMPT, || pid_gone(child)),
        "child {child} survived the platform's shutdown"
    );
}

#[test]
fn an_element_evicted_before_dispatch_is_recorded_evicted_with_a_suggestion() {
    let ns = Ns::new();
    ns.create("small", 8, 2);
    ns.handler(
        "rec",
        "#!/bin/sh\necho \"$WOOF_SEQNO\" >> \"$WOOF_NAMESPACE/ran\"\n",
    );
    assert_eq!(ns.put_lines_h("small", "rec", "1\n2\n3\n4\n5\n"), (1, 5));
    let platform = ns.platform(&["--workers", "1"]);
    let r = ns.wait_results(PROMPT, "5 outcomes", |r| finals(r).len() == 5);
    for t in 1..=3 {
        let e = final_of(&r, t);
        assert_eq!((e.outcome.as_str(), e.seqno), ("evicted", t), "{e:?}");
        assert_eq!(e.code, Some(4), "the oldest element still held: {e:?}");
        assert!(e.detail.contains("enlarge its history (now 2)"), "{e:?}");
        assert!(
            platform
                .stderr_text()
                .contains(&format!("woof-platform: rec[{t}]: evicted: ")),
            "{:?}",
            platform.stderr_text()
        );
    }
    for t in 4..=5 {
        assert_eq!(final_of(&r, t).code, Some(0));
    }
    assert_eq!(
        ns.read("ran"),
        "4\n5\n",
        "the handler ran only for what was there"
    );
}

#[test]
fn a_directory_that_is_not_a_namespace_is_refused_with_66() {
    let ns = Ns::new();
    let before = ns.snapshot();
    fails(
        &mut ns.cmd("woof-platform"),
        66,
        &format!(
            "woof-platform: namespace {}: not a namespace (no handlers/ or .woof/ directory; mkdir handlers to make it one)",
            ns.abs()
        ),
    );
    assert_eq!(ns.snapshot(), before, "nothing created");
    let missing = ns.path().join("nowhere");
    fails(
        util::bare("woof-platform").arg("-N").arg(&missing),
        66,
        &format!(
            "woof-platform: namespace {}: no such file or directory",
            missing.display()
        ),
    );
}

#[test]
fn a_second_platform_exits_75_naming_the_first() {
    let ns = hello_ns();
    let first = ns.platform(&[]);
    fails(
        &mut ns.cmd("woof-platform"),
        75,
        &format!(
            "woof-platform: namespace {}: another woof-platform serves it (pid {})",
            ns.abs(),
            first.pid()
        ),
    );
    // The first one still serves.
    assert_eq!(ns.put_h("hello", "good", b"x"), 1);
    let r = ns.wait_results(PROMPT, "run", |r| finals(r).len() == 1);
    assert_eq!(final_of(&r, 1).code, Some(0));
}

#[test]
fn sighup_is_ignored_and_sigint_stops_with_0() {
    let ns = hello_ns();
    let mut platform = ns.platform(&[]);
    platform.signal(Signal::SIGHUP);
    assert!(
        platform.wait_stderr(
            PROMPT,
            "woof-platform: SIGHUP ignored (SIGTERM or SIGINT stop)\n"
        ),
        "{:?}",
        platform.stderr_text()
    );
    assert!(platform.run.is_running());
    assert_eq!(ns.put_h("hello", "good", b"x"), 1);
    ns.wait_results(PROMPT, "still dispatching", |r| finals(r).len() == 1);
    platform.signal(Signal::SIGINT);
    let (status, _) = platform.run.finish(TIMEOUT);
    assert_eq!(status.code(), Some(0));
    assert!(
        platform
            .stderr_text()
            .contains("woof-platform: SIGINT: stopping"),
        "{:?}",
        platform.stderr_text()
    );
}

#[test]
fn a_full_trigger_log_refuses_puts_with_75_and_drains_once_a_platform_runs() {
    // The trigger log holds 16384 triggers not yet run; put that many while no
    // platform runs, then the next put must fail at once, writing nothing.
    const LOG: u64 = 16_384;
    let ns = Ns::new();
    ns.create("e", 8, 2 * LOG);
    ns.handler("t", "#!/bin/sh\n");
    // No platform runs: each put with -H says so first (and still puts).
    let none = ns.no_platform_warning();
    let out = ns
        .cmd("woof-put")
        .args(["e", "--batch", "-H", "t"])
        .write_stdin(vec![0u8; 8 * (LOG as usize - 4)])
        .assert()
        .success()
        .stderr(none.clone())
        .get_output()
        .stdout
        .clone();
    assert_eq!(util::parse_range_line(&out), (1, LOG - 4));
    let full = format!(
        "woof-put: e: trigger log: full: {LOG} triggers not yet run (is woof-platform running?); this element was not put"
    );
    // A batch that fills the log puts what fits, says so, and stops with 75.
    ns.cmd("woof-put")
        .args(["e", "--batch", "-H", "t"])
        .write_stdin(vec![2u8; 8 * 10])
        .assert()
        .code(75)
        .stdout(format!("{}..{LOG}\n", LOG - 3))
        .stderr(format!("{none}{full}\n"));
    for (args, input) in [
        (["e", "--pad", "-H", "t"], b"x".to_vec()),
        (["e", "--batch", "-H", "t"], vec![1u8; 16]),
    ] {
        ns.cmd("woof-put")
            .args(args)
            .write_stdin(input)
            .assert()
            .code(75)
            .stdout("")
            .stderr(format!("{none}{full}\n"));
    }
    assert_eq!(
        (ns.latest("e"), ns.trigger_latest()),
        (LOG, LOG),
        "nothing written"
    );
    // Puts without a handler are not affected.
    assert_eq!(ns.put("e", b"12345678"), LOG + 1);

    let _platform = ns.platform(&[]);
    let mut next = None;
    let drained = wait_until(TIMEOUT, || {
        let out = ns
            .cmd("woof-put")
            .args(["e", "--pad", "-H", "t"])
            .write_stdin("y")
            .output()
            .expect("woof-put");
        match out.status.code() {
            Some(0) => {
                next = Some(util::parse_seqno_line(&out.stdout));
                true
            }
            Some(75) => {
                assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
                std::thread::sleep(std::time::Duration::from_millis(100));
                false
            }
            other => panic!(
                "woof-put: {other:?} {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    });
    assert!(drained, "a put never succeeded while the platform ran");
    assert_eq!(next, Some(LOG + 2));
    assert_eq!(ns.trigger_latest(), LOG + 1);
    // The oldest triggers are the ones that ran.
    let r = ns.wait_results(PROMPT, "trigger 1 ran", |r| {
        r.iter().any(|x| x.trigger == 1 && x.code == Some(0))
    });
    assert!(
        r.iter()
            .all(|x| x.outcome == "started" || x.code == Some(0)),
        "{r:?}"
    );
}

#[test]
fn handler_output_without_a_final_newline_and_many_lines_is_prefixed_line_by_line() {
    let ns = hello_ns();
    ns.handler(
        "chatty",
        "#!/bin/sh\ni=1\nwhile [ $i -le 200 ]; do echo \"line $i\"; i=$((i+1)); done\nprintf 'tail without newline'\n",
    );
    let platform = ns.platform(&[]);
    assert_eq!(ns.put_h("hello", "chatty", b"x"), 1);
    for i in 1..=200 {
        assert_eq!(platform.line(PROMPT), format!("chatty[1]: line {i}"));
    }
    assert_eq!(platform.line(PROMPT), "chatty[1]: tail without newline");
}

#[test]
fn a_handler_the_kernel_cannot_execute_is_recorded_missing_and_blocks_nothing() {
    // It passes every check before exec (a regular, executable file), and exec
    // itself fails: its interpreter does not exist. The process started for it
    // exits before exec; the platform records why and goes on.
    let ns = hello_ns();
    ns.handler("badinterp", "#!/no/such/interpreter\n");
    let platform = ns.platform(&["--workers", "1"]);
    assert_eq!(ns.put_h("hello", "badinterp", b"1"), 1);
    assert_eq!(ns.put_h("hello", "good", b"2"), 2);
    let r = ns.wait_results(PROMPT, "2 outcomes", |r| finals(r).len() == 2);
    let bad = final_of(&r, 1);
    assert_eq!(bad.outcome, "missing", "{bad:?}");
    assert!(
        bad.detail.contains("exec ") && bad.detail.contains("no such file or directory"),
        "{bad:?}"
    );
    let good = final_of(&r, 2);
    assert_eq!((good.outcome.as_str(), good.code), ("exited", Some(0)));
    let err = platform.stderr_text();
    assert!(
        err.contains("woof-platform: badinterp[1]: missing: exec "),
        "{err:?}"
    );
}

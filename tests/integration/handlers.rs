//! Handlers through the real binaries (issue 3): a put with -H fires handlers/NAME
//! through woof-platform and woof-shepherd. Covered here: hello world with the
//! handler's output prefixed on the platform's stdout; the environment contract and
//! stdin content; claims in put order; the --workers bound; a 3-stage pipeline whose
//! results trace the cause chain; persistent handlers (frames, restart after a
//! crash); the results log through woof-tail/woof-get --results; and a woof
//! replaced with --force while the platform runs.
//!
//! Handlers are small shell scripts the tests write into handlers/. Every wait is
//! bounded; platforms are stopped (SIGTERM, then SIGKILL) when dropped.

use crate::util;

use std::collections::BTreeMap;
use std::path::Path;

use util::{
    Json, Ns, PROMPT, RESULT_KEYS, RunRec, Running, TIMEOUT, finals, hex, is_rfc3339_nanos,
    parse_flat_json, pid_gone, wait_until,
};

/// Final results of successful runs (exited 0).
fn ok_runs(r: &[RunRec]) -> usize {
    r.iter()
        .filter(|r| r.outcome == "exited" && r.code == Some(0))
        .count()
}

/// Lines of a namespace file, waiting (bounded) until there are at least `n`.
fn wait_lines(ns: &Ns, file: &str, n: usize) -> Vec<String> {
    let ok = wait_until(TIMEOUT, || ns.read(file).lines().count() >= n);
    let text = ns.read(file);
    assert!(ok, "{file}: wanted {n} lines, have:\n{text}");
    text.lines().map(str::to_string).collect()
}

#[test]
fn hello_world_put_prints_1_and_the_handler_output_appears_prefixed() {
    let ns = Ns::new();
    ns.create("hello", 255, 5);
    ns.handler(
        "hw",
        "#!/bin/sh\nprintf 'hw got: '; tr -d '\\000'; echo; echo 'a line on stderr' >&2\n",
    );
    let mut platform = ns.platform(&[]);
    assert_eq!(ns.put_h("hello", "hw", b"my first bark"), 1);
    assert_eq!(platform.line(PROMPT), "hw[1]: hw got: my first bark");
    assert!(
        platform.wait_stderr(PROMPT, "hw[1]: a line on stderr\n"),
        "handler stderr not prefixed on the platform's stderr: {:?}",
        platform.stderr_text()
    );
    let r = ns.wait_results(PROMPT, "hw exits", |r| ok_runs(r) == 1);
    assert_eq!(r.len(), 2, "one started and one exited record: {r:?}");
    for (rec, outcome, code) in [(&r[0], "started", None), (&r[1], "exited", Some(0))] {
        assert_eq!(
            (
                rec.trigger,
                rec.woof.as_str(),
                rec.seqno,
                rec.handler.as_str(),
                rec.outcome.as_str(),
                rec.code,
                rec.cause.as_str(),
                rec.detail.as_str()
            ),
            (1, "hello", 1, "hw", outcome, code, "", ""),
        );
    }
    assert_eq!((r[0].result, r[1].result), (1, 2));
    assert_eq!(
        r[0].start_ns, r[1].start_ns,
        "both records name the same run"
    );
    let (status, rest) = platform.stop();
    assert_eq!(status.code(), Some(0), "SIGTERM: exit 0");
    assert!(rest.is_empty(), "nothing more on stdout: {rest:?}");
    let err = platform.stderr_text();
    assert!(
        err.starts_with(&format!("woof-platform: serving {} (pid ", ns.abs())),
        "{err:?}"
    );
    assert!(err.contains("woof-platform: SIGTERM: stopping"), "{err:?}");
    assert!(
        !err.contains("woof-platform: hw"),
        "a clean run is not reported as abnormal: {err:?}"
    );
}

/// `KEY=VALUE` lines of `env` output (values without newlines).
fn env_map(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The put time of element `seqno` of `woof`, in ns, from `woof-get --format json`.
fn put_time_ns(ns: &Ns, woof: &str, seqno: u64) -> u64 {
    let out = ns
        .cmd("woof-get")
        .args([woof, &seqno.to_string(), "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let line = String::from_utf8(out).expect("utf8");
    let obj = parse_flat_json(line.trim_end()).expect("json");
    match obj.iter().find(|(k, _)| k == "put_time_ns") {
        Some((_, Json::Num(n))) => n.parse().expect("number"),
        other => panic!("no put_time_ns: {other:?} in {line}"),
    }
}

#[test]
fn handlers_get_the_environment_contract_and_exactly_the_element_on_stdin() {
    let ns = Ns::new();
    ns.create("bin", 256, 10);
    ns.create("small", 3, 10);
    // stdin first, the environment last (renamed into place: the completion mark).
    ns.handler(
        "envh",
        "#!/bin/sh\n\
         cat > \"$WOOF_NAMESPACE/stdin.$WOOF_NAME.$WOOF_SEQNO\"\n\
         pwd > \"$WOOF_NAMESPACE/cwd.$WOOF_NAME.$WOOF_SEQNO\"\n\
         env > \"$WOOF_NAMESPACE/env.tmp.$$\"\n\
         mv \"$WOOF_NAMESPACE/env.tmp.$$\" \"$WOOF_NAMESPACE/env.$WOOF_NAME.$WOOF_SEQNO\"\n",
    );
    // Nothing else of the platform's own environment reaches handlers: HOME and
    // LANG do (when set), anything else does not.
    let mut cmd = ns.std_cmd("woof-platform");
    cmd.env("LEAKY_SECRET", "do-not-pass")
        .env("WOOF_LEAK", "nope")
        .env("HOME", "/nonexistent-home")
        .env("LANG", "C.UTF-8");
    let _platform = util::Platform::start(cmd);

    let all_bytes: Vec<u8> = (0..=255u8).collect();
    assert_eq!(ns.put_h("bin", "envh", &all_bytes), 1);
    let second: Vec<u8> = (0..=255u8).rev().collect();
    assert_eq!(ns.put_h("bin", "envh", &second), 2);
    assert_eq!(ns.put_h("small", "envh", b"\n\0x"), 1);

    let abs = ns.abs();
    let tools = Path::new(util::exe("woof-put"))
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    let cases: [(&str, u64, &[u8], u64, usize); 3] = [
        ("bin", 1, &all_bytes, 1, 256),
        ("bin", 2, &second, 2, 256),
        ("small", 1, b"\n\0x", 3, 3),
    ];
    for (woof, seqno, data, trigger, size) in cases {
        let envfile = format!("env.{woof}.{seqno}");
        assert!(
            wait_until(PROMPT, || ns.file(&envfile).exists()),
            "handler did not run for {woof} {seqno}; results: {:?}",
            ns.results()
        );
        let env = env_map(&ns.read(&envfile));
        let expect = [
            ("WOOF_NAMESPACE", abs.clone()),
            ("WOOF_NAME", woof.to_string()),
            ("WOOF_SEQNO", seqno.to_string()),
            ("WOOF_HANDLER", "envh".to_string()),
            ("WOOF_ELEMENT_SIZE", size.to_string()),
            ("WOOF_TIMESTAMP", put_time_ns(&ns, woof, seqno).to_string()),
            ("WOOF_CAUSE", format!("{abs}#{trigger}")),
            ("HOME", "/nonexistent-home".to_string()),
            ("LANG", "C.UTF-8".to_string()),
        ];
        for (k, v) in &expect {
            assert_eq!(env.get(*k), Some(v), "{k} for {woof} {seqno}: {env:?}");
        }
        let path = env.get("PATH").expect("PATH is set");
        assert!(
            path.starts_with(&format!("{tools}:")),
            "PATH starts with the woof tools' directory {tools}: {path}"
        );
        // A clean environment: the contract, PATH, and what sh itself sets.
        for k in env.keys() {
            assert!(
                expect.iter().any(|(e, _)| e == k)
                    || ["PATH", "PWD", "OLDPWD", "SHLVL", "_"].contains(&k.as_str()),
                "unexpected variable {k} in the handler's environment: {env:?}"
            );
        }
        assert_eq!(
            std::fs::read(ns.file(&format!("stdin.{woof}.{seqno}"))).expect("stdin copy"),
            data,
            "stdin is exactly the element"
        );
        assert_eq!(
            ns.read(&format!("cwd.{woof}.{seqno}")).trim_end(),
            abs,
            "working directory is the namespace"
        );
    }
}

#[test]
fn handlers_start_with_no_signal_blocked() {
    // The platform blocks SIGTERM, SIGINT and SIGHUP to sigwait for them; handlers
    // must not inherit that mask (sh would hide it by clearing its own mask at
    // startup, so the handler is an awk script that reads its own status).
    let ns = Ns::new();
    ns.create("m", 8, 10);
    ns.handler(
        "mask",
        "#!/usr/bin/awk -f\n\
         BEGIN { while ((getline l < \"/proc/self/status\") > 0) if (l ~ /^SigBlk/) print l > (ENVIRON[\"WOOF_NAMESPACE\"] \"/mask.tmp\"); close(ENVIRON[\"WOOF_NAMESPACE\"] \"/mask.tmp\"); system(\"mv mask.tmp mask\") }\n",
    );
    let _platform = ns.platform(&[]);
    ns.put_h("m", "mask", b"x");
    assert!(
        wait_until(PROMPT, || ns.file("mask").exists()),
        "the handler did not run: {:?}",
        ns.results()
    );
    assert_eq!(ns.read("mask"), "SigBlk:\t0000000000000000\n");
}

#[test]
fn handlers_start_with_default_signal_dispositions_even_under_nohup() {
    // Ignored dispositions survive exec: a platform started with SIGHUP and SIGINT
    // ignored (nohup, or a shell's trap) must not pass that on to handlers, nor the
    // Rust runtime's ignored SIGPIPE.
    let ns = Ns::new();
    ns.create("m", 8, 10);
    ns.handler(
        "ign",
        "#!/usr/bin/awk -f\n\
         BEGIN { while ((getline l < \"/proc/self/status\") > 0) if (l ~ /^SigIgn/) print l > (ENVIRON[\"WOOF_NAMESPACE\"] \"/ign.tmp\"); close(ENVIRON[\"WOOF_NAMESPACE\"] \"/ign.tmp\"); system(\"mv ign.tmp ign\") }\n",
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "trap '' HUP INT PIPE; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_woof-platform"))
        .arg("-N")
        .arg(ns.path())
        .current_dir(ns.path());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WOOF_") {
            cmd.env_remove(key);
        }
    }
    let _platform = util::Platform::start(cmd);
    ns.put_h("m", "ign", b"x");
    assert!(
        wait_until(PROMPT, || ns.file("ign").exists()),
        "the handler did not run: {:?}",
        ns.results()
    );
    // Standard signals only (1-31): glibc reserves 32 and 33 for itself and may
    // leave them ignored whatever anyone asks.
    let line = ns.read("ign");
    let mask = u64::from_str_radix(line.trim().trim_start_matches("SigIgn:").trim(), 16)
        .unwrap_or_else(|_| panic!("not a SigIgn line: {line:?}"));
    assert_eq!(
        mask & 0x7fff_ffff,
        0,
        "ignored signals reached the handler: {line:?}"
    );
}

#[test]
fn with_one_worker_handlers_run_in_put_order() {
    let ns = Ns::new();
    ns.create("a", 16, 100);
    ns.create("b", 16, 100);
    ns.handler(
        "ord",
        "#!/bin/sh\necho \"$WOOF_NAME $WOOF_SEQNO\" >> \"$WOOF_NAMESPACE/order\"\n",
    );
    let mut expect = Vec::new();
    // Some waiting in the log before the platform starts...
    let lines: String = (0..5).map(|i| format!("a{i}\n")).collect();
    assert_eq!(ns.put_lines_h("a", "ord", &lines), (1, 5));
    expect.extend((1..=5).map(|s| format!("a {s}")));
    let _platform = ns.platform(&["--workers", "1"]);
    // ...then one-shot puts alternating between two woofs, then a batch.
    for i in 0..6u64 {
        let (w, s) = if i % 2 == 0 {
            ("b", i / 2 + 1)
        } else {
            ("a", 6 + i / 2)
        };
        assert_eq!(ns.put_h(w, "ord", b"x"), s);
        expect.push(format!("{w} {s}"));
    }
    let lines: String = (0..20).map(|i| format!("b{i}\n")).collect();
    assert_eq!(ns.put_lines_h("b", "ord", &lines), (4, 23));
    expect.extend((4..=23).map(|s| format!("b {s}")));
    let got = wait_lines(&ns, "order", expect.len());
    assert_eq!(got, expect, "handlers ran in put order");
    let r = ns.wait_results(PROMPT, "all runs recorded", |r| ok_runs(r) == 31);
    let triggers: Vec<u64> = finals(&r).iter().map(|r| r.trigger).collect();
    assert_eq!(
        triggers,
        (1..=31).collect::<Vec<_>>(),
        "claimed in log order"
    );
}

#[test]
fn the_workers_bound_is_respected_and_reached() {
    let ns = Ns::new();
    ns.create("w", 8, 100);
    // Each run marks itself in running/ while it lives, and samples how many are marked.
    ns.handler(
        "conc",
        "#!/bin/sh\n\
         d=\"$WOOF_NAMESPACE/running\"\n\
         mkdir -p \"$d\"\n\
         : > \"$d/$WOOF_SEQNO\"\n\
         for i in 1 2 3 4 5 6; do ls \"$d\" | wc -l >> \"$WOOF_NAMESPACE/counts\"; sleep 0.1; done\n\
         rm \"$d/$WOOF_SEQNO\"\n",
    );
    let _platform = ns.platform(&["--workers", "3"]);
    let lines: String = (0..9).map(|i| format!("{i}\n")).collect();
    assert_eq!(ns.put_lines_h("w", "conc", &lines), (1, 9));
    ns.wait_results(TIMEOUT, "9 runs", |r| ok_runs(r) == 9);
    let counts: Vec<usize> = ns
        .read("counts")
        .lines()
        .map(|l| l.trim().parse().expect("a count"))
        .collect();
    assert_eq!(counts.len(), 9 * 6);
    let max = counts.iter().copied().max().unwrap_or(0);
    assert!(max <= 3, "more than --workers 3 ran at once: {counts:?}");
    assert_eq!(max, 3, "--workers 3 never ran 3 at once: {counts:?}");
}

#[test]
fn a_three_stage_pipeline_traces_its_causes() {
    let ns = Ns::new();
    for w in ["A", "B", "C"] {
        ns.create(w, 32, 10);
    }
    // Each stage puts its element onward with the next handler (woof-put is on PATH,
    // the namespace comes from WOOF_NAMESPACE, the cause from WOOF_CAUSE).
    ns.handler("h1", "#!/bin/sh\nexec woof-put B -H h2\n");
    ns.handler("h2", "#!/bin/sh\nexec woof-put C -H h3 > /dev/null\n");
    ns.handler(
        "h3",
        "#!/bin/sh\ncat > \"$WOOF_NAMESPACE/final\"\necho \"$WOOF_CAUSE\" > \"$WOOF_NAMESPACE/cause3\"\n",
    );
    let platform = ns.platform(&[]);
    assert_eq!(ns.put_h("A", "h1", b"pipeline payload"), 1);
    let r = ns.wait_results(TIMEOUT, "3 stages", |r| ok_runs(r) == 3);
    // h1's stdout (woof-put's seqno) appears prefixed.
    assert_eq!(platform.line(PROMPT), "h1[1]: 1");
    let stage = |h: &str| -> RunRec {
        let f: Vec<&RunRec> = finals(&r).into_iter().filter(|x| x.handler == h).collect();
        assert_eq!(f.len(), 1, "one final record for {h}: {r:?}");
        f[0].clone()
    };
    let (s1, s2, s3) = (stage("h1"), stage("h2"), stage("h3"));
    let abs = ns.abs();
    assert_eq!((s1.woof.as_str(), s1.cause.as_str()), ("A", ""));
    assert_eq!(s2.woof, "B");
    assert_eq!(
        s2.cause,
        format!("{abs}#{}", s1.trigger),
        "h2 was caused by h1's run"
    );
    assert_eq!(s3.woof, "C");
    assert_eq!(
        s3.cause,
        format!("{abs}#{}", s2.trigger),
        "h3 was caused by h2's run"
    );
    assert!(s1.trigger < s2.trigger && s2.trigger < s3.trigger);
    assert_eq!(
        ns.read("cause3").trim_end(),
        format!("{abs}#{}", s3.trigger)
    );
    let mut payload = b"pipeline payload".to_vec();
    payload.resize(32, 0);
    assert_eq!(std::fs::read(ns.file("final")).expect("final"), payload);
    assert_eq!(ns.get_hex("C", "1"), vec![hex(&payload)]);
}

/// A persistent handler that logs each frame (`WOOF SEQNO LEN TRIGGER HEX`) and the
/// pid of each instance; it exits 3 on an element starting with "crash".
const PERSISTENT: &str = "#!/bin/sh\n\
    echo \"$$ $WOOF_PERSISTENT $WOOF_HANDLER\" >> \"$WOOF_NAMESPACE/starts\"\n\
    while read -r woof seq len trig; do\n\
      data=$(head -c \"$len\" | od -An -v -tx1 | tr -d ' \\n')\n\
      echo \"$woof $seq $len $trig $data\" >> \"$WOOF_NAMESPACE/frames\"\n\
      case \"$data\" in 6372617368*) exit 3;; esac\n\
    done\n";

fn frame(woof: &str, seqno: u64, size: usize, trigger: u64, data: &[u8]) -> String {
    let mut d = data.to_vec();
    d.resize(size, 0);
    format!("{woof} {seqno} {size} {trigger} {}", hex(&d))
}

#[test]
fn a_persistent_handler_gets_every_frame_in_order_with_its_content() {
    let ns = Ns::new();
    ns.create("p", 16, 200);
    ns.create("q", 5, 200);
    ns.handler("ph", PERSISTENT);
    let mut platform = ns.platform(&["--persistent", "ph"]);
    let lines: String = (0..50).map(|i| format!("el-{i}\n")).collect();
    assert_eq!(ns.put_lines_h("p", "ph", &lines), (1, 50));
    let mut expect: Vec<String> = (0..50u64)
        .map(|i| frame("p", i + 1, 16, i + 1, format!("el-{i}").as_bytes()))
        .collect();
    assert_eq!(ns.put_h("q", "ph", b"\0\x01\n\xff"), 1);
    expect.push(frame("q", 1, 5, 51, b"\0\x01\n\xff"));
    assert_eq!(ns.put_h("p", "ph", b"last"), 51);
    expect.push(frame("p", 51, 16, 52, b"last"));
    let got = wait_lines(&ns, "frames", expect.len());
    assert_eq!(got, expect);
    let r = ns.wait_results(PROMPT, "52 delivered", |r| {
        r.iter().filter(|x| x.outcome == "delivered").count() == 52
    });
    let triggers: Vec<u64> = r.iter().map(|x| x.trigger).collect();
    assert_eq!(
        triggers,
        (1..=52).collect::<Vec<_>>(),
        "one record per trigger"
    );
    assert!(
        r.iter()
            .all(|x| x.outcome == "delivered" && x.handler == "ph")
    );
    let starts = ns.read("starts");
    assert_eq!(starts.lines().count(), 1, "one process: {starts}");
    assert!(
        starts.ends_with(" 1 ph\n"),
        "WOOF_PERSISTENT and WOOF_HANDLER: {starts}"
    );
    let (status, _) = platform.stop();
    assert_eq!(status.code(), Some(0));
}

/// The pid of the `n`-th instance (1-based) of the persistent handler, waiting for it.
fn instance_pid(ns: &Ns, n: usize) -> u32 {
    let lines = wait_lines(ns, "starts", n);
    lines[n - 1]
        .split(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a pid")
}

#[test]
fn a_persistent_handler_that_crashes_is_restarted_for_later_elements() {
    let ns = Ns::new();
    ns.create("p", 16, 200);
    ns.handler("ph", PERSISTENT);
    let platform = ns.platform(&["--persistent", "ph"]);
    assert_eq!(ns.put_h("p", "ph", b"e1"), 1);
    wait_lines(&ns, "frames", 1);
    let first = instance_pid(&ns, 1);
    assert_eq!(ns.put_h("p", "ph", b"crash"), 2);
    wait_lines(&ns, "frames", 2);
    assert!(
        wait_until(PROMPT, || pid_gone(first)),
        "the handler did not exit on 'crash'"
    );
    // Its death is noticed at the next element, which a new instance gets.
    assert_eq!(ns.put_h("p", "ph", b"e3"), 3);
    assert_eq!(ns.put_h("p", "ph", b"e4"), 4);
    let got = wait_lines(&ns, "frames", 4);
    assert_eq!(
        got,
        vec![
            frame("p", 1, 16, 1, b"e1"),
            frame("p", 2, 16, 2, b"crash"),
            frame("p", 3, 16, 3, b"e3"),
            frame("p", 4, 16, 4, b"e4"),
        ]
    );
    let second = instance_pid(&ns, 2);
    assert_ne!(first, second, "a new instance");
    // The crash is recorded when the platform notices it, which may be after the
    // later elements were delivered to the new instance.
    let r = ns.wait_results(PROMPT, "4 delivered and the crash", |r| {
        r.iter().filter(|x| x.outcome == "delivered").count() == 4
            && r.iter().any(|x| x.outcome == "exited")
    });
    let exited: Vec<&RunRec> = r.iter().filter(|x| x.outcome == "exited").collect();
    assert_eq!(exited.len(), 1, "the crash is recorded: {r:?}");
    assert_eq!(exited[0].code, Some(3));
    assert!(exited[0].detail.contains("restarting"), "{:?}", exited[0]);
    assert!(
        platform.stderr_text().contains("exited with status 3"),
        "{:?}",
        platform.stderr_text()
    );
}

#[test]
fn elements_sent_while_a_persistent_handler_dies_still_reach_a_new_instance() {
    // The burst variant: "crash" and the elements after it arrive together, so the
    // frames after "crash" are written into the pipe of an instance that is exiting.
    // At-least-once means a new instance must still get e4 and e5.
    let ns = Ns::new();
    ns.create("p", 16, 200);
    ns.handler("ph", PERSISTENT);
    let _platform = ns.platform(&["--persistent", "ph"]);
    assert_eq!(ns.put_lines_h("p", "ph", "e1\ne2\ncrash\ne4\ne5\n"), (1, 5));
    let ok = wait_until(PROMPT, || {
        let f = ns.read("frames");
        f.contains(&frame("p", 4, 16, 4, b"e4")) && f.contains(&frame("p", 5, 16, 5, b"e5"))
    });
    assert!(
        ok,
        "e4/e5 never reached a handler instance; frames:\n{}\nstarts:\n{}\nresults:\n{}",
        ns.read("frames"),
        ns.read("starts"),
        ns.results()
            .iter()
            .map(RunRec::brief)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn results_read_as_json_and_csv_and_followed() {
    let ns = Ns::new();
    ns.create("r", 8, 10);
    // Exits with its seqno minus one: 0, 1, 2.
    ns.handler("rc", "#!/bin/sh\nexit $((WOOF_SEQNO - 1))\n");
    let _platform = ns.platform(&["--workers", "1"]);
    for s in 1..=3 {
        assert_eq!(ns.put_h("r", "rc", b"x"), s);
    }
    ns.wait_results(PROMPT, "3 runs", |r| finals(r).len() == 3);

    // JSON: every key, in order; started then exited for each trigger.
    let out = util::ok_stdout(ns.cmd("woof-tail").args(["--results", "--format", "json"]));
    let text = String::from_utf8(out).expect("utf8");
    let recs: Vec<RunRec> = text.lines().map(RunRec::parse).collect();
    assert_eq!(recs.len(), 6, "{text}");
    for (i, rec) in recs.iter().enumerate() {
        let t = i as u64 / 2 + 1;
        assert_eq!(rec.result, i as u64 + 1);
        assert_eq!((rec.trigger, rec.seqno, rec.woof.as_str()), (t, t, "r"));
        if i % 2 == 0 {
            assert_eq!((rec.outcome.as_str(), rec.code), ("started", None));
        } else {
            assert_eq!(
                (rec.outcome.as_str(), rec.code),
                ("exited", Some(t as i64 - 1))
            );
            assert!(rec.duration_ms > 0.0, "{rec:?}");
            assert_eq!(rec.start_ns, recs[i - 1].start_ns);
        }
        assert!(is_rfc3339_nanos(&rec.start), "{rec:?}");
        assert_eq!(rec.start, util::rfc3339(rec.start_ns));
    }

    // CSV of a range: result,trigger,woof,seqno,handler,outcome,code,start,duration_ms,cause,detail
    let out = util::ok_stdout(
        ns.cmd("woof-get")
            .args(["--results", "1..3", "--format", "csv"]),
    );
    let csv = String::from_utf8(out).expect("utf8");
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    for (i, row) in rows.iter().enumerate() {
        let rec = &recs[i];
        assert_eq!(
            row.len(),
            RESULT_KEYS.len() - 1,
            "no start_ns column: {row:?}"
        );
        let code = rec.code.map(|c| c.to_string()).unwrap_or_default();
        assert_eq!(
            row[..8],
            [
                rec.result.to_string().as_str(),
                &rec.trigger.to_string(),
                "r",
                &rec.seqno.to_string(),
                "rc",
                &rec.outcome,
                &code,
                &rec.start,
            ]
        );
        row[8].parse::<f64>().expect("duration_ms is a number");
        assert_eq!(row[9..], ["", ""]);
    }

    // --time-format applies to a result's start as to any other time.
    let out = util::ok_stdout(ns.cmd("woof-get").args([
        "--results",
        "1..2",
        "--format",
        "csv",
        "--time-format",
        "unix-ns",
    ]));
    let csv = String::from_utf8(out).expect("utf8");
    let starts: Vec<&str> = csv
        .lines()
        .map(|l| l.split(',').nth(7).unwrap_or(""))
        .collect();
    let want: Vec<String> = recs[..2].iter().map(|r| r.start_ns.to_string()).collect();
    assert_eq!(starts, want, "{csv}");

    // A single result as JSON.
    let out = ns
        .cmd("woof-get")
        .args(["--results", "4", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        RunRec::parse(String::from_utf8(out).expect("utf8").trim_end()),
        recs[3]
    );

    // Following: the last 2, then each new record as it is written.
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args(["-f", "--results", "-n", "2", "--format", "json"]);
    let follow = Running::spawn(cmd);
    assert_eq!(RunRec::parse(&follow.line(PROMPT)), recs[4]);
    assert_eq!(RunRec::parse(&follow.line(PROMPT)), recs[5]);
    assert_eq!(ns.put_h("r", "rc", b"x"), 4);
    let started = RunRec::parse(&follow.line(PROMPT));
    let exited = RunRec::parse(&follow.line(PROMPT));
    assert_eq!(
        (started.result, started.trigger, started.outcome.as_str()),
        (7, 4, "started")
    );
    assert_eq!(
        (
            exited.result,
            exited.trigger,
            exited.outcome.as_str(),
            exited.code
        ),
        (8, 4, "exited", Some(3))
    );
}

#[test]
fn a_woof_replaced_with_force_while_the_platform_runs_is_read_anew() {
    // The platform keeps the woofs handlers read from open; a woof replaced by
    // `woof-create --force` (a new file renamed into place) must be read from the
    // new file, at its new element size.
    let ns = Ns::new();
    ns.create("w", 8, 10);
    ns.handler(
        "show",
        "#!/bin/sh\necho \"$WOOF_SEQNO $WOOF_ELEMENT_SIZE $(tr -d '\\000')\"\n",
    );
    let platform = ns.platform(&[]);
    assert_eq!(ns.put_h("w", "show", b"old"), 1);
    assert_eq!(platform.line(PROMPT), "show[1]: 1 8 old");
    ns.cmd("woof-create")
        .args(["w", "-s", "16", "-n", "10", "--force"])
        .assert()
        .success();
    assert_eq!(ns.put_h("w", "show", b"replaced"), 1);
    assert_eq!(platform.line(PROMPT), "show[1]: 1 16 replaced");
}

#[test]
fn a_triggered_put_says_when_no_platform_serves_the_namespace_and_the_trigger_waits() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    ns.handler("hw", "#!/bin/sh\ncat > \"out.$WOOF_SEQNO\"\n");
    ns.cmd("woof-put")
        .args(["w", "--pad", "-H", "hw"])
        .write_stdin("one")
        .assert()
        .success()
        .stdout("1\n")
        .stderr(ns.no_platform_warning());
    // The trigger waited: it runs when a platform starts, and then puts are quiet.
    let _platform = ns.platform(&[]);
    assert!(
        wait_until(PROMPT, || ns.path().join("out.1").is_file()),
        "the waiting trigger ran"
    );
    ns.cmd("woof-put")
        .args(["w", "--pad", "-H", "hw"])
        .write_stdin("two")
        .assert()
        .success()
        .stdout("2\n")
        .stderr("");
    assert!(wait_until(PROMPT, || ns.path().join("out.2").is_file()));
}

#[test]
fn env_passes_named_variables_to_handlers_and_persistent_ones() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    let dump = "#!/bin/sh\n\
                cat > /dev/null\n\
                echo \"FOO=$FOO BAZ=$BAZ SECRET=$SECRET\" > \"$WOOF_NAMESPACE/env.tmp.$$\"\n\
                mv \"$WOOF_NAMESPACE/env.tmp.$$\" \"$WOOF_NAMESPACE/env.$WOOF_SEQNO\"\n";
    ns.handler("dump", dump);
    // A persistent handler reports its environment once, when it starts.
    ns.handler(
        "pdump",
        "#!/bin/sh\necho \"FOO=$FOO BAZ=$BAZ SECRET=$SECRET\" > \"$WOOF_NAMESPACE/penv.tmp\"\n\
         mv \"$WOOF_NAMESPACE/penv.tmp\" \"$WOOF_NAMESPACE/penv\"\ncat > /dev/null\n",
    );
    let mut cmd = ns.std_cmd("woof-platform");
    cmd.args([
        "--env",
        "FOO=bar baz",
        "--env",
        "BAZ",
        "--persistent",
        "pdump",
    ])
    .env("BAZ", "from the platform")
    .env("SECRET", "stays behind");
    let _platform = util::Platform::start(cmd);
    assert_eq!(ns.put_h("w", "dump", b"x"), 1);
    assert!(
        wait_until(PROMPT, || ns.file("env.1").exists()),
        "{:?}",
        ns.results()
    );
    let want = "FOO=bar baz BAZ=from the platform SECRET=\n";
    assert_eq!(ns.read("env.1"), want);
    assert_eq!(ns.put_h("w", "pdump", b"y"), 2);
    assert!(
        wait_until(PROMPT, || ns.file("penv").exists()),
        "{:?}",
        ns.results()
    );
    assert_eq!(ns.read("penv"), want);
}

#[test]
fn env_refuses_what_woof_sets_itself() {
    let ns = Ns::new();
    for (arg, why) in [
        (
            "PATH=/tmp",
            "PATH is set by woof for every handler (see woof-shepherd(1))",
        ),
        (
            "WOOF_SEQNO=3",
            "WOOF_SEQNO is set by woof for every handler (see woof-shepherd(1))",
        ),
        (
            "1X=2",
            "'1X' is not a variable name (letters, digits and '_', not first a digit)",
        ),
    ] {
        ns.cmd("woof-platform")
            .args(["--env", arg])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::starts_with(format!(
                "error: invalid value '{arg}' for '--env <NAME[=VALUE]>': {why}\n"
            )));
    }
}

#[test]
fn a_failed_run_keeps_the_last_lines_of_its_stderr_in_the_results() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    ns.handler(
        "fails",
        "#!/bin/sh\nfor i in 1 2 3 4; do echo \"step $i\" >&2; done\n\
         echo 'config missing: /etc/x' >&2\nexit 3\n",
    );
    ns.handler("quiet", "#!/bin/sh\nexit 4\n");
    ns.handler("ok", "#!/bin/sh\necho 'chatty but fine' >&2\n");
    let _platform = ns.platform(&["--workers", "1"]);
    ns.put_h("w", "fails", b"x");
    ns.put_h("w", "quiet", b"x");
    ns.put_h("w", "ok", b"x");
    ns.wait_results(PROMPT, "3 runs", |r| finals(r).len() == 3);
    let results = ns.results();
    let done = finals(&results);
    let by = |h: &str| {
        done.iter()
            .find(|r| r.handler == h)
            .expect("a final record")
    };
    assert_eq!(by("fails").code, Some(3));
    assert_eq!(
        by("fails").detail,
        "stderr: step 3 / step 4 / config missing: /etc/x"
    );
    assert_eq!(
        (by("quiet").code, by("quiet").detail.as_str()),
        (Some(4), "")
    );
    assert_eq!((by("ok").code, by("ok").detail.as_str()), (Some(0), ""));
}

#[test]
fn status_says_what_the_platform_is_doing_without_disturbing_it() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    // The handler waits until the test lets it end.
    ns.handler(
        "gate",
        "#!/bin/sh\nwhile [ ! -e \"$WOOF_NAMESPACE/open\" ]; do sleep 0.02; done\n",
    );
    let status = || {
        String::from_utf8(util::ok_stdout(ns.cmd("woof-platform").arg("--status"))).expect("utf8")
    };
    let dir = ns.abs();
    assert_eq!(
        status(),
        format!(
            "namespace:  {dir}\nplatform:   not running (puts with -H wait for one)\ntriggers:   none yet\n"
        )
    );
    for _ in 0..3 {
        ns.put_h("w", "gate", b"x");
    }
    let before = status();
    assert!(
        before.contains(
            "triggers:   3 put, 0 finished, 0 running, 3 waiting\nwaiting:    gate[1] put "
        ),
        "{before}"
    );
    let platform = ns.platform(&["--workers", "1"]);
    assert!(
        wait_until(PROMPT, || status().contains("1 running, 2 waiting")),
        "{}",
        status()
    );
    let now = status();
    assert!(
        now.contains(&format!("platform:   serving (pid {})", platform.pid())),
        "{now}"
    );
    assert!(now.contains("running:    gate[1] running for "), "{now}");
    assert!(now.contains("(trigger 1)"), "{now}");
    std::fs::write(ns.file("open"), b"").expect("open the gate");
    assert!(
        wait_until(PROMPT, || status()
            .contains("3 put, 3 finished, 0 running, 0 waiting")),
        "{}",
        status()
    );
}

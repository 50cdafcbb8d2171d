//! The soak: `make soak DURATION=10m` (ignored by `make test`; DURATION defaults to
//! 1m). Everything at once, under random SIGKILLs of every daemon and writer:
//!
//! - local writers: one-shot `woof-put --lines` batches into `w`, some killed mid-put;
//! - triggered puts: the same into `t` with handler `rec`, under a woof-platform
//!   that is SIGKILLed and restarted every 0.3-5 s;
//! - remote puts: one-shot `woof-put woof://…` batches into `r` through a woof-proxy
//!   that is SIGKILLed and restarted (same port) every 1-10 s;
//! - followers: `woof-tail -f --cursor` of `w` (local) and of `r` (remote), each
//!   SIGKILLed and restarted every 1-10 s (the remote one also dies with the proxy).
//!
//! Then, with every daemon running clean: every acknowledged element (a put that
//! exited 0 and printed its range) is present under its seqno and whole; every
//! element present (acknowledged or not) is whole; every element of `t` had its
//! handler run at least once; each follower saw every element of its woof; no
//! process of the run is left; the daemons' descriptors and RSS stay flat. It ends
//! with one summary line, which is the result to quote.

use crate::util;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use util::{
    CsvLine, ELEMENT, Ns, PROMPT, Platform, Proxy, Rng, decode, encoded_lines, parse_range_line,
    sigkill, wait_until,
};

const LOCAL_WRITERS: u32 = 3;
/// Room for every element a soak of an hour puts (the writers pause between puts).
const HISTORY: u64 = 1 << 22;
const HANDLER: &str = "#!/bin/sh\necho \"$WOOF_SEQNO\" >> \"$WOOF_NAMESPACE/ran\"\n";

/// What one kind of writer did.
#[derive(Default)]
struct Tally {
    batches: AtomicU64,
    acked: AtomicU64,
    killed: AtomicU64,
    /// Exits other than 0 that no kill explains (a remote put while the proxy is
    /// down is one: exit 69, nothing acknowledged).
    refused: AtomicU64,
    /// (seqno, writer, counter) of every acknowledged element.
    elements: Mutex<Vec<(u64, u32, u64)>>,
    /// Failures that are findings, with what the tool said (a few).
    unexpected: Mutex<Vec<String>>,
}

/// The pid of a daemon's current incarnation (0 between them) and its samples.
#[derive(Default)]
struct Daemon {
    pid: AtomicU32,
    kills: AtomicU64,
    /// (rss kB, open descriptors), sampled every second.
    samples: Mutex<Vec<(u64, u64)>>,
}

struct Run {
    ns: Ns,
    abs: String,
    port: u16,
    stop: AtomicBool,
    local: Tally,
    triggered: Tally,
    remote: Tally,
    platform: Daemon,
    proxy: Daemon,
}

fn duration() -> Duration {
    let text = std::env::var("DURATION").unwrap_or_else(|_| "1m".into());
    humantime::parse_duration(&text).unwrap_or_else(|e| panic!("DURATION={text}: {e}"))
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

fn sleep_ms(rng: &mut Rng, from: u64, to: u64) {
    std::thread::sleep(Duration::from_millis(from + rng.below(to - from)));
}

/// Puts batches of `encode(writer, counter)` lines until stopped; a quarter of the
/// puts are SIGKILLed 0-3 ms after they start.
fn writer(run: &Run, target: &str, handler: Option<&str>, id: u32, tally: &Tally, seed: u64) {
    let mut rng = Rng::with_seed(seed);
    let mut counter = 0u64;
    while !run.stop.load(Ordering::Relaxed) {
        let n = 1 + rng.below(20);
        let mut cmd = run.ns.std_cmd("woof-put");
        cmd.args([target, "--lines"]);
        if let Some(h) = handler {
            cmd.args(["-H", h]);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn woof-put");
        let input = encoded_lines(id, counter..counter + n);
        let mut stdin = child.stdin.take().expect("stdin");
        let kill = rng.below(4) == 0;
        let delay = Duration::from_micros(rng.below(3000));
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        if kill {
            std::thread::sleep(delay);
            sigkill(&child);
        }
        let out = child.wait_with_output().expect("wait for woof-put");
        let _ = feeder.join();
        tally.batches.fetch_add(1, Ordering::Relaxed);
        if out.status.success() {
            let (first, last) = parse_range_line(&out.stdout);
            assert_eq!(
                last + 1 - first,
                n,
                "{target}: a batch of {n} got {first}..{last}"
            );
            let mut els = tally.elements.lock().expect("tally");
            els.extend((0..n).map(|i| (first + i, id, counter + i)));
            tally.acked.fetch_add(n, Ordering::Relaxed);
        } else if kill && out.status.code().is_none() {
            tally.killed.fetch_add(1, Ordering::Relaxed);
        } else {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            // Remote puts find the proxy down (69) or killed while they waited.
            let expected =
                handler.is_none() && target.starts_with("woof://") && out.status.code() == Some(69);
            if expected {
                tally.refused.fetch_add(1, Ordering::Relaxed);
            } else {
                let mut u = tally.unexpected.lock().expect("tally");
                if u.len() < 5 {
                    u.push(format!("{target}: {:?}: {err}", out.status.code()));
                }
                tally.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        counter += n;
        sleep_ms(&mut rng, 1, 20);
    }
}

/// A platform, retried while the one just killed still holds its lock (a child
/// it forked may hold it for a moment).
fn start_platform(run: &Run) -> Platform {
    for _ in 0..100 {
        match Platform::try_start(run.ns.std_cmd("woof-platform")) {
            Ok(p) => {
                run.platform.pid.store(p.pid(), Ordering::Relaxed);
                return p;
            }
            Err(e) if e.contains("another woof-platform serves it") => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("woof-platform did not start: {e}"),
        }
    }
    panic!("woof-platform kept being refused after a SIGKILL");
}

/// A proxy on the run's port.
fn start_proxy(run: &Run) -> Proxy {
    let p = Proxy::start_on(run.ns.path(), &format!("tcp://127.0.0.1:{}", run.port));
    run.proxy.pid.store(p.run.child.id(), Ordering::Relaxed);
    p
}

/// Kills and restarts a daemon at random intervals until stopped.
fn killer<T>(run: &Run, d: &Daemon, seed: u64, ms: (u64, u64), start: fn(&Run) -> T, kill: fn(T)) {
    let mut rng = Rng::with_seed(seed);
    while !run.stop.load(Ordering::Relaxed) {
        let it = start(run);
        let until = Instant::now() + Duration::from_millis(ms.0 + rng.below(ms.1 - ms.0));
        while Instant::now() < until && !run.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
        d.pid.store(0, Ordering::Relaxed);
        kill(it);
        d.kills.fetch_add(1, Ordering::Relaxed);
    }
}

/// Follows `target` with a cursor, killed and restarted every 1-10 s, until stopped
/// and then until it has seen `until()` (bounded). Returns the seqnos it printed
/// (each element must be whole) and how many times it was started.
fn follower(
    run: &Run,
    target: &str,
    cursor: &str,
    seed: u64,
    until: &dyn Fn() -> u64,
) -> (HashSet<u64>, u64) {
    let mut rng = Rng::with_seed(seed);
    let mut seen = HashSet::new();
    let mut starts = 0;
    let cursor = run.ns.path().join(cursor);
    let deadline_after_stop = Duration::from_secs(120);
    let mut stopped_at: Option<Instant> = None;
    loop {
        if run.stop.load(Ordering::Relaxed) && stopped_at.is_none() {
            stopped_at = Some(Instant::now());
        }
        if let Some(at) = stopped_at {
            let goal = until();
            if (1..=goal).all(|s| seen.contains(&s)) || at.elapsed() > deadline_after_stop {
                return (seen, starts);
            }
        }
        let mut cmd = run.ns.std_cmd("woof-tail");
        cmd.arg(target)
            .args(["-f", "--format", "csv", "--cursor"])
            .arg(&cursor);
        let mut tail = util::Running::spawn(cmd);
        starts += 1;
        let until_kill = Instant::now() + Duration::from_millis(1000 + rng.below(9000));
        let mut take = |line: String| {
            let l =
                CsvLine::try_parse(&line).unwrap_or_else(|| panic!("{target}: torn line {line:?}"));
            assert!(
                decode(&l.data).is_some(),
                "{target}: seqno {} is not whole",
                l.seqno
            );
            seen.insert(l.seqno);
        };
        while Instant::now() < until_kill && tail.is_running() {
            if let Some(line) = tail.try_line(Duration::from_millis(100)) {
                take(line);
            }
            if stopped_at.is_none() && run.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        for line in tail.kill_and_drain() {
            take(line);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Samples the daemons' RSS and descriptors every second until stopped.
fn sampler(run: &Run) {
    while !run.stop.load(Ordering::Relaxed) {
        for d in [&run.platform, &run.proxy] {
            let pid = d.pid.load(Ordering::Relaxed);
            if pid == 0 {
                continue;
            }
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let rss = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count() as u64);
            if let (Some(rss), Ok(fds)) = (rss, fds) {
                d.samples.lock().expect("samples").push((rss, fds));
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Reads a whole woof as CSV, streaming: seqno -> (writer, counter), or None when
/// the element is not whole.
fn contents(run: &Run, name: &str) -> Vec<(u64, Option<(u32, u64)>)> {
    let mut cmd = run.ns.std_cmd("woof-get");
    cmd.args([name, "1..", "--format", "csv"])
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("woof-get");
    let out = child.stdout.take().expect("stdout");
    let mut all = Vec::new();
    for line in BufReader::new(out).lines() {
        let l = CsvLine::parse(&line.expect("woof-get output"));
        all.push((l.seqno, decode(&l.data)));
    }
    assert!(
        child.wait().expect("woof-get").success(),
        "woof-get {name} 1.."
    );
    all
}

/// Acknowledged elements missing or different, and elements present but not whole.
fn check(run: &Run, name: &str, tally: &Tally) -> (u64, u64, u64) {
    let have = contents(run, name);
    let torn = have.iter().filter(|(_, d)| d.is_none()).count() as u64;
    let by_seqno: std::collections::HashMap<u64, Option<(u32, u64)>> = have.into_iter().collect();
    let mut lost = 0;
    for &(seqno, w, c) in tally.elements.lock().expect("tally").iter() {
        if by_seqno.get(&seqno) != Some(&Some((w, c))) {
            lost += 1;
        }
    }
    (lost, torn, by_seqno.len() as u64)
}

/// The seqnos the handler recorded.
fn ran(run: &Run) -> HashSet<u64> {
    run.ns
        .read("ran")
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// Processes of this run still alive: anything whose command line or environment
/// names the namespace (tools, daemons, shepherds, handlers).
fn leftovers(abs: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut left = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().to_string();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let read = |f: &str| std::fs::read(entry.path().join(f)).unwrap_or_default();
        let (cmdline, environ) = (read("cmdline"), read("environ"));
        let names = |b: &[u8]| b.windows(abs.len()).any(|w| w == abs.as_bytes());
        if names(&cmdline) || names(&environ) {
            left.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    left
}

fn flat(d: &Daemon) -> (String, bool) {
    let s = d.samples.lock().expect("samples");
    let (Some(first), true) = (s.first(), s.len() > 1) else {
        return ("no samples".into(), true);
    };
    let max_rss = s.iter().map(|x| x.0).max().unwrap_or(0);
    let max_fds = s.iter().map(|x| x.1).max().unwrap_or(0);
    let ok = max_rss <= 2 * first.0 + 16 * 1024 && max_fds <= first.1 + 64;
    (
        format!(
            "RSS {:.1}->{:.1} MB max, fds {}->{} max",
            first.0 as f64 / 1024.0,
            max_rss as f64 / 1024.0,
            first.1,
            max_fds
        ),
        ok,
    )
}

#[test]
#[ignore = "runs for DURATION: make soak DURATION=10m"]
fn soak() {
    let ns = Ns::new();
    for name in ["w", "t", "r"] {
        ns.create(name, ELEMENT as u64, HISTORY);
    }
    ns.handler("rec", HANDLER);
    let abs = ns.abs();
    let run = Run {
        ns,
        abs,
        port: free_port(),
        stop: AtomicBool::new(false),
        local: Tally::default(),
        triggered: Tally::default(),
        remote: Tally::default(),
        platform: Daemon::default(),
        proxy: Daemon::default(),
    };
    let length = duration();
    let mut rng = Rng::from_env("soak");
    let seeds: [u64; 16] = std::array::from_fn(|_| rng.next());
    let remote_r = format!("woof://127.0.0.1:{}{}/r", run.port, run.abs);
    let started = Instant::now();
    let latest = |name: &'static str| {
        let run = &run;
        move || run.ns.latest(name)
    };

    let (local_seen, remote_seen) = std::thread::scope(|s| {
        let run = &run;
        s.spawn(|| sampler(run));
        let platform = s.spawn(move || {
            killer(
                run,
                &run.platform,
                seeds[0],
                (300, 5000),
                start_platform,
                |mut p: Platform| {
                    let _ = p.kill();
                },
            )
        });
        let proxy = s.spawn(move || {
            killer(
                run,
                &run.proxy,
                seeds[1],
                (1000, 10_000),
                start_proxy,
                |mut p: Proxy| {
                    let _ = p.run.kill_and_drain();
                },
            )
        });
        let mut writers = Vec::new();
        for id in 0..LOCAL_WRITERS {
            let seed = seeds[2 + id as usize];
            writers.push(s.spawn(move || writer(run, "w", None, id, &run.local, seed)));
        }
        writers.push(s.spawn(move || writer(run, "t", Some("rec"), 100, &run.triggered, seeds[8])));
        let uri = remote_r.clone();
        writers.push(s.spawn(move || writer(run, &uri, None, 200, &run.remote, seeds[9])));
        let w_latest = latest("w");
        let r_latest = latest("r");
        let local_follower = s.spawn(move || follower(run, "w", "w.cur", seeds[10], &w_latest));
        let uri = remote_r.clone();
        let remote_follower = s.spawn(move || follower(run, &uri, "r.cur", seeds[11], &r_latest));

        std::thread::sleep(length);
        run.stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.join().expect("writer");
        }
        platform.join().expect("platform killer");
        proxy.join().expect("proxy killer");
        // Clean daemons for the followers' catch-up and the handlers' backlog.
        let _proxy = start_proxy(run);
        let mut platform = start_platform(run);
        let seen = (
            local_follower.join().expect("local follower"),
            remote_follower.join().expect("remote follower"),
        );
        // Every acknowledged triggered put has its run; a put killed between its
        // element and its trigger (woof(7)) was not acknowledged and may have none.
        let acked: Vec<u64> = run
            .triggered
            .elements
            .lock()
            .expect("tally")
            .iter()
            .map(|e| e.0)
            .collect();
        let drained = wait_until(Duration::from_secs(300), || {
            let ran = ran(run);
            acked.iter().all(|s| ran.contains(s))
        });
        if !drained {
            let ran = ran(run);
            let missing: Vec<&u64> = acked.iter().filter(|s| !ran.contains(s)).collect();
            panic!(
                "{} of {} acknowledged triggered puts never ran in 300 s (first: {:?}); platform: {}",
                missing.len(),
                acked.len(),
                &missing[..missing.len().min(10)],
                platform.stderr_text()
            );
        }
        let (status, _) = platform.stop();
        assert_eq!(status.code(), Some(0), "a clean platform stop");
        seen
    });

    let ran = ran(&run);
    let acked_triggered: HashSet<u64> = run
        .triggered
        .elements
        .lock()
        .expect("tally")
        .iter()
        .map(|e| e.0)
        .collect();
    let missed_triggers = acked_triggered.iter().filter(|s| !ran.contains(s)).count();
    let untriggered = (1..=run.ns.latest("t"))
        .filter(|s| !ran.contains(s) && !acked_triggered.contains(s))
        .count();
    let (lost_w, torn_w, n_w) = check(&run, "w", &run.local);
    let (lost_t, torn_t, n_t) = check(&run, "t", &run.triggered);
    let (lost_r, torn_r, n_r) = check(&run, "r", &run.remote);
    let unseen = |seen: &HashSet<u64>, n: u64| (1..=n).filter(|s| !seen.contains(s)).count();
    let (unseen_w, unseen_r) = (unseen(&local_seen.0, n_w), unseen(&remote_seen.0, n_r));
    let left = if wait_until(PROMPT, || leftovers(&run.abs).is_empty()) {
        Vec::new()
    } else {
        leftovers(&run.abs)
    };
    let (proxy_flat, proxy_ok) = flat(&run.proxy);
    let (platform_flat, platform_ok) = flat(&run.platform);
    let unexpected: Vec<String> = [&run.local, &run.triggered, &run.remote]
        .iter()
        .flat_map(|t| t.unexpected.lock().expect("tally").clone())
        .collect();
    let count = |t: &Tally| {
        format!(
            "{} acked in {} puts ({} killed, {} refused)",
            t.acked.load(Ordering::Relaxed),
            t.batches.load(Ordering::Relaxed),
            t.killed.load(Ordering::Relaxed),
            t.refused.load(Ordering::Relaxed)
        )
    };
    println!(
        "soak {:?}: local {} | triggered {} | remote {} | platform killed {}x, proxy killed {}x | \
         followers restarted {}x/{}x saw {}/{} and {}/{} | lost {} torn {} missed-triggers {} \
         (unacknowledged without a run {}) unseen {} leaked-processes {} unexpected-failures {} | proxy {proxy_flat} | platform {platform_flat}",
        started.elapsed(),
        count(&run.local),
        count(&run.triggered),
        count(&run.remote),
        run.platform.kills.load(Ordering::Relaxed),
        run.proxy.kills.load(Ordering::Relaxed),
        local_seen.1,
        remote_seen.1,
        n_w - unseen_w as u64,
        n_w,
        n_r - unseen_r as u64,
        n_r,
        lost_w + lost_t + lost_r,
        torn_w + torn_t + torn_r,
        missed_triggers,
        untriggered,
        unseen_w + unseen_r,
        left.len(),
        unexpected.len(),
    );
    let _ = n_t;
    assert!(
        unexpected.is_empty(),
        "unexpected failures: {unexpected:#?}"
    );
    assert_eq!(
        (lost_w, lost_t, lost_r),
        (0, 0, 0),
        "acknowledged elements lost"
    );
    assert_eq!((torn_w, torn_t, torn_r), (0, 0, 0), "elements not whole");
    assert_eq!(missed_triggers, 0, "triggers that never ran");
    assert_eq!(
        (unseen_w, unseen_r),
        (0, 0),
        "elements a follower never printed"
    );
    assert!(left.is_empty(), "processes left: {left:#?}");
    assert!(proxy_ok && platform_ok, "descriptors or RSS grew");
}

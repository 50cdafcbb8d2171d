//! Network rows: woof-proxy and the `woof://` tools against a bare ZeroMQ REQ/REP
//! round trip measured in the same run (libzmq both sides, 64 B, loopback TCP).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use woof::Durability;
use woof_net::Uri;
use woof_net::client::{Client, Options};

use super::{
    Context, ELEM, Follower, Probe, Res, Row, SPAWNS, Spec, Stats, command, create_woof, element,
    elements, fmt_ns, fmt_rate, fmt_times, ns_since, run_piped, spawn_once,
};

pub const ROWS: [Spec; 5] = [
    Spec {
        op: "remote put of 64 B on a warm socket (`woof_net` client → woof-proxy)",
        target: "p50 ≤ 1.3× the bare round trip",
    },
    Spec {
        op: "remote get of the latest 64 B element (warm socket)",
        target: "p50 ≤ 1.3× the bare round trip",
    },
    Spec {
        op: "`woof-put --batch woof://…`, 1 000 000 × 64 B from a pipe",
        target: "≥ 300 k/s",
    },
    Spec {
        op: "one-shot `woof-put woof://…` (one process per element)",
        target: "≤ 1.0 ms mean",
    },
    Spec {
        op: "remote follow latency: put → `woof-tail -f woof://… --format raw` prints it (puts 0.5–2 ms apart)",
        target: "p50 ≤ 2× the bare round trip",
    },
];

const RT_SAMPLES: usize = 5_000;
const BATCH_ELEMENTS: usize = 1_000_000;
const BATCH_REPS: usize = 3;

/// A woof-proxy child serving one namespace on a free loopback port; killed on drop.
pub(crate) struct ProxyProc {
    pub(crate) child: Child,
    pub(crate) authority: String,
    /// Kept open: a proxy logs after it started (uplinks connecting).
    _stderr: BufReader<std::process::ChildStderr>,
}

impl ProxyProc {
    pub(crate) fn start(bin: &Path, ns: &Path) -> Res<ProxyProc> {
        let ns = ns.display().to_string();
        ProxyProc::start_with(bin, &["--export", &ns, "--listen", "tcp://127.0.0.1:0"])
    }

    /// A woof-proxy with these arguments, once it names its endpoint.
    pub(crate) fn start_with(bin: &Path, args: &[&str]) -> Res<ProxyProc> {
        let mut cmd = command(bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().ctx("spawning woof-proxy")?;
        let err = child.stderr.take().ok_or("no stderr pipe")?;
        let mut err = BufReader::new(err);
        // The first "serving … on tcp://…" line (a warning may come before it).
        let mut authority = None;
        let mut said = String::new();
        for _ in 0..5 {
            let mut line = String::new();
            err.read_line(&mut line)
                .ctx("reading woof-proxy's first lines")?;
            authority = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("tcp://"))
                .map(str::to_string);
            said.push_str(&line);
            if authority.is_some() || line.is_empty() {
                break;
            }
        }
        let authority =
            authority.ok_or_else(|| format!("woof-proxy did not start: {}", said.trim()))?;
        Ok(ProxyProc {
            child,
            authority,
            _stderr: err,
        })
    }
}

impl Drop for ProxyProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bench run as the echo server of the baseline (`ECHO_ENV` set): a REP socket
/// that sends back what it gets, in its own process, as woof-proxy is.
pub const ECHO_ENV: &str = "WOOF_BENCH_ECHO";

pub fn echo_server() -> ! {
    let serve = || -> Res<()> {
        let ctx = zmq::Context::new();
        let rep = ctx.socket(zmq::REP).ctx("REP socket")?;
        rep.bind("tcp://127.0.0.1:*").ctx("binding REP")?;
        match rep.get_last_endpoint() {
            Ok(Ok(ep)) => println!("{ep}"),
            _ => return Err("REP endpoint".into()),
        }
        std::io::Write::flush(&mut std::io::stdout()).ctx("stdout")?;
        while let Ok(m) = rep.recv_bytes(0) {
            rep.send(m, 0).ctx("REP send")?;
        }
        Ok(())
    };
    let code = i32::from(serve().is_err());
    std::process::exit(code)
}

/// A REQ socket here and an echo REP socket in another process (this bench binary
/// run as `echo_server`): the floor of one request between two processes.
pub(crate) struct Bare {
    req: zmq::Socket,
    _ctx: zmq::Context,
    server: Child,
}

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Bare {
    pub(crate) fn start() -> Res<Bare> {
        let exe = std::env::current_exe().ctx("the bench's own path")?;
        let mut server = std::process::Command::new(exe)
            .env(ECHO_ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .ctx("starting the echo server")?;
        let out = server.stdout.take().ok_or("no stdout pipe")?;
        let mut ep = String::new();
        BufReader::new(out)
            .read_line(&mut ep)
            .ctx("reading the echo server's endpoint")?;
        let ctx = zmq::Context::new();
        let req = ctx.socket(zmq::REQ).ctx("REQ socket")?;
        req.connect(ep.trim()).ctx("connecting REQ")?;
        Ok(Bare {
            req,
            _ctx: ctx,
            server,
        })
    }

    pub(crate) fn round_trip(&self, msg: &[u8]) -> Res<()> {
        self.req.send(msg, 0).ctx("REQ send")?;
        self.req.recv_bytes(0).ctx("REQ recv").map(drop)
    }
}

/// p50/p99 of `op`, individually timed, after a warm-up; `RT_SAMPLES` interleaved
/// samples of each op so machine noise hits all alike.
pub(crate) fn interleaved(ops: &mut [&mut dyn FnMut() -> Res<()>]) -> Res<Vec<Stats>> {
    for op in ops.iter_mut() {
        for _ in 0..500 {
            op()?;
        }
    }
    let mut samples = vec![Vec::with_capacity(RT_SAMPLES); ops.len()];
    for _ in 0..RT_SAMPLES {
        for (op, s) in ops.iter_mut().zip(&mut samples) {
            let start = Instant::now();
            op()?;
            s.push(ns_since(start));
        }
    }
    Ok(samples.iter_mut().map(|s| Stats::of(s)).collect())
}

pub fn network(proxy_bin: &Path, put: &Path, tail: &Path, ns: &Path) -> Res<Vec<Row>> {
    let ns = std::fs::canonicalize(ns).ctx("namespace path")?;
    let w = create_woof(&ns, "remote", 100_000, Durability::None)?;
    w.put(&element(0)).ctx("first put")?;
    let proxy = ProxyProc::start(proxy_bin, &ns)?;
    let uri_text = format!("woof://{}{}/remote", proxy.authority, ns.display());
    let uri = Uri::parse(&uri_text).ctx("URI")?;
    let opts = Options::new(Duration::from_secs(5), Some(&ns.join("no-keys")));
    let client = std::cell::RefCell::new(Client::connect(&uri, &opts).ctx("connecting")?);
    let bare = Bare::start()?;
    let msg = element(1);
    let mut i = 0usize;
    let stats = interleaved(&mut [
        &mut || bare.round_trip(&msg),
        &mut || {
            i += 1;
            let mut c = client.borrow_mut();
            c.put("", "", None, &element(i)).map(drop).ctx("remote put")
        },
        &mut || client_get(&mut client.borrow_mut()),
    ])?;
    let (rt, put_s, get_s) = (stats[0], stats[1], stats[2]);
    let mut rows = Vec::new();
    for (spec, s) in ROWS[..2].iter().zip([put_s, get_s]) {
        let ratio = s.p50 / rt.p50;
        rows.push(Row::measured(
            spec,
            s.show(),
            format!(
                "{} (bare ZeroMQ REQ/REP between two processes, 64 B)",
                rt.show()
            ),
            format!("{} the round trip", fmt_times(ratio)),
            ratio <= 1.3,
        ));
    }
    rows.push(batch(put, &ns, &proxy)?);
    rows.push(oneshot(put, &ns, &uri_text)?);
    rows.push(follow(tail, &uri_text, &w, &bare, rt)?);
    Ok(rows)
}

fn client_get(client: &mut Client) -> Res<()> {
    let got = client.get(0, 0, ELEM).ctx("remote get")?;
    if got.meta.len() != 1 {
        return Err("remote get returned no element".into());
    }
    Ok(())
}

fn batch(put: &Path, ns: &Path, proxy: &ProxyProc) -> Res<Row> {
    let input = elements(BATCH_ELEMENTS);
    let mut rates = Vec::new();
    let mut local_rates = Vec::new();
    for rep in 0..BATCH_REPS {
        let name = format!("bulk{rep}");
        create_woof(ns, &name, BATCH_ELEMENTS as u64, Durability::None)?;
        let mut cmd = command(put);
        cmd.arg(format!("woof://{}{}/{name}", proxy.authority, ns.display()))
            .arg("--batch");
        let (t, out) = run_piped(cmd, &input, "woof-put --batch woof://")?;
        if out.trim() != format!("1..{BATCH_ELEMENTS}") {
            return Err(format!("remote batch printed {out:?}"));
        }
        rates.push(BATCH_ELEMENTS as f64 / t.as_secs_f64());
        let local = format!("local{rep}");
        create_woof(ns, &local, BATCH_ELEMENTS as u64, Durability::None)?;
        let mut cmd = command(put);
        cmd.arg(&local).arg("--batch").arg("-N").arg(ns);
        let (t, _) = run_piped(cmd, &input, "woof-put --batch")?;
        local_rates.push(BATCH_ELEMENTS as f64 / t.as_secs_f64());
    }
    let (rate, local) = (super::median(&mut rates), super::median(&mut local_rates));
    Ok(Row::measured(
        &ROWS[2],
        format!("{} (median of {BATCH_REPS})", fmt_rate(rate)),
        format!("{} (the same input put locally)", fmt_rate(local)),
        format!("{} the local rate", fmt_times(rate / local)),
        rate >= 300_000.0,
    ))
}

fn oneshot(put: &Path, ns: &Path, uri: &str) -> Res<Row> {
    let input = ns.join("one-remote-element");
    std::fs::write(&input, element(7)).ctx("writing the one-element input")?;
    let mut woof_put = command(put);
    woof_put.arg(uri);
    let mut true_cmd = command(Path::new("/bin/true"));
    let (mut woof, mut base) = (Vec::new(), Vec::new());
    for _ in 0..SPAWNS {
        woof.push(spawn_once(&mut woof_put, &input, "woof-put woof://")?);
        base.push(spawn_once(&mut true_cmd, &input, "/bin/true")?);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (m, b) = (mean(&woof), mean(&base));
    let s = Stats::of(&mut woof);
    Ok(Row::measured(
        &ROWS[3],
        format!("mean {} · {}", fmt_ns(m), s.show()),
        format!("mean {} (spawn + wait `/bin/true`)", fmt_ns(b)),
        format!("{} `/bin/true`'s time", fmt_times(m / b)),
        m <= 1_000_000.0,
    ))
}

/// Follow latency, with puts spaced 0.5–2 ms apart so that the follower is parked
/// when each element arrives. The target is judged against the back-to-back round
/// trip; the round trip is also shown measured like the follower (one request per
/// gap, interleaved with the follow samples), where every thread on its path is
/// woken from sleep too.
fn follow(tail: &Path, uri: &str, w: &woof::Woof, bare: &Bare, rt: Stats) -> Res<Row> {
    let mut cmd = command(tail);
    cmd.args(["-f", "-n", "0", "--format", "raw", uri]);
    let follower = Follower::spawn(cmd, Stdio::null(), "woof-tail -f woof://")?;
    let put = |i| w.put(&element(i)).map(drop).ctx("put");
    let mut probe = Probe::new(follower, put).map_err(|e| format!("woof-tail -f woof://: {e}"))?;
    let msg = element(3);
    let (mut follow, mut spaced) = (Vec::new(), Vec::new());
    let mut jitter = 0x2545_f491_u64;
    let mut gap = || {
        jitter = jitter
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        std::thread::sleep(Duration::from_micros(500 + (jitter >> 16) % 1_500));
    };
    for _ in 0..300 {
        gap();
        follow.push(probe.sample()?);
        gap();
        let start = Instant::now();
        bare.round_trip(&msg)?;
        spaced.push(ns_since(start));
    }
    let (s, spaced) = (Stats::of(&mut follow), Stats::of(&mut spaced));
    let ratio = s.p50 / rt.p50;
    Ok(Row::measured(
        &ROWS[4],
        s.show(),
        format!(
            "{} (bare ZeroMQ REQ/REP between two processes, 64 B, back to back); one request per 0.5–2 ms gap: {}",
            rt.show(),
            spaced.show()
        ),
        format!(
            "{} the round trip ({} the spaced one)",
            fmt_times(ratio),
            fmt_times(s.p50 / spaced.p50)
        ),
        ratio <= 2.0,
    ))
}

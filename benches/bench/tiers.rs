//! Tier rows (issue 11): woof-forward's catch-up and live latency, a request
//! through an uplink, and what an idle forwarder costs — each against a baseline
//! measured in the same run.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use woof::{Durability, Woof};
use woof_net::Uri;
use woof_net::client::{Client, Options};

use super::network::{Bare, ProxyProc, interleaved};
use super::{
    Context, ELEM, Res, Row, Spec, Stats, command, create_woof, element, elements, fmt_rate,
    fmt_times, ns_since, run_piped,
};

pub const ROWS: [Spec; 4] = [
    Spec {
        op: "`woof-forward --once`: catch-up of a 1 000 000 × 64 B backlog to woof-proxy on loopback",
        target: "≥ 2 M elements/s and ≥ 0.6× the local `woof-put --batch` rate",
    },
    Spec {
        op: "live forwarding: put at the edge → in the destination woof (puts 0.5–2 ms apart)",
        target: "p50 ≤ 2× the bare round trip",
    },
    Spec {
        op: "a get of the latest 64 B element through an uplink (`woof://cloud/@edge/…`, warm socket, CURVE)",
        target: "p50 ≤ 2.5× the same request made to the edge directly",
    },
    Spec {
        op: "an idle `woof-forward --all` of 100 woofs: resident memory and threads",
        target: "≤ 5 MB RSS idle (one woof), one process and ≤ 8 threads for 100",
    },
];

const BACKLOG: usize = 1_000_000;

/// The rows, each measured on its own (one failing does not hide the others).
pub fn tiers(bins: &Bins, ns: &Path) -> Vec<Row> {
    match setup(ns) {
        Err(why) => super::rows_or_failed(&ROWS, Err(why)),
        Ok((ns, edge, cloud)) => {
            let proxy = match ProxyProc::start(&bins.proxy, &cloud) {
                Ok(p) => p,
                Err(why) => return super::rows_or_failed(&ROWS, Err(why)),
            };
            let one = |i: usize, r: Res<Row>| {
                r.unwrap_or_else(|why| Row::not_measured(&ROWS[i], &format!("failed: {why}")))
            };
            vec![
                one(0, catch_up(bins, &edge, &cloud, &proxy)),
                one(
                    1,
                    Bare::start().and_then(|bare| live(bins, &edge, &cloud, &proxy, &bare)),
                ),
                one(2, uplink(bins, &ns)),
                one(3, idle(bins, &edge, &proxy, &cloud)),
            ]
        }
    }
}

fn setup(ns: &Path) -> Res<(PathBuf, PathBuf, PathBuf)> {
    let ns = std::fs::canonicalize(ns).ctx("namespace path")?;
    let edge = ns.join("tier-edge");
    let cloud = ns.join("tier-cloud");
    for d in [&edge, &cloud] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).ctx("tier namespaces")?;
    }
    Ok((ns, edge, cloud))
}

pub struct Bins {
    pub proxy: PathBuf,
    pub put: PathBuf,
    pub forward: PathBuf,
}

fn uri(proxy: &ProxyProc, ns: &Path, name: &str) -> String {
    format!("woof://{}{}/{name}", proxy.authority, ns.display())
}

fn catch_up(bins: &Bins, edge: &Path, cloud: &Path, proxy: &ProxyProc) -> Res<Row> {
    let src = create_woof(edge, "backlog", BACKLOG as u64, Durability::None)?;
    {
        let mut w = src.writer().ctx("writer")?;
        for i in 0..BACKLOG {
            w.append(&element(i)).ctx("backlog put")?;
        }
    }
    let (mut rates, mut local_rates) = (Vec::new(), Vec::new());
    let input = elements(BACKLOG);
    for rep in 0..3 {
        let dest = format!("backlog{rep}");
        create_woof(cloud, &dest, BACKLOG as u64, Durability::None)?;
        let mut cmd = command(&bins.forward);
        cmd.arg("-N")
            .arg(edge)
            .args(["backlog", &uri(proxy, cloud, &dest), "--once"]);
        let (t, _) = run_piped(cmd, b"", "woof-forward --once")?;
        let got = Woof::open(&cloud.join(&dest)).ctx("destination")?.latest();
        if got != BACKLOG as u64 {
            return Err(format!("woof-forward delivered {got} of {BACKLOG}"));
        }
        rates.push(BACKLOG as f64 / t.as_secs_f64());
        let local = format!("local{rep}");
        create_woof(edge, &local, BACKLOG as u64, Durability::None)?;
        let mut cmd = command(&bins.put);
        cmd.arg(&local).arg("--batch").arg("-N").arg(edge);
        let (t, _) = run_piped(cmd, &input, "woof-put --batch")?;
        local_rates.push(BACKLOG as f64 / t.as_secs_f64());
        // The forwarder's state names this destination; a new one each rep.
        let _ = std::fs::remove_dir_all(edge.join(".woof/forward"));
    }
    let (rate, local) = (super::median(&mut rates), super::median(&mut local_rates));
    Ok(Row::measured(
        &ROWS[0],
        format!("{} (median of 3, whole process)", fmt_rate(rate)),
        format!(
            "{} (`woof-put --batch` of the same 64 MB locally)",
            fmt_rate(local)
        ),
        format!("{} the local rate", fmt_times(rate / local)),
        rate >= 2_000_000.0 && rate / local >= 0.6,
    ))
}

/// A child killed on drop.
struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn live(bins: &Bins, edge: &Path, cloud: &Path, proxy: &ProxyProc, bare: &Bare) -> Res<Row> {
    let src = create_woof(edge, "live", 100_000, Durability::None)?;
    let dst = create_woof(cloud, "live", 100_000, Durability::None)?;
    let mut cmd = command(&bins.forward);
    cmd.arg("-N")
        .arg(edge)
        .args(["live", &uri(proxy, cloud, "live")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _fwd = Kid(cmd.spawn().ctx("starting woof-forward")?);
    // Parked on the destination's futex, as any follower of it would be (a spin
    // would take one of the CPUs the forwarder and the proxy need).
    let arrived = |n: u64, limit: Duration| {
        let start = Instant::now();
        while dst.latest() < n {
            if start.elapsed() > limit {
                return false;
            }
            dst.wait_after(n - 1, Some(Duration::from_millis(100)));
        }
        true
    };
    // Warm up: the forwarder connects and catches up.
    for i in 0..50 {
        src.put(&element(i)).ctx("put")?;
        if !arrived(i as u64 + 1, Duration::from_secs(10)) {
            return Err("the forwarder delivered nothing within 10 s".into());
        }
    }
    let msg = element(3);
    let (mut lat, mut rt) = (Vec::new(), Vec::new());
    let mut jitter = 0x2545_f491_u64;
    let mut gap = || {
        jitter = jitter
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        std::thread::sleep(Duration::from_micros(500 + (jitter >> 16) % 1_500));
    };
    for i in 50..550u64 {
        gap();
        let start = Instant::now();
        src.put(&element(i as usize)).ctx("put")?;
        if !arrived(i + 1, Duration::from_secs(10)) {
            return Err(format!("element {} never arrived", i + 1));
        }
        lat.push(ns_since(start));
        gap();
        let start = Instant::now();
        bare.round_trip(&msg)?;
        rt.push(ns_since(start));
    }
    let (s, rt) = (Stats::of(&mut lat), Stats::of(&mut rt));
    Ok(Row::measured(
        &ROWS[1],
        s.show(),
        format!(
            "{} (bare ZeroMQ REQ/REP between two processes, 64 B, one per gap)",
            rt.show()
        ),
        format!("{} the round trip", fmt_times(s.p50 / rt.p50)),
        s.p50 <= 2.0 * rt.p50,
    ))
}

/// A cloud with --accept-uplinks and an edge dialling it, on loopback, with keys.
fn uplink(bins: &Bins, ns: &Path) -> Res<Row> {
    let keys = ns.join("tier-keys");
    let _ = std::fs::remove_dir_all(&keys);
    let (ck, ek, uk) = (keys.join("cloud"), keys.join("edge"), keys.join("user"));
    for d in [&ck, &ek, &uk] {
        let out = command(&bins.proxy)
            .arg("--gen-keys")
            .arg(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ctx("woof-proxy --gen-keys")?;
        if !out.success() {
            return Err("woof-proxy --gen-keys failed".into());
        }
    }
    let edge_ns = ns.join("tier-uplink-edge");
    let _ = std::fs::remove_dir_all(&edge_ns);
    std::fs::create_dir_all(&edge_ns).ctx("edge namespace")?;
    let w = create_woof(&edge_ns, "load", 1000, Durability::None)?;
    w.put(&element(1)).ctx("put")?;
    std::fs::copy(ek.join("id.pub"), ck.join("clients/edge1.pub")).ctx("edge key")?;
    std::fs::copy(uk.join("id.pub"), ck.join("clients/user.pub")).ctx("user key")?;
    // The direct baseline: the user is also the edge's own client.
    std::fs::copy(uk.join("id.pub"), ek.join("clients/user.pub")).ctx("user key")?;
    std::fs::write(ek.join("acl"), format!("{} user read\n", edge_ns.display())).ctx("acl")?;
    let cloud = ProxyProc::start_with(
        &bins.proxy,
        &[
            "--accept-uplinks",
            "--listen",
            "tcp://127.0.0.1:0",
            "--keys",
            &ck.display().to_string(),
        ],
    )?;
    for d in [&ek, &uk] {
        std::fs::copy(
            ck.join("id.pub"),
            d.join(format!("servers/{}.pub", cloud.authority)),
        )
        .ctx("trust")?;
    }
    let edge = ProxyProc::start_with(
        &bins.proxy,
        &[
            "--export",
            &edge_ns.display().to_string(),
            "--listen",
            "tcp://127.0.0.1:0",
            "--uplink",
            &format!("tcp://{}", cloud.authority),
            "--keys",
            &ek.display().to_string(),
        ],
    )?;
    std::fs::copy(
        ek.join("id.pub"),
        uk.join(format!("servers/{}.pub", edge.authority)),
    )
    .ctx("trust edge")?;
    let opts = Options::new(Duration::from_secs(5), Some(&uk));
    let via = format!(
        "woof://{}/@edge1{}/load",
        cloud.authority,
        edge_ns.display()
    );
    let direct = format!("woof://{}{}/load", edge.authority, edge_ns.display());
    let connect = |u: &str| -> Res<Client> {
        let uri = Uri::parse(u).ctx("URI")?;
        let start = Instant::now();
        loop {
            // The edge registers with its first hello; until then: not connected.
            let mut c = Client::connect(&uri, &opts).ctx("connecting")?;
            if c.get(0, 0, ELEM).is_ok() {
                return Ok(c);
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(format!("{u}: not reachable within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let (via_c, direct_c) = (
        std::cell::RefCell::new(connect(&via)?),
        std::cell::RefCell::new(connect(&direct)?),
    );
    let get = |c: &std::cell::RefCell<Client>| -> Res<()> {
        let got = c.borrow_mut().get(0, 0, ELEM).ctx("get")?;
        if got.meta.len() != 1 {
            return Err("get returned no element".into());
        }
        Ok(())
    };
    let stats = interleaved(&mut [&mut || get(&via_c), &mut || get(&direct_c)])?;
    let (v, d) = (stats[0], stats[1]);
    Ok(Row::measured(
        &ROWS[2],
        v.show(),
        format!("{} (the same get, direct to the edge's proxy)", d.show()),
        format!("{} the direct request", fmt_times(v.p50 / d.p50)),
        v.p50 <= 2.5 * d.p50,
    ))
}

fn idle(bins: &Bins, edge: &Path, proxy: &ProxyProc, cloud: &Path) -> Res<Row> {
    let one_ns = edge.join("one");
    let many_ns = edge.join("many");
    for d in [&one_ns, &many_ns] {
        std::fs::create_dir_all(d).ctx("namespace")?;
    }
    create_woof(&one_ns, "w0", 1000, Durability::None)?;
    for i in 0..100 {
        create_woof(&many_ns, &format!("w{i}"), 1000, Durability::None)?;
        create_woof(cloud, &format!("w{i}"), 1000, Durability::None)?;
    }
    let start = |ns: &Path, args: &[String]| -> Res<Kid> {
        let mut cmd = command(&bins.forward);
        cmd.arg("-N")
            .arg(ns)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Ok(Kid(cmd.spawn().ctx("starting woof-forward")?))
    };
    let one = start(&one_ns, &["w0".into(), uri(proxy, cloud, "w0")])?;
    let many = start(
        &many_ns,
        &[
            "--all".into(),
            format!("woof://{}{}", proxy.authority, cloud.display()),
        ],
    )?;
    std::thread::sleep(Duration::from_secs(3));
    let (rss1, _) = proc_status(one.0.id())?;
    let (rss100, threads100) = proc_status(many.0.id())?;
    Ok(Row::measured(
        &ROWS[3],
        format!(
            "one woof: {} kB RSS; 100 woofs: {} kB RSS, {threads100} thread(s)",
            rss1, rss100
        ),
        "–".into(),
        "–".into(),
        rss1 <= 5 * 1024 && threads100 <= 8,
    ))
}

/// VmRSS (kB) and Threads of a process.
fn proc_status(pid: u32) -> Res<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ctx("/proc status")?;
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("Threads:")))
}

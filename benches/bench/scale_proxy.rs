//! Scale rows (issue 14), one woof-proxy under many clients: 5 000 remote follows
//! parked on 100 woofs beside 5 000 idle connections. The latency of one more
//! follower (`woof-tail -f woof://…`) is measured with none parked and with all of
//! them, against the bare round trip of the same run; then the proxy's memory and
//! threads, and how long until every parked follow has seen its woof's put. Last,
//! one-shot clients (a connection per put) arriving from 8 threads at once.
//! (`make scale` holds the same loads as tests, without timings.)

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use woof::Durability;
use woof_net::Uri;
use woof_net::client::{Client, Options};
use woof_net::proto::Op;

use super::network::{Bare, ProxyProc, interleaved};
use super::*;

const PARKED: usize = 5_000;
const IDLE: usize = 5_000;
const WOOFS: usize = 100;
const SAMPLES: usize = 200;

pub(crate) const SCALE_PROXY: [Spec; 3] = [
    Spec {
        op: "remote follow latency, put → `woof-tail -f woof://…` prints it, with 5 000 other follows parked on the proxy and 5 000 idle connections (puts 0.5–2 ms apart)",
        target: "p50 ≤ 3× the bare round trip",
    },
    Spec {
        op: "woof-proxy holding 5 000 parked remote follows on 100 woofs + 5 000 idle connections",
        target: "RSS ≤ 64 MB and ≤ 16 threads with the 5 000 follows",
    },
    Spec {
        op: "one-shot clients: 4 000 remote puts from 8 threads, each on a new connection (`Client::put_once`, as `woof-put woof://…` does)",
        target: "≥ 2 000/s, none refused",
    },
];

/// Puts per second of 8 threads × 500 puts to `uri`, each on a new connection
/// (`one_shot`) or on the thread's one connection; errors count as failures.
fn arrivals(uri: &Uri, opts: &Options, one_shot: bool) -> Res<(f64, u64)> {
    let failed = std::sync::atomic::AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let failed = &failed;
            s.spawn(move || {
                let mut warm = None;
                for i in 0..500u64 {
                    let v = element((t * 500 + i) as usize);
                    let ok = if one_shot {
                        Client::put_once(uri, opts, "", "", None, &v).is_ok()
                    } else {
                        if warm.is_none() {
                            warm = Client::connect(uri, opts).ok();
                        }
                        warm.as_mut()
                            .is_some_and(|c| c.put("", "", None, &v).is_ok())
                    };
                    if !ok {
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let rate = 4_000.0 / start.elapsed().as_secs_f64();
    Ok((rate, failed.into_inner()))
}

/// (VmRSS in bytes, Threads) of a process.
fn rss_threads(pid: u32) -> (f64, u64) {
    let (kib, threads) = super::util::rss_threads(pid);
    (kib as f64 * 1024.0, threads)
}

fn mb(bytes: f64) -> String {
    format!("{:.0} MB", bytes / 1_048_576.0)
}

/// `SAMPLES` follow latencies of `woof-tail -f` on `uri`, puts spaced 0.5–2 ms.
fn follow_latency(tail: &Path, uri: &str, w: &woof::Woof) -> Res<Stats> {
    let mut cmd = command(tail);
    cmd.args(["-f", "-n", "0", "--format", "raw", uri]);
    let follower = Follower::spawn(cmd, Stdio::null(), "woof-tail -f woof://")?;
    let put = |i| w.put(&element(i)).map(drop).ctx("put");
    let mut probe = Probe::new(follower, put).map_err(|e| format!("woof-tail -f woof://: {e}"))?;
    let mut samples = Vec::with_capacity(SAMPLES);
    let mut jitter = 0x2545_f491_u64;
    for _ in 0..SAMPLES {
        jitter = jitter
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        std::thread::sleep(Duration::from_micros(500 + (jitter >> 16) % 1_500));
        samples.push(probe.sample()?);
    }
    Ok(Stats::of(&mut samples))
}

pub(crate) fn scale_proxy(root: &Path) -> Res<Vec<Row>> {
    let (proxy_bin, tail) = (
        binary("woof-proxy").ok_or("woof-proxy not built")?,
        binary("woof-tail").ok_or("woof-tail not built")?,
    );
    let files = super::util::raise_files();
    if (files as usize) < PARKED + IDLE + 200 {
        return Err(format!(
            "needs {} descriptors, ulimit -Hn is {files}",
            PARKED + IDLE + 200
        ));
    }
    let ns = std::fs::canonicalize(root)
        .ctx("namespace path")?
        .join("followers");
    std::fs::create_dir_all(&ns).ctx("namespace")?;
    let probe = create_woof(&ns, "probe", 100_000, Durability::None)?;
    let mut woofs = Vec::new();
    for i in 0..WOOFS {
        woofs.push(create_woof(&ns, &format!("p{i:03}"), 16, Durability::None)?);
    }
    let ns_text = ns.display().to_string();
    let proxy = ProxyProc::start_with(
        &proxy_bin,
        &[
            "--export",
            &ns_text,
            "--listen",
            "tcp://127.0.0.1:0",
            "--timeout",
            "300s",
        ],
    )?;
    let pid = proxy.child.id();
    let (rss_start, _) = rss_threads(pid);
    let uri = |name: &str| format!("woof://{}{ns_text}/{name}", proxy.authority);
    let bare = Bare::start()?;
    let msg = element(1);
    let rt = interleaved(&mut [&mut || bare.round_trip(&msg)])?[0];
    let alone = follow_latency(&tail, &uri("probe"), &probe)?;
    let opts = Options::new(Duration::from_secs(300), Some(&ns.join("no-keys")));
    let mut parked = Vec::with_capacity(PARKED);
    for i in 0..PARKED {
        let u = Uri::parse(&uri(&format!("p{:03}", i % WOOFS))).ctx("URI")?;
        let mut c = Client::connect(&u, &opts).ctx("connecting a follower")?;
        c.send(Op::Follow, &[b"0", b"290000", b"1"])
            .ctx("sending a follow")?;
        parked.push(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    let (rss_parked, threads_parked) = rss_threads(pid);
    let mut idle = Vec::with_capacity(IDLE);
    let probe_uri = Uri::parse(&uri("probe")).ctx("URI")?;
    for _ in 0..IDLE {
        let mut c = Client::connect(&probe_uri, &opts).ctx("connecting")?;
        c.info().ctx("an idle client's request")?;
        idle.push(c);
    }
    let crowded = follow_latency(&tail, &uri("probe"), &probe)?;
    let (rss_all, threads_all) = rss_threads(pid);
    let put = Instant::now();
    for (i, w) in woofs.iter().enumerate() {
        w.put(&element(i)).ctx("put")?;
    }
    for c in &mut parked {
        c.recv(Duration::from_secs(60))
            .ctx("a parked follow's answer")?;
    }
    let all_seen = ns_since(put);
    drop(parked);
    drop(idle);
    let (shots, shots_failed) = arrivals(&probe_uri, &opts, true)?;
    let (warm, _) = arrivals(&probe_uri, &opts, false)?;
    let ratio = crowded.p50 / rt.p50;
    let lim = super::util::limits();
    Ok(vec![
        Row::measured(
            &SCALE_PROXY[0],
            format!("{} ({lim})", crowded.show()),
            format!(
                "{} (bare ZeroMQ REQ/REP, back to back); the same follower with none parked: {}",
                rt.show(),
                alone.show()
            ),
            format!(
                "{} the round trip ({} none parked)",
                fmt_times(ratio),
                fmt_times(crowded.p50 / alone.p50)
            ),
            ratio <= 3.0,
        ),
        Row::measured(
            &SCALE_PROXY[1],
            format!(
                "RSS {} and {threads_parked} threads with the 5 000 follows, {} and {threads_all} \
                 threads with the idle ones too; every parked follow saw its woof's put within {} \
                 ({lim})",
                mb(rss_parked),
                mb(rss_all),
                fmt_ns(all_seen)
            ),
            format!("{} at start, no clients", mb(rss_start)),
            format!(
                "{:.1} kB a connection",
                rss_all / (PARKED + IDLE) as f64 / 1024.0
            ),
            rss_parked <= 64.0 * 1_048_576.0 && threads_parked <= 16,
        ),
        Row::measured(
            &SCALE_PROXY[2],
            format!("{} ({shots_failed} failed; {lim})", fmt_rate(shots)),
            format!(
                "{} (the same puts, one connection per thread)",
                fmt_rate(warm)
            ),
            format!("{} the warm rate", fmt_times(shots / warm)),
            shots >= 2_000.0 && shots_failed == 0,
        ),
    ])
}

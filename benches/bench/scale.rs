//! Scale rows (issue 14), namespaces: 10 000 woofs in one namespace. woof-ls lists
//! them, woof-platform and woof-proxy start serving it, each against the same in a
//! namespace of one woof (ls -l of the directory for woof-ls). Each row states the
//! limits it ran under (CPUs, open files).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use woof::Durability;

use super::*;

const WOOFS: usize = 10_000;
const RUNS: usize = 5;

pub(crate) const SCALE_NAMESPACE: [Spec; 4] = [
    Spec {
        op: "`woof-ls` of a namespace of 10 000 woofs",
        target: "≤ 1 s",
    },
    Spec {
        op: "`woof-platform` start → serving, 10 000 woofs in the namespace",
        target: "≤ 1 s",
    },
    Spec {
        op: "`woof-proxy --export` start → serving, 10 000 woofs in the namespace",
        target: "≤ 1 s",
    },
    Spec {
        op: "`woof-forward --all` of a namespace of 10 000 woofs: a new woof created and put to → its element at the destination",
        target: "≤ 1 s",
    },
];

/// A namespace `root/name` of `n` woofs (and handlers/, so a platform serves it).
fn namespace(root: &Path, name: &str, n: usize) -> Res<PathBuf> {
    let dir = fs::canonicalize(root).ctx("namespace root")?.join(name);
    fs::create_dir_all(dir.join("handlers")).ctx("creating the namespace")?;
    for i in 0..n {
        create_woof(&dir, &format!("w{i:05}"), 16, Durability::None)?;
    }
    Ok(dir)
}

/// Wall time from spawning `cmd` to its stderr line containing `ready`; the
/// process is killed after.
fn until_ready(mut cmd: std::process::Command, ready: &str, what: &str) -> Res<f64> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().ctx(what)?;
    let err = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(err).lines();
    let found = loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(ready) => break Ok(ns_since(start)),
            Some(Ok(_)) => continue,
            _ => break Err(format!("{what} ended without '{ready}'")),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    found
}

fn median_of(mut f: impl FnMut() -> Res<f64>) -> Res<f64> {
    let mut v = Vec::new();
    for _ in 0..RUNS {
        v.push(f()?);
    }
    Ok(median(&mut v))
}

pub(crate) fn scale_namespace(root: &Path) -> Res<Vec<Row>> {
    let (ls, platform, proxy) = ["woof-ls", "woof-platform", "woof-proxy"]
        .map(|b| binary(b).ok_or(format!("{b} not built")))
        .into();
    let (ls, platform, proxy) = (ls?, platform?, proxy?);
    let big = namespace(root, "ns-10k", WOOFS)?;
    let small = namespace(root, "ns-1", 1)?;
    let lim = super::util::limits();
    let time_ls = |dir: &Path| {
        median_of(|| {
            let mut cmd = command(&ls);
            cmd.arg("-N")
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let start = Instant::now();
            let status = cmd.status().ctx("woof-ls")?;
            status
                .success()
                .then(|| ns_since(start))
                .ok_or_else(|| format!("woof-ls failed ({status})"))
        })
    };
    let woof_ls = time_ls(&big)?;
    let ls_l = median_of(|| {
        let mut cmd = std::process::Command::new("ls");
        cmd.arg("-l").arg(&big).stdout(Stdio::null());
        let start = Instant::now();
        cmd.status().ctx("ls -l")?;
        Ok(ns_since(start))
    })?;
    let start_platform = |dir: &Path| {
        median_of(|| {
            let mut cmd = command(&platform);
            cmd.arg("-N").arg(dir);
            until_ready(cmd, "woof-platform: serving ", "woof-platform")
        })
    };
    let start_proxy = |dir: &Path| {
        median_of(|| {
            let mut cmd = command(&proxy);
            cmd.arg("--export")
                .arg(dir)
                .args(["--listen", "tcp://127.0.0.1:0"]);
            until_ready(cmd, "woof-proxy: serving ", "woof-proxy")
        })
    };
    let (p_big, p_small) = (start_platform(&big)?, start_platform(&small)?);
    let (x_big, x_small) = (start_proxy(&big)?, start_proxy(&small)?);
    let fwd = binary("woof-forward").ok_or("woof-forward not built")?;
    let (f_big, f_small) = (
        pickup(&fwd, &proxy, root, &big, "big")?,
        pickup(&fwd, &proxy, root, &small, "small")?,
    );
    let second = Duration::from_secs(1).as_nanos() as f64;
    Ok(vec![
        Row::measured(
            &SCALE_NAMESPACE[0],
            format!("{} (median of {RUNS}; {lim})", fmt_ns(woof_ls)),
            format!("{} (`ls -l` of the same directory)", fmt_ns(ls_l)),
            format!("{} ls -l", fmt_times(woof_ls / ls_l)),
            woof_ls <= second,
        ),
        Row::measured(
            &SCALE_NAMESPACE[1],
            format!("{} (median of {RUNS}; {lim})", fmt_ns(p_big)),
            format!("{} (a namespace of one woof)", fmt_ns(p_small)),
            format!("{} one woof", fmt_times(p_big / p_small)),
            p_big <= second,
        ),
        Row::measured(
            &SCALE_NAMESPACE[2],
            format!("{} (median of {RUNS}; {lim})", fmt_ns(x_big)),
            format!("{} (a namespace of one woof)", fmt_ns(x_small)),
            format!("{} one woof", fmt_times(x_big / x_small)),
            x_big <= second,
        ),
        Row::measured(
            &SCALE_NAMESPACE[3],
            format!("{} (median of {RUNS}; {lim})", fmt_ns(f_big)),
            format!("{} (a namespace of one woof)", fmt_ns(f_small)),
            format!("{} one woof", fmt_times(f_big / f_small)),
            f_big <= second,
        ),
    ])
}

/// `woof-forward --all` of `edge` into a woof-proxy's namespace whose woofs already
/// exist (made here, like the edge's): once it forwards the last of them, the
/// median time from creating a new woof and putting one element to that element
/// being readable at the destination.
fn pickup(fwd: &Path, proxy: &Path, root: &Path, edge: &Path, tag: &str) -> Res<f64> {
    let cloud = fs::canonicalize(root)
        .ctx("root")?
        .join(format!("cloud-{tag}"));
    fs::create_dir_all(&cloud).ctx("cloud namespace")?;
    let names: Vec<String> = fs::read_dir(edge)
        .ctx("edge namespace")?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with('w'))
        .collect();
    for n in &names {
        create_woof(&cloud, n, 16, Durability::None)?;
    }
    let cloud_text = cloud.display().to_string();
    let server = super::network::ProxyProc::start_with(
        proxy,
        &[
            "--export",
            &cloud_text,
            "--listen",
            "tcp://127.0.0.1:0",
            "--anonymous",
            "all",
        ],
    )?;
    let mut cmd = command(fwd);
    cmd.arg("-N")
        .arg(edge)
        .arg("--all")
        .arg("--create")
        .arg(format!("woof://{}{cloud_text}/", server.authority))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _running = super::util::Guard(cmd.spawn().ctx("woof-forward --all")?);
    let arrived = |name: &str, limit: Duration| -> Res<f64> {
        let start = Instant::now();
        loop {
            if let Ok(w) = woof::Woof::open(&cloud.join(name))
                && w.latest() >= 1
            {
                return Ok(ns_since(start));
            }
            if start.elapsed() > limit {
                return Err(format!("{name} did not arrive within {limit:?}"));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    };
    // Every stream open and asked its destination: the last woof arrives.
    let last = names.iter().max().ok_or("no woofs")?;
    woof::Woof::open(&edge.join(last))
        .ctx("edge woof")?
        .put(&[0u8; ELEM])
        .ctx("put")?;
    arrived(last, Duration::from_secs(300))?;
    median_of(|| {
        let name = format!("new{}", woof::now_ns());
        let start = Instant::now();
        create_woof(edge, &name, 16, Durability::None)?
            .put(&[1u8; ELEM])
            .ctx("put")?;
        arrived(&name, Duration::from_secs(30))?;
        Ok(ns_since(start))
    })
}

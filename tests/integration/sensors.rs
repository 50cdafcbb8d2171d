//! The cron example's sensor scripts (examples/sensors/) against a temporary
//! namespace, with the tools of this build first on PATH: each puts records that
//! read back as valid typed values.

use crate::util;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use util::{Json, Ns, ok_stdout, parse_flat_json};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/sensors")
        .join(name)
}

/// Runs a sensor script in `ns` (WOOF_NAMESPACE) with the test build's tools.
fn run(ns: &Ns, name: &str, args: &[&str], env: &[(&str, &Path)]) {
    let bins = Path::new(util::exe("woof-put")).parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(script(name));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WOOF_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("PATH", path)
        .env("WOOF_NAMESPACE", ns.path())
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run sensor script");
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every record of woof `name` as (key, value) pairs, from `woof-get --format json`.
fn records(ns: &Ns, name: &str) -> Vec<Vec<(String, Json)>> {
    let out = ok_stdout(ns.cmd("woof-get").args([name, "1..", "--format", "json"]));
    String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| parse_flat_json(l).unwrap_or_else(|| panic!("not JSON: {l}")))
        .collect()
}

fn field<'a>(rec: &'a [(String, Json)], key: &str) -> &'a Json {
    &rec.iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {rec:?}"))
        .1
}

fn num(rec: &[(String, Json)], key: &str) -> f64 {
    match field(rec, key) {
        Json::Num(n) => n.parse().expect("number"),
        v => panic!("{key} is {v:?}"),
    }
}

fn text<'a>(rec: &'a [(String, Json)], key: &str) -> &'a str {
    match field(rec, key) {
        Json::Str(s) => s,
        v => panic!("{key} is {v:?}"),
    }
}

#[test]
fn every_sensor_script_puts_valid_records() {
    let ns = Ns::new();
    run(&ns, "setup", &[], &[]);
    // Running setup again keeps what is there.
    run(&ns, "setup", &[], &[]);
    run(&ns, "load", &[], &[]);
    run(&ns, "memory", &[], &[]);
    run(&ns, "disk", &["/", "/tmp"], &[]);

    let load = records(&ns, "load");
    assert_eq!(load.len(), 1);
    for k in ["load1", "load5", "load15"] {
        assert!(num(&load[0], k) >= 0.0);
    }
    assert!(text(&load[0], "time").ends_with('Z'));
    let mem = records(&ns, "memory");
    assert_eq!(mem.len(), 1);
    let (total, avail) = (num(&mem[0], "total_kb"), num(&mem[0], "available_kb"));
    assert!(total > 0.0 && avail > 0.0 && avail <= total, "{mem:?}");
    let disk = records(&ns, "disk");
    assert_eq!(disk.len(), 2);
    assert_eq!(text(&disk[0], "mount"), "/");
    assert!(num(&disk[0], "size_kb") >= num(&disk[0], "used_kb"));

    // A fake thermal zone in millidegrees.
    let sys = tempfile::tempdir().expect("temp dir");
    let zone = sys.path().join("thermal_zone0");
    std::fs::create_dir(&zone).expect("zone dir");
    std::fs::write(zone.join("type"), "x86_pkg_temp\n").expect("type");
    std::fs::write(zone.join("temp"), "42500\n").expect("temp");
    run(&ns, "thermal", &[], &[("THERMAL_ROOT", sys.path())]);
    let thermal = records(&ns, "thermal");
    assert_eq!(thermal.len(), 1);
    assert_eq!(text(&thermal[0], "zone"), "x86_pkg_temp");
    assert_eq!(num(&thermal[0], "celsius"), 42.5);
    // No zones: nothing put, still a success.
    let empty = tempfile::tempdir().expect("temp dir");
    run(&ns, "thermal", &[], &[("THERMAL_ROOT", empty.path())]);
    assert_eq!(ns.latest("thermal"), 1);

    // The network probe: a listening port connects, a closed one does not.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let open = listener.local_addr().expect("addr").port().to_string();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("listen");
        l.local_addr().expect("addr").port().to_string()
    };
    run(&ns, "netprobe", &["127.0.0.1", &open], &[]);
    run(&ns, "netprobe", &["127.0.0.1", &closed], &[]);
    let probes = records(&ns, "netprobe");
    assert_eq!(probes.len(), 2);
    assert_eq!(field(&probes[0], "ok"), &Json::Bool(true));
    assert_eq!(text(&probes[0], "target"), format!("127.0.0.1:{open}"));
    assert!(num(&probes[0], "connect_ms") > 0.0);
    assert_eq!(field(&probes[1], "ok"), &Json::Bool(false));
}

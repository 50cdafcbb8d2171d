//! CSPOT's C API on woof (issue 13): programs written against woofc.h as CSPOT's
//! apps are (tests/cspot_c/), built with the system C compiler against libwoofc.a
//! and woof-cc, run against a namespace, under woof-platform and through
//! woof-proxy; bad input through the API returns CSPOT's failure values.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::util;

use util::Ns;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn libwoofc() -> PathBuf {
    util::beside_binaries("libwoofc.a", "libwoof")
}

fn cflags() -> String {
    format!(
        "-I{0}/libwoof/include -I{0}/tests/cspot_c",
        repo().display()
    )
}

fn libs() -> String {
    format!(
        "{} -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc",
        libwoofc().display()
    )
}

/// `cc -Wall -Wextra -Werror` of tests/cspot_c/SOURCE into `out`.
fn cc(source: &str, out: &Path) {
    let mut cmd = Command::new("cc");
    cmd.args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(out)
        .args(cflags().split_whitespace())
        .arg(repo().join("tests/cspot_c").join(source))
        .args(libs().split_whitespace());
    let out = cmd.output().expect("cc");
    assert!(
        out.status.success(),
        "cc {source}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `woof-cc -o OUT SOURCE` with the flags of this build.
fn woof_cc(out: &Path, args: &[&str]) -> std::process::Output {
    Command::new(repo().join("libwoof/woof-cc"))
        .arg("-o")
        .arg(out)
        .args(args)
        .env("WOOF_CFLAGS", cflags())
        .env("WOOF_LIBS", libs())
        .output()
        .expect("woof-cc")
}

/// Element `seqno` of woof `name`, as woof-get reads it.
fn element(ns: &Ns, name: &str, seqno: u64) -> Vec<u8> {
    let hex = ns.get_hex(name, &seqno.to_string());
    util::unhex(hex.first().expect("one element")).expect("hex")
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bad_input_through_the_c_api_returns_cspots_failure_values_and_changes_nothing() {
    let ns = Ns::new();
    let bin = ns.path().join("misuse");
    cc("misuse.c", &bin);
    std::fs::write(ns.path().join("notawoof.txt"), "not a woof\n").expect("file");
    let out = Command::new(&bin)
        .current_dir(ns.path())
        .env_remove("WOOFC_DIR")
        .env_remove("WOOFC_NAMESPACE")
        .env_remove("WOOF_NAMESPACE")
        .output()
        .expect("run misuse");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout(&out), "survived\n", "stderr: {err}");
    assert!(out.status.success());
    // Each failure is one line naming the call.
    assert!(err.lines().all(|l| l.starts_with("libwoof: WooF")), "{err}");
    assert!(
        err.contains("libwoof: WooFPut(t): namespace: WooFInit was not called"),
        "{err}"
    );
    assert!(
        err.contains("libwoof: WooFPut(missing): missing: no such woof in"),
        "{err}"
    );
    assert!(
        err.contains("WooFCreate(notawoof.txt): notawoof.txt: is not a woof"),
        "{err}"
    );
    // CSPOT's reset never reaches a file that is not a woof.
    assert_eq!(
        std::fs::read_to_string(ns.path().join("notawoof.txt")).expect("file"),
        "not a woof\n"
    );
}

#[test]
fn a_cspot_handler_built_with_woof_cc_runs_under_woof_platform() {
    let ns = Ns::new();
    std::fs::create_dir_all(ns.path().join("handlers")).expect("handlers/");
    for h in ["hw", "fails"] {
        let out = woof_cc(
            &ns.path().join("handlers").join(h),
            &[repo()
                .join(format!("tests/cspot_c/{h}.c"))
                .to_str()
                .expect("path")],
        );
        assert!(
            out.status.success(),
            "woof-cc {h}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let start = ns.path().join("hw-start");
    cc("hw-start.c", &start);
    ns.create("reply", 255, 10);
    let _platform = ns.platform(&[]);
    // hw-start as CSPOT's: WooFInit from WOOFC_DIR, create, put with handler hw.
    let out = Command::new(&start)
        .args(["-W", "hello", "-s", "bark one"])
        .env("WOOFC_DIR", ns.path())
        .output()
        .expect("hw-start");
    assert_eq!(
        stdout(&out),
        "1\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = ns.wait_results(Duration::from_secs(10), "hw ran", |r| {
        r.iter()
            .any(|x| x.handler == "hw" && x.outcome != "started")
    });
    let hw = r.iter().rfind(|x| x.handler == "hw").expect("hw's record");
    assert_eq!(
        (hw.outcome.as_str(), hw.code),
        ("exited", Some(0)),
        "{}",
        hw.brief()
    );
    // The handler read its element through the handle and put into another woof.
    let reply = element(&ns, "reply", 1);
    let text = String::from_utf8_lossy(&reply);
    assert_eq!(text.trim_end_matches('\0'), "seen 1: bark one");
    // A handler returning < 0 failed: exit 1, and its return value in the record.
    let out = Command::new(&start)
        .args(["-W", "hello", "-H", "fails"])
        .env("WOOFC_DIR", ns.path())
        .output()
        .expect("hw-start");
    assert!(out.status.success());
    let r = ns.wait_results(Duration::from_secs(10), "fails ran", |r| {
        r.iter()
            .any(|x| x.handler == "fails" && x.outcome != "started")
    });
    let f = r
        .iter()
        .rfind(|x| x.handler == "fails")
        .expect("fails' record");
    assert_eq!(f.code, Some(1), "{}", f.brief());
    assert!(f.detail.contains("fails returned -7"), "{}", f.brief());
    // woof-cc's mistakes.
    let bad = woof_cc(&ns.path().join("handlers/9lives"), &["x.c"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        "woof-cc: '9lives' is not a C function name: give it with -n NAME\n"
    );
    let out = ns.path().join("handlers/hw2");
    let none = woof_cc(&out, &[]);
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&none.stderr),
        format!(
            "woof-cc: no source file: woof-cc [-n NAME] -o {} SOURCE.c...\n",
            out.display()
        )
    );
    assert!(!out.exists(), "nothing built");
}

#[test]
fn senspot_like_clients_put_and_get_locally_and_through_woof_proxy() {
    let ns = Ns::new();
    let bin = ns.path().join("senspot");
    cc("senspot.c", &bin);
    ns.create("temp", 1088, 100);
    let senspot = |args: &[&str], input: &str| {
        let mut cmd = Command::new(&bin);
        cmd.args(args)
            .env("WOOFC_DIR", ns.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("senspot");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("input");
        child.wait_with_output().expect("senspot")
    };
    let put = senspot(&["put", "-W", "temp", "-T", "d", "-L"], "21.5\n");
    assert_eq!(
        stdout(&put),
        "1\n",
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let get = senspot(&["get", "-W", "temp", "-L"], "");
    let line = stdout(&get);
    assert!(line.starts_with("21.500000 time: "), "{line}");
    assert!(line.ends_with(" 127.0.0.1 seq_no: 1\n"), "{line}");
    // The element is CSPOT's layout: woof-get sees the bytes senspot wrote.
    let raw = element(&ns, "temp", 1);
    assert_eq!(raw.len(), 1088);
    assert_eq!(raw[0], b'd');
    assert_eq!(
        f64::from_le_bytes(raw[8..16].try_into().expect("8 bytes")),
        21.5
    );
    // Through woof-proxy, with URIs and no WooFInit, as senspot runs on sensors.
    let proxy = util::Proxy::start(&[ns.path()], &[]);
    let uri = proxy.uri(ns.path(), "temp");
    let put = senspot(&["put", "-W", &uri, "-T", "s"], "kitchen door open\n");
    assert_eq!(
        stdout(&put),
        "2\n",
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let get = senspot(&["get", "-W", &uri], "");
    assert!(
        stdout(&get).starts_with("kitchen door open time: "),
        "{}",
        String::from_utf8_lossy(&get.stderr)
    );
    let get = senspot(&["get", "-W", &uri, "-S", "1"], "");
    assert!(stdout(&get).starts_with("21.500000 time: "));
    // A woof the proxy does not have: -1, one line, not a hang.
    let missing = proxy.uri(ns.path(), "nope");
    let get = senspot(&["get", "-W", &missing], "");
    assert_eq!(get.status.code(), Some(1));
    let err = String::from_utf8_lossy(&get.stderr);
    assert!(
        err.starts_with("libwoof: WooFGetLatestSeqno(woof://") && err.contains("no such woof"),
        "{err}"
    );
}

//! `woof-ls` through the real binary: every woof of a namespace in each format;
//! non-woof files and directories are left out; damaged woofs are listed with the
//! reason (and reported on stderr) without failing the listing.

use crate::util;

use std::path::Path;

use util::Ns;

/// A namespace with a typed woof holding 3 elements, an empty plain one, a damaged
/// and a truncated woof (the committed fixtures), a text file, `handlers/` and
/// `.woof/`.
fn namespace() -> Ns {
    let ns = Ns::new();
    ns.cmd("woof-create")
        .args([
            "temps",
            "-n",
            "2",
            "--schema",
            "n:u8,s:str4",
            "--durability",
            "batch",
        ])
        .assert()
        .success();
    ns.cmd("woof-put")
        .args(["temps", "--csv"])
        .write_stdin("1,a\n2,b\n3,c\n")
        .assert()
        .success();
    ns.create("plain", 16, 8);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (fixture, name) in [
        ("bad-header-checksum.woof", "damaged"),
        ("truncated.woof", "cut"),
        ("not-a-woof.txt", "notes.txt"),
    ] {
        std::fs::copy(fixtures.join(fixture), ns.file(name)).expect("copy fixture");
    }
    std::fs::create_dir_all(ns.path().join("handlers")).expect("handlers/");
    std::fs::create_dir_all(ns.path().join(".woof")).expect(".woof/");
    ns
}

const WARNINGS: &str = "woof-ls: cut: truncated or extended woof: 4376 bytes, expected 4416\n\
                        woof-ls: damaged: bad header checksum\n";

/// When temps' latest element was put, as woof-get prints it in `time_format`.
fn last_put_as(ns: &Ns, time_format: &str) -> String {
    let out = util::ok_stdout(ns.cmd("woof-get").args([
        "temps",
        "--format",
        "csv",
        "--time-format",
        time_format,
    ]));
    let line = String::from_utf8(out).expect("utf8");
    line.split(',').nth(1).expect("put_time").to_string()
}

fn last_put(ns: &Ns) -> String {
    last_put_as(ns, "rfc3339")
}

#[test]
fn table_lists_woofs_and_flags_damaged_ones() {
    let ns = namespace();
    let out = ns
        .cmd("woof-ls")
        .assert()
        .success()
        .stderr(WARNINGS)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).expect("utf8");
    // The put time to the second; its age a few seconds at most (the only cell
    // that depends on when the test runs).
    let put = last_put(&ns);
    let put = format!("{}Z", put.split_once('.').expect("fraction").0);
    let age = out
        .lines()
        .find(|l| l.starts_with("temps"))
        .and_then(|l| l.split_whitespace().nth(6))
        .expect("temps' age")
        .to_string();
    assert!(
        age.ends_with('s') && age[..age.len() - 1].parse::<u64>().is_ok_and(|s| s < 60),
        "{age}"
    );
    assert_eq!(
        out,
        format!(
            "NAME     SIZE  HISTORY  LATEST  OLDEST  PUT                   AGE  DURABILITY  SCHEMA\n\
             cut         -        -       -       -  -                       -  -           (cannot open: truncated or extended woof: 4376 bytes, expected 4416)\n\
             damaged     -        -       -       -  -                       -  -           (cannot open: bad header checksum)\n\
             plain      16        8       0       -  -                       -  none\n\
             temps       5        2       3       2  {put}  {age:>3}  batch       n:u8,s:str4\n"
        )
    );
}

#[test]
fn csv_and_json_list_the_same() {
    let ns = namespace();
    let put = last_put(&ns);
    let put_ns = last_put_as(&ns, "unix-ns");
    ns.cmd("woof-ls")
        .args(["--format", "csv"])
        .assert()
        .success()
        .stderr(WARNINGS)
        .stdout(format!(
            "name,element_size,history,latest,oldest,last_put,durability,schema,error\n\
             cut,,,,,,,,\"truncated or extended woof: 4376 bytes, expected 4416\"\n\
             damaged,,,,,,,,bad header checksum\n\
             plain,16,8,0,0,,none,,\n\
             temps,5,2,3,2,{put},batch,\"n:u8,s:str4\",\n"
        ));
    ns.cmd("woof-ls")
        .args(["--format", "json"])
        .assert()
        .success()
        .stderr(WARNINGS)
        .stdout(format!(
            "{{\"name\":\"cut\",\"error\":\"truncated or extended woof: 4376 bytes, expected 4416\"}}\n\
             {{\"name\":\"damaged\",\"error\":\"bad header checksum\"}}\n\
             {{\"name\":\"plain\",\"element_size\":16,\"history\":8,\"latest\":0,\"oldest\":0,\"last_put\":null,\"last_put_ns\":null,\"durability\":\"none\",\"schema\":null}}\n\
             {{\"name\":\"temps\",\"element_size\":5,\"history\":2,\"latest\":3,\"oldest\":2,\"last_put\":\"{put}\",\"last_put_ns\":{put_ns},\"durability\":\"batch\",\"schema\":\"n:u8,s:str4\"}}\n"
        ));
}

#[test]
fn an_empty_namespace_lists_only_the_heading_and_a_missing_one_is_an_error() {
    let ns = Ns::new();
    ns.cmd("woof-ls")
        .assert()
        .success()
        .stderr("")
        .stdout("NAME  SIZE  HISTORY  LATEST  OLDEST  PUT  AGE  DURABILITY  SCHEMA\n");
    let missing = ns.path().join("nope");
    util::bare("woof-ls")
        .arg("-N")
        .arg(&missing)
        .assert()
        .code(66)
        .stdout("")
        .stderr(format!(
            "woof-ls: namespace {}: no such file or directory\n",
            missing.display()
        ));
}

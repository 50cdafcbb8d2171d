//! Typed records through the real binaries: woof-create --schema, woof-put
//! --csv/--json, woof-get/woof-tail --format csv|json. Round trips for every type at
//! its boundaries, and every bad input of issue 5 with its message and exit code
//! (and nothing of the bad record put).

use crate::util;

use std::io::{Read, Write};
use std::process::Stdio;

use util::{Guard, Ns, PROMPT, fails, ok_stdout, wait_until};

/// Every type, in schema order.
const ALL: &str =
    "a:i8,b:i16,c:i32,d:i64,e:u8,f:u16,g:u32,h:u64,x:f32,y:f64,k:bool,t:timestamp,s:str8,z:bytes3";

/// CSV rows of ALL, each in the form woof-get prints (so they must come back
/// identical): minimums, maximums, float specials, text at the str8 boundary.
const ROWS: [&str; 5] = [
    "-128,-32768,-2147483648,-9223372036854775808,0,0,0,0,-3.4028235e38,-1.7976931348623157e308,false,1677-09-21T00:12:43.145224192Z,,000000",
    "127,32767,2147483647,9223372036854775807,255,65535,4294967295,18446744073709551615,3.4028235e38,1.7976931348623157e308,true,2262-04-11T23:47:16.854775807Z,abcdefgh,ffffff",
    "0,0,0,0,0,0,0,0,NaN,inf,true,1970-01-01T00:00:00.000000000Z,aaaaaaé,00ff10",
    "1,-1,1,-1,1,1,1,1,-inf,-0.0,false,2026-11-22T06:00:00.000000001Z,\"a,\"\"b\"\"\",abcdef",
    "-1,2,-3,4,5,6,7,8,1e-45,5e-324,true,2026-11-22T06:00:00.123456789Z,\"x\ny\",010203",
];

fn typed_ns(schema: &str) -> Ns {
    let ns = Ns::new();
    ns.cmd("woof-create")
        .args(["t", "-n", "100", "--schema", schema])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    ns
}

fn text(out: Vec<u8>) -> String {
    String::from_utf8(out).expect("output is UTF-8")
}

/// `woof-get t ARGS`, which must succeed quietly.
fn get(ns: &Ns, args: &[&str]) -> String {
    text(ok_stdout(ns.cmd("woof-get").arg("t").args(args)))
}

/// Puts `input` with `woof-put t FLAGS`; returns what it printed.
fn put(ns: &Ns, flags: &[&str], input: &str) -> String {
    text(ok_stdout(
        ns.cmd("woof-put").arg("t").args(flags).write_stdin(input),
    ))
}

/// Drops the first two CSV columns (seqno, put_time) of each printed record. The
/// put times hold no commas or quotes, so cutting at the first two commas is exact.
fn fields_only(csv: &str) -> String {
    let mut out = String::new();
    let mut rest = csv;
    while !rest.is_empty() {
        let (_, after_seqno) = rest.split_once(',').expect("seqno column");
        let (_, fields) = after_seqno.split_once(',').expect("put_time column");
        // A record ends at a newline outside quotes.
        let mut quoted = false;
        let mut end = fields.len();
        for (i, c) in fields.char_indices() {
            match c {
                '"' => quoted = !quoted,
                '\n' if !quoted => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(&fields[..end]);
        rest = &fields[end..];
    }
    out
}

#[test]
fn csv_round_trips_every_type_at_its_boundaries() {
    let ns = typed_ns(ALL);
    let input: String = ROWS.iter().map(|r| format!("{r}\n")).collect();
    assert_eq!(put(&ns, &["--csv"], &input), "1..5\n");
    let out = get(&ns, &["1..5", "--format", "csv"]);
    assert!(out.starts_with("1,"), "{out}");
    assert_eq!(fields_only(&out), input);

    // The printed form, header included, goes back in unchanged (seqno and put_time
    // columns are ignored): an archive restores.
    let with_header = get(&ns, &["1..5", "--format", "csv", "--header"]);
    assert!(with_header.starts_with("seqno,put_time,a,b,c,d,e,f,g,h,x,y,k,t,s,z\n"));
    assert_eq!(put(&ns, &["--csv"], &with_header), "6..10\n");
    assert_eq!(fields_only(&get(&ns, &["6..10", "--format", "csv"])), input);
}

#[test]
fn json_round_trips_every_type_at_its_boundaries() {
    let ns = typed_ns(ALL);
    let objects = [
        r#"{"a":-128,"b":-32768,"c":-2147483648,"d":-9223372036854775808,"e":0,"f":0,"g":0,"h":0,"x":-3.4028235e38,"y":-1.7976931348623157e308,"k":false,"t":"1677-09-21T00:12:43.145224192Z","s":"","z":"000000"}"#,
        r#"{"a":127,"b":32767,"c":2147483647,"d":9223372036854775807,"e":255,"f":65535,"g":4294967295,"h":18446744073709551615,"x":3.4028235e38,"y":1.7976931348623157e308,"k":true,"t":"2262-04-11T23:47:16.854775807Z","s":"abcdefgh","z":"ffffff"}"#,
        r#"{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"x":"NaN","y":"inf","k":true,"t":"1970-01-01T00:00:00.000000000Z","s":"aaaaaaé","z":"00ff10"}"#,
        r#"{"a":1,"b":-1,"c":1,"d":-1,"e":1,"f":1,"g":1,"h":1,"x":"-inf","y":-0.0,"k":false,"t":"2026-11-22T06:00:00.000000001Z","s":"\"\\\n\t\u0001","z":"abcdef"}"#,
    ];
    let input: String = objects.iter().map(|o| format!("{o}\n")).collect();
    assert_eq!(put(&ns, &["--json"], &input), "1..4\n");
    let out = get(&ns, &["1..4", "--format", "json"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4);
    for (i, (line, obj)) in lines.iter().zip(objects).enumerate() {
        let prefix = format!("{{\"seqno\":{},\"put_time\":\"", i + 1);
        assert!(line.starts_with(&prefix), "{line}");
        // After seqno and put_time: exactly the object that went in.
        let (_, rest) = line.split_once("Z\",").expect("put_time");
        assert_eq!(format!("{{{rest}"), obj);
    }
    // What woof-get prints goes back in as it is (seqno and put_time are ignored).
    assert_eq!(put(&ns, &["--json"], &out), "5..8\n");
    let again = get(&ns, &["5..8", "--format", "json"]);
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.split_once("Z\",").expect("put_time").1.to_string())
            .collect()
    };
    assert_eq!(strip(&again), strip(&out));
}

#[test]
fn info_shows_the_schema_and_its_layout() {
    let ns = typed_ns("time:timestamp=now,sensor:str16,celsius:f64,ok:bool");
    assert_eq!(ns.info_field("t", "element size"), "33 bytes");
    assert_eq!(
        ns.info_field("t", "schema"),
        "time:timestamp=now,sensor:str16,celsius:f64,ok:bool"
    );
    let info = get(&ns, &["--info"]);
    assert!(
        info.contains(
            "layout:\n    offset      size  field    type\n         0         8  time     timestamp (default now)\n         8        16  sensor   str16\n        24         8  celsius  f64\n        32         1  ok       bool\n"
        ),
        "{info}"
    );
    let json = get(&ns, &["--info", "--format", "json"]);
    assert!(json.contains(r#""schema":"time:timestamp=now,sensor:str16,celsius:f64,ok:bool","fields":[{"name":"time","type":"timestamp","offset":0,"size":8,"default":"now"},{"name":"sensor","type":"str16","offset":8,"size":16,"default":null},"#), "{json}");
}

#[test]
fn defaults_fill_missing_fields_and_headers_choose_columns() {
    let ns = typed_ns("time:timestamp=now,sensor:str8=attic,celsius:f64");
    assert_eq!(put(&ns, &["--json"], "{\"celsius\":4.25}\n"), "1..1\n");
    assert_eq!(
        put(
            &ns,
            &["--csv"],
            "celsius,sensor\n1.5,hall\n\n2.5,\"cellar\"\n"
        ),
        "2..3\n"
    );
    let out = get(
        &ns,
        &["1..3", "--format", "csv", "--time-format", "unix-ns"],
    );
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3);
    for (row, (sensor, celsius)) in
        rows.iter()
            .zip([("attic", "4.25"), ("hall", "1.5"), ("cellar", "2.5")])
    {
        assert_eq!(&row[3..], [sensor, celsius]);
        // `now` as default: the put time, to within the put (same clock, read first).
        let (put_ns, time_ns): (i64, i64) =
            (row[1].parse().expect("ns"), row[2].parse().expect("ns"));
        assert!(
            time_ns <= put_ns && put_ns - time_ns < 10_000_000_000,
            "{row:?}"
        );
    }
    // --no-header takes a header-like first record as data (and fails on it here).
    fails(
        ns.cmd("woof-put")
            .args(["t", "--csv", "--no-header"])
            .write_stdin("celsius,sensor,time\n"),
        65,
        "woof-put: t: line 1, field time: 'celsius' is not a timestamp (RFC 3339, Unix seconds, now, or -5m)",
    );
}

#[test]
fn time_formats() {
    let ns = typed_ns("t:timestamp");
    put(
        &ns,
        &["--csv"],
        "2026-11-22T06:00:00.25Z\n1969-12-31T23:59:59.5Z\n-1h\n",
    );
    let out = get(&ns, &["1..2", "--format", "csv", "--time-format", "unix"]);
    let col = |out: &str, i: usize| -> Vec<String> {
        out.lines()
            .map(|l| l.split(',').nth(i).expect("column").to_string())
            .collect()
    };
    assert_eq!(col(&out, 2), ["1795327200.250000000", "-0.500000000"]);
    let out = get(
        &ns,
        &["1..2", "--format", "json", "--time-format", "unix-ns"],
    );
    assert!(
        out.lines()
            .next()
            .expect("line")
            .ends_with(",\"t\":1795327200250000000}"),
        "{out}"
    );
    let out = get(&ns, &["3", "--format", "csv", "--time-format", "relative"]);
    let rel = col(&out, 2);
    assert!(
        rel[0].starts_with("-59m") || rel[0].starts_with("-1h"),
        "{out}"
    );
    // Unix seconds go back in as they came out.
    let unix = get(&ns, &["1", "--format", "csv", "--time-format", "unix"]);
    put(&ns, &["--csv"], &format!("{}\n", col(&unix, 2)[0]));
    assert_eq!(
        col(&get(&ns, &["4", "--format", "csv"]), 2),
        ["2026-11-22T06:00:00.250000000Z"]
    );
}

#[test]
fn tail_decodes_typed_fields_with_a_header() {
    let ns = typed_ns("n:u16,s:str4");
    put(&ns, &["--csv"], "1,a\n2,b\n3,c\n");
    let out = text(ok_stdout(
        ns.cmd("woof-tail")
            .args(["t", "-n", "2", "--format", "csv", "--header"]),
    ));
    assert_eq!(fields_only(&out), "n,s\n2,b\n3,c\n");
    fails(
        ns.cmd("woof-tail").args(["t", "--header"]),
        2,
        "woof-tail: --header needs --format csv",
    );
}

#[test]
fn undecodable_bytes_are_reported_and_the_rest_printed() {
    let ns = typed_ns("n:u8,ok:bool");
    // A raw put bypasses the schema: 0x07 is no bool.
    ns.put("t", b"\x05\x07");
    ns.cmd("woof-get")
        .args(["t", "--format", "csv"])
        .assert()
        .code(65)
        .stdout(predicates::str::ends_with(",5,\n"))
        .stderr("woof-get: t: seqno 1, field ok: byte 0x07 is not a bool (0 or 1)\n");
}

// ---------------------------------------------------------------------------
// Bad input: one line naming line and field, exit 65, nothing of the record put.
// ---------------------------------------------------------------------------

#[test]
fn bad_schemas_create_nothing() {
    let ns = Ns::new();
    let cases: [(&str, i32, String); 6] = [
        (
            "a:u8,b:f65",
            2,
            "woof-create: w: schema: field 2 'b': unknown type 'f65' (types: i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 bool timestamp strN bytesN)".into(),
        ),
        (
            "a:u8,b:u8,a:i8",
            2,
            "woof-create: w: schema: field 3 'a': duplicate field name".into(),
        ),
        (
            &"a:u8,".repeat(700),
            2,
            "woof-create: w: schema: 3500 bytes of schema text (at most 3072)".into(),
        ),
        (
            "a:bytes67108864,b:u8",
            2,
            "woof-create: w: schema: fields need more than 67108864 bytes (the largest element)".into(),
        ),
        (
            "a:u8=x",
            2,
            "woof-create: w: schema: field 1 'a': default: 'x' is not an integer".into(),
        ),
        (
            "seqno:u64",
            2,
            "woof-create: w: schema: field 1 'seqno': reserved name (woof-get prints seqno and put_time before the fields)".into(),
        ),
    ];
    for (schema, code, msg) in &cases {
        fails(
            ns.cmd("woof-create")
                .args(["w", "-n", "4", "--schema", schema]),
            *code,
            msg,
        );
    }
    fails(
        ns.cmd("woof-create")
            .args(["w", "-n", "4", "-s", "2", "--schema", "a:u8"]),
        2,
        "woof-create: w: -s 2 disagrees with the schema's 1-byte elements (leave -s out)",
    );
    assert!(ns.listing().is_empty(), "{:?}", ns.listing());
}

#[test]
fn bad_records_are_named_and_nothing_of_them_is_put() {
    let ns = typed_ns("time:timestamp,sensor:str4,celsius:f64,n:u8");
    let csv = |input: &[u8], msg: &str| {
        let before = ns.snapshot();
        fails(
            ns.cmd("woof-put").args(["t", "--csv"]).write_stdin(input),
            65,
            msg,
        );
        assert_eq!(ns.snapshot(), before, "{msg}");
    };
    let p = "woof-put: t: line 1";
    csv(
        b"now,a,1.5\n",
        &format!("{p}: 3 fields, the schema has 4 (time,sensor,celsius,n)"),
    );
    csv(
        b"now,a,1.5,1,2\n",
        &format!("{p}: 5 fields, the schema has 4 (time,sensor,celsius,n)"),
    );
    csv(
        b"now,a,1.5,256\n",
        &format!("{p}, field n: 256 is out of range for u8 (0 to 255)"),
    );
    csv(
        b"now,a,1.5,-1\n",
        &format!("{p}, field n: -1 is out of range for u8 (0 to 255)"),
    );
    csv(
        b"now,a,warm,1\n",
        &format!("{p}, field celsius: 'warm' is not a number"),
    );
    csv(
        b"now,a,1e999,1\n",
        &format!("{p}, field celsius: 1e999 is out of range for f64"),
    );
    csv(
        b"now,abcde,1.5,1\n",
        &format!("{p}, field sensor: 5 bytes of text, longer than str4 (at most 4 bytes)"),
    );
    csv(
        "now,ab\u{e9}\u{e9},1.5,1\n".as_bytes(),
        &format!("{p}, field sensor: 6 bytes of text, longer than str4 (at most 4 bytes)"),
    );
    csv(
        b"now,\xff\xfe,1.5,1\n",
        &format!("{p}, field sensor: invalid UTF-8"),
    );
    csv(
        b"yesterday,a,1.5,1\n",
        &format!(
            "{p}, field time: 'yesterday' is not a timestamp (RFC 3339, Unix seconds, now, or -5m)"
        ),
    );
    csv(
        b"2026-02-30T00:00:00Z,a,1.5,1\n",
        &format!(
            "{p}, field time: '2026-02-30T00:00:00Z' is not a timestamp (RFC 3339, Unix seconds, now, or -5m)"
        ),
    );
    csv(
        b"now,\"a\nb,1.5,1\n",
        &format!("{p}: quoted field not closed before the end of input"),
    );

    let json = |input: &str, msg: &str| {
        let before = ns.snapshot();
        fails(
            ns.cmd("woof-put").args(["t", "--json"]).write_stdin(input),
            65,
            msg,
        );
        assert_eq!(ns.snapshot(), before, "{msg}");
    };
    json("[1,2]\n", &format!("{p}: not a JSON object"));
    json("\"x\"\n", &format!("{p}: not a JSON object"));
    json(
        r#"{"time":"now","sensor":"a","celsius":1,"n":1,"extra":2}"#,
        &format!("{p}, field extra: unknown field (the schema has time,sensor,celsius,n)"),
    );
    json(
        r#"{"time":"now","sensor":"a","n":1}"#,
        &format!("{p}, field celsius: missing, and no default declared"),
    );
    json(
        r#"{"time":"now","sensor":"a","celsius":"hot","n":1}"#,
        &format!("{p}, field celsius: 'hot' is not a number"),
    );
    json(
        r#"{"time":"now","sensor":5,"celsius":1,"n":1}"#,
        &format!("{p}, field sensor: expected a string, got 5"),
    );
}

#[test]
fn csv_or_json_on_a_woof_without_a_schema_is_refused() {
    let ns = Ns::new();
    ns.create("plain", 8, 4);
    for flag in ["--csv", "--json"] {
        fails(
            ns.cmd("woof-put")
                .args(["plain", flag])
                .write_stdin("1,2\n"),
            65,
            &format!(
                "woof-put: plain: {flag} needs a woof with a schema (this one has none; see woof-create --schema)"
            ),
        );
    }
    assert_eq!(ns.latest("plain"), 0);
}

#[test]
fn a_bad_record_stops_the_put_or_is_skipped_on_request() {
    let ns = typed_ns("n:u8,s:str4");
    let input = "1,a\n2,b\n300,c\n4,d\nx,e\n6,f\n";
    // Stop at the first: what came before is put and printed; the rest is not.
    ns.cmd("woof-put")
        .args(["t", "--csv"])
        .write_stdin(input)
        .assert()
        .code(65)
        .stdout("1..2\n")
        .stderr("woof-put: t: line 3, field n: 300 is out of range for u8 (0 to 255)\n");
    assert_eq!(ns.latest("t"), 2);
    // Skip and report: every bad record on stderr, the good ones put, exit 65.
    ns.cmd("woof-put")
        .args(["t", "--csv", "--skip-bad"])
        .write_stdin(input)
        .assert()
        .code(65)
        .stdout("3..6\n")
        .stderr(
            "woof-put: t: line 3, field n: 300 is out of range for u8 (0 to 255)\n\
             woof-put: t: line 5, field n: 'x' is not an integer\n\
             woof-put: t: 2 bad records skipped\n",
        );
    let out = get(&ns, &["3..6", "--format", "csv"]);
    assert_eq!(fields_only(&out), "1,a\n2,b\n4,d\n6,f\n");
}

#[test]
fn typed_records_forward_live_through_a_pipeline() {
    // woof-tail -f A --format csv --header | woof-put --csv -N B A: the header names
    // the columns, each record arrives as it is put.
    let schema = "time:timestamp,sensor:str8,celsius:f64";
    let a = typed_ns(schema);
    let b = typed_ns(schema);
    let mut tail = a.std_cmd("woof-tail");
    tail.args(["-f", "t", "--format", "csv", "--header"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut tail = Guard(tail.spawn().expect("spawn woof-tail"));
    let pipe = tail.0.stdout.take().expect("tail stdout");
    let mut fwd = util::bare_std("woof-put");
    fwd.args(["--csv", "--batch", "-N"])
        .arg(b.path())
        .arg("t")
        .stdin(pipe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut fwd = Guard(fwd.spawn().expect("spawn woof-put"));
    for i in 1..=3u64 {
        put(
            &a,
            &["--csv"],
            &format!("2026-11-22T06:00:0{i}Z,\"s,{i}\",{i}.5\n"),
        );
        assert!(
            wait_until(PROMPT, || b.latest("t") == i),
            "record {i} was not forwarded while the pipeline ran"
        );
    }
    util::sigkill(&tail.0);
    let status = util::wait_bounded(&mut fwd.0, PROMPT, "woof-put --csv");
    let mut out = String::new();
    fwd.0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert!(status.success(), "{status:?}");
    assert_eq!(out, "1..3\n");
    assert_eq!(
        fields_only(&get(&b, &["1..3", "--format", "csv"])),
        fields_only(&get(&a, &["1..3", "--format", "csv"]))
    );
}

#[test]
fn a_cursor_archives_each_record_once() {
    let ns = typed_ns("n:u32");
    let archive = ns.path().join("archive.csv");
    let cursor = ns.path().join("archive.cursor");
    let run = || {
        let out = ok_stdout(
            ns.cmd("woof-tail")
                .args(["t", "--format", "csv", "--cursor"])
                .arg(&cursor),
        );
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&archive)
            .expect("archive");
        f.write_all(&out).expect("append");
    };
    put(&ns, &["--csv"], "1\n2\n");
    run();
    run(); // nothing new: nothing added
    put(&ns, &["--csv"], "3\n");
    run();
    let text = std::fs::read_to_string(&archive).expect("read archive");
    assert_eq!(fields_only(&text), "1\n2\n3\n");
    let seqnos: Vec<&str> = text
        .lines()
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(seqnos, ["1", "2", "3"]);
}

#[test]
fn header_names_the_columns_of_every_kind_of_csv() {
    let ns = Ns::new();
    ns.create("plain", 2, 4);
    ns.put("plain", b"ab");
    let out = text(ok_stdout(
        ns.cmd("woof-get")
            .args(["plain", "--format", "csv", "--header"]),
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "seqno,put_time,hex");
    assert!(
        lines[1].starts_with("1,") && lines[1].ends_with(",6162"),
        "{out}"
    );
}

#[test]
fn json_printed_over_several_lines_as_jq_prints_it_is_one_record() {
    let ns = typed_ns("sensor:str16,celsius:f64,ok:bool");
    // What `jq . readings.json` prints: each object over several lines, a brace in
    // a string, an escaped quote, and a compact line among them.
    let input = "{\n  \"sensor\": \"attic {north}\",\n  \"celsius\": 4.25,\n  \"ok\": true\n}\n\
                 {\"sensor\":\"cellar \\\"b\\\"\",\"celsius\":-1.5,\"ok\":false}\n\
                 {\n  \"sensor\": \"roof\",\n  \"celsius\": 0.5,\n  \"ok\": true\n}\n";
    assert_eq!(put(&ns, &["--json"], input), "1..3\n");
    assert_eq!(
        fields_only(&get(&ns, &["1..3", "--format", "csv"])),
        "attic {north},4.25,true\n\"cellar \"\"b\"\"\",-1.5,false\nroof,0.5,true\n"
    );
    // An object never closed: named by the line it started on, nothing of it put.
    ns.cmd("woof-put")
        .args(["t", "--json"])
        .write_stdin("{\"sensor\":\"a\",\"celsius\":1,\"ok\":true}\n{\n  \"sensor\": \"b\",\n")
        .assert()
        .code(65)
        .stdout("4..4\n")
        .stderr("woof-put: t: line 2: object not closed before the end of input\n");
}

#[test]
fn a_typed_woof_prints_csv_with_a_header_on_a_pipe_and_a_table_on_a_terminal() {
    let ns = typed_ns("sensor:str8,celsius:f64,ok:bool,n:u16");
    put(
        &ns,
        &["--csv"],
        "kitchen,21.5,true,7\nattic,-3.25,false,65535\n",
    );
    let times: Vec<String> = get(&ns, &["1..2", "--format", "csv"])
        .lines()
        .map(|l| l.split(',').nth(1).expect("put_time").to_string())
        .collect();
    // On a pipe, without --format: CSV with its header (woof-get and woof-tail).
    let csv = format!(
        "seqno,put_time,sensor,celsius,ok,n\n1,{},kitchen,21.5,true,7\n2,{},attic,-3.25,false,65535\n",
        times[0], times[1]
    );
    assert_eq!(get(&ns, &["1..2"]), csv);
    assert_eq!(
        text(ok_stdout(ns.cmd("woof-tail").arg("t"))),
        csv,
        "woof-tail too"
    );
    // What goes back into woof-put --csv puts the same records.
    let again = typed_ns("sensor:str8,celsius:f64,ok:bool,n:u16");
    put(&again, &["--csv"], &csv);
    assert_eq!(
        fields_only(&get(&again, &["1..2", "--format", "csv"])),
        fields_only(&get(&ns, &["1..2", "--format", "csv"]))
    );
    // --format table: aligned columns under a heading, numbers to the right.
    let table = format!(
        " seqno  put_time                        sensor    celsius       ok     n\n     \
         1  {}  kitchen           21.5   true      7\n     \
         2  {}  attic            -3.25  false  65535\n",
        times[0], times[1]
    );
    assert_eq!(get(&ns, &["1..2", "--format", "table"]), table);
    // On a terminal, without --format: the table.
    let cmd = format!(
        "{} -N {} t 1..2",
        util::exe("woof-get"),
        ns.path().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .output()
        .expect("script (util-linux)");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
        table
    );
}

#[test]
fn text_prints_lines_put_with_lines_and_table_needs_a_schema() {
    let ns = Ns::new();
    ns.create("l", 16, 10);
    ns.put_lines("l", "hello\nworld, again\n");
    let out = ok_stdout(ns.cmd("woof-get").args(["l", "1..2", "--format", "text"]));
    assert_eq!(text(out), "hello\nworld, again\n");
    fails(
        ns.cmd("woof-get").args(["l", "--format", "table"]),
        2,
        "woof-get: l: --format table needs a woof with a schema (this one has none)",
    );
}

#[test]
fn every_consolidates_numeric_fields_by_put_time() {
    let ns = typed_ns("v:f64,n:u32,s:str8");
    put(&ns, &["--csv"], "1.5,10,a\n2.5,20,b\n-1,30,c\n");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    put(&ns, &["--csv"], "4,40,d\n");
    // The buckets the test expects, from the put times woof-get reports.
    let rows: Vec<(i64, f64, f64)> = get(
        &ns,
        &["1..4", "--format", "csv", "--time-format", "unix-ns"],
    )
    .lines()
    .map(|l| {
        let c: Vec<&str> = l.split(',').collect();
        (
            c[1].parse().expect("ns"),
            c[2].parse().expect("v"),
            c[3].parse().expect("n"),
        )
    })
    .collect();
    let second = 1_000_000_000i64;
    let mut want = String::from("time,v_avg,v_min,v_max,v_count,n_sum,n_last\n");
    let mut i = 0;
    while i < rows.len() {
        let b = rows[i].0.div_euclid(second) * second;
        let group: Vec<&(i64, f64, f64)> = rows[i..]
            .iter()
            .take_while(|r| r.0.div_euclid(second) * second == b)
            .collect();
        let vs: Vec<f64> = group.iter().map(|r| r.1).collect();
        let ns_: Vec<f64> = group.iter().map(|r| r.2).collect();
        want += &format!(
            "{b},{},{},{},{},{},{}\n",
            vs.iter().sum::<f64>() / vs.len() as f64,
            vs.iter().cloned().fold(f64::INFINITY, f64::min),
            vs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            vs.len(),
            ns_.iter().sum::<f64>(),
            ns_[ns_.len() - 1],
        );
        i += group.len();
    }
    assert!(want.lines().count() >= 3, "two buckets at least: {want}");
    let got = get(
        &ns,
        &[
            "--every",
            "1s",
            "--agg",
            "avg,min,max,count",
            "--field",
            "v",
            "--time-format",
            "unix-ns",
        ],
    );
    // Two runs of --every over the same data: v's figures, then n's.
    let got_n = get(
        &ns,
        &[
            "--every",
            "1s",
            "--agg",
            "sum,last",
            "--field",
            "n",
            "--time-format",
            "unix-ns",
        ],
    );
    let joined: Vec<String> = got
        .lines()
        .zip(got_n.lines())
        .map(|(a, b)| format!("{a},{}", b.split_once(',').expect("time,").1))
        .collect();
    assert_eq!(format!("{}\n", joined.join("\n")), want);
    // JSON: numbers bare, the time as the time format prints it.
    let json = get(
        &ns,
        &["--every", "1000d", "--agg", "count,max", "--format", "json"],
    );
    assert!(
        json.ends_with(",\"v_count\":4,\"v_max\":4,\"n_count\":4,\"n_max\":40}\n"),
        "{json}"
    );
    // Mistakes: a field that is not a number, none at all, an untyped woof.
    fails(
        ns.cmd("woof-get")
            .args(["t", "--every", "1m", "--field", "s"]),
        2,
        "woof-get: t: field s is not a number",
    );
    fails(
        ns.cmd("woof-get")
            .args(["t", "--every", "1m", "--field", "nope"]),
        2,
        "woof-get: t: no field nope in its schema",
    );
    ns.create("raw", 8, 10);
    fails(
        ns.cmd("woof-get").args(["raw", "--every", "1m"]),
        65,
        "woof-get: raw: --every needs a woof with a schema (this one has none)",
    );
}

#[test]
fn a_template_prints_fields_by_name() {
    let ns = typed_ns("sensor:str8,celsius:f64,ok:bool");
    put(&ns, &["--csv"], "kitchen,21.5,true\nattic,-3.25,false\n");
    let ns_times = get(&ns, &["1..2", "--format", "%T"]);
    let times: Vec<&str> = ns_times.lines().collect();
    assert_eq!(
        text(ok_stdout(ns.cmd("woof-tail").args([
            "t",
            "--format",
            "%s %{sensor}: %{celsius}°C (%{ok}) at %t, 100%%",
            "--time-format",
            "unix-ns",
        ]))),
        format!(
            "1 kitchen: 21.5°C (true) at {}, 100%\n2 attic: -3.25°C (false) at {}, 100%\n",
            times[0], times[1]
        )
    );
    // Untyped woofs: seqno, text, hex.
    ns.create("l", 8, 10);
    ns.put_lines("l", "hi\n");
    assert_eq!(
        text(ok_stdout(
            ns.cmd("woof-get").args(["l", "--format", "%s=%v|%x"])
        )),
        "1=hi|6869000000000000\n"
    );
    fails(
        ns.cmd("woof-get").args(["t", "--format", "%{nope}"]),
        2,
        "woof-get: t: the template's %{nope} is not a field of this woof",
    );
    ns.cmd("woof-get")
        .args(["t", "--format", "%q"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown directive %q"));
}

#[test]
fn plot_draws_each_field_in_the_terminal_sized_to_it() {
    let ns = typed_ns("v:f64,n:u16,s:str4");
    put(&ns, &["--csv"], "12.5,1,a\n-3.25,2,b\n40,3,c\n7,4,d\n");
    let out = text(ok_stdout(
        ns.cmd("woof-get")
            .env("COLUMNS", "60")
            .env("LINES", "20")
            .args(["t", "--plot", "v"]),
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("v  ") && lines[0].contains("Z .. "),
        "{out}"
    );
    // The y labels are the data's extremes, top and bottom.
    assert!(lines[1].ends_with(" 40.0"), "{out}");
    let chart_rows: Vec<&&str> = lines[1..lines.len() - 1].iter().collect();
    assert!(
        chart_rows.last().is_some_and(|l| l.ends_with(" -3.2")),
        "{out}"
    );
    assert!(lines[lines.len() - 1].starts_with("0.0"), "{out}");
    // Sized to the terminal: no line wider than its 60 columns.
    assert!(out.lines().all(|l| l.chars().count() <= 60), "{out}");
    // Braille dots, not text: every chart row is drawn.
    assert!(
        chart_rows
            .iter()
            .all(|l| l.starts_with(|c: char| ('\u{2800}'..='\u{28ff}').contains(&c))),
        "{out}"
    );
    fails(
        ns.cmd("woof-get").args(["t", "--plot", "s"]),
        2,
        "woof-get: t: field s is not a number",
    );
    ns.create("raw", 8, 10);
    fails(
        ns.cmd("woof-get").args(["raw", "--plot", "v"]),
        65,
        "woof-get: raw: --plot needs a woof with a schema (this one has none)",
    );
}

#[test]
fn plot_output_draws_an_svg_of_the_asked_size_with_the_data_points() {
    let ns = typed_ns("v:f64,n:u16");
    put(&ns, &["--csv"], "12.5,1\n-3.25,2\n40,3\n7,4\n");
    let file = ns.path().join("v.svg");
    ns.cmd("woof-get")
        .args(["t", "--plot", "v", "--size", "600x300", "--output"])
        .arg(&file)
        .assert()
        .success()
        .stdout("");
    let svg = std::fs::read_to_string(&file).expect("the SVG");
    assert!(
        svg.starts_with("<svg width=\"600\" height=\"300\""),
        "{}",
        &svg[..100]
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    // The data's line: its points in put order, the highest value drawn highest.
    let points: Vec<(f64, f64)> = svg
        .split("stroke=\"#0000FF\"")
        .nth(1)
        .and_then(|s| s.split("points=\"").nth(1))
        .and_then(|s| s.split('"').next())
        .expect("the data's polyline")
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect();
    assert_eq!(points.len(), 4, "{points:?}");
    assert!(
        points.windows(2).all(|w| w[0].0 <= w[1].0),
        "left to right: {points:?}"
    );
    let y = |i: usize| points[i].1;
    // Values 12.5, -3.25, 40, 7: SVG y grows downwards.
    assert!(y(2) < y(0) && y(0) < y(3) && y(3) < y(1), "{points:?}");
    fails(
        ns.cmd("woof-get")
            .args(["t", "--plot", "v", "--output", "v.jpg"]),
        2,
        "woof-get: v.jpg: --output draws PNG (FILE.png) or SVG (FILE.svg)",
    );
    for size in ["600", "50x300", "600xq"] {
        ns.cmd("woof-get")
            .args(["t", "--plot", "v", "--output", "bad.svg", "--size", size])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::starts_with(format!(
                "error: invalid value '{size}' for '--size <WxH>': '{size}' is not a size (WIDTHxHEIGHT in pixels, at least 100x100)\n"
            )));
    }
    assert!(!ns.path().join("bad.svg").exists(), "nothing drawn");
}

#[test]
fn every_and_plot_refuse_what_is_not_a_number_even_on_an_empty_woof() {
    let ns = Ns::new();
    ns.cmd("woof-create")
        .args(["w", "-n", "10", "--schema", "s:str4,ok:bool"])
        .assert()
        .success();
    fails(
        ns.cmd("woof-get").args(["w", "--every", "1m"]),
        2,
        "woof-get: w: this schema has no numeric field",
    );
    fails(
        ns.cmd("woof-get").args(["w", "--plot", "ok"]),
        2,
        "woof-get: w: field ok is not a number",
    );
    fails(
        ns.cmd("woof-get")
            .args(["w", "--plot", "s", "--output", "w.png"]),
        2,
        "woof-get: w: field s is not a number",
    );
    assert!(!ns.path().join("w.png").exists(), "nothing drawn");
}

/// The pixels of a PNG woof-get drew: (width, height, RGB rows).
fn png_pixels(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).expect("the PNG");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("a valid PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("its pixels");
    assert_eq!(info.color_type, png::ColorType::Rgb, "RGB");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn plot_output_draws_a_png_whose_pixels_are_the_data() {
    // A reading a minute by the sensor's own clock (the time field), flat but
    // for a spike at minute 25, and none from minute 60 to 80: a gap. Put in a
    // shuffled order, so put time says nothing about the curve.
    let ns = typed_ns("time:timestamp,v:f64");
    let t0 = 1_795_327_200i64;
    let mut minutes: Vec<i64> = (0..=100).filter(|m| !(61..80).contains(m)).collect();
    minutes.reverse();
    minutes.rotate_left(17);
    let csv: String = minutes
        .iter()
        .map(|m| format!("{},{}\n", t0 + 60 * m, if *m == 25 { 100 } else { 0 }))
        .collect();
    put(&ns, &["--csv"], &csv);
    let file = ns.path().join("v.png");
    ns.cmd("woof-get")
        .args([
            "t",
            "--plot",
            "v",
            "--time-field",
            "time",
            "--size",
            "800x400",
            "--output",
        ])
        .arg(&file)
        .assert()
        .success()
        .stdout("")
        .stderr("");
    let (w, h, px) = png_pixels(&file);
    assert_eq!((w, h), (800, 400));
    // The data is drawn in pure blue; nothing else is.
    let blue = |x: u32, y: u32| {
        let i = ((y * w + x) * 3) as usize;
        px[i] < 80 && px[i + 1] < 80 && px[i + 2] > 200
    };
    let columns: Vec<u32> = (0..w).filter(|&x| (0..h).any(|y| blue(x, y))).collect();
    let (left, right) = (columns[0], columns[columns.len() - 1]);
    assert!(
        right - left > 600,
        "the data spans the plot: {left}..{right}"
    );
    let at = |minute: f64| f64::from(left) + minute / 100.0 * f64::from(right - left);
    // The spike is the highest blue pixel, at minute 25 of 100.
    let top = (0..h)
        .find_map(|y| (0..w).find(|&x| blue(x, y)))
        .expect("a blue pixel");
    assert!(
        (f64::from(top) - at(25.0)).abs() <= 3.0,
        "spike at x {top}, minute 25 is x {}",
        at(25.0)
    );
    // The gap: no line from minute 60 to minute 80.
    let gap: Vec<u32> = columns
        .iter()
        .copied()
        .filter(|&x| f64::from(x) > at(60.0) + 2.0 && f64::from(x) < at(80.0) - 2.0)
        .collect();
    assert!(gap.is_empty(), "drawn inside the gap at x {gap:?}");
    assert!(
        columns.iter().any(|&x| f64::from(x) > at(80.0) + 2.0),
        "after the gap"
    );
}

#[test]
fn time_field_selects_consolidates_and_refuses_what_is_not_a_timestamp() {
    let ns = typed_ns("time:timestamp,v:f64,s:str4");
    // Out of put order on purpose: minute 3, 1, 2, 0 of a day.
    put(
        &ns,
        &["--csv"],
        "2026-11-20T00:03:00Z,3,c\n2026-11-20T00:01:00Z,1,a\n2026-11-20T00:02:00Z,2,b\n2026-11-20T00:00:00Z,0,z\n",
    );
    let picked = text(ok_stdout(ns.cmd("woof-get").args([
        "t",
        "--time-field",
        "time",
        "--since",
        "2026-11-20 00:01",
        "--until",
        "2026-11-20T00:02:00Z",
        "--utc",
        "--format",
        "csv",
    ])));
    assert_eq!(
        fields_only(&picked),
        "2026-11-20T00:01:00.000000000Z,1.0,a\n2026-11-20T00:02:00.000000000Z,2.0,b\n"
    );
    // Buckets in time order, whatever the put order.
    let every = text(ok_stdout(ns.cmd("woof-get").args([
        "t",
        "--time-field",
        "time",
        "--every",
        "2m",
        "--agg",
        "avg,count",
        "--format",
        "csv",
    ])));
    assert_eq!(
        every,
        "2026-11-20T00:00:00.000000000Z,0.5,2\n2026-11-20T00:02:00.000000000Z,2.5,2\n"
    );
    fails(
        ns.cmd("woof-get")
            .args(["t", "--time-field", "v", "--since", "-1h"]),
        2,
        "woof-get: t: field v is not a timestamp (it has time)",
    );
    fails(
        ns.cmd("woof-get")
            .args(["t", "--time-field", "when", "--since", "-1h"]),
        2,
        "woof-get: t: no field when for --time-field (it has time)",
    );
    fails(
        ns.cmd("woof-get").args(["t", "--time-field", "time"]),
        2,
        "woof-get: --time-field is the time of --since/--until, --every or --plot: give one",
    );
    ns.create("raw", 8, 10);
    fails(
        ns.cmd("woof-get")
            .args(["raw", "--time-field", "time", "--since", "-1h"]),
        2,
        "woof-get: raw: --time-field needs a woof with a schema (this one has none)",
    );
}

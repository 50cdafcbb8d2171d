//! The hand-written text parsers and writers of typed records against the
//! well-kept crates that do the same job, in process, on the typed rows' input: the
//! number that decides whether woof keeps its own (records/*.rs header comments
//! quote it).

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use woof::records::{csv, json, time};

use super::*;

/// Records per measurement, and measurements (the median is shown).
const PARSE_ROWS: usize = 200_000;
const PARSE_REPS: usize = 5;

pub(crate) const PARSERS: [Spec; 4] = [
    Spec {
        op: "CSV record split (records/csv.rs) vs csv-core",
        target: "≤ 1.0× csv-core, or use csv-core",
    },
    Spec {
        op: "JSON object parse (records/json.rs) vs serde_json to a map",
        target: "≤ 1.0× serde_json, or use serde_json",
    },
    Spec {
        op: "RFC 3339 parse, UTC (records/time.rs) vs humantime",
        target: "≤ 1.0× humantime, or use humantime",
    },
    Spec {
        op: "RFC 3339 write, ns (records/time.rs) vs humantime",
        target: "≤ 1.0× humantime, or use humantime",
    },
];

/// Median ns per item of `PARSE_REPS` passes of `pass` over `n` items.
fn per_item(n: usize, mut pass: impl FnMut() -> Res<()>) -> Res<f64> {
    let mut samples = Vec::with_capacity(PARSE_REPS);
    for _ in 0..PARSE_REPS {
        let t = Instant::now();
        pass()?;
        samples.push(ns_since(t) / n as f64);
    }
    Ok(median(&mut samples))
}

fn row(spec: &Spec, ours: f64, theirs: f64) -> Row {
    let ratio = ours / theirs;
    Row::measured(
        spec,
        format!("{} per record", fmt_ns(ours)),
        format!("{} per record", fmt_ns(theirs)),
        fmt_times(ratio),
        ratio <= 1.0,
    )
}

pub(crate) fn parsers() -> Res<Vec<Row>> {
    let text = typed_csv(PARSE_ROWS);
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();

    // CSV: the same records split into fields, both into a reused buffer.
    let mut fields = csv::Fields::default();
    let ours = per_item(lines.len(), || {
        for l in &lines {
            fields.split(l).map_err(|(_, why)| why)?;
            black_box(fields.len());
        }
        Ok(())
    })?;
    let mut out = [0u8; 256];
    let mut ends = [0usize; 16];
    let theirs = per_item(lines.len(), || {
        use csv_core::ReadRecordResult as R;
        let mut r = csv_core::Reader::new();
        let mut input = &text[..];
        let mut records = 0;
        loop {
            let (res, nin, _, nends) = r.read_record(input, &mut out, &mut ends);
            input = &input[nin..];
            match res {
                R::Record => {
                    records += 1;
                    black_box(nends);
                }
                R::InputEmpty => {}
                R::End => break,
                R::OutputFull | R::OutputEndsFull => {
                    return Err("csv-core: a record too long".into());
                }
            }
        }
        if records != lines.len() {
            return Err(format!(
                "csv-core read {records} records of {}",
                lines.len()
            ));
        }
        Ok(())
    })?;
    let mut rows = vec![row(&PARSERS[0], ours, theirs)];

    // JSON: the same records as objects, members with their text.
    let objects: Vec<String> = lines
        .iter()
        .map(|l| {
            let s = String::from_utf8_lossy(l);
            let f: Vec<&str> = s.split(',').collect();
            format!(
                "{{\"time\":\"{}\",\"sensor\":\"{}\",\"celsius\":{},\"ok\":{}}}",
                f[0], f[1], f[2], f[3]
            )
        })
        .collect();
    let ours = per_item(objects.len(), || {
        for o in &objects {
            black_box(json::object(o).map_err(|(_, why)| why)?);
        }
        Ok(())
    })?;
    let theirs = per_item(objects.len(), || {
        for o in &objects {
            let m: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(o).ctx("serde_json")?;
            black_box(m);
        }
        Ok(())
    })?;
    rows.push(row(&PARSERS[1], ours, theirs));

    // RFC 3339: the records' timestamps, parsed and written back.
    let stamps: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l.split(|&b| b == b',').next().unwrap_or(b"")).into())
        .collect();
    let ours = per_item(stamps.len(), || {
        for s in &stamps {
            black_box(time::parse(s, 0)?);
        }
        Ok(())
    })?;
    let theirs = per_item(stamps.len(), || {
        for s in &stamps {
            black_box(humantime::parse_rfc3339(s).ctx("humantime")?);
        }
        Ok(())
    })?;
    rows.push(row(&PARSERS[2], ours, theirs));

    let ns: Vec<i64> = stamps
        .iter()
        .map(|s| time::parse(s, 0))
        .collect::<Result<_, _>>()?;
    let mut buf = Vec::with_capacity(64);
    let ours = per_item(ns.len(), || {
        for &t in &ns {
            buf.clear();
            time::push_rfc3339(&mut buf, t);
            black_box(&buf);
        }
        Ok(())
    })?;
    let theirs = per_item(ns.len(), || {
        use std::io::Write;
        for &t in &ns {
            buf.clear();
            let at = UNIX_EPOCH + Duration::from_nanos(t as u64);
            write!(buf, "{}", humantime::format_rfc3339_nanos(at)).ctx("humantime")?;
            black_box(&buf);
        }
        Ok(())
    })?;
    rows.push(row(&PARSERS[3], ours, theirs));
    Ok(rows)
}

//! Consolidation on read (`woof-get --every 5m --agg avg,min,max`), as rrdtool
//! fetch consolidates: the numeric fields of a typed woof, in buckets of put time
//! (or of a timestamp field, `--time-field`), one row per bucket in time order,
//! whatever order the times came in (a clock set back between puts, a field
//! filled by sensors); `last` is the last put.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use clap::ValueEnum;
use woof::records::escape::{csv_field, push_json_str};
use woof::records::time::TimeFormat;
use woof::schema::{Schema, Value};
use woof::{Error, ErrorKind};

use crate::exit::Failure;
use crate::output::Format;
use crate::source::{self, Source};
use crate::when::Filter;

/// One consolidation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Agg {
    Avg,
    Min,
    Max,
    Last,
    Sum,
    Count,
}

impl Agg {
    fn name(self) -> &'static str {
        match self {
            Agg::Avg => "avg",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Last => "last",
            Agg::Sum => "sum",
            Agg::Count => "count",
        }
    }
}

/// What `--every` asks for.
pub struct Plan<'a> {
    pub every: Duration,
    pub aggs: &'a [Agg],
    /// Fields to consolidate (empty: every numeric one).
    pub fields: &'a [String],
    pub format: Format,
    pub time: TimeFormat,
    pub header: bool,
}

/// A field's running figures in the current bucket.
#[derive(Clone, Copy)]
struct Acc {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
}

impl Acc {
    const EMPTY: Acc = Acc {
        n: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        last: f64::NAN,
    };

    fn add(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.last = v;
    }

    fn get(&self, agg: Agg) -> f64 {
        match agg {
            Agg::Avg => self.sum / self.n as f64,
            Agg::Min => self.min,
            Agg::Max => self.max,
            Agg::Last => self.last,
            Agg::Sum => self.sum,
            Agg::Count => self.n as f64,
        }
    }
}

/// Reads FROM..=TO of `src` and prints one row per bucket; prints nothing for an
/// empty window (None), once the fields asked for are known to be numbers.
pub fn run(
    src: &mut dyn Source,
    name: &str,
    schema: &Schema,
    (window, filter): (Option<(u64, u64)>, Filter),
    plan: &Plan,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let fields = schema
        .numeric_fields(plan.fields)
        .map_err(|why| Failure::usage(format!("{name}: {why}")))?;
    let Some((from, to)) = window else {
        return Ok(());
    };
    let step = plan.every.as_nanos().max(1) as i64;
    let mut cols = vec!["time".to_string()];
    for f in &fields {
        for a in plan.aggs {
            cols.push(format!("{}_{}", f.name, a.name()));
        }
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut emit = |bucket: i64, accs: &[Acc]| {
        let mut row = vec![plan.time.text(bucket, woof::now_ns() as i64, false)];
        for acc in accs {
            for a in plan.aggs {
                let v = acc.get(*a);
                row.push(if acc.n == 0 {
                    String::new()
                } else if *a == Agg::Count {
                    acc.n.to_string()
                } else {
                    v.to_string()
                });
            }
        }
        rows.push(row);
    };
    // Buckets by start time: times need not come in order (a clock set back, a
    // timestamp field); the one being filled is kept out of the map while it lasts.
    let mut buckets: BTreeMap<i64, Vec<Acc>> = BTreeMap::new();
    let mut accs = vec![Acc::EMPTY; fields.len()];
    let mut bucket: Option<i64> = None;
    source::each_held(src, name, (from, to), |el, data| {
        let Some(t) = filter.pick(el, data) else {
            return;
        };
        let b = t.div_euclid(step) * step;
        if let Some(cur) = bucket.filter(|&cur| cur != b) {
            let next = buckets
                .remove(&b)
                .unwrap_or_else(|| vec![Acc::EMPTY; fields.len()]);
            buckets.insert(cur, std::mem::replace(&mut accs, next));
        }
        bucket = Some(b);
        for (acc, f) in accs.iter_mut().zip(&fields) {
            if let Some(v) = f.decode(data).ok().and_then(Value::as_f64) {
                acc.add(v);
            }
        }
    })?;
    if let Some(b) = bucket {
        buckets.insert(b, accs);
    }
    for (b, accs) in &buckets {
        emit(*b, accs);
    }
    write_rows(out, &cols, &rows, plan).map_err(Failure::stdout)
}

fn write_rows(
    out: &mut impl Write,
    cols: &[String],
    rows: &[Vec<String>],
    plan: &Plan,
) -> io::Result<()> {
    match plan.format {
        Format::Json => {
            for r in rows {
                let mut line = Vec::new();
                line.push(b'{');
                for (i, (c, v)) in cols.iter().zip(r).enumerate() {
                    if i > 0 {
                        line.push(b',');
                    }
                    push_json_str(&mut line, c);
                    line.push(b':');
                    if i == 0 && !matches!(plan.time, TimeFormat::Unix | TimeFormat::UnixNs) {
                        push_json_str(&mut line, v);
                    } else if v.is_empty() || v == "NaN" || v.ends_with("inf") {
                        line.extend_from_slice(b"null");
                    } else {
                        line.extend_from_slice(v.as_bytes());
                    }
                }
                line.extend_from_slice(b"}\n");
                out.write_all(&line)?;
            }
        }
        Format::Table => {
            let mut width: Vec<usize> = cols.iter().map(String::len).collect();
            for r in rows {
                for (w, v) in width.iter_mut().zip(r) {
                    *w = (*w).max(v.len());
                }
            }
            let line = |cells: &[String]| {
                let mut s = String::new();
                for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
                    if i == 0 {
                        s.push_str(&format!("{c:<w$}"));
                    } else {
                        s.push_str(&format!("  {c:>w$}"));
                    }
                }
                s.trim_end().to_string()
            };
            writeln!(out, "{}", line(cols))?;
            for r in rows {
                writeln!(out, "{}", line(r))?;
            }
        }
        _ => {
            if plan.header {
                writeln!(out, "{}", cols.join(","))?;
            }
            for r in rows {
                let cells: Vec<String> = r.iter().map(|c| csv_field(c)).collect();
                writeln!(out, "{}", cells.join(","))?;
            }
        }
    }
    out.flush()
}

/// Checked before anything is read: --every on what it cannot consolidate.
pub fn check(schema: Option<&Schema>, name: &str, format: Format) -> Result<(), Failure> {
    if schema.is_none() {
        return Err(Failure::from(
            Error::new(ErrorKind::BadData, name)
                .detail("--every needs a woof with a schema (this one has none)"),
        ));
    }
    if !matches!(format, Format::Csv | Format::Json | Format::Table) {
        return Err(Failure::usage(
            "--every prints csv, json or table (--format)",
        ));
    }
    Ok(())
}

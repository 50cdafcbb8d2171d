//! `woof-ls`: the woofs of a namespace, one line each.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use clap::{Parser, ValueEnum};
use woof::Info;
use woof::format::MAGIC;

use crate::exit::{Failure, warn};
use crate::target::NamespaceArg;
use woof::records::escape::{csv_field, push_json_str};
use woof::records::time;

const EXAMPLES: &str = "\
Examples:
  woof-ls                          the woofs of the namespace, as a table
  woof-ls -N /srv/woof/edge --format json   one JSON object per woof
  woof-ls --format csv > woofs.csv";

/// How the listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns with a heading
    Table,
    /// name,element_size,history,latest,oldest,durability,schema,error with a header
    Csv,
    /// One JSON object per woof
    Json,
    /// The names alone, one a line, without opening the woofs (for scripts and
    /// shell completions)
    Names,
}

/// List the woofs of a namespace.
///
/// Each woof: its name, element size, history, latest and oldest seqno (oldest is
/// empty or 0 while the woof is empty), when its latest element was put (UTC) and
/// how long ago (AGE: is the sensor alive?), default durability and schema. Files that
/// are not woofs (no woof signature) are left out, as are directories such as
/// handlers/ and .woof/. A file with a woof signature that cannot be opened (damaged,
/// truncated, of another format version, unreadable) is listed with the reason,
/// which also goes to stderr; the listing goes on and exits 0.
#[derive(Debug, Parser)]
#[command(name = "woof-ls", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

/// One listed file: a woof's description, or why it could not be opened.
struct Entry {
    name: String,
    woof: Result<Info, String>,
    /// When its latest element was put (ns since the epoch); None while empty.
    last_put: Option<u64>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ns = args.ns.open()?;
    let dir = ns.dir();
    let ctx = format!("namespace {}", dir.display());
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Failure::from(woof::Error::io(&ctx, e)))? {
        let entry = entry.map_err(|e| Failure::from(woof::Error::io(&ctx, e)))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        // Only plain woof names; symlinks and directories are never woofs here.
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && woof::name::validate("woof name", &name).is_ok() {
            names.push(name);
        }
    }
    names.sort();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.format == ListFormat::Names {
        for name in names.iter().filter(|n| has_signature(&dir.join(n))) {
            writeln!(out, "{name}").map_err(Failure::stdout)?;
        }
        return out.flush().map_err(Failure::stdout);
    }
    let mut entries = Vec::new();
    for name in names {
        let path = dir.join(&name);
        if !has_signature(&path) {
            continue;
        }
        let mut last_put = None;
        let woof = match ns.open_woof_readonly(&name) {
            Ok(w) => {
                let info = w.info();
                if info.latest > 0 {
                    let mut buf = vec![0u8; w.element_size()];
                    last_put = w.get(0, &mut buf).ok().map(|el| el.time_ns);
                }
                Ok(info)
            }
            Err(e) => {
                let text = e.to_string();
                let why = text
                    .strip_prefix(&format!("{name}: "))
                    .unwrap_or(&text)
                    .to_string();
                warn("woof-ls", &text);
                Err(why)
            }
        };
        entries.push(Entry {
            name,
            woof,
            last_put,
        });
    }
    match args.format {
        ListFormat::Table | ListFormat::Names => table(&mut out, &entries),
        ListFormat::Csv => csv(&mut out, &entries),
        ListFormat::Json => json(&mut out, &entries),
    }
    .and_then(|()| out.flush())
    .map_err(Failure::stdout)
}

/// Whether the file starts with the woof signature (else it is not a woof at all).
fn has_signature(path: &std::path::Path) -> bool {
    let mut magic = [0u8; 8];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == MAGIC)
}

fn schema_text(info: &Info) -> String {
    String::from_utf8_lossy(&info.schema).into_owned()
}

fn table(out: &mut dyn Write, entries: &[Entry]) -> io::Result<()> {
    let head = [
        "NAME",
        "SIZE",
        "HISTORY",
        "LATEST",
        "OLDEST",
        "PUT",
        "AGE",
        "DURABILITY",
        "SCHEMA",
    ];
    let now = woof::now_ns();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| match &e.woof {
            Ok(i) => vec![
                e.name.clone(),
                i.element_size.to_string(),
                i.history.to_string(),
                i.latest.to_string(),
                if i.latest == 0 {
                    "-".into()
                } else {
                    i.oldest.to_string()
                },
                e.last_put
                    .map_or_else(|| "-".into(), |t| time::rfc3339_seconds(t as i64)),
                e.last_put
                    .map_or_else(|| "-".into(), |t| crate::quantity::ago(now, t)),
                i.durability.name().into(),
                schema_text(i),
            ],
            Err(why) => {
                let dash = || "-".to_string();
                vec![
                    e.name.clone(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    format!("(cannot open: {why})"),
                ]
            }
        })
        .collect();
    // Numbers and ages right-aligned; the time and durability left.
    use crate::table::Align::{Left, Right};
    let align = [Left, Right, Right, Right, Right, Left, Right, Left, Left];
    crate::table::write(out, &head, &align, &rows)
}

fn csv(out: &mut impl Write, entries: &[Entry]) -> io::Result<()> {
    writeln!(
        out,
        "name,element_size,history,latest,oldest,last_put,durability,schema,error"
    )?;
    for e in entries {
        match &e.woof {
            Ok(i) => writeln!(
                out,
                "{},{},{},{},{},{},{},{},",
                csv_field(&e.name),
                i.element_size,
                i.history,
                i.latest,
                i.oldest,
                e.last_put
                    .map_or_else(String::new, |t| time::rfc3339_string(t as i64)),
                i.durability.name(),
                csv_field(&schema_text(i))
            )?,
            Err(why) => writeln!(out, "{},,,,,,,,{}", csv_field(&e.name), csv_field(why))?,
        }
    }
    Ok(())
}

fn json(out: &mut impl Write, entries: &[Entry]) -> io::Result<()> {
    for e in entries {
        let mut line = Vec::new();
        line.extend_from_slice(b"{\"name\":");
        push_json_str(&mut line, &e.name);
        match &e.woof {
            Ok(i) => {
                write!(
                    line,
                    ",\"element_size\":{},\"history\":{},\"latest\":{},\"oldest\":{},",
                    i.element_size, i.history, i.latest, i.oldest,
                )?;
                match e.last_put {
                    Some(t) => write!(
                        line,
                        "\"last_put\":\"{}\",\"last_put_ns\":{t},",
                        time::rfc3339_string(t as i64)
                    )?,
                    None => line.extend_from_slice(b"\"last_put\":null,\"last_put_ns\":null,"),
                }
                write!(
                    line,
                    "\"durability\":\"{}\",\"schema\":",
                    i.durability.name()
                )?;
                if i.schema.is_empty() {
                    line.extend_from_slice(b"null");
                } else {
                    push_json_str(&mut line, &schema_text(i));
                }
            }
            Err(why) => {
                line.extend_from_slice(b",\"error\":");
                push_json_str(&mut line, why);
            }
        }
        line.extend_from_slice(b"}\n");
        out.write_all(&line)?;
    }
    Ok(())
}

//! `woof-put`: append one element from stdin, or stream many (`--batch`, `--lines`).

use std::io::{self, Read, Write};
use std::time::Duration;

use clap::Parser;
use woof::put_run::{PutRun, Triggered};
use woof::{Durability, Error, ErrorKind};

use crate::create::DurabilityArg;
use crate::exit::Failure;
use crate::input::Framing;
use crate::target::{NamespaceArg, RemoteArgs, Target};
use woof::records::Input;

mod cspot;
mod elements;
mod local;
mod remote;

use elements::{size_error, typed_encoder};
use local::LocalSink;

const EXAMPLES: &str = "\
Examples:
  head -c 64 /dev/urandom | woof-put temps     put one 64-byte element, print its seqno
  printf 'hello' | woof-put temps --pad         zero-pad to the element size
  woof-put temps --batch < readings.bin         many elements, printed as FIRST..LAST
  seq 1 100000 | woof-put temps --lines --pad   one element per line
  woof-tail -f temps --format raw | woof-put --batch -N /other/ns temps   live forwarding
  echo 'now,kitchen,21.5,true' | woof-put temps --csv      a typed record (woof-create --schema)
  echo '{\"sensor\":\"attic\",\"celsius\":4.25}' | woof-put temps --json
  woof-put temps --csv --skip-bad < readings.csv   put the good records, report the bad
  woof-put woof://cloud/srv/ns/temps -H alert < reading.bin   put (and trigger) on another host";

/// Put elements into a woof.
///
/// Without --batch or --lines, stdin is one element: exactly the element size, or
/// shorter with --pad. Its seqno is printed. With --batch, stdin is a stream of
/// fixed-size elements; with --lines, one element per line. Both put each whole
/// element as soon as it arrives (under one lock per arrival, group-committed) and
/// print FIRST..LAST at the end.
///
/// With --csv or --json the woof must have a schema (woof-create --schema): each
/// CSV record or JSON object (one per line, or spread over several lines as `jq .`
/// prints it) becomes one element, put as --batch puts.
/// A CSV record may span lines inside a quoted field. The first CSV record is a
/// header when every field of it names a column (a field of the schema, `seqno` or
/// `put_time`, as `woof-get --format csv --header` prints): later records then give
/// the columns in that order, `seqno` and `put_time` are ignored, and fields left
/// out take their declared defaults. JSON objects name their fields; `seqno` and
/// `put_time` members are ignored, a missing (or null) field takes its default, an
/// unknown one is an error. Blank lines are skipped. A bad record is reported with
/// its line and field, and nothing of it is put: the put stops there (exit 65,
/// after printing what was put), or with --skip-bad goes on and exits 65 at the end.
#[derive(Debug, Parser)]
#[command(name = "woof-put", version, after_help = EXAMPLES)]
pub struct Args {
    /// Woof to put to (a name, a woof://host/namespace/name URI, or cspot://… for a
    /// CSPOT host)
    pub name: String,
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// Run handler HANDLER (an executable in the namespace's handlers/) on each
    /// element put, through woof-platform
    #[arg(short = 'H', long = "handler", value_name = "HANDLER")]
    pub handler: Option<String>,
    /// Zero-pad input shorter than the element size
    #[arg(long)]
    pub pad: bool,
    /// Stream fixed-size elements from stdin (with --csv/--json: implied)
    #[arg(long, conflicts_with = "lines")]
    pub batch: bool,
    /// Typed records: one CSV record per element (needs a schema)
    #[arg(long, conflicts_with_all = ["lines", "pad", "json"])]
    pub csv: bool,
    /// Typed records: one JSON object per line (or over several, as jq prints them),
    /// one element each (needs a schema)
    #[arg(long, conflicts_with_all = ["lines", "pad"])]
    pub json: bool,
    /// With --csv: the first record is data, even when it names columns
    #[arg(long, requires = "csv")]
    pub no_header: bool,
    /// With --csv/--json: report bad records on stderr and put the others (exit 65
    /// at the end) instead of stopping at the first
    #[arg(long)]
    pub skip_bad: bool,
    /// Stream one element per line from stdin (the newline, and a CR before it, is
    /// not stored; a blank line is an empty element: zeros with --pad, else an error)
    #[arg(long)]
    pub lines: bool,
    /// Durability of these puts [default: the woof's own]
    #[arg(long, value_enum)]
    pub durability: Option<DurabilityArg>,
    /// With --batch/--lines and durability batch: sync at least this often
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub commit_interval: Duration,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn run(args: Args) -> Result<(), Failure> {
    match Target::parse(&args.name)? {
        Target::Remote(uri) => return remote::run(&args, &uri),
        Target::Cspot(uri) => return cspot::run(&args, &uri),
        Target::Local(_) => {}
    }
    let ns = args.ns.open()?;
    let woof = ns.open_woof(&args.name)?;
    let durability = args
        .durability
        .map_or(woof.header().durability, Durability::from);
    let (log, cause) = match &args.handler {
        None => (None, String::new()),
        Some(h) => {
            // Checked before anything is written: naming a missing handler changes nothing.
            ns.handler_path(h)?;
            // Inside a handler, WOOF_CAUSE names the run; puts made there carry it.
            let cause = std::env::var("WOOF_CAUSE").unwrap_or_default();
            woof::trigger_log::validate_cause(&cause)?;
            if crate::platform::serving(&ns).is_none() {
                // Not an error: the trigger waits in the log for the next platform.
                let dir = std::fs::canonicalize(ns.dir()).unwrap_or_else(|_| ns.dir().into());
                crate::exit::warn(
                    "woof-put",
                    &format!(
                        "no woof-platform serves {}: the handler runs when one starts (woof-platform -N {0})",
                        dir.display()
                    ),
                );
            }
            (Some(ns.trigger_log()?), cause)
        }
    };
    let trigger = match (&log, &args.handler) {
        (Some(log), Some(handler)) => Some(Triggered {
            log,
            handler,
            cause: &cause,
        }),
        _ => None,
    };
    let mut run = PutRun::new(&woof, &args.name, trigger);
    let size = woof.element_size();
    let (framing, encoder) = if args.csv || args.json {
        let input = if args.csv { Input::Csv } else { Input::Json };
        let schema = &woof.header().schema;
        let encoder = typed_encoder(schema, &args.name, input, !args.no_header)?;
        (Framing::Lines, Some(encoder))
    } else if args.skip_bad {
        return Err(Failure::usage("--skip-bad needs --csv or --json"));
    } else if args.lines {
        (Framing::Lines, None)
    } else if args.batch {
        (Framing::Fixed, None)
    } else {
        let data = read_one(size, args.pad, &args.name)?;
        let seqno = run.append(&data)?;
        run.finish(durability)?;
        return writeln!(io::stdout(), "{seqno}").map_err(Failure::stdout);
    };
    let mut sink = LocalSink::new(run, durability, args.commit_interval);
    let pumped = elements::pump(&mut sink, &args, &args.name, size, framing, encoder);
    let finished = sink.finish();
    conclude(&args.name, size, sink.run.range(), finished, pumped)
}

fn signal_name(sig: i32) -> String {
    match sig {
        2 => "SIGINT".to_string(),
        15 => "SIGTERM".to_string(),
        n => format!("signal {n}"),
    }
}

/// Reads stdin as one element: exactly `size` bytes, or fewer zero-padded with --pad.
fn read_one(size: usize, pad: bool, name: &str) -> Result<Vec<u8>, Failure> {
    let mut stdin = io::stdin().lock();
    let mut data = Vec::with_capacity(size + 1);
    (&mut stdin)
        .take(size as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| Failure::io("stdin", e))?;
    if data.len() > size {
        // Count the rest only to name the real size in the message.
        let rest = io::copy(&mut stdin, &mut io::sink()).map_err(|e| Failure::io("stdin", e))?;
        let got = data.len() as u64 + rest;
        return Err(size_error(name, size, got, pad, None));
    }
    if data.len() < size {
        if !pad {
            return Err(size_error(name, size, data.len() as u64, false, None));
        }
        data.resize(size, 0);
    }
    Ok(data)
}

/// The end of a stream, local or remote: FIRST..LAST of what was put on stdout,
/// then the first thing that went wrong. A failure to make the puts durable (or to
/// have them acknowledged) comes first, then what stopped the input early, then
/// skipped records, then a partial element at the end.
fn conclude(
    name: &str,
    size: usize,
    range: Option<(u64, u64)>,
    finished: Result<(), Failure>,
    pumped: elements::Pumped,
) -> Result<(), Failure> {
    if let Some((first, last)) = range {
        writeln!(io::stdout(), "{first}..{last}").map_err(Failure::stdout)?;
    }
    finished?;
    if let Some(i) = pumped.interrupted {
        // What was put is synced (or acknowledged) by now; say where to resume.
        let put = match range {
            None => "nothing was put".to_string(),
            Some((first, last)) => format!("put {first}..{last}"),
        };
        let at = match i.framing {
            Framing::Lines => format!("before line {}", i.taken + 1),
            Framing::Fixed => format!("after {} whole elements of input", i.taken),
        };
        let _ = io::stdout().flush();
        crate::exit::warn(
            "woof-put",
            &format!(
                "{name}: interrupted by {} {at}; {put}",
                signal_name(i.signal)
            ),
        );
        woof_process::die_of(i.signal);
    }
    if let Some(f) = pumped.failure {
        return Err(f);
    }
    if pumped.skipped > 0 {
        let n = pumped.skipped;
        let s = if n == 1 { "" } else { "s" };
        return Err(Failure::from(
            Error::new(ErrorKind::BadData, name).detail(format!("{n} bad record{s} skipped")),
        ));
    }
    if pumped.leftover > 0 {
        let put = match range {
            None => "nothing was put".to_string(),
            Some((first, last)) => format!("put {first}..{last}"),
        };
        return Err(Failure::from(Error::new(ErrorKind::BadData, name).detail(
            format!(
                "{} bytes left over at end of input (not a whole {size}-byte element); {put}",
                pumped.leftover
            ),
        )));
    }
    Ok(())
}

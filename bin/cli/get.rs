//! `woof-get`: print one element, a range, or the woof's description.

use std::io::{self, BufWriter, Write};

use clap::Parser;
use woof::ErrorKind;

use crate::exit::{Failure, warn};
use crate::output::{self, Format, OutputArgs, Printer};
use crate::range::{self, Selection};
use crate::source::{self, Source};
use crate::target::{NamespaceArg, RemoteArgs};
use crate::when::{Clock, Filter};
use woof::records::time::When;

const EXAMPLES: &str = "\
Examples:
  woof-get temps                     the latest element (raw on a pipe, a dump on a terminal)
  woof-get temps 1 --format hex      element 1 in hex
  woof-get temps 1..20 --format csv  seqno,put_time,hex for each of 1 to 20
  woof-get temps 100.. --format json from 100 to the latest, one JSON object per line
  woof-get temps --info              element size, history, latest, oldest, durability, created
  woof-get woof://cloud/srv/ns/temps 1..100   from the woof-proxy on host cloud";

/// Print elements of a woof.
///
/// SEQNO 0 (the default) is the latest element. In a range, elements that were
/// evicted or not yet written are reported on stderr (exit 66) after the ones that
/// exist have been printed.
#[derive(Debug, Parser)]
#[command(name = "woof-get", version, after_help = EXAMPLES)]
pub struct Args {
    /// Woof to read (a name, a woof://host/namespace/name URI, or cspot://… for a
    /// CSPOT host)
    #[arg(required_unless_present = "results")]
    pub name: Option<String>,
    /// Read the handler results log of the namespace instead of a woof
    #[arg(long)]
    pub results: bool,
    /// A seqno (0 = latest), FROM..TO, or FROM.. (to the latest)
    #[arg(value_name = "SEQNO|FROM..TO", default_value = "0")]
    pub which: String,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Only elements put at or after TIME: RFC 3339 (any offset), `2026-11-22
    /// 06:00`, a date, today, yesterday (in the system's time zone; UTC with
    /// --utc), Unix seconds, now, or -1h (relative)
    #[arg(long, value_name = "TIME", value_parser = crate::when::parse, allow_hyphen_values = true)]
    pub since: Option<When>,
    /// Only elements put at or before TIME (as --since)
    #[arg(long, value_name = "TIME", value_parser = crate::when::parse, allow_hyphen_values = true)]
    pub until: Option<When>,
    /// Select (--since/--until), consolidate (--every) and plot (--plot) by this
    /// timestamp field of the schema instead of put time (a scan of the window,
    /// as such a field need not be in order)
    #[arg(long, value_name = "FIELD")]
    pub time_field: Option<String>,
    /// Consolidate: one row per DURATION of put time (of the selection, or of all
    /// the woof holds), with --agg of each numeric field
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub every: Option<std::time::Duration>,
    /// With --every: the consolidation functions [default: avg]
    #[arg(
        long,
        value_name = "LIST",
        value_enum,
        value_delimiter = ',',
        requires = "every"
    )]
    pub agg: Vec<crate::consolidate::Agg>,
    /// With --every: the fields to consolidate [default: every numeric one]
    #[arg(
        long = "field",
        value_name = "LIST",
        value_delimiter = ',',
        requires = "every"
    )]
    pub fields: Vec<String>,
    /// Chart these numeric fields in the terminal (sized to COLUMNS and LINES), by
    /// put time (or --time-field) from the first element of the selection, or of
    /// all the woof holds
    #[arg(
        long,
        value_name = "FIELDS",
        value_delimiter = ',',
        conflicts_with = "every"
    )]
    pub plot: Vec<String>,
    /// With --plot: draw into FILE instead of the terminal, a PNG (FILE.png) or an
    /// SVG (FILE.svg); the time axis in UTC, or local with --time-format local
    #[arg(long = "output", value_name = "FILE", requires = "plot")]
    pub plot_file: Option<std::path::PathBuf>,
    /// With --output: the image's width and height in pixels
    #[arg(long, value_name = "WxH", default_value = "1000x500", value_parser = crate::plot::parse_pixels)]
    pub size: (u32, u32),
    /// Describe the woof instead (with --format json: as one JSON object)
    #[arg(long)]
    pub info: bool,
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn run(args: Args) -> Result<(), Failure> {
    args.output.check()?;
    // With --results there is no NAME: a lone positional is the selection.
    let (name, which) = match (&args.name, args.results) {
        (Some(n), false) => (n.clone(), args.which.clone()),
        (None, true) => ("results".to_string(), args.which.clone()),
        (Some(n), true) if args.which == "0" => ("results".to_string(), n.clone()),
        (Some(_), true) => {
            return Err(Failure::usage(
                "--results reads the results log: give no woof name",
            ));
        }
        (None, false) => return Err(Failure::usage("a woof name is required")),
    };
    let (since, until) = crate::when::bounds(args.since, args.until, args.output.utc)?;
    crate::when::refuse_without_put_times(&name, since, until)?;
    let by_time = since.is_some() || until.is_some();
    if by_time && which != "0" {
        return Err(Failure::usage(
            "give a seqno or range, or --since/--until, not both",
        ));
    }
    if args.time_field.is_some() && !by_time && args.every.is_none() && args.plot.is_empty() {
        return Err(Failure::usage(
            "--time-field is the time of --since/--until, --every or --plot: give one",
        ));
    }
    let selection = range::parse(&which)?;
    let mut woof = source::open(&args.ns, &args.remote, &name, args.results, false)?;
    let schema = match &args.time_field {
        Some(_) => woof::records::schema_from(woof.schema(), &name)?,
        None => None,
    };
    let clock = Clock::of(schema.as_ref(), args.time_field.as_deref(), &name)?;
    let filter = Filter {
        clock,
        since,
        until,
    };
    if let Some(every) = args.every {
        return consolidated(&args, woof.as_mut(), &name, selection, filter, every);
    }
    if !args.plot.is_empty() {
        return plotted(&args, woof.as_mut(), &name, selection, filter);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 << 10, stdout.lock());
    if args.info {
        let json = args.output.format() == Some(Format::Json);
        let time = args.output.time_format;
        output::info(&mut out, &name, &woof.info()?, json, time).map_err(Failure::stdout)?;
        return out.flush().map_err(Failure::stdout);
    }
    let mut printer = Printer::for_tool(
        out,
        "woof-get",
        &name,
        args.results,
        &args.output,
        woof.as_ref(),
    )?;
    if by_time && matches!(clock, Clock::Field(_)) {
        let window = window(woof.as_mut(), &name, selection, filter)?;
        let result = print_picked(woof.as_mut(), &name, window, filter, &mut printer);
        printer.flush().map_err(Failure::stdout)?;
        return match (result, printer.errored) {
            (Ok(()), true) => Err(Failure::reported(&woof::ErrorKind::BadData)),
            (r, _) => r,
        };
    }
    let selection = if by_time {
        match crate::when::range(woof.as_mut(), &name, since, until)? {
            Some((from, to)) => Selection::Range(from, Some(to)),
            // Nothing was put in that window: nothing to print, and no error.
            None => return printer.flush().map_err(Failure::stdout),
        }
    } else {
        selection
    };
    let result = match selection {
        Selection::One(s) => print_one(woof.as_mut(), &name, s, &mut printer),
        Selection::Range(from, to) => print_range(woof.as_mut(), &name, from, to, &mut printer),
    };
    printer.flush().map_err(Failure::stdout)?;
    if printer.errored {
        // Undecodable fields were reported as they came.
        result?;
        return Err(Failure::reported(&woof::ErrorKind::BadData));
    }
    result
}

/// The seqnos --every, --plot and --time-field read: those put in --since/--until,
/// a range, one seqno, or (the default, and for a field's time) all the woof
/// holds; None when it is empty.
fn window(
    woof: &mut dyn Source,
    name: &str,
    selection: Selection,
    filter: Filter,
) -> Result<Option<(u64, u64)>, Failure> {
    let by_put_time =
        (filter.since.is_some() || filter.until.is_some()) && matches!(filter.clock, Clock::Put);
    let w = if by_put_time {
        crate::when::range(woof, name, filter.since, filter.until)?
    } else {
        match selection {
            Selection::One(0) => Some((woof.oldest().max(1), woof.latest())),
            Selection::One(s) => Some((s, s)),
            Selection::Range(from, to) => Some((from, to.unwrap_or(woof.latest()))),
        }
    };
    Ok(w.filter(|(f, t)| f <= t && *t > 0))
}

/// `--plot`: charts of the window's numeric fields.
fn plotted(
    args: &Args,
    woof: &mut dyn Source,
    name: &str,
    selection: Selection,
    filter: Filter,
) -> Result<(), Failure> {
    let Some(schema) = woof::records::schema_from(woof.schema(), name)? else {
        return Err(Failure::from(
            woof::Error::new(ErrorKind::BadData, name)
                .detail("--plot needs a woof with a schema (this one has none)"),
        ));
    };
    let target = crate::plot::Target::of(
        args.plot_file.as_deref(),
        args.size,
        args.output.time_format,
    )?;
    let w = window(woof, name, selection, filter)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    crate::plot::run(
        woof,
        name,
        &schema,
        &args.plot,
        (w, filter),
        target,
        &mut out,
    )
}

/// `--every`: the selection (all the woof holds by default) consolidated.
fn consolidated(
    args: &Args,
    woof: &mut dyn Source,
    name: &str,
    selection: Selection,
    filter: Filter,
    every: std::time::Duration,
) -> Result<(), Failure> {
    use crate::consolidate::{self, Agg, Plan};
    let schema = woof::records::schema_from(woof.schema(), name)?;
    let format = args.output.choose(schema.is_some());
    consolidate::check(schema.as_ref(), name, format)?;
    let Some(schema) = schema else {
        return Ok(());
    };
    let w = window(woof, name, selection, filter)?;
    let aggs = if args.agg.is_empty() {
        vec![Agg::Avg]
    } else {
        args.agg.clone()
    };
    let plan = Plan {
        every,
        aggs: &aggs,
        fields: &args.fields,
        format,
        time: args.output.time_format,
        header: args.output.header || args.output.format_arg.is_none(),
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    consolidate::run(woof, name, &schema, (w, filter), &plan, &mut out)
}

/// `--since/--until` by a timestamp field: the elements of the window whose
/// field is in the bounds, in seqno order.
fn print_picked<W: Write>(
    woof: &mut dyn Source,
    name: &str,
    window: Option<(u64, u64)>,
    filter: Filter,
    p: &mut Printer<W>,
) -> Result<(), Failure> {
    let Some(window) = window else {
        return Ok(());
    };
    let mut written = Ok(());
    source::each_held(woof, name, window, |el, data| {
        if written.is_ok() && filter.pick(el, data).is_some() {
            written = p.element(el, data);
        }
    })?;
    written.map_err(Failure::stdout)
}

fn print_one<W: Write>(
    woof: &mut dyn Source,
    name: &str,
    seqno: u64,
    p: &mut Printer<W>,
) -> Result<(), Failure> {
    let mut buf = vec![0u8; woof.element_size()];
    let el = woof
        .get(seqno, &mut buf, seqno)
        .map_err(|e| e.within(name))?;
    p.element(&el, &buf).map_err(Failure::stdout)
}

/// Prints what exists of FROM..=TO; reports the first problem after the rest is out.
fn print_range<W: Write>(
    woof: &mut dyn Source,
    name: &str,
    from: u64,
    to: Option<u64>,
    p: &mut Printer<W>,
) -> Result<(), Failure> {
    let latest = woof.latest();
    if to.is_none() && from > latest {
        // "FROM.. to the latest" with nothing there: the same answer as FROM alone.
        return Err(Failure::from(
            woof::Error::new(
                ErrorKind::NotYet {
                    seqno: from,
                    latest,
                },
                "",
            )
            .within(name),
        ));
    }
    let to = to.unwrap_or(latest);
    let mut buf = vec![0u8; woof.element_size()];
    let mut failed = None;
    let mut s = from;
    while s <= to {
        match woof.get(s, &mut buf, to) {
            Ok(el) => {
                p.element(&el, &buf).map_err(Failure::stdout)?;
                s += 1;
            }
            Err(e) => {
                let next = match e.kind() {
                    ErrorKind::Evicted { oldest, .. } => Some((*oldest).max(s + 1)),
                    ErrorKind::Corrupt => Some(s + 1),
                    _ => None,
                };
                let e = e.within(name);
                // Report now, in order with the output; exit non-zero at the end.
                p.flush().map_err(Failure::stdout)?;
                warn("woof-get", &e.to_string());
                failed.get_or_insert(Failure::reported(e.kind()));
                match next {
                    Some(n) => s = n,
                    None => break,
                }
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

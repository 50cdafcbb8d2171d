//! `woof-tail`: the last elements of a woof, then (with -f) every new one as it is
//! put. With --cursor it resumes exactly after the last element it printed.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use woof::ErrorKind;
use woof::records::time::When;

use crate::cursor::Cursor;
use crate::exit::{Failure, warn};
use crate::output::{OutputArgs, Printer};
use crate::source::{self, Source};
use crate::target::{NamespaceArg, RemoteArgs, Target};

const EXAMPLES: &str = "\
Examples:
  woof-tail temps                        the last 10 elements
  woof-tail temps -n 5 --format json     the last 5, one JSON object per line
  woof-tail temps -n +1                  everything the woof holds, from its oldest
  woof-tail -f temps                     then follow: each new element as it is put
  woof-tail -f temps --cursor ~/.temps.cur   resume after the last element printed
  woof-tail temps --after 41 --format csv    everything after seqno 41
  woof-tail -f temps --format raw | woof-put --batch -N /other/ns temps
  woof-tail -f woof://cloud/srv/ns/temps --cursor ~/.cur   remote follow, resumable
  woof-tail -F woof://cloud/srv/ns/temps --cursor ~/.cur   ... and across proxy restarts
  woof-tail -f temps -n 0 -C 1 -W 30s    the next element, or exit 75 after 30 s without one
  woof-tail -f temps humidity door       several woofs, each line tagged with its woof";

/// Print the last elements of a woof, and follow it.
///
/// Following sleeps on a futex in the woof's header: a put wakes it at once, and an
/// idle follower costs nothing. With --cursor FILE, the seqno of the last element
/// printed is stored in FILE after each flushed batch of output; a later run starts
/// right after it (a new FILE starts at the oldest element, or the last -n). If the
/// woof wraps past elements before they are printed, a warning names them and the
/// tail continues from the oldest (exit 66 when not following). A follower exits
/// 0 as soon as the reader of its standard output goes away (`| head -1`), without
/// waiting for another put, as GNU tail -f does.
///
/// With -F it keeps following across what may come back: it says once on stderr
/// that it lost the woof and retries (100 ms doubling to 5 s), then says when it
/// follows again and goes on right after the last element it printed, so with
/// --cursor nothing is lost or printed twice across proxy restarts. A woof that
/// comes back with another element size or schema ends it (exit 65); so does
/// what cannot come back (a bad name 2, no right 77). Plain -f exits 69 when the
/// proxy goes away.
#[derive(Debug, Parser)]
#[command(name = "woof-tail", version, after_help = EXAMPLES)]
pub struct Args {
    /// Woofs to read (names, woof://host/namespace/name URIs, or cspot://… for a
    /// CSPOT host, followed by polling); with several,
    /// each is followed at once and every line is tagged with its woof
    #[arg(required_unless_present = "results", value_name = "NAME")]
    pub names: Vec<String>,
    /// Read the handler results log of the namespace instead of a woof
    #[arg(long)]
    pub results: bool,
    /// How many of the latest elements to print first [default: 10]; +N: from
    /// seqno N on (or the oldest held, if N is gone), as tail's +N
    #[arg(short = 'n', long = "lines", value_name = "[+]N", value_parser = parse_count)]
    pub count: Option<Count>,
    /// Keep printing new elements as they are put
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Follow, and keep following across what may come back (like tail -F): a
    /// woof-proxy that restarts or is unreachable for a while, a local woof missing
    /// for a while or replaced by woof-create --force (followed from its start)
    #[arg(short = 'F', long = "follow-retry")]
    pub follow_retry: bool,
    /// Stop after printing N elements (counting the first ones), as mosquitto_sub -C
    #[arg(short = 'C', long = "count", value_name = "N", value_parser = crate::quantity::parse)]
    pub stop_after: Option<u64>,
    /// With -f/-F: give up, exit 75, when DURATION passes without a new element
    /// (from the start, then from the last one printed)
    #[arg(short = 'W', long = "within", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub within: Option<Duration>,
    /// Start right after this seqno (instead of the last N)
    #[arg(long, value_name = "SEQNO", conflicts_with = "count")]
    pub after: Option<u64>,
    /// Start at the first element put at or after TIME (as woof-get --since)
    #[arg(long, value_name = "TIME", value_parser = crate::when::parse, allow_hyphen_values = true, conflicts_with_all = ["count", "after"])]
    pub since: Option<When>,
    /// Stop (exit 0) at the first element put after TIME; with -f, wait for it
    #[arg(long, value_name = "TIME", value_parser = crate::when::parse, allow_hyphen_values = true)]
    pub until: Option<When>,
    /// Resume after the seqno stored in FILE, and keep FILE up to date
    #[arg(long, value_name = "FILE")]
    pub cursor: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn run(mut args: Args) -> Result<(), Failure> {
    args.output.check()?;
    args.output.tagged_for = crate::tail_many::tagged_for();
    if args.names.len() > 1 {
        return crate::tail_many::run(crate::tail_many::Asked {
            names: &args.names,
            results: args.results,
            cursor: args.cursor.is_some(),
            output: &args.output,
            command: Args::command(),
        });
    }
    let name = match (args.names.first(), args.results) {
        (None, true) => "results".to_string(),
        (Some(n), false) => n.clone(),
        (Some(_), true) => {
            return Err(Failure::usage(
                "--results reads the results log: give no woof name",
            ));
        }
        (None, false) => return Err(Failure::usage("a woof name is required")),
    };
    let follow = args.follow || args.follow_retry;
    if args.within.is_some() && !follow {
        return Err(Failure::usage("-W needs -f or -F"));
    }
    if args.stop_after == Some(0) {
        return Err(Failure::usage("-C needs at least 1"));
    }
    // Only a local woof can be replaced under its name (a proxy reopens its own).
    let local = matches!(Target::parse(&name), Ok(Target::Local(_)));
    // Only a follower needs the woof writable (it registers as a waiter).
    let mut woof = match source::open(&args.ns, &args.remote, &name, args.results, follow) {
        Err(f) if args.follow_retry => {
            source::reopen(&args.ns, &args.remote, &name, args.results, f)?
        }
        opened => opened?,
    };
    let (mut cursor, stored) = match &args.cursor {
        Some(path) => {
            let (c, s) = Cursor::open(path)?;
            (Some(c), s)
        }
        None => (None, None),
    };
    let latest = woof.latest();
    let (since, until) = crate::when::bounds(args.since, args.until, args.output.utc)?;
    crate::when::refuse_without_put_times(&name, since, until)?;
    // --since is an --after found by put time.
    let since = match since {
        Some(t) => Some(crate::when::first_at_or_after(woof.as_mut(), &name, t)?.saturating_sub(1)),
        None => None,
    };
    // Where to start: an explicit --after (or --since), a stored cursor, the last N,
    // -n +N, or (a new cursor without -n) everything the woof still holds.
    let mut after = match (args.after.or(since), stored, args.count, &cursor) {
        (Some(a), _, _, _) => a,
        (None, Some(s), _, _) => s,
        (None, None, None, Some(_)) => 0,
        (None, None, Some(Count::From(n)), _) => n.saturating_sub(1),
        (None, None, Some(Count::Last(n)), _) => latest.saturating_sub(n),
        (None, None, None, None) => latest.saturating_sub(10),
    };
    let explicit_start = args.after.is_some() || stored.is_some();
    if !explicit_start {
        // Asking for more than the woof holds is not a loss.
        after = after.max(woof.oldest().saturating_sub(1));
    }
    let mut gaps_matter = explicit_start;
    if explicit_start && after > latest {
        warn(
            "woof-tail",
            &format!(
                "{}: starting after seqno {after}, beyond the latest ({latest}); was the woof re-created?",
                name
            ),
        );
    }
    let stdout = io::stdout();
    let out = BufWriter::with_capacity(64 << 10, stdout.lock());
    // Results are records for people and scripts: readable even on a pipe.
    let mut printer = Printer::for_tool(
        out,
        "woof-tail",
        &name,
        args.results,
        &args.output,
        woof.as_ref(),
    )?;
    let busy = follow.then(crate::reader::exit_when_gone);
    let size = woof.element_size();
    let schema = woof.schema().to_vec();
    let mut buf = vec![0u8; woof.element_size()];
    // Exit code of the first element that could not be printed (66 evicted, 65 corrupt).
    let mut failed: Option<woof::ErrorKind> = None;
    // -C: elements still to print; -W: when to give up waiting.
    let mut left = args.stop_after;
    let mut deadline = args.within.map(|w| Instant::now() + w);
    // The last wait ended without a new element (a timeout).
    let mut quiet = false;
    loop {
        let latest = woof.latest();
        let upto = left.map_or(latest, |n| latest.min(after.saturating_add(n)));
        let writing = busy.as_ref().map(|b| b.lock());
        let mut shown = 0;
        let mut past = false;
        let printed = print_after(
            woof.as_mut(),
            &name,
            after,
            upto,
            gaps_matter,
            &mut buf,
            &mut printer,
            &mut failed,
            &mut shown,
            (until, &mut past),
        );
        let printed = match printed {
            Ok(p) => p,
            Err(lost) if args.follow_retry => {
                drop(writing);
                woof = source::reopen(&args.ns, &args.remote, &name, args.results, lost)?;
                check_same_shape(woof.as_mut(), &name, size, &schema)?;
                continue;
            }
            Err(f) => return Err(f),
        };
        gaps_matter = true;
        if printed > after {
            printer.flush().map_err(Failure::stdout)?;
            if let Some(c) = cursor.as_mut() {
                c.store(printed)?;
            }
            after = printed;
        }
        if shown > 0 {
            deadline = args.within.map(|w| Instant::now() + w);
        }
        if let Some(n) = left.as_mut() {
            *n = n.saturating_sub(shown);
            if *n == 0 {
                break;
            }
        }
        if past {
            // --until: an element put after it came; it and what follows are not ours.
            break;
        }
        if !follow {
            break;
        }
        drop(writing);
        // Only after a wait that brought nothing: a replaced woof gets no puts, and
        // a busy one is not looked up (two syscalls) at every wake-up.
        if args.follow_retry && quiet && woof.replaced() {
            // A new woof under the name: its seqnos start again, so follow it from
            // its start (what the old one held after `after` is gone with it).
            let lost = Failure::new(
                &ErrorKind::NotFound,
                format!("{name}: replaced by another woof"),
            );
            woof = source::reopen(&args.ns, &args.remote, &name, args.results, lost)?;
            check_same_shape(woof.as_mut(), &name, size, &schema)?;
            after = woof.oldest().saturating_sub(1);
            gaps_matter = false;
            continue;
        }
        // With -F a local follower looks up now and then whether its woof was
        // replaced; with -W no wait outlasts the deadline.
        let check = (args.follow_retry && local).then_some(REPLACED_CHECK);
        let bound = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let w = args.within.unwrap_or_default();
                    return Err(Failure::new(
                        &ErrorKind::Timeout,
                        format!(
                            "{name}: no element within {}",
                            humantime::format_duration(w)
                        ),
                    ));
                }
                Some(check.map_or(left, |c| c.min(left)))
            }
            None => check,
        };
        let waited_after = after.max(latest);
        match woof.wait_after(waited_after, bound) {
            Ok(now) => quiet = now <= waited_after,
            Err(lost) if args.follow_retry => {
                woof = source::reopen(&args.ns, &args.remote, &name, args.results, lost)?;
                check_same_shape(woof.as_mut(), &name, size, &schema)?;
            }
            Err(f) => return Err(f),
        }
    }
    if printer.errored {
        failed.get_or_insert(woof::ErrorKind::BadData);
    }
    match failed {
        Some(kind) => Err(Failure::reported(&kind)),
        None => Ok(()),
    }
}

/// `-n N` (the last N) or `-n +N` (from seqno N on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Last(u64),
    From(u64),
}

fn parse_count(s: &str) -> Result<Count, String> {
    match s.strip_prefix('+') {
        Some(n) => crate::quantity::parse(n).map(Count::From),
        None => crate::quantity::parse(s).map(Count::Last),
    }
}

/// How often `-F` checks that a local woof's name still names the woof it follows.
const REPLACED_CHECK: Duration = Duration::from_millis(500);

/// A woof found again under the name must be one the printer can go on with.
fn check_same_shape(
    woof: &mut dyn Source,
    name: &str,
    size: usize,
    schema: &[u8],
) -> Result<(), Failure> {
    if woof.element_size() == size && woof.schema() == schema {
        return Ok(());
    }
    Err(Failure::new(
        &ErrorKind::BadData,
        format!(
            "{name}: now a woof of another shape ({size}-byte elements before, {} now, or another schema); start woof-tail again",
            woof.element_size()
        ),
    ))
}

/// Prints every element in (after, latest]; returns the last seqno printed or
/// skipped (so the caller never waits for what is already gone).
#[allow(clippy::too_many_arguments)]
fn print_after<W: Write>(
    woof: &mut dyn Source,
    name: &str,
    after: u64,
    latest: u64,
    gaps_matter: bool,
    buf: &mut [u8],
    printer: &mut Printer<W>,
    failed: &mut Option<woof::ErrorKind>,
    shown: &mut u64,
    (until, past): (Option<i64>, &mut bool),
) -> Result<u64, Failure> {
    let mut s = after + 1;
    let mut done = after;
    while s <= latest {
        match woof.get(s, buf, latest) {
            Ok(el) if until.is_some_and(|u| el.time_ns as i64 > u) => {
                *past = true;
                break;
            }
            Ok(el) => {
                printer.element(&el, buf).map_err(Failure::stdout)?;
                *shown += 1;
                done = s;
                s += 1;
            }
            Err(e) => {
                match e.kind() {
                    ErrorKind::Evicted { oldest, .. } => {
                        let oldest = (*oldest).max(s + 1);
                        if gaps_matter {
                            printer.flush().map_err(Failure::stdout)?;
                            let gap = if oldest - 1 == s {
                                format!("seqno {s} was evicted before it was read")
                            } else {
                                format!(
                                    "seqnos {s}..{} were evicted before they were read",
                                    oldest - 1
                                )
                            };
                            warn("woof-tail", &format!("{name}: {gap} (oldest is {oldest})"));
                            failed.get_or_insert(woof::ErrorKind::NotFound);
                        }
                        s = oldest;
                    }
                    ErrorKind::Corrupt => {
                        printer.flush().map_err(Failure::stdout)?;
                        failed.get_or_insert(e.kind().clone());
                        warn("woof-tail", &e.within(name).to_string());
                        s += 1;
                    }
                    _ => return Err(Failure::from(e.within(name))),
                }
                done = s - 1;
            }
        }
    }
    Ok(done)
}

//! `woof-put`: append one element from stdin, or stream many (`--batch`, `--lines`).

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use clap::Parser;
use woof::{Durability, Error, ErrorKind, Woof, Writer};

use crate::create::DurabilityArg;
use crate::exit::{Failure, warn};
use crate::input::{Chunks, Framing};
use crate::progress::Meter;
use crate::records::{self, Encoder, Input, RecordError};
use crate::target::{NamespaceArg, RemoteArgs, Target};

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
/// CSV record or JSON object (one per line) becomes one element, put as --batch puts.
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
    /// Woof to put to (a name, or a woof://host/namespace/name URI)
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
    /// Typed records: one JSON object per line, one element each (needs a schema)
    #[arg(long, conflicts_with_all = ["lines", "pad"])]
    pub json: bool,
    /// With --csv: the first record is data, even when it names columns
    #[arg(long, requires = "csv")]
    pub no_header: bool,
    /// With --csv/--json: report bad records on stderr and put the others (exit 65
    /// at the end) instead of stopping at the first
    #[arg(long)]
    pub skip_bad: bool,
    /// Stream one element per line from stdin (the newline is not stored)
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

/// Where puts go: the woof, and with -H the trigger log that hands each element to
/// its handler.
struct Sink {
    woof: Woof,
    trigger: Option<TriggerTo>,
    durability: Durability,
}

struct TriggerTo {
    log: Woof,
    handler: String,
    cause: String,
}

impl Sink {
    /// Puts one element and its trigger (with -H) under the given durability; returns
    /// the element's seqno and the trigger's (0 without -H).
    fn put(&self, name: &str, data: &[u8], durability: Durability) -> Result<(u64, u64), Failure> {
        let done = match &self.trigger {
            None => self.woof.put_with(data, durability).map(|s| (s, 0)),
            Some(t) => woof::trigger_log::put_triggered(
                &t.log, &self.woof, name, data, &t.handler, &t.cause, durability,
            ),
        };
        done.map_err(|e| Failure::from(e.within(name)))
    }
}

pub fn run(args: Args) -> Result<(), Failure> {
    if let Target::Remote(uri) = Target::parse(&args.name)? {
        return crate::put_remote::run(&args, &uri);
    }
    let ns = args.ns.open()?;
    let woof = ns.open_woof(&args.name)?;
    let durability = args
        .durability
        .map_or(woof.header().durability, Durability::from);
    let trigger = match &args.handler {
        None => None,
        Some(h) => {
            // Checked before anything is written: naming a missing handler changes nothing.
            ns.handler_path(h)?;
            // Inside a handler, WOOF_CAUSE names the run; puts made there carry it.
            let cause = std::env::var("WOOF_CAUSE").unwrap_or_default();
            woof::trigger_log::validate_cause(&cause)?;
            Some(TriggerTo {
                log: ns.trigger_log()?,
                handler: h.clone(),
                cause,
            })
        }
    };
    let sink = Sink {
        woof,
        trigger,
        durability,
    };
    if args.csv || args.json {
        let input = if args.csv { Input::Csv } else { Input::Json };
        let encoder = typed_encoder(
            &sink.woof.header().schema,
            &args.name,
            input,
            !args.no_header,
        )?;
        return put_stream(&sink, &args, Framing::Lines, Some(encoder));
    }
    if args.skip_bad {
        return Err(Failure::usage("--skip-bad needs --csv or --json"));
    }
    match (args.batch, args.lines) {
        (_, true) => put_stream(&sink, &args, Framing::Lines, None),
        (true, false) => put_stream(&sink, &args, Framing::Fixed, None),
        (false, false) => put_one(&sink, &args),
    }
}

fn put_one(sink: &Sink, args: &Args) -> Result<(), Failure> {
    let data = read_one(sink.woof.element_size(), args.pad, &args.name)?;
    let (seqno, _) = sink.put(&args.name, &data, sink.durability)?;
    writeln!(io::stdout(), "{seqno}").map_err(Failure::stdout)
}

/// Reads stdin as one element: exactly `size` bytes, or fewer zero-padded with --pad.
pub(crate) fn read_one(size: usize, pad: bool, name: &str) -> Result<Vec<u8>, Failure> {
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

pub(crate) fn size_error(
    name: &str,
    size: usize,
    got: u64,
    pad: bool,
    line: Option<u64>,
) -> Failure {
    let ctx = match line {
        Some(l) => format!("{name}: line {l}"),
        None => name.to_string(),
    };
    let mut err = Error::new(
        ErrorKind::Size {
            expected: size as u64,
            got,
        },
        ctx,
    );
    if got > size as u64 && pad {
        err = err.detail("--pad only pads shorter input");
    } else if got < size as u64 && !pad {
        err = err.detail("use --pad to zero-pad");
    }
    Failure::from(err)
}

/// Tracks what has been put and what is not yet synced.
struct Progress {
    first: u64,
    last: u64,
    synced: u64,
    /// Trigger seqnos (with -H): the first not yet synced, and the last put.
    trig_unsynced: u64,
    trig_last: u64,
    last_sync: Instant,
}

impl Progress {
    fn sync(&mut self, sink: &Sink, name: &str) -> Result<(), Failure> {
        if self.last > self.synced {
            sink.woof
                .sync(self.synced + 1, self.last)
                .map_err(|e| e.within(name))?;
            self.synced = self.last;
        }
        if let Some(t) = &sink.trigger
            && self.trig_unsynced != 0
        {
            t.log
                .sync(self.trig_unsynced, self.trig_last)
                .map_err(|e| e.within(name))?;
            self.trig_unsynced = 0;
        }
        self.last_sync = Instant::now();
        Ok(())
    }
}

/// The record encoder of a woof with a schema; a woof without one is an error
/// before any input is read.
pub(crate) fn typed_encoder(
    schema: &[u8],
    name: &str,
    input: Input,
    detect_header: bool,
) -> Result<Encoder, Failure> {
    let flag = if input == Input::Csv {
        "--csv"
    } else {
        "--json"
    };
    match records::schema_from(schema, name)? {
        Some(schema) => Ok(Encoder::new(schema, input, detect_header)),
        None => Err(Failure::from(Error::new(ErrorKind::BadData, name).detail(
            format!(
                "{flag} needs a woof with a schema (this one has none; see woof-create --schema)"
            ),
        ))),
    }
}

pub(crate) fn record_error(name: &str, e: &RecordError) -> Failure {
    Failure::from(Error::new(ErrorKind::BadData, name).detail(e.to_string()))
}

fn put_stream(
    sink: &Sink,
    args: &Args,
    framing: Framing,
    mut encoder: Option<Encoder>,
) -> Result<(), Failure> {
    let woof = &sink.woof;
    let durability = sink.durability;
    let size = woof.element_size();
    let stdin = io::stdin();
    let mut chunks = Chunks::new(stdin.lock(), framing, size);
    let start = woof.latest();
    let mut p = Progress {
        first: 0,
        last: 0,
        synced: start,
        trig_unsynced: 0,
        trig_last: 0,
        last_sync: Instant::now(),
    };
    let mut padded = vec![0u8; size];
    let mut failure = None;
    let mut skipped: u64 = 0;
    let mut meter = Meter::for_stderr();
    loop {
        if durability == Durability::Batch && p.last > p.synced {
            // Bounded delay: if input stalls, sync what we have before waiting on it.
            let due = args.commit_interval.saturating_sub(p.last_sync.elapsed());
            if due.is_zero() || !readable_within(due) {
                p.sync(sink, &args.name)?;
            }
        }
        let more = chunks.fill().map_err(|e| Failure::io("stdin", e))?;
        if !more {
            break;
        }
        let mut writer: Option<Writer<'_>> = None;
        // `now` in typed records: one clock read per arrival of input.
        let now = woof::now_ns() as i64;
        loop {
            let line = chunks.line_no;
            let Some(el) = chunks.next_element() else {
                break;
            };
            let data: &[u8] = if let Some(enc) = encoder.as_mut() {
                match enc.line(el, line, now) {
                    Ok(Some(record)) => record,
                    Ok(None) => continue,
                    Err(e) if args.skip_bad => {
                        warn("woof-put", &format!("{}: {e}", args.name));
                        skipped += 1;
                        continue;
                    }
                    Err(e) => {
                        failure = Some(record_error(&args.name, &e));
                        break;
                    }
                }
            } else if el.len() == size {
                el
            } else if el.len() < size && args.pad {
                padded[..el.len()].copy_from_slice(el);
                padded[el.len()..].fill(0);
                &padded
            } else {
                failure = Some(size_error(
                    &args.name,
                    size,
                    el.len() as u64,
                    args.pad,
                    Some(line),
                ));
                break;
            };
            let seqno = if sink.trigger.is_some() {
                // Each element with its own trigger; synced with the group below.
                let (seqno, t) = match sink.put(&args.name, data, Durability::None) {
                    Ok(done) => done,
                    Err(f) => {
                        // e.g. trigger log full: report what was put before it.
                        failure = Some(f);
                        break;
                    }
                };
                if p.trig_unsynced == 0 {
                    p.trig_unsynced = t;
                }
                p.trig_last = t;
                seqno
            } else {
                if writer.is_none() {
                    writer = Some(woof.writer().map_err(|e| e.within(&args.name))?);
                }
                let Some(w) = writer.as_mut() else { break };
                w.append(data).map_err(|e| e.within(&args.name))?
            };
            if p.first == 0 {
                p.first = seqno;
            }
            p.last = seqno;
        }
        drop(writer); // publish and unlock before syncing or reading more
        if failure.is_some() {
            break;
        }
        meter.show(p.first, p.last);
        match durability {
            Durability::Always => p.sync(sink, &args.name)?,
            Durability::Batch if p.last_sync.elapsed() >= args.commit_interval => {
                p.sync(sink, &args.name)?
            }
            _ => {}
        }
        if chunks.at_eof() {
            if let Some(Err(e)) = encoder.as_mut().map(Encoder::finish) {
                failure = Some(record_error(&args.name, &e));
            }
            break;
        }
    }
    meter.done();
    if durability != Durability::None {
        p.sync(sink, &args.name)?;
    }
    if p.first != 0 {
        writeln!(io::stdout(), "{}..{}", p.first, p.last).map_err(Failure::stdout)?;
    }
    if let Some(f) = failure {
        return Err(f);
    }
    if skipped > 0 {
        let s = if skipped == 1 { "" } else { "s" };
        return Err(Failure::from(
            Error::new(ErrorKind::BadData, &args.name)
                .detail(format!("{skipped} bad record{s} skipped")),
        ));
    }
    if framing == Framing::Fixed && chunks.leftover() > 0 {
        let put = if p.first == 0 {
            "nothing was put".to_string()
        } else {
            format!("put {}..{}", p.first, p.last)
        };
        return Err(Failure::from(
            Error::new(ErrorKind::BadData, &args.name).detail(format!(
                "{} bytes left over at end of input (not a whole {size}-byte element); {put}",
                chunks.leftover()
            )),
        ));
    }
    Ok(())
}

/// Whether stdin becomes readable within `timeout`.
fn readable_within(timeout: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdin = io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let ms =
        PollTimeout::try_from(timeout.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
    matches!(poll(&mut fds, ms), Ok(n) if n > 0)
}

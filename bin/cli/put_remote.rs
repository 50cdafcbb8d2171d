//! `woof-put` to a `woof://` URI: the element(s) go to the woof-proxy serving that
//! namespace, which puts (and with -H triggers) exactly as a local put would.
//!
//! Streams (--batch, --lines) are sent as batches of whatever each read() of stdin
//! brought, several batches in flight at once, so a pipe is put at close to the
//! speed of the link, and a slow trickle still goes out element by element as it
//! arrives. Each acknowledged batch is durable to the woof's durability on the
//! server; on an error, what was acknowledged is printed before the error.

use std::io::{self, Read, Write};

use woof::{Durability, Error, ErrorKind};
use woof_net::Uri;
use woof_net::client::Client;
use woof_net::proto::MAX_BATCH_DATA;

use crate::exit::{Failure, warn};
use crate::input::{Chunks, Framing};
use crate::progress::Meter;
use crate::put::{Args, read_one, record_error, size_error, typed_encoder};
use crate::records::{Encoder, Input};

/// Batches in flight before waiting for the oldest's acknowledgement.
const WINDOW: usize = 8;
/// The largest element a woof holds (FORMAT.md).
const MAX_ELEMENT: u64 = 64 << 20;

/// All of stdin, up to `limit` bytes (the rest is not read).
fn read_all(limit: u64) -> Result<Vec<u8>, Failure> {
    let mut data = Vec::new();
    io::stdin()
        .lock()
        .take(limit)
        .read_to_end(&mut data)
        .map_err(|e| Failure::io("stdin", e))?;
    Ok(data)
}

pub fn run(args: &Args, uri: &Uri) -> Result<(), Failure> {
    let handler = args.handler.clone().unwrap_or_default();
    if !handler.is_empty() {
        woof::name::validate("handler name", &handler)?;
    }
    // Inside a handler, WOOF_CAUSE names the run; puts made there carry it.
    let cause = std::env::var("WOOF_CAUSE").unwrap_or_default();
    woof::trigger_log::validate_cause(&cause)?;
    let durability = args.durability.map(Durability::from);
    let name = uri.to_string();
    let typed = args.csv || args.json;
    if !args.batch && !args.lines && !args.pad && !typed {
        // Read before connecting; the proxy checks the size, as a local put would.
        let data = read_all(MAX_ELEMENT + 1)?;
        let opts = args.remote.options();
        let seqno = Client::put_once(uri, &opts, &handler, &cause, durability, &data).map_err(
            |e| match e.kind() {
                ErrorKind::Size { expected, got } => {
                    size_error(&name, *expected as usize, *got, false, None)
                }
                _ => Failure::from(e),
            },
        )?;
        return writeln!(io::stdout(), "{seqno}").map_err(Failure::stdout);
    }
    let mut client = args.remote.connect(uri)?;
    let info = client.info()?;
    let size = info.element_size as usize;
    let encoder = if typed {
        let input = if args.csv { Input::Csv } else { Input::Json };
        Some(typed_encoder(&info.schema, &name, input, !args.no_header)?)
    } else {
        if args.skip_bad {
            return Err(Failure::usage("--skip-bad needs --csv or --json"));
        }
        None
    };
    if !args.batch && !args.lines && !typed {
        let data = read_one(size, args.pad, &name)?;
        let seqno = client.put(&handler, &cause, durability, &data)?;
        return writeln!(io::stdout(), "{seqno}").map_err(Failure::stdout);
    }
    let framing = if args.lines || typed {
        Framing::Lines
    } else {
        Framing::Fixed
    };
    let mut s = Stream {
        client: &mut client,
        handler: &handler,
        cause: &cause,
        durability,
        first: 0,
        last: 0,
        meter: Meter::for_stderr(),
        encoder,
        skipped: 0,
    };
    let result = s.pump(args, &name, size, framing);
    s.meter.done();
    let drained = s.drain();
    if s.first != 0 {
        writeln!(io::stdout(), "{}..{}", s.first, s.last).map_err(Failure::stdout)?;
    }
    result.and(drained.map_err(Failure::from))?;
    if s.skipped > 0 {
        let n = s.skipped;
        let plural = if n == 1 { "" } else { "s" };
        return Err(Failure::from(
            Error::new(ErrorKind::BadData, &name).detail(format!("{n} bad record{plural} skipped")),
        ));
    }
    Ok(())
}

struct Stream<'a> {
    client: &'a mut Client,
    handler: &'a str,
    cause: &'a str,
    durability: Option<Durability>,
    first: u64,
    last: u64,
    meter: Meter,
    /// With --csv/--json: turns each record into an element.
    encoder: Option<Encoder>,
    skipped: u64,
}

impl Stream<'_> {
    fn send(&mut self, batch: &[u8]) -> Result<(), Error> {
        while self.client.in_flight >= WINDOW {
            self.ack()?;
        }
        self.client
            .send_batch(self.handler, self.cause, self.durability, batch)
    }

    fn ack(&mut self) -> Result<(), Error> {
        let (first, last) = self.client.recv_batch()?;
        if self.first == 0 {
            self.first = first;
        }
        self.last = last;
        self.meter.show(self.first, self.last);
        Ok(())
    }

    fn drain(&mut self) -> Result<(), Error> {
        while self.client.in_flight > 0 {
            if let Err(e) = self.ack() {
                let lost = self.client.in_flight;
                if lost == 0 {
                    return Err(e);
                }
                // Keep why it failed (unreachable, timed out, ...) in front.
                let why = e
                    .detail_text()
                    .map(|d| format!("{d}; "))
                    .unwrap_or_default();
                return Err(e.detail(format!(
                    "{why}{lost} batch(es) sent but not acknowledged; check the woof before re-sending"
                )));
            }
        }
        Ok(())
    }

    fn pump(
        &mut self,
        args: &Args,
        name: &str,
        size: usize,
        framing: Framing,
    ) -> Result<(), Failure> {
        let stdin = io::stdin();
        let mut chunks = Chunks::new(stdin.lock(), framing, size);
        let limit = MAX_BATCH_DATA.max(size) / size * size;
        let mut batch: Vec<u8> = Vec::with_capacity(limit);
        loop {
            let more = chunks.fill().map_err(|e| Failure::io("stdin", e))?;
            if !more {
                break;
            }
            // `now` in typed records: one clock read per arrival of input.
            let now = woof::now_ns() as i64;
            loop {
                let line = chunks.line_no;
                let Some(el) = chunks.next_element() else {
                    break;
                };
                if let Some(enc) = self.encoder.as_mut() {
                    match enc.line(el, line, now) {
                        Ok(Some(record)) => batch.extend_from_slice(record),
                        Ok(None) => continue,
                        Err(e) if args.skip_bad => {
                            warn("woof-put", &format!("{name}: {e}"));
                            self.skipped += 1;
                            continue;
                        }
                        Err(e) => {
                            if !batch.is_empty() {
                                self.send(&batch)?;
                            }
                            return Err(record_error(name, &e));
                        }
                    }
                } else if el.len() == size {
                    batch.extend_from_slice(el);
                } else if el.len() < size && args.pad {
                    batch.extend_from_slice(el);
                    batch.resize(batch.len() + size - el.len(), 0);
                } else {
                    let bad = size_error(name, size, el.len() as u64, args.pad, Some(line));
                    if !batch.is_empty() {
                        self.send(&batch)?;
                    }
                    return Err(bad);
                }
                if batch.len() >= limit {
                    self.send(&batch)?;
                    batch.clear();
                }
            }
            // Send what this read brought: a trickle goes out as it arrives.
            if !batch.is_empty() {
                self.send(&batch)?;
                batch.clear();
            }
            if chunks.at_eof() {
                if let Some(Err(e)) = self.encoder.as_mut().map(Encoder::finish) {
                    return Err(record_error(name, &e));
                }
                break;
            }
        }
        if framing == Framing::Fixed && chunks.leftover() > 0 {
            return Err(Failure::from(Error::new(ErrorKind::BadData, name).detail(
                format!(
                    "{} bytes left over at end of input (not a whole {size}-byte element)",
                    chunks.leftover()
                ),
            )));
        }
        Ok(())
    }
}

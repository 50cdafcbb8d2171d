//! `woof-put` to a `woof://` URI: the element(s) go to the woof-proxy serving that
//! namespace, which puts (and with -H triggers) through the same `PutRun` a local
//! put uses.
//!
//! Streams (--batch, --lines) are sent as batches of whatever each read() of stdin
//! brought, several batches in flight at once, so a pipe is put at close to the
//! speed of the link, and a slow trickle still goes out element by element as it
//! arrives. Each acknowledged batch is durable to the woof's durability on the
//! server; on an error, what was acknowledged is printed before the error.

use std::io::{self, Read, Write};

use woof::format::MAX_ELEMENT_SIZE;
use woof::{Durability, Error, ErrorKind};
use woof_net::Uri;
use woof_net::client::Client;
use woof_net::proto::MAX_BATCH_DATA;

use crate::exit::Failure;
use crate::input::Framing;
use crate::progress::Meter;
use woof::records::Input;

use super::elements::{self, Sink, size_error, typed_encoder};
use super::{Args, conclude, read_one};

/// Batches in flight before waiting for the oldest's acknowledgement.
const WINDOW: usize = 8;

pub(super) fn run(args: &Args, uri: &Uri) -> Result<(), Failure> {
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
        let data = read_all(MAX_ELEMENT_SIZE + 1)?;
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
    let limit = MAX_BATCH_DATA.max(size) / size * size;
    let mut sink = RemoteSink {
        client: &mut client,
        handler: &handler,
        cause: &cause,
        durability,
        batch: Vec::with_capacity(limit),
        limit,
        first: 0,
        last: 0,
        meter: Meter::for_stderr(),
    };
    let pumped = elements::pump(&mut sink, args, &name, size, framing, encoder);
    sink.meter.done();
    let drained = sink.drain().map_err(Failure::from);
    let range = (sink.first != 0).then_some((sink.first, sink.last));
    conclude(&name, size, range, drained, pumped)
}

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

struct RemoteSink<'a> {
    client: &'a mut Client,
    handler: &'a str,
    cause: &'a str,
    durability: Option<Durability>,
    /// Elements not sent yet, and how many bytes make a full batch.
    batch: Vec<u8>,
    limit: usize,
    /// FIRST..LAST acknowledged so far (0 before any).
    first: u64,
    last: u64,
    meter: Meter,
}

impl RemoteSink<'_> {
    fn send(&mut self) -> Result<(), Error> {
        while self.client.in_flight >= WINDOW {
            self.ack()?;
        }
        let sent = self
            .client
            .send_batch(self.handler, self.cause, self.durability, &self.batch);
        self.batch.clear();
        sent
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

    /// Waits for every batch in flight to be acknowledged.
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
}

impl Sink for RemoteSink<'_> {
    fn before_read(&mut self) -> Result<(), Failure> {
        Ok(())
    }

    fn element(&mut self, data: &[u8]) -> Result<(), Failure> {
        self.batch.extend_from_slice(data);
        if self.batch.len() >= self.limit {
            self.send()?;
        }
        Ok(())
    }

    /// Send what this read brought: a trickle goes out as it arrives.
    fn arrived(&mut self) -> Result<(), Failure> {
        if !self.batch.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

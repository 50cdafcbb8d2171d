//! `woof-put` to a `cspot://` URI: each element is one CSPOT put (tag 1, with the
//! handler if -H), after one question for the element size (tag 2), as CSPOT's
//! own clients do. Streams (--batch, --lines, --pad) go element by element: the
//! protocol has no batches. What it cannot carry is refused before anything is
//! sent: --durability, typed input (a CSPOT woof has no schema), --keys.

use std::io::{self, Write};

use woof_net::Uri;
use woof_net::cspot_client::{CspotClient, shown};

use crate::exit::Failure;
use crate::input::Framing;

use super::elements::{self, Sink};
use super::{Args, conclude, read_one};

pub(super) fn run(args: &Args, uri: &Uri) -> Result<(), Failure> {
    let name = shown(uri);
    let limit =
        |what: &str| Failure::usage(format!("{name}: {what} (CSPOT's protocol cannot carry it)"));
    if args.durability.is_some() {
        return Err(limit("--durability"));
    }
    if args.csv || args.json || args.skip_bad {
        return Err(limit(
            "--csv, --json and --skip-bad: a CSPOT woof has no schema",
        ));
    }
    let handler = args.handler.clone().unwrap_or_default();
    if !handler.is_empty() {
        woof::name::validate("handler name", &handler)?;
    }
    let mut client = CspotClient::connect(uri, args.remote.for_cspot(uri)?)?;
    let size = client.element_size()?;
    if !args.batch && !args.lines {
        let data = read_one(size, args.pad, &name)?;
        let seqno = client.put(&handler, &data)?;
        return writeln!(io::stdout(), "{seqno}").map_err(Failure::stdout);
    }
    let framing = if args.lines {
        Framing::Lines
    } else {
        Framing::Fixed
    };
    let mut sink = CspotSink {
        client: &mut client,
        handler: &handler,
        first: 0,
        last: 0,
    };
    let pumped = elements::pump(&mut sink, args, &name, size, framing, None);
    let range = (sink.first != 0).then_some((sink.first, sink.last));
    conclude(&name, size, range, Ok(()), pumped)
}

struct CspotSink<'a> {
    client: &'a mut CspotClient,
    handler: &'a str,
    first: u64,
    last: u64,
}

impl Sink for CspotSink<'_> {
    fn before_read(&mut self) -> Result<(), Failure> {
        Ok(())
    }

    fn element(&mut self, data: &[u8]) -> Result<(), Failure> {
        let seqno = self.client.put(self.handler, data)?;
        if self.first == 0 {
            self.first = seqno;
        }
        self.last = seqno;
        Ok(())
    }

    fn arrived(&mut self) -> Result<(), Failure> {
        Ok(())
    }
}

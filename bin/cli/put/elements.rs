//! Turning stdin into elements, the same for a local and a remote put: framing
//! (--batch, --lines), padding, typed records (--csv, --json, --skip-bad), and the
//! errors that name a bad line. Where the elements go is a `Sink`.

use std::io;

use woof::{Error, ErrorKind};

use crate::exit::{Failure, warn};
use crate::input::{Chunks, Framing};
use woof::records::{self, Encoder, Input, RecordError};

use super::Args;

/// Where a stream of elements goes: a local woof or a woof-proxy.
pub(super) trait Sink {
    /// Stdin is about to be read (and may block): a chance to sync what waits.
    fn before_read(&mut self) -> Result<(), Failure>;
    /// One element of exactly the element size.
    fn element(&mut self, data: &[u8]) -> Result<(), Failure>;
    /// The elements of one read of stdin have all been given.
    fn arrived(&mut self) -> Result<(), Failure>;
}

/// A stream stopped by SIGINT or SIGTERM: which, and where in the input.
pub(super) struct Interrupted {
    pub signal: i32,
    /// Lines (--lines, --csv, --json) or whole elements (--batch) of input taken.
    pub taken: u64,
    pub framing: Framing,
}

/// How a stream ended, apart from what the sink holds.
pub(super) struct Pumped {
    /// Stopped by a signal (the caller reports what was put, then dies of it).
    pub interrupted: Option<Interrupted>,
    /// What stopped it early: a bad record or element, or the sink refusing one.
    pub failure: Option<Failure>,
    /// Bad records skipped with --skip-bad.
    pub skipped: u64,
    /// Bytes after the last whole element (--batch only).
    pub leftover: usize,
}

/// Reads stdin to its end (or the first error), giving each element to `sink`.
pub(super) fn pump(
    sink: &mut dyn Sink,
    args: &Args,
    name: &str,
    size: usize,
    framing: Framing,
    mut encoder: Option<Encoder>,
) -> Pumped {
    // An ingest stopped with ^C or a kill says what it put before it goes.
    woof_process::catch_interrupts();
    let stdin = io::stdin();
    let mut chunks = Chunks::new(stdin.lock(), framing, size);
    let mut padded = vec![0u8; size];
    let mut skipped = 0;
    let mut failure = None;
    let mut taken = 0u64;
    'input: loop {
        if woof_process::interrupted().is_some() {
            break;
        }
        if let Err(f) = sink.before_read() {
            failure = Some(f);
            break;
        }
        match chunks.fill() {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => break,
            Err(e) => {
                failure = Some(Failure::io("stdin", e));
                break;
            }
        }
        // `now` in typed records: one clock read per arrival of input.
        let now = woof::now_ns() as i64;
        loop {
            let line = chunks.line_no;
            let Some(el) = chunks.next_element() else {
                break;
            };
            taken += 1;
            let data: &[u8] = if let Some(enc) = encoder.as_mut() {
                match enc.line(el, line, now) {
                    Ok(Some(record)) => record,
                    Ok(None) => continue,
                    Err(e) if args.skip_bad => {
                        warn("woof-put", &format!("{name}: {e}"));
                        skipped += 1;
                        continue;
                    }
                    Err(e) => {
                        failure = Some(record_error(name, &e));
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
                let got = el.len() as u64;
                failure = Some(size_error(name, size, got, args.pad, Some(line)));
                break;
            };
            if let Err(f) = sink.element(data) {
                failure = Some(f);
                break;
            }
        }
        // What came before a failure is still handed on (and reported as put).
        if let Err(f) = sink.arrived() {
            failure.get_or_insert(f);
        }
        if failure.is_some() {
            break 'input;
        }
        if chunks.at_eof() {
            if let Some(Err(e)) = encoder.as_mut().map(Encoder::finish) {
                failure = Some(record_error(name, &e));
            }
            break;
        }
    }
    let interrupted = woof_process::interrupted().map(|signal| Interrupted {
        signal,
        taken: if framing == Framing::Lines {
            chunks.line_no.saturating_sub(1)
        } else {
            taken
        },
        framing,
    });
    Pumped {
        interrupted,
        failure,
        skipped,
        leftover: if framing == Framing::Fixed {
            chunks.leftover()
        } else {
            0
        },
    }
}

pub(super) fn size_error(
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

/// The record encoder of a woof with a schema; a woof without one is an error
/// before any input is read.
pub(super) fn typed_encoder(
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

fn record_error(name: &str, e: &RecordError) -> Failure {
    Failure::from(Error::new(ErrorKind::BadData, name).detail(e.to_string()))
}

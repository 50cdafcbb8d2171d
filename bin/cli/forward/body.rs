//! What a message to an engine carries: the element's bytes, or for a typed woof
//! one JSON object or CSV row, by the encoders woof-get prints with (the same
//! `seqno`, `put_time` and fields), so a subscriber reads what `woof-get --format
//! json` would show.

use clap::ValueEnum;
use woof::Element;
use woof::records::Rows;
use woof::records::time::TimeFormat;
use woof::{Error, ErrorKind};

/// `--format` of woof-forward towards an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BodyFormat {
    /// The element's bytes as they are
    Raw,
    /// One JSON object per element (typed woofs): seqno, put_time, fields
    Json,
    /// One CSV row per element (typed woofs): seqno,put_time,fields
    Csv,
}

/// Encodes elements of one source into message bodies.
pub struct Body {
    format: BodyFormat,
    rows: Option<Rows>,
}

impl Body {
    /// For a source with `schema` (its header text, empty: untyped).
    pub fn new(format: BodyFormat, schema: &[u8], name: &str) -> Result<Body, Error> {
        let rows = match format {
            BodyFormat::Raw => None,
            BodyFormat::Json | BodyFormat::Csv => {
                let schema = woof::records::schema_from(schema, name)?.ok_or_else(|| {
                    Error::new(ErrorKind::BadArgument, "--format").detail(
                        "json and csv need a typed woof (one with a schema); \
                         forward this one with --format raw",
                    )
                })?;
                Some(Rows::new(schema, TimeFormat::Rfc3339))
            }
        };
        Ok(Body { format, rows })
    }

    /// Replaces `out` with the body of element `el` holding `data`.
    pub fn encode(&self, out: &mut Vec<u8>, el: &Element, data: &[u8]) {
        out.clear();
        match &self.rows {
            None => out.extend_from_slice(data),
            Some(rows) => {
                // A field that is not a value of its type is left empty (CSV) or
                // null (JSON), as woof-get prints it.
                let _ = rows.push(out, el, data, self.format == BodyFormat::Json, 0);
                if out.last() == Some(&b'\n') {
                    out.pop();
                }
            }
        }
    }
}

//! Typed records as text: CSV and JSON lines in (`woof-put --csv/--json`), out
//! (`woof-get`/`woof-tail --format csv|json` on a woof with a schema), and the
//! layout table of `--info`. The schema itself is `crate::schema`.

pub mod csv;
pub mod escape;
pub mod json;
pub mod text;
pub mod time;

use std::fmt;
use std::io::{self, Write};

use crate::schema::{RESERVED, Schema, Type, Value};
use crate::{Element, Error, ErrorKind, Woof};
use text::Style;
use time::TimeFormat;

/// The schema of an open woof; `None` without one. A header whose schema does not
/// parse is bad data (exit 65).
pub fn schema_of(woof: &Woof, name: &str) -> Result<Option<Schema>, Error> {
    schema_from(&woof.header().schema, name)
}

/// The schema of a woof's header text (local or as a proxy reported it).
pub fn schema_from(text: &[u8], name: &str) -> Result<Option<Schema>, Error> {
    Schema::from_header(text).map_err(|e| e.within(name))
}

/// Checks what `Schema::parse` cannot: that every declared default is a value of
/// its field's type.
pub fn check_defaults(schema: &Schema) -> Result<(), Error> {
    let mut el = vec![0u8; schema.element_size()];
    for (i, f) in schema.fields().iter().enumerate() {
        if let Some(d) = &f.default {
            text::store(f, d, &mut el, 0).map_err(|why| {
                Error::new(ErrorKind::BadData, "schema").detail(format!(
                    "field {} '{}': default: {why}",
                    i + 1,
                    f.name
                ))
            })?;
        }
    }
    Ok(())
}

/// Which text format records come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Csv,
    Json,
}

/// A record that could not be put: where, which field, why.
#[derive(Debug)]
pub struct RecordError {
    pub line: u64,
    pub field: Option<String>,
    pub why: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}, field {field}: {}", self.line, self.why),
            None => write!(f, "line {}: {}", self.line, self.why),
        }
    }
}

/// How CSV columns map to fields: positional until a header says otherwise.
enum Columns {
    /// The first record has not been seen yet (it may be a header).
    Unknown,
    /// Column i is field i.
    Positional,
    /// Column i is field `map[i]`, or ignored (`seqno`, `put_time`).
    Named(Vec<Option<usize>>),
}

/// Turns lines of CSV or JSON into elements of one schema, reusing its buffers.
pub struct Encoder {
    schema: Schema,
    input: Input,
    columns: Columns,
    el: Vec<u8>,
    fields: csv::Fields,
    /// A CSV record that continues on the next line (a quoted newline), and its
    /// first line number.
    pending: Vec<u8>,
    pending_line: u64,
    seen: Vec<bool>,
}

impl Encoder {
    /// `detect_header`: a first CSV record that names only columns is a header;
    /// without it, every record is data.
    pub fn new(schema: Schema, input: Input, detect_header: bool) -> Encoder {
        let n = schema.fields().len();
        Encoder {
            el: vec![0u8; schema.element_size()],
            schema,
            input,
            columns: if detect_header {
                Columns::Unknown
            } else {
                Columns::Positional
            },
            fields: csv::Fields::default(),
            pending: Vec::new(),
            pending_line: 0,
            seen: vec![false; n],
        }
    }

    /// Takes one input line (without its newline). Returns the element it completes,
    /// or `None` (a blank line, a header, or a record that goes on).
    pub fn line(
        &mut self,
        line: &[u8],
        line_no: u64,
        now: i64,
    ) -> Result<Option<&[u8]>, RecordError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A UTF-8 byte order mark (spreadsheet exports) is not data.
        let line = match line_no {
            1 => line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line),
            _ => line,
        };
        let (first_line, multi) = if self.pending.is_empty() {
            if line.iter().all(u8::is_ascii_whitespace) {
                return Ok(None);
            }
            if self.goes_on(line) {
                self.pending.extend_from_slice(line);
                self.pending_line = line_no;
                return Ok(None);
            }
            (line_no, false)
        } else {
            self.pending.push(b'\n');
            self.pending.extend_from_slice(line);
            if self.goes_on(&self.pending) {
                return Ok(None);
            }
            (self.pending_line, true)
        };
        // A multi-line record is taken out of `pending` (an empty Vec costs nothing).
        let rec = if multi {
            std::mem::take(&mut self.pending)
        } else {
            Vec::new()
        };
        let bytes: &[u8] = if multi { &rec } else { line };
        let result = match self.input {
            Input::Csv => self.csv_record(bytes, first_line, now),
            Input::Json => self.json_record(bytes, first_line, now),
        };
        if multi {
            // Keep the buffer's capacity for the next multi-line record.
            self.pending = rec;
            self.pending.clear();
        }
        result.map(|put| put.then_some(&self.el[..]))
    }

    /// Whether a record that starts with `text` goes on in the next line: a quoted
    /// CSV field holding a newline, or a JSON object printed over several lines
    /// (what `jq .` prints).
    fn goes_on(&self, text: &[u8]) -> bool {
        match self.input {
            Input::Csv => csv::open_quote(text),
            Input::Json => json::unclosed(text),
        }
    }

    /// Called at end of input: a record still open is an error.
    pub fn finish(&mut self) -> Result<(), RecordError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending.clear();
        Err(RecordError {
            line: self.pending_line,
            field: None,
            why: match self.input {
                Input::Csv => "quoted field not closed before the end of input".into(),
                Input::Json => "object not closed before the end of input".into(),
            },
        })
    }

    fn csv_record(&mut self, rec: &[u8], line: u64, now: i64) -> Result<bool, RecordError> {
        let err = |field: Option<String>, why: String| RecordError { line, field, why };
        self.fields.split(rec).map_err(|(n, why)| {
            let name = self.column_name(n - 1);
            err(name, why)
        })?;
        if let Columns::Unknown = self.columns {
            if let Some(map) = self.header_columns() {
                let named: Vec<usize> = map.iter().flatten().copied().collect();
                for (i, f) in self.schema.fields().iter().enumerate() {
                    if !named.contains(&i) && f.default.is_none() {
                        return Err(err(
                            Some(f.name.clone()),
                            "not in the header, and no default declared".into(),
                        ));
                    }
                }
                self.columns = Columns::Named(map);
                return Ok(false);
            }
            self.columns = Columns::Positional;
        }
        let n = self.fields.len();
        let want = match &self.columns {
            Columns::Named(map) => map.len(),
            _ => self.schema.fields().len(),
        };
        if n != want {
            let names: Vec<&str> = match &self.columns {
                Columns::Named(_) => Vec::new(),
                _ => self
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect(),
            };
            let why = if names.is_empty() {
                format!("{n} fields, the header has {want}")
            } else {
                format!("{n} fields, the schema has {want} ({})", names.join(","))
            };
            return Err(err(None, why));
        }
        self.seen.fill(false);
        for c in 0..n {
            let Some(fi) = (match &self.columns {
                Columns::Named(map) => map[c],
                _ => Some(c),
            }) else {
                continue;
            };
            let field = &self.schema.fields()[fi];
            let at = |why: String| err(Some(field.name.clone()), why);
            let text =
                std::str::from_utf8(self.fields.get(c)).map_err(|_| at("invalid UTF-8".into()))?;
            text::store(field, text, &mut self.el, now).map_err(at)?;
            self.seen[fi] = true;
        }
        self.fill_defaults(line, now)?;
        Ok(true)
    }

    /// Column `i`'s field name, when known (for error messages).
    fn column_name(&self, i: usize) -> Option<String> {
        let fi = match &self.columns {
            Columns::Named(map) => map.get(i).copied().flatten()?,
            _ => i,
        };
        self.schema.fields().get(fi).map(|f| f.name.clone())
    }

    /// The column map if the record just split is a header: every field a column
    /// name (a schema field, `seqno` or `put_time`), none twice.
    fn header_columns(&self) -> Option<Vec<Option<usize>>> {
        let mut map = Vec::with_capacity(self.fields.len());
        for c in 0..self.fields.len() {
            let name = std::str::from_utf8(self.fields.get(c)).ok()?.trim();
            let entry = match self.schema.position(name) {
                Some(fi) => Some(fi),
                None if RESERVED.contains(&name) => None,
                None => return None,
            };
            if entry.is_some() && map.contains(&entry) {
                return None;
            }
            map.push(entry);
        }
        map.iter().any(Option::is_some).then_some(map)
    }

    fn json_record(&mut self, line: &[u8], line_no: u64, now: i64) -> Result<bool, RecordError> {
        let err = |field: Option<String>, why: String| RecordError {
            line: line_no,
            field,
            why,
        };
        let text = std::str::from_utf8(line).map_err(|_| err(None, "invalid UTF-8".into()))?;
        let members = json::object(text).map_err(|(k, why)| err(k, why))?;
        self.seen.fill(false);
        for m in &members {
            let at = |why: &str| err(Some(m.key.clone()), why.to_string());
            let Some(fi) = self.schema.position(&m.key) else {
                if RESERVED.contains(&m.key.as_str()) {
                    continue;
                }
                let names: Vec<&str> = self
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect();
                return Err(at(&format!(
                    "unknown field (the schema has {})",
                    names.join(",")
                )));
            };
            if self.seen[fi] {
                return Err(at("given twice"));
            }
            let field = &self.schema.fields()[fi];
            let textual = matches!(
                field.ty,
                crate::schema::Type::Str(_) | crate::schema::Type::Bytes(_)
            );
            match m.kind {
                // null: as if the field were absent.
                json::Kind::Null => continue,
                json::Kind::Str => {}
                _ if textual => return Err(at(&format!("expected a string, got {}", m.text))),
                _ => {}
            }
            text::store(field, &m.text, &mut self.el, now).map_err(|why| at(&why))?;
            self.seen[fi] = true;
        }
        self.fill_defaults(line_no, now)?;
        Ok(true)
    }

    /// Stores the declared default of every field the record did not give.
    fn fill_defaults(&mut self, line: u64, now: i64) -> Result<(), RecordError> {
        for (fi, f) in self.schema.fields().iter().enumerate() {
            if self.seen[fi] {
                continue;
            }
            let at = |why: String| RecordError {
                line,
                field: Some(f.name.clone()),
                why,
            };
            match &f.default {
                Some(d) => {
                    text::store(f, d, &mut self.el, now).map_err(|w| at(format!("default: {w}")))?
                }
                None => return Err(at("missing, and no default declared".into())),
            }
        }
        Ok(())
    }
}

/// Decodes elements of one schema into CSV rows or JSON objects.
pub struct Rows {
    schema: Schema,
    pub time: TimeFormat,
}

impl Rows {
    pub fn new(schema: Schema, time: TimeFormat) -> Rows {
        Rows { schema, time }
    }

    /// The CSV header line: `seqno,put_time,FIELD...`.
    pub fn csv_header(&self) -> String {
        let mut cols: Vec<&str> = RESERVED.to_vec();
        cols.extend(self.schema.fields().iter().map(|f| f.name.as_str()));
        format!("{}\n", cols.join(","))
    }

    /// The columns of `table` output: seqno, put time, then each field, each as
    /// wide as its widest value can be (a string's declared length, capped at 24),
    /// so that a followed table stays aligned without knowing what comes.
    fn table_widths(&self) -> Vec<usize> {
        let time = match self.time {
            TimeFormat::Rfc3339 => 30,
            TimeFormat::Unix => 20,
            TimeFormat::UnixNs => 19,
            TimeFormat::Relative => 14,
            TimeFormat::Local => 35,
        };
        let mut w = vec![RESERVED[0].len().max(6), RESERVED[1].len().max(time)];
        for f in self.schema.fields() {
            let value = match f.ty {
                Type::I8 => 4,
                Type::U8 => 3,
                Type::I16 => 6,
                Type::U16 => 5,
                Type::I32 => 11,
                Type::U32 => 10,
                Type::I64 | Type::U64 => 20,
                Type::F32 | Type::F64 => 12,
                Type::Bool => 5,
                Type::Timestamp => time,
                Type::Str(n) => n.min(24) as usize,
                Type::Bytes(n) => (2 * n).min(24) as usize,
            };
            w.push(value.max(f.name.len()));
        }
        w
    }

    /// The heading of `table` output, padded to the columns.
    pub fn table_header(&self) -> String {
        let mut cols: Vec<&str> = RESERVED.to_vec();
        cols.extend(self.schema.fields().iter().map(|f| f.name.as_str()));
        let mut line = Vec::new();
        for (i, (c, w)) in cols.iter().zip(self.table_widths()).enumerate() {
            pad_cell(&mut line, c.as_bytes(), w, i == 0, i + 1 == cols.len());
        }
        line.push(b'\n');
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Appends one element as a row of aligned columns: numbers right-aligned, text
    /// left, a string as it is (control characters shown as `?`), a field whose
    /// bytes are not a value as `?`.
    pub fn push_table(
        &self,
        line: &mut Vec<u8>,
        el: &Element,
        data: &[u8],
        now: i64,
    ) -> Result<(), String> {
        let style = Style {
            json: false,
            time: self.time,
            now,
        };
        let widths = self.table_widths();
        let last = self.schema.fields().len() + 1;
        let mut cell = Vec::with_capacity(32);
        cell.extend_from_slice(itoa::Buffer::new().format(el.seqno).as_bytes());
        pad_cell(line, &cell, widths[0], true, false);
        cell.clear();
        self.time.push(&mut cell, el.time_ns as i64, now, false);
        pad_cell(line, &cell, widths[1], false, last == 1);
        let mut bad = None;
        for (i, f) in self.schema.fields().iter().enumerate() {
            cell.clear();
            let numeric = !matches!(f.ty, Type::Str(_) | Type::Bytes(_) | Type::Timestamp);
            match f.decode(data) {
                Ok(Value::Str(s)) => cell.extend(
                    s.bytes()
                        .map(|b| if b.is_ascii_control() { b'?' } else { b }),
                ),
                Ok(v) => text::push(&mut cell, v, style),
                Err(why) => {
                    cell.push(b'?');
                    bad.get_or_insert_with(|| {
                        format!("seqno {}, field {}: {why}", el.seqno, f.name)
                    });
                }
            }
            pad_cell(line, &cell, widths[i + 2], numeric, i + 2 == last);
        }
        line.push(b'\n');
        bad.map_or(Ok(()), Err)
    }

    /// Appends one element as a CSV row or JSON object (with its newline). A field
    /// whose bytes are not a value of its type is left empty (CSV) or null (JSON);
    /// the error names the first such field.
    pub fn push(
        &self,
        line: &mut Vec<u8>,
        el: &Element,
        data: &[u8],
        json: bool,
        now: i64,
    ) -> Result<(), String> {
        let style = Style {
            json,
            time: self.time,
            now,
        };
        let mut bad = None;
        if json {
            line.extend_from_slice(b"{\"seqno\":");
        }
        line.extend_from_slice(itoa::Buffer::new().format(el.seqno).as_bytes());
        line.extend_from_slice(if json { b",\"put_time\":" } else { b"," });
        self.time.push(line, el.time_ns as i64, now, json);
        for f in self.schema.fields() {
            line.push(b',');
            if json {
                escape::push_json_str(line, &f.name);
                line.push(b':');
            }
            match f.decode(data) {
                Ok(v) => text::push(line, v, style),
                Err(why) => {
                    if json {
                        line.extend_from_slice(b"null");
                    }
                    bad.get_or_insert_with(|| {
                        format!("seqno {}, field {}: {why}", el.seqno, f.name)
                    });
                }
            }
        }
        line.extend_from_slice(if json { b"}\n" } else { b"\n" });
        bad.map_or(Ok(()), Err)
    }
}

/// One table cell: two spaces before it (none before the first), padded to
/// `width` characters on the left (`right`) or right; the last is not padded.
fn pad_cell(line: &mut Vec<u8>, cell: &[u8], width: usize, right: bool, last: bool) {
    if !line.is_empty() && line.last() != Some(&b'\n') {
        line.extend_from_slice(b"  ");
    }
    let chars = String::from_utf8_lossy(cell).chars().count();
    let pad = width.saturating_sub(chars);
    if right {
        line.resize(line.len() + pad, b' ');
    }
    line.extend_from_slice(cell);
    if !right && !last {
        line.resize(line.len() + pad, b' ');
    }
}

/// The schema and its layout, for `--info`: lines of text, or JSON members.
pub fn write_layout(out: &mut impl Write, schema: &Schema, json: bool) -> io::Result<()> {
    if json {
        let mut s = Vec::new();
        s.extend_from_slice(b"[");
        for (i, f) in schema.fields().iter().enumerate() {
            if i > 0 {
                s.push(b',');
            }
            s.extend_from_slice(b"{\"name\":");
            escape::push_json_str(&mut s, &f.name);
            write!(
                s,
                ",\"type\":\"{}\",\"offset\":{},\"size\":{},\"default\":",
                f.ty.name(),
                f.offset,
                f.ty.size()
            )?;
            match &f.default {
                Some(d) => escape::push_json_str(&mut s, d),
                None => s.extend_from_slice(b"null"),
            }
            s.push(b'}');
        }
        s.push(b']');
        return out.write_all(&s);
    }
    let width = schema
        .fields()
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0)
        .max(5);
    writeln!(out, "layout:")?;
    writeln!(
        out,
        "  {:>8}  {:>8}  {:<width$}  type",
        "offset", "size", "field"
    )?;
    for f in schema.fields() {
        write!(
            out,
            "  {:>8}  {:>8}  {:<width$}  {}",
            f.offset,
            f.ty.size(),
            f.name,
            f.ty.name()
        )?;
        match &f.default {
            Some(d) => writeln!(out, " (default {d})")?,
            None => writeln!(out)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(schema: &str, input: Input) -> Encoder {
        Encoder::new(Schema::parse(schema).expect("schema"), input, true)
    }

    #[test]
    fn csv_header_maps_columns_and_defaults_fill_the_rest() {
        let mut e = enc("a:u8,b:str4=zz,c:bool", Input::Csv);
        assert_eq!(
            e.line(b"\xef\xbb\xbfseqno,c,a", 1, 0).expect("header"),
            None
        );
        let el = e.line(b"9, true ,7", 2, 0).expect("row").expect("element");
        assert_eq!(el, b"\x07zz\0\0\x01");
        let err = e.line(b"1,2", 3, 0).expect_err("short");
        assert_eq!(err.to_string(), "line 3: 2 fields, the header has 3");
    }

    #[test]
    fn csv_records_may_span_lines() {
        let mut e = enc("s:str8,n:u8", Input::Csv);
        assert_eq!(e.line(b"\"a", 1, 0).expect("open"), None);
        let el = e.line(b"b\",5", 2, 0).expect("row").expect("element");
        assert_eq!(el, b"a\nb\0\0\0\0\0\x05");
        assert!(e.finish().is_ok());
        assert_eq!(e.line(b"\"x", 3, 0).expect("open"), None);
        assert_eq!(e.finish().expect_err("open").line, 3);
    }

    #[test]
    fn json_members_are_checked() {
        let mut e = enc("a:u8,b:str4=zz", Input::Json);
        let el = e
            .line(br#"{"seqno":3,"a":1}"#, 1, 0)
            .expect("ok")
            .expect("el");
        assert_eq!(el, b"\x01zz\0\0");
        let msg = |e: &mut Encoder, l: &[u8]| e.line(l, 2, 0).expect_err("bad").to_string();
        assert_eq!(msg(&mut e, b"[1]"), "line 2: not a JSON object");
        assert_eq!(
            msg(&mut e, br#"{"a":1,"x":2}"#),
            "line 2, field x: unknown field (the schema has a,b)"
        );
        assert_eq!(
            msg(&mut e, br#"{"b":"q"}"#),
            "line 2, field a: missing, and no default declared"
        );
        assert_eq!(
            msg(&mut e, br#"{"a":1,"b":5}"#),
            "line 2, field b: expected a string, got 5"
        );
    }
}

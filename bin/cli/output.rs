//! Printing elements: raw bytes, hex, a readable dump, CSV or JSON lines.

use std::io::{self, IsTerminal, Write};

use clap::ValueEnum;

use crate::template::Template;
use woof::results::{Outcome, RunResult};
use woof::schema::Schema;
use woof::{Element, Info};

use crate::exit::{Failure, warn};
use woof::records::Rows;
use woof::records::escape::{csv_field, json_str, push_hex};
use woof::records::time::{self, TimeFormat};

/// How elements are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The element bytes, nothing else (default on a pipe, untyped woofs)
    Raw,
    /// One line per element: its bytes in lowercase hex
    Hex,
    /// Readable: a heading per element and a hex/ASCII dump (default on a terminal,
    /// untyped woofs)
    Dump,
    /// One line per element: its bytes up to the first NUL, as text (what
    /// woof-put --lines put)
    Text,
    /// A typed woof's fields in aligned columns under a heading (default on a
    /// terminal, typed woofs)
    Table,
    /// seqno,put_time,hex (with a schema: seqno,put_time and the typed fields;
    /// the default on a pipe for a typed woof, with a header)
    Csv,
    /// One JSON object per line: seqno, put_time, put_time_ns, hex (with a schema:
    /// seqno, put_time and the typed fields)
    Json,
}

/// Where a woof-tail's lines end up, when its parent tags them (tail_many.rs):
/// the parent's stdout decides the defaults, not the pipe to the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaggedFor {
    Terminal,
    Pipe,
}

/// `--format`: a named format, or a template (any value with a `%` in it).
#[derive(Debug, Clone, PartialEq)]
pub enum FormatArg {
    Named(Format),
    Template(Template),
}

fn parse_format(s: &str) -> Result<FormatArg, String> {
    if s.contains('%') {
        return Template::parse(s).map(FormatArg::Template);
    }
    Format::from_str(s, true).map(FormatArg::Named).map_err(|_| {
        format!(
            "'{s}' is not a format (raw, hex, dump, text, table, csv, json) or a template (with %s %t %{{FIELD}} ...)"
        )
    })
}

/// How woof-get and woof-tail print: the options they share.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Output format: raw, hex, dump, text, table, csv, json, or a template such as
    /// '%t %s %{celsius}' (%s seqno, %t put time, %T put time in ns, %x hex, %v text,
    /// %{FIELD} a typed field, %% a percent) [default: for a typed woof, table on a
    /// terminal and csv with a header otherwise; for another, dump on a terminal
    /// and raw otherwise]
    #[arg(long = "format", value_name = "FORMAT|TEMPLATE", value_parser = parse_format)]
    pub format_arg: Option<FormatArg>,
    /// With --format csv: print a header line of column names first
    #[arg(long)]
    pub header: bool,
    /// Set (not an option) when a parent woof-tail tags these lines.
    #[arg(skip)]
    pub tagged_for: Option<TaggedFor>,
    /// How times are printed (put times, timestamp fields, results' start, --info's
    /// created)
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "rfc3339")]
    pub time_format: TimeFormat,
    /// Times without an offset in --since/--until (a date, `2026-11-22 06:00`,
    /// today, yesterday) are UTC, not the system's time zone (TZ); and no time is
    /// printed in local time
    #[arg(long)]
    pub utc: bool,
}

impl OutputArgs {
    /// The named format asked for (None: the default, or a template).
    pub fn format(&self) -> Option<Format> {
        match &self.format_arg {
            Some(FormatArg::Named(f)) => Some(*f),
            _ => None,
        }
    }

    /// The format asked for, or the default for where the lines go and whether the
    /// woof is typed: a table or CSV for a typed woof, a dump or raw bytes for
    /// another (hex, not raw bytes, for a parent to tag).
    pub fn choose(&self, typed: bool) -> Format {
        let terminal = match self.tagged_for {
            Some(t) => t == TaggedFor::Terminal,
            None => io::stdout().is_terminal(),
        };
        self.format().unwrap_or(match (terminal, typed) {
            (true, true) => Format::Table,
            (false, true) => Format::Csv,
            (true, false) => Format::Dump,
            (false, false) if self.tagged_for.is_some() => Format::Hex,
            (false, false) => Format::Raw,
        })
    }

    /// The template asked for, if one was.
    pub fn template(&self) -> Option<&Template> {
        match &self.format_arg {
            Some(FormatArg::Template(t)) => Some(t),
            _ => None,
        }
    }

    /// Options that only make sense together.
    pub fn check(&self) -> Result<(), Failure> {
        if self.header && self.format() != Some(Format::Csv) {
            return Err(Failure::usage("--header needs --format csv"));
        }
        if self.utc && self.time_format == TimeFormat::Local {
            return Err(Failure::usage(
                "--utc and --time-format local ask for two zones: give one",
            ));
        }
        Ok(())
    }
}

/// Writes elements to a buffered stdout in one format.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
    line: Vec<u8>,
    /// The elements are handler results (`--results`): text formats decode them.
    results: bool,
    /// The woof's schema: csv and json decode typed fields.
    typed: Option<Typed>,
    time: TimeFormat,
    /// `--format` with a template, and the schema its fields come from.
    template: Option<(Template, Option<Schema>)>,
    /// Set when an element could not be decoded (reported on stderr; exit 65).
    pub errored: bool,
}

/// Typed output: the rows decoder, and who reports undecodable fields.
struct Typed {
    rows: Rows,
    tool: &'static str,
    name: String,
}

/// RFC 3339 in UTC with nanoseconds, e.g. `2026-11-22T06:00:00.123456789Z`.
fn rfc3339(ns: u64) -> String {
    time::rfc3339_string(ns as i64)
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, format: Format) -> Printer<W> {
        Printer {
            out,
            format,
            line: Vec::with_capacity(256),
            results: false,
            typed: None,
            time: TimeFormat::Rfc3339,
            template: None,
            errored: false,
        }
    }

    /// Prints times (put times, timestamp fields) in `time` in csv and json.
    pub fn time_format(mut self, time: TimeFormat) -> Printer<W> {
        self.time = time;
        self
    }

    /// Decodes typed records of woof `name` in csv and json; `tool` reports
    /// elements whose bytes are not values of their fields.
    pub fn typed(mut self, schema: Option<Schema>, tool: &'static str, name: &str) -> Printer<W> {
        self.typed = schema.map(|s| Typed {
            rows: Rows::new(s, self.time),
            tool,
            name: name.to_string(),
        });
        self
    }

    /// The CSV header line (`--header`).
    pub fn header(&mut self) -> io::Result<()> {
        if self.results {
            return self.out.write_all(
                b"result,trigger,woof,seqno,handler,outcome,code,start,duration_ms,cause,detail\n",
            );
        }
        match &self.typed {
            Some(t) if self.format == Format::Table => {
                self.out.write_all(t.rows.table_header().as_bytes())
            }
            Some(t) => self.out.write_all(t.rows.csv_header().as_bytes()),
            None => self.out.write_all(b"seqno,put_time,hex\n"),
        }
    }

    /// A printer for the results log: csv, json and dump show decoded records.
    /// The printer of woof-get and woof-tail: results records, or the elements of
    /// `source`, decoded by its schema in csv and json; with `header`, the CSV
    /// header is written at once.
    pub fn for_tool(
        out: W,
        tool: &'static str,
        name: &str,
        results: bool,
        args: &OutputArgs,
        source: &dyn crate::source::Source,
    ) -> Result<Printer<W>, Failure> {
        let (format, time) = (args.format(), args.time_format);
        let mut header = args.header;
        let mut printer = if let Some(t) = args.template().filter(|_| !results) {
            let schema = woof::records::schema_from(source.schema(), name)?;
            if let Some(field) = t.missing_field(schema.as_ref()) {
                return Err(Failure::usage(format!(
                    "{name}: the template's %{{{field}}} is not a field of this woof"
                )));
            }
            let mut p = Printer::new(out, Format::Raw).time_format(time);
            p.template = Some((t.clone(), schema));
            p
        } else if results {
            Printer::for_results(out, format.unwrap_or(Format::Dump)).time_format(time)
        } else {
            let typed = !source.schema().is_empty();
            let chosen = args.choose(typed);
            let schema = match chosen {
                Format::Csv | Format::Json | Format::Table => {
                    woof::records::schema_from(source.schema(), name)?
                }
                _ => None,
            };
            if chosen == Format::Table && schema.is_none() {
                return Err(Failure::usage(format!(
                    "{name}: --format table needs a woof with a schema (this one has none)"
                )));
            }
            // A table always has its heading; CSV chosen by default has its header.
            header |= chosen == Format::Table || (format.is_none() && chosen == Format::Csv);
            Printer::new(out, chosen)
                .time_format(time)
                .typed(schema, tool, name)
        };
        if header {
            printer.header().map_err(Failure::stdout)?;
        }
        Ok(printer)
    }

    pub fn for_results(out: W, format: Format) -> Printer<W> {
        Printer {
            results: true,
            ..Printer::new(out, format)
        }
    }

    /// Prints one element.
    pub fn element(&mut self, el: &Element, data: &[u8]) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        let now = if self.time == TimeFormat::Relative {
            woof::now_ns() as i64
        } else {
            0
        };
        if self.results
            && matches!(
                self.format,
                Format::Csv | Format::Json | Format::Dump | Format::Table | Format::Text
            )
        {
            result_line(line, self.format, self.time, now, el, data)?;
            return self.out.write_all(line);
        }
        if let Some((t, schema)) = &self.template {
            t.push(line, el, data, schema.as_ref(), self.time, now);
            return self.out.write_all(line);
        }
        let json = self.format == Format::Json;
        if let Some(t) = &self.typed
            && matches!(self.format, Format::Csv | Format::Json | Format::Table)
        {
            let done = if self.format == Format::Table {
                t.rows.push_table(line, el, data, now)
            } else {
                t.rows.push(line, el, data, json, now)
            };
            if let Err(why) = done {
                warn(t.tool, &format!("{}: {why}", t.name));
                self.errored = true;
            }
            return self.out.write_all(line);
        }
        match self.format {
            Format::Raw => return self.out.write_all(data),
            Format::Text => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                line.extend_from_slice(&data[..end]);
                line.push(b'\n');
            }
            // Refused for untyped woofs in for_tool.
            Format::Table => dump(line, el, data)?,
            Format::Hex => {
                push_hex(line, data);
                line.push(b'\n');
            }
            Format::Csv => {
                write!(line, "{},", el.seqno)?;
                self.time.push(line, el.time_ns as i64, now, false);
                line.push(b',');
                push_hex(line, data);
                line.push(b'\n');
            }
            Format::Json => {
                write!(line, "{{\"seqno\":{},\"put_time\":", el.seqno)?;
                self.time.push(line, el.time_ns as i64, now, true);
                write!(line, ",\"put_time_ns\":{},\"hex\":\"", el.time_ns)?;
                push_hex(line, data);
                line.extend_from_slice(b"\"}\n");
            }
            Format::Dump => dump(line, el, data)?,
        }
        self.out.write_all(line)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One handler result: `seqno` is its place in the results log. Its start time is
/// in `time` in csv and json (`--time-format`), RFC 3339 in the dump.
fn result_line(
    line: &mut Vec<u8>,
    format: Format,
    time: TimeFormat,
    now: i64,
    el: &Element,
    data: &[u8],
) -> io::Result<()> {
    let r = match RunResult::decode(data) {
        Ok(r) => r,
        Err(e) => return writeln!(line, "result {}: {e}", el.seqno),
    };
    let code = match r.outcome {
        Outcome::Exited(c) | Outcome::Signaled(c) => c.to_string(),
        Outcome::Evicted { oldest } => oldest.to_string(),
        _ => String::new(),
    };
    let ms = r.duration_ns as f64 / 1e6;
    match format {
        Format::Json => writeln!(
            line,
            "{{\"result\":{},\"trigger\":{},\"woof\":{},\"seqno\":{},\"handler\":{},\"outcome\":\"{}\",\"code\":{},\"start\":{},\"start_ns\":{},\"duration_ms\":{ms:.3},\"cause\":{},\"detail\":{}}}",
            el.seqno,
            r.trigger,
            json_str(&r.woof),
            r.seqno,
            json_str(&r.handler),
            r.outcome.name(),
            if code.is_empty() {
                "null".to_string()
            } else {
                code
            },
            time.text(r.start_ns as i64, now, true),
            r.start_ns,
            json_str(&r.cause),
            json_str(&r.detail),
        ),
        Format::Csv => writeln!(
            line,
            "{},{},{},{},{},{},{code},{},{ms:.3},{},{}",
            el.seqno,
            r.trigger,
            csv_field(&r.woof),
            r.seqno,
            csv_field(&r.handler),
            r.outcome.name(),
            time.text(r.start_ns as i64, now, false),
            csv_field(&r.cause),
            csv_field(&r.detail),
        ),
        _ => {
            let what = match &r.outcome {
                Outcome::Exited(c) => format!("exited {c}"),
                Outcome::Signaled(s) => format!("signal {s}"),
                o => o.name().to_string(),
            };
            write!(
                line,
                "{}  {}[{}] on {}  {what}",
                rfc3339(r.start_ns),
                r.handler,
                r.seqno,
                r.woof
            )?;
            if r.outcome.is_final() {
                write!(line, "  {ms:.3} ms")?;
            }
            write!(line, "  trigger {}", r.trigger)?;
            if !r.cause.is_empty() {
                write!(line, "  cause {}", r.cause)?;
            }
            if !r.detail.is_empty() {
                write!(line, "  ({})", r.detail)?;
            }
            writeln!(line)
        }
    }
}

/// `hexdump -C` style, under a heading line.
fn dump(line: &mut Vec<u8>, el: &Element, data: &[u8]) -> io::Result<()> {
    writeln!(
        line,
        "seqno {}  put {}  {} bytes",
        el.seqno,
        rfc3339(el.time_ns),
        data.len()
    )?;
    for (i, row) in data.chunks(16).enumerate() {
        write!(line, "{:08x}  ", i * 16)?;
        for j in 0..16 {
            match row.get(j) {
                Some(b) => write!(line, "{b:02x} ")?,
                None => line.extend_from_slice(b"   "),
            }
            if j == 7 {
                line.push(b' ');
            }
        }
        line.extend_from_slice(b" |");
        line.extend(row.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b
            } else {
                b'.'
            }
        }));
        line.extend_from_slice(b"|\n");
    }
    Ok(())
}

/// `--info` as `key: value` lines, or one JSON object; `created` in `time`.
pub fn info(
    out: &mut impl Write,
    name: &str,
    info: &Info,
    json: bool,
    time: TimeFormat,
) -> io::Result<()> {
    let created = time.text(info.created_ns as i64, woof::now_ns() as i64, json);
    let oldest = if info.latest == 0 {
        "-".to_string()
    } else {
        info.oldest.to_string()
    };
    let schema = String::from_utf8_lossy(&info.schema);
    let parsed = Schema::from_header(&info.schema).ok().flatten();
    if json {
        write!(
            out,
            "{{\"name\":\"{name}\",\"element_size\":{},\"history\":{},\"latest\":{},\"oldest\":{},\
             \"durability\":\"{}\",\"created\":{},\"created_ns\":{},\"file_size\":{},\"schema\":{}",
            info.element_size,
            info.history,
            info.latest,
            info.oldest,
            info.durability.name(),
            created,
            info.created_ns,
            info.file_len,
            if schema.is_empty() {
                "null".to_string()
            } else {
                let mut q = Vec::new();
                woof::records::escape::push_json_str(&mut q, &schema);
                String::from_utf8_lossy(&q).into_owned()
            },
        )?;
        if let Some(s) = &parsed {
            out.write_all(b",\"fields\":")?;
            woof::records::write_layout(out, s, true)?;
        }
        out.write_all(b"}\n")
    } else {
        writeln!(out, "name:         {name}")?;
        writeln!(out, "element size: {} bytes", info.element_size)?;
        writeln!(out, "history:      {}", info.history)?;
        writeln!(out, "latest:       {}", info.latest)?;
        writeln!(out, "oldest:       {oldest}")?;
        writeln!(out, "durability:   {}", info.durability.name())?;
        writeln!(out, "created:      {created}")?;
        writeln!(out, "file size:    {} bytes", info.file_len)?;
        if !schema.is_empty() {
            writeln!(out, "schema:       {schema}")?;
        }
        if let Some(s) = &parsed {
            woof::records::write_layout(out, s, false)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(format: Format, data: &[u8]) -> String {
        let mut p = Printer::new(Vec::new(), format);
        let el = Element {
            seqno: 7,
            time_ns: 1_763_793_000_123_456_789,
        };
        p.element(&el, data).expect("print");
        String::from_utf8(p.out).expect("utf8")
    }

    #[test]
    fn formats() {
        assert_eq!(print(Format::Raw, b"ab"), "ab");
        assert_eq!(print(Format::Hex, b"\x00\xff"), "00ff\n");
        assert_eq!(
            print(Format::Csv, b"A"),
            "7,2025-11-22T06:30:00.123456789Z,41\n"
        );
        assert_eq!(
            print(Format::Json, b"A"),
            "{\"seqno\":7,\"put_time\":\"2025-11-22T06:30:00.123456789Z\",\"put_time_ns\":1763793000123456789,\"hex\":\"41\"}\n"
        );
        let d = print(Format::Dump, b"hello\x01");
        assert!(
            d.starts_with("seqno 7  put 2025-11-22T06:30:00.123456789Z  6 bytes\n"),
            "{d}"
        );
        assert!(d.contains("00000000  68 65 6c 6c 6f 01 "), "{d}");
        assert!(d.ends_with("|hello.|\n"), "{d}");
    }
}

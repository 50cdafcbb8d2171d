//! `--format` templates, as mosquitto_sub -F: `'%t %s %{celsius}'` prints each
//! element as a line made of literal text and fields. `%s` seqno, `%t` put time
//! (in --time-format), `%T` put time in ns, `%x` the element in hex, `%v` the
//! element as text up to its first NUL, `%{NAME}` a typed field, `%%` a percent.

use woof::Element;
use woof::records::escape::push_hex;
use woof::records::text::{self, Style};
use woof::records::time::TimeFormat;
use woof::schema::{Schema, Value};

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Seqno,
    Time,
    TimeNs,
    Hex,
    Text,
    Field(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Piece>);

impl Template {
    /// Parses a template; any `%` not starting a known directive is an error.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            let piece = match chars.next() {
                Some('%') => {
                    lit.push('%');
                    continue;
                }
                Some('s') => Piece::Seqno,
                Some('t') => Piece::Time,
                Some('T') => Piece::TimeNs,
                Some('x') => Piece::Hex,
                Some('v') => Piece::Text,
                Some('{') => {
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    if name.is_empty() {
                        return Err(format!("'{s}': %{{}} needs a field name"));
                    }
                    Piece::Field(name)
                }
                other => {
                    let d = other.map_or(String::new(), String::from);
                    return Err(format!(
                        "'{s}': unknown directive %{d} (%s %t %T %x %v %{{FIELD}} %%)"
                    ));
                }
            };
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(piece);
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(Template(pieces))
    }

    /// The first `%{NAME}` that `schema` (None: an untyped woof) has no field for.
    pub fn missing_field(&self, schema: Option<&Schema>) -> Option<&str> {
        self.0.iter().find_map(|p| match p {
            Piece::Field(n) if !schema.is_some_and(|s| s.fields().iter().any(|f| &f.name == n)) => {
                Some(n.as_str())
            }
            _ => None,
        })
    }

    /// Appends one element's line (with its newline).
    pub fn push(
        &self,
        line: &mut Vec<u8>,
        el: &Element,
        data: &[u8],
        schema: Option<&Schema>,
        time: TimeFormat,
        now: i64,
    ) {
        let style = Style {
            json: false,
            time,
            now,
        };
        for p in &self.0 {
            match p {
                Piece::Lit(s) => line.extend_from_slice(s.as_bytes()),
                Piece::Seqno => line.extend_from_slice(el.seqno.to_string().as_bytes()),
                Piece::Time => time.push(line, el.time_ns as i64, now, false),
                Piece::TimeNs => line.extend_from_slice(el.time_ns.to_string().as_bytes()),
                Piece::Hex => push_hex(line, data),
                Piece::Text => {
                    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                    line.extend_from_slice(&data[..end]);
                }
                Piece::Field(n) => {
                    let field = schema.and_then(|s| s.fields().iter().find(|f| &f.name == n));
                    match field.map(|f| f.decode(data)) {
                        Some(Ok(Value::Str(s))) => line.extend_from_slice(s.as_bytes()),
                        Some(Ok(v)) => text::push(line, v, style),
                        _ => line.push(b'?'),
                    }
                }
            }
        }
        line.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_and_mistakes() {
        let t = Template::parse("%t %s: %{celsius}°C 100%%").expect("template");
        assert_eq!(
            t.0,
            [
                Piece::Time,
                Piece::Lit(" ".into()),
                Piece::Seqno,
                Piece::Lit(": ".into()),
                Piece::Field("celsius".into()),
                Piece::Lit("°C 100%".into()),
            ]
        );
        assert!(Template::parse("%q").is_err());
        assert!(Template::parse("%{}").is_err());
        assert!(Template::parse("trailing %").is_err());
    }
}

//! Typed records: the schema language a woof's header may carry, the fixed layout it
//! gives the element, and the binary form of each field's value. Pure: the text forms
//! of values (CSV, JSON, timestamps) belong to the tools.
//!
//! A schema is `NAME:TYPE[=DEFAULT]` fields separated by commas, for example
//! `time:timestamp=now,sensor:str16,celsius:f64,ok:bool`. Fields are laid out in
//! order, each at the sum of the sizes before it: no padding, all little-endian.

use crate::error::{Error, ErrorKind, Result};
use crate::format::{MAX_ELEMENT_SIZE, MAX_SCHEMA};

/// The type of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    /// 0 or 1 in one byte.
    Bool,
    /// Nanoseconds since the Unix epoch, signed 64-bit (years 1677 to 2262).
    Timestamp,
    /// UTF-8 text of at most N bytes, NUL-padded.
    Str(u32),
    /// Exactly N opaque bytes.
    Bytes(u32),
}

const SCALARS: [(&str, Type); 12] = [
    ("i8", Type::I8),
    ("i16", Type::I16),
    ("i32", Type::I32),
    ("i64", Type::I64),
    ("u8", Type::U8),
    ("u16", Type::U16),
    ("u32", Type::U32),
    ("u64", Type::U64),
    ("f32", Type::F32),
    ("f64", Type::F64),
    ("bool", Type::Bool),
    ("timestamp", Type::Timestamp),
];

const KNOWN: &str = "i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 bool timestamp strN bytesN";

impl Type {
    /// Whether its values are numbers (what `--every` and `--plot` draw on).
    pub fn is_numeric(self) -> bool {
        !matches!(
            self,
            Type::Bool | Type::Timestamp | Type::Str(_) | Type::Bytes(_)
        )
    }

    /// Bytes the field takes in the element.
    pub fn size(self) -> usize {
        match self {
            Type::I8 | Type::U8 | Type::Bool => 1,
            Type::I16 | Type::U16 => 2,
            Type::I32 | Type::U32 | Type::F32 => 4,
            Type::I64 | Type::U64 | Type::F64 | Type::Timestamp => 8,
            Type::Str(n) | Type::Bytes(n) => n as usize,
        }
    }

    /// The name as written in a schema (`u8`, `str16`).
    pub fn name(self) -> String {
        match self {
            Type::Str(n) => format!("str{n}"),
            Type::Bytes(n) => format!("bytes{n}"),
            t => SCALARS
                .iter()
                .find(|(_, s)| *s == t)
                .map_or_else(String::new, |(n, _)| (*n).to_string()),
        }
    }

    fn parse(text: &str) -> std::result::Result<Type, String> {
        if let Some((_, t)) = SCALARS.iter().find(|(n, _)| *n == text) {
            return Ok(*t);
        }
        for (prefix, make) in [
            ("str", Type::Str as fn(u32) -> Type),
            ("bytes", Type::Bytes as fn(u32) -> Type),
        ] {
            if let Some(n) = text.strip_prefix(prefix)
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
            {
                return match n.parse::<u64>() {
                    Ok(len) if (1..=MAX_ELEMENT_SIZE).contains(&len) => Ok(make(len as u32)),
                    _ => Err(format!(
                        "{prefix}{n}: length must be 1 to {MAX_ELEMENT_SIZE} bytes"
                    )),
                };
            }
        }
        Err(format!("unknown type '{text}' (types: {KNOWN})"))
    }

    /// Whether values are integers of this range: (min, max) as i128.
    pub fn int_range(self) -> Option<(i128, i128)> {
        Some(match self {
            Type::I8 => (i8::MIN.into(), i8::MAX.into()),
            Type::I16 => (i16::MIN.into(), i16::MAX.into()),
            Type::I32 => (i32::MIN.into(), i32::MAX.into()),
            Type::I64 => (i64::MIN.into(), i64::MAX.into()),
            Type::U8 => (0, u8::MAX.into()),
            Type::U16 => (0, u16::MAX.into()),
            Type::U32 => (0, u32::MAX.into()),
            Type::U64 => (0, u64::MAX.into()),
            _ => return None,
        })
    }
}

/// One field: its name, type, place in the element, and the declared default.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: Type,
    pub offset: usize,
    /// Text of the value used when input lacks the field (as a CSV field would
    /// hold it); `None`: the field is required.
    pub default: Option<String>,
}

/// A field's value, as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Int(i64),
    UInt(u64),
    Float(f64),
    /// An f32 field's value (printed as the shortest text of the f32, not the f64).
    Float32(f32),
    Bool(bool),
    /// Nanoseconds since the Unix epoch.
    Time(i64),
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl Value<'_> {
    /// The value as a number, if it is one.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(i as f64),
            Value::UInt(u) => Some(u as f64),
            Value::Float(f) => Some(f),
            Value::Float32(f) => Some(f64::from(f)),
            _ => None,
        }
    }
}

/// A parsed schema: its fields in layout order.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    fields: Vec<Field>,
    size: usize,
}

/// Names `woof-get` prints before the fields; a field may not take them.
pub const RESERVED: [&str; 2] = ["seqno", "put_time"];

/// Longest field name.
pub const MAX_NAME: usize = 64;

fn bad(detail: String) -> Error {
    Error::new(ErrorKind::BadData, "schema").detail(detail)
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= MAX_NAME
}

impl Schema {
    /// Parses and checks schema text. Errors are `schema: field N 'NAME': why`.
    pub fn parse(text: &str) -> Result<Schema> {
        if text.len() > MAX_SCHEMA {
            return Err(bad(format!(
                "{} bytes of schema text (at most {MAX_SCHEMA})",
                text.len()
            )));
        }
        if text.trim().is_empty() {
            return Err(bad("no fields".into()));
        }
        let mut fields: Vec<Field> = Vec::new();
        let mut offset: u64 = 0;
        for (i, part) in text.split(',').enumerate() {
            let n = i + 1;
            let part = part.trim();
            let (decl, default) = match part.split_once('=') {
                Some((d, v)) => (d.trim(), Some(v.trim().to_string())),
                None => (part, None),
            };
            let Some((name, ty)) = decl.split_once(':') else {
                return Err(bad(format!(
                    "field {n} '{part}': expected NAME:TYPE or NAME:TYPE=DEFAULT"
                )));
            };
            let (name, ty) = (name.trim(), ty.trim());
            let at = |why: String| bad(format!("field {n} '{name}': {why}"));
            if !valid_name(name) {
                return Err(at(format!(
                    "bad field name (letters, digits and '_', not starting with a digit, at most {MAX_NAME} bytes)"
                )));
            }
            if RESERVED.contains(&name) {
                return Err(at(
                    "reserved name (woof-get prints seqno and put_time before the fields)".into(),
                ));
            }
            if fields.iter().any(|f| f.name == name) {
                return Err(at("duplicate field name".into()));
            }
            let ty = Type::parse(ty).map_err(at)?;
            fields.push(Field {
                name: name.to_string(),
                ty,
                offset: offset as usize,
                default,
            });
            offset += ty.size() as u64;
            if offset > MAX_ELEMENT_SIZE {
                return Err(bad(format!(
                    "fields need more than {MAX_ELEMENT_SIZE} bytes (the largest element)"
                )));
            }
        }
        Ok(Schema {
            fields,
            size: offset as usize,
        })
    }

    /// The schema of a woof's header bytes; `None` when it has none.
    pub fn from_header(bytes: &[u8]) -> Result<Option<Schema>> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
        Schema::parse(text).map(Some)
    }

    /// The canonical text: what the header stores and `--info` shows.
    pub fn text(&self) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| match &f.default {
                Some(d) => format!("{}:{}={d}", f.name, f.ty.name()),
                None => format!("{}:{}", f.name, f.ty.name()),
            })
            .collect();
        parts.join(",")
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The numeric fields called `names` (all the numeric ones when `names` is
    /// empty); the error says which name is not one.
    pub fn numeric_fields(&self, names: &[String]) -> std::result::Result<Vec<&Field>, String> {
        if names.is_empty() {
            let all: Vec<&Field> = self.fields.iter().filter(|f| f.ty.is_numeric()).collect();
            if all.is_empty() {
                return Err("this schema has no numeric field".into());
            }
            return Ok(all);
        }
        names
            .iter()
            .map(|n| match self.fields.iter().find(|f| &f.name == n) {
                Some(f) if f.ty.is_numeric() => Ok(f),
                Some(_) => Err(format!("field {n} is not a number")),
                None => Err(format!("no field {n} in its schema")),
            })
            .collect()
    }

    /// Index of the field called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Bytes of an element: the sum of the field sizes.
    pub fn element_size(&self) -> usize {
        self.size
    }
}

impl Field {
    /// Stores `v` into the field's bytes of `el` (a whole element). Errors say why
    /// the value does not fit (range, length), for the caller to place.
    pub fn encode(&self, v: Value<'_>, el: &mut [u8]) -> std::result::Result<(), String> {
        let out = &mut el[self.offset..self.offset + self.ty.size()];
        match (self.ty, v) {
            (Type::Bool, Value::Bool(b)) => out[0] = u8::from(b),
            (Type::F32, Value::Float(f)) => {
                let g = f as f32;
                if f.is_finite() && !g.is_finite() {
                    return Err(format!("{f} is out of range for f32"));
                }
                out.copy_from_slice(&g.to_le_bytes());
            }
            (Type::F32, Value::Float32(g)) => out.copy_from_slice(&g.to_le_bytes()),
            (Type::F64, Value::Float(f)) => out.copy_from_slice(&f.to_le_bytes()),
            (Type::Timestamp, Value::Time(t)) => out.copy_from_slice(&t.to_le_bytes()),
            (Type::Str(n), Value::Str(s)) => {
                if s.len() > n as usize {
                    return Err(format!(
                        "{} bytes of text, longer than str{n} (at most {n} bytes)",
                        s.len()
                    ));
                }
                if s.as_bytes().contains(&0) {
                    return Err("text contains a NUL character".into());
                }
                out[..s.len()].copy_from_slice(s.as_bytes());
                out[s.len()..].fill(0);
            }
            (Type::Bytes(n), Value::Bytes(b)) => {
                if b.len() != n as usize {
                    return Err(format!("{} bytes, bytes{n} holds exactly {n}", b.len()));
                }
                out.copy_from_slice(b);
            }
            (ty, Value::Int(i)) => store_int(ty, i128::from(i), out)?,
            (ty, Value::UInt(u)) => store_int(ty, i128::from(u), out)?,
            (ty, v) => return Err(format!("a {v:?} cannot be stored in a {}", ty.name())),
        }
        Ok(())
    }

    /// Reads the field's value from `el` (a whole element). Errors say why the bytes
    /// are not a value of the type (a bool byte other than 0 or 1, text not UTF-8).
    pub fn decode<'a>(&self, el: &'a [u8]) -> std::result::Result<Value<'a>, String> {
        let b = &el[self.offset..self.offset + self.ty.size()];
        let le8 = |b: &[u8]| {
            let mut a = [0u8; 8];
            a[..b.len()].copy_from_slice(b);
            a
        };
        Ok(match self.ty {
            Type::I8 => Value::Int(i64::from(b[0] as i8)),
            Type::I16 => Value::Int(i64::from(i16::from_le_bytes([b[0], b[1]]))),
            Type::I32 => Value::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            Type::I64 => Value::Int(i64::from_le_bytes(le8(b))),
            Type::U8 | Type::U16 | Type::U32 | Type::U64 => Value::UInt(u64::from_le_bytes(le8(b))),
            Type::F32 => Value::Float32(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            Type::F64 => Value::Float(f64::from_le_bytes(le8(b))),
            Type::Bool => match b[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                x => return Err(format!("byte {x:#04x} is not a bool (0 or 1)")),
            },
            Type::Timestamp => Value::Time(i64::from_le_bytes(le8(b))),
            Type::Str(_) => {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                Value::Str(std::str::from_utf8(&b[..end]).map_err(|_| "text is not UTF-8")?)
            }
            Type::Bytes(_) => Value::Bytes(b),
        })
    }
}

fn store_int(ty: Type, v: i128, out: &mut [u8]) -> std::result::Result<(), String> {
    let Some((lo, hi)) = ty.int_range() else {
        return Err(format!("{v} is not a {}", ty.name()));
    };
    if v < lo || v > hi {
        return Err(format!(
            "{v} is out of range for {} ({lo} to {hi})",
            ty.name()
        ));
    }
    // Two's complement little-endian, cut to the field's width.
    out.copy_from_slice(&v.to_le_bytes()[..out.len()]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Schema::parse(text).expect_err(text).to_string()
    }

    #[test]
    fn layout_is_in_order_without_padding() {
        let s = Schema::parse("time:timestamp, sensor:str16 ,celsius:f64,ok:bool=false")
            .expect("parse");
        let layout: Vec<(&str, usize, usize)> = s
            .fields()
            .iter()
            .map(|f| (f.name.as_str(), f.offset, f.ty.size()))
            .collect();
        assert_eq!(
            layout,
            [
                ("time", 0, 8),
                ("sensor", 8, 16),
                ("celsius", 24, 8),
                ("ok", 32, 1)
            ]
        );
        assert_eq!(s.element_size(), 33);
        assert_eq!(
            s.text(),
            "time:timestamp,sensor:str16,celsius:f64,ok:bool=false"
        );
        assert_eq!(Schema::parse(&s.text()).expect("reparse"), s);
    }

    #[test]
    fn bad_schemas_are_named() {
        assert_eq!(
            err("a:i8,b:f65"),
            format!("schema: field 2 'b': unknown type 'f65' (types: {KNOWN})")
        );
        assert_eq!(
            err("a:i8,a:u8"),
            "schema: field 2 'a': duplicate field name"
        );
        assert_eq!(
            err("a:str0"),
            format!("schema: field 1 'a': str0: length must be 1 to {MAX_ELEMENT_SIZE} bytes")
        );
        assert!(err("a").contains("expected NAME:TYPE"));
        assert!(err("1a:u8").contains("bad field name"));
        assert!(err("seqno:u64").contains("reserved name"));
        assert_eq!(err(""), "schema: no fields");
        assert!(err(&"a:u8,".repeat(700)).contains("(at most 3072)"));
        assert!(err("a:bytes67108864,b:u8").contains("more than 67108864 bytes"));
    }

    #[test]
    fn integers_are_range_checked_and_round_trip() {
        let s = Schema::parse("a:i8,b:u16,c:i64,d:u64").expect("parse");
        let mut el = vec![0u8; s.element_size()];
        let f = s.fields();
        f[0].encode(Value::Int(-128), &mut el).expect("i8 min");
        f[1].encode(Value::UInt(65535), &mut el).expect("u16 max");
        f[2].encode(Value::Int(i64::MIN), &mut el).expect("i64 min");
        f[3].encode(Value::UInt(u64::MAX), &mut el)
            .expect("u64 max");
        assert_eq!(f[0].decode(&el), Ok(Value::Int(-128)));
        assert_eq!(f[1].decode(&el), Ok(Value::UInt(65535)));
        assert_eq!(f[2].decode(&el), Ok(Value::Int(i64::MIN)));
        assert_eq!(f[3].decode(&el), Ok(Value::UInt(u64::MAX)));
        assert_eq!(
            f[0].encode(Value::Int(128), &mut el),
            Err("128 is out of range for i8 (-128 to 127)".into())
        );
        assert_eq!(
            f[1].encode(Value::Int(-1), &mut el),
            Err("-1 is out of range for u16 (0 to 65535)".into())
        );
    }

    #[test]
    fn text_is_nul_padded_and_bounded() {
        let s = Schema::parse("s:str4,b:bytes2,ok:bool").expect("parse");
        let mut el = vec![0xffu8; s.element_size()];
        let f = s.fields();
        f[0].encode(Value::Str("é"), &mut el).expect("fits");
        assert_eq!(&el[..4], b"\xc3\xa9\0\0");
        assert_eq!(f[0].decode(&el), Ok(Value::Str("é")));
        assert!(f[0].encode(Value::Str("abcde"), &mut el).is_err());
        assert!(f[1].encode(Value::Bytes(b"a"), &mut el).is_err());
        el[6] = 2;
        assert!(f[2].decode(&el).is_err());
    }
}

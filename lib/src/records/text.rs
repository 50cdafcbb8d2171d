//! One field's value as text: parsing what a CSV field (or a JSON value) holds into
//! the element, and writing a stored value back out for CSV or JSON.

use crate::schema::{Field, Type, Value};

use super::escape::{push_csv_field, push_hex, push_json_str};
use super::time::{self, TimeFormat};

/// Parses `text` as a value of `field` and stores it in `el`. `now` is the time
/// `now` and relative timestamps count from. Errors are the cause alone (the caller
/// adds line and field).
pub fn store(field: &Field, text: &str, el: &mut [u8], now: i64) -> Result<(), String> {
    // Spaces around a number, bool or timestamp (`1, 2`) mean nothing; in text they
    // are part of the value.
    let text = match field.ty {
        Type::Str(_) => text,
        _ => text.trim(),
    };
    let value = match field.ty {
        Type::Bool => Value::Bool(match text {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(format!("'{text}' is not a bool (true, false, 1 or 0)")),
        }),
        Type::F32 => {
            let v = float(text)?;
            if v.is_finite() && !(v as f32).is_finite() {
                return Err(format!("{text} is out of range for f32"));
            }
            Value::Float(v)
        }
        Type::F64 => {
            let v = float(text)?;
            if !v.is_finite() && text.bytes().any(|b| b.is_ascii_digit()) {
                return Err(format!("{text} is out of range for f64"));
            }
            Value::Float(v)
        }
        Type::Timestamp => Value::Time(time::parse(text, now)?),
        Type::Str(_) => Value::Str(text),
        Type::Bytes(n) => {
            let mut buf = [0u8; 64];
            if text.len() != 2 * n as usize {
                return Err(format!(
                    "bytes{n} needs {} hex digits, got {}",
                    2 * n,
                    text.len()
                ));
            }
            // Small fields decode on the stack; large ones allocate (rare).
            let mut big = Vec::new();
            let out: &mut [u8] = if n as usize <= buf.len() {
                &mut buf[..n as usize]
            } else {
                big.resize(n as usize, 0);
                &mut big
            };
            unhex(text, out)?;
            return field.encode(Value::Bytes(out), el);
        }
        ty => integer(ty, text)?,
    };
    field.encode(value, el)
}

fn float(text: &str) -> Result<f64, String> {
    // Takes what Rust's parser takes: decimals, exponents, "NaN", "inf", "-inf".
    match text.parse::<f64>() {
        Ok(v) => Ok(v),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}

fn integer(ty: Type, text: &str) -> Result<Value<'static>, String> {
    let signed = matches!(ty, Type::I8 | Type::I16 | Type::I32 | Type::I64);
    if signed {
        if let Ok(v) = text.parse::<i64>() {
            return Ok(Value::Int(v));
        }
    } else if let Ok(v) = text.parse::<u64>() {
        return Ok(Value::UInt(v));
    }
    // Whole numbers beyond 64 bits, or negative for an unsigned type: out of range.
    match text.parse::<i128>() {
        Ok(_) => {
            let (lo, hi) = ty.int_range().unwrap_or((0, 0));
            Err(format!(
                "{text} is out of range for {} ({lo} to {hi})",
                ty.name()
            ))
        }
        Err(_) => Err(format!("'{text}' is not an integer")),
    }
}

fn unhex(text: &str, out: &mut [u8]) -> Result<(), String> {
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        match (nib(pair[0]), nib(pair[1])) {
            (Some(h), Some(l)) => out[i] = h << 4 | l,
            _ => return Err(format!("'{text}' is not hex")),
        }
    }
    Ok(())
}

/// How a value is written.
#[derive(Clone, Copy)]
pub struct Style {
    pub json: bool,
    pub time: TimeFormat,
    pub now: i64,
}

/// Appends `v` in CSV or JSON form.
pub fn push(out: &mut Vec<u8>, v: Value<'_>, style: Style) {
    match v {
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        Value::UInt(u) => out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes()),
        Value::Float(_) | Value::Float32(_) => {
            // Shortest text that parses back to the same value. JSON has no NaN or
            // infinities: they are written as the strings "NaN", "inf", "-inf".
            let mut b = ryu::Buffer::new();
            let (s, finite) = match v {
                Value::Float32(g) => (b.format(g), g.is_finite()),
                Value::Float(f) => (b.format(f), f.is_finite()),
                _ => ("", true),
            };
            if style.json && !finite {
                out.push(b'"');
                out.extend_from_slice(s.as_bytes());
                out.push(b'"');
            } else {
                out.extend_from_slice(s.as_bytes());
            }
        }
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Time(t) => style.time.push(out, t, style.now, style.json),
        Value::Str(s) if style.json => push_json_str(out, s),
        Value::Str(s) => push_csv_field(out, s),
        Value::Bytes(b) => {
            if style.json {
                out.push(b'"');
            }
            push_hex(out, b);
            if style.json {
                out.push(b'"');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;

    #[test]
    fn every_type_parses_and_prints_back() {
        let s = Schema::parse(
            "a:i8,b:i16,c:i32,d:i64,e:u8,f:u16,g:u32,h:u64,i:f32,j:f64,k:bool,l:timestamp,m:str8,n:bytes2",
        )
        .expect("schema");
        let texts = [
            "-128",
            "32767",
            "-2147483648",
            "9223372036854775807",
            "255",
            "0",
            "4294967295",
            "18446744073709551615",
            "0.1",
            "-1e-300",
            "true",
            "2026-11-22T06:00:00.000000001Z",
            "a,\"b\"",
            "00ff",
        ];
        let mut el = vec![0u8; s.element_size()];
        for (f, t) in s.fields().iter().zip(texts) {
            store(f, t, &mut el, 0).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        }
        let style = Style {
            json: false,
            time: TimeFormat::Rfc3339,
            now: 0,
        };
        let mut out = Vec::new();
        for f in s.fields() {
            push(&mut out, f.decode(&el).expect("decode"), style);
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "-128|32767|-2147483648|9223372036854775807|255|0|4294967295|18446744073709551615|0.1|-1e-300|true|2026-11-22T06:00:00.000000001Z|\"a,\"\"b\"\"\"|00ff|"
        );
    }

    #[test]
    fn bad_values_say_why() {
        let s = Schema::parse("a:u8,b:f32,c:bool,d:bytes2,e:i64").expect("schema");
        let f = s.fields();
        let mut el = vec![0u8; s.element_size()];
        let e = |i: usize, t: &str, el: &mut Vec<u8>| store(&f[i], t, el, 0).expect_err(t);
        assert_eq!(
            e(0, "256", &mut el),
            "256 is out of range for u8 (0 to 255)"
        );
        assert_eq!(e(0, "-1", &mut el), "-1 is out of range for u8 (0 to 255)");
        assert_eq!(e(0, "abc", &mut el), "'abc' is not an integer");
        assert_eq!(e(0, "1.5", &mut el), "'1.5' is not an integer");
        assert_eq!(e(1, "x", &mut el), "'x' is not a number");
        assert_eq!(e(1, "1e39", &mut el), "1e39 is out of range for f32");
        assert_eq!(
            e(2, "yes", &mut el),
            "'yes' is not a bool (true, false, 1 or 0)"
        );
        assert_eq!(e(3, "0g00", &mut el), "'0g00' is not hex");
        assert_eq!(
            e(4, "9223372036854775808", &mut el),
            "9223372036854775808 is out of range for i64 (-9223372036854775808 to 9223372036854775807)"
        );
    }
}

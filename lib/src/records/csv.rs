//! CSV records (RFC 4180): fields separated by commas, a field in double quotes may
//! hold commas, newlines and doubled quotes.
//!
//! Written by hand, not with csv-core, for a measured reason. csv-core reads a
//! malformed record without a word (`"b"c` as `bc`, an unterminated quote as a
//! field), which woof-put would put as wrong data, so it needs a strictness pass
//! in front; with it, a record costs 50–52 ns against 37–40 ns here (`make bench`,
//! parsers group), and `woof-put --csv` of 1 M typed rows took 1.13× as long
//! (median of 9 paired runs, same machine, 2 vCPU) — worse than the typed-put
//! row's noise. Bare csv-core (36 ns) is no faster than this splitter, which
//! refuses both malformed forms itself, naming the field.

/// The fields of one record, unquoted, in a reused buffer (no allocation per record
/// once warmed up).
#[derive(Default)]
pub struct Fields {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    /// Splits one whole record (quotes balanced, no line terminator). Errors name the
    /// 1-based field.
    pub fn split(&mut self, rec: &[u8]) -> Result<(), (usize, String)> {
        self.buf.clear();
        self.ends.clear();
        let mut i = 0;
        loop {
            let n = self.ends.len() + 1;
            if rec.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match rec.get(i) {
                        None => return Err((n, "unterminated quoted field".into())),
                        Some(b'"') if rec.get(i + 1) == Some(&b'"') => {
                            self.buf.push(b'"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&b) => {
                            self.buf.push(b);
                            i += 1;
                        }
                    }
                }
                if !matches!(rec.get(i), None | Some(b',')) {
                    return Err((n, "text after the closing quote".into()));
                }
            } else {
                let end = rec[i..]
                    .iter()
                    .position(|&b| b == b',')
                    .map_or(rec.len(), |p| i + p);
                self.buf.extend_from_slice(&rec[i..end]);
                i = end;
            }
            self.ends.push(self.buf.len());
            if i >= rec.len() {
                return Ok(());
            }
            i += 1; // the comma
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i` (0-based).
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }
}

/// Whether `text` leaves a quoted field open (an odd number of quotes): the record
/// goes on in the next line.
pub fn open_quote(text: &[u8]) -> bool {
    text.iter().filter(|&&b| b == b'"').count() % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(rec: &str) -> Result<Vec<String>, (usize, String)> {
        let mut f = Fields::default();
        f.split(rec.as_bytes())?;
        Ok((0..f.len())
            .map(|i| String::from_utf8(f.get(i).to_vec()).expect("utf8"))
            .collect())
    }

    #[test]
    fn fields_and_quotes() {
        assert_eq!(split("a,b,,c").expect("ok"), ["a", "b", "", "c"]);
        assert_eq!(split("").expect("ok"), [""]);
        assert_eq!(
            split("\"x,\"\"y\"\"\nz\",1").expect("ok"),
            ["x,\"y\"\nz", "1"]
        );
        assert_eq!(split("a,\"\"").expect("ok"), ["a", ""]);
        assert_eq!(split("a,\"b\"c").expect_err("bad").0, 2);
        assert_eq!(split("\"abc").expect_err("bad").0, 1);
        assert!(open_quote(b"a,\"b"));
        assert!(!open_quote(b"a,\"b\"\"c\""));
    }

    #[test]
    fn long_fields_many_fields_and_a_cr_inside_a_field() {
        let long = "x".repeat(1000);
        let rec = format!("\"{long}\",{}", vec!["1"; 40].join(","));
        let got = split(&rec).expect("ok");
        assert_eq!(got.len(), 41);
        assert_eq!(got[0], long);
        assert!(got[1..].iter().all(|f| f == "1"));
        assert_eq!(split("p,q").expect("ok"), ["p", "q"]);
        assert_eq!(split("a\rb,c").expect("ok"), ["a\rb", "c"]);
    }
}

//! What the tools print, parsed back independently of them: CSV lines, hex, times,
//! handler results as JSON.

/// One line of `--format csv` output: `seqno,put_time,hex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLine {
    pub seqno: u64,
    pub time: String,
    pub data: Vec<u8>,
}

impl CsvLine {
    pub fn parse(line: &str) -> CsvLine {
        CsvLine::try_parse(line).unwrap_or_else(|| panic!("not a csv element line: {line:?}"))
    }

    pub fn try_parse(line: &str) -> Option<CsvLine> {
        let mut parts = line.split(',');
        let seqno = parts.next()?.parse().ok()?;
        let time = parts.next()?.to_string();
        let data = unhex(parts.next()?)?;
        if parts.next().is_some() || !is_rfc3339_nanos(&time) {
            return None;
        }
        Some(CsvLine { seqno, time, data })
    }
}

pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            let pair = text.get(i..i + 2)?;
            if !pair
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return None;
            }
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, as woof prints put times.
pub fn is_rfc3339_nanos(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 30
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..29)
        && b[29] == b'Z'
}

/// RFC 3339 in UTC with nanoseconds, computed independently of the tools
/// (days to civil date after H. Hinnant), to check the times they print.
pub fn rfc3339(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let nanos = ns % 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The final outcomes (everything but "started") of the results.
pub fn finals(results: &[RunRec]) -> Vec<&RunRec> {
    results.iter().filter(|r| r.outcome != "started").collect()
}

/// One record of `woof-tail --results --format json`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRec {
    pub result: u64,
    pub trigger: u64,
    pub woof: String,
    pub seqno: u64,
    pub handler: String,
    pub outcome: String,
    pub code: Option<i64>,
    pub start: String,
    pub start_ns: u64,
    pub duration_ms: f64,
    pub cause: String,
    pub detail: String,
}

/// The keys of a results JSON object, in order.
pub const RESULT_KEYS: [&str; 12] = [
    "result",
    "trigger",
    "woof",
    "seqno",
    "handler",
    "outcome",
    "code",
    "start",
    "start_ns",
    "duration_ms",
    "cause",
    "detail",
];

impl RunRec {
    pub fn parse(line: &str) -> RunRec {
        let obj = parse_flat_json(line).unwrap_or_else(|| panic!("not a JSON object: {line:?}"));
        let keys: Vec<&str> = obj.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, RESULT_KEYS, "result keys of {line:?}");
        let get = |k: &str| {
            obj.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or(Json::Null)
        };
        let num = |k: &str| match get(k) {
            Json::Num(n) => n
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{k} not a u64 in {line:?}")),
            v => panic!("{k} is {v:?} in {line:?}"),
        };
        let text = |k: &str| match get(k) {
            Json::Str(s) => s,
            v => panic!("{k} is {v:?} in {line:?}"),
        };
        RunRec {
            result: num("result"),
            trigger: num("trigger"),
            woof: text("woof"),
            seqno: num("seqno"),
            handler: text("handler"),
            outcome: text("outcome"),
            code: match get("code") {
                Json::Null => None,
                Json::Num(n) => Some(n.parse().unwrap_or_else(|_| panic!("code in {line:?}"))),
                v => panic!("code is {v:?} in {line:?}"),
            },
            start: text("start"),
            start_ns: num("start_ns"),
            duration_ms: match get("duration_ms") {
                Json::Num(n) => n.parse().unwrap_or_else(|_| panic!("duration in {line:?}")),
                v => panic!("duration_ms is {v:?} in {line:?}"),
            },
            cause: text("cause"),
            detail: text("detail"),
        }
    }

    /// One line for failure messages.
    pub fn brief(&self) -> String {
        format!(
            "#{} t{} {}[{}] {} {} {:?} cause={:?} {:?}",
            self.result,
            self.trigger,
            self.handler,
            self.seqno,
            self.woof,
            self.outcome,
            self.code,
            self.cause,
            self.detail
        )
    }
}

/// A JSON value of a flat object.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Str(String),
    /// The number as written.
    Num(String),
    Bool(bool),
    Null,
}

/// Parses one flat JSON object (string keys; string, number, bool or null values)
/// into its (key, value) pairs in order; None if it is anything else.
pub fn parse_flat_json(text: &str) -> Option<Vec<(String, Json)>> {
    let mut p = JsonParser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    p.eat(b'{')?;
    let mut out = Vec::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let k = p.string()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            let v = p.value()?;
            out.push((k, v));
            p.ws();
            match p.peek()? {
                b',' => p.i += 1,
                b'}' => {
                    p.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == p.s.len()).then_some(out)
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.i += 1)
    }

    fn lit(&mut self, word: &str) -> Option<()> {
        let end = self.i + word.len();
        (self.s.get(self.i..end)? == word.as_bytes()).then(|| self.i = end)
    }

    fn value(&mut self) -> Option<Json> {
        match self.peek()? {
            b'"' => self.string().map(Json::Str),
            b'n' => self.lit("null").map(|()| Json::Null),
            b't' => self.lit("true").map(|()| Json::Bool(true)),
            b'f' => self.lit("false").map(|()| Json::Bool(false)),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                n.parse::<f64>().ok()?;
                Some(Json::Num(n.to_string()))
            }
            _ => None,
        }
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            self.i += 4;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                b if b < 0x20 => return None,
                b => out.push(b),
            }
        }
    }
}

//! Timestamps as text: RFC 3339, Unix seconds, `now` and relative forms (`-5m`) in;
//! RFC 3339 with nanoseconds, Unix seconds or nanoseconds, or relative out.
//!
//! RFC 3339 is written here, not with humantime, though humantime is faster on the
//! timestamps it handles (`make bench`, parsers group, same run, 2 vCPU: parse
//! 54 ns against 16 ns, write 56 ns against 39 ns): humantime parses only UTC (`Z`)
//! and panics on a time before 1970, while schema timestamps may carry any offset
//! (`+01:00`) and any year from 1677 to 2262, which woof-put accepts and woof-get
//! prints back. Durations (`-5m`) are humantime's.

use std::time::Duration;

/// How `woof-get`/`woof-tail` print times (put times and timestamp fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum TimeFormat {
    /// 2026-11-22T06:00:00.000000000Z (UTC, nanoseconds)
    #[default]
    Rfc3339,
    /// Seconds since the Unix epoch with nine decimals: 1795327200.000000000
    Unix,
    /// Nanoseconds since the Unix epoch: 1795327200000000000
    UnixNs,
    /// Relative to now, as woof-put accepts it: -5m3s250ms
    Relative,
    /// RFC 3339 in the system's time zone (TZ, else /etc/localtime), with its
    /// offset: 2026-11-22T07:00:00.000000000+01:00
    Local,
}

const NS: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn push_digits(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut v = v;
    let mut i = buf.len();
    while v > 0 || i == buf.len() {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let digits = buf.len() - i;
    for _ in digits..width {
        out.push(b'0');
    }
    out.extend_from_slice(&buf[i..]);
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
pub fn push_rfc3339(out: &mut Vec<u8>, ns: i64) {
    let secs = ns.div_euclid(NS);
    let frac = ns.rem_euclid(NS) as u64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u64;
    let (y, m, d) = civil_from_days(days);
    push_digits(out, y as u64, 4);
    out.push(b'-');
    push_digits(out, u64::from(m), 2);
    out.push(b'-');
    push_digits(out, u64::from(d), 2);
    out.push(b'T');
    push_digits(out, sod / 3600, 2);
    out.push(b':');
    push_digits(out, sod / 60 % 60, 2);
    out.push(b':');
    push_digits(out, sod % 60, 2);
    out.push(b'.');
    push_digits(out, frac, 9);
    out.push(b'Z');
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+HH:MM` in the system's time zone (its offset at
/// that instant, DST included); UTC's `Z` form when the zone cannot be had.
fn push_local(out: &mut Vec<u8>, ns: i64) {
    static ZONE: std::sync::OnceLock<jiff::tz::TimeZone> = std::sync::OnceLock::new();
    let zone = ZONE.get_or_init(jiff::tz::TimeZone::system);
    let Ok(at) = jiff::Timestamp::from_nanosecond(i128::from(ns)) else {
        return push_rfc3339(out, ns);
    };
    let offset = i64::from(zone.to_offset(at).seconds());
    let Some(shifted) = ns.checked_add(offset * NS) else {
        return push_rfc3339(out, ns);
    };
    push_rfc3339(out, shifted);
    out.pop(); // the Z
    out.push(if offset < 0 { b'-' } else { b'+' });
    let abs = offset.unsigned_abs() / 60;
    push_digits(out, abs / 60, 2);
    out.push(b':');
    push_digits(out, abs % 60, 2);
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` as a string.
pub fn rfc3339_string(ns: i64) -> String {
    let mut out = Vec::with_capacity(30);
    push_rfc3339(&mut out, ns);
    String::from_utf8_lossy(&out).into_owned()
}

/// `YYYY-MM-DDTHH:MM:SSZ`: to the second, for headings and listings.
pub fn rfc3339_seconds(ns: i64) -> String {
    let mut out = Vec::with_capacity(30);
    push_rfc3339(&mut out, ns.div_euclid(NS) * NS);
    out.truncate(19);
    out.push(b'Z');
    String::from_utf8_lossy(&out).into_owned()
}

/// Seconds with nine decimals, e.g. `-1.500000000`.
fn push_unix(out: &mut Vec<u8>, ns: i64) {
    if ns < 0 {
        out.push(b'-');
    }
    let abs = ns.unsigned_abs();
    push_digits(out, abs / NS as u64, 1);
    out.push(b'.');
    push_digits(out, abs % NS as u64, 9);
}

/// `-5m3s250ms` (in the past) or `+2h` (in the future), to the millisecond.
fn push_relative(out: &mut Vec<u8>, ns: i64, now: i64) {
    let delta = i128::from(ns) - i128::from(now);
    out.push(if delta < 0 { b'-' } else { b'+' });
    let ms = (delta.unsigned_abs() / 1_000_000) as u64;
    if ms == 0 {
        out.extend_from_slice(b"0s");
        return;
    }
    let text = humantime::format_duration(Duration::from_millis(ms)).to_string();
    out.extend(text.bytes().filter(|&b| b != b' '));
}

impl TimeFormat {
    /// `ns` in this format, as a string (quoted for JSON where it is text).
    pub fn text(self, ns: i64, now: i64, json: bool) -> String {
        let mut out = Vec::with_capacity(40);
        self.push(&mut out, ns, now, json);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Appends `ns` in this format; `now` only matters for `relative`. `json` quotes
    /// the text forms (numbers stay bare).
    pub fn push(self, out: &mut Vec<u8>, ns: i64, now: i64, json: bool) {
        let quoted = json
            && matches!(
                self,
                TimeFormat::Rfc3339 | TimeFormat::Relative | TimeFormat::Local
            );
        if quoted {
            out.push(b'"');
        }
        match self {
            TimeFormat::Rfc3339 => push_rfc3339(out, ns),
            TimeFormat::Unix => push_unix(out, ns),
            TimeFormat::UnixNs => {
                out.extend_from_slice(itoa::Buffer::new().format(ns).as_bytes());
            }
            TimeFormat::Relative => push_relative(out, ns, now),
            TimeFormat::Local => push_local(out, ns),
        }
        if quoted {
            out.push(b'"');
        }
    }
}

/// Parses a timestamp: `now`, a relative form (`-5m`, `+1h 30m`, humantime units),
/// Unix seconds (`1795327200`, `1795327200.25`), or RFC 3339 with any UTC offset
/// (`2026-11-22T06:00:00Z`, `2026-11-22 07:00:00.5+01:00`). Returns ns since the epoch.
pub fn parse(text: &str, now: i64) -> Result<i64, String> {
    let bad = || format!("'{text}' is not a timestamp (RFC 3339, Unix seconds, now, or -5m)");
    let range = || format!("'{text}' is out of range for a timestamp (years 1677 to 2262)");
    if text == "now" {
        return Ok(now);
    }
    let t = text.as_bytes();
    if t.first()
        .is_some_and(|&b| b == b'-' || b == b'+' || b.is_ascii_digit())
        && let Some(ns) = unix_seconds(text)
    {
        return ns.ok_or_else(range);
    }
    if let Some(rest) = text.strip_prefix(['-', '+']) {
        let d = humantime::parse_duration(rest).map_err(|_| bad())?;
        let d = i64::try_from(d.as_nanos()).map_err(|_| range())?;
        let v = if text.starts_with('-') {
            now.checked_sub(d)
        } else {
            now.checked_add(d)
        };
        return v.ok_or_else(range);
    }
    rfc3339(text).ok_or_else(bad)?.ok_or_else(range)
}

/// A point in time as `--since`/`--until` take it, before a time zone is chosen:
/// an instant, or a wall-clock time or day that needs one (journalctl's rule: the
/// system's zone unless `--utc`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// An instant (ns since the epoch): RFC 3339 with an offset, Unix seconds,
    /// `now`, a relative time.
    At(i64),
    /// `2026-11-22`, `2026-11-22 06:00[:00]`: no offset given.
    Civil(jiff::civil::DateTime),
    /// The start of the day `back` days before the one `now` falls on (`today`: 0,
    /// `yesterday`: 1).
    Day { now: i64, back: i64 },
}

impl When {
    /// The instant this is in `zone` (ns since the epoch). A wall-clock time that
    /// a DST change skips or repeats is taken as the earlier one (RFC 5545).
    pub fn resolve(self, zone: &jiff::tz::TimeZone) -> Result<i64, String> {
        let range =
            |_: jiff::Error| "out of range for a timestamp (years 1677 to 2262)".to_string();
        let start = match self {
            When::At(ns) => return Ok(ns),
            When::Civil(dt) => dt.to_zoned(zone.clone()).map_err(range)?,
            When::Day { now, back } => {
                let at = jiff::Timestamp::from_nanosecond(i128::from(now)).map_err(range)?;
                let day = at.to_zoned(zone.clone()).date();
                let day = day
                    .checked_sub(jiff::Span::new().days(back))
                    .map_err(range)?;
                day.to_zoned(zone.clone()).map_err(range)?
            }
        };
        i64::try_from(start.timestamp().as_nanosecond())
            .map_err(|_| "out of range for a timestamp (years 1677 to 2262)".to_string())
    }
}

/// Parses a point in time for `--since`/`--until`: what `parse` takes, and
/// `today`, `yesterday`, a bare date `2026-11-22`, or `2026-11-22 06:00[:00]`
/// without an offset (a zone is chosen later: `When::resolve`). Unix seconds too
/// large to be seconds (after the year 5000) are refused with a hint that they
/// look like milliseconds.
pub fn parse_when(text: &str, now: i64) -> Result<When, String> {
    match text {
        "today" => return Ok(When::Day { now, back: 0 }),
        "yesterday" => return Ok(When::Day { now, back: 1 }),
        _ => {}
    }
    let b = text.as_bytes();
    let date_like = b.len() >= 10 && b[4] == b'-' && b[7] == b'-';
    let civil = date_like && (b.len() == 10 || ((b.len() == 16 || b.len() == 19) && b[10] == b' '));
    if civil {
        let bad = || format!("'{text}' is not a date (YYYY-MM-DD) or time (YYYY-MM-DD HH:MM[:SS])");
        let all_digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        let shaped = all_digits(0..4)
            && all_digits(5..7)
            && all_digits(8..10)
            && (b.len() == 10
                || (all_digits(11..13)
                    && b[13] == b':'
                    && all_digits(14..16)
                    && (b.len() == 16 || (b[16] == b':' && all_digits(17..19)))));
        if !shaped {
            return Err(bad());
        }
        let dt = if b.len() == 10 {
            text.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        } else {
            text.parse::<jiff::civil::DateTime>()
        };
        return dt.map(When::Civil).map_err(|_| bad());
    }
    if b.iter().all(u8::is_ascii_digit) && text.len() >= 12 {
        return Err(format!(
            "'{text}' would be after the year 5000 as Unix seconds; milliseconds? ({})",
            &text[..text.len() - 3]
        ));
    }
    parse(text, now).map(When::At)
}

/// `[-]SECONDS[.FRACTION]`; `None` if it is not of that form, `Some(None)` if it is
/// out of range.
fn unix_seconds(text: &str) -> Option<Option<i64>> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let Ok(secs) = int.parse::<i128>() else {
        return Some(None);
    };
    let mut sub: i128 = 0;
    for (i, b) in frac.bytes().enumerate() {
        sub += i128::from(b - b'0') * 10i128.pow(8 - i as u32);
    }
    // Checked: seconds are as many digits as the input has (fuzzing found a wrap).
    let Some(ns) = secs
        .checked_mul(i128::from(NS))
        .and_then(|n| n.checked_add(sub))
    else {
        return Some(None);
    };
    Some(i64::try_from(if neg { -ns } else { ns }).ok())
}

/// RFC 3339 (`T`, `t` or a space between date and time; `Z` or `±HH:MM`). `None`
/// if malformed, `Some(None)` if out of range.
fn rfc3339(text: &str) -> Option<Option<i64>> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(r)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac: i64 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                frac = frac * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start).min(9)..9 {
            frac *= 10;
        }
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let dim = [
        31,
        28 + i64::from(leap(y)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d < 1 || d > dim[(mo - 1) as usize] || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    // A leap second (:60) is the next second, as in most systems that accept it.
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    Some(i64::try_from(i128::from(secs) * i128::from(NS) + i128::from(frac)).ok())
}

fn leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(f: TimeFormat, ns: i64, now: i64) -> String {
        let mut out = Vec::new();
        f.push(&mut out, ns, now, false);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn rfc3339_agrees_with_humantime() {
        for ns in [
            0i64,
            1_763_793_000_123_456_789,
            951_782_400_000_000_001,
            i64::MAX,
        ] {
            let want = humantime::format_rfc3339_nanos(
                std::time::UNIX_EPOCH + Duration::from_nanos(ns as u64),
            )
            .to_string();
            assert_eq!(show(TimeFormat::Rfc3339, ns, 0), want);
            assert_eq!(parse(&want, 0), Ok(ns));
        }
        assert_eq!(
            show(TimeFormat::Rfc3339, -1, 0),
            "1969-12-31T23:59:59.999999999Z"
        );
        assert_eq!(parse("1969-12-31T23:59:59.999999999Z", 0), Ok(-1));
        assert_eq!(
            show(TimeFormat::Rfc3339, i64::MIN, 0),
            "1677-09-21T00:12:43.145224192Z"
        );
    }

    #[test]
    fn input_forms() {
        let now = 1_000 * NS;
        assert_eq!(parse("now", now), Ok(now));
        assert_eq!(parse("-5m", now), Ok(now - 300 * NS));
        assert_eq!(parse("+1h 30m", now), Ok(now + 5400 * NS));
        assert_eq!(parse("1795327200", now), Ok(1_795_327_200 * NS));
        assert_eq!(parse("-1.5", now), Ok(-1_500_000_000));
        assert_eq!(
            parse("2026-11-22T07:00:00+01:00", 0),
            parse("2026-11-22T06:00:00Z", 0)
        );
        assert_eq!(
            parse("2026-11-22 06:00:00.5z", 0),
            Ok(1_795_327_200 * NS + NS / 2)
        );
        for bad in [
            "2026-02-30T00:00:00Z",
            "yesterday",
            "2026-11-22T06:00:00",
            "-5x",
            "",
        ] {
            assert!(parse(bad, now).is_err(), "{bad}");
        }
        assert!(parse("2263-01-01T00:00:00Z", 0).is_err_and(|e| e.contains("out of range")));
    }

    #[test]
    fn output_forms() {
        let ns = 1_795_327_200 * NS + 250_000_000;
        assert_eq!(show(TimeFormat::Unix, ns, 0), "1795327200.250000000");
        assert_eq!(show(TimeFormat::Unix, -NS / 2, 0), "-0.500000000");
        assert_eq!(show(TimeFormat::UnixNs, ns, 0), "1795327200250000000");
        assert_eq!(show(TimeFormat::Relative, ns, ns + 303 * NS), "-5m3s");
        assert_eq!(show(TimeFormat::Relative, ns + 7200 * NS, ns), "+2h");
        let mut out = Vec::new();
        TimeFormat::Rfc3339.push(&mut out, 0, 0, true);
        assert_eq!(out, b"\"1970-01-01T00:00:00.000000000Z\"");
    }

    #[test]
    fn when_takes_dates_and_days_in_the_zone_it_is_given() {
        let now = parse("2026-11-22T15:30:00Z", 0).expect("now");
        let day = |s: &str| parse(s, 0).expect("time");
        let utc = jiff::tz::TimeZone::UTC;
        let when = |s: &str, z: &jiff::tz::TimeZone| parse_when(s, now).and_then(|w| w.resolve(z));
        assert_eq!(when("today", &utc), Ok(day("2026-11-22T00:00:00Z")));
        assert_eq!(when("yesterday", &utc), Ok(day("2026-11-21T00:00:00Z")));
        assert_eq!(when("2026-11-20", &utc), Ok(day("2026-11-20T00:00:00Z")));
        assert_eq!(
            when("2026-11-20 06:05", &utc),
            Ok(day("2026-11-20T06:05:00Z"))
        );
        assert_eq!(
            when("2026-11-20 06:05:07", &utc),
            Ok(day("2026-11-20T06:05:07Z"))
        );
        // The same words east of Greenwich (a POSIX TZ: no tz database needed);
        // 02:00 there is already the 23rd, so "today" is the 23rd.
        let east = jiff::tz::TimeZone::posix("IST-5:30").expect("zone");
        let late = parse("2026-11-22T20:30:00Z", 0).expect("late");
        let when_late = |s: &str| parse_when(s, late).and_then(|w| w.resolve(&east));
        assert_eq!(when_late("today"), Ok(day("2026-11-22T18:30:00Z")));
        assert_eq!(when_late("yesterday"), Ok(day("2026-11-21T18:30:00Z")));
        assert_eq!(
            when("2026-11-20 06:05", &east),
            Ok(day("2026-11-20T00:35:00Z"))
        );
        // Instants do not move with the zone.
        assert_eq!(when("-1h", &east), Ok(now - 3_600 * NS));
        assert_eq!(
            when("2026-11-20T06:05:00Z", &east),
            Ok(day("2026-11-20T06:05:00Z"))
        );
        assert!(parse_when("1733212800000", now).is_err());
        assert_eq!(when("1733212800", &utc), Ok(1_733_212_800 * NS));
        assert!(parse_when("2026-13-01", now).is_err());
        assert!(parse_when("2026-11-20 6:05:07", now).is_err());
        assert!(parse_when("2026-11-20 25:00", now).is_err());
    }

    #[test]
    fn to_the_second() {
        let ns = parse("2026-11-22T06:00:07.999999999Z", 0).expect("time");
        assert_eq!(rfc3339_seconds(ns), "2026-11-22T06:00:07Z");
        assert_eq!(rfc3339_seconds(-1), "1969-12-31T23:59:59Z");
    }
}

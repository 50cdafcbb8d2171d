//! Numbers with a unit suffix, as coreutils reads them (`head -c 1K`, `tail -n 1M`):
//! K, M, G, T are powers of 1024, kB, MB, GB, TB powers of 1000. Element sizes,
//! histories and handler limits all take them; `human` writes byte counts back.

/// Parses `123`, `64K`, `256M`, `4G`, `1T`, `10kB`, `1MB`.
pub fn parse(s: &str) -> Result<u64, String> {
    const UNITS: [(&str, u64); 14] = [
        ("kB", 1_000),
        ("KB", 1_000),
        ("MB", 1_000_000),
        ("GB", 1_000_000_000),
        ("TB", 1_000_000_000_000),
        ("K", 1 << 10),
        ("k", 1 << 10),
        ("M", 1 << 20),
        ("m", 1 << 20),
        ("G", 1 << 30),
        ("g", 1 << 30),
        ("T", 1 << 40),
        ("t", 1 << 40),
        ("", 1),
    ];
    let bad = || {
        format!(
            "'{s}' is not a number (digits, then optionally K, M, G, T for ×1024 or kB, MB, GB, TB for ×1000)"
        )
    };
    let (num, mult) = UNITS
        .iter()
        .find_map(|(unit, mult)| s.strip_suffix(unit).map(|n| (n, *mult)))
        .ok_or_else(bad)?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// A byte count for people: `512 B`, `4.0 KiB`, `64.1 MiB`, `1.5 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// How long ago `then` was (ns since the epoch), in its largest whole unit: `42s`,
/// `5m`, `3h`, `2d`. A time "in the future" (a clock set back) is `0s`.
pub fn ago(now: u64, then: u64) -> String {
    let s = now.saturating_sub(then) / 1_000_000_000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_coreutils_ones() {
        assert_eq!(parse("123"), Ok(123));
        assert_eq!(parse("1K"), Ok(1024));
        assert_eq!(parse("64k"), Ok(64 << 10));
        assert_eq!(parse("1M"), Ok(1 << 20));
        assert_eq!(parse("4G"), Ok(4 << 30));
        assert_eq!(parse("1T"), Ok(1 << 40));
        assert_eq!(parse("10kB"), Ok(10_000));
        assert_eq!(parse("1MB"), Ok(1_000_000));
        assert_eq!(parse("2GB"), Ok(2_000_000_000));
        for bad in ["", "K", "1.5K", "-1", "1Q", " 1", "1 K", "0x10"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse("99999999999T"),
            Err("'99999999999T' is too large".into())
        );
    }
}

//! Seqno selections on the command line: `N`, `FROM..TO`, `FROM..`.

use crate::exit::Failure;

/// Which seqnos a user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// One seqno; 0 is the latest.
    One(u64),
    /// FROM..=TO; TO None means "to the latest".
    Range(u64, Option<u64>),
}

fn seqno(s: &str, whole: &str) -> Result<u64, Failure> {
    s.parse::<u64>()
        .map_err(|_| Failure::usage(format!("'{whole}' is not a seqno or FROM..TO range")))
}

/// Parses `N`, `FROM..TO` or `FROM..`.
pub fn parse(text: &str) -> Result<Selection, Failure> {
    let Some((from, to)) = text.split_once("..") else {
        return Ok(Selection::One(seqno(text, text)?));
    };
    let from = seqno(from, text)?;
    if from == 0 {
        return Err(Failure::usage(format!("range {text}: seqnos start at 1")));
    }
    if to.is_empty() {
        return Ok(Selection::Range(from, None));
    }
    let to = seqno(to, text)?;
    if from > to {
        return Err(Failure::usage(format!(
            "range {text}: FROM is greater than TO"
        )));
    }
    Ok(Selection::Range(from, Some(to)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse("5").ok(), Some(Selection::One(5)));
        assert_eq!(parse("0").ok(), Some(Selection::One(0)));
        assert_eq!(parse("1..20").ok(), Some(Selection::Range(1, Some(20))));
        assert_eq!(parse("3..").ok(), Some(Selection::Range(3, None)));
        assert_eq!(parse("4..4").ok(), Some(Selection::Range(4, Some(4))));
    }

    #[test]
    fn bad_forms_are_usage_errors() {
        for (text, msg) in [
            ("5..3", "range 5..3: FROM is greater than TO"),
            ("0..3", "range 0..3: seqnos start at 1"),
            ("x", "'x' is not a seqno or FROM..TO range"),
            ("1..y", "'1..y' is not a seqno or FROM..TO range"),
            ("-1", "'-1' is not a seqno or FROM..TO range"),
        ] {
            let f = parse(text).expect_err(text);
            assert_eq!((f.code, f.message.as_str()), (2, msg));
        }
    }
}

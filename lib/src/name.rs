//! Names of woofs and handlers: plain names, never paths (DESIGN §2).
//!
//! The same check guards local tools and (later) requests from the network, so a
//! name can never step outside its namespace directory.

use crate::error::{Error, ErrorKind, Result};

/// Longest accepted name, in bytes.
pub const MAX_NAME: usize = 200;

/// Checks that `name` is a plain name: 1–200 bytes of `[A-Za-z0-9._-]`, no leading dot.
/// `what` names the thing in the message ("woof name", "handler name").
pub fn validate(what: &str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("is empty".to_string())
    } else if name.len() > MAX_NAME {
        Some(format!("is {} bytes long (at most {MAX_NAME})", name.len()))
    } else if name.starts_with('.') {
        Some("starts with a dot".to_string())
    } else {
        name.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .map(|c| match c {
                '/' => "contains '/' (a name is not a path; use -N DIR for another namespace)"
                    .to_string(),
                '\0' => "contains a NUL byte".to_string(),
                c if c.is_control() => format!("contains control character {:#04x}", c as u32),
                c => format!("contains {c:?} (allowed: letters, digits, '.', '_', '-')"),
            })
    };
    match reason {
        None => Ok(()),
        Some(r) => Err(Error::new(ErrorKind::BadName, format!("{what} {}", shown(name))).detail(r)),
    }
}

/// The name as it may be shown on one line: control characters escaped, long names cut.
fn shown(name: &str) -> String {
    let mut out: String = name.chars().take(60).flat_map(char::escape_debug).collect();
    if name.chars().count() > 60 {
        out.push_str("...");
    }
    format!("'{out}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass() {
        for n in ["temps", "a", "t-1.log_2", "X".repeat(200).as_str(), "a..b"] {
            validate("woof name", n).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    }

    #[test]
    fn paths_and_tricks_fail_with_a_reason() {
        let cases = [
            ("", "is empty"),
            ("..", "starts with a dot"),
            (".hidden", "starts with a dot"),
            ("a/b", "contains '/'"),
            ("../x", "starts with a dot"),
            ("a\0b", "NUL"),
            ("a\nb", "control character 0x0a"),
            ("a b", "contains ' '"),
        ];
        for (n, why) in cases {
            let e = validate("woof name", n).expect_err(n);
            assert_eq!(e.kind(), &ErrorKind::BadName);
            let msg = e.to_string();
            assert!(msg.contains(why), "{n:?}: {msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
        let long = "x".repeat(201);
        let msg = validate("woof name", &long).expect_err("long").to_string();
        assert!(msg.contains("201 bytes long (at most 200)"), "{msg}");
    }
}

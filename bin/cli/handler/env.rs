//! What of the starting process's environment a handler gets, besides PATH and its
//! WOOF_* contract: HOME and LANG (a handler that calls git or prints text expects
//! them), WOOF_KEYS and WOOF_TIMEOUT (so it reaches other hosts as the platform
//! does), and whatever `--env` names. Everything else is left behind: a handler's
//! environment does not depend on the shell that started the platform.

use std::sync::OnceLock;

/// Passed when set, without being asked for.
pub const DEFAULT: [&str; 4] = ["HOME", "LANG", "WOOF_KEYS", "WOOF_TIMEOUT"];

/// One `--env`: a variable to pass, with its value or (None) the starting
/// process's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvArg {
    pub name: String,
    pub value: Option<String>,
}

/// Parses `NAME` or `NAME=VALUE`. PATH and WOOF_* are woof's to set.
pub fn parse(s: &str) -> Result<EnvArg, String> {
    let (name, value) = match s.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (s, None),
    };
    let valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(format!(
            "'{name}' is not a variable name (letters, digits and '_', not first a digit)"
        ));
    }
    if name == "PATH" || (name.starts_with("WOOF_") && !DEFAULT.contains(&name)) {
        return Err(format!(
            "{name} is set by woof for every handler (see woof-shepherd(1))"
        ));
    }
    if value.as_deref().is_some_and(|v| v.contains('\0')) {
        return Err(format!("{name}: a value cannot hold a NUL"));
    }
    Ok(EnvArg {
        name: name.to_string(),
        value,
    })
}

static PASSED: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// Settles, once per process and before any handler starts, what handlers get: the
/// defaults that are set here, then each `--env` (a later one wins).
pub fn settle(args: &[EnvArg]) -> &'static [(String, String)] {
    PASSED.get_or_init(|| {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut set = |name: &str, value: Option<String>| {
            let value = value.or_else(|| std::env::var(name).ok());
            out.retain(|(n, _)| n != name);
            if let Some(v) = value {
                out.push((name.to_string(), v));
            }
        };
        for name in DEFAULT {
            set(name, None);
        }
        for a in args {
            set(&a.name, a.value.clone());
        }
        out
    })
}

/// What handlers get (the defaults, if `settle` was never called).
pub fn passed() -> &'static [(String, String)] {
    settle(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_what_is_woofs_own() {
        assert_eq!(
            parse("FOO=a=b"),
            Ok(EnvArg {
                name: "FOO".into(),
                value: Some("a=b".into())
            })
        );
        assert_eq!(
            parse("_X"),
            Ok(EnvArg {
                name: "_X".into(),
                value: None
            })
        );
        assert!(parse("1X").is_err());
        assert!(parse("A-B=1").is_err());
        assert!(parse("").is_err());
        assert!(parse("PATH=/x").is_err());
        assert!(parse("WOOF_SEQNO=1").is_err());
        assert!(parse("WOOF_KEYS=/k").is_ok());
    }
}

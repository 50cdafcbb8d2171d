//! `woof-forward --status`: what every forwarder of the namespace last recorded.

use std::io::{self, Write};
use std::path::Path;

use crate::exit::Failure;

use super::state::{self, Seen};

pub fn print(dir: &Path) -> Result<(), Failure> {
    let seen = state::read_all(dir);
    let mut out = io::stdout().lock();
    if seen.is_empty() {
        writeln!(
            out,
            "no woof of this namespace has been forwarded (no state in {})",
            dir.display()
        )
        .map_err(Failure::stdout)?;
        return Ok(());
    }
    let now = woof::now_ns();
    let rows: Vec<Vec<String>> = seen.iter().map(|s| row(s, now)).collect();
    let head = [
        "WOOF",
        "DEST",
        "ACKED",
        "LAG",
        "GAPS",
        "RESENT",
        "STATE",
        "SINCE",
        "LAST ERROR",
    ];
    use crate::table::Align::{Left, Right};
    let align = [Left, Left, Right, Right, Right, Right, Left, Left, Left];
    crate::table::write(&mut out, &head, &align, &rows).map_err(Failure::stdout)?;
    Ok(())
}

fn row(s: &Seen, now: u64) -> Vec<String> {
    let f = |k: &str| s.fields.get(k).cloned().unwrap_or_default();
    let n = |k: &str| f(k).parse::<u64>().unwrap_or(0);
    let state = if s.running {
        f("state")
    } else {
        // The file says what it was doing when it stopped; say it is not running.
        match f("state").as_str() {
            "stopped" => "stopped".into(),
            _ => "not running".into(),
        }
    };
    let since = match f("since").parse::<u64>() {
        Ok(t) => format!("{} ago", crate::quantity::ago(now, t)),
        Err(_) => String::new(),
    };
    vec![
        f("woof"),
        f("dest"),
        f("acked"),
        n("latest").saturating_sub(n("acked")).to_string(),
        f("gaps"),
        match f("resent").as_str() {
            "" => "0".into(),
            r => r.to_string(),
        },
        state,
        since,
        f("error"),
    ]
}

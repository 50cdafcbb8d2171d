//! Selection by put time (`--since`, `--until`): the first seqno put at or after a
//! time, found by binary search over the ring (log2 of the history in gets, local
//! or remote), not by a scan.
//!
//! Put times are the clock's at each put, so they only go up while the clock
//! does. If it was set back between puts, the search still ends on a seqno where
//! the times cross the bound, but elements on the far side of the jump can be
//! in or out of the selection by where they sit, not by their time.

use woof::ErrorKind;
use woof::records::time;

use crate::exit::Failure;
use crate::source::Source;

/// Parses a `--since`/`--until` value (ns since the epoch).
pub fn parse(text: &str) -> Result<i64, String> {
    time::parse_when(text, woof::now_ns() as i64)
}

/// The first seqno held whose put time is at or after `t`; `latest + 1` when none
/// is (also for an empty woof: 1).
pub fn first_at_or_after(src: &mut dyn Source, name: &str, t: i64) -> Result<u64, Failure> {
    let latest = src.latest();
    let mut lo = src.oldest().max(1);
    let mut hi = latest + 1;
    let mut buf = vec![0u8; src.element_size()];
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match src.get(mid, &mut buf, mid) {
            Ok(el) if (el.time_ns as i64) < t => lo = mid + 1,
            Ok(_) => hi = mid,
            // The ring moved on under the search: what is gone is before `t` too.
            Err(e) if matches!(e.kind(), ErrorKind::Evicted { .. }) => {
                lo = src.oldest().max(mid + 1).min(hi);
            }
            Err(e) => return Err(Failure::from(e.within(name))),
        }
    }
    Ok(lo)
}

/// FROM..=TO of the elements put in [since, until]; None when there are none.
pub fn range(
    src: &mut dyn Source,
    name: &str,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Option<(u64, u64)>, Failure> {
    let from = match since {
        Some(t) => first_at_or_after(src, name, t)?,
        None => src.oldest().max(1),
    };
    let to = match until {
        Some(t) => first_at_or_after(src, name, t.saturating_add(1))?.saturating_sub(1),
        None => src.latest(),
    };
    Ok((from <= to && to > 0).then_some((from, to)))
}

//! Selection by time (`--since`, `--until`). By put time: the first seqno put at
//! or after a time, found by binary search over the ring (log2 of the history in
//! gets, local or remote), not by a scan. By a timestamp field of the schema
//! (`--time-field`): a scan of the window, as such fields need not be in order.
//!
//! Times without an offset (`2026-11-22 06:00`, a bare date, `today`) are in the
//! system's time zone (TZ, else /etc/localtime), as journalctl reads them; `--utc`
//! reads them (and prints every time) in UTC.
//!
//! Put times are the clock's at each put, so they only go up while the clock
//! does. If it was set back between puts, the search still ends on a seqno where
//! the times cross the bound, but elements on the far side of the jump can be
//! in or out of the selection by where they sit, not by their time.

use woof::ErrorKind;
use woof::records::time::{self, When};
use woof::schema::{Field, Schema, Value};

use crate::exit::Failure;
use crate::source::Source;

/// Parses a `--since`/`--until` value; its zone is chosen by `bounds`.
pub fn parse(text: &str) -> Result<When, String> {
    time::parse_when(text, woof::now_ns() as i64)
}

/// `--since` and `--until` as instants (ns since the epoch): times without an
/// offset in UTC with `--utc`, else in the system's zone.
pub fn bounds(
    since: Option<When>,
    until: Option<When>,
    utc: bool,
) -> Result<(Option<i64>, Option<i64>), Failure> {
    let zone = if utc {
        jiff::tz::TimeZone::UTC
    } else {
        jiff::tz::TimeZone::system()
    };
    let at = |w: Option<When>, opt: &str| {
        w.map(|w| w.resolve(&zone))
            .transpose()
            .map_err(|why| Failure::usage(format!("{opt}: {why}")))
    };
    Ok((at(since, "--since")?, at(until, "--until")?))
}

/// `--since`/`--until` on a woof of a CSPOT host (`cspot://`): refused, before
/// anything is asked of the host, as it keeps no put times.
pub fn refuse_without_put_times(
    name: &str,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<(), Failure> {
    if (since.is_some() || until.is_some()) && woof_net::cspot_client::is_cspot(name) {
        return Err(Failure::usage(
            "--since/--until: a CSPOT host keeps no put times (select by seqno)",
        ));
    }
    Ok(())
}

/// Which time an element has: its put time, or a timestamp field (`--time-field`).
#[derive(Clone, Copy)]
pub enum Clock<'a> {
    Put,
    Field(&'a Field),
}

impl<'a> Clock<'a> {
    /// Put time, or the timestamp field of `schema` called `field`; the error
    /// names the timestamp fields there are.
    pub fn of(
        schema: Option<&'a Schema>,
        field: Option<&str>,
        name: &str,
    ) -> Result<Self, Failure> {
        let Some(field) = field else {
            return Ok(Clock::Put);
        };
        let Some(schema) = schema else {
            return Err(Failure::usage(format!(
                "{name}: --time-field needs a woof with a schema (this one has none)"
            )));
        };
        let stamps = || {
            let names: Vec<&str> = schema
                .fields()
                .iter()
                .filter(|f| f.ty == woof::schema::Type::Timestamp)
                .map(|f| f.name.as_str())
                .collect();
            if names.is_empty() {
                "it has none".to_string()
            } else {
                format!("it has {}", names.join(", "))
            }
        };
        match schema.fields().iter().find(|f| f.name == field) {
            Some(f) if f.ty == woof::schema::Type::Timestamp => Ok(Clock::Field(f)),
            Some(_) => Err(Failure::usage(format!(
                "{name}: field {field} is not a timestamp ({})",
                stamps()
            ))),
            None => Err(Failure::usage(format!(
                "{name}: no field {field} for --time-field ({})",
                stamps()
            ))),
        }
    }

    /// The element's time on this clock (None: the field does not decode).
    pub fn time(self, el: &woof::Element, data: &[u8]) -> Option<i64> {
        match self {
            Clock::Put => Some(el.time_ns as i64),
            Clock::Field(f) => match f.decode(data) {
                Ok(Value::Time(t)) => Some(t),
                _ => None,
            },
        }
    }
}

/// What the readers that summarise keep: elements whose time on `clock` is in
/// [since, until] (either bound open).
#[derive(Clone, Copy)]
pub struct Filter<'a> {
    pub clock: Clock<'a>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Filter<'_> {
    /// The element's time when it is in the window, else None.
    pub fn pick(&self, el: &woof::Element, data: &[u8]) -> Option<i64> {
        let t = self.clock.time(el, data)?;
        let after = self.since.is_none_or(|s| t >= s);
        let before = self.until.is_none_or(|u| t <= u);
        (after && before).then_some(t)
    }
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

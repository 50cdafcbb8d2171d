//! The namespace trigger log (`.woof/triggers`): a woof of fixed 768-byte trigger
//! records. A put with a handler appends its element, then a trigger naming it; the
//! platform follows the log and runs each trigger's handler (DESIGN §4). Layout in
//! FORMAT.md, "Trigger log".

use crate::error::{Error, ErrorKind, Result};
use crate::format::Durability;
use crate::format::get_u64;
use crate::woof::{Woof, Writer, now_ns};

/// Bytes of one trigger record.
pub const TRIGGER_SIZE: usize = 768;
/// Trigger log history when a namespace's log is first created.
pub const DEFAULT_TRIGGER_HISTORY: u64 = 16_384;

const OFF_SEQNO: usize = 0;
const OFF_TIME: usize = 8;
const OFF_WOOF_LEN: usize = 16;
const OFF_HANDLER_LEN: usize = 18;
const OFF_CAUSE_LEN: usize = 20;
const OFF_WOOF: usize = 24;
const OFF_HANDLER: usize = 224;
const OFF_CAUSE: usize = 424;
/// Longest cause string.
pub const MAX_CAUSE: usize = TRIGGER_SIZE - OFF_CAUSE;

/// One request to run a handler on an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The woof the element was put to (a plain name in this namespace).
    pub woof: String,
    pub seqno: u64,
    pub handler: String,
    pub put_time_ns: u64,
    /// What caused the put (WOOF_CAUSE of the handler that made it), or empty.
    pub cause: String,
}

fn put_field(rec: &mut [u8], len_off: usize, off: usize, max: usize, text: &str) -> Result<()> {
    if text.len() > max {
        return Err(Error::new(ErrorKind::BadArgument, "trigger")
            .detail(format!("field of {} bytes exceeds {max}", text.len())));
    }
    rec[len_off..len_off + 2].copy_from_slice(&(text.len() as u16).to_le_bytes());
    rec[off..off + text.len()].copy_from_slice(text.as_bytes());
    Ok(())
}

fn get_field(rec: &[u8], len_off: usize, off: usize, max: usize) -> Result<String> {
    let len = usize::from(u16::from_le_bytes([rec[len_off], rec[len_off + 1]]));
    if len > max {
        return Err(
            Error::new(ErrorKind::Corrupt, "trigger record").detail("field length out of range")
        );
    }
    String::from_utf8(rec[off..off + len].to_vec())
        .map_err(|_| Error::new(ErrorKind::Corrupt, "trigger record").detail("field is not UTF-8"))
}

impl Trigger {
    pub fn encode(&self) -> Result<[u8; TRIGGER_SIZE]> {
        let mut rec = [0u8; TRIGGER_SIZE];
        rec[OFF_SEQNO..OFF_SEQNO + 8].copy_from_slice(&self.seqno.to_le_bytes());
        rec[OFF_TIME..OFF_TIME + 8].copy_from_slice(&self.put_time_ns.to_le_bytes());
        put_field(
            &mut rec,
            OFF_WOOF_LEN,
            OFF_WOOF,
            OFF_HANDLER - OFF_WOOF,
            &self.woof,
        )?;
        put_field(
            &mut rec,
            OFF_HANDLER_LEN,
            OFF_HANDLER,
            OFF_CAUSE - OFF_HANDLER,
            &self.handler,
        )?;
        put_field(&mut rec, OFF_CAUSE_LEN, OFF_CAUSE, MAX_CAUSE, &self.cause)?;
        Ok(rec)
    }

    /// Decodes a record; names are re-validated, so a damaged log can never name a
    /// path outside the namespace.
    pub fn decode(rec: &[u8]) -> Result<Trigger> {
        if rec.len() != TRIGGER_SIZE {
            return Err(Error::new(ErrorKind::Corrupt, "trigger record").detail("wrong size"));
        }
        let t = Trigger {
            seqno: get_u64(rec, OFF_SEQNO),
            put_time_ns: get_u64(rec, OFF_TIME),
            woof: get_field(rec, OFF_WOOF_LEN, OFF_WOOF, OFF_HANDLER - OFF_WOOF)?,
            handler: get_field(rec, OFF_HANDLER_LEN, OFF_HANDLER, OFF_CAUSE - OFF_HANDLER)?,
            cause: get_field(rec, OFF_CAUSE_LEN, OFF_CAUSE, MAX_CAUSE)?,
        };
        crate::name::validate("woof name", &t.woof)?;
        crate::name::validate("handler name", &t.handler)?;
        Ok(t)
    }
}

/// Checks a cause string: one line of printable text that fits a record.
pub fn validate_cause(cause: &str) -> Result<()> {
    if cause.len() > MAX_CAUSE || cause.chars().any(char::is_control) {
        return Err(Error::new(ErrorKind::BadArgument, "WOOF_CAUSE")
            .detail(format!("must be one line of at most {MAX_CAUSE} bytes")));
    }
    Ok(())
}

/// Appends `data` to `target` (named `name`) and a trigger for `handler`, atomically
/// with respect to other triggered puts: the trigger log's lock is held around both,
/// so triggers appear in the order of their elements. Refuses (nothing written) when
/// the log has no room: the platform is a whole log behind. Returns the element's
/// seqno and the trigger's.
/// Puts with a handler: each element gets a trigger in the namespace's trigger log.
pub struct Triggered<'a> {
    pub log: &'a Woof,
    pub handler: &'a str,
    /// What caused these puts (WOOF_CAUSE of the handler that makes them), or empty.
    pub cause: &'a str,
}

pub fn put_triggered(
    triggers: &Woof,
    target: &Woof,
    name: &str,
    data: &[u8],
    handler: &str,
    cause: &str,
    durability: Durability,
) -> Result<(u64, u64)> {
    target.check_size(data.len())?;
    let t = Triggered {
        log: triggers,
        handler,
        cause,
    };
    let put = put_triggered_by(&t, target, name, |w| {
        let time = now_ns();
        Ok(Some((w.append_at(data, time)?, time)))
    })?;
    let (seqno, t) = put.unwrap_or((0, 0));
    if durability != Durability::None && seqno != 0 {
        target.sync(seqno, seqno)?;
        triggers.sync(t, t)?;
    }
    Ok((seqno, t))
}

/// A triggered put whose append is `append`: it runs holding `target`'s lock (taken
/// under the trigger log's, the lock order of every triggered put) and returns the
/// seqno and put time of the element it appended, or None when it appended nothing
/// (then no trigger is written). The element is published before its trigger.
/// Returns (seqno, trigger seqno), nothing synced.
pub(crate) fn put_triggered_by(
    t: &Triggered<'_>,
    target: &Woof,
    name: &str,
    append: impl FnOnce(&mut Writer<'_>) -> Result<Option<(u64, u64)>>,
) -> Result<Option<(u64, u64)>> {
    validate_cause(t.cause)?;
    let triggers = t.log;
    let mut tw = triggers.writer()?;
    let pending = tw.next_seqno() - 1 - triggers.consumed();
    if pending >= triggers.history() {
        return Err(Error::new(ErrorKind::Full, "trigger log").detail(format!(
            "full: {pending} triggers not yet run (is woof-platform running?); this element was not put"
        )));
    }
    let appended = {
        let mut w = target.writer()?;
        append(&mut w)?
        // dropped here: the element is published before its trigger
    };
    let Some((seqno, put_time_ns)) = appended else {
        return Ok(None);
    };
    let rec = Trigger {
        woof: name.to_string(),
        seqno,
        handler: t.handler.to_string(),
        put_time_ns,
        cause: t.cause.to_string(),
    }
    .encode()?;
    let trig = tw.append(&rec)?;
    Ok(Some((seqno, trig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_round_trips_and_rejects_paths() {
        let t = Trigger {
            woof: "temps".into(),
            seqno: 42,
            handler: "hw".into(),
            put_time_ns: 7,
            cause: "/srv/ns#12".into(),
        };
        let rec = t.encode().expect("encode");
        assert_eq!(Trigger::decode(&rec).expect("decode"), t);
        let mut bad = t.clone();
        bad.handler = "../../bin/sh".into();
        let rec = bad.encode().expect("encode");
        assert_eq!(
            Trigger::decode(&rec).expect_err("path").kind(),
            &ErrorKind::BadName
        );
    }
}

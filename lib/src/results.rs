//! The namespace results log (`.woof/results`): one 1024-byte record per handler
//! event — started, then how it ended. `woof-tail --results` follows it. Layout in
//! FORMAT.md, "Results log".

use crate::error::{Error, ErrorKind, Result};
use crate::format::get_u64;
use crate::trigger_log::MAX_CAUSE;

/// Bytes of one result record.
pub const RESULT_SIZE: usize = 1024;
/// Results history when a namespace's log is first created.
pub const DEFAULT_RESULTS_HISTORY: u64 = 16_384;

const OFF_TRIGGER: usize = 0;
const OFF_SEQNO: usize = 8;
const OFF_START: usize = 16;
const OFF_DURATION: usize = 24;
const OFF_KIND: usize = 32;
const OFF_CODE: usize = 36;
const OFF_EXTRA: usize = 40;
const OFF_LENS: usize = 48; // woof, handler, cause, detail: u16 each
const OFF_WOOF: usize = 56;
const OFF_HANDLER: usize = 256;
const OFF_CAUSE: usize = 456;
const OFF_DETAIL: usize = OFF_CAUSE + MAX_CAUSE; // 800
const MAX_DETAIL: usize = RESULT_SIZE - OFF_DETAIL;

/// How a handler run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler was exec'd (recorded when it starts).
    Started,
    /// It exited with this status.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
    /// It ran past --timeout; its process group was killed.
    TimedOut,
    /// The element was overwritten before the handler could run; oldest held.
    Evicted { oldest: u64 },
    /// The handler does not exist or cannot be executed (detail says which).
    Missing,
    /// The platform could not start it (detail says why).
    Failed,
    /// Killed at platform shutdown, after the grace period.
    Killed,
    /// Written to a persistent handler's stdin.
    Delivered,
}

impl Outcome {
    fn encode(&self) -> (u8, i32, u64) {
        match *self {
            Outcome::Started => (0, 0, 0),
            Outcome::Exited(c) => (1, c, 0),
            Outcome::Signaled(s) => (2, s, 0),
            Outcome::TimedOut => (3, 0, 0),
            Outcome::Evicted { oldest } => (4, 0, oldest),
            Outcome::Missing => (5, 0, 0),
            Outcome::Failed => (6, 0, 0),
            Outcome::Killed => (7, 0, 0),
            Outcome::Delivered => (8, 0, 0),
        }
    }

    fn decode(kind: u8, code: i32, extra: u64) -> Result<Outcome> {
        Ok(match kind {
            0 => Outcome::Started,
            1 => Outcome::Exited(code),
            2 => Outcome::Signaled(code),
            3 => Outcome::TimedOut,
            4 => Outcome::Evicted { oldest: extra },
            5 => Outcome::Missing,
            6 => Outcome::Failed,
            7 => Outcome::Killed,
            8 => Outcome::Delivered,
            _ => {
                return Err(
                    Error::new(ErrorKind::Corrupt, "result record").detail("unknown outcome")
                );
            }
        })
    }

    /// A short word for the outcome: started, exited, signaled, timed-out, ...
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Exited(_) => "exited",
            Outcome::Signaled(_) => "signaled",
            Outcome::TimedOut => "timed-out",
            Outcome::Evicted { .. } => "evicted",
            Outcome::Missing => "missing",
            Outcome::Failed => "failed",
            Outcome::Killed => "killed",
            Outcome::Delivered => "delivered",
        }
    }

    /// Whether this ends a run (everything but `Started`).
    pub fn is_final(&self) -> bool {
        *self != Outcome::Started
    }
}

/// One event of one handler run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// Seqno of the trigger in the trigger log.
    pub trigger: u64,
    pub woof: String,
    pub seqno: u64,
    pub handler: String,
    /// When the run started (or was attempted), ns since the Unix epoch.
    pub start_ns: u64,
    /// How long it ran (0 for `Started`).
    pub duration_ns: u64,
    pub outcome: Outcome,
    /// The trigger's cause (what made the put), or empty.
    pub cause: String,
    /// Human-readable detail (why missing, failed, evicted), or empty.
    pub detail: String,
}

fn put_text(rec: &mut [u8], idx: usize, off: usize, max: usize, text: &str) {
    // Truncate on a char boundary: details are for people, never parsed.
    let end = text.floor_char_boundary(max);
    let l = OFF_LENS + idx * 2;
    rec[l..l + 2].copy_from_slice(&(end as u16).to_le_bytes());
    rec[off..off + end].copy_from_slice(&text.as_bytes()[..end]);
}

fn get_text(rec: &[u8], idx: usize, off: usize, max: usize) -> Result<String> {
    let l = OFF_LENS + idx * 2;
    let len = usize::from(u16::from_le_bytes([rec[l], rec[l + 1]]));
    if len > max {
        return Err(
            Error::new(ErrorKind::Corrupt, "result record").detail("field length out of range")
        );
    }
    Ok(String::from_utf8_lossy(&rec[off..off + len]).into_owned())
}

impl RunResult {
    pub fn encode(&self) -> [u8; RESULT_SIZE] {
        let mut rec = [0u8; RESULT_SIZE];
        let (kind, code, extra) = self.outcome.encode();
        rec[OFF_TRIGGER..OFF_TRIGGER + 8].copy_from_slice(&self.trigger.to_le_bytes());
        rec[OFF_SEQNO..OFF_SEQNO + 8].copy_from_slice(&self.seqno.to_le_bytes());
        rec[OFF_START..OFF_START + 8].copy_from_slice(&self.start_ns.to_le_bytes());
        rec[OFF_DURATION..OFF_DURATION + 8].copy_from_slice(&self.duration_ns.to_le_bytes());
        rec[OFF_KIND] = kind;
        rec[OFF_CODE..OFF_CODE + 4].copy_from_slice(&code.to_le_bytes());
        rec[OFF_EXTRA..OFF_EXTRA + 8].copy_from_slice(&extra.to_le_bytes());
        put_text(&mut rec, 0, OFF_WOOF, OFF_HANDLER - OFF_WOOF, &self.woof);
        put_text(
            &mut rec,
            1,
            OFF_HANDLER,
            OFF_CAUSE - OFF_HANDLER,
            &self.handler,
        );
        put_text(&mut rec, 2, OFF_CAUSE, MAX_CAUSE, &self.cause);
        put_text(&mut rec, 3, OFF_DETAIL, MAX_DETAIL, &self.detail);
        rec
    }

    pub fn decode(rec: &[u8]) -> Result<RunResult> {
        if rec.len() != RESULT_SIZE {
            return Err(Error::new(ErrorKind::Corrupt, "result record").detail("wrong size"));
        }
        let code = crate::format::get_u32(rec, OFF_CODE) as i32;
        Ok(RunResult {
            trigger: get_u64(rec, OFF_TRIGGER),
            seqno: get_u64(rec, OFF_SEQNO),
            start_ns: get_u64(rec, OFF_START),
            duration_ns: get_u64(rec, OFF_DURATION),
            outcome: Outcome::decode(rec[OFF_KIND], code, get_u64(rec, OFF_EXTRA))?,
            woof: get_text(rec, 0, OFF_WOOF, OFF_HANDLER - OFF_WOOF)?,
            handler: get_text(rec, 1, OFF_HANDLER, OFF_CAUSE - OFF_HANDLER)?,
            cause: get_text(rec, 2, OFF_CAUSE, MAX_CAUSE)?,
            detail: get_text(rec, 3, OFF_DETAIL, MAX_DETAIL)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_round_trips() {
        for outcome in [
            Outcome::Started,
            Outcome::Exited(3),
            Outcome::Signaled(9),
            Outcome::TimedOut,
            Outcome::Evicted { oldest: 77 },
            Outcome::Missing,
            Outcome::Failed,
            Outcome::Killed,
            Outcome::Delivered,
        ] {
            let r = RunResult {
                trigger: 5,
                woof: "hello".into(),
                seqno: 1,
                handler: "hw".into(),
                start_ns: 11,
                duration_ns: 22,
                outcome,
                cause: "/ns#4".into(),
                detail: "é".repeat(200),
            };
            let back = RunResult::decode(&r.encode()).expect("decode");
            assert_eq!(back.outcome, r.outcome);
            assert_eq!(
                (back.trigger, back.seqno, back.start_ns, back.duration_ns),
                (5, 1, 11, 22)
            );
            assert_eq!(
                (
                    back.woof.as_str(),
                    back.handler.as_str(),
                    back.cause.as_str()
                ),
                ("hello", "hw", "/ns#4")
            );
            assert!(back.detail.len() <= MAX_DETAIL && back.detail.starts_with('é'));
        }
    }
}

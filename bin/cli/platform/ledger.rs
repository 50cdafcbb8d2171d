//! What a platform that died left in the results log. A SIGKILLed platform's runs
//! end with it (their handlers get PDEATHSIG), leaving a `started` record and
//! nothing else; the next platform runs their triggers again (at-least-once). At
//! start it records each such run as `killed`, naming the platform's death as the
//! cause, so `woof-tail --results` tells the truth, and says on stderr what it will
//! run again.

use std::collections::HashSet;

use woof::Woof;
use woof::results::{Outcome, RESULT_SIZE, RunResult};
use woof::trigger_log::Trigger;

use super::books::Books;

/// How far behind the trigger watermark the backward scan goes before it stops:
/// every run of a trigger above the watermark was claimed after the watermark's own
/// trigger, so its records lie near the end of the log (workers only reorder them a
/// little).
const SCAN_MARGIN: u64 = 4096;

/// The latest record of every trigger above the watermark `consumed` (a run that
/// is still going, or that a dead platform left `started`, has a latest record
/// that is not final; a finished one out of order, a final one).
pub fn above_watermark(results: &Woof, consumed: u64) -> Vec<RunResult> {
    let (latest, oldest) = (results.latest(), results.oldest());
    let mut seen = HashSet::new();
    let mut runs = Vec::new();
    let mut rec = [0u8; RESULT_SIZE];
    let mut s = latest;
    while s >= oldest && s > 0 {
        if results.get(s, &mut rec).is_ok()
            && let Ok(r) = RunResult::decode(&rec)
        {
            if r.trigger.saturating_add(SCAN_MARGIN) <= consumed {
                break;
            }
            // Backwards, the first record of a trigger is its latest.
            if r.trigger > consumed && seen.insert(r.trigger) {
                runs.push(r);
            }
        }
        s -= 1;
    }
    runs.sort_by_key(|r| r.trigger);
    runs
}

/// Records every run that the previous platform started and never ended.
pub fn record_dead_runs(p: &Books) {
    let consumed = p.triggers.consumed();
    let dead: Vec<RunResult> = above_watermark(&p.results, consumed)
        .into_iter()
        .filter(|r| !r.outcome.is_final())
        .collect();
    if dead.is_empty() {
        return;
    }
    let list: Vec<String> = dead.iter().map(|r| r.trigger.to_string()).collect();
    eprintln!(
        "woof-platform: {} run(s) did not end before the previous platform stopped \
         (triggers {}): recorded as killed; they run again",
        dead.len(),
        list.join(" ")
    );
    for r in dead {
        let trig = Trigger {
            woof: r.woof,
            seqno: r.seqno,
            handler: r.handler,
            put_time_ns: 0,
            cause: r.cause,
        };
        p.record(
            r.trigger,
            &trig,
            r.start_ns,
            0,
            Outcome::Killed,
            "the platform died while it ran; the trigger runs again",
        );
    }
}

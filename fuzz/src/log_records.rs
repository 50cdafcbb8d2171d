//! Trigger and result records as read back from a namespace's logs: whatever the
//! bytes, decoding gives an error or a record. A trigger (whose names become
//! paths) encodes back to the same trigger; a result's texts are for people and
//! decoded lossily (bad UTF-8 becomes U+FFFD, which may not fit again), so a result
//! is stable from its first re-encoding on.

use woof::results::{RESULT_SIZE, RunResult};
use woof::trigger_log::{TRIGGER_SIZE, Trigger};

fn sized(data: &[u8], size: usize) -> Vec<u8> {
    let mut rec = data.to_vec();
    rec.resize(size, 0);
    rec
}

pub fn run(data: &[u8]) {
    let _ = Trigger::decode(data);
    if let Ok(t) = Trigger::decode(&sized(data, TRIGGER_SIZE)) {
        let again = t.encode().map(|rec| Trigger::decode(&rec));
        assert!(
            matches!(&again, Ok(Ok(u)) if *u == t),
            "trigger record does not round-trip: {t:?}"
        );
    }
    let _ = RunResult::decode(data);
    if let Ok(r) = RunResult::decode(&sized(data, RESULT_SIZE)) {
        let once = RunResult::decode(&r.encode());
        let twice = once.as_ref().map(|o| RunResult::decode(&o.encode()));
        assert!(
            matches!((&once, &twice), (Ok(a), Ok(Ok(b))) if a == b),
            "result record is not stable when re-encoded: {r:?}"
        );
    }
}

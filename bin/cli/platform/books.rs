//! The platform's books: the trigger log it claims from, the results log it records
//! every run in, and the watermark of finished triggers. The workers (dispatch.rs)
//! and the persistent handlers' feeders (persistent.rs) both settle runs here, so
//! neither needs the other.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard};

use woof::results::{Outcome, RunResult};
use woof::trigger_log::{TRIGGER_SIZE, Trigger};
use woof::{Namespace, Woof};

use super::output::Output;

#[derive(Default)]
/// What the workers share under the claim lock.
pub struct State {
    /// The next trigger to claim.
    pub next: u64,
    /// Finished triggers above the watermark (finished out of order).
    pub finished: BTreeSet<u64>,
    /// Running handler processes: trigger → process group.
    pub running: HashMap<u64, i32>,
    /// Triggers whose handlers were killed at shutdown (not finished: re-run later).
    pub killed: HashSet<u64>,
    /// Process groups that outlived their handler (children left behind).
    pub lingering: Vec<i32>,
}

pub struct Books {
    pub ns: Namespace,
    pub triggers: Woof,
    pub results: Woof,
    /// Handlers' stdout and stderr, labelled, to the platform's.
    pub output: Output,
    state: Mutex<State>,
    /// Signalled whenever a handler process finishes.
    pub idle: Condvar,
}

impl Books {
    pub fn new(ns: Namespace, triggers: Woof, results: Woof) -> std::io::Result<Books> {
        let next = triggers.consumed() + 1;
        Ok(Books {
            ns,
            triggers,
            results,
            output: Output::start()?,
            state: Mutex::new(State {
                next,
                ..State::default()
            }),
            idle: Condvar::new(),
        })
    }

    /// The claim lock.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn decode(&self, t: u64) -> Result<Trigger, String> {
        let mut rec = [0u8; TRIGGER_SIZE];
        self.triggers
            .get(t, &mut rec)
            .and_then(|_| Trigger::decode(&rec))
            .map_err(|e| format!("trigger {t}: {e}"))
    }

    /// Appends a result record, and reports abnormal outcomes on stderr.
    pub fn record(
        &self,
        t: u64,
        trig: &Trigger,
        start_ns: u64,
        duration_ns: u64,
        outcome: Outcome,
        detail: &str,
    ) {
        let abnormal = !matches!(
            outcome,
            Outcome::Started | Outcome::Exited(0) | Outcome::Delivered
        );
        let r = RunResult {
            trigger: t,
            woof: trig.woof.clone(),
            seqno: trig.seqno,
            handler: trig.handler.clone(),
            start_ns,
            duration_ns,
            outcome,
            cause: trig.cause.clone(),
            detail: detail.to_string(),
        };
        if abnormal {
            let what = match &r.outcome {
                Outcome::Exited(c) => format!("exited with status {c}"),
                Outcome::Signaled(s) => format!("killed by signal {s}"),
                o => o.name().to_string(),
            };
            let sep = if detail.is_empty() { "" } else { ": " };
            eprintln!(
                "woof-platform: {}[{}]: {what}{sep}{detail}",
                r.handler, r.seqno
            );
        }
        if let Err(e) = self.results.put(&r.encode()) {
            eprintln!("woof-platform: results: {e}");
        }
    }

    /// Marks trigger `t` done and advances the persisted watermark over every
    /// contiguous finished trigger.
    pub fn finish(&self, t: u64) {
        let mut st = self.lock();
        st.finished.insert(t);
        let mut done = self.triggers.consumed();
        while st.finished.remove(&(done + 1)) {
            done += 1;
        }
        if let Err(e) = self.triggers.set_consumed(done) {
            eprintln!("woof-platform: trigger log: {e}");
        }
    }
}

/// The trigger of a result whose trigger cannot be read back.
pub fn unknown() -> Trigger {
    Trigger {
        woof: String::new(),
        seqno: 0,
        handler: String::new(),
        put_time_ns: 0,
        cause: String::new(),
    }
}

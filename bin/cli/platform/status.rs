//! `woof-platform --status`: what the namespace's platform is doing, read from the
//! namespace itself (its lock, trigger log and results log), so it answers whether
//! or not a platform runs, and takes nothing from one that does.

use std::io::{self, Write};

use woof::results::Outcome;
use woof::trigger_log::{TRIGGER_SIZE, Trigger};
use woof::{Namespace, Woof};

use super::ledger;
use crate::exit::Failure;
use crate::quantity;

pub fn print(ns: &Namespace, dir: &std::path::Path) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    let mut say = |line: String| writeln!(out, "{line}").map_err(Failure::stdout);
    say(format!("namespace:  {}", dir.display()))?;
    say(match super::serving(ns) {
        Some(pid) => format!("platform:   serving (pid {pid})"),
        None => "platform:   not running (puts with -H wait for one)".to_string(),
    })?;
    let state = ns.state_dir();
    let Ok(triggers) = Woof::open_readonly(&state.join("triggers")) else {
        return say("triggers:   none yet".to_string());
    };
    let now = woof::now_ns();
    let (put, consumed) = (triggers.latest(), triggers.consumed());
    // No results log yet: no platform ever ran here, nothing ran.
    let runs = match Woof::open_readonly(&state.join("results")) {
        Ok(results) => ledger::above_watermark(&results, consumed),
        Err(_) => Vec::new(),
    };
    let running: Vec<_> = runs.iter().filter(|r| !r.outcome.is_final()).collect();
    let finished_above = runs.len() - running.len();
    let waiting = (put.saturating_sub(consumed) as usize).saturating_sub(runs.len());
    say(format!(
        "triggers:   {put} put, {} finished, {} running, {waiting} waiting",
        consumed as usize + finished_above,
        running.len()
    ))?;
    // The oldest waiting: the first trigger above the watermark with no record.
    let oldest = (consumed + 1..=put).find(|t| !runs.iter().any(|r| r.trigger == *t));
    if let Some(t) = oldest.filter(|_| waiting > 0) {
        let mut rec = [0u8; TRIGGER_SIZE];
        if triggers.get(t, &mut rec).is_ok()
            && let Ok(trig) = Trigger::decode(&rec)
        {
            say(format!(
                "waiting:    {}[{}] put {} ago, the oldest",
                trig.handler,
                trig.seqno,
                quantity::ago(now, trig.put_time_ns)
            ))?;
        }
    }
    for (i, r) in running.iter().enumerate() {
        let head = if i == 0 { "running:   " } else { "           " };
        let what = if r.outcome == Outcome::Started {
            "running"
        } else {
            r.outcome.name()
        };
        say(format!(
            "{head} {}[{}] {what} for {} (trigger {})",
            r.handler,
            r.seqno,
            quantity::ago(now, r.start_ns),
            r.trigger
        ))?;
    }
    Ok(())
}

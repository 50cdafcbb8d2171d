//! Progress of a long ingest on a terminal: elements put and the rate, on stderr.
//! Nothing at all when stderr is not a terminal (cron, pipes, tests).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How long an ingest runs before its meter appears: a short put never flashes one.
const DELAY: Duration = Duration::from_millis(500);

/// A spinner with a count and a rate, once the ingest has run for a moment.
pub struct Meter {
    /// When the ingest started; `None` when stderr is not a terminal.
    since: Option<Instant>,
    bar: Option<ProgressBar>,
}

impl Meter {
    pub fn for_stderr() -> Meter {
        Meter {
            since: std::io::stderr().is_terminal().then(Instant::now),
            bar: None,
        }
    }

    /// Elements `first..=last` are put so far (first is 0 before any).
    pub fn show(&mut self, first: u64, last: u64) {
        let Some(since) = self.since else { return };
        if first == 0 {
            return;
        }
        if self.bar.is_none() && since.elapsed() >= DELAY {
            self.bar = Some(new_bar(since));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(last - first + 1);
        }
    }

    /// Removes the meter (the final FIRST..LAST goes to stdout).
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The bar; its rate is the average since the ingest started (the bar itself only
/// starts later, so its own estimate would count the first elements as instant).
fn new_bar(since: Instant) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
    let style = ProgressStyle::with_template("{spinner} {human_pos} elements put, {rate} [{took}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "rate",
            move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let secs = since.elapsed().as_secs_f64().max(1e-3);
                let _ = write!(w, "{:.0}/s", s.pos() as f64 / secs);
            },
        )
        .with_key(
            "took",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}s", since.elapsed().as_secs());
            },
        );
    bar.set_style(style);
    // Keeps the spinner and elapsed time moving while the input is idle.
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

//! Progress of a long ingest on a terminal: elements put and the rate, on stderr.
//! Nothing at all when stderr is not a terminal (cron, pipes, tests).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// A spinner with a count and a rate, or nothing.
pub struct Meter {
    bar: Option<ProgressBar>,
}

impl Meter {
    /// Shown only when stderr is a terminal, and only once the ingest has run for a
    /// moment (a one-line put never flashes a bar).
    pub fn for_stderr() -> Meter {
        if !std::io::stderr().is_terminal() {
            return Meter { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        let style =
            ProgressStyle::with_template("{spinner} {human_pos} elements put, {rate} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", s.per_sec());
                });
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(250));
        Meter { bar: Some(bar) }
    }

    /// Elements `first..=last` are put so far (first is 0 before any).
    pub fn show(&self, first: u64, last: u64) {
        if let Some(bar) = &self.bar
            && first != 0
        {
            bar.set_position(last - first + 1);
        }
    }

    /// Removes the bar (the final FIRST..LAST goes to stdout).
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

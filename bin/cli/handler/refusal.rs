//! Why a run did not reach exec, typed: the outcome the platform records and the
//! error kind a one-shot shepherd exits with. Crosses a process boundary as one
//! status line only when a served shepherd reports it (`status_line`).

use woof::ErrorKind;
use woof::results::Outcome;

/// Why a run did not reach exec: what the platform records (failed, missing or
/// evicted), why as an error kind (a one-shot shepherd exits with its code), and
/// the detail.
#[derive(Debug)]
pub struct Refusal {
    pub outcome: Outcome,
    pub kind: ErrorKind,
    pub detail: String,
}

impl Refusal {
    /// The run failed: the handler is there, something else went wrong.
    pub fn failed(kind: ErrorKind, detail: impl Into<String>) -> Refusal {
        Refusal {
            outcome: Outcome::Failed,
            kind,
            detail: detail.into(),
        }
    }

    /// The handler is missing (or cannot be executed).
    pub fn missing(kind: ErrorKind, detail: impl Into<String>) -> Refusal {
        Refusal {
            outcome: Outcome::Missing,
            kind,
            detail: detail.into(),
        }
    }

    /// The exit code of a one-shot shepherd that refused.
    pub fn code(&self) -> u8 {
        self.kind.exit_code() as u8
    }

    /// The line a served shepherd reports: `KIND [OLDEST] DETAIL`.
    pub fn status_line(&self) -> String {
        let detail = self.detail.replace('\n', " ");
        match self.outcome {
            Outcome::Evicted { oldest } => format!("evicted {oldest} {detail}\n"),
            _ => format!("{} {detail}\n", self.outcome.name()),
        }
    }

    /// What the platform records from a served shepherd's `status_line`.
    pub fn parse_status_line(line: &str) -> (Outcome, String) {
        let line = line.trim_end();
        let (kind, detail) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "evicted" => {
                let (oldest, rest) = detail.split_once(' ').unwrap_or(("0", detail));
                let oldest = oldest.parse().unwrap_or(0);
                (Outcome::Evicted { oldest }, rest.to_string())
            }
            "missing" => (Outcome::Missing, detail.to_string()),
            _ => (Outcome::Failed, detail.to_string()),
        }
    }
}

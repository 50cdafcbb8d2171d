//! The one-line job a served shepherd reads: `WOOF SEQNO HANDLER TRIGGER\n`. Names
//! are plain names (no spaces or newlines can occur), and are validated again here.

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub woof: String,
    pub seqno: u64,
    pub handler: String,
    /// The trigger seqno (0: run by hand).
    pub trigger: u64,
}

impl Job {
    pub fn line(&self) -> String {
        format!(
            "{} {} {} {}\n",
            self.woof, self.seqno, self.handler, self.trigger
        )
    }

    pub fn parse(line: &str) -> Result<Job, String> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(' ').collect();
        let [woof, seqno, handler, trigger] = f[..] else {
            return Err(format!("expected 4 fields, got {}", f.len()));
        };
        woof::name::validate("woof name", woof).map_err(|e| e.to_string())?;
        woof::name::validate("handler name", handler).map_err(|e| e.to_string())?;
        let num = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("'{s}' is not a number"))
        };
        Ok(Job {
            woof: woof.into(),
            seqno: num(seqno)?,
            handler: handler.into(),
            trigger: num(trigger)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_lines_round_trip_and_reject_paths() {
        let j = Job {
            woof: "hello".into(),
            seqno: 3,
            handler: "hw".into(),
            trigger: 9,
        };
        assert_eq!(Job::parse(&j.line()), Ok(j));
        assert!(Job::parse("hello 3 ../x 9\n").is_err());
        assert!(Job::parse("hello x hw 9\n").is_err());
        assert!(Job::parse("hello 3 hw\n").is_err());
    }
}

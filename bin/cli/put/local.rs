//! A stream of puts into a woof of this host: one `PutRun`, synced as the woof's
//! durability says (batch: at least every --commit-interval, and before waiting on
//! a stalled input).

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use woof::Durability;
use woof::put_run::PutRun;

use crate::exit::Failure;
use crate::progress::Meter;

use super::elements::Sink;

pub(super) struct LocalSink<'a> {
    pub run: PutRun<'a>,
    durability: Durability,
    commit_interval: Duration,
    last_sync: Instant,
    meter: Meter,
}

impl<'a> LocalSink<'a> {
    pub fn new(run: PutRun<'a>, durability: Durability, commit_interval: Duration) -> Self {
        LocalSink {
            run,
            durability,
            commit_interval,
            last_sync: Instant::now(),
            meter: Meter::for_stderr(),
        }
    }

    fn sync(&mut self) -> Result<(), Failure> {
        self.run.sync()?;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// The end of the stream: publish, and sync unless durability is none.
    pub fn finish(&mut self) -> Result<(), Failure> {
        self.meter.done();
        self.run.finish(self.durability)?;
        Ok(())
    }
}

impl Sink for LocalSink<'_> {
    fn before_read(&mut self) -> Result<(), Failure> {
        if self.durability == Durability::Batch && self.run.unsynced() {
            // Bounded delay: if input stalls, sync what we have before waiting on it.
            let due = self
                .commit_interval
                .saturating_sub(self.last_sync.elapsed());
            if due.is_zero() || !readable_within(due) {
                self.sync()?;
            }
        }
        Ok(())
    }

    fn element(&mut self, data: &[u8]) -> Result<(), Failure> {
        self.run.append(data)?;
        Ok(())
    }

    fn arrived(&mut self) -> Result<(), Failure> {
        // Publish and unlock before syncing or reading more.
        self.run.publish();
        if let Some((first, last)) = self.run.range() {
            self.meter.show(first, last);
        }
        match self.durability {
            Durability::Always => self.sync(),
            Durability::Batch if self.last_sync.elapsed() >= self.commit_interval => self.sync(),
            _ => Ok(()),
        }
    }
}

/// Whether stdin becomes readable within `timeout`.
fn readable_within(timeout: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdin = io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let ms =
        PollTimeout::try_from(timeout.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
    matches!(poll(&mut fds, ms), Ok(n) if n > 0)
}

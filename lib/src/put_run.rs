//! The write path: a run of puts into one woof, with or without a trigger per
//! element, that knows its first..last and syncs what it has not synced yet as one
//! range. woof-put (local streams and single puts) and woof-proxy (remote puts of
//! both protocols) put through it, so a put means the same wherever it comes from.

use crate::error::Result;
use crate::format::Durability;
pub use crate::trigger_log::Triggered;
use crate::trigger_log::put_triggered;
use crate::woof::{Woof, Writer};

pub struct PutRun<'a> {
    woof: &'a Woof,
    /// The woof's name as the user gave it, for error contexts.
    name: &'a str,
    trigger: Option<Triggered<'a>>,
    /// Held across a group of untriggered appends (one lock per group).
    writer: Option<Writer<'a>>,
    first: u64,
    last: u64,
    /// Elements up to here are synced (or were there before this run).
    synced: u64,
    /// Triggers of this run not yet synced: first and last (0: none).
    trig_unsynced: u64,
    trig_last: u64,
}

impl<'a> PutRun<'a> {
    pub fn new(woof: &'a Woof, name: &'a str, trigger: Option<Triggered<'a>>) -> PutRun<'a> {
        PutRun {
            woof,
            name,
            trigger,
            writer: None,
            first: 0,
            last: 0,
            synced: woof.latest(),
            trig_unsynced: 0,
            trig_last: 0,
        }
    }

    /// Appends one element (exactly the element size). Untriggered appends share
    /// the writers' lock until `publish`; a triggered one is published with its
    /// trigger at once.
    pub fn append(&mut self, data: &[u8]) -> Result<u64> {
        let seqno = match &self.trigger {
            Some(t) => {
                let (seqno, trig) = put_triggered(
                    t.log,
                    self.woof,
                    self.name,
                    data,
                    t.handler,
                    t.cause,
                    Durability::None,
                )
                .map_err(|e| e.within(self.name))?;
                if self.trig_unsynced == 0 {
                    self.trig_unsynced = trig;
                }
                self.trig_last = trig;
                seqno
            }
            None => {
                let w = match &mut self.writer {
                    Some(w) => w,
                    None => self
                        .writer
                        .insert(self.woof.writer().map_err(|e| e.within(self.name))?),
                };
                w.append(data).map_err(|e| e.within(self.name))?
            }
        };
        if self.first == 0 {
            self.first = seqno;
        }
        self.last = seqno;
        Ok(seqno)
    }

    /// Makes the appended elements visible and releases the writers' lock.
    pub fn publish(&mut self) {
        self.writer = None;
    }

    /// Whether something appended is not synced yet.
    pub fn unsynced(&self) -> bool {
        self.last > self.synced || self.trig_unsynced != 0
    }

    /// Publishes, then writes what this run appended since the last sync (elements,
    /// then their triggers) to stable storage.
    pub fn sync(&mut self) -> Result<()> {
        self.publish();
        if self.last > self.synced {
            self.woof
                .sync(self.synced + 1, self.last)
                .map_err(|e| e.within(self.name))?;
            self.synced = self.last;
        }
        if let Some(t) = &self.trigger
            && self.trig_unsynced != 0
        {
            t.log
                .sync(self.trig_unsynced, self.trig_last)
                .map_err(|e| e.within(self.name))?;
            self.trig_unsynced = 0;
        }
        Ok(())
    }

    /// Publishes, and syncs unless `durability` is none.
    pub fn finish(&mut self, durability: Durability) -> Result<()> {
        self.publish();
        match durability {
            Durability::None => Ok(()),
            Durability::Batch | Durability::Always => self.sync(),
        }
    }

    /// FIRST..LAST of what this run put, if anything.
    pub fn range(&self) -> Option<(u64, u64)> {
        (self.first != 0).then_some((self.first, self.last))
    }
}

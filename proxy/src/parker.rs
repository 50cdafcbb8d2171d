//! Follows that wait, parked on their woofs: a few threads answer them all.
//!
//! A waiting follow costs a few hundred bytes here, not a thread: a parker
//! registers as a waiter on each followed woof (so its writers wake the futex, in
//! this process or any other), sleeps on all of them and its bell at once
//! (futex_waitv), and on a put answers every follow of that woof — the reply built
//! once per distinct (after, max). A woof is placed on a parker watching fewer
//! than `wake::WATCH_MAX` woofs (what one futex_waitv takes), another parker
//! starting when all are full, up to `MAX_PARKERS`; beyond that, and for
//! read-only woofs, woofs are re-checked every `wake::WATCH_RECHECK` (measured,
//! each woof followed by a `woof-tail -f`, proxy CPU: 1 000 woofs 20 % with four
//! parkers placed by hash, 5.3 % placed like this on eight; 100 woofs 0.4 %; see
//! `MAX_PARKERS` for thousands).
//! Past `--followers` parked at once, a follow is answered "busy" (the client
//! retries), never left hanging.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use woof::Woof;
use woof::wake::{self, Bell};

use crate::ops::{self, Wait};
use crate::router::Inbox;

/// A follow waiting for its woof, with where its reply goes.
pub struct Parked {
    /// The reply's header for the dispatcher: endpoint, connection, envelope.
    pub head: Vec<Vec<u8>>,
    pub wait: Wait,
    pub deadline: Instant,
}

/// Most parker threads: 64 × 127 = 8 128 woofs waited on by futex. Parkers start
/// as distinct followed woofs need them (and stay); up to ~1 000 such woofs the
/// proxy stays within 16 threads. Beyond 8 128 woofs, re-checks: measured with
/// 8 parkers for 3 000 woofs, their 5 ms re-checks and futex_waitv re-arms cost
/// 70 % of a CPU while nothing was put; 24 parkers sleep through it.
pub const MAX_PARKERS: usize = 64;

/// Starts a parker's thread; false when it could not.
pub type StartParker = Box<dyn Fn(Arc<Parker>) -> bool + Send>;

/// Which parker watches which woof, and how many each watches.
#[derive(Default)]
struct Placement {
    of: HashMap<PathBuf, usize>,
    woofs: Vec<usize>,
}

/// The parkers of a proxy (started as woofs need them), and the count of follows
/// parked on all of them.
pub struct Parkers {
    /// Taken after `placement`, never before.
    shards: Mutex<Vec<Arc<Parker>>>,
    placement: Arc<Mutex<Placement>>,
    parked: Arc<AtomicUsize>,
    limit: usize,
    start: StartParker,
}

impl Parkers {
    pub fn new(limit: usize, start: StartParker) -> Parkers {
        Parkers {
            shards: Mutex::new(Vec::new()),
            placement: Arc::default(),
            parked: Arc::new(AtomicUsize::new(0)),
            limit,
            start,
        }
    }

    /// Parks a follow on the parker that watches its woof, or on one with room
    /// (starting one when all are full), or gives it back when `limit` follows
    /// are parked.
    pub fn park(&self, p: Parked) -> Result<(), Box<Parked>> {
        if self.parked.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.parked.fetch_sub(1, Ordering::SeqCst);
            return Err(Box::new(p));
        }
        let (Ok(mut placed), Ok(mut shards)) = (self.placement.lock(), self.shards.lock()) else {
            self.parked.fetch_sub(1, Ordering::SeqCst);
            return Err(Box::new(p));
        };
        let path = p.wait.woof.path();
        let index = match placed.of.get(path) {
            Some(&i) => i,
            None => {
                let roomy = (0..shards.len()).find(|&i| placed.woofs[i] < wake::WATCH_MAX);
                let i = match roomy {
                    Some(i) => Some(i),
                    None if shards.len() < MAX_PARKERS => self.start_one(&mut placed, &mut shards),
                    None => None,
                };
                // All full: the least busy one re-checks the extra woofs.
                let Some(i) = i.or_else(|| (0..shards.len()).min_by_key(|&i| placed.woofs[i]))
                else {
                    self.parked.fetch_sub(1, Ordering::SeqCst);
                    return Err(Box::new(p));
                };
                placed.of.insert(path.to_path_buf(), i);
                placed.woofs[i] += 1;
                i
            }
        };
        let parker = Arc::clone(&shards[index]);
        drop((placed, shards));
        parker.park(p).inspect_err(|_| {
            self.parked.fetch_sub(1, Ordering::SeqCst);
        })
    }

    fn start_one(&self, placed: &mut Placement, shards: &mut Vec<Arc<Parker>>) -> Option<usize> {
        let index = shards.len();
        let parker = Arc::new(Parker {
            index,
            inbox: Mutex::new(Vec::new()),
            bell: Bell::default(),
            parked: Arc::clone(&self.parked),
            placement: Arc::clone(&self.placement),
        });
        if !(self.start)(Arc::clone(&parker)) {
            return None;
        }
        shards.push(parker);
        placed.woofs.push(0);
        Some(index)
    }
}

pub struct Parker {
    index: usize,
    inbox: Mutex<Vec<Parked>>,
    bell: Bell,
    /// Follows parked on every parker of the proxy (counted by `Parkers::park`).
    parked: Arc<AtomicUsize>,
    placement: Arc<Mutex<Placement>>,
}

/// A woof with follows parked on it.
struct Watched {
    woof: Arc<Woof>,
    /// Whether its writers wake us (`Woof::watch_start`).
    registered: bool,
    /// The wake word read before `latest` was last checked.
    word: u32,
    follows: Vec<Parked>,
}

impl Parker {
    /// Takes a follow (already counted) and rings the bell; gives it back when the
    /// inbox is poisoned (this parker's thread is gone).
    fn park(&self, p: Parked) -> Result<(), Box<Parked>> {
        let Ok(mut inbox) = self.inbox.lock() else {
            return Err(Box::new(p));
        };
        inbox.push(p);
        drop(inbox);
        self.bell.ring();
        Ok(())
    }

    /// Answers parked follows for ever, sending each reply (header first) to the
    /// dispatcher's inbox.
    pub fn run(&self, push: &Inbox) {
        let mut watched: HashMap<*const Woof, Watched> = HashMap::new();
        loop {
            // The bell's word before the inbox: a follow parked after this is
            // heard as a ring, not slept through.
            let bell = self.bell.word();
            let new = match self.inbox.lock() {
                Ok(mut inbox) => std::mem::take(&mut *inbox),
                Err(_) => return,
            };
            for p in new {
                let key = Arc::as_ptr(&p.wait.woof);
                watched
                    .entry(key)
                    .or_insert_with(|| Watched {
                        registered: p.wait.woof.watch_start(),
                        woof: Arc::clone(&p.wait.woof),
                        word: 0,
                        follows: Vec::new(),
                    })
                    .follows
                    .push(p);
            }
            let now = Instant::now();
            let mut next = None::<Instant>;
            let mut recheck = watched.len() > wake::WATCH_MAX;
            watched.retain(|_, w| {
                w.word = w.woof.wake_word();
                let answered = self.answer_ready(w, now, push);
                self.parked.fetch_sub(answered, Ordering::SeqCst);
                if w.follows.is_empty() {
                    if w.registered {
                        w.woof.watch_end();
                    }
                    self.unplace(w.woof.path());
                    return false;
                }
                recheck |= !w.registered;
                let soonest = w.follows.iter().map(|p| p.deadline).min();
                next = match (next, soonest) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                true
            });
            let mut timeout = next.map(|d| d.saturating_duration_since(Instant::now()));
            if recheck {
                timeout = Some(timeout.map_or(wake::WATCH_RECHECK, |t| t.min(wake::WATCH_RECHECK)));
            }
            let words: Vec<(&Woof, u32)> = watched.values().map(|w| (&*w.woof, w.word)).collect();
            wake::wait_any(&words, (&self.bell, bell), timeout);
        }
    }

    /// This parker no longer watches the woof at `path`: the next follow of it may
    /// go to any parker with room. (A follow already on its way here is watched
    /// again by this one: placement only spreads the load.)
    fn unplace(&self, path: &std::path::Path) {
        if let Ok(mut placed) = self.placement.lock()
            && placed.of.get(path) == Some(&self.index)
        {
            placed.of.remove(path);
            placed.woofs[self.index] -= 1;
        }
    }

    /// Answers the follows of `w` that have something to read or whose time is up;
    /// returns how many.
    fn answer_ready(&self, w: &mut Watched, now: Instant, push: &Inbox) -> usize {
        let latest = w.woof.latest();
        if w.follows
            .iter()
            .all(|p| p.wait.after >= latest && p.deadline > now)
        {
            return 0;
        }
        // Most followers of a woof are caught up to the same seqno: one reply each.
        let mut built: HashMap<(u64, u64), Vec<Vec<u8>>> = HashMap::new();
        let before = w.follows.len();
        w.follows.retain_mut(|p| {
            if p.wait.after < latest || p.deadline <= now {
                let reply = built
                    .entry((p.wait.after, p.wait.max))
                    .or_insert_with(|| ops::follow_reply(&w.woof, p.wait.after, p.wait.max));
                let mut out = std::mem::take(&mut p.head);
                out.extend(reply.iter().cloned());
                push.send(out);
                return false;
            }
            true
        });
        before - w.follows.len()
    }
}

//! Follows that wait, parked on their woofs: a few threads answer them all.
//!
//! A waiting follow costs a few hundred bytes here, not a thread: a parker
//! registers as a waiter on each followed woof (so its writers wake the futex, in
//! this process or any other), sleeps on all of them and its bell at once
//! (futex_waitv), and on a put answers every follow of that woof — the reply built
//! once per distinct (after, max). Woofs are spread over `PARKERS` parkers by
//! name; woofs beyond what one futex_waitv takes (`wake::WATCH_MAX` a parker) and
//! read-only ones are re-checked every `wake::WATCH_RECHECK` instead (measured,
//! 300 woofs each followed by a `woof-tail -f`: 5 % of a CPU with one parker,
//! 1.5 % with four; 100 woofs: 0.4 %). Past `--followers` parked at once, a follow is answered "busy" (the
//! client retries), never left hanging.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use woof::Woof;
use woof::wake::{self, Bell};

use crate::ops::{self, Wait};

/// A follow waiting for its woof, with where its reply goes.
pub struct Parked {
    /// The reply's header for the dispatcher: endpoint, connection, envelope.
    pub head: Vec<Vec<u8>>,
    pub wait: Wait,
    pub deadline: Instant,
}

/// Parker threads: with 127 woofs on the futex each, up to 508 followed woofs
/// are waited on without re-checks.
pub const PARKERS: usize = 4;

/// The parkers of a proxy, and the count of follows parked on all of them.
pub struct Parkers {
    shards: Vec<Arc<Parker>>,
}

impl Parkers {
    pub fn new(limit: usize) -> Parkers {
        let parked = Arc::new(AtomicUsize::new(0));
        let shards = (0..PARKERS)
            .map(|_| {
                Arc::new(Parker {
                    inbox: Mutex::new(Vec::new()),
                    bell: Bell::default(),
                    parked: Arc::clone(&parked),
                    limit,
                })
            })
            .collect();
        Parkers { shards }
    }

    pub fn shards(&self) -> &[Arc<Parker>] {
        &self.shards
    }

    /// Parks a follow on the parker of its woof (by path, so a woof's follows
    /// share one watch), or gives it back when `limit` follows are parked.
    pub fn park(&self, p: Parked) -> Result<(), Box<Parked>> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        p.wait.woof.path().hash(&mut h);
        self.shards[h.finish() as usize % self.shards.len()].park(p)
    }
}

pub struct Parker {
    inbox: Mutex<Vec<Parked>>,
    bell: Bell,
    /// Follows parked on every parker of the proxy.
    parked: Arc<AtomicUsize>,
    limit: usize,
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
    /// Parks a follow, or gives it back when `limit` follows are parked already.
    fn park(&self, p: Parked) -> Result<(), Box<Parked>> {
        if self.parked.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.parked.fetch_sub(1, Ordering::SeqCst);
            return Err(Box::new(p));
        }
        match self.inbox.lock() {
            Ok(mut inbox) => inbox.push(p),
            Err(_) => {
                self.parked.fetch_sub(1, Ordering::SeqCst);
                return Err(Box::new(p));
            }
        }
        self.bell.ring();
        Ok(())
    }

    /// Answers parked follows for ever, sending each reply (header first) on `push`.
    pub fn run(&self, push: &zmq::Socket) {
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

    /// Answers the follows of `w` that have something to read or whose time is up;
    /// returns how many.
    fn answer_ready(&self, w: &mut Watched, now: Instant, push: &zmq::Socket) -> usize {
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
                // Only fails when the dispatcher is gone, and the process with it.
                let _ = push.send_multipart(out, 0);
                return false;
            }
            true
        });
        before - w.follows.len()
    }
}

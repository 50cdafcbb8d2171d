//! Waking followers: a futex on a header word, with a waiter count so that a put
//! pays no syscall when nobody waits (DESIGN §2; FORMAT.md, "Waking").

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::format::{OFF_PUBLISHED, OFF_WAITERS, OFF_WAKE};
use crate::map::Map;

/// Spins before parking: back-to-back puts are caught without a futex round trip.
/// Short on purpose (a few µs): on a 2-vCPU machine a longer spin steals the CPU the
/// writer or the reader of our output needs (2 000 rounds measured 44 µs p50 follow
/// latency, 100 rounds 30 µs).
const SPIN_ROUNDS: u32 = 100;
/// A read-only follower cannot register as a waiter, so it re-checks this often.
const READ_ONLY_RECHECK: Duration = Duration::from_millis(5);

/// Called by a writer after storing `published = latest`.
pub(crate) fn notify(map: &Map, latest: u64) {
    map.u32_at(OFF_WAKE).store(latest as u32, Ordering::SeqCst);
    // SeqCst store above / load here pairs with the waiter's increment then load:
    // either we see its count, or it sees our new word (and does not sleep).
    if map.u32_at(OFF_WAITERS).load(Ordering::SeqCst) > 0 {
        map.futex_wake_all(OFF_WAKE);
    }
}

/// Wakes every follower parked on this woof without publishing anything (they
/// return from `wait_after` early and re-check their own conditions).
pub(crate) fn wake_all(map: &Map) {
    map.futex_wake_all(OFF_WAKE);
}

/// Blocks until `published > after`, the timeout passes, or `wake_all` is called;
/// returns `published` (which may still be ≤ `after`: callers loop).
pub(crate) fn wait_after(map: &Map, after: u64, timeout: Option<Duration>) -> u64 {
    let published = map.u64_at(OFF_PUBLISHED);
    for _ in 0..SPIN_ROUNDS {
        let latest = published.load(Ordering::Acquire);
        if latest > after {
            return latest;
        }
        std::hint::spin_loop();
    }
    sleep_after(map, after, timeout)
}

/// As `wait_after`, without spinning first: for a caller that has just woken
/// another process, which the kernel then queues on this CPU expecting the waker
/// to sleep (a pipe's "sync" wake-up) — a follower that has written to its reader.
/// Spinning would keep that reader off the CPU: with the spin, `woof-tail -f`'s
/// put → print latency measured 3–5 µs more (p50, 2 × 300 interleaved samples).
pub(crate) fn sleep_after(map: &Map, after: u64, timeout: Option<Duration>) -> u64 {
    let published = map.u64_at(OFF_PUBLISHED);
    if !map.writable() {
        let nap = timeout.map_or(READ_ONLY_RECHECK, |r| r.min(READ_ONLY_RECHECK));
        let word = map.u32_at(OFF_WAKE).load(Ordering::SeqCst);
        if published.load(Ordering::SeqCst) <= after {
            map.futex_wait(OFF_WAKE, word, Some(nap));
        }
        return published.load(Ordering::Acquire);
    }
    let waiters = map.u32_at(OFF_WAITERS);
    waiters.fetch_add(1, Ordering::SeqCst);
    let word = map.u32_at(OFF_WAKE).load(Ordering::SeqCst);
    if published.load(Ordering::SeqCst) <= after {
        map.futex_wait(OFF_WAKE, word, timeout);
    }
    waiters.fetch_sub(1, Ordering::SeqCst);
    published.load(Ordering::Acquire)
}

/// A word one thread waits on beside woofs (`wait_any`), and others ring to wake it:
/// woof-proxy's follow parker hears "new follows" through it.
#[derive(Default)]
pub struct Bell(AtomicU32);

impl Bell {
    /// The word now: read before looking for work, then given to `wait_any`, so a
    /// ring in between is not slept through.
    pub fn word(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }

    pub fn ring(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        Map::futex_wake_word(&self.0);
    }
}

/// Woofs one thread watches at once by futex (the bell takes one more word).
pub const WATCH_MAX: usize = crate::map::WAIT_ANY_MAX - 1;

/// Sleeps until a watched woof publishes (its wake word moves past the one given),
/// the bell rings, or `timeout` passes. Each woof comes with the `wake_word` read
/// before its `latest` was checked; only the first `WATCH_MAX` are waited on.
pub fn wait_any(woofs: &[(&crate::Woof, u32)], bell: (&Bell, u32), timeout: Option<Duration>) {
    let mut words: Vec<(&AtomicU32, u32)> = Vec::with_capacity(woofs.len().min(WATCH_MAX) + 1);
    words.push((&bell.0.0, bell.1));
    for (w, word) in woofs.iter().take(WATCH_MAX) {
        words.push((w.map().u32_at(OFF_WAKE), *word));
    }
    Map::futex_wait_any(&words, timeout);
}

/// Counts this process as a waiter on the woof, so its writers wake the futex
/// (false on a read-only mapping: the caller re-checks every `READ_ONLY_RECHECK`).
pub(crate) fn watch_start(map: &Map) -> bool {
    if !map.writable() {
        return false;
    }
    map.u32_at(OFF_WAITERS).fetch_add(1, Ordering::SeqCst);
    true
}

pub(crate) fn watch_end(map: &Map) {
    if map.writable() {
        map.u32_at(OFF_WAITERS).fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn wake_word(map: &Map) -> u32 {
    map.u32_at(OFF_WAKE).load(Ordering::SeqCst)
}

/// How often a watcher re-checks a woof it could not register on.
pub const WATCH_RECHECK: Duration = READ_ONLY_RECHECK;

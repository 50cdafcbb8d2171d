//! Timeouts: one thread holds every running handler's deadline and kills the
//! process group of any that passes it. Waiting for a child stays a plain blocking
//! wait; nothing polls.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

#[derive(Default)]
struct Deadlines {
    next_id: u64,
    /// (deadline, id) → (process group, set when it was killed)
    by_time: BTreeMap<(Instant, u64), (i32, Arc<AtomicBool>)>,
}

#[derive(Default)]
pub struct Timer {
    inner: Mutex<Deadlines>,
    cv: Condvar,
}

/// A registered deadline; `fired` tells whether the timer killed the group.
pub struct Armed {
    key: (Instant, u64),
    pub fired: Arc<AtomicBool>,
}

impl Timer {
    pub fn start() -> Arc<Timer> {
        let t = Arc::new(Timer::default());
        let t2 = Arc::clone(&t);
        let _ = std::thread::Builder::new()
            .name("timer".into())
            .spawn(move || t2.run());
        t
    }

    pub fn arm(&self, deadline: Instant, pgid: i32) -> Armed {
        let fired = Arc::new(AtomicBool::new(false));
        let mut d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        d.next_id += 1;
        let key = (deadline, d.next_id);
        // The timer thread only needs waking when this is now the first deadline
        // (with one --timeout for all, a new deadline is never before the others).
        let first = d.by_time.first_key_value().is_none_or(|(k, _)| key < *k);
        d.by_time.insert(key, (pgid, Arc::clone(&fired)));
        if first {
            self.cv.notify_one();
        }
        Armed { key, fired }
    }

    pub fn disarm(&self, armed: &Armed) {
        let mut d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        d.by_time.remove(&armed.key);
    }

    fn run(&self) {
        let mut d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            while let Some((&key, _)) = d.by_time.first_key_value() {
                if key.0 > now {
                    break;
                }
                if let Some((pgid, fired)) = d.by_time.remove(&key) {
                    fired.store(true, Ordering::SeqCst);
                    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                }
            }
            d = match d.by_time.first_key_value().map(|(k, _)| k.0) {
                Some(at) => {
                    let wait = at.saturating_duration_since(Instant::now());
                    self.cv
                        .wait_timeout(d, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => self.cv.wait(d).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }
}

//! Deterministic crash points for crash tests (redb's approach): with the
//! `fault-injection` feature, `WOOF_FAULT=NAME[@N]` makes the N-th (default first)
//! pass through point NAME abort the process on the spot, holding whatever it holds;
//! `WOOF_FAULT=NAME[@N]:stop` stops it there instead (SIGSTOP: a writer frozen while
//! holding the lock). Without the feature, every point compiles to nothing.

/// The named points, in the order a put passes them (see FORMAT.md, publish protocol).
pub const POINTS: &[&str] = &[
    "put:locked",
    "put:slot-invalidated",
    "put:data-written",
    "put:slot-stamped",
    "put:published",
];

/// The points a forwarded batch passes at its destination, after the put's own:
/// the journal written, then the batch published (see FORMAT.md, "Origins").
pub const FORWARD_POINTS: &[&str] = &["fwd:journaled", "fwd:published"];

#[cfg(feature = "fault-injection")]
pub(crate) fn point(name: &str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static TARGET: OnceLock<Option<(String, u64, bool)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let target = TARGET.get_or_init(|| {
        let spec = std::env::var("WOOF_FAULT").ok()?;
        let (spec, stop) = match spec.strip_suffix(":stop") {
            Some(s) => (s.to_string(), true),
            None => (spec, false),
        };
        let (n, count) = match spec.split_once('@') {
            Some((n, c)) => (n.to_string(), c.parse().unwrap_or(1)),
            None => (spec, 1),
        };
        Some((n, count, stop))
    });
    if let Some((n, count, stop)) = target
        && n == name
        && HITS.fetch_add(1, Ordering::Relaxed) + 1 == *count
    {
        if *stop {
            crate::map::stop_self();
        } else {
            std::process::abort();
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_name: &str) {}

//! Counter elements for the forwarding tests: element `i` is its number, zero-padded
//! to 8 bytes, so a destination read back says exactly what was lost, repeated or
//! reordered on the way.

use std::time::Duration;

use super::*;

/// Element `i`: its number, zero-padded to 8 bytes.
pub fn counter(i: u64) -> Vec<u8> {
    format!("{i:08}").into_bytes()
}

/// Puts counters `from..=to` into `name` in one batch.
pub fn put_counters(ns: &Ns, name: &str, from: u64, to: u64) {
    let data: Vec<u8> = (from..=to).flat_map(counter).collect();
    ns.put_batch(name, &data);
}

/// The counters the woof holds, oldest first.
pub fn counters(ns: &Ns, name: &str) -> Vec<u64> {
    if ns.latest(name) == 0 {
        return Vec::new();
    }
    let from = format!("{}..", ns.info_field(name, "oldest"));
    let raw = ok_stdout(ns.cmd("woof-get").args([name, &from, "--format", "raw"]));
    raw.chunks(8)
        .map(|c| String::from_utf8_lossy(c).parse().unwrap_or(u64::MAX))
        .collect()
}

/// Asserts the woof holds exactly counters `from..=to`, in order; the failure says
/// how many were lost and how many duplicated.
pub fn holds_counters(ns: &Ns, name: &str, from: u64, to: u64) {
    let got = counters(ns, name);
    let want: Vec<u64> = (from..=to).collect();
    if got != want {
        let dups =
            got.len() as i64 - got.iter().collect::<std::collections::BTreeSet<_>>().len() as i64;
        let lost = want.iter().filter(|w| !got.contains(w)).count();
        panic!(
            "{name} holds {} elements ({lost} lost, {dups} duplicated), want {from}..={to}: {:?}",
            got.len(),
            &got[..got.len().min(40)]
        );
    }
}

/// `rounds` times: put a random run of counters after `next` into `load` of `edge`,
/// start `woof-forward load DEST ARGS`, SIGKILL it after a random pause of up to
/// `pause_us`. Returns the next counter to put.
pub fn kill_forwarders(
    edge: &Ns,
    dest: &str,
    args: &[&str],
    rounds: usize,
    pause_us: u64,
    rng: &mut Rng,
    mut next: u64,
) -> u64 {
    for _ in 0..rounds {
        let n = 1 + rng.next() % 40;
        put_counters(edge, "load", next, next + n - 1);
        next += n;
        let mut cmd = edge.std_cmd("woof-forward");
        cmd.args(["load", dest]).args(args);
        let mut fwd = Running::spawn(cmd);
        std::thread::sleep(Duration::from_micros(rng.next() % pause_us));
        fwd.kill_and_drain();
    }
    next
}

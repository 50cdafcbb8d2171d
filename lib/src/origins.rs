//! Forwarded puts: a woof's origins table and its journal (FORMAT.md, "Origins").
//!
//! woof-forward sends a source woof's elements to a destination at least once; the
//! destination appends each exactly once. Per origin it keeps the highest source
//! seqno appended (the mark), updated in the same lock as the append; a batch sent
//! again after a lost acknowledgement finds its elements at or below the mark and is
//! acknowledged without appending. The journal covers the one window where a
//! process crash could split the two (between publish and the entry's update).

use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::format::{
    Durability, MAX_ORIGINS, OFF_FWD_JOURNAL, OFF_ORIGINS, OFF_PUBLISHED, ORIGIN_ENTRY,
};
use crate::map::Map;
use crate::trigger_log::{Triggered, put_triggered_by};
use crate::woof::{Woof, Writer};

/// Who forwards: an origin (forwarder host and source path) owned by a client key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginId {
    key: [u8; 16],
    owner: u64,
}

impl OriginId {
    /// `origin` names the source (e.g. `HOST:/var/lib/woof/edge/load`); `owner` is
    /// the client key name the destination's proxy authenticated, None without keys.
    pub fn new(origin: &str, owner: Option<&str>) -> OriginId {
        let mut key = [0u8; 16];
        key.copy_from_slice(&Sha256::digest(origin.as_bytes())[..16]);
        if key == [0u8; 16] {
            key[0] = 1; // all zeros marks a free entry
        }
        let owner = owner.map_or(0, |o| {
            let d = Sha256::digest(o.as_bytes());
            u64::from_le_bytes(d[..8].try_into().unwrap_or_default()).max(1)
        });
        OriginId { key, owner }
    }
}

/// What a destination knows of an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OriginState {
    /// The source's incarnation the mark counts in (0: none yet).
    pub incarnation: u64,
    /// Every source seqno ≤ mark is appended or counted in `gaps`.
    pub mark: u64,
    /// Source elements declared lost (overwritten at the source before sending).
    pub gaps: u64,
}

/// A batch of forwarded elements: `data` holds whole elements, the first with
/// source seqno `first`, each with its source put time in `times`.
pub struct Batch<'a> {
    pub origin: OriginId,
    pub incarnation: u64,
    pub first: u64,
    /// Elements between the mark and `first` were overwritten at the source before
    /// they could be sent: count them as a gap instead of refusing the batch.
    pub lost: bool,
    /// The source was re-created (a new incarnation): start its mark afresh.
    pub reset: bool,
    pub data: &'a [u8],
    pub times: &'a [u64],
}

/// What a forwarded batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The origin's entry afterwards.
    pub state: OriginState,
    pub appended: u64,
    pub duplicates: u64,
    /// Destination seqnos of what was appended (0, 0: nothing).
    pub first_dest: u64,
    pub last_dest: u64,
}

// Entry fields (FORMAT.md, "Origins").
const E_KEY: usize = 0;
const E_OWNER: usize = 16;
const E_INCARNATION: usize = 24;
const E_MARK: usize = 32;
const E_GAPS: usize = 40;
// Journal fields.
const J_ENTRY: usize = 0;
const J_INCARNATION: usize = 8;
const J_MARK: usize = 16;
const J_PUBLISHED: usize = 24;
const J_GAPS: usize = 32;

fn entry_off(i: usize) -> usize {
    OFF_ORIGINS + i * ORIGIN_ENTRY
}

fn load(map: &Map, off: usize) -> u64 {
    map.u64_at(off).load(Ordering::Acquire)
}

fn store(map: &Map, off: usize, v: u64) {
    map.u64_at(off).store(v, Ordering::Release);
}

fn state_at(map: &Map, i: usize) -> OriginState {
    let e = entry_off(i);
    OriginState {
        incarnation: load(map, e + E_INCARNATION),
        mark: load(map, e + E_MARK),
        gaps: load(map, e + E_GAPS),
    }
}

fn key_at(map: &Map, i: usize) -> [u8; 16] {
    let mut k = [0u8; 16];
    map.read(entry_off(i) + E_KEY, &mut k);
    k
}

/// The entry of `key`, if it has one.
fn find(map: &Map, key: &[u8; 16]) -> Option<usize> {
    (0..MAX_ORIGINS).find(|&i| key_at(map, i) == *key)
}

/// Repairs after a writer that died holding the lock: the journal's batch was
/// published (the entry takes its values) or never became visible (it is dropped).
/// Called by whoever takes the lock over, before anyone can append.
pub(crate) fn recover(map: &Map) {
    if !map.writable() {
        return;
    }
    let entry = map
        .u32_at(OFF_FWD_JOURNAL + J_ENTRY)
        .load(Ordering::Acquire) as usize;
    if entry == 0 {
        return;
    }
    if entry <= MAX_ORIGINS && load(map, OFF_PUBLISHED) >= load(map, OFF_FWD_JOURNAL + J_PUBLISHED)
    {
        commit(map, entry - 1);
    }
    map.u32_at(OFF_FWD_JOURNAL + J_ENTRY)
        .store(0, Ordering::Release);
}

/// Copies the journal into entry `i`.
fn commit(map: &Map, i: usize) {
    let e = entry_off(i);
    let j = OFF_FWD_JOURNAL;
    store(map, e + E_INCARNATION, load(map, j + J_INCARNATION));
    store(map, e + E_GAPS, load(map, j + J_GAPS));
    store(map, e + E_MARK, load(map, j + J_MARK));
}

fn begin(map: &Map, i: usize, after: &OriginState, published: u64) {
    let j = OFF_FWD_JOURNAL;
    store(map, j + J_INCARNATION, after.incarnation);
    store(map, j + J_MARK, after.mark);
    store(map, j + J_GAPS, after.gaps);
    store(map, j + J_PUBLISHED, published);
    map.u32_at(j + J_ENTRY)
        .store(i as u32 + 1, Ordering::Release);
}

fn end(map: &Map, i: usize) {
    commit(map, i);
    map.u32_at(OFF_FWD_JOURNAL + J_ENTRY)
        .store(0, Ordering::Release);
}

impl Woof {
    /// What this woof knows of an origin (None: nothing was ever forwarded from it).
    pub fn origin(&self, origin: &OriginId) -> Result<Option<OriginState>> {
        let map = self.map();
        let Some(i) = find(map, &origin.key) else {
            return Ok(None);
        };
        check_owner(map, i, origin)?;
        Ok(Some(state_at(map, i)))
    }

    /// Every origin entry in use: (key prefix as hex, state), for --info.
    pub fn origins(&self) -> Vec<(String, OriginState)> {
        let map = self.map();
        (0..MAX_ORIGINS)
            .filter(|&i| key_at(map, i) != [0u8; 16])
            .map(|i| {
                let hex = key_at(map, i)[..6]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (hex, state_at(map, i))
            })
            .collect()
    }

    /// Appends the elements of `batch` that are new for its origin, each exactly
    /// once however often the batch is sent, and syncs as `durability` says before
    /// returning. With `trigger`, each appended element gets its trigger, as a
    /// triggered put would.
    pub fn put_forwarded(
        &self,
        name: &str,
        batch: &Batch<'_>,
        trigger: Option<&Triggered<'_>>,
        durability: Durability,
    ) -> Result<Outcome> {
        let size = self.element_size();
        let n = batch.times.len();
        if n == 0 || batch.data.len() != n * size || batch.first == 0 {
            return Err(Error::new(ErrorKind::BadData, name).detail(format!(
                "a forwarded batch of {} bytes and {n} put times is not whole {size}-byte elements",
                batch.data.len()
            )));
        }
        if batch.first.checked_add(n as u64).is_none() || batch.incarnation == 0 {
            return Err(Error::new(ErrorKind::BadData, name)
                .detail("impossible source seqno or incarnation"));
        }
        let mut out = Outcome::default();
        match trigger {
            None => {
                let mut w = self.writer().map_err(|e| e.within(name))?;
                let elements: Vec<(&[u8], u64)> = batch
                    .data
                    .chunks_exact(size)
                    .zip(batch.times.iter().copied())
                    .collect();
                self.append_new(&mut w, name, batch, batch.first, &elements, &mut out)?;
            }
            Some(t) => {
                // One element per trigger, each under the trigger log's lock, then
                // the woof's (the lock order of every triggered put).
                for (k, (el, &time)) in batch.data.chunks_exact(size).zip(batch.times).enumerate() {
                    let seqno = batch.first + k as u64;
                    let mut step = Outcome::default();
                    let put = put_triggered_by(t, self, name, |w| {
                        self.append_new(w, name, batch, seqno, &[(el, time)], &mut step)?;
                        Ok((step.appended == 1).then_some((step.last_dest, time)))
                    });
                    put.map_err(|e| e.within(name))?;
                    out.state = step.state;
                    out.appended += step.appended;
                    out.duplicates += step.duplicates;
                    if step.appended == 1 {
                        if out.first_dest == 0 {
                            out.first_dest = step.first_dest;
                        }
                        out.last_dest = step.last_dest;
                    }
                }
            }
        }
        if out.appended > 0 && durability != Durability::None {
            self.sync(out.first_dest, out.last_dest)?;
        }
        Ok(out)
    }

    /// Under the writers' lock: appends the elements after the origin's mark and
    /// advances it through the journal. `first` is the source seqno of `elements[0]`.
    fn append_new(
        &self,
        w: &mut Writer<'_>,
        name: &str,
        batch: &Batch<'_>,
        first: u64,
        elements: &[(&[u8], u64)],
        out: &mut Outcome,
    ) -> Result<()> {
        let map = self.map();
        let refuse = |why: String| Err(Error::new(ErrorKind::BadData, name).detail(why));
        let i = match find(map, &batch.origin.key) {
            Some(i) => {
                check_owner(map, i, &batch.origin).map_err(|e| e.within(name))?;
                i
            }
            None => match (0..MAX_ORIGINS).find(|&i| key_at(map, i) == [0u8; 16]) {
                Some(i) => {
                    // A claimed entry with incarnation 0 counts as new until the
                    // journal's commit fills it in.
                    let e = entry_off(i);
                    store(map, e + E_INCARNATION, 0);
                    store(map, e + E_MARK, 0);
                    store(map, e + E_GAPS, 0);
                    store(map, e + E_OWNER, batch.origin.owner);
                    map.write(e + E_KEY, &batch.origin.key);
                    i
                }
                None => {
                    return refuse(format!(
                        "already holds elements of {MAX_ORIGINS} origins, its most; \
                         forward this source into a woof of its own"
                    ));
                }
            },
        };
        let mut state = state_at(map, i);
        if state.incarnation != 0 && state.incarnation != batch.incarnation {
            if !batch.reset {
                return Err(Error::new(ErrorKind::Reincarnated, name).detail(format!(
                    "the source was re-created (incarnation {:016x}, this woof has \
                     {:016x} up to source seqno {}); forwarding its new elements needs \
                     --new-incarnation",
                    batch.incarnation, state.incarnation, state.mark
                )));
            }
            state = OriginState::default();
        }
        state.incarnation = batch.incarnation;
        let last = first + elements.len() as u64 - 1;
        if last <= state.mark {
            out.duplicates += elements.len() as u64;
            out.state = state;
            return Ok(());
        }
        let skip = state.mark.saturating_sub(first - 1) as usize;
        let from = first + skip as u64;
        if from > state.mark + 1 {
            if !batch.lost {
                return Err(
                    Error::new(ErrorKind::Gap { mark: state.mark }, name).detail(format!(
                        "has source elements up to {}; a batch from {from} would leave a gap",
                        state.mark
                    )),
                );
            }
            state.gaps += from - state.mark - 1;
        }
        state.mark = last;
        let new = &elements[skip..];
        let published = w.next_seqno() - 1 + new.len() as u64;
        begin(map, i, &state, published);
        crate::fault::point("fwd:journaled");
        let mut got = Ok(());
        for (el, time) in new {
            if let Err(e) = w.append_at(el, *time) {
                got = Err(e.within(name));
                break;
            }
        }
        let range = w.publish();
        crate::fault::point("fwd:published");
        if let Err(e) = got {
            // Appends stop only on a broken file: the mark covers what became
            // visible, no more.
            let done = range.map_or(0, |(a, b)| b - a + 1);
            state.mark = from + done - 1;
            begin(map, i, &state, self.latest());
            end(map, i);
            return Err(e);
        }
        end(map, i);
        let (first_dest, last_dest) = range.unwrap_or((0, 0));
        out.state = state;
        out.appended += new.len() as u64;
        out.duplicates += skip as u64;
        out.first_dest = first_dest;
        out.last_dest = last_dest;
        Ok(())
    }
}

fn check_owner(map: &Map, i: usize, origin: &OriginId) -> Result<()> {
    if load(map, entry_off(i) + E_OWNER) == origin.owner {
        return Ok(());
    }
    Err(Error::new(ErrorKind::Denied, "")
        .detail("this origin is forwarded by another client key; a client forwards only its own"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::woof::CreateOptions;

    fn woof(dir: &tempfile::TempDir) -> Woof {
        Woof::create(&dir.path().join("dst"), &CreateOptions::new(8, 100)).expect("create")
    }

    fn batch<'a>(origin: OriginId, first: u64, data: &'a [u8], times: &'a [u64]) -> Batch<'a> {
        Batch {
            origin,
            incarnation: 7,
            first,
            lost: false,
            reset: false,
            data,
            times,
        }
    }

    fn elements(first: u64, n: u64) -> (Vec<u8>, Vec<u64>) {
        let data = (first..first + n).flat_map(u64::to_le_bytes).collect();
        (data, (first..first + n).map(|s| s * 1000).collect())
    }

    fn put(w: &Woof, b: &Batch<'_>) -> Result<Outcome> {
        w.put_forwarded("dst", b, None, Durability::None)
    }

    #[test]
    fn each_source_element_is_appended_once_however_often_it_is_sent() {
        let dir = tempfile::tempdir().expect("tmp");
        let w = woof(&dir);
        let o = OriginId::new("edge:/ns/load", None);
        let (d, t) = elements(1, 5);
        let got = put(&w, &batch(o, 1, &d, &t)).expect("first");
        assert_eq!((got.appended, got.duplicates, got.state.mark), (5, 0, 5));
        // The same batch again (its acknowledgement was lost), then one overlapping.
        let again = put(&w, &batch(o, 1, &d, &t)).expect("again");
        assert_eq!((again.appended, again.duplicates), (0, 5));
        let (d, t) = elements(4, 4);
        let over = put(&w, &batch(o, 4, &d, &t)).expect("overlap");
        assert_eq!((over.appended, over.duplicates, over.state.mark), (2, 2, 7));
        assert_eq!(w.latest(), 7);
        let mut buf = [0u8; 8];
        for s in 1..=7 {
            let el = w.get(s, &mut buf).expect("get");
            assert_eq!((u64::from_le_bytes(buf), el.time_ns), (s, s * 1000));
        }
        assert_eq!(w.origin(&o).expect("origin").map(|s| s.mark), Some(7));
    }

    #[test]
    fn a_gap_is_refused_unless_declared_lost_then_counted() {
        let dir = tempfile::tempdir().expect("tmp");
        let w = woof(&dir);
        let o = OriginId::new("edge:/ns/load", None);
        let (d, t) = elements(1, 2);
        put(&w, &batch(o, 1, &d, &t)).expect("first");
        let (d, t) = elements(10, 2);
        let e = put(&w, &batch(o, 10, &d, &t)).expect_err("gap");
        assert_eq!(e.kind(), &ErrorKind::Gap { mark: 2 });
        assert_eq!(w.latest(), 2);
        let mut b = batch(o, 10, &d, &t);
        b.lost = true;
        let got = put(&w, &b).expect("declared");
        assert_eq!((got.state.mark, got.state.gaps, w.latest()), (11, 7, 4));
    }

    #[test]
    fn a_new_incarnation_is_refused_unless_reset_and_keys_own_their_origins() {
        let dir = tempfile::tempdir().expect("tmp");
        let w = woof(&dir);
        let o = OriginId::new("edge:/ns/load", Some("edge1"));
        let (d, t) = elements(1, 3);
        put(&w, &batch(o, 1, &d, &t)).expect("first");
        let mut b = batch(o, 1, &d, &t);
        b.incarnation = 8;
        assert_eq!(
            put(&w, &b).expect_err("new").kind(),
            &ErrorKind::Reincarnated
        );
        b.reset = true;
        let got = put(&w, &b).expect("reset");
        assert_eq!((got.appended, got.state.incarnation, w.latest()), (3, 8, 6));
        let forged = OriginId::new("edge:/ns/load", Some("intruder"));
        let e = put(&w, &batch(forged, 4, &d, &t)).expect_err("forged");
        assert_eq!(e.kind(), &ErrorKind::Denied);
        assert_eq!(
            w.origin(&forged).expect_err("forged").kind(),
            &ErrorKind::Denied
        );
    }

    #[test]
    fn a_ninth_origin_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().expect("tmp");
        let w = woof(&dir);
        let (d, t) = elements(1, 1);
        for i in 0..MAX_ORIGINS {
            let o = OriginId::new(&format!("edge{i}:/ns/load"), None);
            put(&w, &batch(o, 1, &d, &t)).expect("room");
        }
        let o = OriginId::new("edge9:/ns/load", None);
        let e = put(&w, &batch(o, 1, &d, &t)).expect_err("full");
        assert!(e.to_string().contains("8 origins"), "{e}");
        assert_eq!(w.origins().len(), MAX_ORIGINS);
    }

    #[test]
    fn recovery_settles_a_journal_by_whether_the_batch_was_published() {
        let dir = tempfile::tempdir().expect("tmp");
        let w = woof(&dir);
        let o = OriginId::new("edge:/ns/load", None);
        let (d, t) = elements(1, 2);
        put(&w, &batch(o, 1, &d, &t)).expect("first");
        let map = w.map();
        let i = find(map, &o.key).expect("entry");
        // Killed after publishing 3..=4 but before the entry was updated.
        let after = OriginState {
            incarnation: 7,
            mark: 4,
            gaps: 0,
        };
        begin(map, i, &after, 4);
        {
            let mut wr = w.writer().expect("writer");
            wr.append(&3u64.to_le_bytes()).expect("3");
            wr.append(&4u64.to_le_bytes()).expect("4");
        }
        recover(map);
        assert_eq!(state_at(map, i).mark, 4);
        // Killed before publishing 5: the entry keeps its mark.
        let after = OriginState {
            incarnation: 7,
            mark: 5,
            gaps: 0,
        };
        begin(map, i, &after, 5);
        recover(map);
        assert_eq!(state_at(map, i).mark, 4);
        assert_eq!(map.u32_at(OFF_FWD_JOURNAL).load(Ordering::Acquire), 0);
    }
}

//! The core against a model: a `VecDeque` of the same capacity, driven by random
//! operation sequences over many seeds.

use std::collections::VecDeque;

use woof::{CreateOptions, ErrorKind, Woof};

/// SplitMix64: a deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Model {
    history: usize,
    elems: VecDeque<(u64, Vec<u8>)>,
    latest: u64,
}

impl Model {
    fn put(&mut self, data: Vec<u8>) -> u64 {
        self.latest += 1;
        if self.elems.len() == self.history {
            self.elems.pop_front();
        }
        self.elems.push_back((self.latest, data));
        self.latest
    }
    fn oldest(&self) -> u64 {
        self.elems.front().map_or(0, |e| e.0)
    }
    fn get(&self, seqno: u64) -> Result<&Vec<u8>, ErrorKind> {
        let s = if seqno == 0 { self.latest } else { seqno };
        if self.latest == 0 {
            return Err(if seqno == 0 {
                ErrorKind::Empty
            } else {
                ErrorKind::NotYet { seqno, latest: 0 }
            });
        }
        if s > self.latest {
            return Err(ErrorKind::NotYet {
                seqno: s,
                latest: self.latest,
            });
        }
        if s < self.oldest() {
            return Err(ErrorKind::Evicted {
                seqno: s,
                oldest: self.oldest(),
            });
        }
        Ok(&self.elems[(s - self.oldest()) as usize].1)
    }
}

fn run(seed: u64) {
    let mut rng = Rng(seed);
    let element_size = 1 + rng.below(40) as usize;
    let history = 1 + rng.below(12) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m");
    let woof = Woof::create(
        &path,
        &CreateOptions::new(element_size as u64, history as u64),
    )
    .expect("create");
    let mut model = Model {
        history,
        elems: VecDeque::new(),
        latest: 0,
    };
    let mut buf = vec![0u8; element_size];
    for step in 0..300 {
        let ctx = format!("seed {seed} step {step} E={element_size} H={history}");
        match rng.below(6) {
            0 | 1 => {
                let data: Vec<u8> = (0..element_size).map(|_| rng.next() as u8).collect();
                let got = woof.put(&data).expect(&ctx);
                assert_eq!(got, model.put(data), "{ctx}");
            }
            2 => {
                // A batch run under one lock.
                let n = 1 + rng.below(2 * history as u64 + 2);
                let mut w = woof.writer().expect(&ctx);
                for _ in 0..n {
                    let data: Vec<u8> = (0..element_size).map(|_| rng.next() as u8).collect();
                    let got = w.append(&data).expect(&ctx);
                    assert_eq!(got, model.put(data), "{ctx}");
                }
                w.publish();
            }
            3 => {
                let seqno = rng.below(model.latest + 3);
                match (woof.get(seqno, &mut buf), model.get(seqno)) {
                    (Ok(el), Ok(want)) => {
                        assert_eq!(&buf, want, "{ctx} get {seqno}");
                        let s = if seqno == 0 { model.latest } else { seqno };
                        assert_eq!(el.seqno, s, "{ctx}");
                    }
                    (Err(e), Err(k)) => assert_eq!(e.kind(), &k, "{ctx} get {seqno}"),
                    (a, b) => panic!("{ctx} get {seqno}: woof {a:?} model {b:?}"),
                }
            }
            4 => {
                assert_eq!(woof.latest(), model.latest, "{ctx}");
                assert_eq!(woof.oldest(), model.oldest(), "{ctx}");
            }
            _ => {
                // A range read, as woof-get FROM..TO does it.
                let from = 1 + rng.below(model.latest + 1);
                let to = from + rng.below(history as u64 + 2);
                for s in from..=to {
                    match (woof.get(s, &mut buf), model.get(s)) {
                        (Ok(_), Ok(want)) => assert_eq!(&buf, want, "{ctx} range {s}"),
                        (Err(e), Err(k)) => assert_eq!(e.kind(), &k, "{ctx} range {s}"),
                        (a, b) => panic!("{ctx} range {s}: woof {a:?} model {b:?}"),
                    }
                }
            }
        }
    }
    // Reopening sees the same state.
    drop(woof);
    let woof = Woof::open(&path).expect("reopen");
    assert_eq!(woof.latest(), model.latest);
    for (s, data) in &model.elems {
        woof.get(*s, &mut buf).expect("get after reopen");
        assert_eq!(&buf, data);
    }
}

#[test]
fn woof_matches_a_vecdeque_model() {
    for seed in 0..300 {
        run(seed);
    }
}

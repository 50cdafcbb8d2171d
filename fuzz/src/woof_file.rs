//! A woof file as found on disk (damaged, hostile, truncated): the header decoder,
//! the slot decoder behind every get, the schema in the header, and one put, which
//! reads the published counter and the lock word from the file.

use std::path::PathBuf;
use std::sync::OnceLock;

use woof::Woof;
use woof::format::{self, Header};
use woof::schema::Schema;

fn path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = DIR.get_or_init(|| {
        // tmpfs where there is one: rewriting a file per input costs less there.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        };
        let dir = dir.expect("temporary directory for the fuzzed woof");
        let p = dir.path().join("w");
        (dir, p)
    });
    p
}

pub fn run(data: &[u8]) {
    let _ = Header::decode(data, data.len() as u64);
    let p = path();
    // The lock words are not decoded but waited on: a lock "held" by a live thread
    // is waited for a second (by design; lock.rs tests damaged locks), which would
    // make the inputs that hit it a thousand times slower than the rest.
    let mut file = data.to_vec();
    if let Some(lock) = file.get_mut(format::OFF_LOCK..format::OFF_PUBLISHED) {
        lock.fill(0);
    }
    if std::fs::write(p, &file).is_err() {
        return;
    }
    if let Ok(w) = Woof::open_readonly(p) {
        read_all(&w);
    }
    if let Ok(w) = Woof::open(p) {
        let el = vec![0x5a; w.element_size()];
        if let Ok(seqno) = w.put(&el) {
            let mut buf = vec![0; w.element_size()];
            // What was just put reads back whole, whatever the file held before.
            let got = w.get(seqno, &mut buf);
            assert!(
                got.is_ok_and(|e| e.seqno == seqno),
                "put {seqno} does not read back"
            );
            assert_eq!(buf, el);
        }
        read_all(&w);
    }
}

fn read_all(w: &Woof) {
    let _ = Schema::from_header(&w.header().schema);
    let info = w.info();
    let mut buf = vec![0; w.element_size()];
    let latest = w.latest();
    let oldest = w.oldest();
    for seqno in [
        0,
        1,
        oldest,
        latest,
        latest.wrapping_sub(1),
        latest.wrapping_add(1),
        info.latest,
    ] {
        let _ = w.get(seqno, &mut buf);
    }
}

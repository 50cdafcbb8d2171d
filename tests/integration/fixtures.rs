//! Committed woof files (tests/fixtures/, see its README.md): a valid version-1 woof
//! whose elements must read back exactly as recorded (format stability), and damaged
//! variants, each with its exact error through woof-get, woof-put and woof-tail.
//!
//! Tests copy a fixture into a temporary namespace (as woof `fx`) before using it;
//! the committed files are never written. `regenerate_fixtures` (ignored) rebuilds
//! them with the real tools; `damaged_fixtures_are_what_their_names_say` checks that
//! each damaged file is the valid one with exactly its documented change.

use crate::util;

use std::path::PathBuf;

use util::{Ns, fails};

// ---------------------------------------------------------------------------
// The valid fixture: element size 16, history 8; elements 1..=8 put with one
// `--batch`, then 9, 10, 11 with one-shot puts, so it has wrapped (oldest is 4).

const ELEMENT_SIZE: usize = 16;
const HISTORY: u64 = 8;
const LATEST: u64 = 11;
const SLOT_SIZE: usize = 40; // 24-byte slot header + 16, already a multiple of 8
const HEADER: usize = 4096;

/// Element `i` of the valid fixture: text, a NUL, 0xff, the seqno, 0x80, LF, CR.
fn element(i: u64) -> Vec<u8> {
    let mut v = format!("fixture-{i:02}").into_bytes();
    v.extend_from_slice(&[0x00, 0xff, i as u8, 0x80, b'\n', b'\r']);
    assert_eq!(v.len(), ELEMENT_SIZE);
    v
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A namespace holding a copy of fixture `file` as woof `fx`.
fn with_fixture(file: &str) -> Ns {
    let ns = Ns::new();
    std::fs::write(ns.file("fx"), fixture(file)).expect("copy fixture");
    ns
}

// CRC-32C (Castagnoli), bitwise: an implementation independent of the crate the
// library uses, so the test checks FORMAT.md rather than the code against itself.
fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// Recomputes the header checksum (FORMAT.md: CRC-32C of [0, 252) then the schema).
fn reseal_header(b: &mut [u8]) {
    let schema_len = u32_at(b, 44) as usize;
    let crc = crc32c_append(crc32c_append(0, &b[..252]), &b[1024..1024 + schema_len]);
    b[252..256].copy_from_slice(&crc.to_le_bytes());
}

fn slot_offset(seqno: u64) -> usize {
    HEADER + ((seqno - 1) % HISTORY) as usize * SLOT_SIZE
}

// ---------------------------------------------------------------------------
// The damaged variants: each is the valid file with one documented change.

/// (file name, how it is made from the valid file's bytes).
type Damage = (&'static str, fn(&[u8]) -> Vec<u8>);

const DAMAGED: &[Damage] = &[
    ("wrong-version.woof", |v| {
        // A well-formed header of a future format: version 2, checksum resealed.
        let mut b = v.to_vec();
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        reseal_header(&mut b);
        b
    }),
    ("bad-header-checksum.woof", |v| {
        // One bit of created_ns flipped; the checksum no longer matches.
        let mut b = v.to_vec();
        b[32] ^= 0x01;
        b
    }),
    ("inconsistent-header.woof", |v| {
        // slot_size 48 for 16-byte elements, with a valid checksum.
        let mut b = v.to_vec();
        b[20..24].copy_from_slice(&48u32.to_le_bytes());
        reseal_header(&mut b);
        b
    }),
    ("truncated.woof", |v| v[..v.len() - 40].to_vec()),
    ("truncated-header.woof", |v| v[..100].to_vec()),
    ("extended.woof", |v| {
        let mut b = v.to_vec();
        b.extend_from_slice(&[0u8; 8]);
        b
    }),
    ("bad-slot-crc.woof", |v| {
        // One data byte of element 6 flipped.
        let mut b = v.to_vec();
        b[slot_offset(6) + 24 + 3] ^= 0x20;
        b
    }),
    ("stale-slot.woof", |v| {
        // Element 10's slot stamped with an older seqno (2), as a machine crash can
        // leave a slot whose rewrite never reached the disk.
        let mut b = v.to_vec();
        let off = slot_offset(10);
        b[off..off + 8].copy_from_slice(&2u64.to_le_bytes());
        b
    }),
    ("stale-lock.woof", |v| {
        // The writers' lock held by a thread of another boot (no kernel will ever
        // mark it dead), and a boot id that is not this one: the first writer must
        // re-initialise the lock instead of waiting forever.
        let mut b = v.to_vec();
        b[256..260].copy_from_slice(&0x0012_3456u32.to_le_bytes());
        b[320..336].copy_from_slice(&[0xee; 16]);
        b
    }),
];

const NOT_A_WOOF: &str = "not-a-woof.txt";
const VALID: &str = "v1-valid.woof";

// ---------------------------------------------------------------------------
// The valid fixture.

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c_append(0, b"123456789"), 0xe306_9283);
}

#[test]
fn valid_fixture_has_the_documented_bytes() {
    // FORMAT.md's tables, checked on a real file made by the tools.
    let b = fixture(VALID);
    assert_eq!(b.len(), HEADER + HISTORY as usize * SLOT_SIZE);
    assert_eq!(&b[0..8], b"\x89WOOF\r\n\x1a", "magic");
    assert_eq!(u32_at(&b, 8), 1, "version");
    assert_eq!(u32_at(&b, 12), 4096, "header_size");
    assert_eq!(u32_at(&b, 16), ELEMENT_SIZE as u32, "element_size");
    assert_eq!(u32_at(&b, 20), SLOT_SIZE as u32, "slot_size");
    assert_eq!(u64_at(&b, 24), HISTORY, "history");
    assert_eq!(b[40], 0, "durability none");
    assert_eq!(u32_at(&b, 44), 0, "schema_len");
    let mut resealed = b.clone();
    reseal_header(&mut resealed);
    assert_eq!(resealed[252..256], b[252..256], "header_crc");
    assert_eq!(u64_at(&b, 384), LATEST, "published");
    assert_eq!(u32_at(&b, 448), LATEST as u32, "wake");
    for seqno in 4..=LATEST {
        let off = slot_offset(seqno);
        assert_eq!(u64_at(&b, off), seqno, "slot.seqno of {seqno}");
        let time = u64_at(&b, off + 8);
        let crc = crc32c_append(
            crc32c_append(crc32c_append(0, &seqno.to_le_bytes()), &time.to_le_bytes()),
            &element(seqno),
        );
        assert_eq!(u32_at(&b, off + 16), crc, "slot.crc of {seqno}");
        assert_eq!(u32_at(&b, off + 20), 0, "slot padding of {seqno}");
        assert_eq!(
            &b[off + 24..off + 40],
            element(seqno).as_slice(),
            "data of {seqno}"
        );
    }
}

#[test]
fn valid_fixture_reads_back_exactly_as_recorded() {
    let ns = with_fixture(VALID);
    let expected_csv = String::from_utf8(fixture("v1-valid.csv")).expect("utf8");
    ns.cmd("woof-get")
        .args(["fx", "4..", "--format", "csv"])
        .assert()
        .success()
        .stderr("")
        .stdout(expected_csv.clone());
    // And the recorded file itself holds what was put.
    let lines: Vec<_> = expected_csv.lines().map(util::CsvLine::parse).collect();
    assert_eq!(lines.len(), 8);
    for (l, seqno) in lines.iter().zip(4..) {
        assert_eq!(l.seqno, seqno);
        assert_eq!(l.data, element(seqno));
    }
    let mut raw = Vec::new();
    for s in 4..=LATEST {
        raw.extend_from_slice(&element(s));
    }
    ns.cmd("woof-get")
        .args(["fx", "4..11", "--format", "raw"])
        .assert()
        .success()
        .stdout(raw);
    ns.cmd("woof-get")
        .args(["fx", "--info"])
        .assert()
        .success()
        .stderr("")
        .stdout(String::from_utf8(fixture("v1-valid.info")).expect("utf8"));
    fails(
        ns.cmd("woof-get").args(["fx", "3"]),
        66,
        "woof-get: fx: seqno 3 evicted (oldest is 4)",
    );
    // Reading changed nothing.
    assert_eq!(ns.bytes("fx"), fixture(VALID));
}

#[test]
fn valid_fixture_accepts_puts_from_another_boot() {
    // The fixture's lock was initialised in the boot that generated it; a put
    // here (any later boot, or the same one) must work.
    let ns = with_fixture(VALID);
    assert_eq!(ns.put("fx", &element(12)), 12);
    assert_eq!(ns.get_hex("fx", "5..12").len(), 8);
    assert_eq!(ns.get_hex("fx", "12"), [util::hex(&element(12))]);
    fails(
        ns.cmd("woof-get").args(["fx", "4"]),
        66,
        "woof-get: fx: seqno 4 evicted (oldest is 5)",
    );
}

// ---------------------------------------------------------------------------
// Damaged fixtures: the exact message through every tool, exit 65, no change.

/// Checks that `woof-get`, `woof-put` and `woof-tail` all refuse the fixture with
/// `why` and exit 65, and leave it unchanged.
fn refused_by_every_tool(file: &str, why: &str) {
    let ns = with_fixture(file);
    let before = ns.bytes("fx");
    fails(
        ns.cmd("woof-get").arg("fx"),
        65,
        &format!("woof-get: fx: {why}"),
    );
    fails(
        ns.cmd("woof-get").args(["fx", "--info"]),
        65,
        &format!("woof-get: fx: {why}"),
    );
    fails(
        ns.cmd("woof-put").arg("fx").write_stdin(element(12)),
        65,
        &format!("woof-put: fx: {why}"),
    );
    fails(
        ns.cmd("woof-put")
            .args(["fx", "--batch"])
            .write_stdin(element(12)),
        65,
        &format!("woof-put: fx: {why}"),
    );
    fails(
        ns.cmd("woof-tail").arg("fx"),
        65,
        &format!("woof-tail: fx: {why}"),
    );
    assert_eq!(ns.bytes("fx"), before, "{file} was modified");
}

#[test]
fn not_a_woof_is_refused() {
    refused_by_every_tool(NOT_A_WOOF, "not a woof (too short, no woof signature)");
}

#[test]
fn a_long_file_that_is_not_a_woof_is_refused() {
    // Long enough to hold a header: the signature is what tells.
    let ns = Ns::new();
    let text = "this is a long text file, not a woof\n".repeat(400);
    std::fs::write(ns.file("fx"), &text).expect("write");
    fails(
        ns.cmd("woof-get").arg("fx"),
        65,
        "woof-get: fx: not a woof (no woof signature)",
    );
    fails(
        ns.cmd("woof-put").arg("fx").write_stdin("x"),
        65,
        "woof-put: fx: not a woof (no woof signature)",
    );
    assert_eq!(std::fs::read(ns.file("fx")).expect("read"), text.as_bytes());
}

#[test]
fn an_empty_file_or_a_directory_is_not_a_woof() {
    let ns = Ns::new();
    std::fs::write(ns.file("fx"), "").expect("write");
    fails(
        ns.cmd("woof-get").arg("fx"),
        65,
        "woof-get: fx: not a woof (too short, no woof signature)",
    );
    std::fs::create_dir(ns.file("dir")).expect("mkdir");
    for bin in ["woof-get", "woof-put", "woof-tail"] {
        fails(
            ns.cmd(bin).arg("dir").write_stdin(element(1)),
            65,
            &format!("{bin}: dir: not a woof (not a regular file)"),
        );
    }
}

#[test]
fn wrong_version_is_refused() {
    refused_by_every_tool(
        "wrong-version.woof",
        "format version 2 not supported (this build reads version 1)",
    );
}

#[test]
fn bad_header_checksum_is_refused() {
    refused_by_every_tool("bad-header-checksum.woof", "bad header checksum");
}

#[test]
fn inconsistent_header_is_refused() {
    refused_by_every_tool("inconsistent-header.woof", "inconsistent header fields");
}

#[test]
fn truncated_woof_is_refused_never_sigbus() {
    refused_by_every_tool(
        "truncated.woof",
        "truncated or extended woof: 4376 bytes, expected 4416",
    );
}

#[test]
fn woof_truncated_inside_its_header_is_refused() {
    refused_by_every_tool(
        "truncated-header.woof",
        "truncated woof: 100 bytes, shorter than its 4096-byte header",
    );
}

#[test]
fn extended_woof_is_refused() {
    refused_by_every_tool(
        "extended.woof",
        "truncated or extended woof: 4424 bytes, expected 4416",
    );
}

#[test]
fn a_slot_with_a_bad_checksum_is_reported_and_the_others_read() {
    let ns = with_fixture("bad-slot-crc.woof");
    fails(
        ns.cmd("woof-get").args(["fx", "6"]),
        65,
        "woof-get: fx: seqno 6: slot checksum mismatch",
    );
    for s in [4u64, 5, 7, 11] {
        assert_eq!(ns.get_hex("fx", &s.to_string()), [util::hex(&element(s))]);
    }
    // A range prints every good element, reports the bad one, and exits 65.
    let mut good = String::new();
    for s in (4..=LATEST).filter(|&s| s != 6) {
        good.push_str(&util::hex(&element(s)));
        good.push('\n');
    }
    ns.cmd("woof-get")
        .args(["fx", "4..", "--format", "hex"])
        .assert()
        .code(65)
        .stdout(good.clone())
        .stderr("woof-get: fx: seqno 6: slot checksum mismatch\n");
    // woof-tail goes past it too, warning, and exits non-zero.
    ns.cmd("woof-tail")
        .args(["fx", "--after", "3", "--format", "hex"])
        .assert()
        .code(65)
        .stdout(good)
        .stderr("woof-tail: fx: seqno 6: slot checksum mismatch\n");
    // Writers are unaffected: the put overwrites the slot of 4, not the bad one.
    assert_eq!(ns.put("fx", &element(12)), 12);
    fails(
        ns.cmd("woof-get").args(["fx", "6"]),
        65,
        "woof-get: fx: seqno 6: slot checksum mismatch",
    );
}

#[test]
fn a_stale_slot_is_corrupt_not_data() {
    let ns = with_fixture("stale-slot.woof");
    fails(
        ns.cmd("woof-get").args(["fx", "10"]),
        65,
        "woof-get: fx: seqno 10: slot holds seqno 2 (lost in a crash before sync?)",
    );
    assert_eq!(ns.get_hex("fx", "11"), [util::hex(&element(11))]);
    assert_eq!(ns.get_hex("fx", "9"), [util::hex(&element(9))]);
}

#[test]
fn a_lock_held_in_another_boot_is_reinitialised_by_the_first_writer() {
    let ns = with_fixture("stale-lock.woof");
    // Readers never touch the lock.
    assert_eq!(ns.get_hex("fx", "11"), [util::hex(&element(11))]);
    // The put must not wait for the phantom owner (the command's timeout bounds it).
    let mut cmd = ns.cmd("woof-put");
    cmd.timeout(util::PROMPT);
    let out = util::ok_stdout(cmd.arg("fx").write_stdin(element(12)));
    assert_eq!(util::parse_seqno_line(&out), 12);
    assert_eq!(ns.put("fx", &element(13)), 13);
    assert_eq!(ns.get_hex("fx", "13"), [util::hex(&element(13))]);
}

#[test]
fn damaged_fixtures_are_what_their_names_say() {
    let valid = fixture(VALID);
    for (file, make) in DAMAGED {
        assert!(
            fixture(file) == make(&valid),
            "{file} is not the valid fixture with its documented change; \
             run the ignored test regenerate_fixtures"
        );
    }
    let text = fixture(NOT_A_WOOF);
    assert!(text.len() < 4096 && text.is_ascii());
}

// ---------------------------------------------------------------------------
// The generator.

/// Rebuilds tests/fixtures/ with the real tools. Run it on purpose only:
/// `REGENERATE_FIXTURES=1 cargo test --test integration -- --ignored fixtures::regenerate_fixtures`
/// (then commit the files; the put times in them change).
#[test]
#[ignore = "rewrites the committed fixtures; run explicitly with REGENERATE_FIXTURES=1"]
fn regenerate_fixtures() {
    assert!(
        std::env::var_os("REGENERATE_FIXTURES").is_some(),
        "set REGENERATE_FIXTURES=1 to overwrite tests/fixtures/"
    );
    let ns = Ns::new();
    ns.create("fx", ELEMENT_SIZE as u64, HISTORY);
    let batch: Vec<u8> = (1..=8).flat_map(element).collect();
    assert_eq!(ns.put_batch("fx", &batch), (1, 8));
    for s in 9..=LATEST {
        assert_eq!(ns.put("fx", &element(s)), s);
    }
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).expect("mkdir fixtures");
    let valid = ns.bytes("fx");
    std::fs::write(dir.join(VALID), &valid).expect("write");
    let csv = ns
        .cmd("woof-get")
        .args(["fx", "4..", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    std::fs::write(dir.join("v1-valid.csv"), csv).expect("write");
    let info = ns
        .cmd("woof-get")
        .args(["fx", "--info"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    std::fs::write(dir.join("v1-valid.info"), info).expect("write");
    for (file, make) in DAMAGED {
        std::fs::write(dir.join(file), make(&valid)).expect("write");
    }
    std::fs::write(
        dir.join(NOT_A_WOOF),
        "This is a plain text file, not a woof.\n",
    )
    .expect("write");
}

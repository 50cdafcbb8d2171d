//! The on-disk layout of a woof file: offsets, the static header, slots.
//! `lib/FORMAT.md` is the normative description; `layout_matches_format_md` checks
//! that the constants here and the table there agree.
//!
//! All integers are little-endian.

use crate::error::{Error, ErrorKind, Result};

/// Identifies a woof file. The high byte and CR/LF/^Z catch text-mode and
/// truncating transfers, as PNG's signature does.
pub const MAGIC: [u8; 8] = *b"\x89WOOF\r\n\x1a";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the first slot.
pub const HEADER_SIZE: u64 = 4096;

// Static header: written once at create, covered by the header checksum.
pub const OFF_MAGIC: usize = 0;
pub const OFF_VERSION: usize = OFF_MAGIC + 8; // 8
pub const OFF_HEADER_SIZE: usize = OFF_VERSION + 4; // 12
pub const OFF_ELEMENT_SIZE: usize = OFF_HEADER_SIZE + 4; // 16
pub const OFF_SLOT_SIZE: usize = OFF_ELEMENT_SIZE + 4; // 20
pub const OFF_HISTORY: usize = OFF_SLOT_SIZE + 4; // 24
pub const OFF_CREATED: usize = OFF_HISTORY + 8; // 32
pub const OFF_DURABILITY: usize = OFF_CREATED + 8; // 40
pub const OFF_SCHEMA_LEN: usize = OFF_DURABILITY + 4; // 44
/// A random id, new at each create (and `--force`): tells a re-created woof from the
/// one it replaced, whose seqnos started over (woof-forward, DESIGN §9). Files made
/// before it existed hold 0 here; readers then use `created_ns`.
pub const OFF_INCARNATION: usize = OFF_SCHEMA_LEN + 4; // 48
pub const OFF_HEADER_CRC: usize = 252;
/// End of the static fields (the checksum covers [0, OFF_HEADER_CRC) and the schema).
pub const STATIC_END: usize = 256;

// Live region: mutated by writers, never checksummed.
/// The writers' lock: a process-shared robust mutex (glibc x86-64 layout), 64 bytes reserved.
pub const OFF_LOCK: usize = 256;
pub const LOCK_SPACE: usize = 64;
/// Boot id (16 bytes) of the boot in which the lock was last initialised.
pub const OFF_LOCK_BOOT: usize = OFF_LOCK + LOCK_SPACE; // 320
/// `size_of::<pthread_mutex_t>()` of the initialiser, so a foreign ABI is noticed.
pub const OFF_LOCK_ABI: usize = OFF_LOCK_BOOT + 16; // 336
/// Latest published seqno (u64), on its own cache line.
pub const OFF_PUBLISHED: usize = 384;
/// Futex word: low 32 bits of `published`, stored after each publish.
pub const OFF_WAKE: usize = 448;
/// Number of processes parked on the futex word (a hint: stale counts cost a syscall).
pub const OFF_WAITERS: usize = 452;
/// Consumer watermark (u64): every seqno ≤ it has been fully processed by the woof's
/// consumer. Trigger logs use it: the platform advances it, puts check it for room.
pub const OFF_CONSUMED: usize = 512;
/// Forwarded puts' journal (`origins.rs`): what the batch being appended will make
/// of its origin's entry, so that a writer killed between publish and the entry's
/// update is repaired by the next one.
pub const OFF_FWD_JOURNAL: usize = 576;
pub const FWD_JOURNAL_SIZE: usize = 40;
/// The origins table: per forwarding origin, the highest source seqno appended.
pub const OFF_ORIGINS: usize = 640;
pub const ORIGIN_ENTRY: usize = 48;
pub const MAX_ORIGINS: usize = 8;
/// Schema text (typed records), up to `MAX_SCHEMA` bytes.
pub const OFF_SCHEMA: usize = 1024;
pub const MAX_SCHEMA: usize = HEADER_SIZE as usize - OFF_SCHEMA;

// Slot layout.
pub const SLOT_SEQNO: usize = 0;
pub const SLOT_TIME: usize = 8;
pub const SLOT_CRC: usize = 16;
pub const SLOT_DATA: usize = 24;

/// Largest element: 64 MiB.
pub const MAX_ELEMENT_SIZE: u64 = 64 << 20;
/// Largest history: 2^32 slots.
pub const MAX_HISTORY: u64 = 1 << 32;
/// Largest file: 1 TiB.
pub const MAX_FILE_SIZE: u64 = 1 << 40;

/// When a put's data must reach stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Survives a process crash (the page cache holds it); no sync.
    None,
    /// Group commit: synced at the end of each run of puts.
    Batch,
    /// Synced before each put (or each group of a batch) is acknowledged.
    Always,
}

impl Durability {
    pub fn code(self) -> u8 {
        match self {
            Durability::None => 0,
            Durability::Batch => 1,
            Durability::Always => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<Durability> {
        match code {
            0 => Some(Durability::None),
            1 => Some(Durability::Batch),
            2 => Some(Durability::Always),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Durability::None => "none",
            Durability::Batch => "batch",
            Durability::Always => "always",
        }
    }

    pub fn parse(s: &str) -> Option<Durability> {
        match s {
            "none" => Some(Durability::None),
            "batch" => Some(Durability::Batch),
            "always" => Some(Durability::Always),
            _ => None,
        }
    }
}

/// The static header fields of a woof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub element_size: u32,
    pub history: u64,
    pub created_ns: u64,
    pub durability: Durability,
    pub schema: Vec<u8>,
    /// Random, new at each create; `created_ns` for files made before it existed.
    pub incarnation: u64,
}

/// Bytes of one slot for a given element size: 24-byte slot header + data, 8-aligned.
pub fn slot_size(element_size: u32) -> u64 {
    SLOT_DATA as u64 + u64::from(element_size).div_ceil(8) * 8
}

/// Total file length for a geometry.
pub fn file_len(element_size: u32, history: u64) -> u64 {
    HEADER_SIZE + history * slot_size(element_size)
}

/// Checks the geometry a user asked for; the message says what the limit is.
pub fn check_geometry(element_size: u64, history: u64) -> Result<()> {
    let bad = |msg: String| Err(Error::new(ErrorKind::BadArgument, msg));
    if element_size == 0 {
        return bad("element size must be at least 1 byte".into());
    }
    if element_size > MAX_ELEMENT_SIZE {
        return bad(format!(
            "element size {element_size} is too large (at most {MAX_ELEMENT_SIZE} bytes)"
        ));
    }
    if history == 0 {
        return bad("history must be at least 1 element".into());
    }
    if history > MAX_HISTORY {
        return bad(format!(
            "history {history} is too large (at most {MAX_HISTORY})"
        ));
    }
    let len = file_len(element_size as u32, history);
    if len > MAX_FILE_SIZE {
        return bad(format!(
            "{history} elements of {element_size} bytes need {len} bytes (at most {MAX_FILE_SIZE})"
        ));
    }
    Ok(())
}

/// The checksum of a slot's content: seqno, put time and element bytes.
pub fn slot_crc(seqno: u64, time_ns: u64, data: &[u8]) -> u32 {
    let mut crc = crc32c::crc32c(&seqno.to_le_bytes());
    crc = crc32c::crc32c_append(crc, &time_ns.to_le_bytes());
    crc32c::crc32c_append(crc, data)
}

/// The little-endian u32 at `off` (records and headers alike).
pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// The little-endian u64 at `off`.
pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

fn header_crc(page: &[u8], schema_len: usize) -> u32 {
    let crc = crc32c::crc32c(&page[..OFF_HEADER_CRC]);
    crc32c::crc32c_append(crc, &page[OFF_SCHEMA..OFF_SCHEMA + schema_len])
}

impl Header {
    /// The header page as written at create (live region zeroed).
    pub fn encode(&self) -> Vec<u8> {
        let mut page = vec![0u8; HEADER_SIZE as usize];
        page[OFF_MAGIC..OFF_MAGIC + 8].copy_from_slice(&MAGIC);
        page[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&VERSION.to_le_bytes());
        page[OFF_HEADER_SIZE..OFF_HEADER_SIZE + 4]
            .copy_from_slice(&(HEADER_SIZE as u32).to_le_bytes());
        page[OFF_ELEMENT_SIZE..OFF_ELEMENT_SIZE + 4]
            .copy_from_slice(&self.element_size.to_le_bytes());
        page[OFF_SLOT_SIZE..OFF_SLOT_SIZE + 4]
            .copy_from_slice(&(slot_size(self.element_size) as u32).to_le_bytes());
        page[OFF_HISTORY..OFF_HISTORY + 8].copy_from_slice(&self.history.to_le_bytes());
        page[OFF_CREATED..OFF_CREATED + 8].copy_from_slice(&self.created_ns.to_le_bytes());
        page[OFF_DURABILITY] = self.durability.code();
        page[OFF_INCARNATION..OFF_INCARNATION + 8].copy_from_slice(&self.incarnation.to_le_bytes());
        page[OFF_SCHEMA_LEN..OFF_SCHEMA_LEN + 4]
            .copy_from_slice(&(self.schema.len() as u32).to_le_bytes());
        page[OFF_SCHEMA..OFF_SCHEMA + self.schema.len()].copy_from_slice(&self.schema);
        let crc = header_crc(&page, self.schema.len());
        page[OFF_HEADER_CRC..OFF_HEADER_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        page
    }

    /// Validates a header page read from a file of `file_len` bytes. Every check
    /// happens before the file is mapped, so a damaged file can never SIGBUS a reader.
    pub fn decode(page: &[u8], actual_len: u64) -> Result<Header> {
        let corrupt = |why: String| Err(Error::new(ErrorKind::Corrupt, "").detail(why));
        if actual_len < HEADER_SIZE || page.len() < HEADER_SIZE as usize {
            if page.len() >= 8 && page[..8] == MAGIC {
                return corrupt(format!(
                    "truncated woof: {actual_len} bytes, shorter than its {HEADER_SIZE}-byte header"
                ));
            }
            return corrupt("not a woof (too short, no woof signature)".into());
        }
        if page[OFF_MAGIC..OFF_MAGIC + 8] != MAGIC {
            return corrupt("not a woof (no woof signature)".into());
        }
        let version = get_u32(page, OFF_VERSION);
        if version != VERSION {
            return Err(Error::new(
                ErrorKind::Version {
                    found: version,
                    supported: VERSION,
                },
                "",
            ));
        }
        let schema_len = get_u32(page, OFF_SCHEMA_LEN) as usize;
        if schema_len > MAX_SCHEMA {
            return corrupt("bad header checksum".into());
        }
        if get_u32(page, OFF_HEADER_CRC) != header_crc(page, schema_len) {
            return corrupt("bad header checksum".into());
        }
        let header_size = u64::from(get_u32(page, OFF_HEADER_SIZE));
        let element_size = get_u32(page, OFF_ELEMENT_SIZE);
        let history = get_u64(page, OFF_HISTORY);
        let durability = Durability::from_code(page[OFF_DURABILITY]);
        let slot = u64::from(get_u32(page, OFF_SLOT_SIZE));
        let (Some(durability), true, true, Ok(())) = (
            durability,
            header_size == HEADER_SIZE,
            slot == slot_size(element_size),
            check_geometry(u64::from(element_size), history),
        ) else {
            return corrupt("inconsistent header fields".into());
        };
        let want = file_len(element_size, history);
        if actual_len != want {
            return corrupt(format!(
                "truncated or extended woof: {actual_len} bytes, expected {want}"
            ));
        }
        Ok(Header {
            element_size,
            history,
            created_ns: get_u64(page, OFF_CREATED),
            durability,
            schema: page[OFF_SCHEMA..OFF_SCHEMA + schema_len].to_vec(),
            incarnation: match get_u64(page, OFF_INCARNATION) {
                0 => get_u64(page, OFF_CREATED),
                id => id,
            },
        })
    }

    pub fn slot_size(&self) -> u64 {
        slot_size(self.element_size)
    }

    pub fn file_len(&self) -> u64 {
        file_len(self.element_size, self.history)
    }

    /// Byte offset of the slot that holds `seqno` (seqno ≥ 1).
    pub fn slot_offset(&self, seqno: u64) -> usize {
        (HEADER_SIZE + (seqno - 1) % self.history * self.slot_size()) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            element_size: 64,
            history: 1000,
            created_ns: 1_763_793_000_000_000_000,
            durability: Durability::Batch,
            schema: b"time:timestamp".to_vec(),
            incarnation: 0x5eed_cafe_f00d,
        }
    }

    #[test]
    fn header_round_trips() {
        let h = sample();
        let page = h.encode();
        assert_eq!(Header::decode(&page, h.file_len()).expect("decode"), h);
    }

    #[test]
    fn layout_matches_format_md() {
        // The table in lib/FORMAT.md, row by row: (field, offset, size).
        let doc = include_str!("../FORMAT.md");
        let rows = [
            ("magic", OFF_MAGIC, 8),
            ("version", OFF_VERSION, 4),
            ("header_size", OFF_HEADER_SIZE, 4),
            ("element_size", OFF_ELEMENT_SIZE, 4),
            ("slot_size", OFF_SLOT_SIZE, 4),
            ("history", OFF_HISTORY, 8),
            ("created_ns", OFF_CREATED, 8),
            ("durability", OFF_DURABILITY, 1),
            ("schema_len", OFF_SCHEMA_LEN, 4),
            ("incarnation", OFF_INCARNATION, 8),
            ("header_crc", OFF_HEADER_CRC, 4),
            ("lock", OFF_LOCK, LOCK_SPACE),
            ("lock_boot", OFF_LOCK_BOOT, 16),
            ("lock_abi", OFF_LOCK_ABI, 4),
            ("published", OFF_PUBLISHED, 8),
            ("wake", OFF_WAKE, 4),
            ("waiters", OFF_WAITERS, 4),
            ("consumed", OFF_CONSUMED, 8),
            ("fwd_journal", OFF_FWD_JOURNAL, FWD_JOURNAL_SIZE),
            ("origins", OFF_ORIGINS, ORIGIN_ENTRY * MAX_ORIGINS),
            ("schema", OFF_SCHEMA, MAX_SCHEMA),
            ("slot.seqno", SLOT_SEQNO, 8),
            ("slot.time_ns", SLOT_TIME, 8),
            ("slot.crc", SLOT_CRC, 4),
            ("slot.data", SLOT_DATA, 0),
        ];
        for (field, off, size) in rows {
            let row = if size == 0 {
                format!("| {off} | `{field}` | E |")
            } else {
                format!("| {off} | `{field}` | {size} |")
            };
            assert!(doc.contains(&row), "FORMAT.md lacks the row {row:?}");
        }
        assert!(doc.contains(&format!("version {VERSION}")));
    }

    #[test]
    fn damaged_headers_are_named() {
        let h = sample();
        let good = h.encode();
        let len = h.file_len();
        let msg = |page: &[u8], len| Header::decode(page, len).expect_err("bad").to_string();

        assert!(msg(&good, len - 1).contains("truncated or extended woof"));
        assert!(msg(&good[..100], 100).contains("truncated woof"));
        assert!(msg(b"hello world", 11).contains("not a woof"));
        let mut bad = good.clone();
        bad[OFF_ELEMENT_SIZE] ^= 1;
        assert!(msg(&bad, len).contains("bad header checksum"));
        let mut bad = good.clone();
        bad[OFF_VERSION] = 9;
        assert!(msg(&bad, len).contains("format version 9 not supported"));
        let mut bad = good;
        bad[OFF_SCHEMA + 2] ^= 1;
        assert!(msg(&bad, len).contains("bad header checksum"));
    }

    #[test]
    fn geometry_limits() {
        assert!(check_geometry(1, 1).is_ok());
        assert!(check_geometry(0, 1).is_err());
        assert!(check_geometry(1, 0).is_err());
        assert!(check_geometry(MAX_ELEMENT_SIZE + 1, 1).is_err());
        assert!(check_geometry(1, MAX_HISTORY + 1).is_err());
        assert!(check_geometry(MAX_ELEMENT_SIZE, MAX_HISTORY).is_err());
        assert_eq!(slot_size(1), 32);
        assert_eq!(slot_size(64), 88);
    }
}

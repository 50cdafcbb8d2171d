//! Self-verifying elements: (writer, counter) plus a checksum and filler derived
//! from both, so that any torn, shifted or foreign bytes fail to verify.

use super::*;

// ---------------------------------------------------------------------------
// Self-verifying elements: (writer, counter) plus a checksum and filler derived
// from both, so that any torn, shifted or foreign bytes fail to verify.

/// Bytes of an encoded element (also a line for `--lines`: no newline inside).
pub const ELEMENT: usize = 48;

fn fnv(writer: u32, counter: u64) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in writer
        .to_le_bytes()
        .iter()
        .chain(counter.to_le_bytes().iter())
    {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The element writer `writer` puts as its `counter`-th: `wwww:cccccccc:ssssssss:` and
/// letters derived from all three, exactly `ELEMENT` bytes.
pub fn encode(writer: u32, counter: u64) -> Vec<u8> {
    let sum = fnv(writer, counter);
    let mut v = format!("{writer:04}:{counter:010}:{sum:08x}:").into_bytes();
    let mut i = 0u64;
    while v.len() < ELEMENT {
        let x = (u64::from(sum) + u64::from(writer) * 31 + counter + i) % 26;
        v.push(b'a' + x as u8);
        i += 1;
    }
    v
}

/// The (writer, counter) of an element made by `encode`, if every byte checks out.
/// The (seqno, writer, counter) of a printed element, which must verify.
pub fn whole(l: &CsvLine) -> (u64, u32, u64) {
    let (w, c) = decode(&l.data).unwrap_or_else(|| {
        panic!(
            "seqno {} is not whole: {:?}",
            l.seqno,
            String::from_utf8_lossy(&l.data)
        )
    });
    (l.seqno, w, c)
}

pub fn decode(data: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(data.get(..16)?).ok()?;
    let (w, rest) = text.split_once(':')?;
    let c = rest.strip_suffix(':').unwrap_or(rest);
    let (writer, counter) = (w.parse().ok()?, c.parse().ok()?);
    (encode(writer, counter) == data).then_some((writer, counter))
}

/// The lines `--lines` input for writer `writer`, counters `from..to`.
pub fn encoded_lines(writer: u32, counters: std::ops::Range<u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity((counters.end - counters.start) as usize * (ELEMENT + 1));
    for c in counters {
        out.extend_from_slice(&encode(writer, c));
        out.push(b'\n');
    }
    out
}

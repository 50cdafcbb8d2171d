//! woof's own wire protocol, version 1 (woof(7), "Network protocol").
//!
//! A request is one ZeroMQ multipart message:
//! `WOOF/1`, op, namespace, name, then the op's arguments. The first frame tells it
//! apart from CSPOT's, whose first frame is a decimal tag. Numbers are decimal ASCII
//! (as in CSPOT), element data is raw bytes, and element metadata is packed binary
//! (16 bytes per element: seqno and put time, little-endian u64) so a range of a
//! million elements is three frames, not two million.
//!
//! | op | arguments | OK reply frames |
//! |---|---|---|
//! | `put` | handler, cause, durability, element | seqno |
//! | `putb` | handler, cause, durability, elements (n × size) | first, last |
//! | `get` | from, to (0 = latest) | latest, oldest, meta, data |
//! | `follow` | after, wait_ms, max | latest, oldest, meta, data |
//! | `info` | — | info text |
//! | `create` | element_size, history, durability, schema, force | info text |
//! | `fput` | origin, incarnation, first, flags, handler, cause, durability, times, elements | mark, gaps, appended, duplicates, incarnation |
//! | `origin` | origin | found, incarnation, mark, gaps, info text |
//!
//! `fput` and `origin` serve woof-forward (DESIGN §9): `fput` appends the elements of a
//! source woof after its origin's mark (source seqnos `first`.., put times 8 bytes
//! each, little-endian); `flags` is a comma list of `lost` (the elements between the
//! mark and `first` were overwritten at the source: count them as a gap) and `reset`
//! (a new incarnation of the source).
//!
//! Every reply starts with `OK` or `ERR`; an error carries a kind token, two numbers
//! (the seqnos of evicted/not-yet errors), the context and the detail, so the client
//! rebuilds the very error a local call would have returned, exit code included.

use woof::{Durability, Element, Error, ErrorKind, Info};

pub const MAGIC: &[u8] = b"WOOF/1";
pub const OK: &[u8] = b"OK";
pub const ERR: &[u8] = b"ERR";
/// Metadata bytes per element in get/follow replies.
pub const META: usize = 16;
/// The most element bytes one get/follow reply carries; clients ask again for more.
pub const MAX_REPLY_DATA: usize = 4 << 20;
/// The most element bytes one batch put carries.
pub const MAX_BATCH_DATA: usize = 1 << 20;
/// The longest a follow may wait on the server before answering "nothing new".
pub const MAX_FOLLOW_WAIT_MS: u64 = 30_000;
/// Largest message a proxy accepts (64 MiB elements plus frames).
pub const MAX_MESSAGE: i64 = (64 << 20) + 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Put,
    PutBatch,
    Get,
    Follow,
    Info,
    Create,
    Forward,
    Origin,
}

impl Op {
    pub fn token(self) -> &'static [u8] {
        match self {
            Op::Put => b"put",
            Op::PutBatch => b"putb",
            Op::Get => b"get",
            Op::Follow => b"follow",
            Op::Info => b"info",
            Op::Create => b"create",
            Op::Forward => b"fput",
            Op::Origin => b"origin",
        }
    }

    pub fn parse(b: &[u8]) -> Option<Op> {
        Some(match b {
            b"put" => Op::Put,
            b"putb" => Op::PutBatch,
            b"get" => Op::Get,
            b"follow" => Op::Follow,
            b"info" => Op::Info,
            b"create" => Op::Create,
            b"fput" => Op::Forward,
            b"origin" => Op::Origin,
            _ => return None,
        })
    }

    /// How many frames follow namespace and name.
    pub fn arity(self) -> usize {
        match self {
            Op::Put | Op::PutBatch => 4,
            Op::Get => 2,
            Op::Follow => 3,
            Op::Info => 0,
            Op::Create => 5,
            Op::Forward => 9,
            Op::Origin => 1,
        }
    }
}

/// A decimal frame, as CSPOT encodes numbers (a trailing NUL is tolerated).
pub fn num(n: u64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// CSPOT's failure value for numbers: 2^64 - 1.
pub const CSPOT_FAIL: u64 = u64::MAX;

/// A string frame as CSPOT 2.0 sends it: the bytes and a trailing NUL.
pub fn cspot_str(s: &str) -> Vec<u8> {
    let mut f = Vec::with_capacity(s.len() + 1);
    f.extend_from_slice(s.as_bytes());
    f.push(0);
    f
}

/// A number as CSPOT 2.0 sends it: decimal with a trailing NUL.
pub fn cspot_num(n: u64) -> Vec<u8> {
    cspot_str(&n.to_string())
}

/// Parses a decimal frame; `what` names it in the error.
pub fn parse_num(frame: &[u8], what: &str) -> Result<u64, Error> {
    let t = frame.strip_suffix(b"\0").unwrap_or(frame);
    std::str::from_utf8(t)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            Error::new(ErrorKind::Protocol, what.to_string()).detail(format!(
                "not a decimal number: {:?}",
                String::from_utf8_lossy(&frame[..frame.len().min(40)])
            ))
        })
}

/// A UTF-8 text frame (names, handler, cause), NUL-tolerant.
pub fn parse_text<'a>(frame: &'a [u8], what: &str) -> Result<&'a str, Error> {
    let t = frame.strip_suffix(b"\0").unwrap_or(frame);
    std::str::from_utf8(t)
        .map_err(|_| Error::new(ErrorKind::Protocol, what.to_string()).detail("not UTF-8"))
}

pub fn durability_token(d: Option<Durability>) -> &'static [u8] {
    match d {
        None => b"",
        Some(d) => d.name().as_bytes(),
    }
}

pub fn parse_durability(frame: &[u8]) -> Result<Option<Durability>, Error> {
    Ok(match frame {
        b"" => None,
        b"none" => Some(Durability::None),
        b"batch" => Some(Durability::Batch),
        b"always" => Some(Durability::Always),
        _ => {
            return Err(Error::new(ErrorKind::Protocol, "durability")
                .detail("expected none, batch, always or empty"));
        }
    })
}

/// The frames of an error reply.
pub fn error_reply(e: &Error) -> Vec<Vec<u8>> {
    let (token, a, b): (&str, u64, u64) = match e.kind() {
        ErrorKind::NotFound => ("notfound", 0, 0),
        ErrorKind::Exists => ("exists", 0, 0),
        ErrorKind::Empty => ("empty", 0, 0),
        ErrorKind::Evicted { seqno, oldest } => ("evicted", *seqno, *oldest),
        ErrorKind::NotYet { seqno, latest } => ("notyet", *seqno, *latest),
        ErrorKind::Size { expected, got } => ("size", *expected, *got),
        ErrorKind::Corrupt => ("corrupt", 0, 0),
        ErrorKind::Version { found, supported } => ("version", *found as u64, *supported as u64),
        ErrorKind::BadName => ("badname", 0, 0),
        ErrorKind::BadArgument => ("badargument", 0, 0),
        ErrorKind::BadData => ("baddata", 0, 0),
        ErrorKind::Locked => ("locked", 0, 0),
        ErrorKind::Denied => ("denied", 0, 0),
        ErrorKind::Timeout => ("timeout", 0, 0),
        ErrorKind::Full => ("full", 0, 0),
        ErrorKind::CantCreate => ("cantcreate", 0, 0),
        ErrorKind::Unavailable => ("unavailable", 0, 0),
        ErrorKind::Protocol => ("protocol", 0, 0),
        ErrorKind::Gap { mark } => ("gap", *mark, 0),
        ErrorKind::Reincarnated => ("reincarnated", 0, 0),
        _ => ("io", 0, 0),
    };
    vec![
        ERR.to_vec(),
        token.as_bytes().to_vec(),
        num(a),
        num(b),
        e.context().as_bytes().to_vec(),
        e.detail_text().unwrap_or("").as_bytes().to_vec(),
    ]
}

/// Rebuilds the error an `ERR` reply describes (frames after `ERR`).
pub fn parse_error(frames: &[Vec<u8>]) -> Error {
    let [token, a, b, context, detail] = frames else {
        return Error::new(ErrorKind::Protocol, "reply").detail("malformed error reply");
    };
    let (a, b) = (
        parse_num(a, "error").unwrap_or(0),
        parse_num(b, "error").unwrap_or(0),
    );
    let kind = match token.as_slice() {
        b"notfound" => ErrorKind::NotFound,
        b"exists" => ErrorKind::Exists,
        b"empty" => ErrorKind::Empty,
        b"evicted" => ErrorKind::Evicted {
            seqno: a,
            oldest: b,
        },
        b"notyet" => ErrorKind::NotYet {
            seqno: a,
            latest: b,
        },
        b"size" => ErrorKind::Size {
            expected: a,
            got: b,
        },
        b"corrupt" => ErrorKind::Corrupt,
        b"version" => ErrorKind::Version {
            found: a as u32,
            supported: b as u32,
        },
        b"badname" => ErrorKind::BadName,
        b"badargument" => ErrorKind::BadArgument,
        b"baddata" => ErrorKind::BadData,
        b"locked" => ErrorKind::Locked,
        b"denied" => ErrorKind::Denied,
        b"timeout" => ErrorKind::Timeout,
        b"full" => ErrorKind::Full,
        b"cantcreate" => ErrorKind::CantCreate,
        b"unavailable" => ErrorKind::Unavailable,
        b"protocol" => ErrorKind::Protocol,
        b"gap" => ErrorKind::Gap { mark: a },
        b"reincarnated" => ErrorKind::Reincarnated,
        _ => ErrorKind::Io,
    };
    let mut e = Error::new(kind, String::from_utf8_lossy(context).into_owned());
    if !detail.is_empty() {
        e = e.detail(String::from_utf8_lossy(detail).into_owned());
    }
    e
}

/// `Info` as the text of an info reply: `key=value` lines.
pub fn info_text(i: &Info) -> Vec<u8> {
    format!(
        "element_size={}\nhistory={}\nlatest={}\noldest={}\ndurability={}\ncreated_ns={}\nfile_len={}\nincarnation={}\nschema={}\n",
        i.element_size,
        i.history,
        i.latest,
        i.oldest,
        i.durability.name(),
        i.created_ns,
        i.file_len,
        i.incarnation,
        String::from_utf8_lossy(&i.schema).replace('\n', " "),
    )
    .into_bytes()
}

pub fn parse_info(text: &[u8]) -> Result<Info, Error> {
    let bad = |why: &str| Error::new(ErrorKind::Protocol, "info reply").detail(why.to_string());
    let text = std::str::from_utf8(text).map_err(|_| bad("not UTF-8"))?;
    let mut info = Info {
        element_size: 0,
        history: 0,
        latest: 0,
        oldest: 0,
        durability: Durability::None,
        created_ns: 0,
        schema: Vec::new(),
        file_len: 0,
        incarnation: 0,
    };
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let n = || {
            v.parse::<u64>()
                .map_err(|_| bad(&format!("{k} is not a number")))
        };
        match k {
            "element_size" => info.element_size = n()?,
            "history" => info.history = n()?,
            "latest" => info.latest = n()?,
            "oldest" => info.oldest = n()?,
            "created_ns" => info.created_ns = n()?,
            "file_len" => info.file_len = n()?,
            "incarnation" => info.incarnation = n()?,
            "durability" => {
                info.durability =
                    parse_durability(v.as_bytes())?.ok_or_else(|| bad("durability missing"))?
            }
            "schema" => info.schema = v.as_bytes().to_vec(),
            _ => {} // newer servers may add keys
        }
    }
    if info.element_size == 0 || info.history == 0 {
        return Err(bad("element_size or history missing"));
    }
    // Tools size their buffers by it: a geometry no woof can have (from a broken or
    // lying server) is an error here, not an allocation failure or overflow later.
    woof::format::check_geometry(info.element_size, info.history)
        .map_err(|e| bad(&format!("impossible woof: {}", e.context())))?;
    // Typed reads decode elements by the schema: it must fit them exactly. (A schema
    // that does not parse is reported where it is used.)
    if let Ok(Some(schema)) = woof::schema::Schema::from_header(&info.schema)
        && schema.element_size() as u64 != info.element_size
    {
        return Err(bad(&format!(
            "impossible woof: its schema makes {}-byte elements, not {}",
            schema.element_size(),
            info.element_size
        )));
    }
    Ok(info)
}

/// Packs element metadata for a get/follow reply.
pub fn push_meta(meta: &mut Vec<u8>, el: &Element) {
    meta.extend_from_slice(&el.seqno.to_le_bytes());
    meta.extend_from_slice(&el.time_ns.to_le_bytes());
}

/// A get/follow reply, decoded: elements `meta[i]` with data `data[i*size..]`.
#[derive(Debug, Default)]
pub struct Elements {
    pub latest: u64,
    pub oldest: u64,
    pub meta: Vec<Element>,
    pub data: Vec<u8>,
}

impl Elements {
    pub fn parse(frames: &[Vec<u8>], size: usize) -> Result<Elements, Error> {
        let bad = |why: &str| Error::new(ErrorKind::Protocol, "reply").detail(why.to_string());
        let [latest, oldest, meta, data] = frames else {
            return Err(bad("expected latest, oldest, meta, data"));
        };
        if !meta.len().is_multiple_of(META) || size == 0 || data.len() != meta.len() / META * size {
            return Err(bad("element frames do not match the element size"));
        }
        let meta = meta
            .chunks_exact(META)
            .map(|m| {
                let mut s = [0u8; 8];
                let mut t = [0u8; 8];
                s.copy_from_slice(&m[..8]);
                t.copy_from_slice(&m[8..]);
                Element {
                    seqno: u64::from_le_bytes(s),
                    time_ns: u64::from_le_bytes(t),
                }
            })
            .collect();
        Ok(Elements {
            latest: parse_num(latest, "latest")?,
            oldest: parse_num(oldest, "oldest")?,
            meta,
            data: data.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_with_their_exit_codes() {
        let e = Error::new(
            ErrorKind::Evicted {
                seqno: 3,
                oldest: 17,
            },
            "temps",
        );
        let frames = error_reply(&e);
        let back = parse_error(&frames[1..]);
        assert_eq!(back.to_string(), "temps: seqno 3 evicted (oldest is 17)");
        assert_eq!(back.exit_code(), 66);
        let e = Error::new(ErrorKind::Denied, "temps").detail("no write right");
        let back = parse_error(&error_reply(&e)[1..]);
        assert_eq!(
            (back.to_string().as_str(), back.exit_code()),
            ("temps: no write right", 77)
        );
        assert_eq!(parse_error(&[]).kind(), &ErrorKind::Protocol);
    }

    #[test]
    fn info_round_trips() {
        let i = Info {
            element_size: 64,
            history: 10,
            latest: 5,
            oldest: 1,
            durability: Durability::Batch,
            created_ns: 7,
            schema: b"a:u8,b:str63".to_vec(),
            file_len: 4096 + 880,
            incarnation: 0xfeed,
        };
        assert_eq!(parse_info(&info_text(&i)).expect("info"), i);
        for (size, history) in [(1u64 << 60, 10), (u64::MAX, 10), (64, u64::MAX)] {
            let bad = Info {
                element_size: size,
                history,
                ..i.clone()
            };
            let e = parse_info(&info_text(&bad)).expect_err("impossible geometry");
            assert_eq!(e.kind(), &ErrorKind::Protocol, "{e}");
        }
        // A schema must make elements of the woof's size (a:u8 makes 1 byte, not 64).
        let bad = Info {
            schema: b"a:u8".to_vec(),
            ..i.clone()
        };
        let e = parse_info(&info_text(&bad)).expect_err("schema and size disagree");
        assert_eq!(
            e.to_string(),
            "info reply: impossible woof: its schema makes 1-byte elements, not 64"
        );
    }

    #[test]
    fn numbers_tolerate_a_trailing_nul_and_nothing_else() {
        assert_eq!(parse_num(b"42\0", "n").expect("nul"), 42);
        for bad in [&b""[..], b"-1", b"4 2", b"99999999999999999999", b"x"] {
            assert!(parse_num(bad, "n").is_err(), "{bad:?}");
        }
    }
}

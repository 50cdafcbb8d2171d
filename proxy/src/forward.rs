//! The destination side of woof-forward (DESIGN §9): forwarded batches, appended
//! once per source element whatever the forwarder resends, and the origin's mark the
//! forwarder asks for when it connects. The dedup itself lives with the woof
//! (`woof::origins`); here are only the frames and who may forward as whom.

use woof::origins::{Batch, OriginId};
use woof::put_run::Triggered;
use woof::{Error, ErrorKind, Namespace, Woof};
use woof_net::proto::{self, MAX_BATCH_DATA, OK, num, parse_num, parse_text};

type Frames = Vec<Vec<u8>>;

/// The origin a client names, scoped to the key it authenticated with: a client
/// cannot advance (or read) another key's marks by naming its origin.
fn origin_id(frame: &[u8], user: Option<&str>) -> Result<OriginId, Error> {
    let origin = parse_text(frame, "origin")?;
    if origin.is_empty() || origin.len() > 1024 {
        return Err(
            Error::new(ErrorKind::Protocol, "origin").detail("empty or longer than 1024 bytes")
        );
    }
    Ok(OriginId::new(origin, user))
}

/// `fput`: origin, incarnation, first, flags, handler, cause, durability, times, elements.
pub fn put(
    ns: &Namespace,
    woof: &Woof,
    name: &str,
    user: Option<&str>,
    args: &[Vec<u8>],
) -> Result<Frames, Error> {
    let origin = origin_id(&args[0], user)?;
    let incarnation = parse_num(&args[1], "incarnation")?;
    let first = parse_num(&args[2], "first")?;
    let flags = parse_text(&args[3], "flags")?;
    let (mut lost, mut reset) = (false, false);
    for flag in flags.split(',').filter(|f| !f.is_empty()) {
        match flag {
            "lost" => lost = true,
            "reset" => reset = true,
            _ => {
                return Err(Error::new(ErrorKind::Protocol, "flags")
                    .detail(format!("unknown flag {flag:?} (expected lost, reset)")));
            }
        }
    }
    let handler = parse_text(&args[4], "handler")?;
    let cause = parse_text(&args[5], "cause")?;
    let durability = proto::parse_durability(&args[6])?.unwrap_or(woof.header().durability);
    let (times, data) = (&args[7], &args[8]);
    let size = woof.element_size();
    if data.len() > MAX_BATCH_DATA.max(size) || !times.len().is_multiple_of(8) {
        return Err(Error::new(ErrorKind::BadData, name).detail(format!(
            "a forwarded batch of {} bytes (at most {})",
            data.len(),
            MAX_BATCH_DATA.max(size)
        )));
    }
    if data.len() != times.len() / 8 * size {
        // The source's elements are of another size than this woof's.
        let got = if times.is_empty() {
            data.len()
        } else {
            data.len() / (times.len() / 8)
        };
        return Err(Error::new(
            ErrorKind::Size {
                expected: size as u64,
                got: got as u64,
            },
            name,
        ));
    }
    let times: Vec<u64> = times
        .chunks_exact(8)
        .map(|t| u64::from_le_bytes(t.try_into().unwrap_or_default()))
        .collect();
    let log = match handler {
        "" => None,
        h => {
            ns.handler_path(h)?;
            Some(ns.trigger_log()?)
        }
    };
    let trigger = log.as_ref().map(|log| Triggered {
        log,
        handler,
        cause,
    });
    let batch = Batch {
        origin,
        incarnation,
        first,
        lost,
        reset,
        data,
        times: &times,
    };
    let out = woof.put_forwarded(name, &batch, trigger.as_ref(), durability)?;
    Ok(vec![
        OK.to_vec(),
        num(out.state.mark),
        num(out.state.gaps),
        num(out.appended),
        num(out.duplicates),
        num(out.state.incarnation),
    ])
}

/// `origin`: what this woof holds of an origin, and its info (the forwarder checks
/// geometry and schema before it sends anything).
pub fn origin(
    woof: &Woof,
    name: &str,
    user: Option<&str>,
    args: &[Vec<u8>],
) -> Result<Frames, Error> {
    let origin = origin_id(&args[0], user)?;
    let state = woof.origin(&origin).map_err(|e| e.within(name))?;
    let s = state.unwrap_or_default();
    Ok(vec![
        OK.to_vec(),
        num(u64::from(state.is_some())),
        num(s.incarnation),
        num(s.mark),
        num(s.gaps),
        proto::info_text(&woof.info()),
    ])
}

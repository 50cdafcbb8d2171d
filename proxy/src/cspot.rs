//! CSPOT's wire protocol (cspot-spec §4.5), bit-compatible so unmodified CSPOT
//! clients work: tag 1 put, 2 element size, 3 get, 4 tail, 5 latest seqno; decimal
//! string frames (a trailing NUL tolerated on input, sent on output as CSPOT 2.0
//! does), an empty handler frame for no handler.
//!
//! Where the original stayed silent (a bad request, a missing woof, a refusal) and
//! let the client hang for its 3 s timeout, this replies at once with CSPOT's own
//! failure value: 2^64-1 for numbers, an empty frame for data. Unlike the original,
//! a put must carry exactly the element size, and names (woof and handler) pass the
//! same checks as local ones.

use woof::put_run::{PutRun, Triggered};
use woof::{Durability, Error, ErrorKind, Namespace, Woof};
use woof_net::Uri;
use woof_net::proto::{CSPOT_FAIL as FAIL, MAX_REPLY_DATA, cspot_num as number, parse_num};

use crate::auth::{READ, TRIGGER, WRITE};
use crate::cache::Cache;
use crate::request::{Request, Shared};

/// Whether a request's first frame is a CSPOT tag (a decimal number).
pub fn is_cspot(frames: &[Vec<u8>]) -> bool {
    frames.first().is_some_and(|t| {
        let t = t.strip_suffix(b"\0").unwrap_or(t);
        !t.is_empty() && t.len() <= 3 && t.iter().all(u8::is_ascii_digit)
    })
}

/// What a CSPOT client reads as "failed" when the proxy is too busy to serve it.
pub fn busy_reply() -> Vec<Vec<u8>> {
    vec![number(FAIL)]
}

/// Whether the request cannot wait on anything (see `server::quick`): everything
/// but a put with a handler, to a woof that syncs, or to a woof whose lock is held.
pub fn is_quick(shared: &Shared, cache: &Cache, req: &Request) -> bool {
    let f = req.frames;
    if parse_num(&f[0], "tag").ok() != Some(1) || f.len() != 4 {
        return true;
    }
    let text = f[1].strip_suffix(b"\0").unwrap_or(&f[1]);
    let Some(uri) = std::str::from_utf8(text)
        .ok()
        .and_then(|t| Uri::parse(t).ok())
    else {
        return true;
    };
    let Some(export) = req
        .exports
        .iter()
        .copied()
        .find(|&i| shared.exports[i].path == uri.namespace)
    else {
        return true;
    };
    if !f[2].strip_suffix(b"\0").unwrap_or(&f[2]).is_empty() {
        return false;
    }
    cache
        .get(export, &shared.exports[export].ns, &uri.name)
        .map_or(true, |w| {
            w.header().durability == Durability::None && !w.writers_busy()
        })
}

pub fn handle(shared: &Shared, cache: &Cache, req: &Request) -> Vec<Vec<u8>> {
    let f = req.frames;
    let tag = parse_num(&f[0], "tag").unwrap_or(0);
    let result = serve(shared, cache, req, tag);
    match (tag, result) {
        (_, Ok(reply)) => reply,
        (3, Err(_)) => vec![Vec::new()],
        (4, Err(_)) => vec![number(FAIL), Vec::new()],
        (_, Err(_)) => vec![number(FAIL)],
    }
}

fn serve(shared: &Shared, cache: &Cache, req: &Request, tag: u64) -> Result<Vec<Vec<u8>>, Error> {
    let f = req.frames;
    let arity = match tag {
        1 => 4,
        2 | 5 => 2,
        3 | 4 => 3,
        _ => return Err(Error::new(ErrorKind::Protocol, "CSPOT tag")),
    };
    if f.len() != arity {
        return Err(Error::new(ErrorKind::Protocol, "CSPOT frames"));
    }
    let text = f[1].strip_suffix(b"\0").unwrap_or(&f[1]);
    let uri = std::str::from_utf8(text)
        .map_err(|_| Error::new(ErrorKind::Protocol, "CSPOT URI"))
        .and_then(Uri::parse)?;
    let export = req
        .exports
        .iter()
        .copied()
        .find(|&i| shared.exports[i].path == uri.namespace)
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "namespace"))?;
    let ns: &Namespace = &shared.exports[export].ns;
    let rights = shared.policy.rights(&uri.namespace, req.user);
    let allow = |r: u8| {
        if rights & r == r {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::Denied, "CSPOT"))
        }
    };
    match tag {
        1 => {
            allow(WRITE)?;
            let handler = f[2].strip_suffix(b"\0").unwrap_or(&f[2]);
            let handler = std::str::from_utf8(handler)
                .map_err(|_| Error::new(ErrorKind::BadName, "handler"))?;
            let woof = &*cache.get(export, ns, &uri.name)?;
            woof.check_size(f[3].len())?;
            let log = match handler {
                "" => None,
                h => {
                    allow(TRIGGER)?;
                    ns.handler_path(h)?;
                    Some(ns.trigger_log()?)
                }
            };
            let trigger = log.as_ref().map(|log| Triggered {
                log,
                handler,
                cause: "",
            });
            let mut run = PutRun::new(woof, &uri.name, trigger);
            let seqno = run.append(&f[3])?;
            run.finish(woof.header().durability)?;
            Ok(vec![number(seqno)])
        }
        2 => {
            allow(READ)?;
            Ok(vec![number(
                cache.get(export, ns, &uri.name)?.element_size() as u64,
            )])
        }
        3 => {
            allow(READ)?;
            let woof = &*cache.get(export, ns, &uri.name)?;
            let mut buf = vec![0u8; woof.element_size()];
            woof.get(parse_num(&f[2], "seqno")?, &mut buf)?;
            Ok(vec![buf])
        }
        4 => {
            allow(READ)?;
            let woof = &*cache.get(export, ns, &uri.name)?;
            Ok(tail(woof, parse_num(&f[2], "count")?))
        }
        _ => {
            allow(READ)?;
            Ok(vec![number(cache.get(export, ns, &uri.name)?.latest())])
        }
    }
}

/// `WooFReadTail`: up to `count` of the newest elements, newest first — at most a
/// get reply's worth (MAX_REPLY_DATA, one element at least), since the reply is
/// built in memory and CSPOT has no way to ask for more; the count frame says how
/// many were read, which may be fewer than asked, as for WooFReadTail.
fn tail(woof: &Woof, count: u64) -> Vec<Vec<u8>> {
    let size = woof.element_size();
    let latest = woof.latest();
    let oldest = woof.oldest_for(latest);
    let want = count
        .min(woof.history())
        .min((MAX_REPLY_DATA / size).max(1) as u64)
        .min(if latest == 0 { 0 } else { latest - oldest + 1 });
    let mut data = vec![0u8; want as usize * size];
    let mut got = 0usize;
    for s in (oldest.max(1)..=latest).rev().take(want as usize) {
        if woof.get(s, &mut data[got * size..(got + 1) * size]).is_ok() {
            got += 1;
        }
    }
    data.truncate(got * size);
    vec![number(got as u64), data]
}

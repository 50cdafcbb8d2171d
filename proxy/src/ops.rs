//! woof's own protocol on the server side (woof(7), "Network protocol"; the codec is
//! `woof_net::proto`). Every request gets a reply: `OK ...` or an error that the
//! client turns back into the local error, with the same message and exit code.

use std::sync::Arc;
use std::time::Duration;

use woof::put_run::{PutRun, Triggered};
use woof::{CreateOptions, Durability, Error, ErrorKind, Namespace, Woof};
use woof_net::proto::{
    self, MAX_BATCH_DATA, MAX_FOLLOW_WAIT_MS, MAX_REPLY_DATA, META, OK, Op, num, parse_num,
    parse_text,
};

use crate::auth::{self, CREATE, READ, TRIGGER, WRITE};
use crate::cache::Cache;
use crate::request::{Request, Shared};

type Frames = Vec<Vec<u8>>;

/// Whether a request is a follow: those that wait are parked, not given a thread.
pub fn is_follow(frames: &[Vec<u8>]) -> bool {
    frames.len() > 1 && frames[0] == proto::MAGIC && frames[1] == Op::Follow.token()
}

pub fn handle(shared: &Shared, cache: &Cache, req: &Request) -> Frames {
    match serve(shared, cache, req, false) {
        Ok(Served::Reply(frames)) => frames,
        // Not asked to park: `serve` waits itself.
        Ok(Served::Park(_)) => proto::error_reply(&protocol("follow", "parked")),
        Err(e) => proto::error_reply(&e),
    }
}

/// A follow that has to wait for a put: what the parker needs to answer it.
pub struct Wait {
    pub woof: Arc<Woof>,
    pub after: u64,
    pub wait: Duration,
    pub max: u64,
}

/// A follow request, checked as any other: `Ok` when it has to wait (to be parked
/// on its woof), `Err` with the reply when it is answered at once (data already
/// there, no wait asked, or an error).
pub fn follow_or_reply(shared: &Shared, cache: &Cache, req: &Request) -> Result<Wait, Frames> {
    match serve(shared, cache, req, true) {
        Ok(Served::Park(w)) => Ok(w),
        Ok(Served::Reply(frames)) => Err(frames),
        Err(e) => Err(proto::error_reply(&e)),
    }
}

/// The reply to a follow of `woof` after `after`: what it holds now (the parker
/// calls it on a put or at the follow's deadline).
pub fn follow_reply(woof: &Woof, after: u64, max: u64) -> Frames {
    elements(woof, after.saturating_add(1), u64::MAX, max.max(1))
}

enum Served {
    Reply(Frames),
    Park(Wait),
}

/// Whether the request cannot wait on anything: a get, an info, or a put without
/// a handler that needs no sync, to a woof whose lock is free (a writer stopped
/// while holding it must not stall the thread that serves everyone; see
/// `server::quick`).
pub fn is_quick(shared: &Shared, cache: &Cache, req: &Request) -> bool {
    let f = req.frames;
    if f.len() < 4 || f[0] != proto::MAGIC {
        return true; // answered with an error at once
    }
    match Op::parse(&f[1]) {
        Some(Op::Get | Op::Info) => true,
        // A follow with something to return at once is a get: answered here, not
        // parked (parker.rs), so followers told "busy" while the parker is full
        // still get what was put.
        Some(Op::Follow) if f.len() == 7 => follow_needs_no_wait(shared, cache, req),
        // Handler and durability frames: put/putb's, then fput's (a forwarded batch
        // without a handler is a put like any other).
        Some(Op::Put | Op::PutBatch) if f.len() == 8 => quick_put(shared, cache, req, &f[4], &f[6]),
        Some(Op::Forward) if f.len() == 13 => quick_put(shared, cache, req, &f[8], &f[10]),
        _ => false,
    }
}

/// Whether a put with these handler and durability frames can go without waiting:
/// no handler, no sync asked for, and the woof's lock free (see `put_needs_no_wait`).
fn quick_put(
    shared: &Shared,
    cache: &Cache,
    req: &Request,
    handler: &[u8],
    durability: &[u8],
) -> bool {
    if !handler.is_empty() {
        return false;
    }
    let sync = match durability {
        b"none" => Some(false),
        b"" => None,
        _ => Some(true),
    };
    sync != Some(true) && put_needs_no_wait(shared, cache, req, sync.is_none())
}

/// Whether a follow can be answered at once: its woof holds elements after the
/// seqno it follows from, or it asks not to wait.
fn follow_needs_no_wait(shared: &Shared, cache: &Cache, req: &Request) -> bool {
    let f = req.frames;
    let (Ok(after), Ok(wait)) = (parse_num(&f[4], "after"), parse_num(&f[5], "wait_ms")) else {
        return true; // answered with an error at once
    };
    named_woof(shared, cache, req).is_none_or(|w| wait == 0 || w.latest() > after)
}

/// Whether a put to the woof a request names can go without waiting: its lock is
/// free, and (`by_default`) it does not sync by default.
fn put_needs_no_wait(shared: &Shared, cache: &Cache, req: &Request, by_default: bool) -> bool {
    named_woof(shared, cache, req).is_none_or(|w| {
        (!by_default || w.header().durability == Durability::None) && !w.writers_busy()
    })
}

/// The woof a request names, for deciding where it is served; None when the
/// request will be answered with an error at once (bad name, no such export/woof).
fn named_woof(shared: &Shared, cache: &Cache, req: &Request) -> Option<Arc<Woof>> {
    let f = req.frames;
    let ns_path = parse_text(&f[2], "namespace").ok()?;
    let name = parse_text(&f[3], "name").ok()?;
    let (export, ns) = find_export(shared, req.exports, ns_path).ok()?;
    cache.get(export, ns, name).ok()
}

fn protocol(what: &str, why: &str) -> Error {
    Error::new(ErrorKind::Protocol, what.to_string()).detail(why.to_string())
}

fn serve(shared: &Shared, cache: &Cache, req: &Request, park: bool) -> Result<Served, Error> {
    let f = req.frames;
    if f.first().map(Vec::as_slice) != Some(proto::MAGIC) {
        return Err(protocol(
            "request",
            "unsupported protocol version (this proxy speaks WOOF/1)",
        ));
    }
    let op = f
        .get(1)
        .and_then(|o| Op::parse(o))
        .ok_or_else(|| protocol("request", "unknown operation"))?;
    if f.len() != 4 + op.arity() {
        return Err(protocol(
            "request",
            &format!(
                "{} takes {} frames, got {}",
                String::from_utf8_lossy(op.token()),
                4 + op.arity(),
                f.len()
            ),
        ));
    }
    let ns_path = parse_text(&f[2], "namespace")?;
    let name = parse_text(&f[3], "woof name")?;
    let (export, ns) = find_export(shared, req.exports, ns_path)?;
    woof::name::validate("woof name", name)?;
    let rights = shared.policy.rights(ns_path, req.user);
    let need = |right: u8| -> Result<(), Error> {
        if rights & right == right {
            return Ok(());
        }
        Err(Error::new(ErrorKind::Denied, name).detail(format!(
            "{} has no {} right in {ns_path}",
            req.user.unwrap_or("this client"),
            auth::right_name(right)
        )))
    };
    let args = &f[4..];
    let reply = match op {
        Op::Create => {
            need(CREATE)?;
            create(ns, name, args)
        }
        Op::Put | Op::PutBatch => {
            need(WRITE)?;
            let handler = parse_text(&args[0], "handler")?;
            if !handler.is_empty() {
                need(TRIGGER)?;
            }
            let woof = &*cache.get(export, ns, name)?;
            put(ns, woof, name, handler, args, op == Op::PutBatch)
        }
        Op::Get => {
            need(READ)?;
            let woof = &*cache.get(export, ns, name)?;
            get(
                woof,
                parse_num(&args[0], "from")?,
                parse_num(&args[1], "to")?,
            )
        }
        Op::Follow => {
            need(READ)?;
            let woof = cache.get(export, ns, name)?;
            let wait = parse_num(&args[1], "wait_ms")?
                .min(MAX_FOLLOW_WAIT_MS)
                .min(shared.follow_cap.as_millis() as u64);
            let (after, max) = (parse_num(&args[0], "after")?, parse_num(&args[2], "max")?);
            let wait = Duration::from_millis(wait);
            if park && !wait.is_zero() && woof.latest() <= after {
                return Ok(Served::Park(Wait {
                    woof,
                    after,
                    wait,
                    max,
                }));
            }
            follow(&woof, after, wait, max)
        }
        Op::Forward => {
            need(WRITE)?;
            let handler = parse_text(&args[4], "handler")?;
            if !handler.is_empty() {
                need(TRIGGER)?;
            }
            let woof = &*cache.get(export, ns, name)?;
            crate::forward::put(ns, woof, name, req.user, args)
        }
        Op::Origin => {
            need(WRITE)?;
            let woof = &*cache.get(export, ns, name)?;
            crate::forward::origin(woof, name, req.user, args)
        }
        Op::Info => {
            // A writer needs the geometry and schema to encode a put (--pad, --csv,
            // --json, --lines); only element data needs the read right.
            if rights & WRITE == 0 {
                need(READ)?;
            }
            let woof = &*cache.get(export, ns, name)?;
            Ok(vec![OK.to_vec(), proto::info_text(&woof.info())])
        }
    };
    reply.map(Served::Reply)
}

fn find_export<'s>(
    shared: &'s Shared,
    served: &[usize],
    path: &str,
) -> Result<(usize, &'s Namespace), Error> {
    served
        .iter()
        .copied()
        .find(|&i| shared.exports[i].path == path)
        .map(|i| (i, &shared.exports[i].ns))
        .ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("namespace {path}")).detail("not exported here")
        })
}

fn create(ns: &Namespace, name: &str, args: &[Vec<u8>]) -> Result<Frames, Error> {
    let mut opts = CreateOptions::new(
        parse_num(&args[0], "element_size")?,
        parse_num(&args[1], "history")?,
    );
    if let Some(d) = proto::parse_durability(&args[2])? {
        opts.durability = d;
    }
    if !args[3].is_empty() {
        // The same checks as woof-create's: a schema from the network is input.
        let text = parse_text(&args[3], "schema")?;
        let schema = woof::schema::Schema::parse(text)
            .and_then(|s| woof::records::check_defaults(&s).map(|()| s))
            .map_err(|e| e.within(name))?;
        if schema.element_size() as u64 != opts.element_size {
            return Err(Error::new(ErrorKind::BadData, name).detail(format!(
                "the schema makes {}-byte elements, not {}",
                schema.element_size(),
                opts.element_size
            )));
        }
        opts.schema = schema.text().into_bytes();
    }
    opts.force = match args[4].as_slice() {
        b"0" => false,
        b"1" => true,
        _ => return Err(protocol("force", "expected 0 or 1")),
    };
    let woof = ns.create_woof(name, &opts)?;
    Ok(vec![OK.to_vec(), proto::info_text(&woof.info())])
}

fn put(
    ns: &Namespace,
    woof: &Woof,
    name: &str,
    handler: &str,
    args: &[Vec<u8>],
    batch: bool,
) -> Result<Frames, Error> {
    let cause = parse_text(&args[1], "cause")?;
    let durability = proto::parse_durability(&args[2])?.unwrap_or(woof.header().durability);
    let data = &args[3];
    let size = woof.element_size();
    if !batch {
        woof.check_size(data.len()).map_err(|e| e.within(name))?;
    } else if data.is_empty()
        || !data.len().is_multiple_of(size)
        || data.len() > MAX_BATCH_DATA.max(size)
    {
        return Err(Error::new(ErrorKind::BadData, name).detail(format!(
            "a batch of {} bytes is not 1 or more whole {size}-byte elements (at most {} bytes)",
            data.len(),
            MAX_BATCH_DATA.max(size)
        )));
    }
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
    let mut run = PutRun::new(woof, name, trigger);
    for el in data.chunks_exact(size) {
        if let Err(e) = run.append(el) {
            // Say what was put before the element that failed, after why it failed.
            return Err(match run.range() {
                Some((first, last)) => {
                    let why = e
                        .detail_text()
                        .map(|d| format!("{d}; "))
                        .unwrap_or_default();
                    e.detail(format!("{why}put {first}..{last} before this"))
                }
                None => e,
            });
        }
    }
    run.finish(durability)?;
    let (first, last) = run.range().unwrap_or((0, 0));
    Ok(if batch {
        vec![OK.to_vec(), num(first), num(last)]
    } else {
        vec![OK.to_vec(), num(first)]
    })
}

/// Elements `from..=to` that are held (0..0: the latest), at most MAX_REPLY_DATA
/// bytes; the client works out what is missing from latest and oldest.
fn get(woof: &Woof, from: u64, to: u64) -> Result<Frames, Error> {
    let latest = woof.latest();
    let (from, to) = if from == 0 {
        (latest, latest)
    } else {
        (from, if to == 0 { latest } else { to })
    };
    Ok(elements(woof, from, to, u64::MAX))
}

fn follow(woof: &Woof, after: u64, wait: Duration, max: u64) -> Result<Frames, Error> {
    if woof.latest() <= after {
        woof.wait_after(after, Some(wait));
    }
    Ok(follow_reply(woof, after, max))
}

fn elements(woof: &Woof, from: u64, to: u64, max: u64) -> Frames {
    let size = woof.element_size();
    let latest = woof.latest();
    let mut s = from.max(woof.oldest_for(latest)).max(1);
    let to = to.min(latest);
    let room = (MAX_REPLY_DATA / size).max(1) as u64;
    let n = to.saturating_add(1).saturating_sub(s).min(room).min(max);
    let mut meta = Vec::with_capacity(n as usize * META);
    let mut data = vec![0u8; n as usize * size];
    let mut got = 0usize;
    while s <= to && (got as u64) < n {
        match woof.get(s, &mut data[got * size..(got + 1) * size]) {
            Ok(el) => {
                proto::push_meta(&mut meta, &el);
                got += 1;
                s += 1;
            }
            // Overwritten while we copied: go on from what is held now.
            Err(e) => match e.kind() {
                ErrorKind::Evicted { oldest, .. } => s = (*oldest).max(s + 1),
                // A corrupt slot is never returned as data.
                _ => s += 1,
            },
        }
    }
    data.truncate(got * size);
    vec![
        OK.to_vec(),
        num(latest),
        num(woof.oldest_for(woof.latest())),
        meta,
        data,
    ]
}

//! CSPOT's wire protocol from the client side (cspot-spec §4.5: tags 1, 2, 3 and
//! 5), so the tools reach a CSPOT host (woofc-namespace-platform) during a
//! migration: `cspot://HOST[:PORT]/NAMESPACE/NAME`, the port CSPOT's for the path
//! unless given. What the protocol cannot carry (ranges, create, schemas, keys,
//! durability) is refused by the tools, named.
//!
//! A CSPOT server answers what it cannot parse with silence, so every request is
//! bounded by the timeout, and an empty reply to a get means only "no such
//! element" (CSPOT does not say whether it was overwritten or not yet written).

use std::time::{Duration, Instant};

use woof::{Error, ErrorKind};

use crate::Uri;
use crate::proto::{CSPOT_FAIL as FAILED, cspot_str as frame, parse_num};
use crate::zmtp::{Conn, Security};

pub const SCHEME: &str = "cspot://";

pub fn is_cspot(s: &str) -> bool {
    s.starts_with(SCHEME)
}

/// A `cspot://` URI, as the `woof://` URI of the same host, namespace and name.
pub fn parse(s: &str) -> Result<Uri, Error> {
    let rest = s.strip_prefix(SCHEME).ok_or_else(|| {
        Error::new(ErrorKind::BadName, format!("URI '{s}'")).detail("does not start with cspot://")
    })?;
    Uri::parse(&format!("{}{rest}", crate::uri::SCHEME)).map_err(|e| {
        let text = e.to_string().replace("woof://", SCHEME);
        Error::new(e.kind().clone(), text)
    })
}

/// A decimal reply (a trailing NUL tolerated).
fn number(reply: &[u8]) -> Option<u64> {
    parse_num(reply, "reply").ok()
}

pub struct CspotClient {
    conn: Conn,
    uri: Uri,
    /// The URI frame CSPOT's server takes (it opens the woof by its last component).
    target: Vec<u8>,
    timeout: Duration,
}

impl CspotClient {
    pub fn connect(uri: &Uri, timeout: Duration) -> Result<CspotClient, Error> {
        let deadline = Instant::now() + timeout;
        let ctx = shown(uri);
        let addr = uri.resolve()?;
        let conn = Conn::connect(addr, &Security::Null, deadline)
            .map_err(|e| Error::new(e.error_kind(), ctx.clone()).detail(e.to_string()))?;
        Ok(CspotClient {
            conn,
            uri: uri.clone(),
            target: frame(&uri.to_string()),
            timeout,
        })
    }

    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    fn call(&mut self, tag: &str, args: &[&[u8]], what: &str) -> Result<Vec<u8>, Error> {
        let deadline = Instant::now() + self.timeout;
        let tag = frame(tag);
        let mut parts: Vec<&[u8]> = vec![&tag, &self.target];
        parts.extend_from_slice(args);
        let ctx = shown(&self.uri);
        let reply = self.conn.request(&parts, deadline).map_err(|e| {
            let detail = if e.error_kind() == ErrorKind::Timeout {
                format!(
                    "no reply to {what} within {} (a CSPOT server does not answer what it \
                     refuses: is the woof there?)",
                    humantime::format_duration(self.timeout)
                )
            } else {
                e.to_string()
            };
            Error::new(e.error_kind(), ctx.clone()).detail(detail)
        })?;
        Ok(reply.into_iter().next().unwrap_or_default())
    }

    fn missing(&self) -> Error {
        Error::new(ErrorKind::NotFound, shown(&self.uri)).detail("no such woof on the CSPOT host")
    }

    /// Tag 2: the woof's element size.
    pub fn element_size(&mut self) -> Result<usize, Error> {
        let r = self.call("2", &[], "its element size")?;
        match number(&r) {
            Some(FAILED) => Err(self.missing()),
            Some(n) => Ok(n as usize),
            None => Err(self.bad_reply()),
        }
    }

    /// Tag 5: the latest seqno (0: empty).
    pub fn latest(&mut self) -> Result<u64, Error> {
        let r = self.call("5", &[], "its latest seqno")?;
        match number(&r) {
            Some(FAILED) => Err(self.missing()),
            Some(n) => Ok(n),
            None => Err(self.bad_reply()),
        }
    }

    /// Tag 3: element `seqno` (0: the latest); an empty reply is no such element.
    pub fn get(&mut self, seqno: u64) -> Result<Vec<u8>, Error> {
        let s = crate::proto::cspot_num(seqno);
        let r = self.call("3", &[&s], &format!("a get of seqno {seqno}"))?;
        if r.is_empty() {
            return Err(
                Error::new(ErrorKind::NotFound, shown(&self.uri)).detail(format!(
                    "the CSPOT host has no element {seqno} (overwritten or not yet written: \
                 CSPOT's protocol does not say which)"
                )),
            );
        }
        Ok(r)
    }

    /// Tag 1: puts `data` (the element size), firing `handler` if not empty.
    pub fn put(&mut self, handler: &str, data: &[u8]) -> Result<u64, Error> {
        let h = if handler.is_empty() {
            Vec::new()
        } else {
            frame(handler)
        };
        let r = self.call("1", &[&h, data], "a put")?;
        match number(&r) {
            Some(FAILED) => Err(Error::new(ErrorKind::Denied, shown(&self.uri))
                .detail("the CSPOT host refused the put")),
            Some(n) => Ok(n),
            None => Err(self.bad_reply()),
        }
    }

    fn bad_reply(&self) -> Error {
        Error::new(ErrorKind::Protocol, shown(&self.uri))
            .detail("not a CSPOT reply (is this a CSPOT host?)")
    }
}

/// The URI as the user wrote it: cspot://…
pub fn shown(uri: &Uri) -> String {
    uri.to_string().replacen(crate::uri::SCHEME, SCHEME, 1)
}

/// Whether `uri`'s host speaks only CSPOT's protocol, asked on a connection of
/// its own within `limit`: a woof request (info) and a CSPOT one (tag 5, latest)
/// go out together; a woof-proxy answers both, a CSPOT server only the second
/// (it drops what it cannot parse). For a woof:// request that got no reply.
pub fn answers_only_cspot(uri: &Uri, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let Ok(addr) = uri.resolve() else {
        return false;
    };
    let Ok(mut conn) = Conn::connect(addr, &Security::Null, deadline) else {
        return false;
    };
    let woof_info: [&[u8]; 4] = [
        crate::proto::MAGIC,
        crate::proto::Op::Info.token(),
        uri.namespace.as_bytes(),
        uri.name.as_bytes(),
    ];
    let (tag, target) = (frame("5"), frame(&uri.to_string()));
    if conn.send_request(&woof_info, deadline).is_err()
        || conn.send_request(&[&tag, &target], deadline).is_err()
    {
        return false;
    }
    let mut cspot = false;
    while let Ok(reply) = conn.recv_reply(deadline) {
        match reply.first().map(Vec::as_slice) {
            Some(crate::proto::OK | crate::proto::ERR) => return false,
            Some(r) if number(r).is_some() => cspot = true,
            _ => return false,
        }
    }
    cspot
}

//! A Redis stream (`redis://[USER:PASSWORD@]HOST[:PORT]/KEY`): each element is one
//! entry `XADD KEY SEQNO-0 origin O incarnation I put_time T data|json|csv BODY`,
//! its id the source seqno, so Redis itself refuses a replay (an id at or below the
//! stream's last), and the stream's last entry says where to resume. One origin per
//! stream: the ids are the origin's seqnos.
//!
//! Acknowledged means Redis answered the XADD: in its memory, on disk only as its
//! persistence says (`appendonly yes` with `appendfsync always` for every write).

use std::time::Duration;

use woof::{Error, ErrorKind};

use super::{Acked, Mark, Opening, Outgoing, Sink};
use crate::forward::body::{Body, BodyFormat};
use crate::forward::engine_uri::EngineUri;

pub struct RedisSink {
    /// The URI as given, for messages (without the password).
    shown: String,
    url: String,
    key: String,
    timeout: Duration,
    format: BodyFormat,
    con: Option<redis::Connection>,
    body: Option<Body>,
    size: usize,
    /// Acknowledgements of batches sent (Redis answers a pipeline at once).
    done: std::collections::VecDeque<Acked>,
    last: u64,
}

fn fail(shown: &str, e: &redis::RedisError) -> Error {
    let kind = if e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
    {
        ErrorKind::Unavailable
    } else if matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM")) {
        return Error::new(ErrorKind::Denied, shown.to_string()).detail(format!(
            "Redis refused us ({}): give the user and password as redis://USER:PASSWORD@HOST/KEY",
            e.detail().unwrap_or("authentication required").trim()
        ));
    } else {
        ErrorKind::Protocol
    };
    let why = e.to_string();
    let detail = if kind == ErrorKind::Unavailable {
        format!("unreachable: {why}")
    } else {
        why
    };
    Error::new(kind, shown.to_string()).detail(detail)
}

impl RedisSink {
    /// Parses `redis://[USER:PASSWORD@]HOST[:PORT]/KEY`.
    pub fn new(uri: &str, timeout: Duration, format: BodyFormat) -> Result<RedisSink, Error> {
        let u = EngineUri::parse(uri, "redis", 6379, "KEY")?;
        if u.path.contains(char::is_whitespace) {
            return Err(Error::new(ErrorKind::BadName, format!("URI '{}'", u.shown))
                .detail("the stream key must be without spaces"));
        }
        let auth = match &u.user {
            Some((user, password)) => format!("{user}:{password}@"),
            None => String::new(),
        };
        Ok(RedisSink {
            url: format!("redis://{auth}{}/", u.hostport()),
            key: u.path,
            shown: u.shown,
            timeout,
            format,
            con: None,
            body: None,
            size: 0,
            done: std::collections::VecDeque::new(),
            last: 0,
        })
    }

    /// The URI without its password, for messages and state.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn con(&mut self) -> Result<&mut redis::Connection, Error> {
        let shown = self.shown.clone();
        self.con
            .as_mut()
            .ok_or_else(|| Error::new(ErrorKind::Unavailable, shown).detail("not connected"))
    }

    /// The stream's last entry: (seqno, its origin, its incarnation), None if empty.
    fn last_entry(&mut self) -> Result<Option<(u64, String, u64)>, Error> {
        let key = self.key.clone();
        let shown = self.shown.clone();
        let v: redis::Value = redis::cmd("XREVRANGE")
            .arg(&key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query(self.con()?)
            .map_err(|e| fail(&shown, &e))?;
        let bad = || Error::new(ErrorKind::Protocol, shown.clone()).detail("not a stream entry");
        let redis::Value::Array(entries) = v else {
            return Err(bad());
        };
        let Some(redis::Value::Array(entry)) = entries.first() else {
            return Ok(None);
        };
        let [redis::Value::BulkString(id), redis::Value::Array(fields)] = &entry[..] else {
            return Err(bad());
        };
        let id = String::from_utf8_lossy(id);
        let seqno = id
            .split_once('-')
            .and_then(|(ms, _)| ms.parse::<u64>().ok())
            .ok_or_else(bad)?;
        let mut origin = String::new();
        let mut incarnation = 0;
        for pair in fields.chunks(2) {
            if let [redis::Value::BulkString(k), redis::Value::BulkString(v)] = pair {
                match k.as_slice() {
                    b"origin" => origin = String::from_utf8_lossy(v).into_owned(),
                    b"incarnation" => {
                        incarnation =
                            u64::from_str_radix(&String::from_utf8_lossy(v), 16).unwrap_or(0)
                    }
                    _ => {}
                }
            }
        }
        Ok(Some((seqno, origin, incarnation)))
    }

    fn mark(&mut self, origin: &str) -> Result<Mark, Error> {
        match self.last_entry()? {
            None => Ok(Mark::default()),
            Some((_, theirs, _)) if theirs != origin => Err(Error::new(
                ErrorKind::BadData,
                self.shown.clone(),
            )
            .detail(format!(
                "the stream holds another origin's entries ({theirs}); a stream's ids are one \
                     source's seqnos: forward into a key of its own"
            ))),
            Some((seqno, _, incarnation)) => Ok(Mark::up_to(incarnation, seqno)),
        }
    }
}

impl Sink for RedisSink {
    fn open(&mut self, o: &Opening<'_>) -> Result<Mark, Error> {
        self.con = None;
        self.done.clear();
        self.body = Some(Body::new(self.format, &o.header.schema, o.name)?);
        self.size = o.header.element_size as usize;
        let client = redis::Client::open(self.url.as_str()).map_err(|e| fail(&self.shown, &e))?;
        let con = client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| fail(&self.shown, &e))?;
        con.set_read_timeout(Some(self.timeout))
            .map_err(|e| fail(&self.shown, &e))?;
        con.set_write_timeout(Some(self.timeout))
            .map_err(|e| fail(&self.shown, &e))?;
        self.con = Some(con);
        let mark = self.mark(o.origin)?;
        self.last = mark.mark;
        Ok(mark)
    }

    fn send(&mut self, b: &Outgoing<'_>) -> Result<(), Error> {
        if b.reset && self.last > 0 {
            return Err(
                Error::new(ErrorKind::Reincarnated, self.shown.clone()).detail(format!(
                    "a Redis stream's ids only grow, and it holds the old source's up to {}: \
                 forward the re-created woof into another key (or delete this one)",
                    self.last
                )),
            );
        }
        let body = self
            .body
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Unavailable, self.shown.clone()))?;
        let field: &[u8] = match self.format {
            BodyFormat::Raw => b"data",
            BodyFormat::Json => b"json",
            BodyFormat::Csv => b"csv",
        };
        let incarnation = format!("{:016x}", b.incarnation);
        let mut pipe = redis::pipe();
        let mut buf = Vec::new();
        let n = b.data.len() / self.size.max(1);
        for (el, data) in b.elements(self.size) {
            body.encode(&mut buf, &el, data);
            pipe.cmd("XADD")
                .arg(&self.key)
                .arg(format!("{}-0", el.seqno))
                .arg("origin")
                .arg(b.origin)
                .arg("incarnation")
                .arg(&incarnation)
                .arg("put_time")
                .arg(el.time_ns)
                .arg(field)
                .arg(&buf[..]);
        }
        let shown = self.shown.clone();
        let last = b.first + n as u64 - 1;
        let got: Result<Vec<redis::Value>, _> = pipe.query(self.con()?);
        match got {
            Ok(_) => {}
            Err(e) if e.to_string().contains("equal or smaller") => {
                // Someone else wrote this stream since we read its end.
                return Err(Error::new(ErrorKind::BadData, shown).detail(format!(
                    "refused ids {}..{last}: the stream moved on since it was read (another writer?)",
                    b.first
                )));
            }
            Err(e) => return Err(fail(&shown, &e)),
        }
        self.last = last;
        self.done.push_back(Acked {
            mark: Mark::up_to(b.incarnation, last),
            appended: n as u64,
            duplicates: 0,
        });
        Ok(())
    }

    fn recv(&mut self) -> Result<Acked, Error> {
        self.done.pop_front().ok_or_else(|| {
            Error::new(ErrorKind::Protocol, self.shown.clone()).detail("no batch in flight")
        })
    }

    fn ping(&mut self, origin: &str) -> Result<Option<Mark>, Error> {
        self.mark(origin).map(Some)
    }

    fn close(&mut self) {
        self.con = None;
        self.done.clear();
    }

    fn max_batch(&self, _size: usize) -> usize {
        10000
    }

    fn deduplicates(&self) -> bool {
        true
    }
}

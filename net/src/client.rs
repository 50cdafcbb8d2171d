//! A woof on another host, through its woof-proxy: the client half of woof's
//! protocol (see `proto`) over one ZMTP connection.
//!
//! Every call is bounded by the client's timeout: an unreachable or silent proxy is
//! an `Unavailable` error (exit 69) within it, never a hang. Errors the proxy
//! reports come back as the very error the local call would have given.

use std::path::Path;
use std::time::{Duration, Instant};

use woof::{Durability, Error, ErrorKind, Info};

use crate::keys::KeyDir;
use crate::proto::{self, Elements, OK, Op, num, parse_num};
use crate::uri::Uri;
use crate::zmtp::{Conn, CurveClient, NetError, Security};

/// An open connection to the proxy serving `uri`'s namespace.
pub struct Client {
    conn: Conn,
    uri: Uri,
    keys: KeyDir,
    timeout: Duration,
    /// Requests sent whose replies have not been read (pipelined puts).
    pub in_flight: usize,
    /// A reply came on this connection: the host speaks woof's protocol.
    answered: bool,
}

/// How long a first reply may take before the client asks whether the host is a
/// CSPOT one (which never answers woof's requests), and how long that asking may
/// take: a wrong guess costs the user a full timeout and a misleading
/// "unreachable"; this answers in under a second.
const CSPOT_PROBE_AFTER: Duration = Duration::from_millis(300);
const CSPOT_PROBE_LIMIT: Duration = Duration::from_millis(500);

/// How to reach proxies: the timeout of each request and the key directory.
#[derive(Debug, Clone)]
pub struct Options {
    pub timeout: Duration,
    pub keys: KeyDir,
}

impl Options {
    pub fn new(timeout: Duration, keys: Option<&Path>) -> Options {
        Options {
            timeout,
            keys: KeyDir::for_client(keys),
        }
    }
}

/// A transport error as a woof error about `uri`'s host.
fn net_error(uri: &Uri, keys: &KeyDir, e: NetError) -> Error {
    let ctx = format!("woof://{}", uri.authority());
    let kind = e.error_kind();
    let text = e.to_string();
    // The transport names the address; the context already says which host.
    let text = match text.split_once(": ") {
        Some((addr, rest)) if addr.parse::<std::net::SocketAddr>().is_ok() => rest.to_string(),
        _ => text,
    };
    let refused = matches!(&e, NetError::Unreachable(t) if t.ends_with("connection refused"));
    let mut detail = if refused && uri.port.is_none() {
        // The port is a hash of the namespace path: a mistyped path lands on a port
        // nobody listens on, and "connection refused" alone would hide why.
        format!(
            "unreachable: no woof-proxy serves namespace {} on {} (connection refused on \
             port {}, CSPOT's port for that path; check the path, or give the proxy's port: \
             woof://{}:PORT{}/{})",
            uri.namespace,
            uri.connect_host(),
            uri.port(),
            if uri.connect_host().contains(':') {
                format!("[{}]", uri.connect_host())
            } else {
                uri.connect_host().to_string()
            },
            uri.namespace,
            uri.name
        )
    } else if kind == ErrorKind::Unavailable {
        format!("unreachable: {text}")
    } else {
        text
    };
    if matches!(e, NetError::Denied(_)) {
        detail = format!(
            "{detail} (is {}/id.pub among the proxy's clients/?)",
            keys.dir.display()
        );
    }
    if matches!(e, NetError::Mechanism(_)) && detail.contains("requires CURVE") {
        detail = format!(
            "{detail} (looked for {}/servers/{}.pub or {}.pub)",
            keys.dir.display(),
            uri.authority(),
            uri.connect_host()
        );
    }
    Error::new(kind, ctx).detail(detail)
}

impl Client {
    /// Connects (and, when the key directory holds the host's public key,
    /// authenticates with CURVE).
    pub fn connect(uri: &Uri, opts: &Options) -> Result<Client, Error> {
        Client::connect_sending(uri, opts, None)
    }

    /// Connects and sends `first` (an op and its arguments) as soon as the
    /// handshake is done. Read its reply with `recv`.
    fn connect_sending(
        uri: &Uri,
        opts: &Options,
        first: Option<(Op, &[&[u8]])>,
    ) -> Result<Client, Error> {
        let deadline = Instant::now() + opts.timeout;
        let addr = uri.resolve()?;
        let security = match opts.keys.server_key(uri.connect_host(), uri.port())? {
            None => Security::Null,
            Some(server) => {
                let (public, secret) = opts.keys.identity()?;
                Security::Curve(CurveClient {
                    server_public: key32(&server, "server key")?,
                    public: key32(&public, "public key")?,
                    secret: key32(&secret, "secret key")?,
                })
            }
        };
        let frames = first.map(|(op, args)| request_frames(uri, op, args));
        let conn = Conn::connect_sending(addr, &security, frames.as_deref(), deadline)
            .map_err(|e| net_error(uri, &opts.keys, e))?;
        Ok(Client {
            conn,
            uri: uri.clone(),
            keys: opts.keys.clone(),
            timeout: opts.timeout,
            in_flight: usize::from(first.is_some()),
            answered: false,
        })
    }

    /// One put on a new connection (a one-shot `woof-put`): the handshake (one round
    /// trip without CURVE), then the put (one more).
    pub fn put_once(
        uri: &Uri,
        opts: &Options,
        handler: &str,
        cause: &str,
        durability: Option<Durability>,
        data: &[u8],
    ) -> Result<u64, Error> {
        let args = put_args(handler, cause, durability, data);
        let mut client = Client::connect_sending(uri, opts, Some((Op::Put, &args)))?;
        let r = client.recv(Duration::ZERO)?;
        parse_num(r.first().map_or(&[][..], Vec::as_slice), "seqno")
    }

    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Sends a request without waiting for its reply (see `recv`).
    pub fn send(&mut self, op: Op, args: &[&[u8]]) -> Result<(), Error> {
        let deadline = Instant::now() + self.timeout;
        let frames = request_frames(&self.uri, op, args);
        let r = self.conn.send_request(&frames, deadline);
        r.map_err(|e| net_error(&self.uri, &self.keys, e))?;
        self.in_flight += 1;
        Ok(())
    }

    /// Reads the next reply: its frames after `OK`, or the error it carries.
    pub fn recv(&mut self, extra: Duration) -> Result<Vec<Vec<u8>>, Error> {
        let deadline = Instant::now() + self.timeout + extra;
        if !self.answered {
            self.unless_cspot(deadline)?;
        }
        let mut reply = self
            .conn
            .recv_reply(deadline)
            .map_err(|e| net_error(&self.uri, &self.keys, e))?;
        self.in_flight = self.in_flight.saturating_sub(1);
        self.answered = true;
        match reply.first().map(Vec::as_slice) {
            Some(OK) => Ok(reply.split_off(1)),
            Some(proto::ERR) => {
                // The proxy names the woof as a local name; the user typed the URI.
                let e = proto::parse_error(&reply[1..]);
                let ctx = e.context().to_string();
                Err(if ctx == self.uri.name {
                    e.with_context(self.uri.to_string())
                } else if let Some(rest) = ctx.strip_prefix(&format!("{}: ", self.uri.name)) {
                    e.with_context(format!("{}: {rest}", self.uri))
                } else {
                    e.within(format!("woof://{}", self.uri.authority()))
                })
            }
            _ => Err(Error::new(
                ErrorKind::Protocol,
                format!("woof://{}", self.uri.authority()),
            )
            .detail("not a woof protocol reply (is this a woof-proxy?)")),
        }
    }

    /// Before the first reply: when none has begun within CSPOT_PROBE_AFTER, asks
    /// (on a connection of its own) whether the host speaks only CSPOT's protocol,
    /// and if so says so at once instead of waiting out the timeout.
    fn unless_cspot(&mut self, deadline: Instant) -> Result<(), Error> {
        let probe_at = (Instant::now() + CSPOT_PROBE_AFTER).min(deadline);
        let started = self
            .conn
            .wait_reply(probe_at)
            .map_err(|e| net_error(&self.uri, &self.keys, e))?;
        let left = deadline.saturating_duration_since(Instant::now());
        if started || left.is_zero() {
            return Ok(());
        }
        if crate::cspot_client::answers_only_cspot(&self.uri, left.min(CSPOT_PROBE_LIMIT)) {
            let cspot = crate::cspot_client::shown(&self.uri);
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("woof://{}", self.uri.authority()),
            )
            .detail(format!(
                "a CSPOT host: it speaks CSPOT's protocol, not woof's; use {cspot} \
                 (woof-put, woof-get and woof-tail speak it), or run woof-proxy there"
            )));
        }
        Ok(())
    }

    fn call(&mut self, op: Op, args: &[&[u8]], extra: Duration) -> Result<Vec<Vec<u8>>, Error> {
        self.send(op, args)?;
        self.recv(extra)
    }

    pub fn info(&mut self) -> Result<Info, Error> {
        let r = self.call(Op::Info, &[], Duration::ZERO)?;
        proto::parse_info(r.first().map_or(&[][..], Vec::as_slice))
    }

    pub fn create(
        &mut self,
        element_size: u64,
        history: u64,
        durability: Option<Durability>,
        schema: &[u8],
        force: bool,
    ) -> Result<Info, Error> {
        let (s, h) = (num(element_size), num(history));
        let args: [&[u8]; 5] = [
            &s,
            &h,
            proto::durability_token(durability),
            schema,
            if force { b"1" } else { b"0" },
        ];
        let r = self.call(Op::Create, &args, Duration::ZERO)?;
        proto::parse_info(r.first().map_or(&[][..], Vec::as_slice))
    }

    /// Puts one element; returns its seqno.
    pub fn put(
        &mut self,
        handler: &str,
        cause: &str,
        durability: Option<Durability>,
        data: &[u8],
    ) -> Result<u64, Error> {
        let args = put_args(handler, cause, durability, data);
        let r = self.call(Op::Put, &args, Duration::ZERO)?;
        parse_num(r.first().map_or(&[][..], Vec::as_slice), "seqno")
    }

    /// Sends a batch of whole elements without waiting (pipelining); `recv_batch`
    /// reads the replies in order.
    pub fn send_batch(
        &mut self,
        handler: &str,
        cause: &str,
        durability: Option<Durability>,
        data: &[u8],
    ) -> Result<(), Error> {
        let args = put_args(handler, cause, durability, data);
        self.send(Op::PutBatch, &args)
    }

    /// The seqnos (first, last) of the oldest batch in flight.
    pub fn recv_batch(&mut self) -> Result<(u64, u64), Error> {
        let r = self.recv(Duration::ZERO)?;
        match &r[..] {
            [a, b] => Ok((parse_num(a, "first")?, parse_num(b, "last")?)),
            _ => Err(Error::new(ErrorKind::Protocol, "putb reply").detail("expected first, last")),
        }
    }

    /// Held elements of `from..=to` (0, 0: the latest; to 0: up to the latest), at
    /// most one reply's worth; the caller asks again from where it stopped.
    pub fn get(&mut self, from: u64, to: u64, element_size: usize) -> Result<Elements, Error> {
        let (f, t) = (num(from), num(to));
        let r = self.call(Op::Get, &[&f, &t], Duration::ZERO)?;
        Elements::parse(&r, element_size)
    }

    /// Elements after `after`, waiting up to `wait` on the proxy for one to arrive.
    pub fn follow(
        &mut self,
        after: u64,
        wait: Duration,
        max: u64,
        element_size: usize,
    ) -> Result<Elements, Error> {
        let (a, w, m) = (num(after), num(wait.as_millis() as u64), num(max));
        let r = self.call(Op::Follow, &[&a, &w, &m], wait)?;
        Elements::parse(&r, element_size)
    }
}

/// What a destination holds of a forwarding origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    /// Whether anything was ever forwarded from this origin.
    pub known: bool,
    pub incarnation: u64,
    /// Every source seqno ≤ mark is in the destination (or counted in `gaps`).
    pub mark: u64,
    pub gaps: u64,
}

impl Mark {
    /// A destination that holds this origin's `incarnation` up to `mark`, with no
    /// gap counted (what an engine that cannot count gaps says).
    pub fn up_to(incarnation: u64, mark: u64) -> Mark {
        Mark {
            known: true,
            incarnation,
            mark,
            gaps: 0,
        }
    }
}

/// A forwarded batch (see `proto`, `fput`).
pub struct ForwardBatch<'a> {
    pub origin: &'a str,
    pub incarnation: u64,
    pub first: u64,
    pub lost: bool,
    pub reset: bool,
    pub handler: &'a str,
    pub durability: Option<Durability>,
    /// Put times, 8 bytes little-endian each.
    pub times: &'a [u8],
    pub data: &'a [u8],
}

/// What a destination did with a forwarded batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forwarded {
    pub mark: Mark,
    pub appended: u64,
    pub duplicates: u64,
}

impl Client {
    /// The destination's mark for `origin` and the woof's info, in one round trip.
    pub fn origin(&mut self, origin: &str) -> Result<(Mark, Info), Error> {
        let r = self.call(Op::Origin, &[origin.as_bytes()], Duration::ZERO)?;
        let [known, inc, mark, gaps, info] = &r[..] else {
            return Err(Error::new(ErrorKind::Protocol, "origin reply")
                .detail("expected found, incarnation, mark, gaps, info"));
        };
        let mark = Mark {
            known: parse_num(known, "found")? == 1,
            incarnation: parse_num(inc, "incarnation")?,
            mark: parse_num(mark, "mark")?,
            gaps: parse_num(gaps, "gaps")?,
        };
        Ok((mark, proto::parse_info(info)?))
    }

    /// Sends a forwarded batch without waiting (pipelining); `recv_forward` reads
    /// the replies in order.
    pub fn send_forward(&mut self, b: &ForwardBatch<'_>) -> Result<(), Error> {
        let (inc, first) = (num(b.incarnation), num(b.first));
        let flags = match (b.lost, b.reset) {
            (false, false) => &b""[..],
            (true, false) => b"lost",
            (false, true) => b"reset",
            (true, true) => b"lost,reset",
        };
        let args: [&[u8]; 9] = [
            b.origin.as_bytes(),
            &inc,
            &first,
            flags,
            b.handler.as_bytes(),
            b"",
            proto::durability_token(b.durability),
            b.times,
            b.data,
        ];
        self.send(Op::Forward, &args)
    }

    /// The outcome of the oldest forwarded batch in flight.
    pub fn recv_forward(&mut self) -> Result<Forwarded, Error> {
        let r = self.recv(Duration::ZERO)?;
        let [mark, gaps, appended, dups, inc] = &r[..] else {
            return Err(Error::new(ErrorKind::Protocol, "fput reply")
                .detail("expected mark, gaps, appended, duplicates, incarnation"));
        };
        Ok(Forwarded {
            mark: Mark {
                known: true,
                incarnation: parse_num(inc, "incarnation")?,
                mark: parse_num(mark, "mark")?,
                gaps: parse_num(gaps, "gaps")?,
            },
            appended: parse_num(appended, "appended")?,
            duplicates: parse_num(dups, "duplicates")?,
        })
    }
}

/// The arguments of put and putb.
fn put_args<'a>(
    handler: &'a str,
    cause: &'a str,
    durability: Option<Durability>,
    data: &'a [u8],
) -> [&'a [u8]; 4] {
    [
        handler.as_bytes(),
        cause.as_bytes(),
        proto::durability_token(durability),
        data,
    ]
}

/// The frames of a request: magic, op, namespace, name, then the op's arguments.
fn request_frames<'a>(uri: &'a Uri, op: Op, args: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut frames: Vec<&[u8]> = Vec::with_capacity(4 + args.len());
    frames.push(proto::MAGIC);
    frames.push(op.token());
    frames.push(uri.namespace.as_bytes());
    frames.push(uri.name.as_bytes());
    frames.extend_from_slice(args);
    frames
}

fn key32(z85: &str, what: &str) -> Result<[u8; 32], Error> {
    crate::z85::decode_key(z85).ok().ok_or_else(|| {
        Error::new(ErrorKind::BadData, what.to_string()).detail("not a Z85 CURVE key")
    })
}

//! ZMTP 3.1 (RFC 23) with the NULL and CURVE (RFC 26) mechanisms: a small blocking
//! client, enough to talk to a libzmq 4.3 ROUTER as a DEALER, and the server side of
//! a ROUTER and the dialing side of a DEALER without I/O of their own (`link.rs`,
//! woof-proxy's sockets).
//!
//! One [`Conn`] is one TCP connection. Requests go out with the empty delimiter frame
//! in front, the envelope a REQ socket would add, so REP workers behind the proxy's
//! ROUTER/DEALER accept them; replies come back with the delimiter stripped.
//!
//! Every call takes a deadline and never blocks past it. After any error the
//! connection is unusable (a frame may be half written or half read): every later
//! call returns the same error, and the caller should drop it and reconnect.
//!
//! Pipelining: [`Conn::send_request`] may be called many times before
//! [`Conn::recv_reply`]. Both sides only buffer so much — our socket buffers, and a
//! libzmq ROUTER drops replies beyond its high-water mark (1000 messages by default)
//! — so callers should keep a bounded window of requests in flight (say at most 100,
//! or a few MiB) and read replies as they send more.

mod curve;
mod error;
mod frame;
mod greeting;
mod link;
mod metadata;
mod wire;

use std::fmt;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use zeroize::Zeroize;

pub use curve::curve_keypair;
pub use error::{NetError, NetErrorKind};
pub use link::{Authenticate, Link, Message, ServerKeys};

use frame::{FLAG_COMMAND, FLAG_MORE};
use wire::Wire;

/// Default cap on one frame's body: woof's largest element (64 MiB) plus room for a
/// request header.
pub const MAX_FRAME: usize = 64 * 1024 * 1024 + 64 * 1024;
/// Default cap on the parts of one reply together.
pub const MAX_MESSAGE: usize = 4 * MAX_FRAME;
/// Cap on frames during the handshake, where only small commands are expected.
const MAX_HANDSHAKE_FRAME: usize = 64 * 1024;

/// How the connection is secured; must match the server's mechanism.
#[derive(Debug, Clone)]
pub enum Security {
    Null,
    Curve(CurveClient),
}

/// Keys for a CURVE client: the server's long-term public key and our long-term
/// key pair. The secret is wiped when this is dropped.
#[derive(Clone)]
pub struct CurveClient {
    pub server_public: [u8; 32],
    pub public: [u8; 32],
    pub secret: [u8; 32],
}

impl Drop for CurveClient {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl fmt::Debug for CurveClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveClient")
            .field(
                "server_public",
                &crate::z85::encode_key(&self.server_public),
            )
            .field("public", &crate::z85::encode_key(&self.public))
            .finish_non_exhaustive()
    }
}

/// What a connection encodes messages with after the handshake.
enum Codec {
    Null,
    Curve(Box<curve::Session>),
}

impl Codec {
    /// Appends one message part; `more` is `FLAG_MORE` or 0.
    fn put_part(&mut self, out: &mut Vec<u8>, more: u8, part: &[u8]) -> Result<(), NetError> {
        match self {
            Codec::Null => {
                frame::put_frame(out, more, part);
                Ok(())
            }
            Codec::Curve(session) => session.put_message(out, more, part),
        }
    }

    /// Appends a command (PING, PONG): a command frame, or under CURVE a MESSAGE
    /// carrying it, as libzmq sends them.
    fn put_command(&mut self, out: &mut Vec<u8>, body: &[u8]) -> Result<(), NetError> {
        match self {
            Codec::Null => {
                frame::put_frame(out, FLAG_COMMAND, body);
                Ok(())
            }
            Codec::Curve(session) => session.put_command(out, body),
        }
    }
}

/// One ZMTP connection acting as a DEALER socket.
pub struct Conn {
    wire: Wire,
    codec: Codec,
    /// Outgoing bytes: all frames of a message go out in one write.
    wbuf: Vec<u8>,
    /// Scratch for command bodies.
    scratch: Vec<u8>,
    max_frame: usize,
    max_message: usize,
    /// The error that made this connection unusable, if any.
    failed: Option<NetError>,
}

/// The write buffer is kept between messages, but not when a huge message grew it.
const KEEP_WBUF: usize = 1024 * 1024;

impl Conn {
    /// TCP connect + greeting + handshake, all bounded by `deadline`.
    pub fn connect(
        addr: SocketAddr,
        security: &Security,
        deadline: Instant,
    ) -> Result<Conn, NetError> {
        Conn::connect_sending(addr, security, None, deadline)
    }

    /// As `connect`, and sends `first` as the first request (read its reply with
    /// `recv_reply`). It goes out once the server's READY is in: libzmq 4.3 hangs
    /// up on a message that arrives in the same read as the handshake.
    pub fn connect_sending(
        addr: SocketAddr,
        security: &Security,
        first: Option<&[&[u8]]>,
        deadline: Instant,
    ) -> Result<Conn, NetError> {
        let mut conn = Conn::handshake(addr, security, deadline)?;
        if let Some(parts) = first {
            conn.send_request(parts, deadline)?;
        }
        Ok(conn)
    }

    fn handshake(
        addr: SocketAddr,
        security: &Security,
        deadline: Instant,
    ) -> Result<Conn, NetError> {
        if let Security::Null = security {
            // The whole greeting and READY in one write: one round trip less. A
            // server of another mechanism hangs up without naming it; only then
            // take the careful way, which learns what it wants.
            match Conn::open(addr, deadline)?.null_at_once(deadline) {
                Err(Fast::HungUp) => {}
                Err(Fast::Failed(e)) => return Err(e),
                Ok(conn) => return Ok(conn),
            }
        }
        Conn::open(addr, deadline)?.careful_handshake(security, deadline)
    }

    /// A connection over a stream already connected to a server (`from_stream` of
    /// a socket pair in the fuzz targets and tests, which play the server's side):
    /// the one-write NULL handshake when `at_once`, else the careful one.
    #[doc(hidden)]
    pub fn over_stream(
        stream: TcpStream,
        security: &Security,
        at_once: bool,
        deadline: Instant,
    ) -> Result<Conn, NetError> {
        let conn = Conn::from_stream(stream);
        match (security, at_once) {
            (Security::Null, true) => conn.null_at_once(deadline).map_err(|e| match e {
                Fast::HungUp => NetError::Closed("server hung up during the greeting".into()),
                Fast::Failed(e) => e,
            }),
            _ => conn.careful_handshake(security, deadline),
        }
    }

    /// Greeting in two pieces, then the mechanism's handshake.
    fn careful_handshake(
        mut self,
        security: &Security,
        deadline: Instant,
    ) -> Result<Conn, NetError> {
        let conn = &mut self;
        let ours = match security {
            Security::Null => "NULL",
            Security::Curve(_) => "CURVE",
        };
        // Like libzmq, send the greeting in two pieces: signature and major version
        // first, the rest (with our mechanism) only after the server's whole greeting.
        // libzmq sends its mechanism when it sees our version, but hangs up without
        // it once it sees a mechanism it does not use; this way we learn what it uses.
        let ours_greeting = greeting::ours(ours);
        let (head, rest) = ours_greeting.split_at(greeting::HEAD);
        conn.wire
            .write_all(head, deadline, "sending the greeting")?;
        let peer = greeting::read(&mut conn.wire, deadline)?;
        check_mechanism(ours, &peer.mechanism)?;
        // The rest of the greeting goes out in one write with the first command.
        conn.wbuf.clear();
        conn.wbuf.extend_from_slice(rest);
        match security {
            Security::Null => conn.null_handshake(deadline)?,
            Security::Curve(keys) => {
                let session = curve::handshake(
                    &mut conn.wire,
                    keys,
                    &mut conn.wbuf,
                    &mut conn.scratch,
                    deadline,
                )?;
                conn.codec = Codec::Curve(Box::new(session));
            }
        }
        Ok(self)
    }

    /// The NULL handshake in one write: greeting and READY together.
    fn null_at_once(mut self, deadline: Instant) -> Result<Conn, Fast> {
        self.wbuf.clear();
        self.wbuf.extend_from_slice(&greeting::ours("NULL"));
        frame::put_command(&mut self.wbuf, b"READY", &metadata::ours());
        self.wire
            .write_all(&self.wbuf, deadline, "sending the greeting")
            .map_err(Fast::Failed)?;
        let peer = match greeting::read(&mut self.wire, deadline) {
            Ok(peer) => peer,
            // Hung up before its whole greeting: not our mechanism.
            Err(NetError::Closed(_)) => return Err(Fast::HungUp),
            Err(e) => return Err(Fast::Failed(e)),
        };
        check_mechanism("NULL", &peer.mechanism).map_err(Fast::Failed)?;
        self.read_ready(deadline).map_err(Fast::Failed)?;
        Ok(self)
    }

    /// A TCP connection with TCP_NODELAY, before any greeting.
    fn open(addr: SocketAddr, deadline: Instant) -> Result<Conn, NetError> {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| NetError::Unreachable(format!("{addr}: timed out connecting")))?;
        let stream =
            TcpStream::connect_timeout(&addr, left).map_err(|e| error::connect_error(&e, addr))?;
        stream
            .set_nodelay(true)
            .map_err(|e| NetError::local(&e, "setting TCP_NODELAY"))?;
        Ok(Conn::from_stream(stream))
    }

    fn from_stream(stream: TcpStream) -> Conn {
        Conn {
            wire: Wire::new(stream),
            codec: Codec::Null,
            wbuf: Vec::with_capacity(4096),
            scratch: Vec::new(),
            max_frame: MAX_FRAME,
            max_message: MAX_MESSAGE,
            failed: None,
        }
    }

    /// Caps the size of one reply frame and of all parts of one reply together;
    /// larger ones are protocol errors. Defaults: [`MAX_FRAME`], [`MAX_MESSAGE`].
    pub fn set_limits(&mut self, max_frame: usize, max_message: usize) {
        self.max_frame = max_frame;
        self.max_message = max_message;
    }

    /// NULL (RFC 23): both sides send READY with their metadata; the server may
    /// answer ERROR instead (ZAP refused us).
    fn null_handshake(&mut self, deadline: Instant) -> Result<(), NetError> {
        // wbuf holds the end of our greeting.
        frame::put_command(&mut self.wbuf, b"READY", &metadata::ours());
        self.wire.write_all(&self.wbuf, deadline, "sending READY")?;
        self.read_ready(deadline)
    }

    /// The server's READY (or ERROR) that ends the NULL handshake.
    fn read_ready(&mut self, deadline: Instant) -> Result<(), NetError> {
        let flags = frame::read_frame(
            &mut self.wire,
            &mut self.scratch,
            MAX_HANDSHAKE_FRAME,
            deadline,
            "waiting for the server's READY",
        )?;
        if flags & FLAG_COMMAND == 0 {
            return Err(NetError::protocol("server sent a message before READY"));
        }
        let cmd = frame::parse_command(&self.scratch)?;
        match cmd.name {
            b"READY" => metadata::check_server(cmd.data),
            b"ERROR" => Err(NetError::Denied(metadata::error_reason(cmd.data))),
            other => Err(NetError::protocol(format!(
                "unexpected {} command in the NULL handshake",
                frame::show(other)
            ))),
        }
    }

    /// Sends one multipart request behind an empty delimiter frame. All frames go
    /// out in one write. `parts` should not be empty: a REP worker needs at least one
    /// frame after the delimiter.
    pub fn send_request(&mut self, parts: &[&[u8]], deadline: Instant) -> Result<(), NetError> {
        self.usable()?;
        self.wbuf.clear();
        let result = self.encode_request(parts).and_then(|()| {
            self.wire
                .write_all(&self.wbuf, deadline, "sending a request")
        });
        if self.wbuf.capacity() > KEEP_WBUF {
            self.wbuf = Vec::with_capacity(4096);
        }
        self.fail_on(result)
    }

    fn encode_request(&mut self, parts: &[&[u8]]) -> Result<(), NetError> {
        let delimiter: &[u8] = b"";
        let all = std::iter::once(delimiter).chain(parts.iter().copied());
        let last = parts.len();
        for (i, part) in all.enumerate() {
            let more = if i < last { FLAG_MORE } else { 0 };
            self.codec.put_part(&mut self.wbuf, more, part)?;
        }
        Ok(())
    }

    /// Receives one multipart reply and strips the empty delimiter (a reply of just
    /// the delimiter gives no parts). PINGs from the server (ZMTP 3.1 heartbeats) are
    /// answered on the way.
    pub fn recv_reply(&mut self, deadline: Instant) -> Result<Vec<Vec<u8>>, NetError> {
        self.usable()?;
        let result = self.read_reply(deadline);
        self.fail_on(result)
    }

    /// Whether a reply has begun to arrive by `deadline` (see `Wire::readable`);
    /// false leaves the connection usable.
    pub fn wait_reply(&mut self, deadline: Instant) -> Result<bool, NetError> {
        self.usable()?;
        let result = self.wire.readable(deadline);
        self.fail_on(result)
    }

    /// send_request + recv_reply.
    pub fn request(
        &mut self,
        parts: &[&[u8]],
        deadline: Instant,
    ) -> Result<Vec<Vec<u8>>, NetError> {
        self.send_request(parts, deadline)?;
        self.recv_reply(deadline)
    }

    fn read_reply(&mut self, deadline: Instant) -> Result<Vec<Vec<u8>>, NetError> {
        const DOING: &str = "waiting for a reply";
        let mut parts = Vec::new();
        let mut total = 0usize;
        let mut first = true;
        loop {
            let mut body = Vec::new();
            let limit = match self.codec {
                Codec::Null => self.max_frame,
                Codec::Curve(_) => self.max_frame.saturating_add(curve::MESSAGE_OVERHEAD),
            };
            let flags = frame::read_frame(&mut self.wire, &mut body, limit, deadline, DOING)?;
            let more = match &mut self.codec {
                Codec::Null => {
                    if flags & FLAG_COMMAND != 0 {
                        self.on_command(&body, deadline)?;
                        continue;
                    }
                    flags & FLAG_MORE != 0
                }
                Codec::Curve(session) => {
                    let opened = session.open(&mut body)?;
                    if opened.command {
                        self.on_command(&body, deadline)?;
                        continue;
                    }
                    opened.more
                }
            };
            if first {
                if !body.is_empty() {
                    return Err(NetError::protocol(
                        "reply does not start with an empty delimiter frame",
                    ));
                }
                first = false;
            } else {
                total = total.saturating_add(body.len());
                if total > self.max_message {
                    return Err(NetError::protocol(format!(
                        "reply exceeds the limit of {} bytes",
                        self.max_message
                    )));
                }
                parts.push(body);
            }
            if !more {
                return Ok(parts);
            }
        }
    }

    /// A command after the handshake: answer PING (ZMTP 3.1 heartbeat) with PONG and
    /// the PING's context; ignore PONG and anything else.
    fn on_command(&mut self, body: &[u8], deadline: Instant) -> Result<(), NetError> {
        let Some(pong) = frame::pong(body)? else {
            return Ok(());
        };
        self.wbuf.clear();
        self.codec.put_command(&mut self.wbuf, &pong)?;
        self.wire
            .write_all(&self.wbuf, deadline, "answering a heartbeat")
    }

    fn usable(&self) -> Result<(), NetError> {
        match &self.failed {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    fn fail_on<T>(&mut self, result: Result<T, NetError>) -> Result<T, NetError> {
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }
}

/// The server's greeting names its mechanism; say plainly what to fix.
/// How the one-write NULL handshake ended when it did not connect.
enum Fast {
    /// The server hung up before its whole greeting: try the careful way.
    HungUp,
    Failed(NetError),
}

fn check_mechanism(ours: &str, theirs: &str) -> Result<(), NetError> {
    if ours == theirs {
        return Ok(());
    }
    Err(NetError::Mechanism(match (ours, theirs) {
        ("NULL", "CURVE") => "server requires CURVE; no server public key for this host".into(),
        ("CURVE", "NULL") => "server does not use CURVE".into(),
        (_, other) => format!("server requires the {other} mechanism, which woof does not speak"),
    }))
}

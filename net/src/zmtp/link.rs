//! One ZMTP 3.1 connection (RFC 23) with the NULL and CURVE (RFC 26) mechanisms,
//! without any I/O of its own: an event loop feeds it the bytes it read
//! ([`Link::input`]) and writes out what it queued ([`Link::pending`]). Either
//! side: accepted, as a libzmq ROUTER speaks to REQ and DEALER clients, or dialed,
//! as a DEALER (an edge's uplink to its cloud).
//!
//! Why not libzmq's ROUTER: it spends ~28 kB on each connection (its pipes' 16 kB
//! chunks and 8 kB codec buffers; measured 144 MB for 5 000 connections) and hands
//! every message between its I/O thread and the socket's owner. Here an idle
//! connection is this struct with empty buffers, and the proxy's one thread reads,
//! answers and writes.
//!
//! CURVE's cookie exists so that a server need keep no state between WELCOME and
//! INITIATE; this server keeps a connection's state anyway, so its cookie is random
//! bytes it compares, and the transient secret s' stays in the connection.

use std::sync::Arc;

use crypto_box::{PublicKey, SalsaBox, SecretKey};
use zeroize::Zeroize;

use super::curve::{self, ClientHello, Session, TAG};
use super::error::NetError;
use super::frame::{self, FLAG_COMMAND, FLAG_LONG, FLAG_MORE};
use super::greeting;
use super::metadata;
use super::{Codec, CurveClient, MAX_HANDSHAKE_FRAME, Security, check_mechanism};

/// The server's long-term CURVE key pair (its secret is wiped when dropped).
pub struct ServerKeys {
    public: [u8; 32],
    secret: SecretKey,
}

impl ServerKeys {
    pub fn from_secret(mut secret: [u8; 32]) -> ServerKeys {
        let key = SecretKey::from(secret);
        secret.zeroize();
        ServerKeys {
            public: key.public_key().to_bytes(),
            secret: key,
        }
    }

    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }
}

/// Whether a CURVE client's long-term public key may come in: the name its requests
/// are then made by, or None (it is told "400" and the connection closes).
pub type Authenticate<'a> = dyn FnMut(&[u8; 32]) -> Option<String> + 'a;

/// One message a client sent: its parts, delimiter included when it sent one.
pub type Message = Vec<Vec<u8>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Waiting for the peer's 64-byte greeting.
    Greeting,
    /// NULL: waiting for the peer's READY.
    NullReady,
    /// CURVE, accepted: waiting for HELLO, then INITIATE.
    Hello,
    Initiate,
    /// CURVE, dialed: waiting for WELCOME, then READY.
    Welcome,
    CurveReady,
    Ready,
    /// Broken: nothing more is read or sent.
    Failed,
}

/// Which end of the connection this is.
enum Side {
    Accepted(Option<Arc<ServerKeys>>),
    Dialed(Option<Box<Dialing>>),
}

/// A dialer's CURVE keys and handshake so far.
struct Dialing {
    keys: CurveClient,
    hello: Option<ClientHello>,
}

/// What an accepted CURVE connection keeps between HELLO and INITIATE.
struct Handshake {
    client_transient: PublicKey,
    transient: SecretKey,
    cookie: [u8; 96],
    hello_nonce: u64,
}

/// One connection.
pub struct Link {
    phase: Phase,
    side: Side,
    /// Bytes read that do not yet make a whole frame.
    input: Vec<u8>,
    /// Bytes to send; `out[sent..]` are not written yet.
    out: Vec<u8>,
    sent: usize,
    codec: Codec,
    handshake: Option<Box<Handshake>>,
    /// The peer's ZMTP minor version: 3.0 peers get no ERROR command.
    minor: u8,
    user: Option<String>,
    /// The parts of a message still arriving, and their size so far.
    parts: Vec<Vec<u8>>,
    size: usize,
    max_frame: usize,
    max_message: usize,
}

/// Buffers beyond this are given back once empty, so a connection that once moved a
/// big message does not keep its memory while idle.
const KEEP: usize = 64 * 1024;

impl Link {
    /// A connection a client made to us: our greeting (and under NULL our READY,
    /// which needs nothing from the client) is queued at once. `max_frame` caps one
    /// part, `max_message` the parts of a message together.
    pub fn accepted(keys: Option<Arc<ServerKeys>>, max_frame: usize, max_message: usize) -> Link {
        let mechanism = if keys.is_some() { "CURVE" } else { "NULL" };
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&greeting::ours(mechanism));
        out[greeting::AS_SERVER] = 1;
        if keys.is_none() {
            frame::put_command(&mut out, b"READY", &metadata::of_type(b"ROUTER"));
        }
        Link::with(Side::Accepted(keys), out, max_frame, max_message)
    }

    /// A connection we made to a server, as a DEALER: our greeting and READY (NULL)
    /// or HELLO (CURVE) are queued at once.
    pub fn dialed(
        security: &Security,
        max_frame: usize,
        max_message: usize,
    ) -> Result<Link, NetError> {
        let mut out = Vec::with_capacity(512);
        let side = match security {
            Security::Null => {
                out.extend_from_slice(&greeting::ours("NULL"));
                frame::put_command(&mut out, b"READY", &metadata::ours());
                Side::Dialed(None)
            }
            Security::Curve(keys) => {
                out.extend_from_slice(&greeting::ours("CURVE"));
                let (hello, data) = ClientHello::new(keys)?;
                frame::put_command(&mut out, b"HELLO", &data);
                Side::Dialed(Some(Box::new(Dialing {
                    keys: keys.clone(),
                    hello: Some(hello),
                })))
            }
        };
        Ok(Link::with(side, out, max_frame, max_message))
    }

    fn with(side: Side, out: Vec<u8>, max_frame: usize, max_message: usize) -> Link {
        Link {
            phase: Phase::Greeting,
            side,
            input: Vec::new(),
            out,
            sent: 0,
            codec: Codec::Null,
            handshake: None,
            minor: 0,
            user: None,
            parts: Vec::new(),
            size: 0,
            max_frame,
            max_message,
        }
    }

    /// Whether the handshake is done (messages can be sent).
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// The client's name from its CURVE key (None under NULL).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Takes bytes read from the connection; whole messages go to `messages`. An
    /// error means the connection is done for: send what is pending (an ERROR
    /// command, perhaps), then close it.
    pub fn input(
        &mut self,
        data: &[u8],
        auth: &mut Authenticate,
        messages: &mut Vec<Message>,
    ) -> Result<(), NetError> {
        if self.phase == Phase::Failed {
            return Err(NetError::Closed("connection already failed".into()));
        }
        let result = if self.input.is_empty() {
            // The common case: whole frames straight from the read buffer.
            self.consume(data, auth, messages).map(|used| {
                self.input.extend_from_slice(&data[used..]);
            })
        } else {
            let mut buf = std::mem::take(&mut self.input);
            buf.extend_from_slice(data);
            self.consume(&buf, auth, messages).map(|used| {
                buf.drain(..used);
                if buf.is_empty() && buf.capacity() > KEEP {
                    buf = Vec::new();
                }
                self.input = buf;
            })
        };
        if result.is_err() {
            self.phase = Phase::Failed;
            self.input = Vec::new();
            self.parts.clear();
        }
        result
    }

    /// Queues one message (its parts in order; a REQ client's delimiter first).
    pub fn send(&mut self, parts: &[Vec<u8>]) -> Result<(), NetError> {
        if self.phase != Phase::Ready {
            return Err(NetError::Closed("connection not ready".into()));
        }
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.iter().enumerate() {
            let more = if i < last { FLAG_MORE } else { 0 };
            self.codec.put_part(&mut self.out, more, part)?;
        }
        Ok(())
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> &[u8] {
        &self.out[self.sent..]
    }

    /// `n` bytes of `pending` were written.
    pub fn wrote(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.out.len());
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
            if self.out.capacity() > KEEP {
                self.out = Vec::new();
            }
        }
    }

    /// Handles as many whole pieces of `buf` as there are; returns the bytes used.
    fn consume(
        &mut self,
        buf: &[u8],
        auth: &mut Authenticate,
        messages: &mut Vec<Message>,
    ) -> Result<usize, NetError> {
        let mut at = 0;
        loop {
            let rest = &buf[at..];
            let used = if self.phase == Phase::Greeting {
                self.greeting(rest)?
            } else {
                self.frame(rest, auth, messages)?
            };
            if used == 0 {
                return Ok(at);
            }
            at += used;
        }
    }

    fn greeting(&mut self, g: &[u8]) -> Result<usize, NetError> {
        let peer = match self.side {
            Side::Accepted(_) => "client",
            Side::Dialed(_) => "server",
        };
        let Some(greeting) = greeting::check(g, peer)? else {
            return Ok(0);
        };
        self.minor = greeting.minor;
        let theirs = greeting.mechanism;
        let curve = match &self.side {
            Side::Accepted(keys) => keys.is_some(),
            Side::Dialed(dialing) => dialing.is_some(),
        };
        let ours = if curve { "CURVE" } else { "NULL" };
        if let Side::Dialed(_) = self.side {
            check_mechanism(ours, &theirs)?;
        } else if theirs != ours {
            return Err(NetError::Mechanism(format!(
                "client uses {theirs}, this server {ours}"
            )));
        }
        self.phase = match (&self.side, curve) {
            (_, false) => Phase::NullReady,
            (Side::Accepted(_), true) => Phase::Hello,
            (Side::Dialed(_), true) => Phase::Welcome,
        };
        Ok(greeting::LEN)
    }

    /// One whole frame from `buf`, or 0 when it is not all there yet.
    fn frame(
        &mut self,
        buf: &[u8],
        auth: &mut Authenticate,
        messages: &mut Vec<Message>,
    ) -> Result<usize, NetError> {
        let Some(&flags) = buf.first() else {
            return Ok(0);
        };
        frame::check_flags(flags)?;
        let head = if flags & FLAG_LONG != 0 { 9 } else { 2 };
        if buf.len() < head {
            return Ok(0);
        }
        let size = if flags & FLAG_LONG != 0 {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(&buf[1..9]);
            u64::from_be_bytes(eight)
        } else {
            u64::from(buf[1])
        };
        let max = match (self.phase, &self.codec) {
            (Phase::Ready, Codec::Curve(_)) => {
                self.max_frame.saturating_add(curve::MESSAGE_OVERHEAD)
            }
            (Phase::Ready, Codec::Null) => self.max_frame,
            _ => MAX_HANDSHAKE_FRAME,
        };
        let size = match usize::try_from(size) {
            Ok(n) if n <= max => n,
            _ => {
                return Err(NetError::protocol(format!(
                    "frame of {size} bytes exceeds the limit of {max}"
                )));
            }
        };
        let Some(body) = buf.get(head..head + size) else {
            return Ok(0);
        };
        let command = flags & FLAG_COMMAND != 0;
        match self.phase {
            Phase::NullReady => self.null_ready(command, body)?,
            Phase::Hello => self.hello(command, body)?,
            Phase::Initiate => self.initiate(command, body, auth)?,
            Phase::Welcome => self.welcome(command, body)?,
            Phase::CurveReady => self.curve_ready(command, body)?,
            _ => self.traffic(flags, body, messages)?,
        }
        Ok(head + size)
    }

    fn null_ready(&mut self, command: bool, body: &[u8]) -> Result<(), NetError> {
        let cmd = expect(command, body, b"READY")?;
        match self.side {
            Side::Accepted(_) => {
                metadata::check_peer(cmd.data, ROUTER_PEERS, "client", "a ROUTER")?
            }
            Side::Dialed(_) => metadata::check_server(cmd.data)?,
        }
        self.phase = Phase::Ready;
        Ok(())
    }

    /// Dialed, CURVE: WELCOME, answered with INITIATE.
    fn welcome(&mut self, command: bool, body: &[u8]) -> Result<(), NetError> {
        let cmd = expect(command, body, b"WELCOME")?;
        let dialing = self.curve_dialing("WELCOME")?;
        let initiate = match dialing.hello.as_mut() {
            Some(hello) => hello.initiate(&dialing.keys, cmd.data)?,
            None => return Err(NetError::protocol("CURVE WELCOME twice")),
        };
        frame::put_command(&mut self.out, b"INITIATE", &initiate);
        self.phase = Phase::CurveReady;
        Ok(())
    }

    /// Dialed, CURVE: READY, the session.
    fn curve_ready(&mut self, command: bool, body: &[u8]) -> Result<(), NetError> {
        let cmd = expect(command, body, b"READY")?;
        let Some(hello) = self.curve_dialing("READY")?.hello.take() else {
            return Err(NetError::protocol("CURVE READY twice"));
        };
        self.codec = Codec::Curve(Box::new(hello.ready(cmd.data)?));
        self.phase = Phase::Ready;
        Ok(())
    }

    /// The CURVE handshake of a dialed link, which `name` (a server's command) is
    /// part of; an error on a link that did not dial with CURVE.
    fn curve_dialing(&mut self, name: &str) -> Result<&mut Dialing, NetError> {
        match &mut self.side {
            Side::Dialed(Some(dialing)) => Ok(dialing),
            _ => Err(NetError::protocol(format!("CURVE {name} to a server"))),
        }
    }

    /// Queues a PING (a ZMTP 3.1 heartbeat, no TTL): the peer answers PONG, so a
    /// dialer hears from a live server at least that often.
    pub fn ping(&mut self) -> Result<(), NetError> {
        if self.phase != Phase::Ready {
            return Ok(());
        }
        self.codec.put_command(&mut self.out, b"\x04PING\0\0")
    }

    /// HELLO: the client's transient key C' and a box proving it knows our key.
    fn hello(&mut self, command: bool, body: &[u8]) -> Result<(), NetError> {
        let Some(keys) = self.server_keys() else {
            return Err(NetError::protocol("CURVE HELLO without server keys"));
        };
        let cmd = expect(command, body, b"HELLO")?;
        let d = cmd.data;
        if d.len() != 194 || d[..2] != [1, 0] {
            return Err(NetError::protocol("malformed CURVE HELLO"));
        }
        let mut c_prime = [0u8; 32];
        c_prime.copy_from_slice(&d[74..106]);
        let client_transient = PublicKey::from(c_prime);
        let hello_nonce = be64(&d[106..114]);
        let from_client = SalsaBox::new(&client_transient, &keys.secret);
        let mut boxed = d[114..194].to_vec();
        curve::open_in_place(
            &from_client,
            &curve::short_nonce(b"CurveZMQHELLO---", hello_nonce),
            &mut boxed,
        )
        .map_err(|()| {
            NetError::protocol("CURVE HELLO does not open (client has another server key)")
        })?;

        let transient = curve::random_secret()?;
        let mut cookie = [0u8; 96];
        let mut tail = [0u8; 16];
        random(&mut cookie)?;
        random(&mut tail)?;
        let mut plain = [0u8; 128];
        plain[..32].copy_from_slice(transient.public_key().as_bytes());
        plain[32..].copy_from_slice(&cookie);
        let mut welcome = Vec::with_capacity(16 + TAG + 128);
        welcome.extend_from_slice(&tail);
        curve::seal_into(
            &mut welcome,
            &from_client,
            &curve::long_nonce(b"WELCOME-", &tail),
            &plain,
        )?;
        plain.zeroize();
        frame::put_command(&mut self.out, b"WELCOME", &welcome);
        self.handshake = Some(Box::new(Handshake {
            client_transient,
            transient,
            cookie,
            hello_nonce,
        }));
        self.phase = Phase::Initiate;
        Ok(())
    }

    /// INITIATE: the cookie back, the client's long-term key C and a vouch that C
    /// owns C'; the client is then let in by `auth`, or refused.
    fn initiate(
        &mut self,
        command: bool,
        body: &[u8],
        auth: &mut Authenticate,
    ) -> Result<(), NetError> {
        let (Some(keys), Some(hs)) = (self.server_keys(), self.handshake.take()) else {
            return Err(NetError::protocol("CURVE INITIATE before HELLO"));
        };
        let cmd = expect(command, body, b"INITIATE")?;
        let d = cmd.data;
        if d.len() < 96 + 8 + TAG + 32 + 16 + TAG + 64 || d[..96] != hs.cookie {
            return Err(NetError::protocol("malformed CURVE INITIATE"));
        }
        let nonce = be64(&d[96..104]);
        if nonce <= hs.hello_nonce {
            return Err(NetError::protocol("CURVE INITIATE nonce did not increase"));
        }
        let cipher = SalsaBox::new(&hs.client_transient, &hs.transient);
        let mut boxed = d[104..].to_vec();
        curve::open_in_place(
            &cipher,
            &curve::short_nonce(b"CurveZMQINITIATE", nonce),
            &mut boxed,
        )
        .map_err(|()| NetError::protocol("CURVE INITIATE does not open"))?;
        let plain = &boxed[TAG..];
        let mut client = [0u8; 32];
        client.copy_from_slice(&plain[..32]);
        let mut vouch_tail = [0u8; 16];
        vouch_tail.copy_from_slice(&plain[32..48]);
        let mut vouch = plain[48..48 + TAG + 64].to_vec();
        let vouch_cipher = SalsaBox::new(&PublicKey::from(client), &hs.transient);
        curve::open_in_place(
            &vouch_cipher,
            &curve::long_nonce(b"VOUCH---", &vouch_tail),
            &mut vouch,
        )
        .map_err(|()| NetError::protocol("CURVE vouch does not open"))?;
        if vouch[TAG..TAG + 32] != *hs.client_transient.as_bytes()
            || vouch[TAG + 32..] != keys.public
        {
            return Err(NetError::protocol("CURVE vouch names other keys"));
        }
        metadata::check_peer(&plain[48 + TAG + 64..], ROUTER_PEERS, "client", "a ROUTER")?;
        let Some(user) = auth(&client) else {
            if self.minor >= 1 {
                frame::put_command(&mut self.out, b"ERROR", b"\x03400");
            }
            return Err(NetError::Denied("unknown client key".into()));
        };
        // READY: our metadata boxed under (C', s') with our first short nonce.
        const READY_NONCE: u64 = 1;
        let mut ready = READY_NONCE.to_be_bytes().to_vec();
        curve::seal_into(
            &mut ready,
            &cipher,
            &curve::short_nonce(b"CurveZMQREADY---", READY_NONCE),
            &metadata::of_type(b"ROUTER"),
        )?;
        frame::put_command(&mut self.out, b"READY", &ready);
        self.codec = Codec::Curve(Box::new(Session::server(cipher, READY_NONCE, nonce)));
        self.user = Some(user);
        self.phase = Phase::Ready;
        Ok(())
    }

    fn server_keys(&self) -> Option<Arc<ServerKeys>> {
        match &self.side {
            Side::Accepted(keys) => keys.clone(),
            Side::Dialed(_) => None,
        }
    }

    /// A frame after the handshake: a message part, or a command (PING).
    fn traffic(
        &mut self,
        flags: u8,
        body: &[u8],
        messages: &mut Vec<Message>,
    ) -> Result<(), NetError> {
        let (part, more, command) = match &mut self.codec {
            Codec::Null => (
                body.to_vec(),
                flags & FLAG_MORE != 0,
                flags & FLAG_COMMAND != 0,
            ),
            Codec::Curve(session) => {
                let mut part = body.to_vec();
                let opened = session.open(&mut part)?;
                (part, opened.more, opened.command)
            }
        };
        if command {
            return self.command(&part);
        }
        self.size = self.size.saturating_add(part.len());
        if self.size > self.max_message {
            return Err(NetError::protocol(format!(
                "message exceeds the limit of {} bytes",
                self.max_message
            )));
        }
        self.parts.push(part);
        if !more {
            messages.push(std::mem::take(&mut self.parts));
            self.size = 0;
        }
        Ok(())
    }

    /// PING (a ZMTP 3.1 heartbeat) gets PONG with its context; others are ignored.
    fn command(&mut self, body: &[u8]) -> Result<(), NetError> {
        match frame::pong(body)? {
            Some(pong) => self.codec.put_command(&mut self.out, &pong),
            None => Ok(()),
        }
    }
}

/// Socket types a ROUTER talks to (ZMTP RFC 28).
const ROUTER_PEERS: &[&[u8]] = &[b"REQ", b"DEALER", b"ROUTER"];

fn expect<'a>(command: bool, body: &'a [u8], name: &[u8]) -> Result<frame::Command<'a>, NetError> {
    let wanted = || format!("expected {} in the handshake", frame::show(name));
    if !command {
        return Err(NetError::protocol(format!("{}, got a message", wanted())));
    }
    let cmd = frame::parse_command(body)?;
    if cmd.name == b"ERROR" {
        return Err(NetError::Denied(metadata::error_reason(cmd.data)));
    }
    if cmd.name != name {
        return Err(NetError::protocol(format!(
            "{}, got {}",
            wanted(),
            frame::show(cmd.name)
        )));
    }
    Ok(cmd)
}

fn be64(b: &[u8]) -> u64 {
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&b[..8]);
    u64::from_be_bytes(eight)
}

fn random(buf: &mut [u8]) -> Result<(), NetError> {
    getrandom::fill(buf)
        .map_err(|e| NetError::Io(format!("reading the OS random number generator: {e}")))
}

//! The proxy's sockets: every listener, client connection and an edge's uplink on
//! one epoll (mio), owned by the dispatcher thread, each connection speaking ZMTP
//! through `woof_net::zmtp::Link`. It stands where libzmq's ROUTER and DEALER
//! stood: a message comes in with its connection's identity, a reply goes out to
//! one. The pools' replies reach the dispatcher through the `Inbox`, which wakes
//! the same epoll.
//!
//! Measured (make bench scale-proxy, 5 000 parked follows + 5 000 idle connections):
//! libzmq's ROUTER held ~28.6 kB per connection (144 MB, 9 threads); this holds
//! 1.6 kB (8 MB, 7 threads), and a request is read, answered and written by one
//! thread instead of crossing libzmq's I/O thread twice (a warm remote get 21 µs,
//! against 161 µs for a bare libzmq REQ/REP round trip in the same run).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};
use woof_net::zmtp::{Link, Security, ServerKeys};

use crate::dialer::Dial;
use crate::link_io::{Left, MAX_PENDING, read_in, write_out};

/// Listeners are tokens below `DIAL`; connections get ids from `FIRST_CONN` up,
/// never reused.
const FIRST_CONN: usize = 256;
const WAKE: Token = Token(FIRST_CONN - 1);
const DIAL: Token = Token(FIRST_CONN - 2);
/// A connection must finish its handshake within this (libzmq's ZMQ_HANDSHAKE_IVL).
const HANDSHAKE: Duration = Duration::from_secs(30);
/// A connection being closed after an error is dropped after this even if the
/// client does not hang up (it has had the time to read our ERROR).
const LINGER: Duration = Duration::from_secs(1);

/// A message from a client.
pub struct Incoming {
    pub endpoint: usize,
    pub identity: Vec<u8>,
    pub user: Option<String>,
    pub parts: Vec<Vec<u8>>,
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn source(&mut self) -> &mut dyn Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }

    fn shutdown_write(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Conn {
    stream: Stream,
    endpoint: usize,
    zmtp: Link,
    peer: String,
    opened: Instant,
    /// Set when the connection failed: what is pending goes out, then it closes.
    closing: Option<Instant>,
}

/// Replies from the pools' and parkers' threads to the dispatcher.
pub struct Inbox {
    queue: Mutex<Vec<Vec<Vec<u8>>>>,
    waker: Waker,
}

impl Inbox {
    /// Queues a reply (its routing frames first) and wakes the dispatcher.
    pub fn send(&self, reply: Vec<Vec<u8>>) {
        let Ok(mut queue) = self.queue.lock() else {
            return;
        };
        queue.push(reply);
        // One wake-up for a batch: the dispatcher takes them all at once.
        if queue.len() == 1 {
            drop(queue);
            let _ = self.waker.wake();
        }
    }

    fn take(&self) -> Vec<Vec<Vec<u8>>> {
        self.queue
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }
}

pub struct Router {
    poll: Poll,
    events: Events,
    inbox: Arc<Inbox>,
    dial: Option<Dial>,
    listeners: Vec<(usize, Listener)>,
    /// Listeners that ran out of descriptors: retried until they accept again.
    paused: Vec<bool>,
    conns: HashMap<usize, Conn>,
    next: usize,
    keys: Option<Arc<ServerKeys>>,
    max_frame: usize,
    buf: Vec<u8>,
    swept: Instant,
    /// Some connection is still in its handshake or closing: sweep once a second.
    unsettled: bool,
}

impl Router {
    pub fn new(keys: Option<Arc<ServerKeys>>, max_frame: usize) -> io::Result<Router> {
        let poll = Poll::new()?;
        let inbox = Arc::new(Inbox {
            queue: Mutex::new(Vec::new()),
            waker: Waker::new(poll.registry(), WAKE)?,
        });
        Ok(Router {
            poll,
            inbox,
            dial: None,
            events: Events::with_capacity(1024),
            listeners: Vec::new(),
            paused: Vec::new(),
            conns: HashMap::new(),
            next: FIRST_CONN,
            keys,
            max_frame,
            buf: vec![0; 256 * 1024],
            swept: Instant::now(),
            unsettled: false,
        })
    }

    /// Binds `tcp://HOST:PORT` (PORT `*`: any free one) or `ipc://PATH` for
    /// `endpoint`; returns the address bound, as libzmq would write it.
    pub fn bind(&mut self, endpoint: usize, address: &str) -> io::Result<String> {
        let token = Token(self.listeners.len());
        if token >= DIAL {
            return Err(io::Error::other("too many endpoints"));
        }
        let (mut listener, bound) = if let Some(rest) = address.strip_prefix("tcp://") {
            let addr = resolve(rest)?;
            let l = TcpListener::bind(addr)?;
            let bound = format!("tcp://{}", l.local_addr()?);
            (Listener::Tcp(l), bound)
        } else if let Some(path) = address.strip_prefix("ipc://") {
            let path = PathBuf::from(path);
            // A socket left by a proxy that was killed: only a socket is removed.
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
                std::fs::remove_file(&path)?;
            }
            (
                Listener::Unix(UnixListener::bind(&path)?),
                address.to_string(),
            )
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "expected tcp://HOST:PORT or ipc://PATH",
            ));
        };
        let source: &mut dyn Source = match &mut listener {
            Listener::Tcp(l) => l,
            Listener::Unix(l) => l,
        };
        self.poll
            .registry()
            .register(source, token, Interest::READABLE)?;
        self.listeners.push((endpoint, listener));
        self.paused.push(false);
        Ok(bound)
    }

    /// Where the pools' and parkers' threads send replies.
    pub fn inbox(&self) -> Arc<Inbox> {
        Arc::clone(&self.inbox)
    }

    /// Dials `address` (`tcp://HOST:PORT`) for `endpoint` and keeps the connection:
    /// reconnecting with a back-off, PINGing, giving up a silent one. Messages from
    /// it come with an empty identity; `send_dialed` answers.
    pub fn dial(&mut self, endpoint: usize, address: &str, security: Security) {
        self.dial = Some(Dial::new(endpoint, address, security, self.max_frame));
    }

    /// Waits up to `timeout` (None: until something happens) for sockets, then
    /// accepts, reads and writes what is ready; messages that came in go to `out`,
    /// replies from the inbox to `replies`. `auth` decides CURVE clients by key and
    /// address.
    pub fn turn(
        &mut self,
        timeout: Option<Duration>,
        auth: &mut dyn FnMut(&[u8; 32], &str) -> Option<String>,
        out: &mut Vec<Incoming>,
        replies: &mut Vec<Vec<Vec<u8>>>,
    ) {
        let timeout = [timeout, self.wait_hint()].into_iter().flatten().min();
        for i in 0..self.listeners.len() {
            if self.paused[i] {
                self.accept(i);
            }
        }
        if let Err(e) = self.poll.poll(&mut self.events, timeout)
            && e.kind() != io::ErrorKind::Interrupted
        {
            eprintln!("woof-proxy: epoll: {e}");
        }
        let ready: Vec<(Token, bool, bool)> = self
            .events
            .iter()
            .map(|e| {
                let readable = e.is_readable() || e.is_read_closed() || e.is_error();
                (e.token(), readable, e.is_writable())
            })
            .collect();
        for (token, readable, writable) in ready {
            if token == WAKE {
                continue;
            }
            if token == DIAL {
                if let Some(d) = &mut self.dial {
                    let endpoint = d.endpoint;
                    let messages = d.on_ready(readable, writable, &mut self.buf);
                    out.extend(messages.into_iter().map(|parts| Incoming {
                        endpoint,
                        identity: Vec::new(),
                        user: None,
                        parts,
                    }));
                }
                continue;
            }
            if token < DIAL {
                self.accept(token.0);
                continue;
            }
            let token = token.0;
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            let mut left = Left::Open;
            if readable {
                left = read(conn, token, &mut self.buf, auth, out);
            }
            if left == Left::Open && (writable || readable) {
                left = flush(conn);
            }
            if left == Left::Gone {
                self.conns.remove(&token);
            }
        }
        replies.extend(self.inbox.take());
        if let Some(d) = &mut self.dial {
            d.tick(self.poll.registry(), DIAL);
        }
        if self.unsettled && self.swept.elapsed() >= Duration::from_secs(1) {
            self.sweep();
        }
    }

    /// How long the loop may sleep before there is something to do anyway.
    fn wait_hint(&self) -> Option<Duration> {
        let dial = self.dial.as_ref().map(Dial::next_due);
        let sweep = if self.paused.contains(&true) {
            Some(Duration::from_millis(50))
        } else if self.unsettled {
            Some(Duration::from_secs(1))
        } else {
            None
        };
        [dial, sweep].into_iter().flatten().min()
    }

    /// Sends a message to the server an uplink dialed; false when it is not
    /// connected (nothing is queued for a connection that is not there).
    pub fn send_dialed(&mut self, parts: &[Vec<u8>]) -> bool {
        self.dial.as_mut().is_some_and(|d| d.send(parts))
    }

    /// Whether `endpoint` is the one dialed.
    pub fn is_dialed(&self, endpoint: usize) -> bool {
        self.dial.as_ref().is_some_and(|d| d.endpoint == endpoint)
    }

    /// Whether this proxy dials an uplink.
    pub fn dials(&self) -> bool {
        self.dial.is_some()
    }

    /// Sends `parts` out of `endpoint`: over the uplink when it is the one dialed,
    /// else to the client connection its first part names (as to a ROUTER). False
    /// when there is no such connection (any more), or it is failing or not reading.
    pub fn send(&mut self, endpoint: usize, parts: &[Vec<u8>]) -> bool {
        if self.is_dialed(endpoint) {
            return self.send_dialed(parts);
        }
        let Some((identity, rest)) = parts.split_first() else {
            return false;
        };
        let Some(id) = id_of(identity) else {
            return false;
        };
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        if conn.closing.is_some()
            || conn.zmtp.pending().len() > MAX_PENDING
            || conn.zmtp.send(rest).is_err()
        {
            return false;
        }
        if flush(conn) == Left::Gone {
            self.conns.remove(&id);
            return false;
        }
        true
    }

    fn accept(&mut self, index: usize) {
        loop {
            let (endpoint, listener) = &self.listeners[index];
            let accepted = match listener {
                Listener::Tcp(l) => l.accept().map(|(s, addr)| {
                    let _ = s.set_nodelay(true);
                    (Stream::Tcp(s), addr.to_string())
                }),
                Listener::Unix(l) => l.accept().map(|(s, _)| (Stream::Unix(s), "ipc".into())),
            };
            let endpoint = *endpoint;
            match accepted {
                Ok((stream, peer)) => {
                    if self.paused[index] {
                        self.paused[index] = false;
                        eprintln!("woof-proxy: accepting connections again");
                    }
                    self.open(endpoint, stream, peer);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    // Out of descriptors (EMFILE, ENFILE) or memory: the connection
                    // waits in the kernel's backlog and is taken when one is free.
                    if !self.paused[index] {
                        eprintln!(
                            "woof-proxy: cannot accept a connection ({} open): {e}",
                            self.conns.len()
                        );
                    }
                    self.paused[index] = true;
                    return;
                }
            }
        }
    }

    fn open(&mut self, endpoint: usize, mut stream: Stream, peer: String) {
        let id = self.next;
        self.next += 1;
        if self
            .poll
            .registry()
            .register(
                stream.source(),
                Token(id),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            return;
        }
        let mut conn = Conn {
            stream,
            endpoint,
            zmtp: Link::accepted(self.keys.clone(), self.max_frame, 4 * self.max_frame),
            peer,
            opened: Instant::now(),
            closing: None,
        };
        if flush(&mut conn) == Left::Open {
            self.conns.insert(id, conn);
            self.unsettled = true;
        }
    }

    /// Drops connections whose handshake took too long and failed ones that linger.
    fn sweep(&mut self) {
        let now = Instant::now();
        self.swept = now;
        let mut unsettled = false;
        self.conns.retain(|_, c| {
            let keep = match c.closing {
                Some(since) => now.duration_since(since) < LINGER,
                None => c.zmtp.is_ready() || now.duration_since(c.opened) < HANDSHAKE,
            };
            unsettled |= keep && (c.closing.is_some() || !c.zmtp.is_ready());
            keep
        });
        self.unsettled = unsettled;
    }
}

/// Reads all there is and hands whole messages on with the connection's identity.
fn read(
    conn: &mut Conn,
    id: usize,
    buf: &mut [u8],
    auth: &mut dyn FnMut(&[u8; 32], &str) -> Option<String>,
    out: &mut Vec<Incoming>,
) -> Left {
    let mut messages = Vec::new();
    let peer = &conn.peer;
    let mut by_key = |key: &[u8; 32]| auth(key, peer);
    let got = read_in(
        &mut conn.stream,
        &mut conn.zmtp,
        conn.closing.is_some(),
        buf,
        &mut by_key,
        &mut messages,
    );
    if got.failed.is_some() {
        // What is pending (an ERROR) goes out; the client hangs up, or LINGER.
        conn.closing = Some(Instant::now());
    }
    out.extend(messages.into_iter().map(|parts| Incoming {
        endpoint: conn.endpoint,
        identity: (id as u64).to_be_bytes().to_vec(),
        user: conn.zmtp.user().map(str::to_string),
        parts,
    }));
    got.left
}

/// Writes what is pending until the socket would block; a failing connection's
/// write side is shut once all is out.
fn flush(conn: &mut Conn) -> Left {
    let left = write_out(&mut conn.stream, &mut conn.zmtp);
    if left == Left::Open && conn.closing.is_some() && conn.zmtp.pending().is_empty() {
        conn.stream.shutdown_write();
    }
    left
}

fn id_of(identity: &[u8]) -> Option<usize> {
    let bytes: [u8; 8] = identity.try_into().ok()?;
    usize::try_from(u64::from_be_bytes(bytes)).ok()
}

/// `HOST:PORT` as libzmq reads it: `*` for every IPv4 interface, `[v6]`, a name.
fn resolve(text: &str) -> io::Result<SocketAddr> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, why.to_string());
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| bad("expected HOST:PORT"))?;
    let port: u16 = match port {
        "*" | "0" => 0,
        p => p.parse().map_err(|_| bad("bad port"))?,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host == "*" { "0.0.0.0" } else { host };
    let mut addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    // A name with both families binds IPv4, as libzmq does without ZMQ_IPV6.
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs
        .into_iter()
        .next()
        .ok_or_else(|| bad("the host name resolves to no address"))
}

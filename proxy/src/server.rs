//! The sockets and threads of woof-proxy.
//!
//! One dispatcher thread owns every connection clients make (router.rs: one epoll,
//! ZMTP spoken by woof_net, no libzmq socket per client). It answers what never
//! waits itself, hands
//! other requests to the workers' pool and follows that must wait to the parkers
//! (parker.rs: a few threads for all of them, so a crowd of idle followers costs
//! no threads and never starves puts and gets), and sends back the replies they push
//! to it over inproc. A full queue answers "busy" at once (exit 75 on the client),
//! never by hanging.
//!
//! Requests of one connection run one at a time, in the order sent: a client that
//! pipelines batches gets them appended in its order and its replies in order, as
//! over one TCP stream; different clients run in parallel.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Instant;

use woof::{Error, ErrorKind};
use woof_net::proto::{self, MAX_MESSAGE};

use crate::cache::Cache;
use crate::cspot;
use crate::ops;
use crate::parker::{Parked, Parkers};
use crate::request::{Request, Shared};
use crate::router::{Incoming, Router};
use crate::uplink;
use woof_net::zmtp::ServerKeys;

/// A request on its way to a pool.
struct Job {
    endpoint: usize,
    /// Routing frames: the client's identity and, from REQ-style clients, the empty
    /// delimiter — sent back in front of the reply. (For a request that came over
    /// an uplink, the uplink's reply header.)
    envelope: Vec<Vec<u8>>,
    /// The client connection, whose requests run one at a time in order.
    conn: Vec<u8>,
    user: Option<String>,
    frames: Vec<Vec<u8>>,
    /// Refused for want of room: answered "busy" in its turn, so that the replies of
    /// a pipelining client stay in the order of its requests.
    refused: bool,
}

/// A bounded queue feeding the workers' pool.
struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    limit: usize,
    name: &'static str,
}

struct State {
    jobs: VecDeque<Job>,
}

impl Queue {
    fn new(name: &'static str, limit: usize) -> Arc<Queue> {
        Arc::new(Queue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
            }),
            ready: Condvar::new(),
            limit,
            name,
        })
    }

    /// Queues the job, or gives it back when the queue is full.
    fn push(&self, job: Job) -> Result<(), Job> {
        let Ok(mut q) = self.state.lock() else {
            return Err(job);
        };
        if q.jobs.len() >= self.limit {
            return Err(job);
        }
        q.jobs.push_back(job);
        self.ready.notify_one();
        Ok(())
    }

    fn pop(&self) -> Option<Job> {
        let mut q = self.state.lock().ok()?;
        loop {
            if let Some(j) = q.jobs.pop_front() {
                return Some(j);
            }
            q = self.ready.wait(q).ok()?;
        }
    }
}

fn zerr(what: impl Into<String>, e: zmq::Error) -> Error {
    Error::new(ErrorKind::Io, what).detail(e.to_string())
}

/// Binds every endpoint (reporting each on stderr), starts the pools, and serves
/// until the process is killed.
pub fn run(
    shared: Shared,
    workers: u32,
    followers: u32,
    secret: Option<String>,
) -> Result<(), Error> {
    let ctx = zmq::Context::new();
    let keys = match &secret {
        Some(text) => {
            let key = woof_net::z85::decode_key(text).map_err(|e| {
                Error::new(ErrorKind::BadData, "the proxy's secret key").detail(e.to_string())
            })?;
            Some(Arc::new(ServerKeys::from_secret(key)))
        }
        None => None,
    };
    let mut router = Router::new(keys, MAX_MESSAGE as usize).map_err(|e| Error::io("epoll", e))?;
    let mut edge = None;
    for (i, ep) in shared.endpoints.iter().enumerate() {
        if let Some(keys) = &ep.uplink {
            // Dialled, not bound: the edge side of an uplink (the last endpoint).
            let e = uplink::Edge::connect(&ctx, &ep.bind, keys)?;
            edge = Some(EdgeLink {
                index: i,
                sock: e.sock,
                endpoint: e.endpoint,
            });
            continue;
        }
        let mut names: Vec<&str> = ep
            .exports
            .iter()
            .map(|&i| shared.exports[i].path.as_str())
            .collect();
        if shared.accept_uplinks && names.is_empty() {
            names.push("uplinks");
        }
        let bound = router.bind(i, &ep.bind).map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::AddrInUse {
                "address already in use (another woof-proxy, or another program, has this port)"
                    .to_string()
            } else {
                e.to_string()
            };
            Error::new(
                ErrorKind::Unavailable,
                format!("{} ({})", ep.bind, names.join(", ")),
            )
            .detail(why)
        })?;
        eprintln!(
            "woof-proxy: serving {} on {bound}{}",
            names.join(", "),
            if secret.is_some() { " (CURVE)" } else { "" }
        );
    }
    let replies = ctx.socket(zmq::PULL).map_err(|e| zerr("socket", e))?;
    replies
        .bind("inproc://replies")
        .map_err(|e| zerr("inproc", e))?;

    let shared = Arc::new(shared);
    let requests = Queue::new("worker", workers as usize * 256);
    for _ in 0..workers {
        let (ctx, shared, q) = (ctx.clone(), Arc::clone(&shared), Arc::clone(&requests));
        thread::Builder::new()
            .name(requests.name.to_string())
            .spawn(move || serve_pool(&ctx, &shared, &q))
            .map_err(|e| Error::io("a worker thread", e))?;
    }
    // Parkers start when follows need them (parker.rs).
    let start_parker = {
        let ctx = ctx.clone();
        move |parker: Arc<crate::parker::Parker>| {
            let push = match ctx.socket(zmq::PUSH) {
                Ok(p) if p.connect("inproc://replies").is_ok() => p,
                _ => return false,
            };
            let started = thread::Builder::new()
                .name("parker".to_string())
                .spawn(move || parker.run(&push));
            if let Err(e) = &started {
                eprintln!("woof-proxy: cannot start a parker thread: {e}");
            }
            started.is_ok()
        }
    };
    let parker = Parkers::new(followers as usize, Box::new(start_parker));
    let pools = Pools {
        shared: &shared,
        requests: &requests,
        parker: &parker,
    };
    let mut socks = Socks { router, edge };
    dispatch(&shared, &mut socks, &replies, &pools)
}

/// The uplink socket (the edge side), at its endpoint's index.
struct EdgeLink {
    index: usize,
    sock: zmq::Socket,
    endpoint: String,
}

/// Where replies go: a client connection, or the cloud over the edge's uplink.
struct Socks {
    router: Router,
    edge: Option<EdgeLink>,
}

impl Socks {
    /// Sends `parts` (routing frames first) out of `endpoint`; false when the
    /// connection is gone (or not reading).
    fn send(&mut self, endpoint: usize, parts: Vec<Vec<u8>>) -> bool {
        match &self.edge {
            Some(e) if e.index == endpoint => e.sock.send_multipart(parts, zmq::DONTWAIT).is_ok(),
            _ => self.router.send(&parts),
        }
    }
}

/// Per connection (endpoint, identity): the requests waiting for the one in a pool.
type Backlog = HashMap<(usize, Vec<u8>), VecDeque<Job>>;

/// Most requests one connection may have queued behind its running one.
const MAX_BACKLOG: usize = 1024;

fn dispatch(
    shared: &Shared,
    socks: &mut Socks,
    replies: &zmq::Socket,
    pools: &Pools,
) -> Result<(), Error> {
    let mut backlog = Backlog::new();
    let mut registry = uplink::Registry::default();
    let mut hello = socks.edge.as_ref().map(|e| uplink::Hello::new(&e.endpoint));
    let mut incoming = Vec::new();
    let mut auth = |key: &[u8; 32], peer: &str| shared.policy.authenticate(key, peer);
    loop {
        let mut wait = socks.router.wait_hint();
        if let (Some(h), Some(e)) = (&mut hello, &socks.edge) {
            let next = h.tick(&e.sock) + std::time::Duration::from_millis(1);
            wait = Some(wait.map_or(next, |w| w.min(next)));
        }
        let wait = wait.map_or(-1, |w| w.as_millis() as i64);
        let fd = socks.router.fd();
        let mut items = vec![
            zmq::PollItem::from_fd(fd, zmq::POLLIN),
            replies.as_poll_item(zmq::POLLIN),
        ];
        if let Some(e) = &socks.edge {
            items.push(e.sock.as_poll_item(zmq::POLLIN));
        }
        zmq::poll(&mut items, wait).map_err(|e| zerr("poll", e))?;
        let from_cloud = items.get(2).is_some_and(zmq::PollItem::is_readable);
        drop(items);
        // Replies first: they free clients and queue space.
        while let Ok(frames) = replies.recv_multipart(zmq::DONTWAIT) {
            if let Some(key) = forward_reply(socks, frames) {
                pools.next_of(socks, &mut backlog, key);
            }
        }
        socks.router.turn(&mut auth, &mut incoming);
        for msg in incoming.drain(..) {
            let job = job_of(msg);
            if shared.accept_uplinks {
                let i = job.endpoint;
                let mut out = |ep: usize, parts: Vec<Vec<u8>>| socks.send(ep, parts);
                let user = job.user.as_deref();
                if matches!(
                    registry.incoming(&mut out, i, &job.envelope[0], user, &job.frames),
                    uplink::Incoming::Done
                ) {
                    continue;
                }
                if uplink::is_routed(&job.frames) {
                    if let Err(reply) =
                        registry.route(&mut out, i, &job.envelope, user, &job.frames)
                    {
                        let mut reply_out = job.envelope;
                        reply_out.extend(reply);
                        socks.send(i, reply_out);
                    }
                    continue;
                }
            }
            take(shared, socks, pools, &mut backlog, job);
        }
        if from_cloud && let Some(e) = &socks.edge {
            let index = e.index;
            let mut routed = Vec::new();
            while let Ok(msg) = e.sock.recv_multipart(zmq::DONTWAIT) {
                routed.extend(uplink::parse_routed(msg));
            }
            for r in routed {
                let job = Job {
                    endpoint: index,
                    envelope: r.envelope,
                    conn: r.conn,
                    user: r.user,
                    frames: r.frames,
                    refused: false,
                };
                take(shared, socks, pools, &mut backlog, job);
            }
        }
    }
}

/// A client's message as a job: its identity, and the empty delimiter a REQ-style
/// client puts first, are the envelope its reply goes back with.
fn job_of(msg: Incoming) -> Job {
    let mut frames = msg.parts;
    let mut envelope = vec![msg.identity];
    if frames.first().is_some_and(Vec::is_empty) {
        envelope.push(frames.remove(0));
    }
    Job {
        endpoint: msg.endpoint,
        conn: envelope[0].clone(),
        envelope,
        user: msg.user,
        frames,
        refused: false,
    }
}

/// Answers a job at once, queues it behind its connection's running request, or
/// starts it in a pool.
fn take(shared: &Shared, socks: &mut Socks, pools: &Pools, backlog: &mut Backlog, job: Job) {
    let cache = &shared.cache;
    let key = (job.endpoint, job.conn.clone());
    match backlog.get_mut(&key) {
        // Far beyond any window: a client that never reads its replies loses these
        // requests rather than the proxy its memory.
        Some(waiting) if waiting.len() >= 4 * MAX_BACKLOG => {}
        Some(waiting) if waiting.len() >= MAX_BACKLOG => {
            // Keep only what the "busy" reply needs.
            let mut job = job;
            job.frames.truncate(1);
            job.refused = true;
            waiting.push_back(job);
        }
        Some(waiting) => waiting.push_back(job),
        None if quick(shared, cache, &job) => {
            let reply = answer(shared, cache, &request(shared, &job));
            let mut out = job.envelope;
            out.extend(reply);
            socks.send(job.endpoint, out);
        }
        None => {
            backlog.insert(key.clone(), VecDeque::new());
            pools.start(socks, backlog, key, job);
        }
    }
}

struct Pools<'a> {
    shared: &'a Shared,
    requests: &'a Arc<Queue>,
    parker: &'a Parkers,
}

impl Pools<'_> {
    /// Hands `job` (the connection's next) to the workers or, a follow that must
    /// wait, to the parker; when that is full, the client hears "busy" and the
    /// connection's next request goes.
    fn start(&self, socks: &mut Socks, backlog: &mut Backlog, key: (usize, Vec<u8>), job: Job) {
        if job.refused {
            busy(socks, job);
            self.next_of(socks, backlog, key);
            return;
        }
        if ops::is_follow(&job.frames) {
            self.park(socks, backlog, key, job);
            return;
        }
        if let Err(job) = self.requests.push(job) {
            busy(socks, job);
            self.next_of(socks, backlog, key);
        }
    }

    fn park(&self, socks: &mut Socks, backlog: &mut Backlog, key: (usize, Vec<u8>), job: Job) {
        let shared = self.shared;
        let wait = match ops::follow_or_reply(shared, &shared.cache, &request(shared, &job)) {
            Ok(wait) => wait,
            Err(reply) => {
                let mut out = job.envelope;
                out.extend(reply);
                socks.send(key.0, out);
                self.next_of(socks, backlog, key);
                return;
            }
        };
        let mut head = vec![vec![job.endpoint as u8], job.conn];
        head.extend(job.envelope);
        let deadline = Instant::now() + wait.wait;
        if let Err(p) = self.parker.park(Parked {
            head,
            wait,
            deadline,
        }) {
            let mut out: Vec<Vec<u8>> = p.head.into_iter().skip(2).collect();
            out.extend(proto::error_reply(&too_busy()));
            socks.send(key.0, out);
            self.next_of(socks, backlog, key);
        }
    }

    /// The connection's running request is done: start its next, if any.
    fn next_of(&self, socks: &mut Socks, backlog: &mut Backlog, key: (usize, Vec<u8>)) {
        match backlog.get_mut(&key).and_then(VecDeque::pop_front) {
            Some(job) => self.start(socks, backlog, key, job),
            None => {
                backlog.remove(&key);
            }
        }
    }
}

fn too_busy() -> Error {
    Error::new(ErrorKind::Full, "woof-proxy").detail("too busy; retry")
}

fn busy(socks: &mut Socks, job: Job) {
    let mut out = job.envelope;
    out.extend(if cspot::is_cspot(&job.frames) {
        cspot::busy_reply()
    } else {
        proto::error_reply(&too_busy())
    });
    socks.send(job.endpoint, out);
}

/// Sends a pool's reply to its client; returns the connection it belongs to.
fn forward_reply(socks: &mut Socks, mut frames: Vec<Vec<u8>>) -> Option<(usize, Vec<u8>)> {
    if frames.len() < 3 {
        return None;
    }
    let head = frames.remove(0);
    let conn = frames.remove(0);
    let idx = *head.first()? as usize;
    // A client that went away or stopped reading loses its reply, nothing else.
    socks.send(idx, frames);
    Some((idx, conn))
}

fn serve_pool(ctx: &zmq::Context, shared: &Shared, queue: &Queue) {
    let Ok(push) = ctx.socket(zmq::PUSH) else {
        return;
    };
    if push.connect("inproc://replies").is_err() {
        return;
    }
    while let Some(job) = queue.pop() {
        let reply = answer(shared, &shared.cache, &request(shared, &job));
        let mut out = Vec::with_capacity(2 + job.envelope.len() + reply.len());
        out.push(vec![job.endpoint as u8]);
        out.push(job.conn);
        out.extend(job.envelope);
        out.extend(reply);
        let _ = push.send_multipart(out, 0);
    }
}

fn request<'a>(shared: &'a Shared, job: &'a Job) -> Request<'a> {
    Request {
        exports: &shared.endpoints[job.endpoint].exports,
        user: job.user.as_deref(),
        frames: &job.frames,
    }
}

/// The reply to a request, in either protocol.
pub fn answer(shared: &Shared, cache: &Cache, req: &Request) -> Vec<Vec<u8>> {
    if req.frames.is_empty() {
        proto::error_reply(&Error::new(ErrorKind::Protocol, "request").detail("no frames"))
    } else if cspot::is_cspot(req.frames) {
        cspot::handle(shared, cache, req)
    } else {
        ops::handle(shared, cache, req)
    }
}

/// Whether a request is answered by the dispatcher itself: reads and puts that
/// never wait (no sync, no follow, no create) take a few microseconds, less than
/// the two thread hand-offs a pool costs.
fn quick(shared: &Shared, cache: &Cache, job: &Job) -> bool {
    let req = request(shared, job);
    if req.frames.is_empty() {
        return true;
    }
    if cspot::is_cspot(req.frames) {
        cspot::is_quick(shared, cache, &req)
    } else {
        ops::is_quick(shared, cache, &req)
    }
}

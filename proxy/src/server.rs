//! The sockets and threads of woof-proxy.
//!
//! One dispatcher thread owns every socket clients talk to (a ROUTER per endpoint:
//! ZeroMQ sockets are not thread-safe). It answers what never waits itself, hands
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
use crate::uplink;

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
    if secret.is_some() {
        crate::auth::start_zap(&ctx, Arc::clone(&shared.policy))?;
    }
    let mut routers = Vec::new();
    let mut edge = None;
    for ep in &shared.endpoints {
        if let Some(keys) = &ep.uplink {
            // Dialled, not bound: the edge side of an uplink (the last endpoint).
            let e = uplink::Edge::connect(&ctx, &ep.bind, keys)?;
            edge = Some(e);
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
        let sock = ctx.socket(zmq::ROUTER).map_err(|e| zerr("socket", e))?;
        sock.set_maxmsgsize(MAX_MESSAGE)
            .map_err(|e| zerr("socket", e))?;
        sock.set_linger(0).map_err(|e| zerr("socket", e))?;
        // libzmq refuses an IPv6 address ("No such device") unless told; only then,
        // since it would show IPv4 ones as mapped (`[::ffff:127.0.0.1]`).
        if ep.bind.starts_with("tcp://[") {
            sock.set_ipv6(true).map_err(|e| zerr("socket", e))?;
        }
        sock.set_sndtimeo(shared.follow_cap.as_millis().min(i32::MAX as u128) as i32)
            .map_err(|e| zerr("socket", e))?;
        if shared.accept_uplinks {
            // A send to an edge that went away fails instead of vanishing, so the
            // client hears "not connected" at once.
            sock.set_router_mandatory(true)
                .map_err(|e| zerr("socket", e))?;
        }
        if let Some(key) = &secret {
            sock.set_curve_server(true).map_err(|e| zerr("CURVE", e))?;
            sock.set_curve_secretkey(key.as_bytes())
                .map_err(|e| zerr("CURVE", e))?;
            sock.set_zap_domain("woof").map_err(|e| zerr("CURVE", e))?;
        }
        sock.bind(&ep.bind).map_err(|e| {
            let why = if e == zmq::Error::EADDRINUSE {
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
        let bound = match sock.get_last_endpoint() {
            Ok(Ok(s)) => s,
            _ => ep.bind.clone(),
        };
        eprintln!(
            "woof-proxy: serving {} on {bound}{}",
            names.join(", "),
            if secret.is_some() { " (CURVE)" } else { "" }
        );
        routers.push(sock);
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
    if let Some(e) = edge {
        // The dealer sits at its endpoint's index, after the routers.
        routers.push(e.sock);
        let edge = EdgeLink {
            index: routers.len() - 1,
            endpoint: e.endpoint,
        };
        return dispatch(&shared, &routers, &replies, &pools, Some(edge));
    }
    dispatch(&shared, &routers, &replies, &pools, None)
}

/// The uplink socket among the dispatcher's sockets (the edge side).
struct EdgeLink {
    index: usize,
    endpoint: String,
}

/// Per connection (endpoint, identity): the requests waiting for the one in a pool.
type Backlog = HashMap<(usize, Vec<u8>), VecDeque<Job>>;

/// Most requests one connection may have queued behind its running one.
const MAX_BACKLOG: usize = 1024;

fn dispatch(
    shared: &Shared,
    socks: &[zmq::Socket],
    replies: &zmq::Socket,
    pools: &Pools,
    edge: Option<EdgeLink>,
) -> Result<(), Error> {
    let mut backlog = Backlog::new();
    let mut registry = uplink::Registry::default();
    let mut hello = edge.as_ref().map(|e| uplink::Hello::new(&e.endpoint));
    let cache = &shared.cache;
    loop {
        let wait = match (&mut hello, &edge) {
            (Some(h), Some(e)) => h.tick(&socks[e.index]).as_millis() as i64 + 1,
            _ => -1,
        };
        let mut items: Vec<zmq::PollItem> =
            socks.iter().map(|s| s.as_poll_item(zmq::POLLIN)).collect();
        items.push(replies.as_poll_item(zmq::POLLIN));
        zmq::poll(&mut items, wait).map_err(|e| zerr("poll", e))?;
        let ready: Vec<bool> = items.iter().map(zmq::PollItem::is_readable).collect();
        drop(items);
        if ready[socks.len()] {
            // Replies first: they free clients and queue space.
            while let Ok(frames) = replies.recv_multipart(zmq::DONTWAIT) {
                if let Some(key) = forward_reply(socks, frames) {
                    pools.next_of(socks, &mut backlog, key);
                }
            }
        }
        for (i, sock) in socks.iter().enumerate() {
            if !ready[i] {
                continue;
            }
            let from_cloud = edge.as_ref().is_some_and(|e| e.index == i);
            loop {
                let job = if from_cloud {
                    match sock.recv_multipart(zmq::DONTWAIT) {
                        Ok(msg) => match uplink::parse_routed(msg) {
                            Some(r) => Job {
                                endpoint: i,
                                envelope: r.envelope,
                                conn: r.conn,
                                user: r.user,
                                frames: r.frames,
                                refused: false,
                            },
                            None => continue,
                        },
                        Err(_) => break,
                    }
                } else {
                    let Some(job) = receive(sock, i) else { break };
                    if shared.accept_uplinks {
                        let incoming = registry.incoming(
                            socks,
                            i,
                            &job.envelope[0],
                            job.user.as_deref(),
                            &job.frames,
                        );
                        if matches!(incoming, uplink::Incoming::Done) {
                            continue;
                        }
                        if uplink::is_routed(&job.frames) {
                            let routed = registry.route(
                                socks,
                                i,
                                &job.envelope,
                                job.user.as_deref(),
                                &job.frames,
                            );
                            if let Err(reply) = routed {
                                let mut out = job.envelope;
                                out.extend(reply);
                                let _ = sock.send_multipart(out, zmq::DONTWAIT);
                            }
                            continue;
                        }
                    }
                    job
                };
                let key = (i, job.conn.clone());
                match backlog.get_mut(&key) {
                    // Far beyond any window: a client that never reads its replies
                    // loses these requests rather than the proxy its memory.
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
                        let _ = sock.send_multipart(out, zmq::DONTWAIT);
                    }
                    None => {
                        backlog.insert(key.clone(), VecDeque::new());
                        pools.start(socks, &mut backlog, key, job);
                    }
                }
            }
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
    fn start(
        &self,
        routers: &[zmq::Socket],
        backlog: &mut Backlog,
        key: (usize, Vec<u8>),
        job: Job,
    ) {
        if job.refused {
            busy(&routers[key.0], job);
            self.next_of(routers, backlog, key);
            return;
        }
        if ops::is_follow(&job.frames) {
            self.park(routers, backlog, key, job);
            return;
        }
        if let Err(job) = self.requests.push(job) {
            busy(&routers[key.0], job);
            self.next_of(routers, backlog, key);
        }
    }

    fn park(
        &self,
        routers: &[zmq::Socket],
        backlog: &mut Backlog,
        key: (usize, Vec<u8>),
        job: Job,
    ) {
        let shared = self.shared;
        let wait = match ops::follow_or_reply(shared, &shared.cache, &request(shared, &job)) {
            Ok(wait) => wait,
            Err(reply) => {
                let mut out = job.envelope;
                out.extend(reply);
                let _ = routers[key.0].send_multipart(out, zmq::DONTWAIT);
                self.next_of(routers, backlog, key);
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
            let _ = routers[key.0].send_multipart(out, zmq::DONTWAIT);
            self.next_of(routers, backlog, key);
        }
    }

    /// The connection's running request is done: start its next, if any.
    fn next_of(&self, routers: &[zmq::Socket], backlog: &mut Backlog, key: (usize, Vec<u8>)) {
        match backlog.get_mut(&key).and_then(VecDeque::pop_front) {
            Some(job) => self.start(routers, backlog, key, job),
            None => {
                backlog.remove(&key);
            }
        }
    }
}

fn too_busy() -> Error {
    Error::new(ErrorKind::Full, "woof-proxy").detail("too busy; retry")
}

fn busy(sock: &zmq::Socket, job: Job) {
    let mut out = job.envelope;
    out.extend(if cspot::is_cspot(&job.frames) {
        cspot::busy_reply()
    } else {
        proto::error_reply(&too_busy())
    });
    let _ = sock.send_multipart(out, zmq::DONTWAIT);
}

/// Reads one request without blocking: identity, optional delimiter, frames.
fn receive(sock: &zmq::Socket, endpoint: usize) -> Option<Job> {
    let first = sock.recv_msg(zmq::DONTWAIT).ok()?;
    let mut envelope = vec![first.to_vec()];
    let mut user = None;
    let mut frames = Vec::new();
    let mut more = first.get_more();
    let mut in_envelope = true;
    while more {
        let Ok(mut msg) = sock.recv_msg(0) else { break };
        more = msg.get_more();
        if user.is_none() {
            user = msg
                .gets("User-Id")
                .filter(|u| !u.is_empty())
                .map(str::to_string);
        }
        if in_envelope && msg.is_empty() {
            envelope.push(Vec::new());
            in_envelope = false;
            continue;
        }
        in_envelope = false;
        frames.push(msg.to_vec());
    }
    Some(Job {
        endpoint,
        conn: envelope[0].clone(),
        envelope,
        user,
        frames,
        refused: false,
    })
}

/// Sends a pool's reply to its client; returns the connection it belongs to.
fn forward_reply(routers: &[zmq::Socket], mut frames: Vec<Vec<u8>>) -> Option<(usize, Vec<u8>)> {
    if frames.len() < 3 {
        return None;
    }
    let head = frames.remove(0);
    let conn = frames.remove(0);
    let idx = *head.first()? as usize;
    let key = (idx, conn);
    let sock = routers.get(idx)?;
    // A client that went away or stopped reading loses its reply, nothing else.
    let _ = sock.send_multipart(frames, zmq::DONTWAIT);
    Some(key)
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

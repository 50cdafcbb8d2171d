//! The sockets and threads of woof-proxy.
//!
//! One dispatcher thread owns every connection (router.rs: one epoll for the
//! listeners, the clients' connections and an edge's uplink, ZMTP spoken by
//! woof_net). It answers what never waits itself, hands other requests to the
//! workers' pool and follows that must wait to the parkers (parker.rs: a thread per
//! 127 followed woofs, so a crowd of idle followers never starves puts and gets),
//! and sends back the replies they leave in its inbox. A full queue answers "busy"
//! at once (exit 75 on the client), never by hanging.
//!
//! Requests of one connection run one at a time, in the order sent: a client that
//! pipelines batches gets them appended in its order and its replies in order, as
//! over one TCP stream; different clients run in parallel.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use woof::{Error, ErrorKind};
use woof_net::proto::{self, MAX_MESSAGE};

use crate::cache::Cache;
use crate::cspot;
use crate::ops;
use crate::parker::{Parked, Parkers};
use crate::request::{Request, Shared};
use crate::router::{Inbox, Incoming, Router};
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

/// Binds every endpoint (reporting each on stderr), starts the pools, and serves
/// until the process is killed.
pub fn run(
    shared: Shared,
    workers: u32,
    followers: u32,
    secret: Option<String>,
) -> Result<(), Error> {
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
    for (i, ep) in shared.endpoints.iter().enumerate() {
        if let Some(keys) = &ep.uplink {
            // Dialled, not bound: the edge side of an uplink (the last endpoint).
            router.dial(i, &ep.bind, uplink::edge_security(&ep.bind, keys)?);
            eprintln!("woof-proxy: uplink to {} (CURVE)", ep.bind);
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

    let shared = Arc::new(shared);
    let requests = Queue::new("worker", workers as usize * 256);
    for _ in 0..workers {
        let (inbox, shared, q) = (router.inbox(), Arc::clone(&shared), Arc::clone(&requests));
        thread::Builder::new()
            .name(requests.name.to_string())
            .spawn(move || serve_pool(&inbox, &shared, &q))
            .map_err(|e| Error::io("a worker thread", e))?;
    }
    // Parkers start when follows need them (parker.rs).
    let start_parker = {
        let inbox = router.inbox();
        move |parker: Arc<crate::parker::Parker>| {
            let inbox = Arc::clone(&inbox);
            let started = thread::Builder::new()
                .name("parker".to_string())
                .spawn(move || parker.run(&inbox));
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
    dispatch(&shared, &mut router, &pools);
    Ok(())
}

/// Per connection (endpoint, identity): the requests waiting for the one in a pool.
type Backlog = HashMap<(usize, Vec<u8>), VecDeque<Job>>;

/// Most requests one connection may have queued behind its running one.
const MAX_BACKLOG: usize = 1024;

fn dispatch(shared: &Shared, router: &mut Router, pools: &Pools) {
    let mut backlog = Backlog::new();
    let mut registry = uplink::Registry::default();
    let mut hello = router.dials().then(uplink::Hello::default);
    let mut incoming = Vec::new();
    let mut replies = Vec::new();
    let mut auth = |key: &[u8; 32], peer: &str| shared.policy.authenticate(key, peer);
    loop {
        let wait = hello
            .as_mut()
            .map(|h| h.tick(|parts| router.send_dialed(parts)) + Duration::from_millis(1));
        router.turn(wait, &mut auth, &mut incoming, &mut replies);
        // Replies first: they free clients and queue space.
        for frames in replies.drain(..) {
            if let Some(key) = forward_reply(router, frames) {
                pools.next_of(router, &mut backlog, key);
            }
        }
        for msg in incoming.drain(..) {
            if router.is_dialed(msg.endpoint) {
                // From the cloud over this edge's uplink.
                if let Some(r) = uplink::parse_routed(msg.parts) {
                    let job = Job {
                        endpoint: msg.endpoint,
                        envelope: r.envelope,
                        conn: r.conn,
                        user: r.user,
                        frames: r.frames,
                        refused: false,
                    };
                    take(shared, router, pools, &mut backlog, job);
                }
                continue;
            }
            let job = job_of(msg);
            if shared.accept_uplinks {
                let i = job.endpoint;
                let mut out = |ep: usize, parts: Vec<Vec<u8>>| router.send(ep, &parts);
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
                        router.send(i, &reply_out);
                    }
                    continue;
                }
            }
            take(shared, router, pools, &mut backlog, job);
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
fn take(shared: &Shared, router: &mut Router, pools: &Pools, backlog: &mut Backlog, job: Job) {
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
            router.send(job.endpoint, &out);
        }
        None => {
            backlog.insert(key.clone(), VecDeque::new());
            pools.start(router, backlog, key, job);
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
    fn start(&self, router: &mut Router, backlog: &mut Backlog, key: (usize, Vec<u8>), job: Job) {
        if job.refused {
            busy(router, job);
            self.next_of(router, backlog, key);
            return;
        }
        if ops::is_follow(&job.frames) {
            self.park(router, backlog, key, job);
            return;
        }
        if let Err(job) = self.requests.push(job) {
            busy(router, job);
            self.next_of(router, backlog, key);
        }
    }

    fn park(&self, router: &mut Router, backlog: &mut Backlog, key: (usize, Vec<u8>), job: Job) {
        let shared = self.shared;
        let wait = match ops::follow_or_reply(shared, &shared.cache, &request(shared, &job)) {
            Ok(wait) => wait,
            Err(reply) => {
                let mut out = job.envelope;
                out.extend(reply);
                router.send(key.0, &out);
                self.next_of(router, backlog, key);
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
            router.send(key.0, &out);
            self.next_of(router, backlog, key);
        }
    }

    /// The connection's running request is done: start its next, if any.
    fn next_of(&self, router: &mut Router, backlog: &mut Backlog, key: (usize, Vec<u8>)) {
        match backlog.get_mut(&key).and_then(VecDeque::pop_front) {
            Some(job) => self.start(router, backlog, key, job),
            None => {
                backlog.remove(&key);
            }
        }
    }
}

fn too_busy() -> Error {
    Error::new(ErrorKind::Full, "woof-proxy").detail("too busy; retry")
}

fn busy(router: &mut Router, job: Job) {
    let mut out = job.envelope;
    out.extend(if cspot::is_cspot(&job.frames) {
        cspot::busy_reply()
    } else {
        proto::error_reply(&too_busy())
    });
    router.send(job.endpoint, &out);
}

/// Sends a pool's reply to its client; returns the connection it belongs to.
fn forward_reply(router: &mut Router, mut frames: Vec<Vec<u8>>) -> Option<(usize, Vec<u8>)> {
    if frames.len() < 3 {
        return None;
    }
    let head = frames.remove(0);
    let conn = frames.remove(0);
    let idx = *head.first()? as usize;
    // A client that went away or stopped reading loses its reply, nothing else.
    router.send(idx, &frames);
    Some((idx, conn))
}

fn serve_pool(inbox: &Inbox, shared: &Shared, queue: &Queue) {
    while let Some(job) = queue.pop() {
        let reply = answer(shared, &shared.cache, &request(shared, &job));
        let mut out = Vec::with_capacity(2 + job.envelope.len() + reply.len());
        out.push(vec![job.endpoint as u8]);
        out.push(job.conn);
        out.extend(job.envelope);
        out.extend(reply);
        inbox.send(out);
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

//! Uplinks (DESIGN §9): an edge behind NAT dials out to a cloud proxy and keeps one
//! CURVE connection; the cloud routes requests for `/@NAME/...` namespaces over it,
//! NAME being the edge's key name in the cloud's clients/ (never a name the edge
//! claims). The shape of a NATS leafnode.
//!
//! On the wire (inside ZeroMQ messages on that one connection):
//! - edge → cloud, every `HELLO_EVERY` and at connect: `UPLINK/1`, `hello`;
//! - cloud → edge: `UPLINK/1`, `req`, route, delimiter, user, then a woof request
//!   whose namespace has lost its `/@NAME` prefix;
//! - edge → cloud: `UPLINK/1`, `reply`, route, delimiter, then the reply.
//!
//! `route` (the endpoint index byte and the client's ZeroMQ identity at the cloud)
//! and `delimiter` (whether the client is REQ-style) go back unchanged, so the cloud
//! keeps no table of requests in flight. `user` is the name the cloud authenticated
//! the client as (empty: none); the edge's own ACL decides by it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use woof::{Error, ErrorKind};
use woof_net::keys::KeyDir;
use woof_net::proto;
use woof_net::zmtp::{CurveClient, Security};

pub const MAGIC: &[u8] = b"UPLINK/1";
const HELLO: &[u8] = b"hello";
const REQ: &[u8] = b"req";
const REPLY: &[u8] = b"reply";

/// How often an edge says hello: it registers the connection after a reconnect and
/// keeps NAT state alive; the cloud forgets an edge silent for `FORGET_AFTER`.
pub const HELLO_EVERY: Duration = Duration::from_secs(1);
const FORGET_AFTER: Duration = Duration::from_secs(5);

/// The edge's hellos, sent by the dispatcher that owns the connection.
#[derive(Default)]
pub struct Hello {
    last: Option<Instant>,
}

impl Hello {
    /// Says hello through `send` when it is time; returns how long until the next.
    /// A hello while the uplink is down is dropped: the next one re-registers.
    pub fn tick(&mut self, send: impl FnOnce(&[Vec<u8>]) -> bool) -> Duration {
        if self.last.is_none_or(|t| t.elapsed() >= HELLO_EVERY) {
            send(&[MAGIC.to_vec(), HELLO.to_vec()]);
            self.last = Some(Instant::now());
        }
        HELLO_EVERY.saturating_sub(self.last.map_or(Duration::ZERO, |t| t.elapsed()))
    }
}

/// The CURVE keys an edge dials `endpoint` with: its own key pair (`keys`/id.key,
/// id.pub) and the cloud's public key from `keys`/servers/ (as every woof client
/// finds it).
pub fn edge_security(endpoint: &str, keys: &KeyDir) -> Result<Security, Error> {
    let bad = || {
        Error::new(ErrorKind::BadArgument, format!("--uplink {endpoint}"))
            .detail("expected tcp://HOST:PORT")
    };
    let rest = endpoint.strip_prefix("tcp://").ok_or_else(bad)?;
    let (host, port) = rest
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .ok_or_else(bad)?;
    let server = keys.server_key(host, port)?.ok_or_else(|| {
        Error::new(ErrorKind::BadArgument, format!("--uplink {endpoint}")).detail(format!(
            "no public key for the cloud: put its id.pub at {}/servers/{host}:{port}.pub",
            keys.dir.display()
        ))
    })?;
    let (public, secret) = keys.identity()?;
    let key = |text: &str, what: &str| {
        woof_net::z85::decode_key(text)
            .map_err(|e| Error::new(ErrorKind::BadData, what.to_string()).detail(e.to_string()))
    };
    Ok(Security::Curve(CurveClient {
        server_public: key(&server, "the cloud's public key")?,
        public: key(&public, "the edge's public key")?,
        secret: key(&secret, "the edge's secret key")?,
    }))
}

/// A request the cloud routed to this edge: what to prefix the reply with, the
/// connection it belongs to (for ordering), the user, the woof request.
pub struct Routed {
    pub envelope: Vec<Vec<u8>>,
    pub conn: Vec<u8>,
    pub user: Option<String>,
    pub frames: Vec<Vec<u8>>,
}

/// Parses a message the cloud sent the edge; None for anything else (dropped).
pub fn parse_routed(mut msg: Vec<Vec<u8>>) -> Option<Routed> {
    if msg.len() < 6 || msg[0] != MAGIC || msg[1] != REQ {
        return None;
    }
    let frames = msg.split_off(5);
    let user = String::from_utf8(msg.pop()?).ok().filter(|u| !u.is_empty());
    let (route, delim) = (msg[2].clone(), msg[3].clone());
    Some(Routed {
        envelope: vec![MAGIC.to_vec(), REPLY.to_vec(), route.clone(), delim],
        conn: route,
        user,
        frames,
    })
}

/// The cloud side: which edge is connected where.
#[derive(Default)]
pub struct Registry {
    edges: HashMap<String, Connected>,
}

struct Connected {
    endpoint: usize,
    identity: Vec<u8>,
    seen: Instant,
}

/// What the cloud does with a message from a client connection.
pub enum Incoming {
    /// Not uplink traffic: serve it.
    Request,
    /// Handled (a hello, or a reply sent on to its client).
    Done,
}

impl Registry {
    /// Handles uplink traffic from (endpoint, identity): hellos register the
    /// edge under the key name the handshake authenticated; replies go back to their
    /// clients through `out`.
    pub fn incoming(
        &mut self,
        out: &mut dyn FnMut(usize, Vec<Vec<u8>>) -> bool,
        endpoint: usize,
        identity: &[u8],
        user: Option<&str>,
        frames: &[Vec<u8>],
    ) -> Incoming {
        if frames.first().map(Vec::as_slice) != Some(MAGIC) {
            return Incoming::Request;
        }
        match frames.get(1).map(Vec::as_slice) {
            Some(HELLO) => match user {
                Some(name) => {
                    let fresh = self
                        .edges
                        .get(name)
                        .is_none_or(|c| c.identity != identity || c.endpoint != endpoint);
                    if fresh {
                        eprintln!("woof-proxy: uplink from {name} connected");
                    }
                    self.edges.insert(
                        name.to_string(),
                        Connected {
                            endpoint,
                            identity: identity.to_vec(),
                            seen: Instant::now(),
                        },
                    );
                }
                None => eprintln!("woof-proxy: an uplink without a client key; ignored"),
            },
            Some(REPLY) if frames.len() >= 4 => {
                let route = &frames[2];
                if let (Some(&ep), true) = (
                    route.first(),
                    user.is_some_and(|u| self.is(u, endpoint, identity)),
                ) {
                    let mut reply = vec![route[1..].to_vec()];
                    if frames[3] == b"1" {
                        reply.push(Vec::new());
                    }
                    reply.extend(frames[4..].iter().cloned());
                    out(usize::from(ep), reply);
                }
            }
            _ => {}
        }
        Incoming::Done
    }

    /// Whether (endpoint, identity) is the connection registered for `name`.
    fn is(&self, name: &str, endpoint: usize, identity: &[u8]) -> bool {
        self.edges
            .get(name)
            .is_some_and(|c| c.endpoint == endpoint && c.identity == identity)
    }

    /// Routes a woof request for `/@NAME/...` to edge NAME. Err: the reply to send
    /// the client at once (the edge is not connected, or the request is malformed).
    pub fn route(
        &mut self,
        send: &mut dyn FnMut(usize, Vec<Vec<u8>>) -> bool,
        endpoint: usize,
        envelope: &[Vec<u8>],
        user: Option<&str>,
        frames: &[Vec<u8>],
    ) -> Result<(), Vec<Vec<u8>>> {
        let fail = |e: Error| Err(proto::error_reply(&e));
        let ns = String::from_utf8_lossy(&frames[2]).into_owned();
        let Some((name, rest)) = split_edge(&ns) else {
            return fail(
                Error::new(ErrorKind::BadName, format!("namespace {ns}")).detail(
                    "expected /@EDGE/path/of/the/namespace (EDGE: the edge's key name here)",
                ),
            );
        };
        let connected = self
            .edges
            .get(name)
            .filter(|c| c.seen.elapsed() < FORGET_AFTER);
        let Some(c) = connected else {
            let detail = if self.edges.contains_key(name) {
                format!("edge {name} is not connected (its uplink went silent)")
            } else {
                format!("edge {name} is not connected (no uplink from a client key named {name})")
            };
            return fail(
                Error::new(ErrorKind::Unavailable, format!("namespace {ns}")).detail(detail),
            );
        };
        let mut route = vec![endpoint as u8];
        route.extend_from_slice(&envelope[0]);
        let delim: &[u8] = if envelope.len() > 1 { b"1" } else { b"0" };
        let mut out: Vec<Vec<u8>> = vec![
            c.identity.clone(),
            MAGIC.to_vec(),
            REQ.to_vec(),
            route,
            delim.to_vec(),
            user.unwrap_or("").as_bytes().to_vec(),
        ];
        for (i, f) in frames.iter().enumerate() {
            out.push(if i == 2 {
                rest.as_bytes().to_vec()
            } else {
                f.clone()
            });
        }
        if !send(c.endpoint, out) {
            // The connection is gone (or not reading).
            self.edges.remove(name);
            return fail(
                Error::new(ErrorKind::Unavailable, format!("namespace {ns}")).detail(format!(
                    "edge {name} is not connected (its connection just closed)"
                )),
            );
        }
        Ok(())
    }
}

/// `/@NAME/rest` → (NAME, `/rest`).
pub fn split_edge(ns: &str) -> Option<(&str, &str)> {
    let after = ns.strip_prefix("/@")?;
    let (name, rest) = after.split_once('/')?;
    (!name.is_empty() && !rest.is_empty()).then(|| (name, &ns[2 + name.len()..]))
}

/// Whether a woof request names an edge's namespace (`/@...`).
pub fn is_routed(frames: &[Vec<u8>]) -> bool {
    frames.len() > 3 && frames[0] == proto::MAGIC && frames[2].starts_with(b"/@")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_namespaces_split_into_name_and_path() {
        assert_eq!(
            split_edge("/@edge1/var/lib/woof"),
            Some(("edge1", "/var/lib/woof"))
        );
        assert_eq!(split_edge("/@edge1"), None);
        assert_eq!(split_edge("/@/x"), None);
        assert_eq!(split_edge("/srv/x"), None);
    }
}

//! An edge's uplink (DESIGN §9): the one connection an edge proxy dials to its
//! cloud and keeps, on the proxy's epoll: reconnecting with a back-off, PINGing,
//! and giving up a connection it has not heard from (a cut network, a frozen
//! cloud), so the cloud's view of the edge follows reality within seconds.

use std::net::ToSocketAddrs;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use woof_net::zmtp::{Link, Message, Security};

use crate::link_io::{Left, MAX_PENDING, read_in, write_out};

/// Reconnects after this, doubling up to `DIAL_MAX` while it fails.
const DIAL_MIN: Duration = Duration::from_millis(100);
const DIAL_MAX: Duration = Duration::from_secs(5);
/// PINGs the cloud this often, and gives the connection up when it has heard
/// nothing for `DEAD_AFTER`.
const HEARTBEAT: Duration = Duration::from_secs(1);
const DEAD_AFTER: Duration = Duration::from_secs(3);

/// An edge's uplink: one connection it dials to its cloud and keeps.
pub struct Dial {
    pub endpoint: usize,
    /// `HOST:PORT`, resolved at every attempt.
    address: String,
    security: Security,
    max_frame: usize,
    link: Option<(TcpStream, Link)>,
    retry: Instant,
    backoff: Duration,
    heard: Instant,
    pinged: Instant,
    /// Whether the last attempt got through the handshake (logged on changes).
    up: bool,
}

impl Dial {
    pub fn new(endpoint: usize, address: &str, security: Security, max_frame: usize) -> Dial {
        let now = Instant::now();
        Dial {
            endpoint,
            address: address.trim_start_matches("tcp://").to_string(),
            security,
            max_frame,
            link: None,
            retry: now,
            backoff: DIAL_MIN,
            heard: now,
            pinged: now,
            up: false,
        }
    }

    /// How long until `tick` has something to do.
    pub fn next_due(&self) -> Duration {
        let now = Instant::now();
        let due = match &self.link {
            None => self.retry,
            Some(_) => (self.pinged + HEARTBEAT).min(self.heard + DEAD_AFTER),
        };
        due.saturating_duration_since(now) + Duration::from_millis(1)
    }

    /// Connects when it is time, PINGs, and gives up a connection heard from too
    /// long ago.
    pub fn tick(&mut self, registry: &Registry, token: Token) {
        let now = Instant::now();
        match &mut self.link {
            None if now >= self.retry => self.connect(registry, token, now),
            None => {}
            Some(_) if now.duration_since(self.heard) >= DEAD_AFTER => {
                self.lost(&format!("nothing heard for {} s", DEAD_AFTER.as_secs()));
            }
            Some((stream, link))
                if link.is_ready() && now.duration_since(self.pinged) >= HEARTBEAT =>
            {
                self.pinged = now;
                if link.ping().is_err() || write_out(stream, link) == Left::Gone {
                    self.lost("the connection closed");
                }
            }
            Some(_) => {}
        }
    }

    fn connect(&mut self, registry: &Registry, token: Token, now: Instant) {
        let attempt = self
            .address
            .to_socket_addrs()
            .map_err(|e| e.to_string())
            .and_then(|mut a| a.next().ok_or_else(|| "no address".to_string()))
            .and_then(|addr| TcpStream::connect(addr).map_err(|e| e.to_string()))
            .and_then(|mut stream| {
                // Requests and replies are small and latency-bound, as on accepted
                // connections (the kernel applies it once the connect completes).
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                let link = Link::dialed(&self.security, self.max_frame, 4 * self.max_frame)
                    .map_err(|e| e.to_string())?;
                registry
                    .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                    .map_err(|e| e.to_string())?;
                Ok((stream, link))
            });
        match attempt {
            Ok(link) => {
                self.link = Some(link);
                self.heard = now;
                self.pinged = now;
            }
            Err(why) => self.lost(&why),
        }
    }

    /// Handles the connection's readiness; returns the messages the cloud sent.
    pub fn on_ready(&mut self, readable: bool, writable: bool, buf: &mut [u8]) -> Vec<Message> {
        let Some((stream, link)) = &mut self.link else {
            return Vec::new();
        };
        let was_ready = link.is_ready();
        if writable || readable {
            // The first writable event says whether the connect went through.
            if let Ok(Some(e)) | Err(e) = stream.take_error() {
                self.lost(&e.to_string());
                return Vec::new();
            }
            if write_out(stream, link) == Left::Gone {
                self.lost("the connection closed");
                return Vec::new();
            }
        }
        if !readable {
            return Vec::new();
        }
        let mut messages = Vec::new();
        let got = read_in(stream, link, false, buf, &mut |_| None, &mut messages);
        if got.bytes > 0 {
            self.heard = Instant::now();
        }
        if let Some(e) = got.failed {
            self.lost(&e.to_string());
            return Vec::new();
        }
        if got.left == Left::Gone {
            self.lost("the cloud closed the connection");
            return Vec::new();
        }
        if write_out(stream, link) == Left::Gone {
            self.lost("the connection closed");
            return Vec::new();
        }
        if link.is_ready() && !was_ready {
            self.backoff = DIAL_MIN;
            if !self.up {
                eprintln!("woof-proxy: uplink to {}: connected", self.address);
            }
            self.up = true;
        }
        messages
    }

    /// Sends a message to the cloud; false when not connected (nothing queues for
    /// a connection that is not there).
    pub fn send(&mut self, parts: &[Vec<u8>]) -> bool {
        let Some((stream, link)) = &mut self.link else {
            return false;
        };
        if !link.is_ready() || link.pending().len() > MAX_PENDING || link.send(parts).is_err() {
            return false;
        }
        if write_out(stream, link) == Left::Gone {
            self.lost("the connection closed");
            return false;
        }
        true
    }

    /// Drops the connection (closing it) and schedules the next attempt.
    fn lost(&mut self, why: &str) {
        self.link = None;
        self.retry = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(DIAL_MAX);
        if self.up {
            eprintln!(
                "woof-proxy: uplink to {}: lost ({why}); reconnecting",
                self.address
            );
        }
        self.up = false;
    }
}

//! A NATS JetStream subject (`nats://[USER:PASSWORD@]HOST[:PORT]/SUBJECT`): each
//! element is one message with `Nats-Msg-Id: ORIGIN:INCARNATION:SEQNO`, so the
//! stream drops a resent one within its duplicate window (the PubAck says
//! `duplicate`), and the last message of the subject says where to resume. One
//! origin per subject. `--create` makes a stream for the subject when none captures
//! it (file storage, the server's default duplicate window).
//!
//! Acknowledged means the stream's PubAck: stored by the leader (and its replicas);
//! on disk as the server's `sync_interval` says (fsynced every 2 minutes by default;
//! a killed nats-server 2.9 can also lose the last messages it acknowledged, still
//! in its write buffer). So the client never reconnects by itself: a lost
//! connection is an error here, and the engine's reconnect asks the stream for its
//! last message and resends from there, which recovers such a lost tail. A client
//! that reconnected silently would publish after the hole and leave it for ever.
//!
//! async-nats is asynchronous: it runs here on a private current-thread tokio
//! runtime owned by this sink, so no other tool and no other sink starts one.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};
use woof::{Error, ErrorKind};

use super::{Acked, Mark, Opening, Outgoing, Sink};
use crate::forward::body::{Body, BodyFormat};
use crate::forward::engine_uri::EngineUri;

pub struct NatsSink {
    shown: String,
    server: String,
    user: Option<(String, String)>,
    subject: String,
    timeout: Duration,
    format: BodyFormat,
    create: bool,
    rt: Option<tokio::runtime::Runtime>,
    client: Option<async_nats::Client>,
    js: Option<jetstream::Context>,
    /// The stream that captures the subject.
    stream: String,
    body: Option<Body>,
    size: usize,
    /// Batches sent: their PubAck futures, and the last seqno of each.
    waiting: VecDeque<(u64, Vec<PublishAckFuture>)>,
    incarnation: u64,
}

fn err(shown: &str, kind: ErrorKind, what: impl std::fmt::Display) -> Error {
    Error::new(kind, shown.to_string()).detail(what.to_string())
}

impl NatsSink {
    pub fn new(
        uri: &str,
        timeout: Duration,
        format: BodyFormat,
        create: bool,
    ) -> Result<NatsSink, Error> {
        let u = EngineUri::parse(uri, "nats", 4222, "SUBJECT")?;
        let subject = u.path.as_str();
        if subject.contains(['*', '>', ' ', '/']) || subject.split('.').any(str::is_empty) {
            return Err(Error::new(ErrorKind::BadName, format!("URI '{}'", u.shown))
                .detail("the subject must be tokens separated by dots, without wildcards"));
        }
        Ok(NatsSink {
            server: u.hostport(),
            subject: u.path.clone(),
            shown: u.shown,
            user: u.user,
            timeout,
            format,
            create,
            rt: None,
            client: None,
            js: None,
            stream: String::new(),
            body: None,
            size: 0,
            waiting: VecDeque::new(),
            incarnation: 0,
        })
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The runtime and the stream context while the first connection holds.
    fn parts(&self) -> Result<(&tokio::runtime::Runtime, &jetstream::Context), Error> {
        match (&self.rt, &self.client, &self.js) {
            (Some(rt), Some(client), Some(js)) => {
                if client.connection_state() != async_nats::connection::State::Connected {
                    return Err(err(&self.shown, ErrorKind::Unavailable, "connection lost"));
                }
                Ok((rt, js))
            }
            _ => Err(err(&self.shown, ErrorKind::Unavailable, "not connected")),
        }
    }

    /// The subject's last message: (origin, incarnation, seqno) from its id.
    fn last(&self) -> Result<Option<(String, u64, u64)>, Error> {
        let (rt, js) = self.parts()?;
        let shown = &self.shown;
        let got = rt.block_on(async {
            tokio::time::timeout(self.timeout, async {
                let stream = js
                    .get_stream(&self.stream)
                    .await
                    .map_err(|e| err(shown, ErrorKind::Unavailable, e))?;
                match stream.get_last_raw_message_by_subject(&self.subject).await {
                    Ok(m) => Ok(Some(m)),
                    Err(e)
                        if e.kind()
                            == jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(err(shown, ErrorKind::Unavailable, e)),
                }
            })
            .await
        });
        let msg = match got {
            Ok(r) => r?,
            Err(_) => {
                return Err(err(
                    shown,
                    ErrorKind::Unavailable,
                    "unreachable: no answer in time",
                ));
            }
        };
        let Some(msg) = msg else {
            return Ok(None);
        };
        let id = msg
            .headers
            .get("Nats-Msg-Id")
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        // ORIGIN may hold ':' itself: the last two fields are ours.
        let mut parts = id.rsplitn(3, ':');
        let (Some(seqno), Some(inc), Some(origin)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(err(
                shown,
                ErrorKind::BadData,
                format!(
                    "the subject's last message was not put by woof-forward (Nats-Msg-Id {id:?}); \
                 forward into a subject of its own"
                ),
            ));
        };
        Ok(Some((
            origin.to_string(),
            u64::from_str_radix(inc, 16).unwrap_or(0),
            seqno.parse().unwrap_or(0),
        )))
    }

    fn mark(&self, origin: &str) -> Result<Mark, Error> {
        match self.last()? {
            None => Ok(Mark::default()),
            Some((theirs, _, _)) if theirs != origin => Err(err(
                &self.shown,
                ErrorKind::BadData,
                format!(
                    "the subject holds another origin's messages ({theirs}); forward into a subject of its own"
                ),
            )),
            Some((_, incarnation, seqno)) => Ok(Mark::up_to(incarnation, seqno)),
        }
    }
}

impl Sink for NatsSink {
    fn open(&mut self, o: &Opening<'_>) -> Result<Mark, Error> {
        self.close();
        self.body = Some(Body::new(self.format, &o.header.schema, o.name)?);
        self.size = o.header.element_size as usize;
        self.incarnation = o.header.incarnation;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("tokio runtime", e))?;
        let shown = self.shown.clone();
        // We reconnect ourselves and ask the stream where it is then (see the top):
        // once connected, the client's own reconnect waits longer than we live.
        // (`max_reconnects` cannot say "none": 0 means unlimited.)
        let connected = Arc::new(AtomicBool::new(false));
        let delay = {
            let connected = connected.clone();
            move |_| {
                if connected.load(Ordering::Relaxed) {
                    Duration::from_secs(365 * 86_400)
                } else {
                    Duration::ZERO
                }
            }
        };
        let mut opts = async_nats::ConnectOptions::new()
            .connection_timeout(self.timeout)
            .request_timeout(Some(self.timeout))
            .reconnect_delay_callback(delay)
            .max_reconnects(Some(1));
        if let Some((u, p)) = &self.user {
            opts = opts.user_and_password(u.clone(), p.clone());
        }
        let server = self.server.clone();
        let client = rt
            .block_on(async { tokio::time::timeout(self.timeout, opts.connect(server)).await })
            .map_err(|_| {
                err(
                    &shown,
                    ErrorKind::Unavailable,
                    "unreachable: no answer in time",
                )
            })?
            .map_err(|e| {
                let text = e.to_string();
                let kind = if text.contains("uthoriz") {
                    ErrorKind::Denied
                } else {
                    ErrorKind::Unavailable
                };
                let detail = if kind == ErrorKind::Denied {
                    format!(
                        "the server refused us ({text}): give nats://USER:PASSWORD@HOST/SUBJECT"
                    )
                } else {
                    format!("unreachable: {text}")
                };
                err(&shown, kind, detail)
            })?;
        connected.store(true, Ordering::Relaxed);
        // The context spawns its acknowledgement task: inside our runtime.
        let js = {
            let _inside = rt.enter();
            jetstream::new(client.clone())
        };
        let subject = self.subject.clone();
        let found = rt.block_on(async {
            tokio::time::timeout(self.timeout, js.stream_by_subject(subject)).await
        });
        let stream = match found {
            Err(_) => {
                return Err(err(
                    &shown,
                    ErrorKind::Unavailable,
                    "unreachable: no answer in time",
                ));
            }
            Ok(Ok(name)) => name,
            Ok(Err(e)) if self.create => {
                let _ = e;
                let name: String = self
                    .subject
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let name = format!("woof_{name}");
                let config = jetstream::stream::Config {
                    name: name.clone(),
                    subjects: vec![self.subject.clone()],
                    ..Default::default()
                };
                rt.block_on(async {
                    tokio::time::timeout(self.timeout, js.get_or_create_stream(config)).await
                })
                .map_err(|_| {
                    err(
                        &shown,
                        ErrorKind::Unavailable,
                        "unreachable: no answer in time",
                    )
                })?
                .map_err(|e| err(&shown, ErrorKind::CantCreate, e))?;
                crate::exit::warn(
                    "woof-forward",
                    &format!(
                        "{}: created JetStream stream {name} for {}",
                        o.name, self.subject
                    ),
                );
                name
            }
            Ok(Err(e)) => {
                return Err(err(
                    &shown,
                    ErrorKind::NotFound,
                    format!(
                        "no JetStream stream captures this subject ({e}); create one, or give --create"
                    ),
                ));
            }
        };
        self.stream = stream;
        self.rt = Some(rt);
        self.client = Some(client);
        self.js = Some(js);
        self.mark(o.origin)
    }

    fn send(&mut self, b: &Outgoing<'_>) -> Result<(), Error> {
        let n = b.data.len() / self.size.max(1);
        let mut futures = Vec::with_capacity(n);
        let body = self
            .body
            .as_ref()
            .ok_or_else(|| err(&self.shown, ErrorKind::Unavailable, "not connected"))?;
        let (rt, js) = self.parts()?;
        let mut buf = Vec::new();
        for (el, data) in b.elements(self.size) {
            let (seqno, time) = (el.seqno, el.time_ns);
            body.encode(&mut buf, &el, data);
            let msg = PublishMessage::build()
                .message_id(format!("{}:{:016x}:{seqno}", b.origin, b.incarnation))
                .header("Woof-Put-Time", time.to_string().as_str())
                .payload(buf.clone().into());
            let subject = self.subject.clone();
            // Bounded: with the connection gone, a publish may wait for ever for a
            // slot among the acknowledgements in flight.
            let sent = rt
                .block_on(async {
                    tokio::time::timeout(self.timeout, js.send_publish(subject, msg)).await
                })
                .map_err(|_| {
                    err(
                        &self.shown,
                        ErrorKind::Unavailable,
                        "unreachable: publish not taken in time",
                    )
                })?;
            futures.push(sent.map_err(|e| err(&self.shown, ErrorKind::Unavailable, e))?);
        }
        self.waiting.push_back((b.first + n as u64 - 1, futures));
        Ok(())
    }

    fn recv(&mut self) -> Result<Acked, Error> {
        let (last, futures) = self
            .waiting
            .pop_front()
            .ok_or_else(|| err(&self.shown, ErrorKind::Protocol, "no batch in flight"))?;
        let (rt, _) = self.parts()?;
        let shown = self.shown.clone();
        let timeout = self.timeout;
        let (appended, duplicates) = rt.block_on(async move {
            let (mut new, mut dup) = (0u64, 0u64);
            for f in futures {
                let ack = tokio::time::timeout(timeout, f)
                    .await
                    .map_err(|_| {
                        err(
                            &shown,
                            ErrorKind::Unavailable,
                            "no acknowledgement (PubAck) in time",
                        )
                    })?
                    .map_err(|e| err(&shown, ErrorKind::Unavailable, e))?;
                if ack.duplicate {
                    dup += 1;
                } else {
                    new += 1;
                }
            }
            Ok::<_, Error>((new, dup))
        })?;
        Ok(Acked {
            mark: Mark::up_to(self.incarnation, last),
            appended,
            duplicates,
        })
    }

    fn ping(&mut self, origin: &str) -> Result<Option<Mark>, Error> {
        self.mark(origin).map(Some)
    }

    fn close(&mut self) {
        self.waiting.clear();
        self.js = None;
        self.client = None;
        self.rt = None;
    }

    fn max_batch(&self, _size: usize) -> usize {
        1000
    }

    fn deduplicates(&self) -> bool {
        true
    }
}

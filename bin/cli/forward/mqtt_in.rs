//! MQTT → woof: `woof-forward mqtt://BROKER/FILTER NAME` subscribes at QoS 1 with a
//! persistent session and puts each message into woof NAME, acknowledging it
//! (PUBACK) only once it is put. A message the forwarder did not acknowledge (it
//! was killed, the link broke) is delivered again by the broker; one that carries
//! woof-forward's user properties (origin, incarnation, seqno) is then recognised by
//! the woof's origin marks and not put twice. A message without them is put as a
//! new element: MQTT gives nothing to recognise it by (nor does MQTT 3.1.1, which
//! has no properties at all).

use std::time::{Duration, Instant};

use woof::origins::{Batch, OriginId};
use woof::put_run::{PutRun, Triggered};
use woof::records::{Encoder, Input};
use woof::{Error, ErrorKind, Namespace, Woof};

use super::mqtt::{self, MqttConfig, MqttUri, P_INCARNATION, P_ORIGIN, P_PUT_TIME, P_SEQNO};
use super::mqtt_link::{self, Event, Link, Message, Refusal, Session};
use crate::exit::{Failure, warn};

/// Messages the broker may have sent us unacknowledged at once.
const RECEIVE_MAX: u16 = 256;

/// How messages become elements.
pub struct Decode {
    /// `--csv`/`--json`: a typed woof's records; None: the payload is the element.
    pub input: Option<Input>,
    /// `--skip-bad`: acknowledge (and count) a message that cannot be put.
    pub skip_bad: bool,
    pub handler: Option<String>,
    /// `--new-incarnation`: a re-created source's elements start its mark afresh.
    pub new_incarnation: bool,
}

#[derive(Default)]
struct Counts {
    messages: u64,
    put: u64,
    recognised: u64,
    bad: u64,
}

pub fn run(
    ns: &Namespace,
    uri: &str,
    name: &str,
    decode: &Decode,
    config: &MqttConfig,
    timeout: Duration,
) -> Result<(), Failure> {
    let uri = MqttUri::parse(uri)?;
    check_filter(&uri.topic).map_err(|why| Failure::usage(format!("{}: {why}", uri.shown)))?;
    let woof = ns.open_woof(name)?;
    let log = match &decode.handler {
        Some(h) => {
            ns.handler_path(h)?;
            Some(ns.trigger_log()?)
        }
        None => None,
    };
    let mut encoder = match decode.input {
        None => None,
        Some(input) => {
            let schema = woof::records::schema_of(&woof, name)?.ok_or_else(|| {
                Failure::usage(format!(
                    "{name}: --csv and --json need a typed woof (one with a schema)"
                ))
            })?;
            Some(Encoder::new(schema, input, false))
        }
    };
    woof_process::catch_interrupts();
    let client_id = mqtt::client_id(&["in", &ns.dir().display().to_string(), name, &uri.shown]);
    let mut counts = Counts::default();
    let mut backoff = Duration::from_millis(100);
    let mut said: Option<String> = None;
    let end = loop {
        if woof_process::interrupted().is_some() {
            break Ok(());
        }
        let (link, early) = match subscribe(&uri, config, &client_id, timeout) {
            Ok(link) => link,
            Err(e) if *e.kind() == ErrorKind::Denied || *e.kind() == ErrorKind::BadName => {
                break Err(Failure::from(e));
            }
            Err(e) => {
                if said.as_deref() != Some(&e.to_string()) {
                    warn(
                        "woof-forward",
                        &format!("{name}: {e}; retrying (every 30s at most)"),
                    );
                    said = Some(e.to_string());
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        if said.take().is_some() {
            warn(
                "woof-forward",
                &format!("{name}: {} reachable again", uri.shown),
            );
        }
        backoff = Duration::from_millis(100);
        let t = log.as_ref().map(|log| Triggered {
            log,
            handler: decode.handler.as_deref().unwrap_or(""),
            cause: "",
        });
        let pump = Pump {
            link: &link,
            uri: &uri,
            woof: &woof,
            name,
            decode,
            trigger: t.as_ref(),
        };
        match pump.run(early, encoder.as_mut(), &mut counts) {
            Ok(()) => break Ok(()),
            Err(Stop::Retry(e)) => {
                warn("woof-forward", &format!("{name}: {e}; reconnecting"));
                said = Some(e.to_string());
            }
            Err(Stop::Fail(f)) => break Err(f),
        }
    };
    warn(
        "woof-forward",
        &format!(
            "{name}: {} message(s), {} put, {} recognised as already put, {} bad",
            counts.messages, counts.put, counts.recognised, counts.bad
        ),
    );
    end
}

enum Stop {
    Retry(Error),
    Fail(Failure),
}

/// A connection and the messages that came before it was subscribed (the session's
/// own, redelivered at once).
type Subscribed = (Link, Vec<Message>);

/// Connects with a persistent session (it outlives us: the broker keeps what we did
/// not acknowledge) and subscribes at QoS 1.
fn subscribe(
    uri: &MqttUri,
    config: &MqttConfig,
    client_id: &str,
    timeout: Duration,
) -> Result<Subscribed, Error> {
    let session = Session {
        persistent: true,
        manual_acks: true,
        // The broker sends at most RECEIVE_MAX unacknowledged messages, so our acks
        // (queued to the event loop this thread also drives) always fit its queue.
        // (3.1.1 has no such setting: the broker's own inflight limit applies.)
        receive_max: Some(RECEIVE_MAX),
    };
    let cap = 4 * RECEIVE_MAX as usize;
    let link = mqtt_link::connect(uri, config, client_id, &session, cap, timeout)?;
    link.client
        .subscribe(&uri.topic)
        .map_err(|e| Error::new(ErrorKind::Unavailable, uri.shown.clone()).detail(e))?;
    let deadline = Instant::now() + timeout;
    let mut early = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events.recv_timeout(left) {
            Ok(Ok(Event::SubAck(ack))) => {
                return match ack {
                    Ok(()) => Ok((link, early)),
                    Err(Refusal::NotAuthorized) => {
                        Err(Error::new(ErrorKind::Denied, uri.shown.clone())
                            .detail("the broker does not let us subscribe to this filter"))
                    }
                    Err(Refusal::Other(why)) => {
                        Err(Error::new(ErrorKind::BadName, uri.shown.clone())
                            .detail(format!("the broker refused the subscription ({why})")))
                    }
                };
            }
            // The session's messages come before the SUBACK: served first.
            Ok(Ok(Event::Publish(p))) => early.push(*p),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(Error::new(ErrorKind::Unavailable, uri.shown.clone())
                    .detail("no answer (SUBACK) from the broker in time"));
            }
        }
    }
}

/// Serving messages on one connection.
struct Pump<'a> {
    link: &'a Link,
    uri: &'a MqttUri,
    woof: &'a Woof,
    name: &'a str,
    decode: &'a Decode,
    trigger: Option<&'a Triggered<'a>>,
}

impl Pump<'_> {
    fn run(
        &self,
        early: Vec<Message>,
        mut encoder: Option<&mut Encoder>,
        counts: &mut Counts,
    ) -> Result<(), Stop> {
        let mut early = early.into_iter();
        loop {
            if woof_process::interrupted().is_some() {
                self.link.client.try_disconnect();
                return Ok(());
            }
            let p = match early.next() {
                Some(p) => p,
                None => match self.link.events.recv_timeout(Duration::from_millis(200)) {
                    Ok(Ok(Event::Publish(p))) => *p,
                    Ok(Ok(_)) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(Stop::Retry(
                            Error::new(ErrorKind::Unavailable, self.uri.shown.clone())
                                .detail("the connection ended"),
                        ));
                    }
                    Ok(Err(e)) => return Err(Stop::Retry(e)),
                },
            };
            self.one(&p, encoder.as_deref_mut(), counts)?;
        }
    }

    /// Puts one message (or skips it), then acknowledges it.
    fn one(
        &self,
        p: &Message,
        encoder: Option<&mut Encoder>,
        counts: &mut Counts,
    ) -> Result<(), Stop> {
        counts.messages += 1;
        let topic = &p.topic;
        match put(self.woof, self.name, p, self.decode, encoder, self.trigger) {
            Ok(Put::New(n)) => counts.put += n,
            Ok(Put::Known) => counts.recognised += 1,
            Err(e) => {
                counts.bad += 1;
                let e = e.within(format!("message on {topic}"));
                if !self.decode.skip_bad {
                    warn(
                        "woof-forward",
                        &format!(
                            "{}: {e}; not acknowledged (give --skip-bad to skip such messages)",
                            self.name
                        ),
                    );
                    return Err(Stop::Fail(Failure::reported(e.kind())));
                }
                warn("woof-forward", &format!("{}: {e}; skipped", self.name));
            }
        }
        // Put (or skipped): now the broker may forget it.
        self.link.client.ack(p).map_err(|e| {
            Stop::Retry(
                Error::new(ErrorKind::Unavailable, self.uri.shown.clone()).detail(e.to_string()),
            )
        })
    }
}

enum Put {
    /// Elements put.
    New(u64),
    /// A redelivery of an element already put.
    Known,
}

fn put(
    woof: &Woof,
    name: &str,
    p: &Message,
    decode: &Decode,
    encoder: Option<&mut Encoder>,
    trigger: Option<&Triggered<'_>>,
) -> Result<Put, Error> {
    let mut elements: Vec<Vec<u8>> = Vec::new();
    match encoder {
        None => {
            woof.check_size(p.payload.len())?;
            elements.push(p.payload.to_vec());
        }
        Some(enc) => {
            let now = woof::now_ns() as i64;
            for (i, line) in p.payload.split(|&b| b == b'\n').enumerate() {
                let got = enc
                    .line(line, i as u64 + 1, now)
                    .map_err(|e| Error::new(ErrorKind::BadData, "").detail(e.to_string()))?;
                if let Some(el) = got {
                    elements.push(el.to_vec());
                }
            }
            enc.finish()
                .map_err(|e| Error::new(ErrorKind::BadData, "").detail(e.to_string()))?;
            if elements.is_empty() {
                return Err(Error::new(ErrorKind::BadData, "").detail("no record in it"));
            }
        }
    }
    let durability = woof.header().durability;
    if let Some(id) = identity(p)
        && elements.len() == 1
    {
        let batch = Batch {
            origin: OriginId::new(&id.origin, None),
            incarnation: id.incarnation,
            first: id.seqno,
            // Messages published before our session began never come: a gap.
            lost: true,
            reset: decode.new_incarnation,
            data: &elements[0],
            times: &[id.put_time],
        };
        let out = woof.put_forwarded(name, &batch, trigger, durability)?;
        return Ok(if out.appended == 0 {
            Put::Known
        } else {
            Put::New(out.appended)
        });
    }
    let mut run = PutRun::new(
        woof,
        name,
        trigger.map(|t| Triggered {
            log: t.log,
            handler: t.handler,
            cause: t.cause,
        }),
    );
    for el in &elements {
        run.append(el)?;
    }
    run.finish(durability)?;
    Ok(Put::New(elements.len() as u64))
}

/// The identity woof-forward gave a message (MQTT 5 user properties).
struct Identity {
    origin: String,
    incarnation: u64,
    seqno: u64,
    put_time: u64,
}

fn identity(p: &Message) -> Option<Identity> {
    let props = &p.properties;
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    Some(Identity {
        origin: get(P_ORIGIN)?.to_string(),
        incarnation: u64::from_str_radix(get(P_INCARNATION)?, 16).ok()?.max(1),
        seqno: get(P_SEQNO)?.parse().ok().filter(|s| *s > 0)?,
        put_time: get(P_PUT_TIME)
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(woof::now_ns),
    })
}

/// An MQTT topic filter: `+` a whole level, `#` the whole last level.
fn check_filter(filter: &str) -> Result<(), String> {
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, l) in levels.iter().enumerate() {
        if l.contains('#') && (*l != "#" || i + 1 != levels.len()) {
            return Err("'#' must be a whole level, the last".into());
        }
        if l.contains('+') && *l != "+" {
            return Err("'+' must be a whole level".into());
        }
    }
    Ok(())
}

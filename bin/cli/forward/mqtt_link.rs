//! One MQTT connection, MQTT 5 or 3.1.1 (`--mqtt`), as the sink and the source
//! use it: rumqttc's two synchronous clients behind one `Client`, and their events
//! reduced to the few the forwarder acts on (`Event`), so the sink and the source
//! are written once for both versions.
//!
//! rumqttc runs its event loop on a private current-thread tokio runtime inside
//! woof-forward; no other tool links it. The loop runs on a thread of its own per
//! connection, never interrupted: a poll cut short by a timeout can drop a publish
//! it had counted as in flight (measured: the stream then stalls at the next
//! packet-id wrap), so our side waits on a channel.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5 as p5;
use woof::{Error, ErrorKind};

use super::mqtt::{MqttConfig, MqttUri, MqttVersion};

/// How a session is opened: the source's outlives it and acknowledges by hand.
pub struct Session {
    /// Keep the session (and what it holds unacknowledged) across connections.
    pub persistent: bool,
    /// PUBACK only when `Client::ack` says so.
    pub manual_acks: bool,
    /// MQTT 5: at most this many unacknowledged messages sent to us at once.
    pub receive_max: Option<u16>,
}

/// A message delivered to us.
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    /// MQTT 5 user properties (none in 3.1.1).
    pub properties: Vec<(String, String)>,
    raw: Raw,
}

enum Raw {
    V5(p5::Publish),
    V4(rumqttc::Publish),
}

/// What the forwarder acts on of the event loop's events.
pub enum Event {
    ConnAck,
    /// A PUBACK: Ok, or the broker's refusal.
    PubAck(Result<(), Refusal>),
    /// A SUBACK for our one filter.
    SubAck(Result<(), Refusal>),
    Publish(Box<Message>),
    /// The broker disconnected us (MQTT 5 says why).
    Disconnect(String),
    Other,
}

/// Why the broker refused a publish or a subscription.
#[derive(Debug)]
pub enum Refusal {
    NotAuthorized,
    Other(String),
}

pub enum Client {
    V5(rumqttc::v5::Client),
    V4(rumqttc::Client),
}

impl Client {
    /// Queues a QoS 1 publish; Err when the queue to the event loop is full.
    pub fn try_publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        props: &[(String, String)],
    ) -> Result<(), ()> {
        match self {
            Client::V5(c) => {
                let properties = p5::PublishProperties {
                    user_properties: props.to_vec(),
                    ..p5::PublishProperties::default()
                };
                c.try_publish_with_properties(
                    topic.to_string(),
                    rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                    false,
                    payload,
                    properties,
                )
                .map_err(|_| ())
            }
            Client::V4(c) => c
                .try_publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
                .map_err(|_| ()),
        }
    }

    /// Subscribes to `filter` at QoS 1.
    pub fn subscribe(&self, filter: &str) -> Result<(), String> {
        match self {
            Client::V5(c) => c
                .subscribe(filter.to_string(), rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
                .map_err(|e| e.to_string()),
            Client::V4(c) => c
                .subscribe(filter.to_string(), rumqttc::QoS::AtLeastOnce)
                .map_err(|e| e.to_string()),
        }
    }

    /// Acknowledges (PUBACK) a message delivered to us.
    pub fn ack(&self, m: &Message) -> Result<(), String> {
        match (self, &m.raw) {
            (Client::V5(c), Raw::V5(p)) => c.ack(p).map_err(|e| e.to_string()),
            (Client::V4(c), Raw::V4(p)) => c.ack(p).map_err(|e| e.to_string()),
            _ => Err("a message of another connection".into()),
        }
    }

    pub fn try_disconnect(&self) {
        let _ = match self {
            Client::V5(c) => c.try_disconnect().map_err(|_| ()),
            Client::V4(c) => c.try_disconnect().map_err(|_| ()),
        };
    }
}

/// A connection: the client, and the events its event loop thread sends.
pub struct Link {
    pub client: Client,
    pub events: Receiver<Result<Event, Error>>,
}

impl Drop for Link {
    fn drop(&mut self) {
        // The event loop sends DISCONNECT and its thread ends.
        self.client.try_disconnect();
    }
}

/// Connects as `client_id`, with the event loop on its own thread (which ends at
/// the first error: reconnecting is ours to do), and waits (bounded) until the
/// broker accepted (CONNACK). `cap` bounds the queue of requests to the loop.
pub fn connect(
    uri: &MqttUri,
    config: &MqttConfig,
    client_id: &str,
    session: &Session,
    cap: usize,
    timeout: Duration,
) -> Result<Link, Error> {
    let shown = uri.shown.clone();
    let (tx, events) = mpsc::channel();
    // rumqttc's two option types have these setters alike but no trait in common.
    macro_rules! common_options {
        ($o:ident) => {
            $o.set_keep_alive(Duration::from_secs(30));
            if let Some((u, p)) = &uri.user {
                $o.set_credentials(u.clone(), p.clone());
            }
            if let Some(t) = config.transport(uri)? {
                $o.set_transport(t);
            }
            $o.set_request_channel_capacity(cap);
        };
    }
    let client = match config.version {
        MqttVersion::V5 => {
            let mut o = rumqttc::v5::MqttOptions::new(client_id, uri.host.clone(), uri.port);
            common_options!(o);
            o.set_clean_start(!session.persistent);
            if session.persistent {
                o.set_session_expiry_interval(Some(u32::MAX));
            }
            o.set_manual_acks(session.manual_acks);
            o.set_receive_maximum(session.receive_max);
            let (client, mut conn) = rumqttc::v5::Client::new(o, cap);
            spawn(move || pump(conn.iter(), &tx, from_v5, |e| error_v5(&shown, e)))?;
            Client::V5(client)
        }
        MqttVersion::V311 => {
            let mut o = rumqttc::MqttOptions::new(client_id, uri.host.clone(), uri.port);
            common_options!(o);
            o.set_clean_session(!session.persistent);
            o.set_manual_acks(session.manual_acks);
            let (client, mut conn) = rumqttc::Client::new(o, cap);
            spawn(move || pump(conn.iter(), &tx, from_v4, |e| error_v4(&shown, e)))?;
            Client::V4(client)
        }
    };
    let link = Link { client, events };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.events.recv_timeout(left) {
            Ok(Ok(Event::ConnAck)) => return Ok(link),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(Error::new(ErrorKind::Unavailable, uri.shown.clone())
                    .detail("unreachable: no answer from the broker in time"));
            }
        }
    }
}

/// The event loop's thread, for either version: passes each event on, reduced,
/// except those nobody acts on (each send can wake the waiting thread: measured,
/// dropping them here took 100 000 messages woof → MQTT from 1.66 s to
/// 1.53–1.59 s); ends at the first error (passed on) or when nobody listens.
fn pump<E, C>(
    events: impl Iterator<Item = Result<E, C>>,
    tx: &mpsc::Sender<Result<Event, Error>>,
    reduce: fn(E) -> Event,
    error: impl Fn(&C) -> Error,
) {
    for ev in events {
        match ev.map(reduce) {
            Ok(Event::Other) => {}
            Ok(ev) => {
                if tx.send(Ok(ev)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(error(&e)));
                return;
            }
        }
    }
}

fn spawn(f: impl FnOnce() + Send + 'static) -> Result<(), Error> {
    std::thread::Builder::new()
        .name("mqtt".into())
        .spawn(f)
        .map(drop)
        .map_err(|e| Error::io("MQTT thread", e))
}

fn from_v5(ev: rumqttc::v5::Event) -> Event {
    use p5::{Packet, PubAckReason, SubscribeReasonCode};
    let rumqttc::v5::Event::Incoming(packet) = ev else {
        return Event::Other;
    };
    match packet {
        Packet::ConnAck(_) => Event::ConnAck,
        Packet::PubAck(ack) => Event::PubAck(match ack.reason {
            PubAckReason::Success | PubAckReason::NoMatchingSubscribers => Ok(()),
            PubAckReason::NotAuthorized => Err(Refusal::NotAuthorized),
            other => Err(Refusal::Other(format!("{other:?}"))),
        }),
        Packet::SubAck(ack) => Event::SubAck(match ack.return_codes.first() {
            Some(SubscribeReasonCode::Success(_)) => Ok(()),
            Some(SubscribeReasonCode::NotAuthorized) => Err(Refusal::NotAuthorized),
            other => Err(Refusal::Other(format!("{other:?}"))),
        }),
        Packet::Publish(p) => Event::Publish(Box::new(Message {
            topic: String::from_utf8_lossy(&p.topic).into_owned(),
            payload: p.payload.clone(),
            properties: p
                .properties
                .as_ref()
                .map(|props| props.user_properties.clone())
                .unwrap_or_default(),
            raw: Raw::V5(p),
        })),
        Packet::Disconnect(d) => Event::Disconnect(format!("{:?}", d.reason_code)),
        _ => Event::Other,
    }
}

fn from_v4(ev: rumqttc::Event) -> Event {
    use rumqttc::{Packet, SubscribeReasonCode};
    let rumqttc::Event::Incoming(packet) = ev else {
        return Event::Other;
    };
    match packet {
        Packet::ConnAck(_) => Event::ConnAck,
        // 3.1.1 has no reason in a PUBACK: an acknowledgement is an acceptance.
        Packet::PubAck(_) => Event::PubAck(Ok(())),
        Packet::SubAck(ack) => Event::SubAck(match ack.return_codes.first() {
            Some(SubscribeReasonCode::Success(_)) => Ok(()),
            // 3.1.1 says only "failure" (mosquitto's answer to a denied filter).
            _ => Err(Refusal::NotAuthorized),
        }),
        Packet::Publish(p) => Event::Publish(Box::new(Message {
            topic: p.topic.clone(),
            payload: p.payload.clone(),
            properties: Vec::new(),
            raw: Raw::V4(p),
        })),
        Packet::Disconnect => Event::Disconnect("in MQTT 3.1.1 a broker gives no reason".into()),
        _ => Event::Other,
    }
}

/// The hint for a refused password, the same in both versions.
fn denied(shown: &str, code: &dyn std::fmt::Debug) -> Error {
    Error::new(ErrorKind::Denied, shown.to_string()).detail(format!(
        "the broker refused us ({code:?}): give the user and password as \
         mqtt://USER:PASSWORD@HOST/TOPIC"
    ))
}

/// A failed TLS handshake: the connection breaking under it (a broker going down)
/// is tried again like any broken connection; a certificate that is not trusted
/// is not, and says what to check.
fn tls_error(shown: &str, e: &rumqttc::TlsError) -> Error {
    // rustls's own refusals (an untrusted or wrong certificate, an alert) arrive
    // wrapped in an I/O error; a bare I/O error is the connection breaking.
    if let rumqttc::TlsError::Io(io) = e
        && io
            .get_ref()
            .is_none_or(|inner| !inner.is::<rustls::Error>())
    {
        return Error::new(ErrorKind::Unavailable, shown.to_string())
            .detail(format!("unreachable: TLS: {io}"));
    }
    Error::new(ErrorKind::Denied, shown.to_string()).detail(format!(
        "TLS: {e} (is the broker's certificate signed by --tls-ca, or a CA of the \
         system, and for this host name?)"
    ))
}

fn error_v5(shown: &str, e: &rumqttc::v5::ConnectionError) -> Error {
    use p5::ConnectReturnCode as C;
    use rumqttc::v5::ConnectionError as E;
    match e {
        E::ConnectionRefused(code @ (C::NotAuthorized | C::BadUserNamePassword | C::Banned)) => {
            denied(shown, code)
        }
        E::ConnectionRefused(code @ C::UnsupportedProtocolVersion) => {
            Error::new(ErrorKind::Unavailable, shown.to_string()).detail(format!(
                "the broker refused the connection ({code:?}): if it speaks only MQTT \
                 3.1.1, give --mqtt 3.1.1"
            ))
        }
        E::ConnectionRefused(code) => Error::new(ErrorKind::Unavailable, shown.to_string())
            .detail(format!("the broker refused the connection ({code:?})")),
        E::Tls(t) => tls_error(shown, t),
        other => Error::new(ErrorKind::Unavailable, shown.to_string())
            .detail(format!("unreachable: {other}")),
    }
}

fn error_v4(shown: &str, e: &rumqttc::ConnectionError) -> Error {
    use rumqttc::ConnectReturnCode as C;
    use rumqttc::ConnectionError as E;
    match e {
        E::ConnectionRefused(code @ (C::NotAuthorized | C::BadUserNamePassword)) => {
            denied(shown, code)
        }
        E::ConnectionRefused(code) => Error::new(ErrorKind::Unavailable, shown.to_string())
            .detail(format!("the broker refused the connection ({code:?})")),
        E::Tls(t) => tls_error(shown, t),
        other => Error::new(ErrorKind::Unavailable, shown.to_string())
            .detail(format!("unreachable: {other}")),
    }
}

//! What the MQTT sink and source share: `mqtt://[USER:PASSWORD@]HOST[:PORT]/TOPIC`
//! parsed into rumqttc's options (MQTT 5, QoS 1), the user properties that carry a
//! forwarded element's identity, and how a refused connection reads.
//!
//! rumqttc (its synchronous v5 Client) runs its event loop on a private
//! current-thread tokio runtime inside woof-forward; no other tool links it. The
//! loop runs on a thread of its own per connection, never interrupted: a poll cut
//! short by a timeout can drop a publish it had counted as in flight (measured: the
//! stream then stalls at the next packet-id wrap), so our side waits on a channel.

use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet};
use rumqttc::v5::{Client, ConnectionError, Event, MqttOptions};
use woof::{Error, ErrorKind};

use super::engine_uri::EngineUri;

/// User properties of a forwarded element (MQTT 5): a subscriber can tell a
/// redelivery from a new reading by (origin, incarnation, seqno).
pub const P_ORIGIN: &str = "woof-origin";
pub const P_INCARNATION: &str = "woof-incarnation";
pub const P_SEQNO: &str = "woof-seqno";
pub const P_PUT_TIME: &str = "woof-put-time";

/// A parsed `mqtt://` URI.
#[derive(Debug, Clone)]
pub struct MqttUri {
    pub host: String,
    pub port: u16,
    pub user: Option<(String, String)>,
    /// Topic (sink) or topic filter (source).
    pub topic: String,
    /// The URI without its password.
    pub shown: String,
}

impl MqttUri {
    pub fn parse(uri: &str) -> Result<MqttUri, Error> {
        let bad = |why: &str| {
            Error::new(ErrorKind::BadName, format!("URI '{uri}'")).detail(why.to_string())
        };
        if uri.starts_with("mqtts://") {
            return Err(bad(
                "mqtts:// (TLS) is not built into this woof-forward; reach the broker over \
                 mqtt:// on a trusted network, or through a TLS tunnel",
            ));
        }
        let u = EngineUri::parse(uri, "mqtt", 1883, "TOPIC")?;
        Ok(MqttUri {
            host: u.host,
            port: u.port,
            user: u.user,
            topic: u.path,
            shown: u.shown,
        })
    }

    /// Options for a client named `client_id`.
    pub fn options(&self, client_id: &str, keep_alive: Duration) -> MqttOptions {
        let mut o = MqttOptions::new(client_id, self.host.clone(), self.port);
        o.set_keep_alive(keep_alive.max(Duration::from_secs(5)));
        if let Some((u, p)) = &self.user {
            o.set_credentials(u.clone(), p.clone());
        }
        o
    }
}

/// A connection: the client, and the events its event loop thread sends.
pub struct Link {
    pub client: Client,
    pub events: Receiver<Result<Event, ConnectionError>>,
}

impl Drop for Link {
    fn drop(&mut self) {
        // The event loop sends DISCONNECT and its thread ends.
        let _ = self.client.try_disconnect();
    }
}

/// Connects, with the event loop on its own thread (which ends at the first error:
/// reconnecting is ours to do), and waits (bounded) until the broker accepted
/// (CONNACK). Events before it are dropped; the broker keeps a session's messages
/// until they are acknowledged.
pub fn connect(
    opts: MqttOptions,
    cap: usize,
    shown: &str,
    timeout: Duration,
) -> Result<Link, Error> {
    let (client, mut conn) = Client::new(opts, cap);
    let (tx, events) = mpsc::channel();
    std::thread::Builder::new()
        .name("mqtt".into())
        .spawn(move || {
            for ev in conn.iter() {
                let failed = ev.is_err();
                if tx.send(ev).is_err() || failed {
                    break;
                }
            }
        })
        .map_err(|e| Error::io("MQTT thread", e))?;
    let link = Link { client, events };
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match link.events.recv_timeout(left) {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => return Ok(link),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(connection_error(shown, &e)),
            Err(_) => {
                return Err(Error::new(ErrorKind::Unavailable, shown.to_string())
                    .detail("unreachable: no answer from the broker in time"));
            }
        }
    }
}

/// A broken or refused connection as a woof error.
pub fn connection_error(shown: &str, e: &ConnectionError) -> Error {
    match e {
        ConnectionError::ConnectionRefused(
            code @ (ConnectReturnCode::NotAuthorized
            | ConnectReturnCode::BadUserNamePassword
            | ConnectReturnCode::Banned),
        ) => Error::new(ErrorKind::Denied, shown.to_string()).detail(format!(
            "the broker refused us ({code:?}): give the user and password as \
             mqtt://USER:PASSWORD@HOST/TOPIC"
        )),
        ConnectionError::ConnectionRefused(code) => {
            Error::new(ErrorKind::Unavailable, shown.to_string())
                .detail(format!("the broker refused the connection ({code:?})"))
        }
        other => Error::new(ErrorKind::Unavailable, shown.to_string())
            .detail(format!("unreachable: {other}")),
    }
}

/// A client id for this host, source and destination: stable, so that a persistent
/// session (the MQTT source's) survives restarts; at most 23 characters.
pub fn client_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("woof-{h:016x}")
}

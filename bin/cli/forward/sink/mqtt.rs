//! An MQTT topic (`mqtt[s]://[USER:PASSWORD@]HOST[:PORT]/TOPIC`): each element is
//! one QoS 1 message, its body raw or JSON/CSV, its MQTT 5 user properties naming
//! the origin, the source's incarnation, the seqno and the put time, so a
//! subscriber can drop redeliveries (MQTT 3.1.1 has no properties: the body alone).
//!
//! MQTT cannot be asked what a broker already has, so this forwarder's own record of
//! the last seqno the broker acknowledged (PUBACK) is the mark, written durably
//! after every acknowledged batch; a batch in flight when the connection broke is
//! sent again, and counted as `resent` (a subscriber may see those twice).
//!
//! Acknowledged means the broker took the message (PUBACK): mosquitto keeps it in
//! memory, on disk only at its autosave (`autosave_interval`, or shutdown), and
//! delivers it to the subscriptions that exist.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use woof::{Error, ErrorKind};

use super::{Acked, Mark, Opening, Outgoing, Sink};
use crate::forward::body::{Body, BodyFormat};
use crate::forward::mqtt::{
    self, MqttConfig, MqttUri, MqttVersion, P_INCARNATION, P_ORIGIN, P_PUT_TIME, P_SEQNO,
};
use crate::forward::mqtt_link::{self, Event, Link, Refusal, Session};

/// Messages the client may queue before the event loop must run.
const QUEUE: usize = 1024;

pub struct MqttSink {
    uri: MqttUri,
    config: MqttConfig,
    timeout: Duration,
    format: BodyFormat,
    link: Option<Link>,
    body: Option<Body>,
    size: usize,
    /// Batches sent: their last seqno and how many PUBACKs they still wait for.
    waiting: VecDeque<(u64, usize)>,
    incarnation: u64,
    client_id: String,
}

impl MqttSink {
    pub fn new(
        uri: &str,
        config: &MqttConfig,
        timeout: Duration,
        format: BodyFormat,
    ) -> Result<MqttSink, Error> {
        Ok(MqttSink {
            uri: MqttUri::parse(uri)?,
            config: config.clone(),
            timeout,
            format,
            link: None,
            body: None,
            size: 0,
            waiting: VecDeque::new(),
            incarnation: 0,
            client_id: String::new(),
        })
    }

    pub fn shown(&self) -> &str {
        &self.uri.shown
    }

    fn gone(&self) -> Error {
        Error::new(ErrorKind::Unavailable, self.uri.shown.clone()).detail("not connected")
    }

    /// Runs the event loop once (waiting up to `wait`): counts a PUBACK against the
    /// oldest batch.
    fn step(&mut self, wait: Duration) -> Result<(), Error> {
        let shown = self.uri.shown.clone();
        let link = self
            .link
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::Unavailable, shown.clone()))?;
        match link.events.recv_timeout(wait) {
            Ok(Ok(Event::PubAck(ack))) => {
                match ack {
                    Ok(()) => {}
                    Err(Refusal::NotAuthorized) => {
                        return Err(Error::new(ErrorKind::Denied, shown).detail(format!(
                            "the broker does not let us publish to {}",
                            self.uri.topic
                        )));
                    }
                    Err(Refusal::Other(why)) => {
                        return Err(Error::new(ErrorKind::BadData, shown)
                            .detail(format!("the broker refused a message ({why})")));
                    }
                }
                // Acknowledged in order: it belongs to the oldest batch still waiting.
                if let Some(w) = self.waiting.iter_mut().find(|w| w.1 > 0) {
                    w.1 -= 1;
                }
                Ok(())
            }
            Ok(Ok(Event::Disconnect(why))) => Err(Error::new(ErrorKind::Unavailable, shown)
                .detail(format!("the broker disconnected us ({why})"))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Ok(()),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(Error::new(ErrorKind::Unavailable, shown).detail("the connection ended"))
            }
        }
    }
}

impl Sink for MqttSink {
    fn open(&mut self, o: &Opening<'_>) -> Result<Mark, Error> {
        self.link = None;
        self.waiting.clear();
        self.body = Some(Body::new(self.format, &o.header.schema, o.name)?);
        self.size = o.header.element_size as usize;
        self.incarnation = o.header.incarnation;
        self.client_id = mqtt::client_id(&[o.origin, &self.uri.shown]);
        let session = Session {
            persistent: false,
            manual_acks: false,
            receive_max: None,
        };
        self.link = Some(mqtt_link::connect(
            &self.uri,
            &self.config,
            &self.client_id,
            &session,
            QUEUE,
            self.timeout,
        )?);
        // The broker cannot say what it has: our own record is the mark.
        Ok(o.hint.unwrap_or_default())
    }

    fn send(&mut self, b: &Outgoing<'_>) -> Result<(), Error> {
        let n = b.data.len() / self.size.max(1);
        let mut buf = Vec::new();
        let incarnation = format!("{:016x}", b.incarnation);
        self.waiting.push_back((b.first + n as u64 - 1, n));
        for (el, data) in b.elements(self.size) {
            let (seqno, time) = (el.seqno, el.time_ns);
            let body = self.body.as_ref().ok_or_else(|| self.gone())?;
            body.encode(&mut buf, &el, data);
            let props = match self.config.version {
                MqttVersion::V5 => vec![
                    (P_ORIGIN.into(), b.origin.into()),
                    (P_INCARNATION.into(), incarnation.clone()),
                    (P_SEQNO.into(), seqno.to_string()),
                    (P_PUT_TIME.into(), time.to_string()),
                ],
                // 3.1.1 has no properties: the body alone.
                MqttVersion::V311 => Vec::new(),
            };
            loop {
                let link = self.link.as_ref().ok_or_else(|| self.gone())?;
                let sent = link
                    .client
                    .try_publish(&self.uri.topic, buf.clone(), &props);
                match sent {
                    Ok(()) => break,
                    // The queue is full: let the event loop send some.
                    Err(_) => self.step(Duration::from_millis(10))?,
                }
            }
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Acked, Error> {
        // A watchdog, not a budget: --timeout without any PUBACK.
        let mut deadline = Instant::now() + self.timeout;
        while let Some(&(_, before)) = self.waiting.front().filter(|w| w.1 > 0) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(ErrorKind::Unavailable, self.uri.shown.clone())
                    .detail("no acknowledgement (PUBACK) from the broker in time"));
            }
            self.step(left)?;
            if self.waiting.front().is_some_and(|w| w.1 < before) {
                deadline = Instant::now() + self.timeout;
            }
        }
        let (last, _) = self.waiting.pop_front().ok_or_else(|| self.gone())?;
        Ok(Acked {
            mark: Mark::up_to(self.incarnation, last),
            appended: 0,
            duplicates: 0,
        })
    }

    fn ping(&mut self, _origin: &str) -> Result<Option<Mark>, Error> {
        // Run the event loop: it answers the broker and sends keep-alive pings; a
        // dead connection shows here.
        self.step(Duration::from_millis(1))?;
        Ok(None)
    }

    fn close(&mut self) {
        self.link = None;
        self.waiting.clear();
    }

    fn max_batch(&self, _size: usize) -> usize {
        1000
    }

    fn deduplicates(&self) -> bool {
        false
    }
}

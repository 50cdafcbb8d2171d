//! One source woof forwarded to one destination (DESIGN §9).
//!
//! At least once on the wire, exactly once in a destination that deduplicates:
//! every batch names its origin, the source's incarnation and its first source
//! seqno; the destination keeps what is above the origin's mark and says where the
//! mark is. On every (re)connect the forwarder asks for the mark and sends from
//! there, so a batch whose acknowledgement was lost is sent again and recognised,
//! and nothing the destination did not acknowledge is ever skipped. For a
//! destination that cannot be asked (MQTT), this forwarder's own record of what was
//! acknowledged, written durably after each acknowledgement, is the mark.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use woof::{Error, ErrorKind, Woof};
use woof_net::client::{Mark, Options};

use crate::exit::warn;

use super::sink::{Opening, Outgoing, Sink};
use super::state::State;

/// What a stream asks of the engine and of its user.
pub struct Settings {
    /// `--once`: an error ends the run instead of a retry.
    pub once: bool,
    pub origin_host: String,
    pub handler: String,
    pub new_incarnation: bool,
    pub create: bool,
    pub window: usize,
    pub heartbeat: Duration,
    pub options: Options,
    /// Source seqno to start from when the destination knows nothing of this origin
    /// (`--skip-to` also moves past a mark).
    pub skip_to: Option<u64>,
    /// `--rate`: at most this many elements a second per source.
    pub rate: Option<u64>,
    /// `--format`: message bodies for engines.
    pub format: super::body::BodyFormat,
    /// `--mqtt`, `--tls-*`: how to speak to MQTT brokers.
    pub mqtt: super::mqtt::MqttConfig,
}

/// Where a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not connected; the next attempt is due at the instant.
    Waiting(Instant),
    /// Connected and forwarding (or idle, caught up).
    Live,
    /// Caught up, its connection let go so that thousands of quiet sources do not
    /// hold thousands of connections (`release`); connects again on a new element.
    Idle,
    /// Stopped for good: the destination refuses this source (named in `error`).
    Stopped,
}

pub struct Stream {
    pub name: String,
    /// The destination, as the user wrote it.
    pub dest: String,
    sink: Box<dyn Sink>,
    /// Whether the stream is connected.
    connected: bool,
    source: Woof,
    origin: String,
    pub phase: Phase,
    /// The destination's mark: every source seqno ≤ it is acknowledged.
    pub acked: u64,
    /// The next source seqno to send.
    next: u64,
    /// The last source seqno sent (or acknowledged, at a connect).
    sent_upto: u64,
    /// Batches sent, not yet acknowledged: (first, last) source seqnos.
    in_flight: VecDeque<(u64, u64)>,
    /// The next batch must say that the elements before it were lost at the source.
    lost: bool,
    /// The next batch starts a new incarnation at the destination.
    reset: bool,
    pub gaps: u64,
    backoff: Duration,
    last_contact: Instant,
    /// The last connect or batch sent: how long the stream has been quiet.
    active: Instant,
    pub error: Option<Error>,
    state: State,
    /// Elements this run forwarded (appended, not duplicates).
    pub forwarded: u64,
    /// Elements sent again: the destination recognised them as held (woof, Redis,
    /// JetStream), or, where it cannot (MQTT), they were in flight when the link
    /// broke and may arrive twice. This run.
    pub duplicates: u64,
    /// Reused buffers for a batch: element bytes and put times.
    data: Vec<u8>,
    times: Vec<u8>,
    /// `--rate`: elements that may be sent now, refilled with time.
    allowance: f64,
    refilled: Instant,
}

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

impl Stream {
    pub fn new(
        name: &str,
        source: Woof,
        dest: String,
        sink: Box<dyn Sink>,
        origin_host: &str,
        state: State,
    ) -> Stream {
        let origin = format!("{origin_host}:{}", canonical(source.path()));
        let acked = state.hint().unwrap_or(0);
        let mut s = Stream {
            name: name.to_string(),
            dest,
            sink,
            connected: false,
            source,
            origin,
            phase: Phase::Waiting(Instant::now()),
            acked,
            next: acked + 1,
            sent_upto: acked,
            in_flight: VecDeque::new(),
            lost: false,
            reset: false,
            gaps: 0,
            backoff: BACKOFF_MIN,
            last_contact: Instant::now(),
            active: Instant::now(),
            error: None,
            state,
            forwarded: 0,
            duplicates: 0,
            data: Vec::new(),
            times: Vec::new(),
            allowance: 0.0,
            refilled: Instant::now(),
        };
        s.record("starting", true);
        s
    }

    /// Whether everything the source holds now is acknowledged.
    pub fn caught_up(&self) -> bool {
        matches!(self.phase, Phase::Live | Phase::Idle)
            && self.in_flight.is_empty()
            && self.acked >= self.source.latest()
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Whether `pump` would connect now.
    pub fn wants_connection(&self) -> bool {
        matches!(self.phase, Phase::Waiting(due) if Instant::now() >= due)
    }

    /// How long since the stream last connected or sent.
    pub fn quiet_for(&self) -> Duration {
        self.active.elapsed()
    }

    /// An idle stream whose source was re-created connects again (and reopens it).
    pub fn revisit(&mut self) {
        if self.phase == Phase::Idle && self.source.replaced() {
            self.phase = Phase::Waiting(Instant::now());
        }
    }

    /// Lets the connection of a caught-up stream go; it connects again (and asks
    /// the destination's mark, as at any connect) when its source has more.
    pub fn release(&mut self) {
        if self.phase == Phase::Live && self.in_flight.is_empty() {
            self.drop_connection();
            self.phase = Phase::Idle;
        }
    }

    /// The source seqno a wait for new elements waits after.
    pub fn waits_after(&self) -> u64 {
        self.next - 1
    }

    pub fn source(&self) -> &Woof {
        &self.source
    }

    /// Does what can be done now without waiting for the source: connect when due,
    /// send batches up to the window, read acknowledgements. Returns whether it got
    /// anything done (the engine sleeps when no stream did).
    pub fn pump(&mut self, set: &Settings) -> bool {
        match self.phase {
            Phase::Stopped => false,
            Phase::Idle => {
                // `replaced` is a stat: the engine asks it at its rescans (`revisit`).
                if self.source.latest() > self.acked {
                    self.phase = Phase::Waiting(Instant::now());
                    return true;
                }
                false
            }
            Phase::Waiting(due) if Instant::now() < due => false,
            Phase::Waiting(_) => match self.connect(set) {
                Ok(()) => true,
                Err(e) => {
                    self.fail(e, set);
                    true
                }
            },
            Phase::Live => match self.exchange(set) {
                Ok(progress) => progress,
                Err(e) => {
                    self.fail(e, set);
                    true
                }
            },
        }
    }

    /// Connects, asks the destination for this origin's mark and checks that the
    /// destination can hold the source's elements.
    fn connect(&mut self, set: &Settings) -> Result<(), Error> {
        if self.source.replaced() {
            // Re-created with --force: forward the file now under the name.
            let path = self.source.path().to_path_buf();
            self.source = Woof::open(&path)?;
            self.source.close_descriptor();
        }
        let hint = self.state.hint().map(|acked| Mark {
            known: true,
            incarnation: self.state.incarnation().unwrap_or(0),
            mark: acked,
            gaps: self.state.gaps(),
        });
        let opening = Opening {
            origin: &self.origin,
            header: self.source.header(),
            name: &self.name,
            hint,
        };
        let mark = self.sink.open(&opening)?;
        self.resume_from(&mark, set)?;
        self.connected = true;
        self.phase = Phase::Live;
        self.in_flight.clear();
        self.backoff = BACKOFF_MIN;
        self.last_contact = Instant::now();
        self.active = Instant::now();
        if self.error.take().is_some() {
            warn(
                "woof-forward",
                &format!(
                    "{}: {} reachable again, resuming after {}",
                    self.name, self.dest, self.acked
                ),
            );
        }
        self.record("forwarding", true);
        Ok(())
    }

    /// Sets where to send from after the destination said where its mark is.
    fn resume_from(&mut self, mark: &Mark, set: &Settings) -> Result<(), Error> {
        let incarnation = self.source.header().incarnation;
        self.reset = false;
        let mut acked = mark.mark;
        if mark.known && mark.incarnation != 0 && mark.incarnation != incarnation {
            if !set.new_incarnation {
                return Err(
                    Error::new(ErrorKind::Reincarnated, self.name.clone()).detail(format!(
                        "the source was re-created since {} got its elements up to {} \
                     (incarnation {:016x}, now {incarnation:016x}); give --new-incarnation \
                     to forward the new one from its first element",
                        self.dest, mark.mark, mark.incarnation
                    )),
                );
            }
            self.reset = true;
            acked = 0;
        }
        let latest = self.source.latest();
        if acked > latest {
            return Err(
                Error::new(ErrorKind::BadData, self.name.clone()).detail(format!(
                    "{} has this source's elements up to {acked}, but the source's latest is \
                 {latest} (restored from an older copy?); nothing was sent",
                    self.dest
                )),
            );
        }
        self.acked = acked;
        self.gaps = match (self.reset, self.sink.counts_gaps()) {
            (true, _) => 0,
            (false, true) => mark.gaps,
            (false, false) => self.state.gaps(),
        };
        self.sent_upto = acked;
        let mut next = acked + 1;
        self.lost = false;
        if let Some(to) = set.skip_to
            && to > next
        {
            next = to;
            self.lost = true;
        }
        let oldest = self.source.oldest();
        if oldest > next {
            // The ring overwrote them before they could be sent: say so, with the count.
            warn(
                "woof-forward",
                &format!(
                    "{}: source elements {next}..{} were overwritten before they could be \
                     sent ({} lost); the destination counts them as a gap",
                    self.name,
                    oldest - 1,
                    oldest - next
                ),
            );
            next = oldest;
            self.lost = true;
        }
        self.next = next;
        Ok(())
    }

    /// Sends while the window has room and the source has elements, then reads one
    /// acknowledgement (waiting for it, bounded by the timeout) if any is due.
    fn exchange(&mut self, set: &Settings) -> Result<bool, Error> {
        let mut progress = false;
        while self.in_flight.len() < set.window && self.next <= self.source.latest() {
            let Some(room) = self.room(set) else {
                break;
            };
            if !self.send_batch(set, room)? {
                break;
            }
            progress = true;
        }
        if !self.in_flight.is_empty() {
            self.receive()?;
            return Ok(true);
        }
        if self.last_contact.elapsed() >= set.heartbeat {
            self.heartbeat(set)?;
            progress = true;
        }
        Ok(progress)
    }

    /// How many elements the next batch may hold: a batch's worth, or what
    /// `--rate` allows now (None: nothing yet; `throttled` says until when).
    fn room(&mut self, set: &Settings) -> Option<u64> {
        let batch = self.sink.max_batch(self.source.element_size()) as u64;
        let Some(rate) = set.rate else {
            return Some(batch);
        };
        let rate = rate as f64;
        let now = Instant::now();
        // At most a second's worth saved up: a rate, not a quota.
        self.allowance = (self.allowance + now.duration_since(self.refilled).as_secs_f64() * rate)
            .min(rate.max(1.0));
        self.refilled = now;
        if self.allowance < 1.0 {
            return None;
        }
        Some(batch.min(self.allowance as u64))
    }

    /// When `--rate` lets the next element go, if it is holding one back.
    pub fn throttled(&self, set: &Settings) -> Option<Instant> {
        let rate = set.rate? as f64;
        (self.phase == Phase::Live && self.allowance < 1.0 && self.next <= self.source.latest())
            .then(|| self.refilled + Duration::from_secs_f64((1.0 - self.allowance) / rate))
    }

    /// Reads the source from `next` into one batch of at most `room` elements and
    /// sends it. Returns false when there was nothing to send.
    fn send_batch(&mut self, set: &Settings, room: u64) -> Result<bool, Error> {
        let size = self.source.element_size();
        let latest = self.source.latest();
        let first = self.next;
        let want = (latest + 1 - first).min(room) as usize;
        self.data.resize(want * size, 0);
        self.times.clear();
        let mut got = 0usize;
        while got < want {
            let s = first + got as u64;
            match self
                .source
                .get(s, &mut self.data[got * size..(got + 1) * size])
            {
                Ok(el) => {
                    self.times.extend_from_slice(&el.time_ns.to_le_bytes());
                    got += 1;
                }
                Err(e) => match e.kind() {
                    ErrorKind::Evicted { oldest, .. } if got == 0 => {
                        let oldest = (*oldest).max(s + 1);
                        warn(
                            "woof-forward",
                            &format!(
                                "{}: source elements {s}..{} were overwritten before they \
                                 could be sent ({} lost); the destination counts them as a gap",
                                self.name,
                                oldest - 1,
                                oldest - s
                            ),
                        );
                        self.next = oldest;
                        self.lost = true;
                        return Ok(true);
                    }
                    // Overwritten while we read: send what we have; the next batch
                    // starts where the ring is.
                    ErrorKind::Evicted { .. } => break,
                    _ => {
                        return Err(e.within(format!("{} (source seqno {s})", self.name)));
                    }
                },
            }
        }
        let last = first + got as u64 - 1;
        if set.rate.is_some() {
            self.allowance -= got as f64;
        }
        let batch = Outgoing {
            origin: &self.origin,
            incarnation: self.source.header().incarnation,
            first,
            lost: self.lost,
            reset: self.reset,
            times: &self.times,
            data: &self.data[..got * size],
        };
        self.sink.send(&batch)?;
        if self.lost && !self.sink.counts_gaps() {
            // The destination cannot count what was lost at the source: we do.
            self.gaps += first.saturating_sub(self.sent_upto + 1);
        }
        self.sent_upto = last;
        self.lost = false;
        self.reset = false;
        self.in_flight.push_back((first, last));
        self.next = last + 1;
        self.active = Instant::now();
        Ok(true)
    }

    /// Reads the acknowledgement of the oldest batch in flight.
    fn receive(&mut self) -> Result<(), Error> {
        let (first, last) = self.in_flight.pop_front().unwrap_or((0, 0));
        let got = self.sink.recv().map_err(|e| match e.kind() {
            ErrorKind::Size { .. } | ErrorKind::BadData | ErrorKind::Denied => {
                e.within(format!("{} (source seqnos {first}..{last})", self.name))
            }
            _ => e,
        })?;
        self.last_contact = Instant::now();
        self.acked = self.acked.max(got.mark.mark);
        if self.sink.counts_gaps() {
            self.gaps = got.mark.gaps;
        }
        self.forwarded += got.appended;
        self.duplicates += got.duplicates;
        // Where the destination cannot be asked, this record is the mark: on disk
        // before the next batch goes.
        let durable = !self.sink.deduplicates();
        self.record("forwarding", durable);
        Ok(())
    }

    /// Idle: proves the connection is alive (and the mark where we think it is), so
    /// a dead peer or a NAT that forgot us is found before the next put needs it.
    fn heartbeat(&mut self, set: &Settings) -> Result<(), Error> {
        let mark = self.sink.ping(&self.origin)?;
        self.last_contact = Instant::now();
        if let Some(mark) = mark
            && (mark.mark != self.acked
                || (mark.known && mark.incarnation != self.source.header().incarnation))
        {
            // The destination was re-created or restored: start over from its word.
            self.resume_from(&mark, set)?;
        }
        if self.source.replaced() {
            self.drop_connection();
            self.phase = Phase::Waiting(Instant::now());
        }
        self.record("forwarding", false);
        Ok(())
    }

    fn drop_connection(&mut self) {
        self.sink.close();
        self.connected = false;
        self.in_flight.clear();
    }

    /// After an error: retry later (the destination went away, or is not ready), or
    /// stop this stream for good (the destination refuses these elements).
    fn fail(&mut self, e: Error, set: &Settings) {
        if !self.sink.deduplicates() {
            // Sent, not acknowledged: they go again, and may arrive twice.
            self.duplicates += self.sent_upto.saturating_sub(self.acked);
        }
        self.drop_connection();
        let for_good = matches!(
            e.kind(),
            ErrorKind::Size { .. }
                | ErrorKind::BadData
                | ErrorKind::Denied
                | ErrorKind::Reincarnated
                | ErrorKind::BadName
                | ErrorKind::BadArgument
                | ErrorKind::Corrupt
                | ErrorKind::Version { .. }
        );
        let repeated = self
            .error
            .as_ref()
            .is_some_and(|old| old.to_string() == e.to_string());
        if for_good {
            warn(
                "woof-forward",
                &format!(
                    "{}: stopped before source seqno {}: {e}",
                    self.name,
                    self.acked + 1
                ),
            );
            self.phase = Phase::Stopped;
            self.error = Some(e);
            self.record("stopped", true);
            return;
        }
        if matches!(e.kind(), ErrorKind::Gap { .. }) {
            // The destination holds less than we sent after (re-created?): ask again
            // at once.
            self.phase = Phase::Waiting(Instant::now());
            self.error = Some(e);
            self.record("retrying", true);
            return;
        }
        let delay = jitter(self.backoff);
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        if set.once {
            warn("woof-forward", &format!("{}: {e}", self.name));
        } else if !repeated {
            warn(
                "woof-forward",
                &format!(
                    "{}: {e}; retrying (every {}s at most)",
                    self.name,
                    BACKOFF_MAX.as_secs()
                ),
            );
        }
        self.phase = Phase::Waiting(Instant::now() + delay);
        self.error = Some(e);
        self.record("retrying", true);
    }

    /// Updates the state file (at most once a second unless `now`).
    fn record(&mut self, phase: &str, now: bool) {
        let st = &mut self.state;
        let latest = self.source.latest();
        let changed = st.fields.get("state").map(String::as_str) != Some(phase);
        st.set("woof", &self.name);
        st.set("dest", &self.dest);
        st.set("acked", self.acked);
        st.set("latest", latest);
        st.set("gaps", self.gaps);
        st.set("resent", self.duplicates);
        st.set(
            "incarnation",
            format!("{:016x}", self.source.header().incarnation),
        );
        st.set(
            "error",
            self.error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
        st.set("pid", std::process::id());
        st.set("updated", woof::now_ns());
        if changed {
            st.set("state", phase);
            st.set("since", woof::now_ns());
        }
        if let Err(e) = st.save(now || changed) {
            warn("woof-forward", &format!("{}: state file: {e}", self.name));
        }
    }

    /// Reads the acknowledgements of the batches in flight (at exit), as long as
    /// they come.
    pub fn settle(&mut self) {
        while !self.in_flight.is_empty() && self.phase == Phase::Live {
            if self.receive().is_err() {
                break;
            }
        }
    }

    /// Writes the state file now (at exit).
    pub fn flush_state(&mut self, phase: &str) {
        self.record(phase, true);
    }
}

/// A delay between `d`/2 and `d`: forwarders restarted together do not reconnect in
/// lockstep. (The low bits of the clock are random enough for spreading retries.)
fn jitter(d: Duration) -> Duration {
    let spread = (woof::now_ns() % 1000) as u32;
    d / 2 + d / 2 * spread / 1000
}

/// The source's absolute path, its identity in the origin name.
fn canonical(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

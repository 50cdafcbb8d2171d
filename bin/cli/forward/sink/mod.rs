//! Where a forwarded stream goes: a woof through its woof-proxy, or an engine users
//! already run (DESIGN §9, "Bridges"). The stream (`stream.rs`) owns the source,
//! the window, retries and state; a sink only connects, says where the destination
//! is, sends batches and reads their acknowledgements.

pub mod mqtt;
pub mod nats;
pub mod proxy;
pub mod redis;

use woof::Error;
use woof::format::Header;
pub use woof_net::client::Mark;

/// What a sink needs to know of the source when it connects.
pub struct Opening<'a> {
    /// Who forwards: this host and the source's path.
    pub origin: &'a str,
    pub header: &'a Header,
    /// The source's name, for messages.
    pub name: &'a str,
    /// What this forwarder last recorded as acknowledged (its state file), for sinks
    /// that cannot be asked.
    pub hint: Option<Mark>,
}

/// A batch of consecutive source elements.
pub struct Outgoing<'a> {
    pub origin: &'a str,
    pub incarnation: u64,
    /// Source seqno of the first element.
    pub first: u64,
    /// The elements between the mark and `first` were lost at the source.
    pub lost: bool,
    /// A new incarnation of the source: the destination starts it afresh.
    pub reset: bool,
    /// Put times, 8 bytes little-endian each.
    pub times: &'a [u8],
    /// Whole elements.
    pub data: &'a [u8],
}

impl<'a> Outgoing<'a> {
    /// Each element of the batch (`size` bytes each): its seqno and put time, and
    /// its bytes, as every engine sink sends them one by one.
    pub fn elements(&self, size: usize) -> impl Iterator<Item = (woof::Element, &'a [u8])> + '_ {
        let size = size.max(1);
        self.data
            .chunks_exact(size)
            .enumerate()
            .map(move |(i, data)| {
                let time = self
                    .times
                    .get(i * 8..i * 8 + 8)
                    .and_then(|t| t.try_into().ok())
                    .map_or(0, u64::from_le_bytes);
                let el = woof::Element {
                    seqno: self.first + i as u64,
                    time_ns: time,
                };
                (el, data)
            })
    }
}

/// What the destination said of a batch.
pub struct Acked {
    /// Where the destination is now: every source seqno ≤ mark is in it.
    pub mark: Mark,
    /// Elements it took, and elements it recognised as already there.
    pub appended: u64,
    pub duplicates: u64,
}

pub trait Sink {
    /// Connects (again) and says where the destination is for this source.
    fn open(&mut self, o: &Opening<'_>) -> Result<Mark, Error>;
    /// Sends a batch; its acknowledgement comes from `recv`, in order.
    fn send(&mut self, b: &Outgoing<'_>) -> Result<(), Error>;
    /// The acknowledgement of the oldest batch sent.
    fn recv(&mut self) -> Result<Acked, Error>;
    /// When idle: proves the connection alive; Some(mark) if the destination can
    /// say where it is.
    fn ping(&mut self, origin: &str) -> Result<Option<Mark>, Error>;
    /// Forgets the connection (after an error).
    fn close(&mut self);
    /// Whether the destination recognises what it already holds (its mark is the
    /// truth). Otherwise the forwarder's own record of what was acknowledged is,
    /// and it is written durably after every acknowledgement.
    fn deduplicates(&self) -> bool;
    /// The most elements one batch may hold, for elements of `size` bytes: one
    /// message's worth for a woof, fewer where each element is a message of its own
    /// (an acknowledgement then waits for fewer).
    fn max_batch(&self, size: usize) -> usize {
        (woof_net::proto::MAX_BATCH_DATA / size.max(1)).max(1)
    }
    /// Whether the destination counts the elements lost at the source (its marks
    /// carry gaps); otherwise the forwarder counts them in its state.
    fn counts_gaps(&self) -> bool {
        false
    }
}

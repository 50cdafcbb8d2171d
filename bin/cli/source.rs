//! Where woof-get and woof-tail read from: a woof file here, or a woof behind a
//! woof-proxy (`woof://`). Both answer the same questions with the same errors, so
//! the tools print, report gaps and resume cursors the same way for either.

use std::time::Duration;

use woof::{Element, Error, ErrorKind, Info, Woof};
use woof_net::client::Client;
use woof_net::proto::Elements;

use crate::exit::Failure;
use crate::target::{self, NamespaceArg, RemoteArgs, Target};

/// Opens what woof-get and woof-tail read: the results log (`results`), woof `name`
/// in the namespace (writable when `follow`: a follower registers as a waiter in
/// the header), or a woof behind a proxy.
pub fn open(
    ns: &NamespaceArg,
    remote: &RemoteArgs,
    name: &str,
    results: bool,
    follow: bool,
) -> Result<Box<dyn Source>, Failure> {
    if results {
        return Ok(Box::new(target::open_results(ns)?));
    }
    Ok(match Target::parse(name)? {
        Target::Local(n) if follow => Box::new(target::open(ns, &n)?),
        Target::Local(n) => Box::new(target::open_readonly(ns, &n)?),
        Target::Remote(uri) => Box::new(Remote::open(remote.connect(&uri)?)?),
        Target::Cspot(uri) => Box::new(crate::cspot_source::CspotSource::open(
            &uri,
            remote.for_cspot(&uri)?,
        )?),
    })
}

pub trait Source {
    fn element_size(&self) -> usize;
    /// The schema text in the woof's header (empty: none).
    fn schema(&self) -> &[u8];
    /// The latest seqno (0: empty). Remote: as of the last reply.
    fn latest(&mut self) -> u64;
    /// The oldest seqno held (0: empty).
    fn oldest(&mut self) -> u64;
    /// Element `seqno` (0: the latest) into `buf`; `upto` hints how far a caller
    /// will read on, so a remote source fetches the range in few round trips.
    fn get(&mut self, seqno: u64, buf: &mut [u8], upto: u64) -> woof::Result<Element>;
    /// Blocks until an element after `after` exists, or (locally) `bound` passes;
    /// returns the latest.
    fn wait_after(&mut self, after: u64, bound: Option<Duration>) -> Result<u64, Failure>;
    fn info(&mut self) -> Result<Info, Failure>;
    /// Whether the woof's name now names another woof (or none), locally.
    fn replaced(&mut self) -> bool {
        false
    }
}

impl Source for Woof {
    fn element_size(&self) -> usize {
        Woof::element_size(self)
    }
    fn schema(&self) -> &[u8] {
        &self.header().schema
    }
    fn latest(&mut self) -> u64 {
        Woof::latest(self)
    }
    fn oldest(&mut self) -> u64 {
        Woof::oldest(self)
    }
    fn get(&mut self, seqno: u64, buf: &mut [u8], _upto: u64) -> woof::Result<Element> {
        Woof::get(self, seqno, buf)
    }
    fn wait_after(&mut self, after: u64, bound: Option<Duration>) -> Result<u64, Failure> {
        // The follower has just printed: its reader needs the CPU more than a spin.
        Ok(Woof::sleep_after(self, after, bound))
    }
    fn info(&mut self) -> Result<Info, Failure> {
        Ok(Woof::info(self))
    }
    fn replaced(&mut self) -> bool {
        Woof::replaced(self)
    }
}

/// How long to wait before following again after the proxy's `busy` number
/// `attempt`: 50 ms doubling to 1.6 s, with jitter so that a crowd of turned-away
/// followers does not come back at once.
fn retry_delay(attempt: u32) -> Duration {
    let base = 50u64 << attempt.min(5);
    Duration::from_millis(base + jitter_ms(base))
}

/// Hands each element of FROM..=TO still held to `f`, in order; those evicted
/// while reading are passed over (what is gone is gone; the rest is read), any
/// other error ends it. For the readers that summarise (`--every`, `--plot`).
pub fn each_held(
    src: &mut dyn Source,
    name: &str,
    (from, to): (u64, u64),
    mut f: impl FnMut(&Element, &[u8]),
) -> Result<(), Failure> {
    let mut buf = vec![0u8; src.element_size()];
    let mut s = from;
    while s <= to {
        match src.get(s, &mut buf, to) {
            Ok(el) => {
                f(&el, &buf);
                s += 1;
            }
            Err(e) => match e.kind() {
                ErrorKind::Evicted { oldest, .. } => s = (*oldest).max(s + 1),
                _ => return Err(Failure::from(e.within(name))),
            },
        }
    }
    Ok(())
}

/// Whether what stopped a follower may come back by itself: the proxy unreachable,
/// busy or timing out (it restarts), or the woof missing (it is being replaced).
pub fn may_come_back(f: &Failure) -> bool {
    f.is(&ErrorKind::Unavailable) || f.is(&ErrorKind::Timeout) || f.is(&ErrorKind::NotFound)
}

/// Opens a follower's source again after `lost` (`woof-tail -F`): tries again what
/// may come back, 100 ms apart doubling to 5 s with jitter, for as long as it
/// takes, saying once on stderr that it lost the woof and once that it has it
/// again; anything else ends the follow.
pub fn reopen(
    ns: &NamespaceArg,
    remote: &RemoteArgs,
    name: &str,
    results: bool,
    lost: Failure,
) -> Result<Box<dyn Source>, Failure> {
    if !may_come_back(&lost) {
        return Err(lost);
    }
    crate::exit::warn("woof-tail", &format!("{}; retrying", lost.message));
    let mut attempt = 0u32;
    loop {
        std::thread::sleep(backoff(attempt));
        match open(ns, remote, name, results, true) {
            Ok(source) => {
                crate::exit::warn("woof-tail", &format!("{name}: following again"));
                return Ok(source);
            }
            Err(f) if may_come_back(&f) => attempt = attempt.saturating_add(1),
            Err(f) => return Err(f),
        }
    }
}

/// 100 ms doubling to 5 s, plus up to as much again of jitter: a crowd of
/// followers that lost the same proxy does not come back at once.
fn backoff(attempt: u32) -> Duration {
    let base = (100u64 << attempt.min(6)).min(5_000);
    Duration::from_millis(base + jitter_ms(base))
}

fn jitter_ms(below: u64) -> u64 {
    u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    ) % below.max(1)
}

/// How long one remote follow waits on the proxy before asking again.
const FOLLOW_WAIT: Duration = Duration::from_secs(10);

/// A woof behind a proxy, with the elements of the last reply buffered.
pub struct Remote {
    client: Client,
    size: usize,
    schema: Vec<u8>,
    latest: u64,
    oldest: u64,
    got: Elements,
    /// Index into `got` of the next element a sequential reader will want.
    next: usize,
}

impl Remote {
    pub fn open(mut client: Client) -> Result<Remote, Failure> {
        let info = client.info()?;
        Ok(Remote {
            client,
            size: info.element_size as usize,
            schema: info.schema,
            latest: info.latest,
            oldest: info.oldest,
            got: Elements::default(),
            next: 0,
        })
    }

    fn take(&mut self, got: Elements) {
        self.latest = got.latest;
        self.oldest = got.oldest;
        self.got = got;
        self.next = 0;
    }

    fn find(&mut self, seqno: u64) -> Option<usize> {
        let m = &self.got.meta;
        if self.next < m.len() && m[self.next].seqno == seqno {
            return Some(self.next);
        }
        m.binary_search_by_key(&seqno, |e| e.seqno).ok()
    }

    fn copy(&mut self, i: usize, buf: &mut [u8]) -> Element {
        buf.copy_from_slice(&self.got.data[i * self.size..(i + 1) * self.size]);
        self.next = i + 1;
        self.got.meta[i]
    }
}

impl Source for Remote {
    fn element_size(&self) -> usize {
        self.size
    }
    fn schema(&self) -> &[u8] {
        &self.schema
    }
    fn latest(&mut self) -> u64 {
        self.latest
    }
    fn oldest(&mut self) -> u64 {
        self.oldest
    }
    fn get(&mut self, seqno: u64, buf: &mut [u8], upto: u64) -> woof::Result<Element> {
        if seqno != 0
            && let Some(i) = self.find(seqno)
        {
            return Ok(self.copy(i, buf));
        }
        let to = if seqno == 0 { 0 } else { upto.max(seqno) };
        let uri = self.client.uri().to_string();
        // The caller adds the woof's name, as for a local get.
        let got = self.client.get(seqno, to, self.size).map_err(|e| {
            if e.context() == uri {
                e.with_context("")
            } else {
                e
            }
        })?;
        self.take(got);
        let want = if seqno == 0 { self.latest } else { seqno };
        if let Some(i) = self.find(want).filter(|_| want != 0) {
            return Ok(self.copy(i, buf));
        }
        // Not held: say why, exactly as a local get would.
        let kind = if self.latest == 0 {
            ErrorKind::Empty
        } else if want > self.latest {
            ErrorKind::NotYet {
                seqno: want,
                latest: self.latest,
            }
        } else if want < self.oldest {
            ErrorKind::Evicted {
                seqno: want,
                oldest: self.oldest,
            }
        } else {
            ErrorKind::Corrupt
        };
        Err(Error::new(kind, ""))
    }
    /// A remote wait is a series of long polls, none past `bound`.
    fn wait_after(&mut self, after: u64, bound: Option<Duration>) -> Result<u64, Failure> {
        let deadline = bound.map(|b| std::time::Instant::now() + b);
        let mut busy = 0u32;
        loop {
            let wait = match deadline {
                Some(d) => FOLLOW_WAIT.min(d.saturating_duration_since(std::time::Instant::now())),
                None => FOLLOW_WAIT,
            };
            let got = match self.client.follow(after, wait, u64::MAX, self.size) {
                // Every follower thread of the proxy is taken: it said so at once
                // instead of queueing us behind long polls; ask again shortly.
                Err(e) if *e.kind() == ErrorKind::Full => {
                    std::thread::sleep(retry_delay(busy));
                    busy = busy.saturating_add(1);
                    continue;
                }
                other => other?,
            };
            busy = 0;
            let new = !got.meta.is_empty() || got.latest > after;
            self.take(got);
            if new || deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Ok(self.latest);
            }
        }
    }
    fn info(&mut self) -> Result<Info, Failure> {
        Ok(self.client.info()?)
    }
}

//! A woof on a CSPOT host (`cspot://HOST/NAMESPACE/NAME`), read over CSPOT's
//! protocol: its element size (tag 2), its latest seqno (tag 5), one element per
//! get (tag 3), and following by asking for the latest seqno every POLL.
//!
//! What CSPOT cannot say shows as unknown: no put times (0, the epoch), no history
//! or oldest seqno (an element at or below the latest that the host no longer
//! has is reported as overwritten), no schema.

use std::time::{Duration, Instant};

use woof::{Durability, Element, ErrorKind, Info};
use woof_net::Uri;
use woof_net::cspot_client::CspotClient;

use crate::exit::Failure;
use crate::source::Source;

/// How often a follower asks a CSPOT host for its latest seqno (CSPOT's protocol
/// cannot wait for an element).
const POLL: Duration = Duration::from_millis(100);

pub struct CspotSource {
    client: CspotClient,
    size: usize,
    latest: u64,
}

impl CspotSource {
    pub fn open(uri: &Uri, timeout: Duration) -> Result<CspotSource, Failure> {
        let mut client = CspotClient::connect(uri, timeout)?;
        let size = client.element_size()?;
        let latest = client.latest()?;
        Ok(CspotSource {
            client,
            size,
            latest,
        })
    }
}

impl Source for CspotSource {
    fn element_size(&self) -> usize {
        self.size
    }
    fn schema(&self) -> &[u8] {
        &[]
    }
    fn latest(&mut self) -> u64 {
        self.latest
    }
    fn oldest(&mut self) -> u64 {
        // Unknown: CSPOT's protocol does not give the history.
        u64::from(self.latest > 0)
    }
    fn get(&mut self, seqno: u64, buf: &mut [u8], _upto: u64) -> woof::Result<Element> {
        let seqno = if seqno == 0 {
            self.latest = self.client.latest().map_err(|e| e.with_context(""))?;
            self.latest
        } else {
            seqno
        };
        if seqno == 0 {
            return Err(woof::Error::new(ErrorKind::Empty, ""));
        }
        if seqno > self.latest {
            return Err(woof::Error::new(
                ErrorKind::NotYet {
                    seqno,
                    latest: self.latest,
                },
                "",
            ));
        }
        match self.client.get(seqno) {
            Ok(data) if data.len() == buf.len() => {
                buf.copy_from_slice(&data);
                Ok(Element { seqno, time_ns: 0 })
            }
            Ok(data) => Err(woof::Error::new(ErrorKind::Protocol, "").detail(format!(
                "the CSPOT host sent {} bytes for a {}-byte element",
                data.len(),
                buf.len()
            ))),
            // Written once (it is not past the latest): overwritten since.
            Err(e) if *e.kind() == ErrorKind::NotFound => Err(woof::Error::new(
                ErrorKind::Evicted {
                    seqno,
                    oldest: seqno + 1,
                },
                "",
            )),
            Err(e) => Err(e.with_context("")),
        }
    }
    fn wait_after(&mut self, after: u64, bound: Option<Duration>) -> Result<u64, Failure> {
        let end = bound.map(|b| Instant::now() + b);
        loop {
            self.latest = self.client.latest()?;
            if self.latest > after || end.is_some_and(|e| Instant::now() >= e) {
                return Ok(self.latest);
            }
            let nap = end.map_or(POLL, |e| {
                POLL.min(e.saturating_duration_since(Instant::now()))
            });
            std::thread::sleep(nap);
        }
    }
    fn info(&mut self) -> Result<Info, Failure> {
        self.latest = self.client.latest()?;
        Ok(Info {
            element_size: self.size as u64,
            history: 0,
            latest: self.latest,
            oldest: u64::from(self.latest > 0),
            durability: Durability::None,
            created_ns: 0,
            schema: Vec::new(),
            file_len: 0,
            incarnation: 0,
        })
    }
}

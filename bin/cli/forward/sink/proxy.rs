//! A woof on another host, through its woof-proxy: the destination keeps a mark per
//! origin under the lock of the append (woof::origins), so it deduplicates by itself
//! and is asked where it is on every connection.

use woof::{Error, ErrorKind};
use woof_net::Uri;
use woof_net::client::{Client, ForwardBatch, Mark, Options};

use super::{Acked, Opening, Outgoing, Sink};
use crate::exit::warn;

pub struct WoofSink {
    uri: Uri,
    options: Options,
    handler: String,
    create: bool,
    client: Option<Client>,
}

impl WoofSink {
    pub fn new(uri: Uri, options: Options, handler: &str, create: bool) -> WoofSink {
        WoofSink {
            uri,
            options,
            handler: handler.to_string(),
            create,
            client: None,
        }
    }

    fn client(&mut self) -> Result<&mut Client, Error> {
        self.client.as_mut().ok_or_else(|| {
            Error::new(ErrorKind::Unavailable, self.uri.to_string()).detail("not connected")
        })
    }
}

impl Sink for WoofSink {
    fn open(&mut self, o: &Opening<'_>) -> Result<Mark, Error> {
        self.client = None;
        let mut client = Client::connect(&self.uri, &self.options)?;
        let h = o.header;
        let (mark, info) = match client.origin(o.origin) {
            Err(e) if *e.kind() == ErrorKind::NotFound && self.create => {
                client.create(
                    u64::from(h.element_size),
                    h.history,
                    Some(h.durability),
                    &h.schema,
                    false,
                )?;
                warn(
                    "woof-forward",
                    &format!("{}: created {} like the source", o.name, self.uri),
                );
                client.origin(o.origin)?
            }
            Err(e) if *e.kind() == ErrorKind::NotFound => {
                return Err(e.detail(
                    "no such destination woof (create it like the source, or give --create)",
                ));
            }
            r => r?,
        };
        if info.element_size != u64::from(h.element_size) {
            return Err(Error::new(
                ErrorKind::Size {
                    expected: info.element_size,
                    got: u64::from(h.element_size),
                },
                self.uri.to_string(),
            )
            .detail(format!(
                "holds {}-byte elements, the source {}-byte ones",
                info.element_size, h.element_size
            )));
        }
        if !h.schema.is_empty() && info.schema != h.schema {
            return Err(
                Error::new(ErrorKind::BadData, self.uri.to_string()).detail(format!(
                    "its schema ({}) is not the source's ({})",
                    String::from_utf8_lossy(&info.schema),
                    String::from_utf8_lossy(&h.schema)
                )),
            );
        }
        self.client = Some(client);
        Ok(mark)
    }

    fn send(&mut self, b: &Outgoing<'_>) -> Result<(), Error> {
        let batch = ForwardBatch {
            origin: b.origin,
            incarnation: b.incarnation,
            first: b.first,
            lost: b.lost,
            reset: b.reset,
            handler: &self.handler,
            durability: None,
            times: b.times,
            data: b.data,
        };
        match self.client.as_mut() {
            Some(c) => c.send_forward(&batch),
            None => {
                Err(Error::new(ErrorKind::Unavailable, self.uri.to_string())
                    .detail("not connected"))
            }
        }
    }

    fn recv(&mut self) -> Result<Acked, Error> {
        let got = self.client()?.recv_forward()?;
        Ok(Acked {
            mark: got.mark,
            appended: got.appended,
            duplicates: got.duplicates,
        })
    }

    fn ping(&mut self, origin: &str) -> Result<Option<Mark>, Error> {
        let (mark, _) = self.client()?.origin(origin)?;
        Ok(Some(mark))
    }

    fn close(&mut self) {
        self.client = None;
    }

    fn deduplicates(&self) -> bool {
        true
    }

    fn counts_gaps(&self) -> bool {
        true
    }
}

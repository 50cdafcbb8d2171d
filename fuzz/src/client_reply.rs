//! Replies as a woof client receives them from whatever answers on the port: the
//! error, info and element decoders. A reply decodes or is a protocol error.

use woof_net::proto::{self, Elements};

pub fn run(data: &[u8]) {
    let Some((&size, rest)) = data.split_first() else {
        return;
    };
    let frames = crate::frames(rest);
    let e = proto::parse_error(&frames);
    // An error from the wire keeps an exit code from the one table.
    assert!((1..=127).contains(&e.kind().exit_code()), "{e}");
    let _ = proto::parse_info(&frames[0]);
    if let Ok(els) = Elements::parse(&frames, usize::from(size)) {
        assert_eq!(els.data.len(), els.meta.len() * usize::from(size));
    }
}

//! The network side of woof that every client tool links: `woof://` URIs, the wire
//! protocols (woof's own and CSPOT's), and a ZMTP 3 client.
//!
//! The client speaks ZMTP itself instead of linking libzmq: Debian's libzmq pulls in
//! twenty shared libraries (Kerberos, PGM, NORM, libstdc++) and costs ~4 ms to load
//! here, against ~0.45 ms for the whole static `woof-put`, and it cannot be linked
//! statically. Only `woof-proxy`, a long-running daemon, links libzmq.

pub mod client;
pub mod cspot_client;
pub mod keys;
pub mod proto;
pub mod uri;

pub use uri::Uri;
pub mod z85;
pub mod zmtp;

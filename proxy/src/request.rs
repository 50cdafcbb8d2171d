//! What serving a request needs, whichever protocol it speaks: the proxy's shared
//! state and the request itself. Both protocols' handlers (ops.rs, cspot.rs) take
//! these; the server (server.rs) builds them and routes to a handler.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::Policy;
use crate::cache::Cache;
use crate::exports::{Endpoint, Export};

/// What every thread reads.
pub struct Shared {
    pub exports: Vec<Export>,
    pub endpoints: Vec<Endpoint>,
    pub policy: Arc<Policy>,
    /// The woofs served, open once for every thread.
    pub cache: Cache,
    /// Longest a follow waits; also how long a reply may wait on a slow client.
    pub follow_cap: Duration,
    /// Whether edges may dial in and be reached as `/@NAME/...` (uplink.rs).
    pub accept_uplinks: bool,
}

/// What a worker needs to serve one request.
pub struct Request<'a> {
    /// Exports served on the endpoint the request came in on.
    pub exports: &'a [usize],
    /// The client's name (CURVE), None without keys.
    pub user: Option<&'a str>,
    pub frames: &'a [Vec<u8>],
}

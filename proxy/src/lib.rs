//! woof-proxy's parts. A library (the binary is `main.rs`) so that the fuzz targets
//! can feed requests to the same handlers the sockets do (`server::answer`).

pub mod args;
pub mod auth;
pub mod cache;
pub mod cspot;
pub mod dialer;
pub mod exports;
pub mod forward;
pub mod link_io;
pub mod ops;
pub mod parker;
pub mod request;
pub mod router;
pub mod server;
pub mod uplink;

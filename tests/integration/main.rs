//! The integration tests: one binary (one link, one process to start), a module
//! per area, every test driving the real binaries. Helpers are in ../util/, split
//! by concern and shared with the benchmarks.

#[path = "../util/mod.rs"]
mod util;

mod bridges;
mod cli_errors;
mod concurrency;
mod crash;
mod cspot_hosts;
mod cspot_protocol;
mod fixtures;
mod follow;
mod follow_retry;
mod forward;
mod generated;
mod handlers;
mod hardening;
mod install;
mod libwoof;
mod ls;
mod mqtt_transports;
mod multihost;
mod network;
mod parked_follows;
mod platform_crash;
mod platform_faults;
mod proxy_fuzz;
mod put_get;
mod scale;
mod sensors;
mod shepherd;
mod soak;
mod typed;
mod uplink;

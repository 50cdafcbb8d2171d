//! The fuzz targets' checks, one module each (fuzz_targets/ only hands libFuzzer's
//! inputs to them), so that `cargo test` replays the committed corpus and every
//! regression input through the same checks without libFuzzer; and how one input
//! becomes the frames of a message.

pub mod client_reply;
pub mod log_records;
pub mod proxy_request;
pub mod records;
pub mod schema;
pub mod seeds;
pub mod woof_file;
pub mod zmtp_client;
pub mod zmtp_server;

/// A target's checks on one input: panics on a finding.
pub type Check = fn(&[u8]);

/// Every target, by the name of its corpus directory.
pub const TARGETS: [(&str, Check); 8] = [
    ("woof_file", woof_file::run),
    ("log_records", log_records::run),
    ("proxy_request", proxy_request::run),
    ("client_reply", client_reply::run),
    ("zmtp_client", zmtp_client::run),
    ("zmtp_server", zmtp_server::run),
    ("schema", schema::run),
    ("records", records::run),
];

/// Frames are separated by the two bytes `\0\xff` (rare in both protocols, easy to
/// write into a seed by hand); an input without one is a single frame.
pub const SEPARATOR: &[u8] = b"\0\xff";

pub fn frames(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(rest[..at].to_vec());
        rest = &rest[at + SEPARATOR.len()..];
    }
    out.push(rest.to_vec());
    out
}

/// The inverse of `frames`, for writing seeds.
pub fn join(frames: &[&[u8]]) -> Vec<u8> {
    frames.join(SEPARATOR)
}

/// Where a seed names the namespace a target serves, whose path differs per run.
pub const NS: &[u8] = b"@NS";

/// `frames`, with `@NS` in each frame replaced by the namespace path `ns`.
pub fn frames_in(data: &[u8], ns: &str) -> Vec<Vec<u8>> {
    let mut out = frames(data);
    for f in &mut out {
        while let Some(at) = f.windows(NS.len()).position(|w| w == NS) {
            f.splice(at..at + NS.len(), ns.bytes());
        }
    }
    out
}

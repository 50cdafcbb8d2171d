//! The 64-byte ZMTP 3 greeting: signature, version, security mechanism, role.

use std::time::Instant;

use super::error::NetError;
use super::wire::Wire;

pub(crate) const LEN: usize = 64;
/// The as-server byte after the mechanism name: 1 from a server.
pub(crate) const AS_SERVER: usize = 32;
/// Signature (10) + major version: enough to tell a ZMTP 3 peer from anything else
/// before waiting for the rest, which an older peer would never send.
pub(crate) const HEAD: usize = 11;

/// Our greeting: ZMTP 3.1 (libzmq 4.3 speaks 3.1 and accepts 3.0), client role.
pub(crate) fn ours(mechanism: &str) -> [u8; LEN] {
    let mut g = [0u8; LEN];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    let name = mechanism.as_bytes();
    let n = name.len().min(20);
    g[12..12 + n].copy_from_slice(&name[..n]);
    g
}

/// What a peer's greeting says.
#[derive(Debug)]
pub(crate) struct Peer {
    pub mechanism: String,
    /// The minor version: 3.0 peers never send (nor get) ERROR or PING.
    pub minor: u8,
}

/// Checks the greeting bytes a `peer` ("server", "client") sent so far: an error as
/// soon as the signature or version is wrong, the greeting once all 64 bytes are in.
pub(crate) fn check(g: &[u8], peer: &str) -> Result<Option<Peer>, NetError> {
    // libzmq puts a length in bytes 1-8 (for ZMTP 1.0 compatibility): only the first
    // byte and the low bit of the tenth are fixed.
    if g.first().is_some_and(|&b| b != 0xff) || g.get(9).is_some_and(|&b| b & 1 == 0) {
        return Err(NetError::protocol(format!(
            "not a ZMTP {peer} (bad greeting signature)"
        )));
    }
    if let Some(&major) = g.get(10)
        && major < 3
    {
        return Err(NetError::protocol(format!(
            "{peer} speaks ZMTP revision {major}, woof needs ZMTP 3"
        )));
    }
    if g.len() < LEN {
        return Ok(None);
    }
    Ok(Some(Peer {
        mechanism: parse_mechanism(&g[12..32])?,
        minor: g[11],
    }))
}

pub(crate) fn read(wire: &mut Wire, deadline: Instant) -> Result<Peer, NetError> {
    // The TCP connection is up (the kernel accepted it), so the server is there but
    // silent: say what usually causes that.
    const DOING: &str = "waiting for the server's greeting (it accepted the connection \
         but did not answer: overloaded, out of descriptors, or not a woof-proxy)";
    let mut g = [0u8; LEN];
    wire.read_exact(&mut g[..HEAD], deadline, DOING)?;
    check(&g[..HEAD], "server")?;
    wire.read_exact(&mut g[HEAD..], deadline, DOING)?;
    check(&g, "server")?.ok_or_else(|| NetError::protocol("short greeting"))
}

/// A mechanism name: printable ASCII (RFC 23 allows upper case, digits, `-_.+`),
/// padded with NULs.
fn parse_mechanism(field: &[u8]) -> Result<String, NetError> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let (name, pad) = field.split_at(end);
    let valid = !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.+".contains(&b))
        && pad.iter().all(|&b| b == 0);
    if !valid {
        return Err(NetError::protocol(format!(
            "bad mechanism name in greeting ({})",
            field.escape_ascii()
        )));
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_greeting_layout() {
        let g = ours("CURVE");
        assert_eq!(&g[..12], b"\xff\0\0\0\0\0\0\0\0\x7f\x03\x01");
        assert_eq!(&g[12..18], b"CURVE\0");
        assert!(g[32..].iter().all(|&b| b == 0));
    }

    #[test]
    fn mechanism_names() {
        let mut f = [0u8; 20];
        f[..4].copy_from_slice(b"NULL");
        assert_eq!(parse_mechanism(&f).ok().as_deref(), Some("NULL"));
        f[6] = b'X';
        assert!(parse_mechanism(&f).is_err());
        assert!(parse_mechanism(&[0u8; 20]).is_err());
    }
}

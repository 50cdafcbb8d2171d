//! READY metadata (RFC 23): properties of a 1-byte name length, the name, a 4-byte
//! big-endian value length and the value. We send `Socket-Type: DEALER`; libzmq checks
//! it against its own type, and we check the server's the same way.

use super::error::NetError;

pub(crate) const OUR_SOCKET_TYPE: &[u8] = b"DEALER";
/// Socket types a DEALER may talk to (ZMTP RFC 28).
const PEER_SOCKET_TYPES: [&[u8]; 3] = [b"ROUTER", b"DEALER", b"REP"];

pub(crate) fn put_property(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    // Names and values here are our own short constants.
    let name_len = u8::try_from(name.len()).unwrap_or(u8::MAX);
    out.push(name_len);
    out.extend_from_slice(&name[..usize::from(name_len)]);
    out.extend_from_slice(&u32::try_from(value.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&value[..value.len().min(u32::MAX as usize)]);
}

/// Our READY metadata as a client.
pub(crate) fn ours() -> Vec<u8> {
    of_type(OUR_SOCKET_TYPE)
}

/// READY metadata naming a socket type.
pub(crate) fn of_type(socket_type: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    put_property(&mut out, b"Socket-Type", socket_type);
    out
}

/// Parses the server's metadata and checks its socket type, if it names one.
pub(crate) fn check_server(data: &[u8]) -> Result<(), NetError> {
    check_peer(data, &PEER_SOCKET_TYPES, "server", "a DEALER")
}

/// Parses the metadata of a `peer` ("server", "client") and checks its socket type,
/// if it names one, against the types `we` (a DEALER, a ROUTER) can talk to.
pub(crate) fn check_peer(
    mut data: &[u8],
    allowed: &[&[u8]],
    peer: &str,
    we: &str,
) -> Result<(), NetError> {
    let malformed = || NetError::protocol(format!("malformed metadata in the {peer}'s READY"));
    while let Some((&name_len, rest)) = data.split_first() {
        let name_len = usize::from(name_len);
        if name_len == 0 || rest.len() < name_len + 4 {
            return Err(malformed());
        }
        let (name, rest) = rest.split_at(name_len);
        let (len, rest) = rest.split_at(4);
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        let len = usize::try_from(len).map_err(|_| malformed())?;
        if rest.len() < len {
            return Err(malformed());
        }
        let (value, rest) = rest.split_at(len);
        if name.eq_ignore_ascii_case(b"Socket-Type") && !allowed.contains(&value) {
            return Err(NetError::protocol(format!(
                "{peer} socket type {} cannot talk to {we}",
                value.escape_ascii()
            )));
        }
        data = rest;
    }
    Ok(())
}

/// The reason in an ERROR command (a 1-byte length and text), for the user.
pub(crate) fn error_reason(data: &[u8]) -> String {
    let text = match data.split_first() {
        Some((&len, rest)) => &rest[..usize::from(len).min(rest.len())],
        None => &[][..],
    };
    // libzmq passes on the ZAP status code (RFC 27) as the reason.
    match text {
        b"" => "server sent an error without a reason".to_string(),
        b"400" => "server refused our credentials (400)".to_string(),
        b"300" => "server cannot authenticate us right now (300)".to_string(),
        b"500" => "server failed to authenticate us (500)".to_string(),
        other => format!("server said {}", other.escape_ascii()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trip_and_socket_types() {
        assert_eq!(ours(), b"\x0bSocket-Type\0\0\0\x06DEALER");
        let mut router = Vec::new();
        put_property(&mut router, b"socket-type", b"ROUTER");
        put_property(&mut router, b"Identity", b"");
        assert!(check_server(&router).is_ok());
        let mut publ = Vec::new();
        put_property(&mut publ, b"Socket-Type", b"PUB");
        assert!(check_server(&publ).is_err());
        assert!(check_server(b"\x05Abc").is_err());
        assert!(check_server(b"\x01A\0\0\0\x09x").is_err());
    }

    #[test]
    fn error_reasons() {
        assert_eq!(
            error_reason(b"\x03400"),
            "server refused our credentials (400)"
        );
        assert_eq!(error_reason(b"\x09ab"), "server said ab");
        assert!(error_reason(b"").contains("without a reason"));
    }
}

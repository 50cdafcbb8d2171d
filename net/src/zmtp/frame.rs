//! ZMTP 3 framing (RFC 23): a flags byte, a 1- or 8-byte big-endian size, the body.
//! Commands are frames with the COMMAND flag whose body is a 1-byte name length, the
//! name, and the command's data.

use std::time::Instant;

use super::error::NetError;
use super::wire::Wire;

pub(crate) const FLAG_MORE: u8 = 0x01;
pub(crate) const FLAG_LONG: u8 = 0x02;
pub(crate) const FLAG_COMMAND: u8 = 0x04;
/// Bits 3-7 are reserved and must be zero.
const FLAG_RESERVED: u8 = !(FLAG_MORE | FLAG_LONG | FLAG_COMMAND);

/// Appends a frame header for a body of `len` bytes; a long size only when needed.
pub(crate) fn put_header(out: &mut Vec<u8>, flags: u8, len: usize) {
    match u8::try_from(len) {
        Ok(short) => {
            out.push(flags);
            out.push(short);
        }
        Err(_) => {
            out.push(flags | FLAG_LONG);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// Appends a whole frame.
pub(crate) fn put_frame(out: &mut Vec<u8>, flags: u8, body: &[u8]) {
    put_header(out, flags, body.len());
    out.extend_from_slice(body);
}

/// Appends a command frame: `name` (at most 255 bytes, ours are constants) and `data`.
pub(crate) fn put_command(out: &mut Vec<u8>, name: &[u8], data: &[u8]) {
    let name_len = u8::try_from(name.len()).unwrap_or(u8::MAX);
    let name = &name[..usize::from(name_len)];
    put_header(out, FLAG_COMMAND, 1 + name.len() + data.len());
    out.push(name_len);
    out.extend_from_slice(name);
    out.extend_from_slice(data);
}

/// Refuses reserved flag bits and a command with MORE.
pub(crate) fn check_flags(flags: u8) -> Result<(), NetError> {
    if flags & FLAG_RESERVED != 0 {
        return Err(NetError::protocol(format!(
            "frame with reserved flag bits set ({flags:#04x})"
        )));
    }
    if flags & FLAG_COMMAND != 0 && flags & FLAG_MORE != 0 {
        return Err(NetError::protocol("command frame with the MORE flag"));
    }
    Ok(())
}

/// Reads one frame into `body` (replacing its contents) and returns its flags.
/// Bodies over `max` bytes are refused before anything is allocated for them.
pub(crate) fn read_frame(
    wire: &mut Wire,
    body: &mut Vec<u8>,
    max: usize,
    deadline: Instant,
    doing: &str,
) -> Result<u8, NetError> {
    let flags = wire.read_u8(deadline, doing)?;
    check_flags(flags)?;
    let size = if flags & FLAG_LONG != 0 {
        let mut eight = [0u8; 8];
        wire.read_exact(&mut eight, deadline, doing)?;
        u64::from_be_bytes(eight)
    } else {
        u64::from(wire.read_u8(deadline, doing)?)
    };
    let size = match usize::try_from(size) {
        Ok(n) if n <= max => n,
        _ => {
            return Err(NetError::protocol(format!(
                "frame of {size} bytes exceeds the limit of {max}"
            )));
        }
    };
    wire.read_vec(body, size, deadline, doing)?;
    Ok(flags & !FLAG_LONG)
}

/// A command's name and data, borrowed from a frame body.
pub(crate) struct Command<'a> {
    pub name: &'a [u8],
    pub data: &'a [u8],
}

pub(crate) fn parse_command(body: &[u8]) -> Result<Command<'_>, NetError> {
    let Some((&name_len, rest)) = body.split_first() else {
        return Err(NetError::protocol("empty command frame"));
    };
    let name_len = usize::from(name_len);
    if name_len == 0 || rest.len() < name_len {
        return Err(NetError::protocol("malformed command frame"));
    }
    let (name, data) = rest.split_at(name_len);
    Ok(Command { name, data })
}

/// The PONG answering a command, when it is a PING (a ZMTP 3.1 heartbeat: 2-byte
/// TTL, then up to 16 bytes of context to echo); None for any other command.
pub(crate) fn pong(body: &[u8]) -> Result<Option<Vec<u8>>, NetError> {
    let cmd = parse_command(body)?;
    if cmd.name != b"PING" {
        return Ok(None);
    }
    let context = cmd.data.get(2..).unwrap_or(&[]);
    let mut pong = b"\x04PONG".to_vec();
    pong.extend_from_slice(&context[..context.len().min(16)]);
    Ok(Some(pong))
}

/// Command names in error messages: printable ASCII or escaped.
pub(crate) fn show(name: &[u8]) -> String {
    name.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_switch_to_long_above_255() {
        let mut out = Vec::new();
        put_header(&mut out, FLAG_MORE, 255);
        assert_eq!(out, [0x01, 0xff]);
        out.clear();
        put_header(&mut out, 0, 256);
        assert_eq!(out, [0x02, 0, 0, 0, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn commands_parse_back() {
        let mut out = Vec::new();
        put_command(&mut out, b"READY", b"xy");
        assert_eq!(&out[..2], [FLAG_COMMAND, 8]);
        let cmd = parse_command(&out[2..]).ok();
        assert!(cmd.is_some_and(|c| c.name == b"READY" && c.data == b"xy"));
        assert!(parse_command(b"").is_err());
        assert!(parse_command(b"\x05RE").is_err());
    }
}

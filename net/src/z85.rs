//! Z85 (ZeroMQ RFC 32): the text form of CURVE keys, 5 characters for every 4 bytes,
//! so a 32-byte key is the 40 characters `zmq_curve_keypair` and `curve_keygen` print.
//! The coding is the z85 crate's; this module holds woof's errors and the key forms.

use std::fmt;

/// Why a Z85 conversion failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Z85Error {
    /// Binary input must be a multiple of 4 bytes, text a multiple of 5 characters.
    Length(usize),
    /// A character outside the Z85 alphabet, at this byte offset.
    Char(usize),
    /// Five characters whose value does not fit in 32 bits, starting at this offset.
    Overflow(usize),
    /// A key must be exactly 32 bytes (40 characters).
    KeyLength(usize),
}

impl fmt::Display for Z85Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Z85Error::Length(n) => write!(
                f,
                "z85: length {n} is not a multiple of 4 bytes (5 characters)"
            ),
            Z85Error::Char(at) => write!(f, "z85: invalid character at offset {at}"),
            Z85Error::Overflow(at) => write!(f, "z85: group at offset {at} overflows 32 bits"),
            Z85Error::KeyLength(n) => {
                write!(f, "z85: a key is 40 characters (32 bytes), got {n} bytes")
            }
        }
    }
}

impl std::error::Error for Z85Error {}

/// Encodes `data`, whose length must be a multiple of 4 (the z85 crate would pad
/// other lengths, which ZeroMQ's Z85 does not have).
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if !data.len().is_multiple_of(4) {
        return Err(Z85Error::Length(data.len()));
    }
    Ok(z85::encode(data))
}

/// Decodes `text`, whose length must be a multiple of 5.
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let n = text.len();
    if !n.is_multiple_of(5) {
        return Err(Z85Error::Length(n));
    }
    // The crate reads a last group that starts with '#' as its own padding; in Z85
    // such a group (84 × 85⁴ and up) overflows 32 bits, so it is that error here.
    let tail = Z85Error::Overflow(n.saturating_sub(5));
    let out = z85::decode(text).map_err(|e| match e {
        z85::DecodeError::InvalidByte(at, _) => Z85Error::Char(at),
        z85::DecodeError::InvalidChunk(at) => Z85Error::Overflow(at),
        z85::DecodeError::InvalidLength(_) => Z85Error::Length(n),
        z85::DecodeError::InvalidTail => tail.clone(),
    })?;
    if out.len() != n / 5 * 4 {
        return Err(tail);
    }
    Ok(out)
}

/// Encodes a 32-byte CURVE key as its 40-character text.
pub fn encode_key(key: &[u8; 32]) -> String {
    // 32 is a multiple of 4, so this cannot fail; avoid unwrap anyway.
    encode(key).unwrap_or_default()
}

/// Decodes a 40-character CURVE key.
pub fn decode_key(text: &str) -> Result<[u8; 32], Z85Error> {
    let bytes = decode(text.trim())?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| Z85Error::KeyLength(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc32_vector() {
        let bin = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&bin), Ok("HelloWorld".to_string()));
        assert_eq!(decode("HelloWorld"), Ok(bin.to_vec()));
    }

    #[test]
    fn round_trips_and_rejects() {
        let data: Vec<u8> = (0..=255u8).collect();
        let text = encode(&data).unwrap_or_default();
        assert_eq!(decode(&text), Ok(data));
        assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::Length(3)));
        assert_eq!(decode("abcd"), Err(Z85Error::Length(4)));
        assert_eq!(decode("abc d"), Err(Z85Error::Char(3)));
        assert_eq!(decode("#####"), Err(Z85Error::Overflow(0)));
        assert_eq!(decode("HelloWorld#0000"), Err(Z85Error::Overflow(10)));
        assert_eq!(decode("%nSc0"), Ok(vec![0xff; 4]));
        let key = [7u8; 32];
        assert_eq!(decode_key(&encode_key(&key)), Ok(key));
        assert_eq!(decode_key("HelloWorld"), Err(Z85Error::KeyLength(8)));
    }
}

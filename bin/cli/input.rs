//! Reading elements from stdin as they arrive: fixed-size records (`--batch`) or
//! lines (`--lines`). Each `read` hands back every whole element that has arrived,
//! never waiting for more, so a pipeline forwards live.

use std::io::{self, Read};

/// How stdin is cut into elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Consecutive records of exactly the element size.
    Fixed,
    /// One element per line (the newline is not part of it).
    Lines,
}

/// A chunked reader that yields whole elements.
pub struct Chunks<R: Read> {
    src: R,
    buf: Vec<u8>,
    /// Bytes of `buf` holding data; `start..filled` not yet handed out.
    start: usize,
    filled: usize,
    eof: bool,
    framing: Framing,
    element_size: usize,
    /// Line number of the next line handed out (Lines framing).
    pub line_no: u64,
}

const CHUNK: usize = 1 << 20;

impl<R: Read> Chunks<R> {
    pub fn new(src: R, framing: Framing, element_size: usize) -> Chunks<R> {
        // Room for at least one whole element (or an over-long line plus its newline).
        let cap = CHUNK.max(element_size * 2 + 2);
        Chunks {
            src,
            buf: vec![0; cap],
            start: 0,
            filled: 0,
            eof: false,
            framing,
            element_size,
            line_no: 1,
        }
    }

    /// Reads once more from the source (blocking until something arrives). Returns
    /// false once end of input was already reached; take the elements that arrived
    /// with `next_element`.
    pub fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.buf.len() {
            // Only possible for a line longer than the buffer: grow to find its end.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            // A signal caught while waiting elsewhere (a poll before this read)
            // must not leave us blocked here. (One landing between this check and
            // the read is only seen at the next input: a window of microseconds.)
            if woof_process::interrupted().is_some() {
                return Err(io::ErrorKind::Interrupted.into());
            }
            match self.src.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(true);
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(true);
                }
                // A signal catch_interrupts caught ends the read (above); any other
                // interruption is retried.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next whole element already buffered, if any. In Lines framing the last
    /// line counts at end of input even without a newline.
    pub fn next_element(&mut self) -> Option<&[u8]> {
        let pending = &self.buf[self.start..self.filled];
        match self.framing {
            Framing::Fixed => {
                if pending.len() < self.element_size {
                    return None;
                }
                let s = self.start;
                self.start += self.element_size;
                Some(&self.buf[s..s + self.element_size])
            }
            Framing::Lines => {
                let (len, used) = match memchr(pending) {
                    Some(i) => (i, i + 1),
                    None if self.eof && !pending.is_empty() => (pending.len(), pending.len()),
                    None => return None,
                };
                let s = self.start;
                self.start += used;
                self.line_no += 1;
                // CRLF input (a file from Windows, a serial console): the CR is
                // not part of the line.
                let len = if self.buf[s..s + len].ends_with(b"\r") {
                    len - 1
                } else {
                    len
                };
                Some(&self.buf[s..s + len])
            }
        }
    }

    /// Bytes left over after the last whole element at end of input.
    pub fn leftover(&self) -> usize {
        self.filled - self.start
    }

    pub fn at_eof(&self) -> bool {
        self.eof
    }
}

fn memchr(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(framing: Framing, size: usize, input: &[u8]) -> (Vec<Vec<u8>>, usize) {
        let mut c = Chunks::new(input, framing, size);
        let mut out = Vec::new();
        while c.fill().expect("fill") {
            while let Some(e) = c.next_element() {
                out.push(e.to_vec());
            }
            if c.at_eof() {
                break;
            }
        }
        (out, c.leftover())
    }

    #[test]
    fn fixed_records_and_leftover() {
        let (els, left) = all(Framing::Fixed, 3, b"abcdefgh");
        assert_eq!(els, vec![b"abc".to_vec(), b"def".to_vec()]);
        assert_eq!(left, 2);
    }

    #[test]
    fn lines_with_and_without_final_newline() {
        let (els, left) = all(Framing::Lines, 8, b"1\n22\n\n333");
        assert_eq!(
            els,
            vec![b"1".to_vec(), b"22".to_vec(), b"".to_vec(), b"333".to_vec()]
        );
        assert_eq!(left, 0);
    }
}

//! The handler the bench's handler rows run: a small static binary, like a C handler
//! linked with `gcc -static`. The bench compiles it itself (`rustc`, crt-static,
//! panic=abort, no PIE); it is not a cargo target.
//!
//! `#![no_std]`, `#![no_main]`: plain static glibc and nothing else, so its start-up
//! is a C program's (a std Rust binary starts ~0.15 ms slower here) and the clock is
//! read first thing in `main`. What it does depends on `WOOF_HANDLER` (the shepherd
//! sets it to the handler's name; the bench's baseline spawns set it by hand):
//!
//! - `stamp`: reads the clock, then the element on stdin, and writes one record to
//!   `$WOOF_NAMESPACE/bench.fifo`.
//! - `noop`: exits 0 at once.
//! - `persist` (a persistent handler): for each frame on stdin (`WOOF SEQNO LEN
//!   TRIGGER\n`, then LEN bytes), reads the clock once the whole frame is in, then
//!   writes one record to the FIFO; exits 0 at end of input.
//!
//! A record is 32 bytes, four little-endian u64: the clock (CLOCK_REALTIME, ns since
//! the Unix epoch), the element's seqno, the put time (`WOOF_TIMESTAMP`; the trigger
//! seqno for `persist`), and the element's last 8 bytes. Exit status 2: unknown
//! WOOF_HANDLER; 3: reading stdin failed; 4: writing the FIFO failed; 5: bad frame.

#![no_std]
#![no_main]

use core::ffi::{c_char, c_int, c_long, c_void};

#[repr(C)]
struct Timespec {
    tv_sec: c_long,
    tv_nsec: c_long,
}

// Static glibc needs libgcc's unwinder symbols even though nothing here unwinds.
#[link(name = "c")]
#[link(name = "gcc_eh")]
#[link(name = "gcc")]
unsafe extern "C" {
    fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    fn getenv(name: *const c_char) -> *const c_char;
    fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
    fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
    fn abort() -> !;
    fn __errno_location() -> *mut c_int;
}

const CLOCK_REALTIME: c_int = 0;
const O_WRONLY: c_int = 1;
const O_CLOEXEC: c_int = 0o2000000;
const EINTR: c_int = 4;

/// libcore refers to it; with panic=abort nothing calls it.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    unsafe { abort() }
}

fn now_ns() -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { clock_gettime(CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The value of environment variable `name` (NUL-terminated), without its NUL.
fn env(name: &[u8]) -> &'static [u8] {
    let p = unsafe { getenv(name.as_ptr().cast()) };
    if p.is_null() {
        return &[];
    }
    let mut n = 0;
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    unsafe { core::slice::from_raw_parts(p.cast(), n) }
}

fn parse(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

fn record(clock: u64, seqno: u64, third: u64, element: &[u8]) -> [u8; 32] {
    let mut rec = [0u8; 32];
    rec[..8].copy_from_slice(&clock.to_le_bytes());
    rec[8..16].copy_from_slice(&seqno.to_le_bytes());
    rec[16..24].copy_from_slice(&third.to_le_bytes());
    if element.len() >= 8 {
        rec[24..].copy_from_slice(&element[element.len() - 8..]);
    }
    rec
}

/// Opens `$WOOF_NAMESPACE/bench.fifo` for writing.
fn fifo() -> Option<c_int> {
    const NAME: &[u8] = b"/bench.fifo\0";
    let dir = env(b"WOOF_NAMESPACE\0");
    let mut path = [0u8; 4096];
    if dir.is_empty() || dir.len() + NAME.len() > path.len() {
        return None;
    }
    path[..dir.len()].copy_from_slice(dir);
    path[dir.len()..dir.len() + NAME.len()].copy_from_slice(NAME);
    let fd = unsafe { open(path.as_ptr().cast(), O_WRONLY | O_CLOEXEC) };
    (fd >= 0).then_some(fd)
}

fn write_all(fd: c_int, data: &[u8]) -> bool {
    let mut off = 0;
    while off < data.len() {
        let n = unsafe { write(fd, data[off..].as_ptr().cast(), data.len() - off) };
        if n <= 0 {
            return false;
        }
        off += n as usize;
    }
    true
}

/// Reads from fd 0 into `buf`; 0 at end of input, negative on error.
fn read_in(buf: &mut [u8]) -> isize {
    loop {
        let n = unsafe { read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 || unsafe { *__errno_location() } != EINTR {
            return n;
        }
    }
}

fn stamp(start: u64) -> c_int {
    let mut element = [0u8; 65536];
    let mut len = 0;
    loop {
        let n = read_in(&mut element[len..]);
        if n < 0 {
            return 3;
        }
        if n == 0 || len + n as usize == element.len() {
            len += n as usize;
            break;
        }
        len += n as usize;
    }
    let seqno = parse(env(b"WOOF_SEQNO\0")).unwrap_or(0);
    let put = parse(env(b"WOOF_TIMESTAMP\0")).unwrap_or(0);
    let rec = record(start, seqno, put, &element[..len]);
    match fifo() {
        Some(fd) if write_all(fd, &rec) => 0,
        _ => 4,
    }
}

/// Buffered stdin for the frames of a persistent handler.
struct Input {
    buf: [u8; 1 << 16],
    start: usize,
    end: usize,
}

impl Input {
    /// Makes at least `n` bytes available; false at end of input or on error.
    fn fill(&mut self, n: usize) -> bool {
        if self.end - self.start >= n {
            return true;
        }
        if n > self.buf.len() {
            return false;
        }
        if self.start + n > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < n {
            let got = read_in(&mut self.buf[self.end..]);
            if got <= 0 {
                return false;
            }
            self.end += got as usize;
        }
        true
    }

    /// The next line without its newline; None at end of input.
    fn line(&mut self) -> Option<(usize, usize)> {
        let mut scanned = 0;
        loop {
            if let Some(i) = self.buf[self.start + scanned..self.end]
                .iter()
                .position(|&c| c == b'\n')
            {
                let line = (self.start, self.start + scanned + i);
                self.start += scanned + i + 1;
                return Some(line);
            }
            scanned = self.end - self.start;
            if !self.fill(scanned + 1) {
                return None;
            }
        }
    }
}

fn persist() -> c_int {
    let Some(out) = fifo() else { return 4 };
    let mut input = Input {
        buf: [0; 1 << 16],
        start: 0,
        end: 0,
    };
    loop {
        let Some((a, b)) = input.line() else {
            return if input.end == input.start { 0 } else { 5 };
        };
        // WOOF SEQNO LEN TRIGGER
        let mut fields = [(0usize, 0usize); 4];
        let mut count = 0;
        let mut from = a;
        for i in a..=b {
            if i == b || input.buf[i] == b' ' {
                if count == 4 {
                    return 5;
                }
                fields[count] = (from, i);
                count += 1;
                from = i + 1;
            }
        }
        let field = |k: usize| parse(&input.buf[fields[k].0..fields[k].1]);
        let (Some(seqno), Some(len), Some(trigger)) = (field(1), field(2), field(3)) else {
            return 5;
        };
        let len = len as usize;
        if count != 4 || !input.fill(len) {
            return 5;
        }
        let clock = now_ns();
        let rec = record(
            clock,
            seqno,
            trigger,
            &input.buf[input.start..input.start + len],
        );
        input.start += len;
        if !write_all(out, &rec) {
            return 4;
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    let start = now_ns();
    match env(b"WOOF_HANDLER\0") {
        b"stamp" => stamp(start),
        b"noop" => 0,
        b"persist" => persist(),
        _ => 2,
    }
}

//! A CSPOT host for the tests, written from CSPOT's message catalogue
//! (cspot-spec §4.5) with libzmq's ROUTER: tags 1 (put), 2 (element size), 3 (get)
//! and 5 (latest), string frames with a trailing NUL tolerated, 2^64-1 for
//! failures, an empty frame for a get it cannot answer, and silence for anything
//! it cannot parse (woof's own requests among them), as CSPOT's server does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::free_port;

/// One woof of the host: its element size, ring size and elements put (seqno i+1).
struct Held {
    size: usize,
    history: usize,
    elements: Vec<Vec<u8>>,
}

pub struct CspotServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The woofs, kept across `restart`.
    held: Arc<Mutex<HashMap<String, Held>>>,
    /// "put NAME HANDLER" for each put, in order (HANDLER empty for none).
    pub puts: Arc<Mutex<Vec<String>>>,
    /// Requests left unanswered (not a CSPOT tag).
    pub ignored: Arc<Mutex<u64>>,
}

fn text(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame)
        .trim_end_matches('\0')
        .to_string()
}

impl CspotServer {
    /// Serves `woofs` (name, element size, history) on a free loopback port.
    pub fn start(woofs: &[(&str, usize, usize)]) -> CspotServer {
        let held = woofs
            .iter()
            .map(|(n, size, history)| {
                (
                    n.to_string(),
                    Held {
                        size: *size,
                        history: *history,
                        elements: Vec::new(),
                    },
                )
            })
            .collect();
        let mut server = CspotServer {
            port: free_port(),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
            held: Arc::new(Mutex::new(held)),
            puts: Arc::new(Mutex::new(Vec::new())),
            ignored: Arc::new(Mutex::new(0)),
        };
        server.serve();
        server
    }

    /// Stops serving (the port closes), then serves again on the same port with
    /// the same woofs, as a host that restarts its platform.
    pub fn restart(&mut self, down: std::time::Duration) {
        self.halt();
        std::thread::sleep(down);
        self.serve();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn serve(&mut self) {
        let ctx = zmq::Context::new();
        let sock = ctx.socket(zmq::ROUTER).expect("ROUTER");
        sock.set_linger(0).expect("linger");
        let endpoint = format!("tcp://127.0.0.1:{}", self.port);
        // The port of the previous run may take a moment to be free.
        let bound = super::wait_until(std::time::Duration::from_secs(5), || {
            sock.bind(&endpoint).is_ok()
        });
        assert!(bound, "bind {endpoint}");
        self.stop = Arc::new(AtomicBool::new(false));
        let (stop, puts, ignored, held) = (
            Arc::clone(&self.stop),
            Arc::clone(&self.puts),
            Arc::clone(&self.ignored),
            Arc::clone(&self.held),
        );
        self.thread = Some(std::thread::spawn(move || {
            let _ctx = ctx;
            while !stop.load(Ordering::Relaxed) {
                if sock.poll(zmq::POLLIN, 50).unwrap_or(0) == 0 {
                    continue;
                }
                let Ok(msg) = sock.recv_multipart(0) else {
                    continue;
                };
                match answer(&msg, &mut held.lock().expect("lock"), &puts) {
                    Some(reply) => {
                        let _ = sock.send_multipart([msg[0].as_slice(), b"", &reply], 0);
                    }
                    None => *ignored.lock().expect("lock") += 1,
                }
            }
        }));
    }

    /// `SCHEME://127.0.0.1:PORT/srv/cspot/NAME`.
    pub fn uri(&self, scheme: &str, name: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/srv/cspot/{name}", self.port)
    }
}

/// The reply to one request, or None for what CSPOT leaves unanswered.
fn answer(
    msg: &[Vec<u8>],
    held: &mut HashMap<String, Held>,
    puts: &Mutex<Vec<String>>,
) -> Option<Vec<u8>> {
    // [identity, empty delimiter, tag, woof URI, args...]
    let (tag, uri) = (msg.get(2)?, msg.get(3)?);
    let tag = text(tag).parse::<u32>().ok()?;
    let uri = text(uri);
    let name = uri.rsplit('/').next().unwrap_or("").to_string();
    let w = held.get_mut(&name);
    let fail = u64::MAX.to_string().into_bytes();
    let reply: Vec<u8> = match (tag, w) {
        (1, Some(w)) => {
            let handler = msg.get(4).map(|h| text(h)).unwrap_or_default();
            match msg.get(5) {
                Some(data) if data.len() == w.size => {
                    w.elements.push(data.clone());
                    puts.lock()
                        .expect("lock")
                        .push(format!("put {name} {handler}"));
                    w.elements.len().to_string().into_bytes()
                }
                _ => fail,
            }
        }
        (2, Some(w)) => w.size.to_string().into_bytes(),
        (3, Some(w)) => {
            let latest = w.elements.len();
            let seq: usize = msg.get(4).and_then(|s| text(s).parse().ok()).unwrap_or(0);
            let seq = if seq == 0 { latest } else { seq };
            if seq >= 1 && seq <= latest && latest - seq < w.history {
                w.elements[seq - 1].clone()
            } else {
                Vec::new()
            }
        }
        (5, Some(w)) => w.elements.len().to_string().into_bytes(),
        (1 | 2 | 5, None) => fail,
        (3, None) => Vec::new(),
        _ => return None,
    };
    let mut out = reply;
    // CSPOT 2.0 sends strings with their NUL; elements as they are.
    if tag != 3 {
        out.push(0);
    }
    Some(out)
}

impl Drop for CspotServer {
    fn drop(&mut self) {
        self.halt();
    }
}

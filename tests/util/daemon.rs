//! Children a test steers: bounded waits, signals, a child whose output lines
//! arrive on a channel, and running woof-platform and woof-proxy daemons, each
//! killed in `Drop`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::*;

// ---------------------------------------------------------------------------
// Children a test steers.

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for `child` for at most `limit`; kills it and panics on timeout.
pub fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends SIGKILL to one child, by its pid.
pub fn sigkill(child: &Child) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
}

/// A running child whose stdout lines arrive on a channel (read by a thread, so a
/// test can wait with a bound) and whose stderr is collected. Killed on drop.
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Spawns `cmd` with stdout and stderr piped (stdin as the command has it).
    pub fn spawn(mut cmd: std::process::Command) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut err = err;
            let mut buf = [0u8; 4096];
            loop {
                match err.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink
                        .lock()
                        .expect("stderr lock")
                        .extend_from_slice(&buf[..n]),
                }
            }
        });
        Running {
            child,
            lines,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// The child's stdin, when the command was given `Stdio::piped()` for it.
    pub fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin was piped")
    }

    /// The next stdout line; panics when none arrives within `limit` (or at EOF).
    pub fn line(&self, limit: Duration) -> String {
        match self.lines.recv_timeout(limit) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => panic!(
                "no output line within {limit:?}; stderr so far: {:?}",
                self.stderr_text()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("output ended; stderr: {:?}", self.stderr_text())
            }
        }
    }

    /// The next line if one arrives within `limit`, None on timeout or EOF.
    pub fn try_line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr lock")).into_owned()
    }

    /// SIGKILLs the child, reaps it, and returns every stdout line it had printed
    /// that was not yet taken.
    pub fn kill_and_drain(&mut self) -> Vec<String> {
        sigkill(&self.child);
        let _ = self.child.wait();
        self.join_readers();
        self.lines.try_iter().collect()
    }

    /// Waits (bounded) for the child to exit; returns its status and the rest of its output.
    pub fn finish(&mut self, limit: Duration) -> (ExitStatus, Vec<String>) {
        let status = wait_bounded(&mut self.child, limit, "child");
        self.join_readers();
        (status, self.lines.try_iter().collect())
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            sigkill(&self.child);
        }
        let _ = self.child.wait();
    }
}

/// Kills (SIGKILL) and reaps a child when dropped, so a failing test leaves no
/// process behind.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            sigkill(&self.0);
        }
        let _ = self.0.wait();
    }
}

/// Whether process `pid` is gone (no such process, or a zombie nobody reaped).
pub fn pid_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Sends `sig` to a process by pid (no error if it is gone).
pub fn signal_pid(pid: u32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
}

/// A running `woof-platform`: stdout lines on a channel, stderr collected. Dropping
/// it sends SIGTERM and waits (bounded) so its handlers' process groups are killed
/// too; SIGKILL if it does not stop.
pub struct Platform {
    pub run: Running,
}

impl Platform {
    /// Spawns `cmd` and waits (bounded) for "woof-platform: serving" on stderr.
    pub fn start(cmd: std::process::Command) -> Platform {
        Platform::try_start(cmd)
            .unwrap_or_else(|err| panic!("woof-platform did not become ready: {err:?}"))
    }

    /// As `start`, but returns what it printed on stderr if it did not become ready.
    pub fn try_start(cmd: std::process::Command) -> Result<Platform, String> {
        let mut p = Platform {
            run: Running::spawn(cmd),
        };
        wait_until(PROMPT, || {
            p.stderr_text().contains("woof-platform: serving ") || !p.run.is_running()
        });
        if p.stderr_text().contains("woof-platform: serving ") {
            return Ok(p);
        }
        // Exited (or hung): collect all it printed before judging.
        if p.run.is_running() {
            p.kill();
        }
        let (status, _) = p.run.finish(PROMPT);
        Err(format!("{}(status {status:?})", p.stderr_text()))
    }

    pub fn pid(&self) -> u32 {
        self.run.child.id()
    }

    pub fn stderr_text(&self) -> String {
        self.run.stderr_text()
    }

    /// Waits (bounded) until its stderr contains `needle`; returns whether it did.
    pub fn wait_stderr(&self, limit: Duration, needle: &str) -> bool {
        wait_until(limit, || self.stderr_text().contains(needle))
    }

    /// The next stdout line (panics if none within `limit`).
    pub fn line(&self, limit: Duration) -> String {
        self.run.line(limit)
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        signal_pid(self.pid(), sig);
    }

    /// SIGTERM, then waits (bounded); returns its status and remaining stdout lines.
    pub fn stop(&mut self) -> (ExitStatus, Vec<String>) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.run.finish(TIMEOUT)
    }

    /// SIGKILL (handlers it runs are left running, as after a crash).
    pub fn kill(&mut self) -> Vec<String> {
        self.run.kill_and_drain()
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        if self.run.is_running() {
            self.signal(nix::sys::signal::Signal::SIGTERM);
            wait_until(Duration::from_secs(15), || !self.run.is_running());
        }
        // Running's own Drop SIGKILLs what is left.
    }
}

// ---------------------------------------------------------------------------
// Network (issue 4): a running woof-proxy on a free loopback port.

/// A woof-proxy serving namespaces; killed on drop.
pub struct Proxy {
    pub run: Running,
    /// `tcp://ADDR:PORT` of each line "serving NS on ENDPOINT", in order.
    pub endpoints: Vec<(String, String)>,
}

impl Proxy {
    /// Starts `woof-proxy --export <each ns> --listen tcp://127.0.0.1:0 <extra>` and
    /// waits (bounded) until it reports its endpoint.
    pub fn start(exports: &[&Path], extra: &[&str]) -> Proxy {
        let mut cmd = bare_std("woof-proxy");
        for e in exports {
            cmd.arg("--export").arg(e);
        }
        if !extra
            .iter()
            .any(|a| *a == "--listen" || a.starts_with("--bind"))
        {
            cmd.args(["--listen", "tcp://127.0.0.1:0"]);
        }
        cmd.args(extra);
        Proxy::spawn(cmd, 1)
    }

    /// A proxy exporting `ns` on the fixed endpoint `listen` (`--timeout 2s`), so a
    /// restart comes back where its clients expect it; tried again while a killed
    /// one's port is still taken.
    pub fn start_on(ns: &Path, listen: &str) -> Proxy {
        Proxy::start_retrying(|| {
            let mut cmd = bare_std("woof-proxy");
            cmd.arg("--export")
                .arg(ns)
                .args(["--listen", listen, "--timeout", "2s"]);
            cmd
        })
    }

    /// A woof-proxy from `make` (a command naming a fixed endpoint), tried again
    /// while a killed one's port is still taken.
    pub fn start_retrying(make: impl Fn() -> std::process::Command) -> Proxy {
        for _ in 0..100 {
            let cmd = make();
            let started =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Proxy::spawn(cmd, 1)));
            if let Ok(p) = started {
                return p;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("woof-proxy did not start");
    }

    /// Runs `cmd` (a woof-proxy command) and waits for `n` "serving" lines.
    pub fn spawn(cmd: std::process::Command, n: usize) -> Proxy {
        let mut run = Running::spawn(cmd);
        let mut endpoints = Vec::new();
        let ok = wait_until(PROMPT, || {
            // Whole lines only: under load a line can be read half written, and a
            // cut-off port would send the test to the wrong one.
            endpoints = run
                .stderr_text()
                .split_inclusive('\n')
                .filter_map(|l| l.strip_suffix('\n'))
                .filter_map(|l| l.strip_prefix("woof-proxy: serving "))
                .filter_map(|l| l.split_once(" on "))
                .map(|(ns, ep)| {
                    let ep = ep.split_whitespace().next().unwrap_or("").to_string();
                    (ns.to_string(), ep)
                })
                .collect();
            endpoints.len() >= n || !run.is_running()
        });
        assert!(
            ok && endpoints.len() >= n,
            "woof-proxy did not start: {}",
            run.stderr_text()
        );
        Proxy { run, endpoints }
    }

    /// `host:port` of the first endpoint.
    pub fn authority(&self) -> String {
        self.endpoints[0].1.trim_start_matches("tcp://").to_string()
    }

    /// The URI of woof `name` in namespace `ns` through this proxy.
    pub fn uri(&self, ns: &Path, name: &str) -> String {
        format!("woof://{}{}/{}", self.authority(), ns.display(), name)
    }
}

//! The engines woof-forward bridges to, run for real: Debian's redis-server,
//! mosquitto and nats-server (`make deps` installs them), each on a free loopback
//! port with its data in a temporary directory, killed in `Drop`. A test that needs
//! one that is not installed says "skipped" instead.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait_until;

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Whether `prog` is on PATH (or in /usr/sbin, where Debian puts daemons). Looked
/// up, not run: a broker run with an unknown flag may just start.
pub fn installed(prog: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin"])
        .any(|d| Path::new(d).join(prog).is_file())
}

/// A broker process on `port`; `restart` runs the same command again.
pub struct Broker {
    child: Option<Child>,
    cmd: Vec<String>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Up once: a restart keeps its port (its clients come back to it).
    started: bool,
}

impl Broker {
    fn spawn(cmd: Vec<String>, port: u16, dir: tempfile::TempDir) -> Broker {
        let mut b = Broker {
            child: None,
            cmd,
            port,
            dir,
            started: false,
        };
        b.start();
        b
    }

    /// Starts the process and waits (bounded) until its port answers.
    pub fn start(&mut self) {
        for _ in 0..50 {
            let child = Command::new(&self.cmd[0])
                .args(&self.cmd[1..])
                .current_dir(self.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn broker");
            self.child = Some(child);
            let port = self.port;
            let up = wait_until(Duration::from_secs(5), || {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            // Answering is not enough: another test's server may have taken the
            // port between free_port and the broker's bind (the broker then exits).
            std::thread::sleep(Duration::from_millis(50));
            let alive = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            if up && alive {
                self.started = true;
                return;
            }
            self.kill();
            let arg = port.to_string();
            if !self.started && !alive && self.cmd.contains(&arg) {
                // Its port was taken: a new one, where the command names it.
                self.port = free_port();
                for a in &mut self.cmd {
                    if *a == arg {
                        *a = self.port.to_string();
                    }
                }
            }
            // Otherwise the port may still be held by the previous incarnation: again.
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{} did not start on port {}", self.cmd[0], self.port);
    }

    /// SIGKILL, reaped.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.start();
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// mosquitto: waits (bounded) until its log shows a subscription to `filter`,
    /// so what is published next reaches the subscriber's session.
    pub fn wait_subscribed(&self, filter: &str) -> bool {
        let log = self.dir.path().join("mosquitto.log");
        wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&log)
                .is_ok_and(|l| l.lines().any(|line| line.ends_with(&format!(" {filter}"))))
        })
    }
}

/// mosquitto's log, with subscriptions, in the broker's directory.
fn mosquitto_log(dir: &Path) -> String {
    format!(
        "log_dest file {}/mosquitto.log\nlog_type error\nlog_type warning\n\
         log_type notice\nlog_type information\nlog_type subscribe\n",
        dir.display()
    )
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("woof-broker-")
        .tempdir()
        .expect("temp dir")
}

/// redis-server persisting every write (AOF, fsync always), so an acknowledged XADD
/// survives a kill; `password` adds `requirepass`.
pub fn redis(password: Option<&str>) -> Option<Broker> {
    if !installed("redis-server") {
        return None;
    }
    let port = free_port();
    let dir = tmp();
    let mut cmd: Vec<String> = [
        "redis-server",
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        &dir.path().display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(p) = password {
        cmd.extend(["--requirepass".to_string(), p.to_string()]);
    }
    Some(Broker::spawn(cmd, port, dir))
}

/// mosquitto with no limit on queued messages; `persistent`: its sessions and
/// queues on disk, saved after every change (so a SIGKILL loses at most what changed
/// since the last save; each save writes everything, so not for bulk); with
/// `login`, only that user and password get in.
pub fn mosquitto(login: Option<(&str, &str)>, persistent: bool) -> Option<Broker> {
    if !installed("mosquitto") {
        return None;
    }
    Some(start_mosquitto(tmp(), login, persistent, ""))
}

/// mosquitto in `dir` on a free port, configured as `mosquitto` says, with `tls`
/// (its lines for the listener, or nothing).
fn start_mosquitto(
    dir: tempfile::TempDir,
    login: Option<(&str, &str)>,
    persistent: bool,
    tls: &str,
) -> Broker {
    let port = free_port();
    let mut conf = format!("listener {port} 127.0.0.1\n{tls}max_queued_messages 0\n");
    conf.push_str(&mosquitto_log(dir.path()));
    if nix::unistd::Uid::current().is_root() {
        // Run as root, mosquitto would switch to user mosquitto, who cannot write here.
        conf.push_str("user root\n");
    }
    if persistent {
        conf.push_str(&format!(
            "persistence true\npersistence_location {}/\nautosave_interval 1\n\
             autosave_on_changes true\n",
            dir.path().display()
        ));
    }
    match login {
        None => conf.push_str("allow_anonymous true\n"),
        Some((user, password)) => {
            let file = dir.path().join("passwords");
            let ok = Command::new("mosquitto_passwd")
                .args(["-c", "-b"])
                .arg(&file)
                .args([user, password])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "mosquitto_passwd");
            conf.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                file.display()
            ));
        }
    }
    let path = dir.path().join("mosquitto.conf");
    std::fs::write(&path, conf).expect("mosquitto.conf");
    let cmd = vec![
        "mosquitto".to_string(),
        "-c".to_string(),
        path.display().to_string(),
    ];
    Broker::spawn(cmd, port, dir)
}

/// The certificates of a TLS broker, made by openssl for the test: a CA, the
/// server's (for localhost and 127.0.0.1) and a client's, all signed by the CA;
/// and a second CA that signed nothing (a trust store that must fail).
pub struct Pki {
    pub ca: std::path::PathBuf,
    pub client_cert: std::path::PathBuf,
    pub client_key: std::path::PathBuf,
    pub other_ca: std::path::PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "openssl {}", args.join(" "));
}

/// A P-256 key and a certificate for `cn`, signed by ca.pem (or self-signed).
fn certificate(dir: &Path, name: &str, cn: &str, signed: bool) {
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    let subj = format!("/CN={cn}");
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ],
    );
    if !signed {
        openssl(
            dir,
            &[
                "req", "-x509", "-new", "-key", &key, "-out", &pem, "-days", "2", "-subj", &subj,
            ],
        );
        return;
    }
    let csr = format!("{name}.csr");
    openssl(
        dir,
        &["req", "-new", "-key", &key, "-out", &csr, "-subj", &subj],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("san.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
}

/// mosquitto with a TLS listener only (persistent, with `login` as `mosquitto`);
/// with `client_certs`, it requires a client certificate signed by the CA.
pub fn mosquitto_tls(login: Option<(&str, &str)>, client_certs: bool) -> Option<(Broker, Pki)> {
    if !installed("mosquitto") || !installed("openssl") {
        return None;
    }
    let dir = tmp();
    let d = dir.path();
    certificate(d, "ca", "woof test CA", false);
    certificate(d, "server", "localhost", true);
    certificate(d, "client", "woof-client", true);
    certificate(d, "other-ca", "another CA", false);
    let mut tls = format!(
        "cafile {0}/ca.pem\ncertfile {0}/server.pem\nkeyfile {0}/server.key\n",
        d.display()
    );
    if client_certs {
        tls.push_str("require_certificate true\n");
    }
    let pki = Pki {
        ca: d.join("ca.pem"),
        client_cert: d.join("client.pem"),
        client_key: d.join("client.key"),
        other_ca: d.join("other-ca.pem"),
    };
    Some((start_mosquitto(dir, login, true, &tls), pki))
}

/// nats-server with JetStream, its store in a temporary directory (kept across
/// restarts); with `login`, only that user and password get in.
pub fn nats(login: Option<(&str, &str)>) -> Option<Broker> {
    if !installed("nats-server") {
        return None;
    }
    let port = free_port();
    let dir = tmp();
    let mut cmd: Vec<String> = [
        "nats-server",
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-sd",
        &dir.path().display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some((user, password)) = login {
        cmd.extend([
            "--user".into(),
            user.into(),
            "--pass".into(),
            password.into(),
        ]);
    }
    Some(Broker::spawn(cmd, port, dir))
}

//! Network namespaces as hosts, links and routers, made by the tests themselves
//! (DESIGN §7): nothing they carry can leave the machine, because every address is
//! inside namespaces the test created and deletes on drop. Needs root and `ip`
//! (and `nft` for partitions and NAT); without them a test says "skipped".

use std::process::{Command, Output, Stdio};

pub fn ip(args: &[&str]) -> Result<Output, String> {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))
}

/// Runs `ip ARGS`, which must succeed.
pub fn ip_ok(args: &[&str]) -> Result<(), String> {
    let out = ip(args)?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "ip {}: {:?} {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// A set of network namespaces, deleted (with their links) on drop.
pub struct Lab {
    base: String,
    names: Vec<String>,
}

impl Lab {
    /// An empty lab; Err (why) when this machine cannot make namespaces.
    pub fn new(tag: &str) -> Result<Lab, String> {
        let lab = Lab {
            base: format!("woof{}{tag}", std::process::id()),
            names: Vec::new(),
        };
        let probe = format!("{}probe", lab.base);
        ip_ok(&["netns", "add", &probe])?;
        let _ = ip(&["netns", "del", &probe]);
        Ok(lab)
    }

    /// Adds namespace `host` (loopback up); returns its full name.
    pub fn host(&mut self, host: &str) -> String {
        let name = format!("{}{host}", self.base);
        ok(ip_ok(&["netns", "add", &name]));
        self.names.push(name.clone());
        ok(ip_ok(&["-n", &name, "link", "set", "lo", "up"]));
        name
    }

    /// A veth pair between `a` (interface `a_if`, address `a_addr`/24) and `b`; the
    /// ends are born in their namespaces and never exist in the root one.
    pub fn link(&self, a: &str, a_if: &str, a_addr: &str, b: &str, b_if: &str, b_addr: &str) {
        ok(ip_ok(&[
            "-n", a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b,
        ]));
        for (ns, dev, addr) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
            ok(ip_ok(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                dev,
            ]));
            ok(ip_ok(&["-n", ns, "link", "set", dev, "up"]));
        }
    }

    /// `ip -n NS ARGS`, which must succeed.
    pub fn ip(&self, ns: &str, args: &[&str]) {
        let mut all = vec!["-n", ns];
        all.extend_from_slice(args);
        ok(ip_ok(&all));
    }

    /// Loads an nftables ruleset into `ns` (replacing what `flush` removes).
    pub fn nft(&self, ns: &str, ruleset: &str) -> Result<(), String> {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run nft: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(ruleset.as_bytes())
                .map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "nft: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }

    /// Enables IPv4 forwarding in `ns` (a router).
    pub fn forwarding(&self, ns: &str) {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ])
            .status();
        assert!(out.is_ok_and(|s| s.success()), "ip_forward in {ns}");
    }

    /// `bin` (a path) run in `ns`: `ip netns exec` execs it, so the pid is the tool's.
    pub fn cmd(&self, ns: &str, bin: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, bin]).stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("WOOF_") {
                c.env_remove(&key);
            }
        }
        c
    }
}

fn ok(r: Result<(), String>) {
    if let Err(e) = r {
        panic!("setting up network namespaces: {e}");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for name in self.names.iter().rev() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

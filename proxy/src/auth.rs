//! Who may do what: CURVE client allow-list and the per-namespace ACL.
//!
//! The ACL (`KEYS/acl`) has one rule per line: `NAMESPACE CLIENT RIGHTS`, where
//! NAMESPACE is an exported path or `*`, CLIENT a name from `KEYS/clients/NAME.pub`
//! or `*`, and RIGHTS a comma list of read, write, trigger, create (or all). A
//! client's rights in a namespace are the union of the rules that match; no rule, no
//! rights. Clients and ACL are re-read at every new CURVE connection, so
//! adding a client or a right needs no restart.

use std::sync::{Arc, RwLock};
use std::thread;

use woof::{Error, ErrorKind};
use woof_net::keys::KeyDir;

pub const READ: u8 = 1;
pub const WRITE: u8 = 2;
pub const TRIGGER: u8 = 4;
pub const CREATE: u8 = 8;

pub fn right_name(r: u8) -> &'static str {
    match r {
        READ => "read",
        WRITE => "write",
        TRIGGER => "trigger",
        _ => "create",
    }
}

pub fn parse_rights(s: &str) -> Result<u8, String> {
    let mut r = 0;
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        r |= match part {
            "read" => READ,
            "write" => WRITE,
            "trigger" => TRIGGER,
            "create" => CREATE,
            "all" => READ | WRITE | TRIGGER | CREATE,
            "none" => 0,
            other => {
                return Err(format!(
                    "unknown right '{other}' (read, write, trigger, create, all, none)"
                ));
            }
        };
    }
    Ok(r)
}

struct Rule {
    namespace: Option<String>,
    client: Option<String>,
    rights: u8,
}

#[derive(Default)]
pub struct Acl {
    rules: Vec<Rule>,
}

impl Acl {
    pub fn parse(text: &str, origin: &str) -> Result<Acl, Error> {
        let mut rules = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why: String| {
                Error::new(ErrorKind::BadData, format!("{origin}: line {}", i + 1)).detail(why)
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [ns, client, rights] = fields[..] else {
                return Err(bad("expected: NAMESPACE CLIENT RIGHTS".into()));
            };
            let any = |s: &str| (s != "*").then(|| s.to_string());
            let namespace = match ns {
                "*" => None,
                path => Some(namespace_path(path).map_err(bad)?),
            };
            rules.push(Rule {
                namespace,
                client: any(client),
                rights: parse_rights(rights).map_err(bad)?,
            });
        }
        Ok(Acl { rules })
    }

    pub fn rights(&self, namespace: &str, client: &str) -> u8 {
        self.rules
            .iter()
            .filter(|r| r.namespace.as_deref().is_none_or(|n| n == namespace))
            .filter(|r| r.client.as_deref().is_none_or(|c| c == client))
            .fold(0, |acc, r| acc | r.rights)
    }
}

/// An ACL namespace in the form exports are known by (absolute, no trailing or
/// doubled slash, no `.`), so `/srv/ns/` matches the export `/srv/ns`.
fn namespace_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "namespace '{text}' is not an absolute path (or * for every namespace)"
        ));
    }
    let path = std::path::Path::new(text);
    if path
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(format!("namespace '{text}' contains '..'"));
    }
    let norm: std::path::PathBuf = path.components().collect();
    norm.to_str()
        .map(str::to_string)
        .ok_or_else(|| format!("namespace '{text}' is not UTF-8"))
}

/// The proxy's access policy.
pub struct Policy {
    pub keys: Option<KeyDir>,
    pub anonymous: u8,
    acl: RwLock<Acl>,
    clients: RwLock<Vec<(String, String)>>,
}

impl Policy {
    pub fn new(keys: Option<KeyDir>, anonymous: u8) -> Result<Policy, Error> {
        let p = Policy {
            keys,
            anonymous,
            acl: RwLock::new(Acl::default()),
            clients: RwLock::new(Vec::new()),
        };
        p.reload()?;
        Ok(p)
    }

    /// Re-reads clients and ACL; on error the previous ones stay in force.
    pub fn reload(&self) -> Result<(), Error> {
        let Some(keys) = &self.keys else {
            return Ok(());
        };
        let clients = keys.clients()?;
        let path = keys.acl_path();
        let acl = match std::fs::read_to_string(&path) {
            Ok(text) => Acl::parse(&text, &path.display().to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Acl::default(),
            Err(e) => return Err(Error::io(path.display().to_string(), e)),
        };
        if let Ok(mut c) = self.clients.write() {
            *c = clients;
        }
        if let Ok(mut a) = self.acl.write() {
            *a = acl;
        }
        Ok(())
    }

    /// The rights of `user` (the client's name from its key; None without keys).
    pub fn rights(&self, namespace: &str, user: Option<&str>) -> u8 {
        match (&self.keys, user) {
            (None, _) => self.anonymous,
            (Some(_), Some(u)) => self.acl.read().map_or(0, |a| a.rights(namespace, u)),
            (Some(_), None) => 0,
        }
    }

    fn client_named(&self, z85_key: &str) -> Option<String> {
        let clients = self.clients.read().ok()?;
        clients
            .iter()
            .find(|(_, k)| k == z85_key)
            .map(|(n, _)| n.clone())
    }

    /// A CURVE client's name from its long-term key (clients and ACL re-read
    /// first), or None: it is refused, and the log says how to let it in.
    pub fn authenticate(&self, key: &[u8; 32], peer: &str) -> Option<String> {
        if let Err(e) = self.reload() {
            eprintln!("woof-proxy: keeping the previous clients and ACL: {e}");
        }
        let key = woof_net::z85::encode_key(key);
        let name = self.client_named(&key);
        if name.is_none() {
            eprintln!(
                "woof-proxy: refused a client from {peer} with unknown key {key} \
                 (to let it in, put this key in clients/NAME.pub of the key directory)"
            );
        }
        name
    }
}

/// SIGHUP (the terminal that started the proxy closed, or an operator's
/// `kill -HUP`) re-reads clients and ACL and logs it; it never stops the proxy.
/// Blocked here, before any other thread starts, and taken by one thread with
/// sigwait, so every thread started later (libzmq's too) inherits the mask.
pub fn reload_on_sighup(policy: Arc<Policy>) -> Result<(), Error> {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGHUP);
    set.thread_block()
        .map_err(|e| Error::io("SIGHUP", std::io::Error::from(e)))?;
    thread::Builder::new()
        .name("sighup".into())
        .spawn(move || {
            while set.wait().is_ok() {
                match policy.reload() {
                    Ok(()) if policy.keys.is_some() => {
                        eprintln!("woof-proxy: SIGHUP: re-read clients and ACL")
                    }
                    Ok(()) => eprintln!("woof-proxy: SIGHUP: ignored (no --keys to re-read)"),
                    Err(e) => {
                        eprintln!("woof-proxy: SIGHUP: keeping the previous clients and ACL: {e}")
                    }
                }
            }
        })
        .map_err(|e| Error::io("SIGHUP thread", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_rules_unite_and_wildcards_match() {
        let acl = Acl::parse(
            "# ns client rights\n/srv/a edge read,write\n/srv/a * read\n* admin all # everything\n",
            "acl",
        )
        .expect("parse");
        assert_eq!(acl.rights("/srv/a", "edge"), READ | WRITE);
        assert_eq!(acl.rights("/srv/a", "other"), READ);
        assert_eq!(acl.rights("/srv/b", "edge"), 0);
        assert_eq!(
            acl.rights("/srv/b", "admin"),
            READ | WRITE | TRIGGER | CREATE
        );
        let e = Acl::parse("/srv/a edge read,fly\n", "acl")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("acl: line 1: unknown right 'fly' (read, write, trigger, create, all, none)")
        );
        assert!(Acl::parse("/srv/a edge\n", "acl").is_err());
    }

    #[test]
    fn acl_namespaces_are_normalised_or_refused_with_their_line() {
        let acl = Acl::parse("/srv/a/ edge write\n//srv//b/./ edge read\n", "acl").expect("parse");
        assert_eq!(acl.rights("/srv/a", "edge"), WRITE);
        assert_eq!(acl.rights("/srv/b", "edge"), READ);
        for (line, why) in [
            (
                "srv/a edge read",
                "namespace 'srv/a' is not an absolute path (or * for every namespace)",
            ),
            (
                "/srv/../etc edge read",
                "namespace '/srv/../etc' contains '..'",
            ),
        ] {
            let e = Acl::parse(&format!("# rules\n{line}\n"), "acl")
                .err()
                .map(|e| e.to_string());
            assert_eq!(e, Some(format!("acl: line 2: {why}")));
        }
    }
}

//! `woof://host[:port]/abs/namespace/path/name`: a woof on a host.
//!
//! The namespace is everything between the authority and the last `/`; the last
//! component is the woof's name and goes through the same check as a local name.
//! Without a port, the port is CSPOT's: `50000 + djb2(namespace) % 10000`, computed
//! on the namespace exactly as written (so `/srv/ns` and `/srv/ns/` would differ —
//! which is why a trailing slash, an empty component, `.` and `..` are refused here
//! rather than normalised: CSPOT's silent normalisation bugs are not repeated).

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

use woof::{Error, ErrorKind};

pub const SCHEME: &str = "woof://";

/// A parsed `woof://` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// Host name or address as written (`[..]` stripped for IPv6); `woof:///ns/w`
    /// means this host, reached over loopback.
    pub host: String,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// The namespace's absolute path on the host, without a trailing slash.
    pub namespace: String,
    /// The woof's name inside the namespace.
    pub name: String,
}

/// Whether `s` is meant as a URI rather than a plain name.
pub fn is_uri(s: &str) -> bool {
    s.starts_with(SCHEME)
}

/// CSPOT's port for a namespace path: `50000 + djb2(path) mod 10000`. The bytes are
/// sign-extended as C `char` on x86, so non-ASCII paths hash as the original does.
pub fn cspot_port(namespace: &str) -> u16 {
    let mut h: u64 = 5381;
    for &b in namespace.as_bytes() {
        h = h.wrapping_mul(33).wrapping_add(b as i8 as i64 as u64);
    }
    50000 + (h % 10000) as u16
}

/// The port where a cloud proxy with --accept-uplinks serves its edges' namespaces
/// (`/@NAME/...`) and edges dial in: CSPOT's port for the path `/@`, so a URI
/// `woof://cloud/@edge1/ns/name` needs no port, as any other woof URI.
pub fn uplink_port() -> u16 {
    cspot_port("/@")
}

fn bad(uri: &str, why: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadName, format!("URI '{}'", shown(uri))).detail(why)
}

fn shown(s: &str) -> String {
    let out: String = s.chars().take(120).flat_map(char::escape_debug).collect();
    if s.chars().count() > 120 {
        out + "..."
    } else {
        out
    }
}

/// Checks a namespace path: absolute, no empty, `.` or `..` component, no trailing
/// slash, no control characters. Shared with the proxy, which checks its exports the
/// same way so that the port both sides compute agrees.
pub fn check_namespace(ns: &str) -> Result<(), String> {
    if !ns.starts_with('/') {
        return Err("the namespace must be an absolute path".into());
    }
    if ns.len() > 1 && ns.ends_with('/') {
        return Err("the namespace path ends with '/'".into());
    }
    if ns == "/" {
        return Err("missing namespace (the woof would be at the root)".into());
    }
    if ns.chars().any(char::is_control) {
        return Err("the namespace path contains a control character".into());
    }
    for part in ns[1..].split('/') {
        match part {
            "" => return Err("the namespace path has an empty component ('//')".into()),
            "." | ".." => {
                return Err(format!(
                    "the namespace path contains '{part}' (write the path exactly as exported)"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

impl Uri {
    /// Parses and checks a URI; every refusal names what is wrong.
    pub fn parse(s: &str) -> Result<Uri, Error> {
        let rest = s
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad(s, "does not start with woof://"))?;
        let slash = rest
            .find('/')
            .ok_or_else(|| bad(s, "no path: expected woof://host/namespace/name"))?;
        let (authority, path) = rest.split_at(slash);
        let (host, port) = split_authority(s, authority)?;
        if path.ends_with('/') {
            return Err(bad(
                s,
                "ends with '/': the last component must be a woof name",
            ));
        }
        let cut = path.rfind('/').unwrap_or(0);
        let (namespace, name) = (&path[..cut], &path[cut + 1..]);
        if namespace.is_empty() {
            return Err(bad(
                s,
                "missing namespace: expected woof://host/abs/namespace/name",
            ));
        }
        check_namespace(namespace).map_err(|why| bad(s, why))?;
        woof::name::validate("woof name", name).map_err(|e| bad(s, e.to_string()))?;
        Ok(Uri {
            host,
            port,
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    /// The port to connect to: the explicit one, else CSPOT's for the namespace.
    pub fn port(&self) -> u16 {
        if self.namespace.starts_with("/@") {
            return self.port.unwrap_or_else(uplink_port);
        }
        self.port.unwrap_or_else(|| cspot_port(&self.namespace))
    }

    /// The host to connect to (an empty host means this one, over loopback).
    pub fn connect_host(&self) -> &str {
        if self.host.is_empty() {
            "127.0.0.1"
        } else {
            &self.host
        }
    }

    /// `host:port` as a key for per-server settings (server public keys).
    pub fn authority(&self) -> String {
        format_authority(self.connect_host(), self.port())
    }

    /// Resolves the host (first address, IPv4 preferred as CSPOT did).
    pub fn resolve(&self) -> Result<SocketAddr, Error> {
        let host = self.connect_host();
        let addrs: Vec<SocketAddr> = (host, self.port())
            .to_socket_addrs()
            .map_err(|e| {
                Error::new(ErrorKind::Unavailable, format!("woof://{host}"))
                    .detail(format!("unknown host: {e}"))
            })?
            .collect();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .copied()
            .ok_or_else(|| {
                Error::new(ErrorKind::Unavailable, format!("woof://{host}"))
                    .detail("unknown host: no address")
            })
    }

    /// The URI naming another woof in the same namespace on the same host.
    pub fn sibling(&self, name: &str) -> Uri {
        Uri {
            name: name.to_string(),
            ..self.clone()
        }
    }
}

fn format_authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn split_authority(s: &str, authority: &str) -> Result<(String, Option<u16>), Error> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6
            .find(']')
            .ok_or_else(|| bad(s, "unclosed '[' in the host"))?;
        let after = &v6[end + 1..];
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad(s, "junk after ']' in the host"))?,
            ),
        };
        (v6[..end].to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '@')
    {
        return Err(bad(s, "the host contains a character hosts cannot have"));
    }
    let port = match port {
        None => None,
        Some(p) => {
            let n: u32 = p
                .parse()
                .map_err(|_| bad(s, format!("port '{}' is not a number", shown(p))))?;
            if n == 0 || n > 65535 {
                return Err(bad(s, format!("port {n} out of range (1-65535)")));
            }
            Some(n as u16)
        }
    };
    Ok((host, port))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => write!(f, "woof://{host}:{p}{}/{}", self.namespace, self.name),
            None => write!(f, "woof://{host}{}/{}", self.namespace, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cspot_ports_match_the_original() {
        // Computed examples from the CSPOT reference (§4.3).
        assert_eq!(cspot_port("/mnt/monitor"), 57850);
        // woof(7), "Uplinks": the port of /@ namespaces.
        assert_eq!(uplink_port(), 51524);
        let up = Uri::parse("woof://cloud/@edge1/var/lib/woof/edge/load").expect("uplink URI");
        assert_eq!(
            (up.port(), up.namespace.as_str()),
            (51524, "/@edge1/var/lib/woof/edge")
        );
        assert_eq!(cspot_port("/home/ubuntu/cspot/build/bin"), 59358);
        assert_eq!(cspot_port("foobar"), 57550);
    }

    #[test]
    fn parses_the_forms() {
        let u = Uri::parse("woof://10.0.0.5/home/ubuntu/ns/temps").expect("plain");
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.namespace.as_str(),
                u.name.as_str()
            ),
            ("10.0.0.5", None, "/home/ubuntu/ns", "temps")
        );
        assert_eq!(u.to_string(), "woof://10.0.0.5/home/ubuntu/ns/temps");
        let u = Uri::parse("woof://10.0.0.5:57850/mnt/monitor/home.upload").expect("port");
        assert_eq!((u.port(), u.name.as_str()), (57850, "home.upload"));
        let u = Uri::parse("woof:///srv/ns/w").expect("no host");
        assert_eq!(
            (u.connect_host(), u.port()),
            ("127.0.0.1", cspot_port("/srv/ns"))
        );
        let u = Uri::parse("woof://[::1]:6000/srv/ns/w").expect("v6");
        assert_eq!((u.host.as_str(), u.port()), ("::1", 6000));
        assert_eq!(u.to_string(), "woof://[::1]:6000/srv/ns/w");
        assert_eq!(u.authority(), "[::1]:6000");
    }

    #[test]
    fn refuses_what_is_not_a_woof_uri() {
        for (s, why) in [
            ("woof://h/srv/ns/", "ends with '/'"),
            ("woof://h/w", "missing namespace"),
            ("woof://h", "no path"),
            ("woof://h/srv/../etc/passwd", "contains '..'"),
            ("woof://h/srv//ns/w", "empty component"),
            ("woof://h/srv/ns/.woof", "starts with a dot"),
            ("woof://h/srv/ns/a\0b", "NUL"),
            ("woof://h:0/srv/ns/w", "port 0 out of range"),
            ("woof://h:70000/srv/ns/w", "port 70000 out of range"),
            ("woof://h:x/srv/ns/w", "not a number"),
            ("woof://[::1/srv/ns/w", "unclosed"),
            ("http://h/srv/ns/w", "does not start with woof://"),
        ] {
            let e = Uri::parse(s).expect_err(s);
            assert_eq!(e.kind(), &ErrorKind::BadName, "{s}");
            let msg = e.to_string();
            assert!(msg.contains(why), "{s}: {msg}");
            assert!(!msg.contains('\n') && !msg.contains('\0'), "{msg:?}");
        }
    }
}

//! `SCHEME://[USER:PASSWORD@]HOST[:PORT]/PATH`, the one shape of every engine URI
//! woof-forward takes (redis://, mqtt://, nats://): parsed once here, the password
//! kept out of what is shown.

use woof::{Error, ErrorKind};

pub struct EngineUri {
    pub host: String,
    pub port: u16,
    pub user: Option<(String, String)>,
    /// What follows the first `/` after the host: a stream key, topic or subject.
    pub path: String,
    /// The URI with `***` for the password, for messages and state files.
    pub shown: String,
}

impl EngineUri {
    /// `what` names the path in messages (`KEY`, `TOPIC`, `SUBJECT`).
    pub fn parse(
        uri: &str,
        scheme: &str,
        default_port: u16,
        what: &str,
    ) -> Result<EngineUri, Error> {
        let form = format!("{scheme}://HOST[:PORT]/{what}");
        let bad = |why: String| Error::new(ErrorKind::BadName, format!("URI '{uri}'")).detail(why);
        let rest = uri
            .strip_prefix(scheme)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| bad(format!("expected {form}")))?;
        let (authority, path) = rest
            .split_once('/')
            .filter(|(_, p)| !p.is_empty())
            .ok_or_else(|| bad(format!("no {}: expected {form}", what.to_lowercase())))?;
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((cred, h)) => {
                let (u, p) = cred.split_once(':').unwrap_or((cred, ""));
                (Some((u.to_string(), p.to_string())), h)
            }
            None => (None, authority),
        };
        let (host, port) = match hostport.strip_prefix('[') {
            // [v6]:port
            Some(v6) => {
                let (h, after) = v6
                    .split_once(']')
                    .ok_or_else(|| bad("unclosed '[' in the host".into()))?;
                let port = match after.strip_prefix(':') {
                    Some(p) => p.parse().map_err(|_| bad(format!("bad port '{p}'")))?,
                    None => default_port,
                };
                (h.to_string(), port)
            }
            None => match hostport.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| bad(format!("bad port '{p}'")))?,
                ),
                None => (hostport.to_string(), default_port),
            },
        };
        if host.is_empty() {
            return Err(bad(format!("no host: expected {form}")));
        }
        let shown = match &user {
            Some((u, _)) => format!("{scheme}://{u}:***@{hostport}/{path}"),
            None => uri.to_string(),
        };
        Ok(EngineUri {
            host,
            port,
            user,
            path: path.to_string(),
            shown,
        })
    }

    /// `HOST:PORT` (IPv6 in brackets), to connect to.
    pub fn hostport(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_uris_parse_and_hide_their_passwords() {
        let u = EngineUri::parse(
            "redis://bob:s3cret@cache:7000/edge1:load",
            "redis",
            6379,
            "KEY",
        )
        .expect("parses");
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("cache", 7000, "edge1:load")
        );
        assert_eq!(u.user, Some(("bob".into(), "s3cret".into())));
        assert_eq!(u.shown, "redis://bob:***@cache:7000/edge1:load");
        let u = EngineUri::parse("mqtt://[::1]/a/b", "mqtt", 1883, "TOPIC").expect("v6");
        assert_eq!(
            (u.hostport().as_str(), u.path.as_str()),
            ("[::1]:1883", "a/b")
        );
        let msg = |s: &str| {
            EngineUri::parse(s, "nats", 4222, "SUBJECT")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(msg("nats://h").contains("no subject: expected nats://HOST[:PORT]/SUBJECT"));
        assert!(msg("nats://h:x/s").contains("bad port 'x'"));
        assert!(msg("nats:///s").contains("no host"));
        assert!(msg("mqtt://h/s").contains("expected nats://"));
    }
}

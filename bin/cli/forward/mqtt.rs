//! What the MQTT sink and source share: `mqtt[s]://[USER:PASSWORD@]HOST[:PORT]/TOPIC`
//! parsed, the protocol version and TLS settings (`--mqtt`, `--tls-*`), the user
//! properties that carry a forwarded element's identity. The connection itself is
//! mqtt_link.rs.
//!
//! TLS is rustls with the ring provider (no OpenSSL), trusting `--tls-ca` or the
//! system's bundle (SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rumqttc::{TlsConfiguration, Transport};
use woof::{Error, ErrorKind};

use super::engine_uri::EngineUri;

/// User properties of a forwarded element (MQTT 5): a subscriber can tell a
/// redelivery from a new reading by (origin, incarnation, seqno).
pub const P_ORIGIN: &str = "woof-origin";
pub const P_INCARNATION: &str = "woof-incarnation";
pub const P_SEQNO: &str = "woof-seqno";
pub const P_PUT_TIME: &str = "woof-put-time";

/// The MQTT version spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MqttVersion {
    /// MQTT 5: user properties carry each element's identity
    #[default]
    #[value(name = "5")]
    V5,
    /// MQTT 3.1.1, for brokers that speak only it: no properties, so a redelivered
    /// message cannot be told from a new one
    #[value(name = "3.1.1")]
    V311,
}

/// The files of `--tls-ca`, `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// How to speak to brokers: the version, and for mqtts:// the TLS settings, read
/// once (a missing or unreadable file is a usage error, not a retry).
#[derive(Clone, Default)]
pub struct MqttConfig {
    pub version: MqttVersion,
    tls: Option<Arc<TlsConfiguration>>,
    files: TlsFiles,
}

impl MqttConfig {
    pub fn new(version: MqttVersion, files: TlsFiles) -> MqttConfig {
        MqttConfig {
            version,
            tls: None,
            files,
        }
    }

    /// Reads the TLS files now (for a configuration that will meet mqtts://).
    pub fn load_tls(&mut self) -> Result<(), Error> {
        let read = |p: &Path, what: &str| {
            let bytes =
                std::fs::read(p).map_err(|e| Error::io(format!("{what} {}", p.display()), e))?;
            if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
                return Err(
                    Error::new(ErrorKind::BadData, format!("{what} {}", p.display()))
                        .detail("not PEM (no -----BEGIN line)"),
                );
            }
            Ok(bytes)
        };
        let ca = match &self.files.ca {
            Some(p) => read(p, "--tls-ca")?,
            None => {
                let bundle = std::env::var_os("SSL_CERT_FILE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
                std::fs::read(&bundle).map_err(|_| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!("the system's CA bundle {}", bundle.display()),
                    )
                    .detail("missing or unreadable: give the broker's CA with --tls-ca FILE")
                })?
            }
        };
        let client_auth = match (&self.files.cert, &self.files.key) {
            (Some(c), Some(k)) => Some((read(c, "--tls-cert")?, read(k, "--tls-key")?)),
            _ => None,
        };
        self.tls = Some(Arc::new(TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth,
        }));
        Ok(())
    }

    /// The transport for `uri`: TLS for mqtts://.
    pub fn transport(&self, uri: &MqttUri) -> Result<Option<Transport>, Error> {
        if !uri.tls {
            return Ok(None);
        }
        let tls = self.tls.as_ref().ok_or_else(|| {
            Error::new(ErrorKind::Unavailable, uri.shown.clone()).detail("TLS settings not loaded")
        })?;
        Ok(Some(Transport::tls_with_config((**tls).clone())))
    }
}

/// A parsed `mqtt://` or `mqtts://` URI.
#[derive(Debug, Clone)]
pub struct MqttUri {
    pub host: String,
    pub port: u16,
    pub user: Option<(String, String)>,
    /// Topic (sink) or topic filter (source).
    pub topic: String,
    /// mqtts://: TLS (port 8883 by default).
    pub tls: bool,
    /// The URI without its password.
    pub shown: String,
}

impl MqttUri {
    pub fn parse(uri: &str) -> Result<MqttUri, Error> {
        let tls = uri.starts_with("mqtts://");
        let u = if tls {
            EngineUri::parse(uri, "mqtts", 8883, "TOPIC")?
        } else {
            EngineUri::parse(uri, "mqtt", 1883, "TOPIC")?
        };
        Ok(MqttUri {
            host: u.host,
            port: u.port,
            user: u.user,
            topic: u.path,
            tls,
            shown: u.shown,
        })
    }
}

/// A client id for this host, source and destination: stable, so that a persistent
/// session (the MQTT source's) survives restarts; at most 23 characters.
pub fn client_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("woof-{h:016x}")
}

//! Which woof a tool works on: a plain name inside the namespace given by
//! `-N/--namespace`, `$WOOF_NAMESPACE`, or the current directory — or a
//! `woof://host[:port]/abs/namespace/name` URI, served by the woof-proxy there, or a
//! `cspot://…` URI of the same form, served by a CSPOT host (its protocol).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use woof::{Namespace, Woof};
use woof_net::Uri;
use woof_net::client::{Client, Options};

use crate::exit::Failure;

/// How tools reach a woof-proxy when a name is a `woof://` URI.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// With a woof:// URI: give up on an unreachable or silent proxy after DURATION
    /// (exit 69)
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5s",
        value_parser = humantime::parse_duration,
        env = "WOOF_TIMEOUT",
        hide_env = true
    )]
    pub timeout: Duration,
    /// With a woof:// URI: key directory (own key pair, servers' public keys)
    /// [default: $WOOF_KEYS, else ~/.woof/keys]
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
}

impl RemoteArgs {
    /// Connects to the proxy serving `uri`.
    pub fn options(&self) -> Options {
        Options::new(self.timeout, self.keys.as_deref())
    }

    pub fn connect(&self, uri: &Uri) -> Result<Client, Failure> {
        Ok(Client::connect(uri, &self.options())?)
    }

    /// What of these options a `cspot://` URI can use: the timeout; `--keys` is
    /// refused, CSPOT's protocol having no authentication.
    pub fn for_cspot(&self, uri: &Uri) -> Result<Duration, Failure> {
        if self.keys.is_some() {
            return Err(Failure::usage(format!(
                "{}: --keys (CSPOT's protocol has no keys)",
                woof_net::cspot_client::shown(uri)
            )));
        }
        Ok(self.timeout)
    }
}

/// A woof named on the command line.
pub enum Target {
    Local(String),
    Remote(Uri),
    /// `cspot://`: a CSPOT host, over CSPOT's protocol.
    Cspot(Uri),
}

impl Target {
    pub fn parse(name: &str) -> Result<Target, Failure> {
        if woof_net::uri::is_uri(name) {
            return Ok(Target::Remote(Uri::parse(name)?));
        }
        if woof_net::cspot_client::is_cspot(name) {
            return Ok(Target::Cspot(woof_net::cspot_client::parse(name)?));
        }
        check_name(name)?;
        Ok(Target::Local(name.to_string()))
    }
}

/// The namespace option every tool takes.
#[derive(Debug, Clone, Args)]
pub struct NamespaceArg {
    /// Namespace directory [default: $WOOF_NAMESPACE, else the current directory]
    #[arg(
        short = 'N',
        long = "namespace",
        value_name = "DIR",
        env = "WOOF_NAMESPACE",
        hide_env = true
    )]
    pub dir: Option<PathBuf>,
}

impl NamespaceArg {
    pub fn open(&self) -> Result<Namespace, Failure> {
        let dir = self.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        Ok(Namespace::open(&dir)?)
    }
}

/// Rejects what is not a plain woof name before anything is opened.
pub fn check_name(name: &str) -> Result<(), Failure> {
    woof::name::validate("woof name", name)?;
    Ok(())
}

/// Opens woof `name` in the namespace, for reading and (when permitted) writing.
pub fn open(ns: &NamespaceArg, name: &str) -> Result<Woof, Failure> {
    check_name(name)?;
    Ok(ns.open()?.open_woof(name)?)
}

/// Opens woof `name` for reading only (readers never need the writers' lock).
pub fn open_readonly(ns: &NamespaceArg, name: &str) -> Result<Woof, Failure> {
    check_name(name)?;
    Ok(ns.open()?.open_woof_readonly(name)?)
}

/// Opens the namespace's results log (`--results`) for reading.
pub fn open_results(ns: &NamespaceArg) -> Result<Woof, Failure> {
    let ns = ns.open()?;
    let path = ns.state_dir().join("results");
    Woof::open(&path).map_err(|e| {
        if *e.kind() == woof::ErrorKind::NotFound {
            Failure::new(
                &woof::ErrorKind::NotFound,
                format!(
                    "results: no results log yet (woof-platform has not run in {})",
                    ns.dir().display()
                ),
            )
        } else {
            Failure::from(e.with_context("results"))
        }
    })
}

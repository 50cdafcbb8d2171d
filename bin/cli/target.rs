//! Which woof a tool works on: a plain name inside the namespace given by
//! `-N/--namespace`, `$WOOF_NAMESPACE`, or the current directory.

use std::path::PathBuf;

use clap::Args;
use woof::{Namespace, Woof};

use crate::exit::Failure;

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
    if name.starts_with("woof://") {
        return Err(Failure::new(
            69,
            format!(
                "{name}: woof:// URIs are served by woof-proxy, which this build does not include yet"
            ),
        ));
    }
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
                66,
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

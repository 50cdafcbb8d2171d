//! `woof-create`: make a new woof in a namespace.

use clap::{Parser, ValueEnum};
use woof::{CreateOptions, Durability};

use crate::exit::Failure;
use crate::target::{NamespaceArg, RemoteArgs, Target};

/// When puts reach stable storage (see woof(5), "Durability").
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// Survives a process crash; no sync (fastest)
    None,
    /// Group commit: synced per run of puts, at least every --commit-interval
    Batch,
    /// Synced before each put (or each group of a batch) is acknowledged
    Always,
}

impl From<DurabilityArg> for Durability {
    fn from(d: DurabilityArg) -> Durability {
        match d {
            DurabilityArg::None => Durability::None,
            DurabilityArg::Batch => Durability::Batch,
            DurabilityArg::Always => Durability::Always,
        }
    }
}

const EXAMPLES: &str = "\
Examples:
  woof-create temps -s 64 -n 1000          64-byte elements, keep the last 1000
  woof-create log -s 256 -n 10080 --durability always
  woof-create temps -s 64 -n 5000 --force  replace temps, discarding its elements
  woof-create woof://cloud/srv/ns/temps -s 64 -n 100   on a proxy whose ACL gives the create right";

/// Create a woof: a fixed-size, append-only log of fixed-size elements.
///
/// The file is preallocated at its full size (so a later put can never run out of
/// space), and appears atomically. An existing woof is never replaced unless --force
/// is given.
#[derive(Debug, Parser)]
#[command(name = "woof-create", version, after_help = EXAMPLES)]
pub struct Args {
    /// Name of the woof: letters, digits, '.', '_', '-' (1-200 bytes, no leading
    /// dot), or a woof://host/namespace/name URI
    pub name: String,
    /// Bytes per element (1 to 64 MiB)
    #[arg(short = 's', long = "element-size", value_name = "BYTES")]
    pub element_size: u64,
    /// How many of the latest elements to keep (1 to 2^32)
    #[arg(short = 'n', long = "history", value_name = "N")]
    pub history: u64,
    /// Default durability of puts
    #[arg(long, value_enum, default_value = "none")]
    pub durability: DurabilityArg,
    /// Replace an existing woof (its elements are discarded)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn run(args: Args) -> Result<(), Failure> {
    if let Target::Remote(uri) = Target::parse(&args.name)? {
        let mut client = args.remote.connect(&uri)?;
        client.create(
            args.element_size,
            args.history,
            Some(args.durability.into()),
            &[],
            args.force,
        )?;
        return Ok(());
    }
    let ns = args.ns.open()?;
    let mut opts = CreateOptions::new(args.element_size, args.history);
    opts.durability = args.durability.into();
    opts.force = args.force;
    ns.create_woof(&args.name, &opts)?;
    Ok(())
}

//! `woof-create`: make a new woof in a namespace.

use std::io::IsTerminal;

use clap::{Parser, ValueEnum};
use woof::schema::Schema;
use woof::{CreateOptions, Durability, ErrorKind};

use crate::exit::Failure;
use crate::quantity;
use crate::target::{NamespaceArg, RemoteArgs, Target};
use woof::records;

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
  woof-create temps -n 10080 --schema 'time:timestamp=now,sensor:str16,celsius:f64,ok:bool'
                                           typed records (woof-put --csv/--json); the
                                           element size follows from the schema
  woof-create woof://cloud/srv/ns/temps -s 64 -n 100   on a proxy whose ACL gives the create right";

/// Create a woof: a fixed-size, append-only log of fixed-size elements.
///
/// The file is preallocated at its full size (so a later put can never run out of
/// space), and appears atomically. An existing woof is never replaced unless --force
/// is given.
///
/// With --schema the elements are typed records: NAME:TYPE fields separated by
/// commas, laid out in order at fixed offsets with no padding, all little-endian.
/// Types: i8 i16 i32 i64 u8 u16 u32 u64 f32 f64, bool (1 byte), timestamp (i64 ns
/// since the Unix epoch), strN (UTF-8, at most N bytes, NUL-padded), bytesN (N
/// bytes, hex in text). NAME:TYPE=DEFAULT declares the value used when a JSON
/// record or a CSV header leaves the field out (no commas in it; `now` or `-5m`
/// for a timestamp are taken at each put). Field names: letters, digits and '_',
/// not `seqno` or `put_time`. The schema is stored in the header (at most 3072
/// bytes of text); `woof-get --info` shows it with its layout. See woof(5).
#[derive(Debug, Parser)]
#[command(name = "woof-create", version, after_help = EXAMPLES)]
pub struct Args {
    /// Name of the woof: letters, digits, '.', '_', '-' (1-200 bytes, no leading
    /// dot), or a woof://host/namespace/name URI
    pub name: String,
    /// Bytes per element (1 to 64 MiB; 4K = 4096, 1kB = 1000); with --schema, may
    /// be left out
    #[arg(
        short = 's',
        long = "element-size",
        value_name = "BYTES",
        required_unless_present = "schema",
        value_parser = crate::quantity::parse
    )]
    pub element_size: Option<u64>,
    /// How many of the latest elements to keep (1 to 2^32; 1M = 1048576, 1MB =
    /// 1000000)
    #[arg(short = 'n', long = "history", value_name = "N", value_parser = crate::quantity::parse)]
    pub history: u64,
    /// Default durability of puts
    #[arg(long, value_enum, default_value = "none")]
    pub durability: DurabilityArg,
    /// Typed records: NAME:TYPE[=DEFAULT] fields, comma-separated
    #[arg(long, value_name = "SCHEMA")]
    pub schema: Option<String>,
    /// Replace an existing woof (its elements are discarded); a file that is not a
    /// woof is never replaced
    #[arg(long)]
    pub force: bool,
    /// Create it even when it needs more disk than the file system says is free
    /// (a thin-provisioned or compressing one, say)
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub ns: NamespaceArg,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let target = Target::parse(&args.name)?;
    if let Target::Cspot(uri) = &target {
        return Err(Failure::usage(format!(
            "{}: CSPOT's protocol cannot create a woof; create it on that host (its \
             WooFCreate, e.g. senspot-init), or serve it with woof-proxy",
            woof_net::cspot_client::shown(uri)
        )));
    }
    let (size, schema) = match &args.schema {
        None => (args.element_size.unwrap_or(0), Vec::new()),
        Some(text) => {
            // A schema that does not parse is a bad option value (exit 2), not bad
            // data: nothing was read yet.
            let schema = Schema::parse(text)
                .and_then(|s| records::check_defaults(&s).map(|()| s))
                .map_err(|e| Failure::usage(e.within(&args.name).to_string()))?;
            let size = schema.element_size() as u64;
            if let Some(s) = args.element_size
                && s != size
            {
                return Err(Failure::usage(format!(
                    "{}: -s {s} disagrees with the schema's {size}-byte elements (leave -s out)",
                    args.name
                )));
            }
            (size, schema.text().into_bytes())
        }
    };
    if let Target::Remote(uri) = target {
        let mut client = args.remote.connect(&uri)?;
        client.create(
            size,
            args.history,
            Some(args.durability.into()),
            &schema,
            args.force,
        )?;
        return Ok(());
    }
    let ns = args.ns.open()?;
    woof::format::check_geometry(size, args.history)?;
    // Preallocated in full: say up front when it cannot fit, rather than fail (or
    // fill the disk) half way.
    let need = woof::format::file_len(size as u32, args.history);
    if !args.yes
        && let Some(free) = free_space(ns.dir())
        && need > free
    {
        return Err(Failure::new(
            &ErrorKind::CantCreate,
            format!(
                "{}: needs {} on disk, and {} is free in {} (--yes creates it anyway)",
                args.name,
                quantity::human(need),
                quantity::human(free),
                ns.dir().display()
            ),
        ));
    }
    let mut opts = CreateOptions::new(size, args.history);
    opts.schema = schema;
    opts.durability = args.durability.into();
    opts.force = args.force;
    ns.create_woof(&args.name, &opts)?;
    if std::io::stderr().is_terminal() {
        // For people only: scripts and pipes get the quiet of a successful command.
        eprintln!(
            "woof-create: {}: {} on disk ({} elements of {} bytes)",
            args.name,
            quantity::human(need),
            args.history,
            size
        );
    }
    Ok(())
}

/// Bytes an unprivileged user may still write on the file system holding `dir`.
fn free_space(dir: &std::path::Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(st.blocks_available().saturating_mul(st.fragment_size()))
}

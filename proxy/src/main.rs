//! `woof-proxy`: serves namespaces over ZeroMQ (see `args.rs` for the command line
//! and woof(7) for the protocols).

use std::sync::Arc;

use woof::{Error, ErrorKind};
use woof_net::keys::KeyDir;
use woof_proxy::args::Args;
use woof_proxy::{auth, cache, exports, request, server};
use woof_toolkit::Failure;

fn main() -> std::process::ExitCode {
    woof_toolkit::run_main("woof-proxy", run)
}

fn run(args: Args) -> Result<(), Failure> {
    if let Some(dir) = &args.gen_keys {
        return gen_keys(dir);
    }
    let anonymous = auth::parse_rights(&args.anonymous)
        .map_err(|why| Failure::usage(format!("--anonymous: {why}")))?;
    let (exports, endpoints) = exports::plan(&args)?;
    if endpoints.len() > 255 {
        return Err(Failure::usage("at most 255 endpoints"));
    }
    let keys = args.keys.as_ref().map(KeyDir::new);
    let secret = match &keys {
        Some(k) => Some(k.identity()?.1),
        None => None,
    };
    let policy = Arc::new(auth::Policy::new(keys, anonymous)?);
    auth::reload_on_sighup(Arc::clone(&policy))?;
    let shared = request::Shared {
        exports,
        endpoints,
        policy,
        cache: cache::Cache::default(),
        follow_cap: args.timeout,
        accept_uplinks: args.accept_uplinks,
    };
    raise_descriptor_limit();
    server::run(shared, args.workers, args.followers, secret)?;
    Ok(())
}

/// Each client connection holds a descriptor: a low hard limit is said once at
/// start.
fn raise_descriptor_limit() {
    match woof_toolkit::descriptors::raise_to_hard_limit() {
        Ok(n) if n < 16_384 => eprintln!(
            "woof-proxy: descriptors: at most {n} open at once, so about {} client \
             connections; raise the hard limit (ulimit -Hn, LimitNOFILE=) for more",
            n.saturating_sub(64)
        ),
        Ok(_) => {}
        Err(e) => eprintln!("woof-proxy: descriptors: cannot raise the limit: {e}"),
    }
}

fn gen_keys(dir: &std::path::Path) -> Result<(), Failure> {
    let (public, secret) = woof_net::zmtp::curve_keypair()
        .map_err(|e| Error::new(ErrorKind::Io, "CURVE").detail(e.to_string()))?;
    let (public, secret) = (
        woof_net::z85::encode_key(&public),
        woof_net::z85::encode_key(&secret),
    );
    KeyDir::new(dir).write_identity(&public, &secret)?;
    println!("{public}");
    eprintln!(
        "woof-proxy: wrote {0}/id.key and {0}/id.pub; give id.pub to the other side",
        dir.display()
    );
    Ok(())
}

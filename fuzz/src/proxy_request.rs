//! Requests as woof-proxy receives them from anyone on the network, in both
//! protocols (woof's and CSPOT's): the same handler the sockets call, against a
//! namespace with an untyped woof, a typed woof and a handler, with anonymous
//! read, write and trigger rights. Every request gets a reply; none panics.
//!
//! The create right is withheld: each create that passed would allocate its file
//! (posix_fallocate), and millions of them would fill the disk. Creates are
//! fuzzed up to the rights check.

use std::sync::OnceLock;
use std::time::Duration;

use clap::Parser;
use woof::{CreateOptions, Namespace};
use woof_proxy::args::Args;
use woof_proxy::auth::{self, Policy};
use woof_proxy::cache::Cache;
use woof_proxy::exports;
use woof_proxy::request::{Request, Shared};
use woof_proxy::server;

struct World {
    _dir: tempfile::TempDir,
    /// The namespace's path: `@NS` in the seeds.
    path: String,
    shared: Shared,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary namespace");
        let ns = Namespace::open(dir.path()).expect("namespace");
        ns.create_woof("w", &CreateOptions::new(8, 16))
            .expect("woof w");
        let mut typed = CreateOptions::new(16, 8);
        typed.schema = b"t:timestamp,v:f64".to_vec();
        ns.create_woof("t", &typed).expect("woof t");
        let handlers = dir.path().join("handlers");
        std::fs::create_dir_all(&handlers).expect("handlers/");
        let handler = handlers.join("h");
        std::fs::write(&handler, "#!/bin/sh\n").expect("handler h");
        let exec = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&handler, exec).expect("chmod handler h");
        let export = dir.path().to_str().expect("UTF-8 path").to_string();
        let args =
            Args::try_parse_from(["woof-proxy", "--export", export.as_str()]).expect("arguments");
        let (exports, endpoints) = exports::plan(&args).expect("export plan");
        let rights = auth::parse_rights("read,write,trigger").expect("rights");
        let shared = Shared {
            exports,
            endpoints,
            policy: std::sync::Arc::new(Policy::new(None, rights).expect("policy")),
            cache: Cache::default(),
            follow_cap: Duration::ZERO,
            accept_uplinks: false,
        };
        World {
            _dir: dir,
            path: export,
            shared,
        }
    })
}

pub fn run(data: &[u8]) {
    assert!(!reply(data).is_empty(), "a request got an empty reply");
}

/// The proxy's reply to the request `data` holds (frames joined by `\0\xff`).
pub fn reply(data: &[u8]) -> Vec<Vec<u8>> {
    let w = world();
    let frames = crate::frames_in(data, &w.path);
    let req = Request {
        exports: &w.shared.endpoints[0].exports,
        user: None,
        frames: &frames,
    };
    server::answer(&w.shared, &w.shared.cache, &req)
}

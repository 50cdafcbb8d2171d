//! `woof-proxy`'s command line. Its man page and completions are rendered from this
//! definition by woof-toolkit, as every tool's are (proxy/tests/generated.rs).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

const EXAMPLES: &str = "\
Examples:
  woof-proxy --export /srv/woof/cloud --keys /etc/woof/keys    CURVE, allow-list and ACL
  woof-proxy --export /srv/woof/lab                            loopback only, no keys
  woof-proxy --export /srv/a --export /srv/b --insecure        every interface, no keys
  woof-proxy --export /srv/a --listen tcp://127.0.0.1:6000     a fixed endpoint
  woof-proxy --gen-keys ~/.woof/keys                           make a key pair (id.key, id.pub)";

/// Serve namespaces to remote woof tools and CSPOT clients over ZeroMQ.
///
/// Each exported namespace is served on CSPOT's port for its path (50000 +
/// djb2(path) % 10000) unless --listen names endpoints, in which case every export is
/// served on every listed endpoint. Two protocols share the sockets: CSPOT's (tags
/// 1-5, so unmodified CSPOT clients work) and woof's own (see woof(7)), which adds
/// batch put, ranges, info, create, follow and error replies.
///
/// With --keys DIR the proxy uses CURVE: DIR/id.key is its secret key, DIR/clients/
/// NAME.pub the clients it lets in, and DIR/acl what each may do in which namespace
/// (read, write, trigger, create). Clients and ACL are re-read on every new
/// connection, and on SIGHUP (which then applies to connections already open too);
/// SIGHUP never stops the proxy. Without --keys it binds loopback only, unless
/// --insecure.
///
/// Names from the network never leave an exported namespace: a woof that is a
/// symbolic link is refused (as by the local tools), and the answer is the same
/// whether its target exists or not.
#[derive(Debug, Parser)]
#[command(name = "woof-proxy", version, after_help = EXAMPLES)]
pub struct Args {
    /// Namespace directory to serve (repeatable)
    #[arg(
        long = "export",
        value_name = "DIR",
        required_unless_present_any = ["gen_keys", "accept_uplinks"]
    )]
    pub exports: Vec<PathBuf>,
    /// Serve on ENDPOINT (tcp://ADDR:PORT, port 0 = any free one) instead of the
    /// namespaces' CSPOT ports (repeatable)
    #[arg(long = "listen", value_name = "ENDPOINT")]
    pub listen: Vec<String>,
    /// Address the CSPOT ports bind [default: 127.0.0.1, or every interface with
    /// --keys or --insecure]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Key directory: CURVE secret key, allowed clients and ACL (see woof(7))
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "insecure",
        env = "WOOF_PROXY_KEYS",
        hide_env = true
    )]
    pub keys: Option<PathBuf>,
    /// Serve without keys on non-loopback addresses (anyone who can connect gets
    /// the --anonymous rights)
    #[arg(long)]
    pub insecure: bool,
    /// Rights of clients without keys (comma-separated: read, write, trigger,
    /// create, or all)
    #[arg(long, value_name = "RIGHTS", default_value = "read,write,trigger")]
    pub anonymous: String,
    /// Longest a follow request may wait (replies a client does not read are
    /// dropped beyond 256 MiB waiting, never waited for)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Threads serving requests (puts, gets, info, create)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: u32,
    /// Follow requests that may wait at once (parked on their woofs, answered by
    /// a few threads: a waiting follow costs memory, about 1 kB, not a thread). A
    /// follow beyond them is answered "busy" at once, unless there is something to
    /// return already, and woof-tail retries it: followers never see a false
    /// "unreachable"
    #[arg(long, value_name = "N", default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub followers: u32,
    /// Dial the cloud proxy at ENDPOINT (tcp://HOST:PORT) and keep one CURVE
    /// connection to it, over which the cloud's clients reach this proxy's exports
    /// as woof://CLOUD/@NAME/namespace/woof (NAME: this edge's key name in the
    /// cloud's clients/). For an edge behind NAT; needs --keys (its own key pair, and
    /// the cloud's id.pub in servers/HOST:PORT.pub). This proxy's ACL decides what
    /// the cloud's clients may do, by the names the cloud authenticated them as
    #[arg(long, value_name = "ENDPOINT")]
    pub uplink: Option<String>,
    /// Let edges dial in (--uplink) and route requests for /@NAME/... to edge NAME.
    /// Needs --keys; also binds the uplink port (UPLINK_PORT in woof(7)) unless
    /// --listen is given, in which case every endpoint accepts uplinks
    #[arg(long)]
    pub accept_uplinks: bool,
    /// Make a CURVE key pair in DIR (id.key, id.pub) and exit
    #[arg(long, value_name = "DIR", exclusive = true)]
    pub gen_keys: Option<PathBuf>,
}

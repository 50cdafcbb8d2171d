//! What the proxy serves where: exported namespaces and the endpoints they listen on.

use std::path::Path;

use crate::args::Args;
use woof::{Error, ErrorKind, Namespace};
use woof_net::keys::KeyDir;
use woof_net::uri::{check_namespace, cspot_port, uplink_port};

/// An exported namespace, known by its absolute path exactly as clients write it.
pub struct Export {
    pub path: String,
    pub ns: Namespace,
}

/// A socket to bind and the exports served on it (indices into the exports).
pub struct Endpoint {
    pub bind: String,
    pub exports: Vec<usize>,
    /// Not bound but dialled: the edge side of an uplink, with the key directory
    /// it authenticates with.
    pub uplink: Option<KeyDir>,
}

fn usage(what: impl Into<String>, why: impl Into<String>) -> Error {
    Error::new(ErrorKind::BadArgument, what).detail(why)
}

/// Checks every export and works out the endpoints. Exports are absolute paths
/// without a trailing slash, because the port clients compute is a hash of the path
/// exactly as written in their URI.
pub fn plan(args: &Args) -> Result<(Vec<Export>, Vec<Endpoint>), Error> {
    let mut exports: Vec<Export> = Vec::new();
    for dir in &args.exports {
        let abs = std::path::absolute(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
        let mut path = abs
            .to_str()
            .ok_or_else(|| usage(dir.display().to_string(), "not UTF-8"))?
            .to_string();
        while path.len() > 1 && path.ends_with('/') {
            path.pop();
        }
        check_namespace(&path).map_err(|why| usage(format!("--export {}", dir.display()), why))?;
        let ns = Namespace::open(Path::new(&path))?;
        if exports.iter().any(|e| e.path == path) {
            return Err(usage(format!("--export {path}"), "exported twice"));
        }
        exports.push(Export { path, ns });
    }
    let open = args.keys.is_some() || args.insecure;
    let endpoints = if args.listen.is_empty() {
        let addr = match &args.bind {
            Some(a) => a.clone(),
            None if open => "*".to_string(),
            None => "127.0.0.1".to_string(),
        };
        check_exposure(&addr, open)?;
        let mut eps: Vec<Endpoint> = Vec::new();
        for (i, e) in exports.iter().enumerate() {
            let port = cspot_port(&e.path);
            if let Some(j) = eps
                .iter()
                .position(|ep| ep.bind.ends_with(&format!(":{port}")))
            {
                return Err(usage(
                    format!("--export {}", e.path),
                    format!(
                        "its CSPOT port {port} is also {}'s; give --listen endpoints instead",
                        exports[eps[j].exports[0]].path
                    ),
                ));
            }
            eps.push(Endpoint {
                bind: format!("tcp://{}:{port}", bracket(&addr)),
                exports: vec![i],
                uplink: None,
            });
        }
        if args.accept_uplinks {
            // Where edges dial in and clients reach them (`woof://cloud/@NAME/...`
            // without a port): the uplink port, serving no export of its own.
            eps.push(Endpoint {
                bind: format!("tcp://{}:{}", bracket(&addr), uplink_port()),
                exports: Vec::new(),
                uplink: None,
            });
        }
        eps
    } else {
        let all: Vec<usize> = (0..exports.len()).collect();
        let mut eps = Vec::new();
        for l in &args.listen {
            let bind = normalise_endpoint(l)?;
            let host = bind
                .strip_prefix("tcp://")
                .and_then(|r| r.rsplit_once(':'))
                .map(|(h, _)| h.trim_matches(|c| c == '[' || c == ']').to_string())
                .unwrap_or_default();
            if bind.starts_with("tcp://") {
                check_exposure(&host, open)?;
            }
            eps.push(Endpoint {
                bind,
                exports: all.clone(),
                uplink: None,
            });
        }
        eps
    };
    let mut endpoints = endpoints;
    if let Some(up) = &args.uplink {
        let Some(keys) = &args.keys else {
            return Err(usage(
                format!("--uplink {up}"),
                "needs --keys: the cloud knows an edge by its key (its name in the cloud's clients/)",
            ));
        };
        endpoints.push(Endpoint {
            bind: up.clone(),
            exports: (0..exports.len()).collect(),
            uplink: Some(KeyDir::new(keys)),
        });
    }
    if args.accept_uplinks && args.keys.is_none() {
        return Err(usage(
            "--accept-uplinks",
            "needs --keys: an edge is known by its key name in clients/",
        ));
    }
    Ok((exports, endpoints))
}

fn bracket(addr: &str) -> String {
    if addr.contains(':') {
        format!("[{addr}]")
    } else {
        addr.to_string()
    }
}

/// `tcp://HOST:0` binds any free port (ZeroMQ writes that `*`).
fn normalise_endpoint(l: &str) -> Result<String, Error> {
    if let Some(rest) = l.strip_prefix("tcp://") {
        let Some((host, port)) = rest.rsplit_once(':') else {
            return Err(usage(format!("--listen {l}"), "expected tcp://ADDR:PORT"));
        };
        let port = match port {
            "0" | "*" => "*".to_string(),
            p => match p.parse::<u16>() {
                Ok(n) if n > 0 => n.to_string(),
                _ => return Err(usage(format!("--listen {l}"), format!("bad port '{p}'"))),
            },
        };
        return Ok(format!("tcp://{host}:{port}"));
    }
    if l.starts_with("ipc://") {
        return Ok(l.to_string());
    }
    Err(usage(
        format!("--listen {l}"),
        "expected tcp://ADDR:PORT or ipc://PATH",
    ))
}

/// Without keys, only loopback — unless the operator said --insecure.
fn check_exposure(host: &str, open: bool) -> Result<(), Error> {
    let loopback = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback());
    if loopback || open {
        return Ok(());
    }
    Err(usage(
        format!("address {host}"),
        "serving a non-loopback address without --keys needs --insecure",
    ))
}

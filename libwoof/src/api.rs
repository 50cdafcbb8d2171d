//! What each call of woofc.h does, in safe Rust: ffi.rs turns C's pointers into
//! these arguments and these results into CSPOT's return values.
//!
//! A plain name is a woof of the namespace WooFInit attached to; a `woof://` URI is
//! always reached through the woof-proxy serving it (woof's protocol, keys from
//! WOOF_KEYS, WOOF_TIMEOUT), even when it names this host: unlike CSPOT, there is
//! no guess from IP addresses about what is local.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use woof::{CreateOptions, Error, ErrorKind, Namespace, Woof};
use woof_net::Uri;
use woof_net::client::{Client, Options};

/// The namespace of WooFInit: set once, as CSPOT's globals are.
static NAMESPACE: OnceLock<Namespace> = OnceLock::new();

/// Woofs opened by name, kept open: WooFPut is then an append, not an open and a
/// map per call (measured: ~9 µs to open, against a 1 µs target for the put). A
/// BTreeMap: no random hash seed to fetch from the kernel.
static OPEN: Mutex<BTreeMap<String, Opened>> = Mutex::new(BTreeMap::new());

/// How long a woof opened by name is trusted to be the one its name names; past
/// that, the next call looks (two stats) whether `woof-create --force` replaced it.
const RECHECK: Duration = Duration::from_millis(10);

struct Opened {
    woof: Arc<Woof>,
    checked: Instant,
}

/// WooFInit: the namespace is WOOFC_DIR (CSPOT's), else WOOFC_NAMESPACE (CSPOT's
/// name for it, a path there too), else WOOF_NAMESPACE (woof's, as a handler gets
/// it), else the current directory. Does nothing the second time.
pub fn init() -> Result<(), Error> {
    if NAMESPACE.get().is_some() {
        return Ok(());
    }
    let dir = ["WOOFC_DIR", "WOOFC_NAMESPACE", "WOOF_NAMESPACE"]
        .iter()
        .find_map(|k| std::env::var_os(k).filter(|v| !v.is_empty()))
        .map(PathBuf::from);
    let dir = match dir {
        Some(d) => d,
        None => std::env::current_dir().map_err(|e| Error::io("the current directory", e))?,
    };
    let ns = Namespace::open(&dir)?;
    let _ = NAMESPACE.set(ns);
    Ok(())
}

/// Set by WooFSetInit (the handler main): init on first need, not at start, so a
/// handler that never calls the API pays nothing for it (measured: WooFInit and
/// WooFOpen took 130–170 µs of a static handler's cold start here).
static DEFERRED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn defer_init() {
    DEFERRED.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn namespace() -> Result<&'static Namespace, Error> {
    if NAMESPACE.get().is_none() && DEFERRED.load(std::sync::atomic::Ordering::Relaxed) {
        init()?;
    }
    NAMESPACE.get().ok_or_else(|| {
        Error::new(ErrorKind::BadArgument, "namespace")
            .detail("WooFInit was not called (a plain name needs a namespace)")
    })
}

/// The woof `name` names (opened once, rechecked every RECHECK).
fn local(name: &str) -> Result<Arc<Woof>, Error> {
    let ns = namespace()?;
    let mut map = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(o) = map.get_mut(name) {
        if o.checked.elapsed() < RECHECK {
            return Ok(Arc::clone(&o.woof));
        }
        if !o.woof.replaced() {
            o.checked = Instant::now();
            return Ok(Arc::clone(&o.woof));
        }
    }
    let woof = Arc::new(ns.open_woof(name)?);
    map.insert(
        name.to_string(),
        Opened {
            woof: Arc::clone(&woof),
            checked: Instant::now(),
        },
    );
    Ok(woof)
}

fn forget(name: &str) {
    OPEN.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
}

/// A woof by name or URI.
pub enum Target {
    Local(Arc<Woof>),
    Remote(Uri),
}

pub fn target(name: &str) -> Result<Target, Error> {
    if woof_net::uri::is_uri(name) {
        return Ok(Target::Remote(Uri::parse(name)?));
    }
    Ok(Target::Local(local(name)?))
}

thread_local! {
    /// One connection per woof and thread, as CSPOT caches a REQ socket per thread
    /// and endpoint; dropped after an error, so the next call reconnects.
    static CLIENTS: std::cell::RefCell<HashMap<String, Client>> =
        std::cell::RefCell::new(HashMap::new());
}

fn options() -> Options {
    let timeout = std::env::var("WOOF_TIMEOUT")
        .ok()
        .and_then(|t| humantime::parse_duration(&t).ok())
        .unwrap_or(Duration::from_secs(5));
    Options::new(timeout, None)
}

/// Runs `f` on the connection to `uri`'s proxy.
fn remote<T>(uri: &Uri, f: impl FnOnce(&mut Client) -> Result<T, Error>) -> Result<T, Error> {
    // A connection speaks for one woof (its requests name it): keyed by the URI.
    let key = uri.to_string();
    CLIENTS.with(|c| {
        let mut clients = c.borrow_mut();
        let mut client = match clients.remove(&key) {
            Some(c) => c,
            None => Client::connect(uri, &options())?,
        };
        let out = f(&mut client);
        if out.is_ok() {
            clients.insert(key, client);
        }
        out
    })
}

/// Element size of the woof `name` names.
pub fn element_size(t: &Target) -> Result<usize, Error> {
    match t {
        Target::Local(w) => Ok(w.element_size()),
        Target::Remote(u) => remote(u, |c| Ok(c.info()?.element_size as usize)),
    }
}

/// WooFCreate: as CSPOT, an existing woof is reset (re-created empty, seqnos from
/// 1 again, a new incarnation); a file that is not a woof is never touched.
pub fn create(name: &str, element_size: u64, history: u64) -> Result<(), Error> {
    if woof_net::uri::is_uri(name) {
        let uri = Uri::parse(name)?;
        return remote(&uri, |c| {
            c.create(element_size, history, None, b"", true).map(drop)
        });
    }
    let ns = namespace()?;
    let mut opts = CreateOptions::new(element_size, history);
    opts.force = true;
    forget(name);
    ns.create_woof(name, &opts).map(drop)
}

/// What puts made inside a handler carry (WOOF_CAUSE names its run).
fn cause() -> &'static str {
    static CAUSE: OnceLock<String> = OnceLock::new();
    CAUSE.get_or_init(|| std::env::var("WOOF_CAUSE").unwrap_or_default())
}

/// Puts `data` (exactly the element size) into `t`, firing `handler` if given.
pub fn put(t: &Target, name: &str, handler: Option<&str>, data: &[u8]) -> Result<u64, Error> {
    match t {
        Target::Local(w) => put_local(w, name, handler, data),
        Target::Remote(u) => remote(u, |c| c.put(handler.unwrap_or(""), cause(), None, data)),
    }
}

pub fn put_local(w: &Woof, name: &str, handler: Option<&str>, data: &[u8]) -> Result<u64, Error> {
    let durability = w.header().durability;
    match handler {
        None => w.put_with(data, durability),
        Some(h) => {
            let ns = namespace()?;
            ns.handler_path(h)?;
            let log = triggers(ns)?;
            let (seqno, _) =
                woof::trigger_log::put_triggered(&log, w, name, data, h, cause(), durability)?;
            Ok(seqno)
        }
    }
}

/// The namespace's trigger log, opened once.
fn triggers(ns: &Namespace) -> Result<Arc<Woof>, Error> {
    static LOG: Mutex<Option<Arc<Woof>>> = Mutex::new(None);
    let mut log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(l) = log.as_ref() {
        return Ok(Arc::clone(l));
    }
    let l = Arc::new(ns.trigger_log()?);
    *log = Some(Arc::clone(&l));
    Ok(l)
}

/// Element `seqno` (0: the latest) into `buf` (the element size).
pub fn get(t: &Target, seqno: u64, buf: &mut [u8]) -> Result<(), Error> {
    match t {
        Target::Local(w) => w.get(seqno, buf).map(drop),
        Target::Remote(u) => remote(u, |c| {
            let seqno = if seqno == 0 { c.info()?.latest } else { seqno };
            if seqno == 0 {
                return Err(Error::new(ErrorKind::Empty, u.name.clone()));
            }
            let got = c.get(seqno, seqno, buf.len())?;
            if got.data.len() != buf.len() {
                return Err(Error::new(ErrorKind::BadData, u.name.clone())
                    .detail("the proxy sent no element of that size"));
            }
            buf.copy_from_slice(&got.data);
            Ok(())
        }),
    }
}

pub fn latest(t: &Target) -> Result<u64, Error> {
    match t {
        Target::Local(w) => Ok(w.latest()),
        Target::Remote(u) => remote(u, |c| Ok(c.info()?.latest)),
    }
}

/// WooFOpen: a local woof (the last path component of a URI, as CSPOT).
pub fn open(name: &str) -> Result<Arc<Woof>, Error> {
    let local_name = match name.rsplit_once('/') {
        Some((_, n)) if woof_net::uri::is_uri(name) => n,
        _ => name,
    };
    local(local_name)
}

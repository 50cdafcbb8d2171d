//! The C functions of woofc.h. Every pointer C gives is checked for NULL here and
//! read only for the length the woof says (the element size), as CSPOT reads it;
//! nothing else in the crate touches C memory.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_ulong, c_void};
use std::sync::{Arc, OnceLock};

use woof::{Error, ErrorKind, Woof};

use crate::api;

// woofc.h's unsigned long is woof's u64: 64-bit Unix only (LP64).
const _: () = assert!(size_of::<c_ulong>() == size_of::<u64>());

/// CSPOT's failure value for seqnos: (unsigned long)-1.
const INVALID: c_ulong = c_ulong::MAX;

/// The handle of WooFOpen: a woof opened by name (the handler main's opens on
/// first use).
pub struct WoofHandle {
    name: String,
    woof: OnceLock<Arc<Woof>>,
}

impl WoofHandle {
    fn woof(&self) -> Result<&Arc<Woof>, Error> {
        if let Some(w) = self.woof.get() {
            return Ok(w);
        }
        let w = api::open(&self.name)?;
        Ok(self.woof.get_or_init(|| w))
    }
}

/// One line on stderr, as CSPOT reports failures, then its failure value.
fn failed<T>(call: &str, e: &Error, value: T) -> T {
    eprintln!("libwoof: {call}: {e}");
    value
}

/// `WooFGet(temps)`, naming the woof when the name could be read.
///
/// SAFETY (for callers): `name` is NULL or a NUL-terminated string.
unsafe fn call(f: &str, name: *const c_char) -> String {
    // SAFETY: forwarded contract.
    match unsafe { text(name) } {
        Some(n) => format!("{f}({n})"),
        None => f.to_string(),
    }
}

fn bad_arg(what: &str) -> Error {
    Error::new(ErrorKind::BadArgument, what.to_string())
}

/// A C string argument; None for NULL or text that is not UTF-8.
///
/// SAFETY (for callers): `p` is NULL or a NUL-terminated string, as woofc.h says.
unsafe fn text<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: not NULL, and the caller's contract is a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// The name argument, or the error that it is NULL or not text.
unsafe fn name_arg<'a>(p: *const c_char) -> Result<&'a str, Error> {
    // SAFETY: forwarded contract (NULL or NUL-terminated).
    unsafe { text(p) }.ok_or_else(|| bad_arg("woof name (NULL or not UTF-8)"))
}

/// A handler argument: NULL or "" is none.
unsafe fn handler_arg<'a>(p: *const c_char) -> Result<Option<&'a str>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL; the contract is a NUL-terminated string.
    match unsafe { text(p) } {
        Some("") => Ok(None),
        Some(h) => Ok(Some(h)),
        None => Err(bad_arg("handler name (not UTF-8)")),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn WooFInit() -> c_int {
    match api::init() {
        Ok(()) => 1,
        Err(e) => failed("WooFInit", &e, -1),
    }
}

/// CSPOT's shepherd marks init done before the handler runs; here it makes init
/// happen on the first call that needs the namespace.
#[unsafe(no_mangle)]
pub extern "C" fn WooFSetInit() {
    api::defer_init();
}

#[unsafe(no_mangle)]
pub extern "C" fn WooFInvalid(value: c_ulong) -> c_int {
    c_int::from(value == INVALID)
}

/// SAFETY: `s` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFValidURI(s: *const c_char) -> c_int {
    // SAFETY: the function's contract.
    c_int::from(unsafe { text(s) }.is_some_and(woof_net::uri::is_uri))
}

/// SAFETY: `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFCreate(
    name: *const c_char,
    element_size: c_ulong,
    history_size: c_ulong,
) -> c_int {
    // SAFETY: the function's contract.
    let r = unsafe { name_arg(name) }.and_then(|n| api::create(n, element_size, history_size));
    match r {
        Ok(()) => 1,
        // SAFETY: the function's contract.
        Err(e) => failed(&unsafe { call("WooFCreate", name) }, &e, -1),
    }
}

/// SAFETY: `name` and `handler` are NULL or NUL-terminated strings; `element`
/// points to at least the woof's element size of readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFPut(
    name: *const c_char,
    handler: *const c_char,
    element: *const c_void,
) -> c_ulong {
    // SAFETY: the function's contract, for both strings.
    let args = unsafe { name_arg(name) }.and_then(|n| Ok((n, unsafe { handler_arg(handler) }?)));
    let r = args.and_then(|(n, h)| {
        let t = api::target(n)?;
        let size = api::element_size(&t)?;
        if element.is_null() {
            return Err(bad_arg("element (NULL)"));
        }
        // SAFETY: not NULL, and the caller gives at least the element size.
        let data = unsafe { std::slice::from_raw_parts(element.cast::<u8>(), size) };
        api::put(&t, n, h, data)
    });
    match r {
        Ok(seqno) => seqno,
        // SAFETY: the function's contract.
        Err(e) => failed(&unsafe { call("WooFPut", name) }, &e, INVALID),
    }
}

/// SAFETY: `name` is NULL or a NUL-terminated string; `element` points to at least
/// the woof's element size of writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFGet(
    name: *const c_char,
    element: *mut c_void,
    seq_no: c_ulong,
) -> c_int {
    // SAFETY: the function's contract.
    let r = unsafe { name_arg(name) }.and_then(|n| {
        let t = api::target(n)?;
        let size = api::element_size(&t)?;
        if element.is_null() {
            return Err(bad_arg("element buffer (NULL)"));
        }
        // SAFETY: not NULL, and the caller gives at least the element size.
        let buf = unsafe { std::slice::from_raw_parts_mut(element.cast::<u8>(), size) };
        api::get(&t, seq_no, buf)
    });
    match r {
        Ok(()) => 1,
        // SAFETY: the function's contract.
        Err(e) => failed(&unsafe { call("WooFGet", name) }, &e, -1),
    }
}

/// SAFETY: `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFGetLatestSeqno(name: *const c_char) -> c_ulong {
    // SAFETY: the function's contract.
    let r = unsafe { name_arg(name) }.and_then(|n| api::latest(&api::target(n)?));
    match r {
        Ok(s) => s,
        // SAFETY: the function's contract.
        Err(e) => failed(&unsafe { call("WooFGetLatestSeqno", name) }, &e, INVALID),
    }
}

/// As WooFGetLatestSeqno: CSPOT's default build ignores the cause fields too.
///
/// SAFETY: `name` is NULL or a NUL-terminated string; the other pointers are not read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFGetLatestSeqnoWithCause(
    name: *const c_char,
    _cause_host: c_ulong,
    _cause_seq_no: c_ulong,
    _cause_woof_name: *const c_char,
    _cause_woof_latest_seq_no: c_ulong,
) -> c_ulong {
    // SAFETY: forwarded contract.
    unsafe { WooFGetLatestSeqno(name) }
}

/// SAFETY: `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFOpen(name: *const c_char) -> *mut WoofHandle {
    // SAFETY: the function's contract.
    let r = unsafe { name_arg(name) }.and_then(|n| {
        let woof = api::open(n)?;
        Ok(WoofHandle {
            name: n.rsplit('/').next().unwrap_or(n).to_string(),
            woof: OnceLock::from(woof),
        })
    });
    match r {
        Ok(h) => Box::into_raw(Box::new(h)),
        Err(e) => failed("WooFOpen", &e, std::ptr::null_mut()),
    }
}

/// The handle the handler main passes: woof `name` of the namespace, opened when
/// first used (the platform checked it exists); NULL only for a NULL name. Not in
/// CSPOT's API.
///
/// SAFETY: `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn woof_handler_handle(name: *const c_char) -> *mut WoofHandle {
    // SAFETY: the function's contract.
    match unsafe { name_arg(name) } {
        Ok(n) => Box::into_raw(Box::new(WoofHandle {
            name: n.to_string(),
            woof: OnceLock::new(),
        })),
        Err(e) => failed("woof_handler_handle", &e, std::ptr::null_mut()),
    }
}

/// SAFETY: `wf` is NULL or a handle from WooFOpen not yet dropped.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFDrop(wf: *mut WoofHandle) {
    if !wf.is_null() {
        // SAFETY: from Box::into_raw in WooFOpen, dropped once (the contract).
        drop(unsafe { Box::from_raw(wf) });
    }
}

/// CSPOT's older name for WooFDrop.
///
/// SAFETY: as WooFDrop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFFree(wf: *mut WoofHandle) {
    // SAFETY: forwarded contract.
    unsafe { WooFDrop(wf) }
}

/// The handle behind `wf`, or the error that it is NULL.
///
/// SAFETY: `wf` is NULL or a live handle from WooFOpen.
unsafe fn handle<'a>(wf: *const WoofHandle) -> Result<&'a WoofHandle, Error> {
    // SAFETY: the contract: NULL or a live handle.
    unsafe { wf.as_ref() }.ok_or_else(|| bad_arg("WOOF handle (NULL)"))
}

/// SAFETY: `wf` is NULL or a live handle; `handler` NULL or a NUL-terminated
/// string; `element` at least the element size of readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFAppend(
    wf: *mut WoofHandle,
    handler: *const c_char,
    element: *const c_void,
) -> c_ulong {
    // SAFETY: the function's contract for the handle and the handler name.
    let r = unsafe { handle(wf) }.and_then(|h| {
        // SAFETY: the function's contract.
        let handler = unsafe { handler_arg(handler) }?;
        if element.is_null() {
            return Err(bad_arg("element (NULL)"));
        }
        let w = h.woof()?;
        // SAFETY: not NULL, and the caller gives at least the element size.
        let data = unsafe { std::slice::from_raw_parts(element.cast::<u8>(), w.element_size()) };
        api::put_local(w, &h.name, handler, data)
    });
    match r {
        Ok(s) => s,
        Err(e) => failed("WooFAppend", &e, INVALID),
    }
}

/// Declared by CSPOT, defined here: element `seq_no` (0: the latest) of a handle.
///
/// SAFETY: `wf` is NULL or a live handle; `element` at least the element size of
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFRead(
    wf: *mut WoofHandle,
    element: *mut c_void,
    seq_no: c_ulong,
) -> c_int {
    // SAFETY: the function's contract.
    let r = unsafe { handle(wf) }.and_then(|h| {
        if element.is_null() {
            return Err(bad_arg("element buffer (NULL)"));
        }
        let w = h.woof()?;
        // SAFETY: not NULL, and the caller gives at least the element size.
        let buf = unsafe { std::slice::from_raw_parts_mut(element.cast::<u8>(), w.element_size()) };
        w.get(seq_no, buf).map(drop)
    });
    match r {
        Ok(()) => 1,
        Err(e) => failed("WooFRead", &e, -1),
    }
}

/// SAFETY: `wf` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFLatestSeqno(wf: *mut WoofHandle) -> c_ulong {
    // SAFETY: the function's contract.
    match unsafe { handle(wf) }.and_then(|h| h.woof().map(|w| w.latest())) {
        Ok(s) => s,
        Err(e) => failed("WooFLatestSeqno", &e, INVALID),
    }
}

/// CSPOT: 0 for a NULL handle; the remote element size for a URI name, else the
/// handle's.
///
/// SAFETY: `wf` is NULL or a live handle; `name` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WooFGetElSize(wf: *mut WoofHandle, name: *const c_char) -> c_ulong {
    // SAFETY: the function's contract.
    let Ok(h) = (unsafe { handle(wf) }) else {
        return 0;
    };
    // SAFETY: the function's contract.
    match unsafe { text(name) } {
        Some(n) if woof_net::uri::is_uri(n) => {
            match api::target(n).and_then(|t| api::element_size(&t)) {
                Ok(s) => s as c_ulong,
                Err(e) => failed("WooFGetElSize", &e, 0),
            }
        }
        _ => match h.woof() {
            Ok(w) => w.element_size() as c_ulong,
            Err(e) => failed("WooFGetElSize", &e, 0),
        },
    }
}

//! libwoof: CSPOT's C API (include/woofc.h) over woof, as libwoofc.a and
//! libwoofc.so, so that CSPOT programs and handlers build against woof with their
//! source unchanged (woof_c(3)). `api` holds what each call does; `ffi` the C
//! functions, the only place pointers from C are read (its own `unsafe`).
//!
//! CSPOT's conventions are kept: WooFPut returns a seqno or (unsigned long)-1,
//! WooFCreate and WooFGet 1 or -1, a failure also prints one line on stderr. Its
//! bugs are not: a NULL name, a missing woof or a missing namespace is a -1, never
//! an exit() or a crash of the caller.

pub mod api;
mod ffi;

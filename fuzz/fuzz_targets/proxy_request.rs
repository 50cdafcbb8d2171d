#![no_main]
// The target's checks live in src/proxy_request.rs, where `cargo test` replays the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| woof_fuzz::proxy_request::run(data));

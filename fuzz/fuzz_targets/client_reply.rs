#![no_main]
// The target's checks live in src/client_reply.rs, where `cargo test` replays the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| woof_fuzz::client_reply::run(data));

#![no_main]
// The target's checks live in src/zmtp_server.rs, where `cargo test` replays the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| woof_fuzz::zmtp_server::run(data));

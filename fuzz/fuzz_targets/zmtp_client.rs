#![no_main]
// The target's checks live in src/zmtp_client.rs, where `cargo test` replays the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| woof_fuzz::zmtp_client::run(data));

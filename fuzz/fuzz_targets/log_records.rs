#![no_main]
// The target's checks live in src/log_records.rs, where `cargo test` replays the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| woof_fuzz::log_records::run(data));

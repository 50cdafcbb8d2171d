#![no_main]
// The target's checks live in src/woof_file.rs, where `cargo test` replays the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| woof_fuzz::woof_file::run(data));

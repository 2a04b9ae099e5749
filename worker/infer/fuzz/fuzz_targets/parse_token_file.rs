//! Fuzzes token-file parsing: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aether_infer::parse_token_file(data);
});

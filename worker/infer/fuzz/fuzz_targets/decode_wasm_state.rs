//! Fuzzes WASM state decoding: never panics; accepted states are canonical.
#![no_main]

use aether_infer::wasm::WasmState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = WasmState::decode(data, 4) {
        assert_eq!(s.encode(), data, "accepted a non-canonical state");
    }
});

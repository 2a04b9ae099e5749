//! Fuzzes model checkpoint data decoding: never panics, and whatever is
//! accepted is canonical.
#![no_main]

use aether_infer::checkpoint::Tensor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Tensor::decode(data) {
        assert_eq!(t.encode(), data, "accepted non-canonical checkpoint data");
        let _ = aether_infer::checkpoint_hash(data);
    }
});

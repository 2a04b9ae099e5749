//! Fuzzes block decoding: never panics, and whatever is accepted is
//! canonical and hashes without panicking.
#![no_main]

use aether_types::{Block, BlockHeader, Canonical};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode(data) {
        assert_eq!(block.encode(), data, "accepted a non-canonical block");
        let _ = block.hash();
        let _ = block.compute_tx_root();
    }
    if let Ok(header) = BlockHeader::decode(data) {
        assert_eq!(header.encode(), data, "accepted a non-canonical header");
    }
});

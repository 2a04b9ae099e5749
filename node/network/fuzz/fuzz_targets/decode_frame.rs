//! Fuzzes the frame decoder: never panics, never reads past the bound it
//! announced, and whatever it accepts re-encodes to the same bytes.
#![no_main]

use aether_network::frame::{FrameLimits, decode_frame};
use libfuzzer_sys::fuzz_target;

const LIMITS: FrameLimits = FrameLimits {
    max_consensus: 1 << 20,
    max_bulk: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    if let Ok((message, used)) = decode_frame(data, &LIMITS) {
        assert!(used <= data.len());
        assert_eq!(&message.encode()[..], &data[..used], "non-canonical frame accepted");
    }
});

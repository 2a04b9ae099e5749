//! The simulated PSP's decoders on arbitrary bytes: never a panic; whatever
//! decodes re-encodes to the same bytes (the encoding is canonical).
#![no_main]

use aether_sim_psp::protocol::{RequestFrame, ResponseFrame, read_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = RequestFrame::decode(data) {
        assert_eq!(f.encode(), data);
    }
    if let Ok(f) = ResponseFrame::decode(data) {
        assert_eq!(f.encode(), data);
    }
    let mut r = data;
    while let Ok(Some(body)) = read_frame(&mut r) {
        let _ = ResponseFrame::decode(&body);
    }
});

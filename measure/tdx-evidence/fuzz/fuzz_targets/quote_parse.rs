//! The quote parser on arbitrary bytes: never panics; what parses is a TDX quote
//! whose signed region lies inside the input.
#![no_main]

use aether_tdx_evidence::TdQuote;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match TdQuote::parse(data) {
        Ok(q) => {
            assert!(matches!(q.header.version, 4 | 5));
            assert_eq!(q.header.tee_type, 0x81);
            assert!(q.signed_region(data).is_some());
            assert!(q.trailing_len <= data.len());
        }
        Err(e) => assert_ne!(e.check(), "internal", "{e}"),
    }
});

//! Fuzzes trace proof decoding and verification: never panics; accepted
//! proofs are canonical.
#![no_main]

use aether_infer::{TraceProof, verify_trace_proof};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = TraceProof::decode(data) {
        assert_eq!(p.encode(), data, "accepted a non-canonical proof");
        let root = [7u8; 32];
        let index = data.first().copied().unwrap_or(0) as usize;
        let _ = verify_trace_proof(&root, index, &[1u8; 32], &p);
    }
});

//! Fuzzes state-proof decoding and verification: never panics, whatever
//! is accepted is canonical, and verification against a root taken from
//! the input never panics either.
#![no_main]

use aether_storage::{StateProof, verify_proof};
use aether_types::{Digest, OutPoint, TxId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first 68 bytes (if any) choose the root and the out-point.
    let (head, body) = data.split_at(data.len().min(68));
    let mut fixed = [0u8; 68];
    fixed[..head.len()].copy_from_slice(head);
    let mut root = [0u8; 32];
    root.copy_from_slice(&fixed[..32]);
    let mut tx = [0u8; 32];
    tx.copy_from_slice(&fixed[32..64]);
    let index = u32::from_le_bytes([fixed[64], fixed[65], fixed[66], fixed[67]]);
    let out_point = OutPoint::new(TxId(tx), index);
    for bytes in [data, body] {
        if let Ok(proof) = StateProof::decode(bytes) {
            assert_eq!(proof.encode(), bytes, "accepted a non-canonical proof");
            let _ = verify_proof(&Digest(root), &out_point, &proof);
            let _ = verify_proof(&aether_storage::empty_root(), &out_point, &proof);
        }
    }
});

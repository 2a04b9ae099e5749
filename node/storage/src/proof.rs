//! State proofs: inclusion of an unspent output, exclusion of a spent or
//! never-created one, against a state root — verifiable without RocksDB.
//!
//! # Format
//! A [`StateProof`] is the canonical (Borsh) encoding of
//!
//! ```text
//! StateProof {
//!   output: option<TxOutput>          // the claimed output, None = claimed absent
//!   leaf: option<{ key: [u8; 32], value_hash: [u8; 32] }>
//!   siblings: vec<SiblingNode>        // at most 256, leaf level first
//! }
//! SiblingNode = Null                                   // tag 0: empty subtree
//!             | Internal { left: [u8; 32], right: [u8; 32] }   // tag 1
//!             | Leaf { key: [u8; 32], value_hash: [u8; 32] }   // tag 2
//! ```
//!
//! `leaf`/`siblings` are `jmt`'s `SparseMerkleProof` (its own Borsh
//! encoding), produced by `JellyfishMerkleTree::get_with_proof`.
//!
//! # Verification ([`verify_proof`])
//! With `k = state_key(out point)` ([`crate::tree::state_key`]):
//! - **inclusion** (`output` is `Some(o)`): `leaf.key == k` and
//!   `leaf.value_hash == H(encode(o))`;
//! - **exclusion** (`output` is `None`): either no leaf (the path ends in
//!   an empty subtree), or a leaf with another key that shares at least
//!   `siblings.len()` leading bits with `k` (the only key of the subtree
//!   where `k` would be);
//! - then, from the leaf hash (or the placeholder), fold the siblings
//!   upwards along the bits of `k` and compare with the root.
//!
//! Hashes are [`crate::tree::StateHasher`]. The check is `jmt`'s
//! `SparseMerkleProof::verify`; this module adds the canonical decoding
//! (bounded, never panics) and ties the claimed output to the proof, so a
//! light client learns "this out-point holds exactly this output" or "this
//! out-point is not unspent" from a root it trusts (a block header's
//! `state_root`).

use crate::error::{Error, Result};
use crate::tree::{StateHasher, guarded, key_hash, object_key_hash};
use aether_types::{Canonical, Digest, Object, ObjectKey, OutPoint, TxOutput, encode};
use borsh::{BorshDeserialize, BorshSerialize};
use jmt::proof::SparseMerkleProof;
use jmt::{KeyHash, RootHash};

/// Name of this proof format where proofs travel with a scheme tag (the
/// `scheme` field of `aether_getStateProof`).
pub const PROOF_SCHEME: &str = "aether-jmt-blake3-v1";

/// Most siblings a proof can have (one per bit of the key).
pub const MAX_SIBLINGS: usize = 256;

/// Largest encoded proof [`StateProof::decode`] accepts: an output of at most
/// `MAX_TX_LEN`, the leaf and 256 siblings of 65 bytes.
pub const MAX_PROOF_LEN: usize = max_proof_len::<TxOutput>();

/// Largest encoded proof of a value of type `T`.
pub const fn max_proof_len<T: Canonical>() -> usize {
    1 + T::MAX_ENCODED_LEN + 65 + 4 + MAX_SIBLINGS * 65
}

/// A proof of the state of one key of the tree: the value it claims (an
/// unspent output, or a protocol object) and the Merkle path (see the
/// module docs).
#[derive(Clone, PartialEq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ValueProof<T> {
    output: Option<T>,
    merkle: SparseMerkleProof<StateHasher>,
}

/// A proof of the state of one out-point.
pub type StateProof = ValueProof<TxOutput>;

/// A proof of the state of one protocol object (same format, the value is
/// the canonical `Object`, the key `ObjectKey::tree_key`).
pub type ObjectProof = ValueProof<Object>;

impl<T: Canonical> ValueProof<T> {
    pub(crate) fn from_parts(output: Option<T>, merkle: SparseMerkleProof<StateHasher>) -> Self {
        ValueProof { output, merkle }
    }

    /// The exclusion proof of any key in the empty tree (no leaf, no siblings).
    pub fn empty_tree() -> Self {
        // `SparseMerkleProof::new` is crate-private in `jmt`; its encoding
        // (no leaf, no siblings) is decoded instead.
        let merkle = borsh::from_slice::<SparseMerkleProof<StateHasher>>(&[0, 0, 0, 0, 0])
            .expect("the empty proof encoding is valid");
        ValueProof {
            output: None,
            merkle,
        }
    }

    /// The value the proof claims is at the key (`None`: claims there is
    /// none).
    pub fn value(&self) -> Option<&T> {
        self.output.as_ref()
    }

    /// Whether this is an inclusion proof.
    pub fn is_inclusion(&self) -> bool {
        self.output.is_some()
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes a canonical encoding: bounded length, strict Borsh (no
    /// trailing bytes, tags in range), at most [`MAX_SIBLINGS`] siblings and
    /// a well-formed value. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let max = max_proof_len::<T>();
        if bytes.len() > max {
            return Err(Error::ProofMalformed {
                reason: format!("{} bytes exceeds the limit of {max}", bytes.len()),
            });
        }
        let proof = borsh::from_slice::<Self>(bytes).map_err(|e| Error::ProofMalformed {
            reason: e.to_string(),
        })?;
        if let Some(output) = &proof.output {
            output.check().map_err(|e| Error::ProofMalformed {
                reason: format!("value: {e}"),
            })?;
        }
        let siblings = sibling_count(bytes, &proof)?;
        if siblings > MAX_SIBLINGS {
            return Err(Error::ProofMalformed {
                reason: format!("{siblings} siblings, at most {MAX_SIBLINGS}"),
            });
        }
        Ok(proof)
    }
}

impl StateProof {
    /// The output the proof claims is at the out-point (`None`: claims it is
    /// not unspent).
    pub fn output(&self) -> Option<&TxOutput> {
        self.output.as_ref()
    }
}

/// Number of siblings of a decoded proof: the `u32` count that follows the
/// output and the optional leaf in the encoding (`jmt` keeps the list
/// private).
fn sibling_count<T: Canonical>(bytes: &[u8], proof: &ValueProof<T>) -> Result<usize> {
    let output_len = encode(&proof.output).len();
    let leaf_len = if proof.merkle.leaf().is_some() { 65 } else { 1 };
    let at = output_len
        .checked_add(leaf_len)
        .ok_or(Error::ProofMalformed {
            reason: "length overflow".into(),
        })?;
    let count = bytes
        .get(at..at.saturating_add(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .ok_or(Error::ProofMalformed {
            reason: "missing sibling count".into(),
        })?;
    usize::try_from(u32::from_le_bytes(count)).map_err(|_| Error::ProofMalformed {
        reason: "sibling count does not fit usize".into(),
    })
}

/// Verifies `proof` for `out_point` against `root`.
///
/// Returns what the proof establishes: `Some(output)` — the out-point is
/// unspent and holds exactly `output`; `None` — the out-point is not in the
/// UTxO set (spent, or never created). Any inconsistency is
/// [`Error::ProofRejected`]. Pure: no I/O, no RocksDB types; never panics.
pub fn verify_proof<'p>(
    root: &Digest,
    out_point: &OutPoint,
    proof: &'p StateProof,
) -> Result<Option<&'p TxOutput>> {
    verify_value(root, key_hash(out_point), proof)
}

/// Verifies `proof` for the object at `key` against `root`: `Some(object)`
/// — the object exists and is exactly `object`; `None` — no object at
/// `key`. Pure; never panics.
pub fn verify_object_proof<'p>(
    root: &Digest,
    key: &ObjectKey,
    proof: &'p ObjectProof,
) -> Result<Option<&'p Object>> {
    verify_value(root, object_key_hash(key), proof)
}

fn verify_value<'p, T: Canonical>(
    root: &Digest,
    key: KeyHash,
    proof: &'p ValueProof<T>,
) -> Result<Option<&'p T>> {
    let value = proof.output.as_ref().map(|o| o.encode());
    guarded(|| proof.merkle.verify(RootHash(root.0), key, value)).map_err(|e| {
        Error::ProofRejected {
            reason: match e {
                Error::Tree { reason } => reason,
                other => other.to_string(),
            },
        }
    })?;
    Ok(proof.output.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::MemoryStateTree;
    use aether_types::{Address, KeyHash, TxId};
    use proptest::prelude::*;

    fn op(i: u32) -> OutPoint {
        OutPoint::new(TxId([(i as u8).wrapping_mul(37); 32]), i)
    }

    fn out(i: u32) -> TxOutput {
        TxOutput::coin(Address::Key(KeyHash([3; 32])), 2_000 + u128::from(i))
    }

    fn tree(n: u32, spent: u32) -> (MemoryStateTree, Digest) {
        let mut t = MemoryStateTree::new();
        let ops: Vec<OutPoint> = (0..n).map(op).collect();
        let outs: Vec<TxOutput> = (0..n).map(out).collect();
        t.apply([], ops.iter().zip(&outs)).unwrap();
        let root = t.apply(&ops[..spent as usize], []).unwrap();
        (t, root)
    }

    #[test]
    fn roundtrip_and_tamper() {
        let (t, root) = tree(50, 10);
        for i in [0u32, 9, 10, 49] {
            let proof = t.prove(&op(i)).unwrap();
            let bytes = proof.encode();
            let back = StateProof::decode(&bytes).unwrap();
            assert_eq!(back, proof);
            assert_eq!(back.encode(), bytes);
            assert_eq!(back.is_inclusion(), i >= 10);
            verify_proof(&root, &op(i), &back).unwrap();
            // Wrong out-point, wrong root.
            assert!(verify_proof(&root, &op(i + 1000), &back).is_err());
            let mut other = root;
            other.0[0] ^= 1;
            assert!(verify_proof(&other, &op(i), &back).is_err());
        }
        // An inclusion proof with a different output claimed.
        let mut forged = t.prove(&op(20)).unwrap();
        forged.output = Some(out(21));
        assert!(matches!(
            verify_proof(&root, &op(20), &forged),
            Err(Error::ProofRejected { .. })
        ));
        // Claiming a live output is absent.
        let mut forged = t.prove(&op(20)).unwrap();
        forged.output = None;
        assert!(verify_proof(&root, &op(20), &forged).is_err());
        // Claiming a spent output is present.
        let mut forged = t.prove(&op(3)).unwrap();
        forged.output = Some(out(3));
        assert!(verify_proof(&root, &op(3), &forged).is_err());
    }

    #[test]
    fn every_bit_flip_of_a_proof_is_rejected_or_undecodable() {
        let (t, root) = tree(30, 5);
        for i in [2u32, 17] {
            let proof = t.prove(&op(i)).unwrap();
            let claimed = proof.output().cloned();
            let bytes = proof.encode();
            for bit in 0..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                if let Ok(p) = StateProof::decode(&b) {
                    // A flip in an unused sibling field could be harmless only if
                    // the proof still proves the same fact; it must never prove
                    // something else.
                    if let Ok(got) = verify_proof(&root, &op(i), &p) {
                        assert_eq!(got.cloned(), claimed, "bit {bit} changed the proven state");
                    }
                }
            }
        }
    }

    #[test]
    fn oversize_and_truncated_are_malformed() {
        let (t, _) = tree(10, 0);
        let bytes = t.prove(&op(1)).unwrap().encode();
        for cut in 0..bytes.len() {
            assert!(matches!(
                StateProof::decode(&bytes[..cut]),
                Err(Error::ProofMalformed { .. })
            ));
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(StateProof::decode(&long).is_err());
        assert!(StateProof::decode(&vec![0; MAX_PROOF_LEN + 1]).is_err());
        // 257 null siblings.
        let mut many = vec![0u8, 0u8];
        many.extend_from_slice(&257u32.to_le_bytes());
        many.extend(std::iter::repeat_n(0u8, 257));
        assert!(matches!(
            StateProof::decode(&many),
            Err(Error::ProofMalformed { .. })
        ));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(p) = StateProof::decode(&bytes) {
                prop_assert_eq!(p.encode(), bytes);
                let _ = verify_proof(&Digest([0; 32]), &op(0), &p);
            }
        }

        #[test]
        fn mutated_proofs_never_panic(i in 0u32..40, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let (t, root) = tree(40, 8);
            let mut bytes = t.prove(&op(i)).unwrap().encode();
            for (at, x) in flips {
                let at = at % bytes.len();
                bytes[at] ^= x;
            }
            if let Ok(p) = StateProof::decode(&bytes) {
                let _ = verify_proof(&root, &op(i), &p);
            }
        }
    }
}

//! Checkpoint hashes and the Merkle trace root over them.
//!
//! # Hashes
//! All hashes are BLAKE3 in key-derivation mode, with a context string per
//! use (the domain tag), so no hash of one kind can stand for another:
//!
//! | value | definition |
//! |---|---|
//! | checkpoint hash | `BLAKE3-derive-key("aether-infer v1 checkpoint", data)` |
//! | leaf | `BLAKE3-derive-key("aether-infer v1 trace leaf", checkpoint hash)` |
//! | inner node | `BLAKE3-derive-key("aether-infer v1 trace node", left ‖ right)` |
//! | trace root | `BLAKE3-derive-key("aether-infer v1 trace root", u32-le(n) ‖ MTH(leaves))` |
//!
//! `data` is a checkpoint's canonical data ([`crate::checkpoint`] for model
//! runs, [`crate::wasm`] states for WASM jobs).
//!
//! # Tree
//! `MTH` is the Merkle tree hash of RFC 6962 §2.1 with the hashes above:
//! for n = 1 it is the leaf; for n > 1, with k the largest power of two
//! below n, `MTH(D[0..n]) = node(MTH(D[0..k]), MTH(D[k..n]))`. The root binds
//! the leaf count n, so a proof made for another tree size fails. (n = 0 has
//! the all-zero MTH; it has no proofs.)
//!
//! # Proofs
//! A [`TraceProof`] for leaf `i` is the leaf count and the audit path of RFC
//! 6962 §2.1.1 (siblings from the leaf upwards). [`verify_trace_proof`]
//! follows RFC 9162 §2.1.3.2. A challenger proves checkpoint j-1's data
//! against a provider's trace root with
//! `verify_trace_proof(root, j - 1, &checkpoint_hash(data), &proof)`.
//!
//! Proof encoding (canonical, [`TraceProof::encode`]):
//! `u32-le leaf_count ‖ u8 path length ‖ path hashes (32 bytes each)`;
//! the path length must be the one the index and leaf count imply.

/// A 32-byte hash.
pub type Hash = [u8; 32];

const CHECKPOINT: &str = "aether-infer v1 checkpoint";
const LEAF: &str = "aether-infer v1 trace leaf";
const NODE: &str = "aether-infer v1 trace node";
const ROOT: &str = "aether-infer v1 trace root";

/// The longest audit path (trees of at most 2³² leaves).
pub const MAX_PATH: usize = 32;

/// The hash of a checkpoint's data.
pub fn checkpoint_hash(data: &[u8]) -> Hash {
    *blake3::Hasher::new_derive_key(CHECKPOINT)
        .update(data)
        .finalize()
        .as_bytes()
}

fn leaf(checkpoint: &Hash) -> Hash {
    *blake3::Hasher::new_derive_key(LEAF)
        .update(checkpoint)
        .finalize()
        .as_bytes()
}

fn node(left: &Hash, right: &Hash) -> Hash {
    *blake3::Hasher::new_derive_key(NODE)
        .update(left)
        .update(right)
        .finalize()
        .as_bytes()
}

fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => [0; 32],
        1 => leaf(&leaves[0]),
        n => {
            let k = split(n);
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The largest power of two below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn bind_count(count: u32, tree: &Hash) -> Hash {
    *blake3::Hasher::new_derive_key(ROOT)
        .update(&count.to_le_bytes())
        .update(tree)
        .finalize()
        .as_bytes()
}

/// The trace root over checkpoint hashes, in checkpoint order.
///
/// # Panics
/// With more than 2³² − 1 checkpoints (a job never has that many).
pub fn trace_root(checkpoints: &[Hash]) -> Hash {
    let count = u32::try_from(checkpoints.len()).expect("fewer than 2^32 checkpoints");
    bind_count(count, &mth(checkpoints))
}

/// An inclusion proof of one checkpoint hash under a trace root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceProof {
    /// Number of checkpoints in the trace.
    pub leaf_count: u32,
    /// Sibling hashes from the leaf upwards.
    pub path: Vec<Hash>,
}

/// Why a proof does not decode, or cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index is not a leaf of the tree.
    #[error("checkpoint index {index} is outside a trace of {count}")]
    Index {
        /// The index.
        index: usize,
        /// The leaf count.
        count: usize,
    },
    /// Proof bytes of the wrong length.
    #[error("proof encoding: expected {expected} bytes, found {found}")]
    Length {
        /// Bytes expected.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// More path entries than any tree has.
    #[error("proof path of {0} hashes is longer than {MAX_PATH}")]
    PathTooLong(usize),
}

fn audit_path(index: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        audit_path(index, &leaves[..k], out);
        out.push(mth(&leaves[k..]));
    } else {
        audit_path(index - k, &leaves[k..], out);
        out.push(mth(&leaves[..k]));
    }
}

/// The proof that `checkpoints[index]` is in `trace_root(checkpoints)`.
pub fn trace_proof(checkpoints: &[Hash], index: usize) -> Result<TraceProof, ProofError> {
    let count = checkpoints.len();
    let leaf_count = u32::try_from(count)
        .ok()
        .filter(|_| index < count)
        .ok_or(ProofError::Index { index, count })?;
    let mut path = Vec::new();
    audit_path(index, checkpoints, &mut path);
    Ok(TraceProof { leaf_count, path })
}

/// True if `proof` shows that checkpoint hash `leaf_hash` is checkpoint
/// `index` of the trace whose root is `root`.
pub fn verify_trace_proof(root: &Hash, index: usize, leaf_hash: &Hash, proof: &TraceProof) -> bool {
    let count = proof.leaf_count as usize;
    if index >= count || proof.path.len() > MAX_PATH {
        return false;
    }
    // RFC 9162 §2.1.3.2.
    let (mut f_n, mut s_n) = (index, count - 1);
    let mut r = leaf(leaf_hash);
    for p in &proof.path {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && bind_count(proof.leaf_count, &r) == *root
}

impl TraceProof {
    /// The canonical encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + 32 * self.path.len());
        out.extend_from_slice(&self.leaf_count.to_le_bytes());
        out.push(self.path.len() as u8);
        for h in &self.path {
            out.extend_from_slice(h);
        }
        out
    }

    /// Decodes [`TraceProof::encode`]'s output; never panics.
    pub fn decode(bytes: &[u8]) -> Result<TraceProof, ProofError> {
        let (head, rest) = bytes.split_at_checked(5).ok_or(ProofError::Length {
            expected: 5,
            found: bytes.len(),
        })?;
        let leaf_count = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let len = head[4] as usize;
        if len > MAX_PATH {
            return Err(ProofError::PathTooLong(len));
        }
        if rest.len() != 32 * len {
            return Err(ProofError::Length {
                expected: 5 + 32 * len,
                found: bytes.len(),
            });
        }
        let path = rest
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(TraceProof { leaf_count, path })
    }
}

/// The checkpoint hashes of one run and their trace root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    hashes: Vec<Hash>,
    root: Hash,
}

impl Trace {
    /// The trace of checkpoint hashes, in order.
    pub fn from_hashes(hashes: Vec<Hash>) -> Trace {
        let root = trace_root(&hashes);
        Trace { hashes, root }
    }

    /// The trace of checkpoint data, in order.
    pub fn of_data<D: AsRef<[u8]>>(checkpoints: &[D]) -> Trace {
        Trace::from_hashes(
            checkpoints
                .iter()
                .map(|d| checkpoint_hash(d.as_ref()))
                .collect(),
        )
    }

    /// The trace root.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The checkpoint hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The proof of checkpoint `index`: see [`trace_proof`].
    pub fn proof(&self, index: usize) -> Result<TraceProof, ProofError> {
        trace_proof(&self.hashes, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| checkpoint_hash(&(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn every_proof_of_every_small_tree_verifies_and_only_there() {
        for n in 1..=20 {
            let cps = leaves(n);
            let root = trace_root(&cps);
            for i in 0..n {
                let proof = trace_proof(&cps, i).unwrap();
                assert!(verify_trace_proof(&root, i, &cps[i], &proof), "n={n} i={i}");
                assert_eq!(TraceProof::decode(&proof.encode()).unwrap(), proof);
                // Wrong leaf, wrong index, wrong count, tampered path, wrong root.
                let other = checkpoint_hash(b"other");
                assert!(!verify_trace_proof(&root, i, &other, &proof));
                for j in (0..n).filter(|j| cps[*j] != cps[i] && *j != i) {
                    assert!(
                        !verify_trace_proof(&root, j, &cps[i], &proof),
                        "n={n} i={i} j={j}"
                    );
                }
                let mut bad = proof.clone();
                bad.leaf_count += 1;
                assert!(!verify_trace_proof(&root, i, &cps[i], &bad));
                if !proof.path.is_empty() {
                    let mut bad = proof.clone();
                    bad.path[0][0] ^= 1;
                    assert!(!verify_trace_proof(&root, i, &cps[i], &bad));
                    let mut short = proof.clone();
                    short.path.pop();
                    assert!(!verify_trace_proof(&root, i, &cps[i], &short));
                }
                let mut long = proof.clone();
                long.path.push([0; 32]);
                assert!(!verify_trace_proof(&root, i, &cps[i], &long));
                let mut other_root = root;
                other_root[5] ^= 1;
                assert!(!verify_trace_proof(&other_root, i, &cps[i], &proof));
            }
            assert!(trace_proof(&cps, n).is_err());
        }
    }

    #[test]
    fn root_binds_count_and_order() {
        let cps = leaves(4);
        let mut swapped = cps.clone();
        swapped.swap(1, 2);
        assert_ne!(trace_root(&cps), trace_root(&swapped));
        assert_ne!(trace_root(&cps[..3]), trace_root(&cps));
        // A single checkpoint: the root still differs from the bare hash.
        assert_ne!(trace_root(&cps[..1]), cps[0]);
    }

    #[test]
    fn hash_kinds_are_separated() {
        let x = [9u8; 32];
        assert_ne!(checkpoint_hash(&x), leaf(&x));
        assert_ne!(node(&x, &x), checkpoint_hash(&[x, x].concat()));
    }

    proptest! {
        #[test]
        fn proof_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(p) = TraceProof::decode(&bytes) {
                prop_assert_eq!(p.encode(), bytes);
            }
        }

        #[test]
        fn random_proofs_do_not_verify(count in 1u32..100, index in 0usize..100, path in proptest::collection::vec(any::<[u8; 32]>(), 0..8)) {
            let cps = leaves(5);
            let root = trace_root(&cps);
            let proof = TraceProof { leaf_count: count, path };
            for (i, cp) in cps.iter().enumerate() {
                let honest = trace_proof(&cps, i).unwrap();
                if proof != honest {
                    prop_assert!(!verify_trace_proof(&root, index, cp, &proof));
                }
            }
        }
    }
}

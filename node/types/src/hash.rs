//! Hashing: domain-separated BLAKE3 digests, typed identifiers and a binary
//! Merkle tree.
//!
//! # Choice of hash
//! Every identifier of the protocol is a 32-byte **BLAKE3** digest. BLAKE3 is
//! fast on small inputs (a transaction body is a few hundred bytes, and a
//! block executes 100k of them), has a 256-bit output with 128-bit collision
//! resistance, and is a single well-reviewed crate (`blake3`). SHA-256 stays
//! where foreign formats require it (TEE evidence, in `aether-measure`).
//!
//! # Domain separation
//! A digest is always computed as
//!
//! ```text
//! digest = BLAKE3( tag || 0x00 || data )
//! ```
//!
//! where `tag` is one of the ASCII constants in [`tag`] (none contains a NUL
//! byte, so the `tag || 0x00` prefixes are prefix-free: two different tags
//! can never produce the same hashed byte string). The data is the canonical
//! encoding ([`crate::codec`]) of the hashed value.
//!
//! # Merkle tree
//! [`merkle_root`] builds a binary tree over already-hashed leaves:
//! `node = H(tag::MERKLE_NODE, left || right)`; an odd node at the end of a
//! level is promoted unchanged to the next level (never duplicated, which
//! avoids the CVE-2012-2459 ambiguity of Bitcoin's tree); the root of one leaf
//! is the leaf; the root of no leaves is `H(tag::MERKLE_EMPTY, "")`. Leaves and
//! nodes use different tags, so a node can never be passed off as a leaf.

use borsh::{BorshDeserialize, BorshSerialize};
use std::fmt;

/// Domain-separation tags of every digest in the protocol. Changing one is a
/// hard fork; the wire-format conformance test pins their effect.
pub mod tag {
    /// Transaction id: hash of the canonical encoding of the [`crate::TxBody`].
    pub const TX_BODY: &str = "aether/tx-body/v1";
    /// Hash of the canonical encoding of a transaction's [`crate::TxWitnesses`].
    pub const TX_WITNESSES: &str = "aether/tx-witnesses/v1";
    /// Block hash: hash of the canonical encoding of the [`crate::BlockHeader`].
    pub const BLOCK_HEADER: &str = "aether/block-header/v1";
    /// Script hash (and minting policy id): hash of the encoded [`crate::Script`].
    pub const SCRIPT: &str = "aether/script/v1";
    /// Key hash: hash of the 32 bytes of an ed25519 public key.
    pub const KEY: &str = "aether/ed25519-key/v1";
    /// Leaf of the transaction tree of a block: `tx id || witnesses hash`.
    pub const TX_LEAF: &str = "aether/tx-leaf/v1";
    /// Leaf of the receipt tree of a block: the encoded [`crate::Receipt`].
    pub const RECEIPT_LEAF: &str = "aether/receipt-leaf/v1";
    /// Leaf of the UTxO-set commitment: `encode(out point) || encode(output)`.
    pub const UTXO_LEAF: &str = "aether/utxo-leaf/v1";
    /// Inner node of every Merkle tree.
    pub const MERKLE_NODE: &str = "aether/merkle-node/v1";
    /// Root of an empty Merkle tree.
    pub const MERKLE_EMPTY: &str = "aether/merkle-empty/v1";
    /// Hash of a block's state diff ([`crate::Receipt`]s aside): see the ledger.
    pub const STATE_DIFF: &str = "aether/state-diff/v1";
    /// Registry key of a launch measurement.
    pub const MEASUREMENT: &str = "aether/measurement/v1";
    /// Provider id: registering transaction id and action index.
    pub const PROVIDER_ID: &str = "aether/provider-id/v1";
    /// Job id: posting transaction id and action index.
    pub const JOB_ID: &str = "aether/job-id/v1";
    /// Evidence id: the hardware-signed bytes (replay key).
    pub const EVIDENCE: &str = "aether/evidence/v1";
    /// Hash of job data (inputs, outputs, modules).
    pub const JOB_DATA: &str = "aether/job-data/v1";
    /// Hash of what a job computes (model or module, input).
    pub const JOB_INPUT: &str = "aether/job-input/v1";
    /// Leaf of an output's KZG commitment tree.
    pub const KZG_LEAF: &str = "aether/kzg-leaf/v1";
    /// Hash of a verifiable compute receipt body.
    pub const VCR_BODY: &str = "aether/vcr-body/v1";
    /// Leaf of the receipts tree for the block boundary's receipt.
    pub const BOUNDARY_RECEIPT: &str = "aether/boundary-receipt/v1";
    /// Pseudo-transaction id of the outputs a block boundary creates.
    pub const BOUNDARY_TX: &str = "aether/boundary-tx/v1";
    /// Validator id: its BLS public key.
    pub const VALIDATOR_ID: &str = "aether/validator-id/v1";
    /// Delegation id: validator id and delegator key hash.
    pub const DELEGATION_ID: &str = "aether/delegation-id/v1";
    /// Slash id: validator, epoch, round and kind of an equivocation.
    pub const SLASH_ID: &str = "aether/slash-id/v1";
}

/// Hashes the concatenation of `parts` under the domain `tag` (see the module
/// docs for the exact construction).
pub fn tagged_hash(tag: &str, parts: &[&[u8]]) -> Digest {
    let mut hasher = blake3::Hasher::new();
    hasher.update(tag.as_bytes());
    hasher.update(&[0u8]);
    for part in parts {
        hasher.update(part);
    }
    Digest(*hasher.finalize().as_bytes())
}

macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
        )]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Length of the digest in bytes.
            pub const LEN: usize = 32;

            /// The raw 32 bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Parses 64 hexadecimal digits (no `0x` prefix).
            pub fn from_hex(text: &str) -> Result<Self, crate::Error> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(text, &mut out)
                    .map_err(|_| crate::Error::BadHex { expected_bytes: 32 })?;
                Ok(Self(out))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }

        impl From<[u8; 32]> for $name {
            fn from(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }
        }
    };
}

pub(crate) use digest_type;

digest_type!(
    /// A 32-byte BLAKE3 digest (untyped: roots, leaves, commitments).
    Digest
);
digest_type!(
    /// Transaction id: `H(tag::TX_BODY, encode(body))`. Witnesses are not part
    /// of the id, so signatures sign the id itself.
    TxId
);
digest_type!(
    /// Block hash: `H(tag::BLOCK_HEADER, encode(header))`.
    BlockHash
);
digest_type!(
    /// Hash of an ed25519 public key: `H(tag::KEY, public_key)`. Key-locked
    /// addresses and required signers name keys by this hash.
    KeyHash
);
digest_type!(
    /// Hash of a script: `H(tag::SCRIPT, encode(script))`. Script-locked
    /// addresses and minting policies ([`PolicyId`]) name scripts by it.
    ScriptHash
);

/// A minting policy is named by the hash of its script.
pub type PolicyId = ScriptHash;

impl KeyHash {
    /// The key hash of a 32-byte ed25519 public key.
    pub fn of_public_key(public_key: &[u8; 32]) -> Self {
        KeyHash(tagged_hash(tag::KEY, &[public_key]).0)
    }
}

/// Root of the binary Merkle tree over `leaves` (see the module docs).
pub fn merkle_root(leaves: &[Digest]) -> Digest {
    if leaves.is_empty() {
        return tagged_hash(tag::MERKLE_EMPTY, &[]);
    }
    let mut level: Vec<Digest> = leaves.to_vec();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            match pair {
                [left, right] => next.push(tagged_hash(tag::MERKLE_NODE, &[&left.0, &right.0])),
                [odd] => next.push(*odd),
                _ => {}
            }
        }
        level = next;
    }
    level[0]
}

/// The sibling hashes that prove leaf `index` of the tree [`merkle_root`]
/// builds over `leaves`, bottom-up (a promoted odd node has no sibling at
/// that level). `None` if `index` is out of range.
pub fn merkle_proof(leaves: &[Digest], index: usize) -> Option<Vec<Digest>> {
    if index >= leaves.len() {
        return None;
    }
    let mut siblings = Vec::new();
    let mut level: Vec<Digest> = leaves.to_vec();
    let mut pos = index;
    while level.len() > 1 {
        let sibling = pos ^ 1;
        if sibling < level.len() {
            siblings.push(level[sibling]);
        }
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            match pair {
                [left, right] => next.push(tagged_hash(tag::MERKLE_NODE, &[&left.0, &right.0])),
                [odd] => next.push(*odd),
                _ => {}
            }
        }
        level = next;
        pos /= 2;
    }
    Some(siblings)
}

/// Whether `siblings` proves that `leaf` is leaf `index` of a tree of
/// `leaf_count` leaves with root `root` (see [`merkle_proof`]). Never
/// panics; a proof with missing or extra siblings fails.
pub fn verify_merkle_proof(
    root: &Digest,
    leaf: &Digest,
    index: u64,
    leaf_count: u64,
    siblings: &[Digest],
) -> bool {
    if index >= leaf_count {
        return false;
    }
    let (mut pos, mut n, mut hash) = (index, leaf_count, *leaf);
    let mut rest = siblings.iter();
    while n > 1 {
        if pos % 2 == 1 {
            let Some(left) = rest.next() else {
                return false;
            };
            hash = tagged_hash(tag::MERKLE_NODE, &[&left.0, &hash.0]);
        } else if pos + 1 < n {
            let Some(right) = rest.next() else {
                return false;
            };
            hash = tagged_hash(tag::MERKLE_NODE, &[&hash.0, &right.0]);
        }
        pos /= 2;
        n = n.div_ceil(2);
    }
    rest.next().is_none() && hash == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_distinct_and_nul_free() {
        let tags = [
            tag::TX_BODY,
            tag::TX_WITNESSES,
            tag::BLOCK_HEADER,
            tag::SCRIPT,
            tag::KEY,
            tag::TX_LEAF,
            tag::RECEIPT_LEAF,
            tag::UTXO_LEAF,
            tag::MERKLE_NODE,
            tag::MERKLE_EMPTY,
            tag::STATE_DIFF,
            tag::MEASUREMENT,
            tag::PROVIDER_ID,
            tag::JOB_ID,
            tag::EVIDENCE,
            tag::JOB_DATA,
            tag::JOB_INPUT,
            tag::KZG_LEAF,
            tag::VCR_BODY,
            tag::BOUNDARY_RECEIPT,
            tag::BOUNDARY_TX,
            crate::object::OBJECT_KEY_TAG,
        ];
        for (i, a) in tags.iter().enumerate() {
            assert!(!a.as_bytes().contains(&0));
            for b in &tags[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn domain_separation_changes_digest() {
        assert_ne!(
            tagged_hash(tag::TX_BODY, &[b"x"]),
            tagged_hash(tag::SCRIPT, &[b"x"])
        );
        // Concatenation of parts is the hashed string.
        assert_eq!(
            tagged_hash(tag::TX_BODY, &[b"ab", b"c"]),
            tagged_hash(tag::TX_BODY, &[b"abc"])
        );
    }

    #[test]
    fn merkle_shapes() {
        let leaf = |i: u8| tagged_hash(tag::UTXO_LEAF, &[&[i]]);
        let node = |a: Digest, b: Digest| tagged_hash(tag::MERKLE_NODE, &[&a.0, &b.0]);
        assert_eq!(merkle_root(&[]), tagged_hash(tag::MERKLE_EMPTY, &[]));
        assert_eq!(merkle_root(&[leaf(1)]), leaf(1));
        assert_eq!(merkle_root(&[leaf(1), leaf(2)]), node(leaf(1), leaf(2)));
        // Odd leaf promoted, not duplicated.
        assert_eq!(
            merkle_root(&[leaf(1), leaf(2), leaf(3)]),
            node(node(leaf(1), leaf(2)), leaf(3))
        );
        assert_ne!(
            merkle_root(&[leaf(1), leaf(2), leaf(3)]),
            merkle_root(&[leaf(1), leaf(2), leaf(3), leaf(3)])
        );
    }

    #[test]
    fn merkle_proofs_verify_every_leaf_and_nothing_else() {
        for n in 1..=17usize {
            let leaves: Vec<Digest> = (0..n)
                .map(|i| tagged_hash(tag::UTXO_LEAF, &[&[i as u8]]))
                .collect();
            let root = merkle_root(&leaves);
            for i in 0..n {
                let proof = merkle_proof(&leaves, i).unwrap();
                assert!(verify_merkle_proof(
                    &root, &leaves[i], i as u64, n as u64, &proof
                ));
                let other = (i + 1) % n;
                if other != i {
                    assert!(!verify_merkle_proof(
                        &root,
                        &leaves[other],
                        i as u64,
                        n as u64,
                        &proof
                    ));
                    assert!(!verify_merkle_proof(
                        &root,
                        &leaves[i],
                        other as u64,
                        n as u64,
                        &proof
                    ));
                }
                let mut longer = proof.clone();
                longer.push(root);
                assert!(!verify_merkle_proof(
                    &root, &leaves[i], i as u64, n as u64, &longer
                ));
                if let Some((_, shorter)) = proof.split_last() {
                    assert!(!verify_merkle_proof(
                        &root, &leaves[i], i as u64, n as u64, shorter
                    ));
                }
            }
            assert!(merkle_proof(&leaves, n).is_none());
            assert!(!verify_merkle_proof(
                &root,
                &leaves[0],
                n as u64,
                n as u64,
                &[]
            ));
        }
    }

    #[test]
    fn hex_roundtrip() {
        let id = TxId([0xab; 32]);
        assert_eq!(TxId::from_hex(&id.to_string()).unwrap(), id);
        assert!(TxId::from_hex("zz").is_err());
        assert!(TxId::from_hex(&"00".repeat(31)).is_err());
    }
}

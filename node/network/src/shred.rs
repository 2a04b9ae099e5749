//! Shreds: a block cut into erasure-coded, Merkle-proven, signed pieces of
//! about 1 KB (the wire unit of [`crate::turbine`]).
//!
//! # Cutting a block
//! The block's bytes are cut into **batches** of [`BATCH_DATA_BYTES`]
//! (32 KiB; the last batch holds the rest). A batch's bytes, zero-padded,
//! are split into [`DATA_SHREDS`] (32) equal data shards of `shard_len`
//! bytes, and [`reed_solomon_simd`] makes [`CODING_SHREDS`] (32) coding
//! shards of the same length; **any 32 of the 64** rebuild the batch.
//! `shard_len` is a function of the block length and the batch number
//! (1,024 for full batches; `ceil(rest / 32)` rounded up to even, at least
//! 2, for the last), so it is checked, not trusted.
//!
//! The block is named by `block = H("aether/shred-block/v1", bytes)`: a
//! receiver that rebuilt every batch checks the bytes against it.
//!
//! # Proof and signature
//! Leaf `i` of a batch is `H("aether/shred-leaf/v1", i as u8 || shard_i)`;
//! the 64 leaves form the protocol's binary Merkle tree
//! (`aether_types::merkle_root`, six levels), whose **root the leader
//! signs once per batch** with its ed25519 node key:
//!
//! ```text
//! signed = "aether/shred-batch/v1" || 0x00 || origin: u16 LE || block: [32]
//!          || block_len: u64 LE || batch: u32 LE || root: [32]
//! ```
//! Every shred carries its six sibling hashes, so a receiver checks one
//! shred alone: the proof against the root (a hash per level), then the
//! signature over the root (once per batch; [`crate::turbine`] caches
//! verified roots).
//!
//! # Wire format (little-endian, fixed layout, 338-byte header)
//! ```text
//! offset size  field
//!   0     1    version = 1
//!   1     2    origin: u16       leader's validator index
//!   3    32    block             H(block bytes), see above
//!  35     8    block_len: u64    1..=u64::MAX (receivers bound it)
//!  43     4    batch: u32        < ceil(block_len / 32768)
//!  47     1    index: u8         0..32 data, 32..64 coding
//!  48     2    shard_len: u16    must equal the value block_len and batch give
//!  50    32    root              the batch's Merkle root
//!  82    64    signature         ed25519 over `signed`
//! 146   192    proof             6 sibling hashes, leaf level first
//! 338   shard_len  shard
//! ```
//! [`Shred::decode`] checks the length first, then every field's range,
//! and never panics (property tests and a fuzz target feed it arbitrary
//! bytes).

use crate::error::ShredError;
use aether_crypto::ed25519::{Keypair, ParsedPublicKey, verify_parsed};
use aether_types::{Digest, Signature, ValidatorIndex, tagged_hash, verify_merkle_proof};
use bytes::{BufMut, Bytes, BytesMut};
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

/// Data shards per batch.
pub const DATA_SHREDS: usize = 32;
/// Coding (recovery) shards per batch.
pub const CODING_SHREDS: usize = 32;
/// Shreds per batch (data then coding).
pub const SHREDS_PER_BATCH: usize = DATA_SHREDS + CODING_SHREDS;
/// Largest shard (the shard of a full batch).
pub const MAX_SHARD_LEN: usize = 1024;
/// Block bytes per batch.
pub const BATCH_DATA_BYTES: usize = DATA_SHREDS * MAX_SHARD_LEN;
/// Sibling hashes in a proof (`log2(SHREDS_PER_BATCH)`).
pub const PROOF_LEN: usize = 6;
/// Length of the fixed header before the shard.
pub const HEADER_LEN: usize = 338;
/// Largest encoded shred.
pub const MAX_SHRED_LEN: usize = HEADER_LEN + MAX_SHARD_LEN;
/// Wire version of the shred format.
pub const SHRED_VERSION: u8 = 1;

/// Hash tag of a block's id.
pub const BLOCK_TAG: &str = "aether/shred-block/v1";
/// Hash tag of a Merkle leaf.
pub const LEAF_TAG: &str = "aether/shred-leaf/v1";
/// Prefix of what the leader signs for a batch.
pub const BATCH_TAG: &str = "aether/shred-batch/v1";

/// The id of a block broadcast as shreds: `H(BLOCK_TAG, bytes)`.
pub fn block_id(bytes: &[u8]) -> Digest {
    tagged_hash(BLOCK_TAG, &[bytes])
}

/// Number of batches of a block of `block_len` bytes (0 for an empty block,
/// which cannot be shredded).
pub fn batch_count(block_len: u64) -> u64 {
    block_len.div_ceil(BATCH_DATA_BYTES as u64)
}

/// Bytes of the block in batch `batch` (0 if out of range).
fn batch_bytes(block_len: u64, batch: u64) -> usize {
    let start = batch.saturating_mul(BATCH_DATA_BYTES as u64);
    if start >= block_len {
        return 0;
    }
    (block_len - start).min(BATCH_DATA_BYTES as u64) as usize
}

/// The shard length of batch `batch` of a block of `block_len` bytes (see
/// the module docs); 0 if the batch does not exist.
pub fn shard_len(block_len: u64, batch: u64) -> usize {
    let bytes = batch_bytes(block_len, batch);
    if bytes == 0 {
        return 0;
    }
    let per_shard = bytes.div_ceil(DATA_SHREDS);
    (per_shard + per_shard % 2).max(2)
}

/// The Merkle leaf of shard `index`.
pub fn leaf(index: u8, shard: &[u8]) -> Digest {
    tagged_hash(LEAF_TAG, &[&[index], shard])
}

/// What the leader signs for a batch (see the module docs).
pub fn signed_message(
    origin: ValidatorIndex,
    block: &Digest,
    block_len: u64,
    batch: u32,
    root: &Digest,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(BATCH_TAG.len() + 1 + 2 + 32 + 8 + 4 + 32);
    m.extend_from_slice(BATCH_TAG.as_bytes());
    m.push(0);
    m.extend_from_slice(&origin.0.to_le_bytes());
    m.extend_from_slice(&block.0);
    m.extend_from_slice(&block_len.to_le_bytes());
    m.extend_from_slice(&batch.to_le_bytes());
    m.extend_from_slice(&root.0);
    m
}

/// One shred (see the module docs for the format).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Shred {
    /// The leader that signed the batch.
    pub origin: ValidatorIndex,
    /// The block id.
    pub block: Digest,
    /// Length of the whole block in bytes.
    pub block_len: u64,
    /// The batch within the block.
    pub batch: u32,
    /// Position in the batch: `0..32` data, `32..64` coding.
    pub index: u8,
    /// The batch's Merkle root.
    pub root: Digest,
    /// The leader's signature over [`signed_message`].
    pub signature: Signature,
    /// Sibling hashes from the leaf up.
    pub proof: [Digest; PROOF_LEN],
    /// The shard.
    pub shard: Bytes,
}

impl Shred {
    /// Whether this is a data shred (else a coding shred).
    pub fn is_data(&self) -> bool {
        usize::from(self.index) < DATA_SHREDS
    }

    /// Encodes the shred.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER_LEN + self.shard.len());
        out.put_u8(SHRED_VERSION);
        out.put_u16_le(self.origin.0);
        out.put_slice(&self.block.0);
        out.put_u64_le(self.block_len);
        out.put_u32_le(self.batch);
        out.put_u8(self.index);
        out.put_u16_le(self.shard.len() as u16);
        out.put_slice(&self.root.0);
        out.put_slice(&self.signature.0);
        for p in &self.proof {
            out.put_slice(&p.0);
        }
        out.put_slice(&self.shard);
        out.freeze()
    }

    /// Decodes a shred and checks its structure (not its proof or
    /// signature; see [`Shred::check_proof`] and [`Shred::check_signature`]).
    pub fn decode(bytes: &[u8]) -> Result<Shred, ShredError> {
        if bytes.len() < HEADER_LEN {
            return Err(ShredError::Malformed("shorter than the header"));
        }
        if bytes.len() > MAX_SHRED_LEN {
            return Err(ShredError::Malformed("longer than the largest shred"));
        }
        if bytes[0] != SHRED_VERSION {
            return Err(ShredError::Malformed("unknown version"));
        }
        let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
        let digest_at = |o: usize| {
            let mut d = [0u8; 32];
            d.copy_from_slice(&bytes[o..o + 32]);
            Digest(d)
        };
        let origin = ValidatorIndex(u16_at(1));
        let block = digest_at(3);
        let mut b8 = [0u8; 8];
        b8.copy_from_slice(&bytes[35..43]);
        let block_len = u64::from_le_bytes(b8);
        let batch = u32::from_le_bytes([bytes[43], bytes[44], bytes[45], bytes[46]]);
        let index = bytes[47];
        let len = usize::from(u16_at(48));
        if usize::from(index) >= SHREDS_PER_BATCH {
            return Err(ShredError::Malformed("index beyond the batch"));
        }
        if u64::from(batch) >= batch_count(block_len) {
            return Err(ShredError::Malformed("batch beyond the block"));
        }
        if len != shard_len(block_len, u64::from(batch)) {
            return Err(ShredError::Malformed(
                "shard length does not match the block",
            ));
        }
        if bytes.len() != HEADER_LEN + len {
            return Err(ShredError::Malformed(
                "length does not match the shard length",
            ));
        }
        let root = digest_at(50);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&bytes[82..146]);
        let proof = std::array::from_fn(|k| digest_at(146 + 32 * k));
        Ok(Shred {
            origin,
            block,
            block_len,
            batch,
            index,
            root,
            signature: Signature(sig),
            proof,
            shard: Bytes::copy_from_slice(&bytes[HEADER_LEN..]),
        })
    }

    /// Checks the Merkle proof of the shard against the shred's root.
    pub fn check_proof(&self) -> Result<(), ShredError> {
        let ok = verify_merkle_proof(
            &self.root,
            &leaf(self.index, &self.shard),
            u64::from(self.index),
            SHREDS_PER_BATCH as u64,
            &self.proof,
        );
        if ok {
            Ok(())
        } else {
            Err(ShredError::BadProof)
        }
    }

    /// Checks the leader's signature over the batch root.
    pub fn check_signature(&self, leader: &ParsedPublicKey) -> Result<(), ShredError> {
        let message = signed_message(
            self.origin,
            &self.block,
            self.block_len,
            self.batch,
            &self.root,
        );
        verify_parsed(leader, &message, &self.signature).map_err(|_| ShredError::BadSignature)
    }
}

/// The six levels of a 64-leaf tree (leaves first, root last); the same
/// tree as `aether_types::merkle_root` (a test checks it), kept by level so
/// that 64 proofs cost one tree instead of 64.
fn tree_levels(leaves: Vec<Digest>) -> Vec<Vec<Digest>> {
    let mut levels = vec![leaves];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let next = levels
            .last()
            .map(|l| {
                l.chunks(2)
                    .map(|p| tagged_hash(aether_types::tag::MERKLE_NODE, &[&p[0].0, &p[1].0]))
                    .collect()
            })
            .unwrap_or_default();
        levels.push(next);
    }
    levels
}

/// Cuts `bytes` into signed shreds (every batch, data and coding shreds in
/// index order). Returns the block id and the shreds.
pub fn make_shreds(
    origin: ValidatorIndex,
    key: &Keypair,
    bytes: &[u8],
) -> Result<(Digest, Vec<Shred>), ShredError> {
    if bytes.is_empty() {
        return Err(ShredError::EmptyBlock);
    }
    let block = block_id(bytes);
    let block_len = bytes.len() as u64;
    let batches = batch_count(block_len);
    let batches_u32 = u32::try_from(batches).map_err(|_| ShredError::BlockTooLarge {
        len: block_len,
        max: u64::from(u32::MAX) * BATCH_DATA_BYTES as u64,
    })?;
    let mut shreds = Vec::with_capacity(batches as usize * SHREDS_PER_BATCH);
    let mut encoder: Option<ReedSolomonEncoder> = None;
    for batch in 0..batches_u32 {
        let len = shard_len(block_len, u64::from(batch));
        let start = batch as usize * BATCH_DATA_BYTES;
        let end = (start + BATCH_DATA_BYTES).min(bytes.len());
        let data = &bytes[start..end];
        let mut shards: Vec<Bytes> = (0..DATA_SHREDS)
            .map(|i| {
                let mut s = vec![0u8; len];
                let from = (i * len).min(data.len());
                let to = ((i + 1) * len).min(data.len());
                s[..to - from].copy_from_slice(&data[from..to]);
                Bytes::from(s)
            })
            .collect();
        let enc = match encoder.as_mut() {
            Some(e) => {
                e.reset(DATA_SHREDS, CODING_SHREDS, len)?;
                e
            }
            None => encoder.insert(ReedSolomonEncoder::new(DATA_SHREDS, CODING_SHREDS, len)?),
        };
        for s in &shards {
            enc.add_original_shard(s)?;
        }
        let result = enc.encode()?;
        shards.extend(result.recovery_iter().map(Bytes::copy_from_slice));
        let leaves = shards
            .iter()
            .enumerate()
            .map(|(i, s)| leaf(i as u8, s))
            .collect();
        let levels = tree_levels(leaves);
        let root = levels[PROOF_LEN][0];
        let signature = key.sign(&signed_message(origin, &block, block_len, batch, &root));
        for (i, shard) in shards.into_iter().enumerate() {
            let proof = std::array::from_fn(|level| levels[level][(i >> level) ^ 1]);
            shreds.push(Shred {
                origin,
                block,
                block_len,
                batch,
                index: i as u8,
                root,
                signature,
                proof,
                shard,
            });
        }
    }
    Ok((block, shreds))
}

/// The shards of one batch as they arrive; rebuilds the batch's bytes
/// from any [`DATA_SHREDS`] of them.
#[derive(Debug)]
pub struct BatchAssembler {
    shard_len: usize,
    batch_len: usize,
    shards: Vec<Option<Bytes>>,
    received: usize,
}

impl BatchAssembler {
    /// An empty batch `batch` of a block of `block_len` bytes.
    pub fn new(block_len: u64, batch: u64) -> Self {
        BatchAssembler {
            shard_len: shard_len(block_len, batch),
            batch_len: batch_bytes(block_len, batch),
            shards: vec![None; SHREDS_PER_BATCH],
            received: 0,
        }
    }

    /// Whether shard `index` is already here.
    pub fn has(&self, index: u8) -> bool {
        self.shards
            .get(usize::from(index))
            .is_some_and(Option::is_some)
    }

    /// Adds a shard (checked by the caller); `false` if it was a duplicate
    /// or out of range.
    pub fn insert(&mut self, index: u8, shard: Bytes) -> bool {
        let i = usize::from(index);
        if i >= SHREDS_PER_BATCH || self.shards[i].is_some() || shard.len() != self.shard_len {
            return false;
        }
        self.shards[i] = Some(shard);
        self.received += 1;
        true
    }

    /// Whether enough shards arrived to rebuild the batch.
    pub fn ready(&self) -> bool {
        self.received >= DATA_SHREDS
    }

    /// Rebuilds the batch's bytes (`None` before [`BatchAssembler::ready`]).
    pub fn rebuild(&self) -> Result<Option<Vec<u8>>, ShredError> {
        if !self.ready() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(DATA_SHREDS * self.shard_len);
        let missing = self.shards[..DATA_SHREDS].iter().any(Option::is_none);
        if !missing {
            for s in self.shards[..DATA_SHREDS].iter().flatten() {
                out.extend_from_slice(s);
            }
        } else {
            let mut decoder = ReedSolomonDecoder::new(DATA_SHREDS, CODING_SHREDS, self.shard_len)?;
            for (i, s) in self.shards.iter().enumerate() {
                if let Some(s) = s {
                    if i < DATA_SHREDS {
                        decoder.add_original_shard(i, s)?;
                    } else {
                        decoder.add_recovery_shard(i - DATA_SHREDS, s)?;
                    }
                }
            }
            let result = decoder.decode()?;
            for i in 0..DATA_SHREDS {
                match &self.shards[i] {
                    Some(s) => out.extend_from_slice(s),
                    None => out.extend_from_slice(
                        result
                            .restored_original(i)
                            .ok_or(ShredError::Malformed("decoder lost a shard"))?,
                    ),
                }
            }
        }
        out.truncate(self.batch_len);
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{merkle_proof, merkle_root};

    fn key() -> Keypair {
        Keypair::from_secret_bytes(&[7; 32])
    }

    fn block(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
    }

    #[test]
    fn shard_lengths() {
        assert_eq!(batch_count(0), 0);
        assert_eq!(batch_count(1), 1);
        assert_eq!(batch_count(32768), 1);
        assert_eq!(batch_count(32769), 2);
        assert_eq!(shard_len(1, 0), 2);
        assert_eq!(shard_len(32768, 0), 1024);
        assert_eq!(shard_len(32769, 1), 2);
        assert_eq!(shard_len(32768 + 33 * 32, 1), 34);
        assert_eq!(shard_len(32768 + 33 * 32 + 1, 1), 34);
        assert_eq!(shard_len(32768 + 35 * 32 + 1, 1), 36);
        assert_eq!(shard_len(100, 1), 0);
    }

    #[test]
    fn tree_matches_the_protocol_tree() {
        let leaves: Vec<Digest> = (0..64u8).map(|i| leaf(i, &[i; 4])).collect();
        let levels = tree_levels(leaves.clone());
        assert_eq!(levels[PROOF_LEN][0], merkle_root(&leaves));
        for i in [0usize, 1, 17, 63] {
            let proof: Vec<Digest> = (0..PROOF_LEN).map(|l| levels[l][(i >> l) ^ 1]).collect();
            assert_eq!(proof, merkle_proof(&leaves, i).unwrap());
        }
    }

    #[test]
    fn shreds_round_trip_and_verify() {
        let k = key();
        let parsed = ParsedPublicKey::parse(&k.public_key()).unwrap();
        for len in [1usize, 100, 32768, 32769, 100_000] {
            let bytes = block(len);
            let (id, shreds) = make_shreds(ValidatorIndex(3), &k, &bytes).unwrap();
            assert_eq!(id, block_id(&bytes));
            assert_eq!(shreds.len(), batch_count(len as u64) as usize * 64);
            for s in &shreds {
                let d = Shred::decode(&s.encode()).unwrap();
                assert_eq!(&d, s);
                d.check_proof().unwrap();
                d.check_signature(&parsed).unwrap();
                assert!(s.encode().len() <= MAX_SHRED_LEN);
            }
        }
    }

    /// Rebuilds a block from a chosen subset of each batch's shreds.
    fn rebuild(bytes: &[u8], keep: impl Fn(usize) -> bool) -> Result<Vec<u8>, ShredError> {
        let (_, shreds) = make_shreds(ValidatorIndex(0), &key(), bytes).unwrap();
        let len = bytes.len() as u64;
        let mut out = Vec::new();
        for (b, batch) in shreds.chunks(SHREDS_PER_BATCH).enumerate() {
            let mut a = BatchAssembler::new(len, b as u64);
            for s in batch.iter().filter(|s| keep(usize::from(s.index))) {
                assert!(a.insert(s.index, s.shard.clone()));
                assert!(!a.insert(s.index, s.shard.clone()), "duplicate accepted");
            }
            out.extend(a.rebuild()?.ok_or(ShredError::EmptyBlock)?);
        }
        Ok(out)
    }

    #[test]
    fn any_32_of_64_rebuild_a_batch() {
        let bytes = block(70_000);
        assert_eq!(rebuild(&bytes, |_| true).unwrap(), bytes);
        assert_eq!(rebuild(&bytes, |i| i >= 32).unwrap(), bytes, "coding only");
        assert_eq!(rebuild(&bytes, |i| i % 2 == 1).unwrap(), bytes, "odd half");
        assert_eq!(rebuild(&bytes, |i| (16..48).contains(&i)).unwrap(), bytes);
        assert!(matches!(
            rebuild(&bytes, |i| i % 2 == 1 && i != 63),
            Err(ShredError::EmptyBlock)
        ));
    }

    #[test]
    fn forged_shreds_fail_their_check() {
        let k = key();
        let parsed = ParsedPublicKey::parse(&k.public_key()).unwrap();
        let (_, shreds) = make_shreds(ValidatorIndex(1), &k, &block(5000)).unwrap();
        // A changed shard breaks the proof (the signature over the root holds).
        let mut s = shreds[5].clone();
        let mut shard = s.shard.to_vec();
        shard[0] ^= 1;
        s.shard = shard.into();
        assert!(matches!(s.check_proof(), Err(ShredError::BadProof)));
        assert!(s.check_signature(&parsed).is_ok());
        // A re-rooted batch (consistent proof) fails the signature only.
        let other = Keypair::from_secret_bytes(&[9; 32]);
        let (_, forged) = make_shreds(ValidatorIndex(1), &other, &block(5000)).unwrap();
        assert!(forged[5].check_proof().is_ok());
        assert!(matches!(
            forged[5].check_signature(&parsed),
            Err(ShredError::BadSignature)
        ));
        // Another origin or batch changes the signed message.
        let mut s = shreds[5].clone();
        s.origin = ValidatorIndex(2);
        assert!(s.check_signature(&parsed).is_err());
    }

    #[test]
    fn decode_rejects_inconsistent_headers() {
        let (_, shreds) = make_shreds(ValidatorIndex(1), &key(), &block(40_000)).unwrap();
        let good = shreds[70].encode().to_vec();
        assert!(Shred::decode(&good).is_ok());
        let mut bad = good.clone();
        bad[0] = 2;
        assert!(Shred::decode(&bad).is_err(), "version");
        let mut bad = good.clone();
        bad[47] = 64;
        assert!(Shred::decode(&bad).is_err(), "index");
        let mut bad = good.clone();
        bad[43] = 2;
        assert!(Shred::decode(&bad).is_err(), "batch");
        let mut bad = good.clone();
        bad[48] += 2;
        assert!(Shred::decode(&bad).is_err(), "shard length");
        assert!(Shred::decode(&good[..good.len() - 1]).is_err());
        let mut long = good.clone();
        long.push(0);
        assert!(Shred::decode(&long).is_err());
        assert!(Shred::decode(&[]).is_err());
    }
}

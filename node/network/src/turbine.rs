//! Turbine: erasure-coded block broadcast down per-shred fanout trees.
//!
//! # Protocol
//! 1. The leader cuts the block into signed shreds ([`crate::shred`]) and
//!    sends each shred to the first level of its tree ([`crate::fanout`];
//!    every other validator directly when the set is small).
//! 2. A receiver, for each shred, in this order (cheap checks first, so a
//!    flood of junk costs no signature work):
//!    decode and check the structure; the origin must be a validator other
//!    than itself and the block length within bounds; a shred already held
//!    (same block, batch, index and root) is dropped **before any crypto**;
//!    the Merkle proof must lead to the shred's root; the leader's
//!    signature over the root is verified once per batch (verified roots
//!    are cached); a second, validly signed root for a batch already held
//!    is refused (a leader signing two encodings).
//! 3. Only then is the shred kept and **forwarded** to the receiver's
//!    children in that shred's tree; a shred that fails any check is
//!    dropped, counted against the peer that sent it, and never forwarded.
//! 4. When 32 shreds of a batch are in, the batch is rebuilt; when every
//!    batch is, the bytes must hash to the block id and the block is
//!    reported ([`ReassembledBlock`]). The caller (the node) verifies the
//!    block itself before voting: Turbine only proves that the leader
//!    signed these bytes.
//!
//! # Bounds
//! At most `max_blocks` blocks are tracked (the oldest are forgotten; a
//! completed block keeps only its per-batch received masks, so late shreds
//! are still forwarded but never re-verified or re-delivered); a block
//! above `max_block_len` bytes is refused; verified roots are cached in a
//! bounded map.

use crate::cache::BoundedMap;
use crate::error::ShredError;
use crate::fanout::FanoutSet;
use crate::shred::{BatchAssembler, Shred, batch_count, block_id};
use aether_crypto::ed25519::ParsedPublicKey;
use aether_types::{Digest, ValidatorIndex};
use std::collections::HashMap;

/// A block rebuilt from shreds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReassembledBlock {
    /// The leader that signed it.
    pub origin: ValidatorIndex,
    /// Its id (`shred::block_id` of the bytes).
    pub id: Digest,
    /// The block's bytes, as the leader passed them.
    pub bytes: Vec<u8>,
}

/// What to do after a shred was accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShredOutcome {
    /// Forward the shred (unchanged) to these validators.
    pub forward: Vec<ValidatorIndex>,
    /// The block this shred completed, if any.
    pub complete: Option<ReassembledBlock>,
}

/// Limits of the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TurbineLimits {
    /// Largest block accepted, bytes.
    pub max_block_len: u64,
    /// Blocks tracked at once.
    pub max_blocks: usize,
}

#[derive(Debug)]
struct BatchState {
    root: Digest,
    received: u64,
    assembler: Option<BatchAssembler>,
    rebuilt: Option<Vec<u8>>,
}

#[derive(Debug)]
struct BlockState {
    origin: ValidatorIndex,
    block_len: u64,
    batches: HashMap<u32, BatchState>,
    rebuilt: usize,
    finished: bool,
}

/// The receiving side of Turbine for one node (pure; see the module docs).
pub struct TurbineReceiver {
    me: Option<ValidatorIndex>,
    keys: HashMap<ValidatorIndex, ParsedPublicKey>,
    fanout: FanoutSet,
    limits: TurbineLimits,
    blocks: BoundedMap<Digest, BlockState>,
    verified: BoundedMap<(ValidatorIndex, Digest, u32, Digest), ()>,
}

impl TurbineReceiver {
    /// A receiver for node `me` (`None` for a full node: it never forwards).
    pub fn new(
        me: Option<ValidatorIndex>,
        keys: HashMap<ValidatorIndex, ParsedPublicKey>,
        fanout: FanoutSet,
        limits: TurbineLimits,
    ) -> Self {
        TurbineReceiver {
            me,
            keys,
            fanout,
            limits,
            blocks: BoundedMap::new(limits.max_blocks),
            verified: BoundedMap::new(limits.max_blocks.saturating_mul(64).max(1024)),
        }
    }

    /// The fanout set (the leader uses it for the first level).
    pub fn fanout(&self) -> &FanoutSet {
        &self.fanout
    }

    /// Handles one received shred: `Ok(None)` for a duplicate or a shred
    /// of a forgotten block, an error for a shred that must be dropped and
    /// counted against the sender.
    pub fn on_shred(&mut self, bytes: &[u8]) -> Result<Option<ShredOutcome>, ShredError> {
        let shred = Shred::decode(bytes)?;
        if Some(shred.origin) == self.me {
            return Err(ShredError::UnknownOrigin(shred.origin));
        }
        let key = *self
            .keys
            .get(&shred.origin)
            .ok_or(ShredError::UnknownOrigin(shred.origin))?;
        if shred.block_len > self.limits.max_block_len {
            return Err(ShredError::BlockTooLarge {
                len: shred.block_len,
                max: self.limits.max_block_len,
            });
        }
        let bit = 1u64 << shred.index;
        let mut known_root = None;
        if let Some(b) = self.blocks.get(&shred.block) {
            if b.origin != shred.origin || b.block_len != shred.block_len {
                // Same id, other origin or length: only one can be signed
                // over these bytes by their leader; check it fully below.
            } else if let Some(batch) = b.batches.get(&shred.batch) {
                if batch.root == shred.root && batch.received & bit != 0 {
                    return Ok(None);
                }
                known_root = Some(batch.root);
            }
        }
        shred.check_proof()?;
        let cache_key = (shred.origin, shred.block, shred.batch, shred.root);
        if !self.verified.contains(&cache_key) {
            shred.check_signature(&key)?;
            self.verified.insert(cache_key, ());
        }
        if known_root.is_some_and(|r| r != shred.root) {
            return Err(ShredError::ConflictingRoot);
        }
        if !self.blocks.contains(&shred.block) {
            self.blocks.insert(
                shred.block,
                BlockState {
                    origin: shred.origin,
                    block_len: shred.block_len,
                    batches: HashMap::new(),
                    rebuilt: 0,
                    finished: false,
                },
            );
        }
        let Some(block) = self.blocks.get_mut(&shred.block) else {
            return Ok(None);
        };
        if block.origin != shred.origin || block.block_len != shred.block_len {
            // Two leaders signed the same id (or one signed two lengths):
            // keep the first.
            return Err(ShredError::ConflictingRoot);
        }
        let finished = block.finished;
        let batch = block
            .batches
            .entry(shred.batch)
            .or_insert_with(|| BatchState {
                root: shred.root,
                received: 0,
                assembler: (!finished)
                    .then(|| BatchAssembler::new(shred.block_len, u64::from(shred.batch))),
                rebuilt: None,
            });
        batch.received |= bit;
        let mut complete = None;
        if let Some(assembler) = batch.assembler.as_mut() {
            assembler.insert(shred.index, shred.shard.clone());
            if assembler.ready() {
                batch.rebuilt = assembler.rebuild()?;
                batch.assembler = None;
                block.rebuilt += 1;
                if block.rebuilt as u64 == batch_count(block.block_len) {
                    block.finished = true;
                    complete = Some(Self::assemble(shred.block, block)?);
                }
            }
        }
        let forward = match self.me {
            Some(me) => {
                self.fanout
                    .targets(me, shred.origin, &shred.block, shred.batch, shred.index)
            }
            None => Vec::new(),
        };
        Ok(Some(ShredOutcome { forward, complete }))
    }

    fn assemble(id: Digest, block: &mut BlockState) -> Result<ReassembledBlock, ShredError> {
        let mut bytes = Vec::with_capacity(block.block_len as usize);
        for b in 0..batch_count(block.block_len) as u32 {
            let part = block
                .batches
                .get_mut(&b)
                .and_then(|s| s.rebuilt.take())
                .ok_or(ShredError::Malformed("a batch is missing"))?;
            bytes.extend_from_slice(&part);
        }
        if block_id(&bytes) != id {
            return Err(ShredError::BlockMismatch);
        }
        Ok(ReassembledBlock {
            origin: block.origin,
            id,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shred::make_shreds;
    use aether_crypto::ed25519::Keypair;

    fn keys(n: u16) -> (Vec<Keypair>, HashMap<ValidatorIndex, ParsedPublicKey>) {
        let kp: Vec<Keypair> = (0..n)
            .map(|i| Keypair::from_secret_bytes(&[i as u8 + 1; 32]))
            .collect();
        let map = kp
            .iter()
            .enumerate()
            .map(|(i, k)| {
                (
                    ValidatorIndex(i as u16),
                    ParsedPublicKey::parse(&k.public_key()).unwrap(),
                )
            })
            .collect();
        (kp, map)
    }

    fn receiver(me: u16, n: u16, fanout: usize) -> TurbineReceiver {
        let (_, map) = keys(n);
        TurbineReceiver::new(
            Some(ValidatorIndex(me)),
            map,
            FanoutSet::new((0..n).map(|i| (ValidatorIndex(i), 1)).collect(), fanout),
            TurbineLimits {
                max_block_len: 1 << 20,
                max_blocks: 4,
            },
        )
    }

    #[test]
    fn rebuilds_from_half_and_ignores_duplicates() {
        let (kp, _) = keys(4);
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (id, shreds) = make_shreds(ValidatorIndex(0), &kp[0], &bytes).unwrap();
        let mut r = receiver(1, 4, 8);
        let mut done = None;
        for s in shreds.iter().filter(|s| s.index % 2 == 0) {
            let out = r.on_shred(&s.encode()).unwrap().unwrap();
            assert!(out.forward.is_empty(), "small set: direct");
            if let Some(c) = out.complete {
                done = Some(c);
            }
            assert_eq!(r.on_shred(&s.encode()).unwrap(), None, "duplicate");
        }
        let done = done.expect("complete");
        assert_eq!(done.id, id);
        assert_eq!(done.bytes, bytes);
        assert_eq!(done.origin, ValidatorIndex(0));
        // Late shreds of a finished block are still accepted (forwarded)
        // but never deliver the block again.
        let late = shreds.iter().find(|s| s.index == 1).unwrap();
        assert_eq!(r.on_shred(&late.encode()).unwrap().unwrap().complete, None);
    }

    #[test]
    fn forged_shreds_are_refused() {
        let (kp, _) = keys(4);
        let bytes = vec![5u8; 3000];
        let (_, shreds) = make_shreds(ValidatorIndex(0), &kp[0], &bytes).unwrap();
        let mut r = receiver(1, 4, 1);
        // Bad proof.
        let mut s = shreds[3].clone();
        s.shard = vec![0u8; s.shard.len()].into();
        assert_eq!(r.on_shred(&s.encode()), Err(ShredError::BadProof));
        // Signed by another validator's key under the leader's index.
        let (_, forged) = make_shreds(ValidatorIndex(0), &kp[2], &bytes).unwrap();
        assert_eq!(
            r.on_shred(&forged[3].encode()),
            Err(ShredError::BadSignature)
        );
        // Own origin and unknown origins.
        let (_, mine) = make_shreds(ValidatorIndex(1), &kp[1], &bytes).unwrap();
        assert!(matches!(
            r.on_shred(&mine[0].encode()),
            Err(ShredError::UnknownOrigin(_))
        ));
        let (_, stranger) = make_shreds(ValidatorIndex(9), &kp[1], &bytes).unwrap();
        assert!(matches!(
            r.on_shred(&stranger[0].encode()),
            Err(ShredError::UnknownOrigin(_))
        ));
        // The genuine shred still passes, and is forwarded down the tree.
        let out = r.on_shred(&shreds[3].encode()).unwrap().unwrap();
        assert!(out.forward.len() <= 1);
        // A second validly signed root for the same batch is refused.
        let mut other = bytes.clone();
        other[0] = 9;
        let (_, alt) = make_shreds(ValidatorIndex(0), &kp[0], &other).unwrap();
        let mut alt3 = alt[3].clone();
        alt3.block = shreds[3].block;
        alt3.signature = kp[0].sign(&crate::shred::signed_message(
            alt3.origin,
            &alt3.block,
            alt3.block_len,
            alt3.batch,
            &alt3.root,
        ));
        assert_eq!(r.on_shred(&alt3.encode()), Err(ShredError::ConflictingRoot));
    }

    #[test]
    fn oversized_blocks_are_refused() {
        let (kp, _) = keys(2);
        let (_, shreds) =
            make_shreds(ValidatorIndex(0), &kp[0], &vec![1u8; (1 << 20) + 1]).unwrap();
        let mut r = receiver(1, 2, 1);
        assert!(matches!(
            r.on_shred(&shreds[0].encode()),
            Err(ShredError::BlockTooLarge { .. })
        ));
    }
}

//! The genesis of a chain: its id, its start time, the validator and the
//! initial allocations, committed as block 0.
//!
//! # Encoding and identity
//! The genesis *specification* ([`Genesis`]) is hashed canonically:
//! `id = tagged_hash("aether/genesis/v1", borsh(Genesis))`. Allocation `i`
//! becomes the unspent output `(GENESIS_TX = TxId(id), i)`, and block 0
//! carries `data_root = id`, so two specifications that differ in anything
//! (an allocation, the validator, the time) give different genesis blocks:
//! a node refuses to open a data directory that holds another chain.
//!
//! # The dev genesis
//! [`Genesis::dev`] funds `accounts` well-known dev accounts (keys from
//! [`aether_crypto::derive::DEV_SEED`], printed by `aether keys dev`) with
//! [`DEV_ACCOUNT_AIC`] AIC each; its validator key is derived from
//! [`DEV_VALIDATOR_SEED`]. Both are public: a dev chain never holds value.

use crate::error::NodeError;
use aether_crypto::derive::{DEV_SEED, dev_keypair};
use aether_crypto::ed25519::Keypair;
use aether_ledger::{BlockOutcome, StateDiff};
use aether_types::*;
use borsh::BorshSerialize;

/// Dev accounts funded by the default dev genesis.
pub const DEV_ACCOUNTS: u32 = 16;

/// AIC per dev account in the dev genesis.
pub const DEV_ACCOUNT_AIC: u128 = 1_000_000;

/// Seed of the dev chain's validator key (public knowledge).
pub const DEV_VALIDATOR_SEED: &[u8] =
    b"aether dev chain validator: public key, never use for value";

/// Tag of the genesis id hash.
pub const GENESIS_TAG: &str = "aether/genesis/v1";

/// One initial output.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct Allocation {
    /// Owner.
    pub address: Address,
    /// AIC base units.
    pub coin: u128,
}

/// A chain's genesis specification.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct Genesis {
    /// Chain id (in every transaction and header).
    pub chain_id: ChainId,
    /// Timestamp of block 0, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Public key of the single validator (the block proposer).
    pub validator: PublicKey,
    /// Initial outputs, in order (allocation `i` is output `i` of the
    /// genesis pseudo-transaction).
    pub allocations: Vec<Allocation>,
}

/// The dev validator's key pair (public knowledge).
pub fn dev_validator_key() -> Keypair {
    dev_keypair(DEV_VALIDATOR_SEED, 0)
}

/// Dev account `i`'s key pair (public knowledge).
pub fn dev_account_key(i: u32) -> Keypair {
    dev_keypair(DEV_SEED, i)
}

impl Genesis {
    /// The dev genesis with `accounts` funded dev accounts on `chain_id`.
    pub fn dev(chain_id: ChainId, accounts: u32) -> Genesis {
        let allocations = (0..accounts)
            .map(|i| Allocation {
                address: Address::Key(dev_account_key(i).key_hash()),
                coin: DEV_ACCOUNT_AIC * BASE_UNITS_PER_AIC,
            })
            .collect();
        Genesis {
            chain_id,
            timestamp_ms: 0,
            validator: dev_validator_key().public_key(),
            allocations,
        }
    }

    /// The genesis id (see the module docs).
    pub fn id(&self) -> Digest {
        tagged_hash(GENESIS_TAG, &[&encode(self)])
    }

    /// The pseudo-transaction id whose outputs are the allocations.
    pub fn tx_id(&self) -> TxId {
        TxId(self.id().0)
    }

    /// The out-point of allocation `i`.
    pub fn out_point(&self, i: u32) -> OutPoint {
        OutPoint::new(self.tx_id(), i)
    }

    /// The execution outcome of block 0: the allocations as created
    /// outputs, no receipts.
    pub fn outcome(&self) -> Result<BlockOutcome, NodeError> {
        let mut created = std::collections::BTreeMap::new();
        for (i, a) in self.allocations.iter().enumerate() {
            let index = u32::try_from(i).map_err(|_| NodeError::Genesis {
                reason: "more than 2^32 allocations".into(),
            })?;
            created.insert(self.out_point(index), TxOutput::coin(a.address, a.coin));
        }
        Ok(BlockOutcome {
            receipts: vec![],
            rejected: vec![],
            diff: StateDiff {
                spent: Default::default(),
                created,
            },
        })
    }

    /// Block 0 with the given state root (the root of the allocations,
    /// computed by the store).
    pub fn block(&self, state_root: Digest) -> Block {
        Block {
            header: BlockHeader {
                version: HEADER_VERSION,
                chain_id: self.chain_id,
                height: 0,
                timestamp_ms: self.timestamp_ms,
                parent_hash: BlockHash([0; 32]),
                tx_root: merkle_root(&[]),
                receipts_root: receipts_root(&[]),
                state_root,
                data_root: self.id(),
                consensus: ConsensusFields::SingleValidator {
                    proposer: self.validator,
                },
            },
            transactions: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_covers_every_field() {
        let base = Genesis::dev(ChainId(7), 3);
        let mut other = base.clone();
        other.chain_id = ChainId(8);
        assert_ne!(base.id(), other.id());
        let mut other = base.clone();
        other.timestamp_ms = 1;
        assert_ne!(base.id(), other.id());
        let mut other = base.clone();
        other.allocations[2].coin += 1;
        assert_ne!(base.id(), other.id());
        let mut other = base.clone();
        other.validator = PublicKey([9; 32]);
        assert_ne!(base.id(), other.id());
        assert_eq!(base.id(), Genesis::dev(ChainId(7), 3).id());
    }

    #[test]
    fn allocations_become_outputs_in_order() {
        let g = Genesis::dev(ChainId(1), 4);
        let outcome = g.outcome().unwrap();
        assert_eq!(outcome.diff.created.len(), 4);
        for i in 0..4 {
            let out = &outcome.diff.created[&g.out_point(i)];
            assert_eq!(out.address, Address::Key(dev_account_key(i).key_hash()));
            assert_eq!(out.value.coin, DEV_ACCOUNT_AIC * BASE_UNITS_PER_AIC);
        }
    }
}

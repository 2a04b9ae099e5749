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
//! [`DEV_VALIDATOR_SEED`], its one governance key (threshold 1) from
//! [`DEV_GOVERNANCE_SEED`]. All are public: a dev chain never holds value.
//!
//! # Validators (multi-validator chains)
//! [`Genesis::validators`] is the first validator set, in ascending
//! validator-id order (the ledger's set order, so a validator's index is the
//! same in consensus and in the ledger; the config parser sorts the list).
//! Block 0's state then also holds the ledger's staking objects for them
//! ([`aether_ledger::staking::genesis_objects`]): validator `v`'s self-bond
//! is `v.stake` stake units, owned by `v.node_key`'s key hash (the node key
//! controls the bond and is where evidence rewards go), commission 0; the
//! set of epoch 0 has seed [`Genesis::epoch_seed`], the consensus core's
//! epoch-0 seed. The bonds are genesis supply held by the validator objects,
//! beside the allocations.
//!
//! # Market parameters
//! [`GenesisMarket`] fixes the governance key set and threshold, the TEE
//! trust roots and the minimum SNP TCB (the evidence policy), and the
//! challenge window; the rest of the market parameters are the protocol
//! defaults ([`aether_ledger::MarketParams::dev`]). Only a dev genesis may
//! trust the simulated test root: [`Genesis::market_params`] refuses a
//! non-dev genesis that does, so a node never starts such a chain.

use crate::error::NodeError;
use aether_crypto::derive::{DEV_SEED, dev_keypair};
use aether_crypto::ed25519::Keypair;
use aether_evidence::TrustRoot;
use aether_ledger::{BlockOutcome, MarketParams, StakingParams, StateDiff};
use aether_types::*;
use borsh::BorshSerialize;

/// Dev accounts funded by the default dev genesis.
pub const DEV_ACCOUNTS: u32 = 16;

/// AIC per dev account in the dev genesis.
pub const DEV_ACCOUNT_AIC: u128 = 1_000_000;

/// Seed of the dev chain's validator key (public knowledge).
pub const DEV_VALIDATOR_SEED: &[u8] =
    b"aether dev chain validator: public key, never use for value";

/// Seed of the dev chain's governance key (public knowledge).
pub const DEV_GOVERNANCE_SEED: &[u8] =
    b"aether dev chain governance: public key, never use for value";

/// Tag of the genesis id hash.
pub const GENESIS_TAG: &str = "aether/genesis/v1";

/// Tag of the epoch-0 leader seed, derived from the genesis id.
pub const EPOCH_SEED_TAG: &str = "aether/epoch-seed/v1";

/// One initial output.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct Allocation {
    /// Owner.
    pub address: Address,
    /// AIC base units.
    pub coin: u128,
}

/// The market part of a genesis (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct GenesisMarket {
    /// Governance keys (ed25519 public keys), sorted, distinct.
    pub governance: Vec<PublicKey>,
    /// Governance signatures a registry action needs.
    pub governance_threshold: u32,
    /// Trust roots by name (`amd-milan`, `amd-genoa`, `amd-turin`,
    /// `intel-sgx-root-ca`, `simulated`).
    pub trust_roots: Vec<String>,
    /// Minimum SNP REPORTED_TCB: bootloader, TEE, SNP, microcode, FMC.
    pub snp_min_tcb: [u8; 5],
    /// Blocks during which a receipt can be challenged.
    pub challenge_window: u64,
}

impl GenesisMarket {
    /// The production defaults: no governance, AMD's and Intel's roots.
    pub fn production() -> Self {
        GenesisMarket {
            governance: vec![],
            governance_threshold: 0,
            trust_roots: aether_evidence::EvidencePolicy::production()
                .roots
                .iter()
                .map(|r| r.to_string())
                .collect(),
            snp_min_tcb: [0; 5],
            challenge_window: MarketParams::dev().challenge_window,
        }
    }

    /// The dev defaults: the dev governance key (threshold 1) and the
    /// production roots plus the simulated test root.
    pub fn dev() -> Self {
        let mut m = Self::production();
        m.governance = vec![dev_governance_key().public_key()];
        m.governance_threshold = 1;
        m.trust_roots.push(TrustRoot::Simulated.to_string());
        m
    }
}

/// A member of the first validator set of a multi-validator chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize)]
pub struct GenesisValidator {
    /// Its ed25519 node key (network identity, QUIC certificate).
    pub node_key: PublicKey,
    /// Its BLS key (votes, proposals, VRF).
    pub bls_key: BlsPublicKeyBytes,
    /// Proof of possession of the BLS key.
    pub proof_of_possession: BlsSignatureBytes,
    /// Its stake (voting weight), in AIC.
    pub stake: u64,
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
    /// A development chain (public keys, may trust the simulated TEE root).
    pub dev: bool,
    /// Market parameters.
    pub market: GenesisMarket,
    /// The first validator set of a multi-validator chain, in index order
    /// (empty: a single-validator chain produced by `validator`). Hashed
    /// into the id only when non-empty, so single-validator genesis ids are
    /// unchanged.
    #[borsh(skip)]
    pub validators: Vec<GenesisValidator>,
}

/// The dev governance key pair (public knowledge).
pub fn dev_governance_key() -> Keypair {
    dev_keypair(DEV_GOVERNANCE_SEED, 0)
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
            dev: true,
            market: GenesisMarket::dev(),
            validators: Vec::new(),
        }
    }

    /// The ledger's market parameters of this chain: governance, evidence
    /// policy, challenge window. Refuses unknown root names, duplicate
    /// governance keys, a threshold above the key count, and a non-dev
    /// genesis that trusts a test root.
    pub fn market_params(&self) -> Result<MarketParams, NodeError> {
        let bad = |reason: String| NodeError::Genesis { reason };
        let mut params = MarketParams::dev();
        let mut keys = std::collections::BTreeSet::new();
        for k in &self.market.governance {
            if !keys.insert(k.key_hash()) {
                return Err(bad(format!("governance key {k:?} is listed twice")));
            }
        }
        if self.market.governance_threshold as usize > keys.len() {
            return Err(bad(format!(
                "governance threshold {} exceeds the {} governance keys",
                self.market.governance_threshold,
                keys.len()
            )));
        }
        params.governance = aether_ledger::market::Governance {
            keys,
            threshold: self.market.governance_threshold,
        };
        let mut roots = Vec::new();
        for name in &self.market.trust_roots {
            let root: TrustRoot = name
                .parse()
                .map_err(|e| bad(format!("trust root {name:?}: {e}")))?;
            if root.is_test_root() && !self.dev {
                return Err(bad(format!(
                    "the genesis trusts the test root {name:?}, which only a dev chain may do: \
                     simulated evidence would then pass as hardware evidence"
                )));
            }
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        params.evidence.roots = roots;
        let [bootloader, tee, snp, microcode, fmc] = self.market.snp_min_tcb;
        params.evidence.snp_min_tcb = aether_evidence::MinTcb {
            bootloader,
            tee,
            snp,
            microcode,
            fmc,
        };
        params.challenge_window = self.market.challenge_window;
        Ok(params)
    }

    /// The genesis id (see the module docs).
    pub fn id(&self) -> Digest {
        if self.validators.is_empty() {
            tagged_hash(GENESIS_TAG, &[&encode(self)])
        } else {
            tagged_hash(GENESIS_TAG, &[&encode(self), &encode(&self.validators)])
        }
    }

    /// The pseudo-transaction id whose outputs are the allocations.
    pub fn tx_id(&self) -> TxId {
        TxId(self.id().0)
    }

    /// The out-point of allocation `i`.
    pub fn out_point(&self, i: u32) -> OutPoint {
        OutPoint::new(self.tx_id(), i)
    }

    /// The leader seed of epoch 0: `H("aether/epoch-seed/v1", genesis id)`,
    /// the consensus core's and (on a staking chain) the epoch-0 set's.
    pub fn epoch_seed(&self) -> Digest {
        tagged_hash(EPOCH_SEED_TAG, &[&self.id().0])
    }

    /// The ledger's view of [`Genesis::validators`] (see the module docs:
    /// each self-bond is `stake` stake units owned by the node key, no
    /// commission).
    pub fn staking_validators(
        &self,
        staking: &StakingParams,
    ) -> Vec<aether_ledger::staking::GenesisValidator> {
        self.validators
            .iter()
            .map(|v| aether_ledger::staking::GenesisValidator {
                owner: v.node_key.key_hash(),
                bls_key: v.bls_key,
                proof_of_possession: v.proof_of_possession,
                network_key: v.node_key,
                self_bond: u128::from(v.stake).saturating_mul(staking.stake_unit),
                commission_bps: 0,
            })
            .collect()
    }

    /// The execution outcome of block 0: the allocations as created
    /// outputs, no receipts; on a chain with [`Genesis::validators`], the
    /// staking objects of its first set too (`staking` fixes the stake unit
    /// and checks the bonds).
    pub fn outcome(&self, staking: &StakingParams) -> Result<BlockOutcome, NodeError> {
        let mut created = std::collections::BTreeMap::new();
        for (i, a) in self.allocations.iter().enumerate() {
            let index = u32::try_from(i).map_err(|_| NodeError::Genesis {
                reason: "more than 2^32 allocations".into(),
            })?;
            created.insert(self.out_point(index), TxOutput::coin(a.address, a.coin));
        }
        let mut objects = std::collections::BTreeMap::new();
        if !self.validators.is_empty() {
            let validators = self.staking_validators(staking);
            let staking_objects =
                aether_ledger::staking::genesis_objects(staking, &validators, self.epoch_seed())
                    .map_err(|e| NodeError::Genesis {
                        reason: format!("genesis.validators: {e}"),
                    })?;
            for (key, object) in staking_objects {
                objects.insert(key, Some(object));
            }
        }
        Ok(BlockOutcome {
            receipts: vec![],
            rejected: vec![],
            diff: StateDiff {
                spent: Default::default(),
                created,
                objects,
            },
            boundary: BoundaryReceipt::default(),
        })
    }

    /// The hash of block 0: its state root is the root of
    /// [`Genesis::outcome`]'s state (computed in memory here; the store
    /// computes the same). Consensus signatures are made over it, so the
    /// ledger needs it to check equivocation evidence
    /// (`StakingParams::genesis_hash`).
    pub fn block_hash(&self, staking: &StakingParams) -> Result<BlockHash, NodeError> {
        let outcome = self.outcome(staking)?;
        let mut tree = aether_storage::MemoryStateTree::new();
        let root = tree
            .apply_diff(&outcome.diff)
            .map_err(|e| NodeError::Genesis {
                reason: format!("genesis state: {e}"),
            })?;
        Ok(self.block(root).hash())
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
                receipts_root: receipts_root(&[], &BoundaryReceipt::default()),
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
        let mut other = base.clone();
        other.market.trust_roots.pop();
        assert_ne!(base.id(), other.id());
        let mut other = base.clone();
        other.market.governance_threshold = 0;
        assert_ne!(base.id(), other.id());
        assert_eq!(base.id(), Genesis::dev(ChainId(7), 3).id());
    }

    #[test]
    fn only_a_dev_genesis_may_trust_the_test_root() {
        let dev = Genesis::dev(ChainId(7), 1);
        let params = dev.market_params().unwrap();
        assert!(params.evidence.trusts_test_root());
        assert_eq!(params.governance.threshold, 1);
        let mut prod = dev.clone();
        prod.dev = false;
        let e = prod.market_params().unwrap_err().to_string();
        assert!(e.contains("test root"), "{e}");
        prod.market = GenesisMarket::production();
        let params = prod.market_params().unwrap();
        assert!(!params.evidence.trusts_test_root());
        let mut bad = prod.clone();
        bad.market.trust_roots.push("amd-rome".into());
        assert!(bad.market_params().is_err());
        let mut bad = prod.clone();
        bad.market.governance_threshold = 1;
        assert!(
            bad.market_params()
                .unwrap_err()
                .to_string()
                .contains("threshold")
        );
    }

    #[test]
    fn allocations_become_outputs_in_order() {
        let g = Genesis::dev(ChainId(1), 4);
        let outcome = g.outcome(&StakingParams::dev()).unwrap();
        assert_eq!(outcome.diff.created.len(), 4);
        for i in 0..4 {
            let out = &outcome.diff.created[&g.out_point(i)];
            assert_eq!(out.address, Address::Key(dev_account_key(i).key_hash()));
            assert_eq!(out.value.coin, DEV_ACCOUNT_AIC * BASE_UNITS_PER_AIC);
        }
    }
}

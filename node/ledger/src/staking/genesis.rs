//! The staking part of a genesis state, and reading the sets back: what
//! the node calls to start a staking chain and to hand each epoch's set to
//! its consensus driver.
//!
//! A genesis lists its validators ([`GenesisValidator`]); their self-bonds
//! are part of the genesis supply (held by the validator objects, beside
//! the allocations in UTxOs). [`genesis_objects`] checks them (keys and
//! proofs of possession, distinct keys, minimum self-bond, at least one
//! stake unit each, at most `max_validators`) and returns the objects to
//! put in the initial state: each validator, its owner's delegation, the
//! registry, the set of epoch 0 (every genesis validator, with seed
//! `seed`) and epoch 0's activity record.

use super::params::StakingParams;
use super::prepare::check_key;
use crate::error::ViewError;
use crate::state::UtxoView;
use aether_types::*;

/// Why a genesis validator list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The staking parameters are inconsistent.
    #[error("staking parameters: {0}")]
    Params(String),
    /// No validator.
    #[error("a staking genesis needs at least one validator")]
    NoValidators,
    /// More validators than a set may hold.
    #[error("{count} genesis validators, at most {max}")]
    TooMany {
        /// Validators listed.
        count: usize,
        /// Limit.
        max: u32,
    },
    /// A validator's key or proof of possession is invalid.
    #[error("genesis validator {index}: {reason}")]
    Key {
        /// Position in the list.
        index: usize,
        /// Why.
        reason: String,
    },
    /// Two validators share a BLS key.
    #[error("genesis validator {index} repeats an earlier BLS key")]
    DuplicateKey {
        /// Position in the list.
        index: usize,
    },
    /// A self-bond below the minimum, or below one stake unit.
    #[error("genesis validator {index}: self-bond {bond} below {min}")]
    SelfBondTooLow {
        /// Position in the list.
        index: usize,
        /// Its self-bond.
        bond: u128,
        /// The minimum.
        min: u128,
    },
    /// A commission above 100 %.
    #[error("genesis validator {index}: commission {bps} bps above 10000")]
    Commission {
        /// Position in the list.
        index: usize,
        /// Its commission.
        bps: u32,
    },
}

/// A validator of the genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisValidator {
    /// Controlling key (owns the self-bond).
    pub owner: KeyHash,
    /// Consensus key.
    pub bls_key: BlsPublicKeyBytes,
    /// Its proof of possession.
    pub proof_of_possession: BlsSignatureBytes,
    /// Network key (on a dev chain: the single validator's block key).
    pub network_key: PublicKey,
    /// Self-bond, AIC base units (part of the genesis supply).
    pub self_bond: u128,
    /// Commission, basis points.
    pub commission_bps: u32,
}

impl GenesisValidator {
    /// A genesis validator for the holder of the BLS secret key `bls`
    /// (computes the public key and its proof of possession).
    pub fn from_secret(
        bls: &aether_crypto::bls::SecretKey,
        network_key: PublicKey,
        owner: KeyHash,
        self_bond: u128,
        commission_bps: u32,
    ) -> Self {
        GenesisValidator {
            owner,
            bls_key: BlsPublicKeyBytes(bls.public_key().to_bytes()),
            proof_of_possession: BlsSignatureBytes(bls.proof_of_possession().to_bytes()),
            network_key,
            self_bond,
            commission_bps,
        }
    }

    /// The validator's id.
    pub fn id(&self) -> ValidatorId {
        ValidatorId::of(&self.bls_key)
    }
}

/// A default seed for epoch 0: `H("aether/genesis-epoch-seed/v1", chain id
/// (u32 LE) ‖ BLS keys in list order)`. Any agreed value works; this one
/// needs no extra genesis field.
pub fn genesis_seed(chain_id: ChainId, validators: &[GenesisValidator]) -> Digest {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(validators.len() + 1);
    let chain = chain_id.0.to_le_bytes();
    parts.push(&chain);
    for v in validators {
        parts.push(&v.bls_key.0);
    }
    tagged_hash("aether/genesis-epoch-seed/v1", &parts)
}

/// The staking objects of a genesis state (see the module docs).
pub fn genesis_objects(
    params: &StakingParams,
    validators: &[GenesisValidator],
    seed: Digest,
) -> Result<Vec<(ObjectKey, Object)>, GenesisError> {
    params.check().map_err(GenesisError::Params)?;
    if validators.is_empty() {
        return Err(GenesisError::NoValidators);
    }
    if validators.len() > params.max_validators as usize {
        return Err(GenesisError::TooMany {
            count: validators.len(),
            max: params.max_validators,
        });
    }
    let mut objects = Vec::new();
    let mut registry = std::collections::BTreeSet::new();
    let mut members = Vec::new();
    let min = params.min_self_bond.max(params.stake_unit);
    for (index, g) in validators.iter().enumerate() {
        let as_action = RegisterValidator {
            owner: g.owner,
            bls_key: g.bls_key,
            proof_of_possession: g.proof_of_possession,
            network_key: g.network_key,
            self_bond: g.self_bond,
            commission_bps: g.commission_bps,
            attestation: None,
        };
        check_key(&as_action).map_err(|e| GenesisError::Key {
            index,
            reason: e.to_string(),
        })?;
        if g.commission_bps > MAX_COMMISSION_BPS {
            return Err(GenesisError::Commission {
                index,
                bps: g.commission_bps,
            });
        }
        if g.self_bond < min {
            return Err(GenesisError::SelfBondTooLow {
                index,
                bond: g.self_bond,
                min,
            });
        }
        let id = g.id();
        if !registry.insert(id) {
            return Err(GenesisError::DuplicateKey { index });
        }
        objects.push((
            ObjectKey::Validator(id),
            Object::Validator(Box::new(ValidatorRecord {
                owner: g.owner,
                bls_key: g.bls_key,
                proof_of_possession: g.proof_of_possession,
                network_key: g.network_key,
                commission_bps: g.commission_bps,
                tokens: g.self_bond,
                shares: g.self_bond,
                unbonding: vec![],
                tombstoned: false,
                slashed: 0,
                leaked: 0,
                attestation: None,
                registered_at: 0,
            })),
        ));
        objects.push((
            ObjectKey::Delegation(DelegationId::derive(&id, &g.owner)),
            Object::Delegation(DelegationRecord {
                validator: id,
                delegator: g.owner,
                shares: g.self_bond,
                unbonding: vec![],
            }),
        ));
        members.push(EpochMember {
            validator: id,
            bls_key: g.bls_key,
            proof_of_possession: g.proof_of_possession,
            network_key: g.network_key,
            stake: u64::try_from(g.self_bond / params.stake_unit).unwrap_or(u64::MAX),
        });
    }
    members.sort_by_key(|m| m.validator);
    let count = members.len();
    objects.push((
        ObjectKey::ValidatorRegistry,
        Object::ValidatorRegistry(registry),
    ));
    objects.push((
        ObjectKey::EpochSet(Epoch(0)),
        Object::EpochSet(EpochSet {
            epoch: Epoch(0),
            seed,
            first_height: 1,
            members,
        }),
    ));
    objects.push((
        ObjectKey::EpochActivity,
        Object::EpochActivity(EpochActivity::new(Epoch(0), count)),
    ));
    Ok(objects)
}

/// The epoch of the next block to execute on `view` (`None`: not a
/// staking chain).
pub fn current_epoch<V: UtxoView + ?Sized>(view: &V) -> Result<Option<Epoch>, ViewError> {
    Ok(match view.object(&ObjectKey::EpochActivity)? {
        Some(Object::EpochActivity(a)) => Some(a.epoch),
        _ => None,
    })
}

/// The stored set of `epoch` (the current one, the next one once fixed,
/// and up to `evidence_max_age` past ones are kept).
pub fn epoch_set<V: UtxoView + ?Sized>(
    view: &V,
    epoch: Epoch,
) -> Result<Option<EpochSet>, ViewError> {
    Ok(match view.object(&ObjectKey::EpochSet(epoch))? {
        Some(Object::EpochSet(set)) => Some(set),
        _ => None,
    })
}

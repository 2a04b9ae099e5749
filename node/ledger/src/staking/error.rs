//! Why a staking action is refused. Each check has its own variant and a
//! stable name ([`StakingError::check`]). A refused staking action reaches
//! callers as `LedgerError::Action { error: MarketError::Staking(..) }`:
//! every action's refusal is a `MarketError`, and the TEE checks an attested
//! registration shares with the market's receipts (evidence, measurement)
//! keep their market variants.

use aether_types::{Epoch, SlashId, ValidatorId, ValidatorIndex};

/// A refused staking action (the transaction is invalid: nothing changes,
/// nothing is charged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StakingError {
    // ---- registration ----
    /// The BLS key is not a valid compressed G1 point in the subgroup.
    #[error("invalid BLS public key: {0}")]
    InvalidBlsKey(String),
    /// The proof of possession does not verify for the key.
    #[error("the proof of possession does not verify: {0}")]
    BadProofOfPossession(String),
    /// A validator with this BLS key exists.
    #[error("validator {0} is already registered")]
    ValidatorExists(ValidatorId),
    /// The owner key did not sign the transaction.
    #[error("the owner did not sign")]
    NotOwner,
    /// The network key did not sign the transaction.
    #[error("the network key did not sign the registration")]
    NetworkKeyDidNotSign,
    /// The self-bond is below the minimum.
    #[error("self-bond {bond} below the minimum {min}")]
    SelfBondTooLow {
        /// Self-bond.
        bond: u128,
        /// Minimum.
        min: u128,
    },
    /// The chain requires attested validators and no evidence was given.
    #[error("this chain requires TEE evidence with a validator registration")]
    AttestationRequired,
    /// The evidence's report data does not bind this registration's keys
    /// and chain.
    #[error("the evidence's report data does not bind the validator's keys")]
    WrongValidatorBinding,

    // ---- delegation ----
    /// No such validator.
    #[error("validator {0} is not registered")]
    UnknownValidator(ValidatorId),
    /// The delegator did not sign.
    #[error("the delegator did not sign")]
    NotDelegator,
    /// A delegation below the minimum.
    #[error("delegation {amount} below the minimum {min}")]
    DelegationTooSmall {
        /// Amount.
        amount: u128,
        /// Minimum.
        min: u128,
    },
    /// The validator was slashed for equivocation: no new stake.
    #[error("validator {0} is tombstoned")]
    Tombstoned(ValidatorId),
    /// The validator's stake was lost entirely: its shares are worthless
    /// and new stake would be priced at nothing.
    #[error("validator {0} has shares but no stake left")]
    NoStakeLeft(ValidatorId),
    /// The amount buys (or releases) no share.
    #[error("amount {0} is worth less than one share")]
    AmountTooSmall(u128),
    /// No delegation of this delegator to this validator.
    #[error("no delegation to undelegate")]
    UnknownDelegation,
    /// Too many undelegations pending.
    #[error("too many undelegations pending")]
    TooManyUnbonding,

    // ---- equivocation reports, in the order checked ----
    /// Evidence of an epoch that has not started.
    #[error("evidence of epoch {epoch:?}, the chain is in epoch {current:?}")]
    EvidenceFromFuture {
        /// The evidence's epoch.
        epoch: Epoch,
        /// The current epoch.
        current: Epoch,
    },
    /// Evidence older than the chain keeps validator sets for.
    #[error("evidence of epoch {epoch:?} is too old (current {current:?})")]
    EvidenceTooOld {
        /// The evidence's epoch.
        epoch: Epoch,
        /// The current epoch.
        current: Epoch,
    },
    /// The offender's index is not in the epoch's set.
    #[error("offender {0:?} is not in the epoch's validator set")]
    OffenderNotInSet(ValidatorIndex),
    /// A signature of the evidence does not verify.
    #[error("an evidence signature does not verify")]
    BadEvidenceSignature,
    /// This equivocation was slashed before.
    #[error("equivocation {0} was already slashed")]
    AlreadySlashed(SlashId),
}

impl StakingError {
    /// A stable name of the failed check.
    pub fn check(&self) -> &'static str {
        match self {
            StakingError::InvalidBlsKey(_) => "bls_key",
            StakingError::BadProofOfPossession(_) => "proof_of_possession",
            StakingError::ValidatorExists(_) => "validator_exists",
            StakingError::NotOwner => "not_owner",
            StakingError::NetworkKeyDidNotSign => "network_key_signature",
            StakingError::SelfBondTooLow { .. } => "self_bond_too_low",
            StakingError::AttestationRequired => "attestation_required",
            StakingError::WrongValidatorBinding => "validator_binding",
            StakingError::UnknownValidator(_) => "unknown_validator",
            StakingError::NotDelegator => "not_delegator",
            StakingError::DelegationTooSmall { .. } => "delegation_too_small",
            StakingError::Tombstoned(_) => "tombstoned",
            StakingError::NoStakeLeft(_) => "no_stake_left",
            StakingError::AmountTooSmall(_) => "amount_too_small",
            StakingError::UnknownDelegation => "unknown_delegation",
            StakingError::TooManyUnbonding => "too_many_unbonding",
            StakingError::EvidenceFromFuture { .. } => "evidence_from_future",
            StakingError::EvidenceTooOld { .. } => "evidence_too_old",
            StakingError::OffenderNotInSet(_) => "offender_not_in_set",
            StakingError::BadEvidenceSignature => "evidence_signature",
            StakingError::AlreadySlashed(_) => "already_slashed",
        }
    }
}

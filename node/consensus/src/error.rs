//! The crate's error type (construction errors; message handling never
//! fails: bad messages are dropped and counted).

use aether_crypto::bls::BlsError;
use aether_types::ValidatorIndex;

/// Why a validator set or a core could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    /// The set is empty or larger than `MAX_VALIDATORS`.
    #[error("validator set of {0} members")]
    SetSize(usize),
    /// A validator without stake.
    #[error("validator {0:?} has no stake")]
    ZeroStake(ValidatorIndex),
    /// Two validators with one key.
    #[error("validator {0:?} repeats another's key")]
    DuplicateKey(ValidatorIndex),
    /// A key that is not a valid BLS public key.
    #[error("validator {index:?}: bad key: {source}")]
    BadKey {
        /// The validator.
        index: ValidatorIndex,
        /// Why.
        source: BlsError,
    },
    /// A proof of possession that does not verify.
    #[error("validator {index:?}: bad proof of possession: {source}")]
    BadProofOfPossession {
        /// The validator.
        index: ValidatorIndex,
        /// Why.
        source: BlsError,
    },
    /// The secret key is not the set's key at this index.
    #[error("validator {0:?} of the set does not hold this key")]
    NotInSet(ValidatorIndex),
    /// Config, set and safety state disagree on the epoch.
    #[error("epoch of the config, the validator set and the safety state differ")]
    EpochMismatch,
    /// The committed chain given to restore does not chain from genesis.
    #[error("restore data is not a chain from genesis")]
    BadRestore,
}

/// Why a piece of equivocation evidence is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// Not two statements of one round for different blocks.
    #[error("malformed evidence")]
    Malformed,
    /// For another epoch than the set's.
    #[error("evidence for another epoch")]
    WrongEpoch,
    /// The offender is not in the set.
    #[error("offender {0:?} not in the validator set")]
    UnknownValidator(ValidatorIndex),
    /// A signature does not verify.
    #[error("evidence signature does not verify")]
    BadSignature,
}

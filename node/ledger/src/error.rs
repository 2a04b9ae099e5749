//! The ledger's error type: every phase-1 check that can reject a
//! transaction, plus storage failures of the UTxO view.

use aether_types::{ChainId, KeyHash, OutPoint, ScriptHash, Value};

/// Failure to read the UTxO set (storage I/O, corruption). Not a property
/// of a transaction: block execution stops and reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("UTxO view: {message}")]
pub struct ViewError {
    /// What the storage layer reported.
    pub message: String,
}

/// Why a transaction is invalid (phase 1: nothing is charged, nothing
/// changes), or why execution could not proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The UTxO set could not be read.
    #[error(transparent)]
    Storage(#[from] ViewError),
    /// The transaction breaks a stateless structural rule.
    #[error("malformed transaction: {0}")]
    Malformed(aether_types::Error),
    /// The transaction is for another chain.
    #[error("transaction for chain {got:?}, this chain is {expected:?}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The transaction's.
        got: ChainId,
    },
    /// The encoded transaction exceeds the size limit.
    #[error("transaction of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The block height is outside the validity interval.
    #[error("not valid at height {height}")]
    OutsideValidityInterval {
        /// Height of the block.
        height: u64,
    },
    /// An input does not exist or is already spent.
    #[error("input {0} does not exist or is spent")]
    MissingInput(OutPoint),
    /// A reference input does not exist or is already spent.
    #[error("reference input {0} does not exist or is spent")]
    MissingReferenceInput(OutPoint),
    /// A collateral input does not exist or is already spent.
    #[error("collateral input {0} does not exist or is spent")]
    MissingCollateral(OutPoint),
    /// The declared fuel exceeds the per-transaction maximum.
    #[error("declared fuel {declared} exceeds the maximum {max}")]
    FuelLimitExceeded {
        /// Declared fuel.
        declared: u64,
        /// Maximum.
        max: u64,
    },
    /// The fee formula overflowed.
    #[error("fee computation overflows")]
    FeeOverflow,
    /// The declared fee is below the minimum.
    #[error("fee {fee} below the minimum {min}")]
    FeeTooLow {
        /// Declared fee.
        fee: u128,
        /// Minimum fee for this size and fuel.
        min: u128,
    },
    /// An output holds less AIC than the minimum.
    #[error("output {index} holds {coin} base units, below the minimum {min}")]
    OutputTooSmall {
        /// Output index (`outputs.len()` for the collateral return).
        index: usize,
        /// AIC in the output.
        coin: u128,
        /// Minimum.
        min: u128,
    },
    /// A sum of values overflowed.
    #[error("value overflow")]
    ValueOverflow,
    /// inputs + mint ≠ outputs + fee + burns.
    #[error("value not conserved: consumed {consumed:?}, produced {produced:?}")]
    ValueNotConserved {
        /// Inputs plus minted assets.
        consumed: Box<Value>,
        /// Outputs plus fee plus burned assets.
        produced: Box<Value>,
    },
    /// A key-locked input, collateral or required signer has no witness.
    #[error("missing signature of key {0}")]
    MissingSignature(KeyHash),
    /// At least one vkey witness does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// A vkey witness does not verify over the transaction id (reported
    /// by [`crate::check_stateless`], which names the witness).
    #[error("invalid signature: vkey witness {index} does not verify")]
    InvalidWitness {
        /// Position of the first failing witness.
        index: usize,
    },
    /// A script-locked input has no redeemer.
    #[error("no redeemer for script-locked input {0}")]
    MissingRedeemer(OutPoint),
    /// A key-locked input has a redeemer.
    #[error("redeemer for key-locked input {0}")]
    UnexpectedRedeemer(OutPoint),
    /// A script to run is neither a witness nor a reference script of an
    /// input or reference input.
    #[error("script {0} not provided")]
    MissingScript(ScriptHash),
    /// A witness script is not run by the transaction.
    #[error("witness script {0} is not used")]
    ExtraneousScript(ScriptHash),
    /// The transaction runs scripts but has no collateral.
    #[error("transaction runs scripts but has no collateral")]
    CollateralRequired,
    /// The transaction runs no script but has collateral.
    #[error("collateral given but no script runs")]
    UnexpectedCollateral,
    /// A collateral input is locked by a script.
    #[error("collateral input {0} is not key-locked")]
    CollateralNotKeyLocked(OutPoint),
    /// A market action was refused (see [`crate::market::MarketError`]).
    #[error("action {index}: {error}")]
    Action {
        /// Position among the transaction's actions.
        index: usize,
        /// Why.
        error: crate::market::MarketError,
    },
    /// Inputs cannot cover the actions' deposits and outputs.
    #[error("the outputs, the fee and the action deposits overflow")]
    DepositOverflow,
    /// collateral ≠ collateral return + fee.
    #[error(
        "collateral {collateral:?} does not cover the fee plus the collateral return {covered:?}"
    )]
    CollateralNotBalanced {
        /// Sum of the collateral inputs.
        collateral: Box<Value>,
        /// Fee plus collateral return.
        covered: Box<Value>,
    },
}

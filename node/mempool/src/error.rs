//! The crate's error type: every reason a transaction is not admitted.

use crate::FeeRate;
use aether_ledger::{LedgerError, ViewError};
use aether_types::{ChainId, OutPoint, ScriptFailure, ScriptPurpose, TxId};

/// Why a transaction was not admitted to the pool. Nothing changes in the
/// pool when an insertion fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The bytes exceed the protocol's transaction size limit (checked
    /// before decoding).
    #[error("transaction of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the submitted encoding.
        size: usize,
        /// Limit (`ProtocolParams::max_tx_size`).
        max: usize,
    },
    /// The bytes are not the canonical encoding of a well-formed transaction.
    #[error("invalid transaction encoding: {0}")]
    Decode(aether_types::Error),
    /// The transaction is for another chain.
    #[error("transaction for chain {got}, this chain is {expected}", got = .got.0, expected = .expected.0)]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The transaction's chain.
        got: ChainId,
    },
    /// The declared script fuel exceeds the per-transaction maximum.
    #[error("declared fuel {declared} exceeds the maximum {max}")]
    FuelLimitExceeded {
        /// Declared fuel.
        declared: u64,
        /// Maximum.
        max: u64,
    },
    /// The fee is below the minimum for the transaction's size and fuel.
    #[error("fee {fee} below the minimum {min} for this size and fuel")]
    FeeTooLow {
        /// Declared fee.
        fee: u128,
        /// Minimum fee.
        min: u128,
    },
    /// An output (or the collateral return) holds less AIC than the minimum.
    #[error("output {index} holds {coin} base units, below the minimum {min}")]
    OutputTooSmall {
        /// Output index (`outputs.len()` for the collateral return).
        index: usize,
        /// AIC in the output.
        coin: u128,
        /// Minimum.
        min: u128,
    },
    /// A vkey witness does not verify over the transaction id.
    #[error("invalid signature: vkey witness {index} does not verify")]
    InvalidSignature {
        /// Position of the first failing witness.
        index: usize,
    },
    /// The same transaction (same id) is already in the pool.
    #[error("transaction {0} is already in the pool")]
    AlreadyKnown(TxId),
    /// An input is already spent by a pooled transaction (no replace-by-fee).
    #[error("input {input} is already spent by pooled transaction {pooled}")]
    DoubleSpend {
        /// The contested input.
        input: OutPoint,
        /// The pooled transaction spending it.
        pooled: TxId,
    },
    /// A reference input or collateral input is spent by a pooled
    /// transaction, so this transaction would fail once that one is included.
    #[error(
        "out-point {out_point} read by this transaction is spent by pooled transaction {pooled}"
    )]
    ReadsPooledSpend {
        /// The out-point read (reference input or collateral).
        out_point: OutPoint,
        /// The pooled transaction spending it.
        pooled: TxId,
    },
    /// The transaction breaks a ledger rule against the current state plus
    /// the pool (missing input, value not conserved, missing signature, ...).
    #[error("transaction rejected by the ledger: {0}")]
    Ledger(LedgerError),
    /// A script of the transaction fails; it would only forfeit its
    /// collateral, so the pool refuses it.
    #[error("script {purpose:?} fails: {failure:?}")]
    ScriptFailed {
        /// The failing script run.
        purpose: ScriptPurpose,
        /// How it fails.
        failure: ScriptFailure,
    },
    /// The pool is full and the transaction's fee rate does not beat the
    /// entries that could be evicted for it.
    #[error(
        "mempool full: fee rate {offered} does not exceed the lowest evictable fee rate {lowest}"
    )]
    PoolFull {
        /// The transaction's fee rate.
        offered: FeeRate,
        /// Lowest fee rate it would have to beat (`0/1` if nothing can be evicted).
        lowest: FeeRate,
    },
    /// The transaction alone exceeds the pool's byte bound.
    #[error("transaction of {size} bytes exceeds the pool's capacity of {max} bytes")]
    ExceedsPoolCapacity {
        /// Transaction size.
        size: usize,
        /// Pool byte bound.
        max: usize,
    },
    /// The UTxO view failed (storage I/O).
    #[error(transparent)]
    Storage(#[from] ViewError),
}

impl MempoolError {
    /// Converts a ledger validation error, lifting storage failures.
    /// Maps a failure of [`aether_ledger::check_stateless`] to the
    /// admission variants of this crate.
    pub(crate) fn from_stateless(error: LedgerError) -> Self {
        match error {
            LedgerError::Malformed(e) => MempoolError::Decode(e),
            LedgerError::WrongChain { expected, got } => MempoolError::WrongChain { expected, got },
            LedgerError::TooLarge { size, max } => MempoolError::TooLarge { size, max },
            LedgerError::FuelLimitExceeded { declared, max } => {
                MempoolError::FuelLimitExceeded { declared, max }
            }
            LedgerError::FeeTooLow { fee, min } => MempoolError::FeeTooLow { fee, min },
            LedgerError::OutputTooSmall { index, coin, min } => {
                MempoolError::OutputTooSmall { index, coin, min }
            }
            LedgerError::InvalidWitness { index } => MempoolError::InvalidSignature { index },
            other => MempoolError::from_ledger(other),
        }
    }

    pub(crate) fn from_ledger(error: LedgerError) -> Self {
        match error {
            LedgerError::Storage(e) => MempoolError::Storage(e),
            other => MempoolError::Ledger(other),
        }
    }
}

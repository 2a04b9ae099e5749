//! The crate's error type.

use crate::tx::OutPoint;

/// Every way a protocol value can fail to decode or to be well-formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The encoding is longer than the type allows.
    #[error("encoding of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Length given.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The bytes are not a canonical encoding (truncated, trailing bytes,
    /// bad tag, unsorted set, bound exceeded, broken value invariant, ...).
    #[error("malformed encoding: {reason}")]
    Malformed {
        /// What the decoder found.
        reason: String,
    },
    /// A byte string exceeds its bound.
    #[error("byte string of {len} bytes exceeds its bound of {max}")]
    BytesTooLong {
        /// Length given.
        len: usize,
        /// Bound.
        max: usize,
    },
    /// Hex text is not the expected number of bytes.
    #[error("expected {expected_bytes} bytes of hex")]
    BadHex {
        /// Bytes expected.
        expected_bytes: usize,
    },
    /// An addition of values overflowed.
    #[error("value overflow")]
    ValueOverflow,
    /// A subtraction of values would go negative.
    #[error("value would become negative")]
    ValueUnderflow,
    /// Mint amounts are empty or contain a zero quantity.
    #[error("mint amounts must be non-empty and non-zero")]
    InvalidMint,
    /// A transaction without inputs.
    #[error("transaction has no inputs")]
    NoInputs,
    /// An out-point is both spent and referenced.
    #[error("reference input {0} is also spent")]
    ReferenceInputIsSpent(OutPoint),
    /// A spend redeemer names an out-point that is not an input.
    #[error("redeemer for {0}, which is not an input")]
    RedeemerWithoutInput(OutPoint),
    /// A collateral return output without collateral inputs.
    #[error("collateral return without collateral inputs")]
    CollateralReturnWithoutCollateral,
    /// Too many outputs to index with `u32`.
    #[error("too many outputs")]
    TooManyOutputs,
    /// The sum of redeemer fuel budgets overflows `u64`.
    #[error("declared script fuel overflows")]
    FuelOverflow,
    /// Vkey witnesses are not strictly ascending by public key.
    #[error("vkey witnesses are not sorted by key or repeat a key")]
    WitnessKeysNotSorted,
    /// Two witness scripts with the same hash.
    #[error("duplicate witness script")]
    DuplicateWitnessScript,
    /// A header version this crate does not know.
    #[error("unsupported header version {0}")]
    UnsupportedVersion(u32),
    /// More actions than a transaction may carry.
    #[error("{len} actions, at most {max}")]
    TooManyActions {
        /// Actions given.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// An action breaks a stateless rule.
    #[error("action {index}: {source}")]
    InvalidAction {
        /// Position among the transaction's actions.
        index: usize,
        /// What is wrong.
        source: crate::action::ActionError,
    },
    /// A transaction inside a block is not well-formed.
    #[error("transaction {index} of the block: {source}")]
    InBlockTransaction {
        /// Position in the block.
        index: usize,
        /// The transaction's error.
        source: Box<Error>,
    },
}

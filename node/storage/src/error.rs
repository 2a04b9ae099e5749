//! The crate's error type.

use aether_types::{BlockHash, Digest, OutPoint};

/// Every way a storage operation, a commit check or a proof check can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// RocksDB reported an error (I/O, a checksum mismatch it detected, a
    /// lock held by another process, ...).
    #[error("RocksDB: {message}")]
    RocksDb {
        /// RocksDB's message.
        message: String,
    },
    /// Bytes read back from disk are not a well-formed record of their
    /// column family. The store is damaged; nothing was changed.
    #[error("corrupt record in column family `{cf}` at key {key}: {reason}")]
    Corruption {
        /// Column family (or `"jmt"` for tree nodes reached through the tree).
        cf: &'static str,
        /// The key, in hex.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The database was written by a different on-disk schema version.
    #[error("on-disk schema version {found}, this build reads version {expected}")]
    SchemaVersion {
        /// Version this build writes and reads.
        expected: u32,
        /// Version found in the database.
        found: u32,
    },
    /// The block's height is not the tip's height plus one (0 for the first block).
    #[error("block height {got}, expected {expected}")]
    UnexpectedHeight {
        /// Height the store expects next.
        expected: u64,
        /// Height in the block header.
        got: u64,
    },
    /// The block's parent hash is not the tip's hash (zero for the first block).
    #[error("block parent {got}, the tip is {expected}")]
    ParentMismatch {
        /// Hash of the tip (or zero).
        expected: BlockHash,
        /// Parent hash in the header.
        got: BlockHash,
    },
    /// The block's chain id differs from the first block's.
    #[error("block for chain {got}, the store holds chain {expected}")]
    ChainIdMismatch {
        /// Chain id of the stored chain.
        expected: u32,
        /// Chain id in the header.
        got: u32,
    },
    /// The execution result reports invalid transactions; such a block is invalid.
    #[error(
        "execution rejected {count} transaction(s) of the block, the first at index {first_index}"
    )]
    RejectedTransactions {
        /// Number of rejected transactions.
        count: usize,
        /// Position of the first one in the block.
        first_index: usize,
    },
    /// The receipts do not correspond one-to-one, in order, to the block's transactions.
    #[error("receipt {index} does not belong to transaction {index} of the block")]
    ReceiptMismatch {
        /// First position where they disagree (or the shorter length).
        index: usize,
    },
    /// The header's receipts root is not the root of the execution receipts.
    #[error("header receipts root {header}, receipts give {computed}")]
    ReceiptsRootMismatch {
        /// Root in the header.
        header: Digest,
        /// Root of the receipts.
        computed: Digest,
    },
    /// The header's transaction root is not the root of the block's transactions.
    #[error("header tx root {header}, transactions give {computed}")]
    TxRootMismatch {
        /// Root in the header.
        header: Digest,
        /// Root of the transactions.
        computed: Digest,
    },
    /// The header's state root is not the root of the state after the block.
    #[error("header state root {header}, the state after the block has root {computed}")]
    StateRootMismatch {
        /// Root in the header.
        header: Digest,
        /// Root computed from the stored state and the block's diff.
        computed: Digest,
    },
    /// The diff spends an output the store does not hold.
    #[error("the diff spends {0}, which is not in the UTxO set")]
    SpentOutputMissing(OutPoint),
    /// The diff creates an output that already exists.
    #[error("the diff creates {0}, which is already in the UTxO set")]
    CreatedOutputExists(OutPoint),
    /// A prepared state update was computed against another state or diff.
    #[error("the prepared state update does not match: {reason}")]
    StaleStateUpdate {
        /// What differs.
        reason: &'static str,
    },
    /// Finality can only move forward.
    #[error("finalized height {requested} is below the current finalized height {current}")]
    FinalizedRegression {
        /// Current finalized height.
        current: u64,
        /// Requested height.
        requested: u64,
    },
    /// Finality cannot pass the tip.
    #[error("finalized height {requested} is above the tip {tip:?}")]
    FinalizedBeyondTip {
        /// Tip height, if any block is stored.
        tip: Option<u64>,
        /// Requested height.
        requested: u64,
    },
    /// A sum of output values overflowed (impossible with a bounded supply;
    /// reported rather than wrapped).
    #[error("value overflow while summing outputs")]
    ValueOverflow,
    /// The authenticated tree failed (a missing node means a damaged store).
    #[error("state tree: {reason}")]
    Tree {
        /// The tree's message.
        reason: String,
    },
    /// A proof is not a canonical encoding of a state proof.
    #[error("malformed state proof: {reason}")]
    ProofMalformed {
        /// What the decoder found.
        reason: String,
    },
    /// A proof does not prove the claimed state under the given root.
    #[error("state proof rejected: {reason}")]
    ProofRejected {
        /// Why verification failed.
        reason: String,
    },
}

#[cfg(feature = "db")]
impl From<rocksdb::Error> for Error {
    fn from(e: rocksdb::Error) -> Self {
        Error::RocksDb {
            message: e.into_string(),
        }
    }
}

/// Result alias of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

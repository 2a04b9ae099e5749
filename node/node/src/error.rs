//! The node's error type.

use aether_types::BlockHash;

/// Why the node could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The configuration is invalid.
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The genesis specification is invalid.
    #[error("genesis: {reason}")]
    Genesis {
        /// What is wrong.
        reason: String,
    },
    /// The data directory holds a different chain.
    #[error(
        "the data directory holds another chain: its block 0 is {stored}, this configuration's genesis is {expected} (use another --data-dir)"
    )]
    GenesisMismatch {
        /// Hash of the stored block 0.
        stored: BlockHash,
        /// Hash of the configured genesis block.
        expected: BlockHash,
    },
    /// The store failed.
    #[error("storage: {0}")]
    Storage(#[from] aether_storage::Error),
    /// Reading the chain state failed during execution.
    #[error("ledger view: {0}")]
    View(#[from] aether_ledger::ViewError),
    /// The RPC server failed to start.
    #[error("rpc: {0}")]
    Rpc(#[from] aether_rpc::RpcError),
    /// A background task (block production, a blocking storage call)
    /// stopped or failed.
    #[error("task: {reason}")]
    Task {
        /// What happened.
        reason: String,
    },
    /// A socket or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The failure.
        source: std::io::Error,
    },
}

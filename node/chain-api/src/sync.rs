//! Block sync: what a node serves to peers that fell behind.
//!
//! A node that was down or partitioned learns from its peers' **status**
//! (committed height and highest QC) that it is behind, then asks them for
//! the committed blocks it lacks **by height range**. The network layer
//! (`aether-network`) carries the status and the requests; the node answers
//! them through [`SyncSource`], implemented over its store (RocksDB in the
//! node, memory in tests), so a node that restarted serves what it
//! committed before the restart.
//!
//! ```text
//!   peer ── Status { committed_height, highest_qc } ──► node      (periodic, on connect)
//!   node ── BlocksRequest { from_height, count } ──────► peer
//!   peer ── BlocksResponse [ CommittedBlock, ... ] ────► node      (consecutive heights,
//!                                                                   ascending, bounded)
//! ```
//!
//! # What the requester must check
//! Nothing in a response is trusted: the requester verifies each block
//! before committing it, in height order, each a child of the previous one
//! (the first of its committed head), each `finality` QC verifying against
//! the validator set at the block's next round and height, and commits the
//! blocks up to the highest one whose QC certifies its successor in the
//! response (the two-chain rule: that block is final, and so are its
//! ancestors); then it re-executes each block and checks its roots. The
//! rules, with a test per condition, are `aether_consensus::check_synced_block`
//! and `aether_consensus::check_synced_blocks`.
//!
//! # Bounds
//! A serving node returns at most `max_blocks` blocks (the network caps it
//! at 64 per request) and stops adding blocks once their encoding exceeds
//! `max_bytes` (but always returns at least one block if it has the first
//! height), so a response fits one bounded frame.

use aether_types::{Proposal, QuorumCert};
use std::sync::Arc;

/// A committed block as a syncing peer needs it: the block as proposed and
/// the QC that made it final (the child's QC, as given to
/// [`crate::BlockLifecycle::commit`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedBlock {
    /// Header, payload and proposer signature.
    pub proposal: Proposal,
    /// The QC that finalized it.
    pub finality: QuorumCert,
}

/// What a node tells its peers about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncStatus {
    /// Height of its committed head (0 while only genesis is committed).
    pub committed_height: u64,
    /// Its highest quorum certificate.
    pub highest_qc: QuorumCert,
}

/// Why a sync request could not be served.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncError {
    /// The store failed (I/O).
    #[error("storage: {0}")]
    Storage(Arc<dyn std::error::Error + Send + Sync>),
}

/// The node's side of block sync (see the module docs). Called from the
/// network's tasks, so it takes `&self` and must be `Send + Sync`; calls
/// may block on the store (the network runs them off its event loop).
pub trait SyncSource: Send + Sync {
    /// The node's current status.
    fn status(&self) -> SyncStatus;

    /// Committed blocks of heights `from_height, from_height + 1, ...`:
    /// at most `max_blocks`, stopping before the first height the node has
    /// not committed, and before the encoded size passes `max_bytes` (but
    /// at least the first block, if committed). Empty if `from_height` is
    /// above the committed head.
    fn committed_blocks(
        &self,
        from_height: u64,
        max_blocks: usize,
        max_bytes: usize,
    ) -> Result<Vec<CommittedBlock>, SyncError>;
}

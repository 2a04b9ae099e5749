//! The block lifecycle the consensus driver runs against the application
//! (the ledger over its store; in the simulator, a small deterministic app).
//!
//! ```text
//!   leader:     build(parent, consensus fields) ──► proposal
//!   everyone:   verify(header, payload)         ──► re-executed against the
//!                                                   parent's state, kept pending
//!   final:      commit(proposal, finality QC)   ──► written; forks dropped
//! ```
//! - `build` and `verify` leave the block **pending**: its state lives as
//!   an overlay over its parent's (pending or committed) state, so several
//!   forks can be pending at once; a fork's overlay is dropped when a
//!   conflicting block commits.
//! - `commit` is called in height order, each block a child of the
//!   committed head, and writes the block in one atomic batch; after a
//!   crash the app restarts at its last committed block (nothing pending).
//! - Every method is deterministic: the same blocks give the same state
//!   roots on every node. Time comes in the request (the driver's clock),
//!   never from the system.

use aether_types::{BlockHash, BlockHeader, ConsensusFields, Digest, Proposal, QuorumCert};
use std::sync::Arc;

/// What the leader asks the application to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildRequest {
    /// The parent (the block the leader's QC certifies).
    pub parent: BlockHash,
    /// Height of the new block (parent height + 1).
    pub height: u64,
    /// Header timestamp, from the driver's clock (milliseconds).
    pub timestamp_ms: u64,
    /// The header's consensus fields, made by the consensus core.
    pub consensus: ConsensusFields,
}

/// A block built by the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltBlock {
    /// The header (parent, height, consensus fields as requested).
    pub header: BlockHeader,
    /// The body, as the application encodes it (opaque to consensus).
    pub payload: Vec<u8>,
}

/// The last committed block and the QC that made it final.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedHead {
    /// The block as proposed (header, payload, proposer signature).
    pub proposal: Proposal,
    /// The QC of the child that finalized it (two-chain rule).
    pub finality: QuorumCert,
}

/// Why a block was refused by the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The header's height is not the parent's plus one.
    Height,
    /// The timestamp is not after the parent's (or too far ahead).
    Timestamp,
    /// The payload does not decode or does not match the header's roots.
    Payload,
    /// Re-execution gave another state root.
    StateRoot,
    /// Re-execution gave other receipts.
    Receipts,
    /// A transaction or action of the block is invalid.
    Execution,
    /// The header is for another chain or of another version.
    Header,
}

/// Every way a lifecycle call can fail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LifecycleError {
    /// The parent is neither pending nor the committed head.
    #[error("unknown parent {0}")]
    UnknownParent(BlockHash),
    /// The block is invalid.
    #[error("block {block} rejected: {reason:?}")]
    Rejected {
        /// The block.
        block: BlockHash,
        /// Why.
        reason: RejectReason,
    },
    /// `commit` named a block that is not a verified child of the head.
    #[error("block {0} is not a pending child of the committed head")]
    NotCommittable(BlockHash),
    /// The store failed (I/O); the node should stop rather than continue.
    #[error("storage: {0}")]
    Storage(Arc<dyn std::error::Error + Send + Sync>),
}

/// The application behind consensus (see the module docs).
pub trait BlockLifecycle {
    /// Builds a block on `request.parent`, which is pending or committed.
    fn build(&mut self, request: &BuildRequest) -> Result<BuiltBlock, LifecycleError>;

    /// Re-executes a proposed block against its parent's state and keeps
    /// it pending on success. Verifying a block twice is not an error.
    fn verify(&mut self, header: &BlockHeader, payload: &[u8]) -> Result<(), LifecycleError>;

    /// Commits a final block: a pending child of the committed head.
    fn commit(&mut self, proposal: &Proposal, finality: &QuorumCert) -> Result<(), LifecycleError>;

    /// The state root after `block` (pending or committed), if known.
    fn state_root(&self, block: &BlockHash) -> Option<Digest>;

    /// The committed head (`None` while only genesis is committed).
    fn committed_head(&self) -> Option<CommittedHead>;

    /// A committed block by height, as proposed (to serve peers that sync
    /// and to rebuild consensus state after a restart).
    fn committed_at(&self, height: u64) -> Option<Proposal>;

    /// The height of a committed block, by id.
    fn committed_height(&self, block: &BlockHash) -> Option<u64>;
}

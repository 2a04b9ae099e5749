//! The rule by which a node accepts a committed block it syncs from a peer
//! (block sync after a restart or a partition), on the block's data alone.
//!
//! A response holds committed blocks of consecutive heights, each with its
//! finality QC. Nothing in it is trusted. Block `b` is accepted when:
//!
//! 1. it is a block of this protocol (HotStuff consensus fields);
//! 2. it extends the node's committed head (`parent_hash`);
//! 3. the next block of the response, `c`, is its child;
//! 4. `b`'s finality QC certifies `c` ...
//! 5. ... at `b`'s round + 1 (the two-chain rule: a certified block of
//!    the next round extends `b`, which is what made `b` final) ...
//! 6. ... at `b`'s height + 1;
//! 7. and that QC verifies against the validator set (a quorum of stake
//!    signed it; checked last, as it is the one costly check).
//!
//! The proposer's signature on `b` is not needed: `b`'s id is inside `c`'s
//! header (`parent_hash`), whose id a quorum signed. The last block of a
//! response has no child in it and waits for the next response (or for
//! consensus). The caller then re-executes `b` and checks its roots before
//! committing it.

use aether_types::{BlockHash, Proposal, QuorumCert};

/// Why a synced block is refused (each names the rule above that failed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncRefusal {
    /// Rule 1.
    #[error("block {height} carries no HotStuff consensus fields")]
    NotHotStuff {
        /// Its height.
        height: u64,
    },
    /// Rule 2.
    #[error("block {height} does not extend the committed head")]
    NotOnHead {
        /// Its height.
        height: u64,
    },
    /// Rule 3.
    #[error("block {height}'s successor in the response is not its child")]
    NoChild {
        /// Its height.
        height: u64,
    },
    /// Rule 4.
    #[error("block {height}'s finality QC certifies another block than its child")]
    QcForAnotherBlock {
        /// Its height.
        height: u64,
    },
    /// Rule 5.
    #[error("block {height}'s finality QC is of round {qc}, not {expected}")]
    QcRound {
        /// Its height.
        height: u64,
        /// The QC's round.
        qc: u64,
        /// The block's round + 1.
        expected: u64,
    },
    /// Rule 6.
    #[error("block {height}'s finality QC is at height {qc}, not {expected}")]
    QcHeight {
        /// Its height.
        height: u64,
        /// The QC's height.
        qc: u64,
        /// The block's height + 1.
        expected: u64,
    },
    /// Rule 7.
    #[error("block {height}'s finality QC does not verify against the validator set")]
    QcInvalid {
        /// Its height.
        height: u64,
    },
}

/// Checks rules 1-7 for `block` with its `finality` QC and `child` (the
/// next block of the response) on top of the committed `head`;
/// `verify_qc` checks a QC's signature and quorum (e.g.
/// [`crate::Core::verify_quorum_cert`]).
pub fn check_synced_block(
    head: BlockHash,
    block: &Proposal,
    finality: &QuorumCert,
    child: &Proposal,
    verify_qc: impl FnOnce(&QuorumCert) -> bool,
) -> Result<(), SyncRefusal> {
    let height = block.header.height;
    let fields = block.fields().ok_or(SyncRefusal::NotHotStuff { height })?;
    if block.header.parent_hash != head {
        return Err(SyncRefusal::NotOnHead { height });
    }
    if child.header.parent_hash != block.block_id() {
        return Err(SyncRefusal::NoChild { height });
    }
    if finality.block != child.block_id() {
        return Err(SyncRefusal::QcForAnotherBlock { height });
    }
    let expected = fields.round.next();
    if finality.round != expected {
        return Err(SyncRefusal::QcRound {
            height,
            qc: finality.round.0,
            expected: expected.0,
        });
    }
    if finality.height != height + 1 {
        return Err(SyncRefusal::QcHeight {
            height,
            qc: finality.height,
            expected: height + 1,
        });
    }
    if !verify_qc(finality) {
        return Err(SyncRefusal::QcInvalid { height });
    }
    Ok(())
}

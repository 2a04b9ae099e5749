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
//! # Responses
//! [`check_synced_block`] is the rule for one block with its successor.
//! A whole response is checked by [`check_synced_blocks`]. A block's
//! stored finality QC is the QC that committed it: for a block that became
//! final by its own certified child that is the child's QC (rules 4-6), but
//! ancestors committed in the same step carry the QC of that later child,
//! and a block's certified child of round `r + 1` may even have been
//! abandoned after it made the block final (its QC reached too few
//! validators before the round timed out), so the child committed at
//! `h + 1` is another block of a later round. So the response rule is:
//!
//! - rules 1 and 2 for every block of the accepted prefix (each extends the
//!   previous one, the first the head), 7 for its QC (a real quorum: only
//!   verified certificates are stored and served again), and 5': that QC
//!   certifies a block above it (higher round and height);
//! - rules 3 and 4 for the prefix's last block `b`: one of the prefix's QCs
//!   certifies its successor in the response at the round and the height
//!   after `b`'s. Then `b` is final by the two-chain rule, and so are its
//!   ancestors: the whole prefix.
//!
//! A QC is verified once ([`crate::VerifyMemo`]): the blocks committed in
//! one step share it.
//!
//! The proposer's signature on `b` is not needed: `b`'s id is inside `c`'s
//! header (`parent_hash`), whose id a quorum signed. Nor are `c`'s own
//! consensus fields: the verified QC says that a quorum voted for `c`'s id
//! at round `r + 1` and height `h + 1` (the vote's signed statement), and
//! honest validators vote only for a proposal whose fields they checked; a
//! `c` whose header said otherwise would have another id. The last block of a
//! response has no child in it and waits for the next response (or for
//! consensus). The caller then re-executes `b` and checks its roots before
//! committing it.

use aether_types::{BlockHash, Proposal, QuorumCert, Round};

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
    #[error(
        "block {height} does not extend the committed head (or the previous block of the response)"
    )]
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
    /// Rule 5' (a response's blocks).
    #[error("block {height}'s finality QC does not certify a block above it")]
    QcNotAbove {
        /// Its height.
        height: u64,
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
    check_finality_shape(height, fields.round, finality)?;
    if !verify_qc(finality) {
        return Err(SyncRefusal::QcInvalid { height });
    }
    Ok(())
}

/// Rules 5 and 6.
fn check_finality_shape(
    height: u64,
    round: Round,
    finality: &QuorumCert,
) -> Result<(), SyncRefusal> {
    let expected = round.next();
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
    Ok(())
}

/// What [`check_synced_blocks`] found in a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncedPrefix {
    /// How many of the response's first blocks are proven final: commit
    /// them, in order.
    pub accepted: usize,
    /// Why the walk stopped before the response's end, if a block broke a
    /// rule (the blocks above the last proven one otherwise simply wait).
    pub refusal: Option<SyncRefusal>,
}

/// Checks a whole response: `blocks`, consecutive committed blocks with
/// their finality QCs, on top of the committed `head` (see the module
/// docs, "Responses").
pub fn check_synced_blocks(
    head: BlockHash,
    blocks: &[(&Proposal, &QuorumCert)],
    mut verify_qc: impl FnMut(&QuorumCert) -> bool,
) -> SyncedPrefix {
    // Rules 1, 2, 5' and 7 for every block, in order: the linked prefix.
    let mut parent = head;
    let mut linked = 0usize;
    let mut refusal = None;
    for (block, finality) in blocks {
        let height = block.header.height;
        let checked = match block.fields() {
            None => Err(SyncRefusal::NotHotStuff { height }),
            Some(_) if block.header.parent_hash != parent => Err(SyncRefusal::NotOnHead { height }),
            Some(fields) if finality.round <= fields.round || finality.height <= height => {
                Err(SyncRefusal::QcNotAbove { height })
            }
            Some(_) if !verify_qc(finality) => Err(SyncRefusal::QcInvalid { height }),
            Some(_) => Ok(()),
        };
        if let Err(r) = checked {
            refusal = Some(r);
            break;
        }
        parent = block.block_id();
        linked += 1;
    }
    let prefix = &blocks[..linked];
    // Rules 3 and 4 for the highest block they hold for: one of the
    // prefix's QCs certifies its successor at its round + 1 and height + 1.
    // It is final, and so is every block below it (its ancestors).
    let certified: std::collections::HashMap<BlockHash, (Round, u64)> = prefix
        .iter()
        .map(|(_, qc)| (qc.block, (qc.round, qc.height)))
        .collect();
    let accepted = (1..prefix.len())
        .rev()
        .find(|&k| {
            let (below, _) = prefix[k - 1];
            let Some(fields) = below.fields() else {
                return false;
            };
            certified.get(&prefix[k].0.block_id())
                == Some(&(fields.round.next(), below.header.height + 1))
        })
        .unwrap_or(0);
    SyncedPrefix { accepted, refusal }
}

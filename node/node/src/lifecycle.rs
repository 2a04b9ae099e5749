//! The ledger over its RocksDB store behind consensus's
//! [`BlockLifecycle`]: build and verify blocks on top of **pending**
//! (certified or proposed, not yet final) parents, commit final ones.
//!
//! # Pending blocks
//! A pending block keeps its transactions, its execution outcome (the
//! state diff) and its state-tree update. A child is executed against
//! [`PendingView`] (the store's committed state plus the diffs of the
//! pending ancestors, oldest first) and its tree is computed with
//! [`Store::prepare_state_on`] (the ancestors' new tree nodes over the
//! store's), so nothing reaches the disk before a block is final. Forks
//! are several children of one parent; they are dropped when a block at
//! their height or above commits on another branch.
//!
//! # Staking
//! Blocks execute with their header's consensus facts (proposer, QC
//! signers, VRF output: [`BlockConsensus::from_fields`]), so on a staking
//! chain the ledger attributes each block's fees and presence to the
//! validators who made it (see `aether_ledger::staking::epoch`).
//!
//! # Commit
//! `commit` writes the block, its outcome, its tree update, its consensus
//! record (proposal signature and finality QC, [`ConsensusRecord`]) and the
//! finalized height in one RocksDB batch ([`Store::commit_final`]); then
//! the pool drops the block's transactions and the heads are published.
//! After a crash the node restarts at its last committed block with nothing
//! pending (consensus fetches what it needs again).
//!
//! # Payload
//! A proposal's payload is the Borsh encoding of the block's transaction
//! list, so `header.encode() ‖ payload` is the block's canonical encoding
//! and decoding it goes through [`Block`]'s bounded, checked decoder.

use crate::chain::NodeChain;
use aether_chain_api::{
    BlockLifecycle, BuildRequest, BuiltBlock, CommittedHead, LifecycleError, RejectReason,
};
use aether_ledger::{BlockConsensus, BlockContext, BlockOutcome, ExecutionMode, PendingView};
use aether_storage::{StateUpdate, Tip};
use aether_types::*;
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a committed block keeps for consensus beside the block itself:
/// the proposer's signature (to rebuild the [`Proposal`]) and the QC that
/// made it final (to serve syncing peers).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ConsensusRecord {
    /// The proposal's signature.
    pub signature: BlsSignatureBytes,
    /// The finality QC.
    pub finality: QuorumCert,
}

struct Pending {
    block: Block,
    outcome: BlockOutcome,
    update: StateUpdate,
}

/// The node's [`BlockLifecycle`] (see the module docs).
pub struct ChainLifecycle {
    chain: Arc<NodeChain>,
    pending: HashMap<BlockHash, Pending>,
    /// Largest number of transactions per block this node builds.
    max_txs: usize,
    /// Largest transaction bytes per block this node builds.
    max_bytes: usize,
}

fn storage(e: impl std::error::Error + Send + Sync + 'static) -> LifecycleError {
    LifecycleError::Storage(Arc::new(e))
}

fn rejected(block: BlockHash, reason: RejectReason) -> LifecycleError {
    LifecycleError::Rejected { block, reason }
}

/// The payload of a block: its transactions, Borsh-encoded.
pub fn encode_payload(transactions: &[Transaction]) -> Vec<u8> {
    codec::encode(&transactions.to_vec())
}

/// The block of `header` and `payload` (see the module docs), through the
/// canonical block decoder.
pub fn decode_block(header: &BlockHeader, payload: &[u8]) -> Result<Block, Error> {
    let mut bytes = header.encode();
    bytes.extend_from_slice(payload);
    Block::decode(&bytes)
}

impl ChainLifecycle {
    /// The lifecycle of `chain`, building blocks of at most `max_txs`
    /// transactions and `max_bytes` bytes of them.
    pub fn new(chain: Arc<NodeChain>, max_txs: usize, max_bytes: usize) -> Self {
        ChainLifecycle {
            chain,
            pending: HashMap::new(),
            max_txs,
            max_bytes,
        }
    }

    /// The chain.
    pub fn chain(&self) -> &Arc<NodeChain> {
        &self.chain
    }

    /// Number of pending blocks.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Drops every pending block (after a sync moved the committed head).
    pub fn clear_pending(&mut self) {
        self.pending.clear();
    }

    fn tip(&self) -> Result<Tip, LifecycleError> {
        self.chain
            .store()
            .tip()
            .ok_or_else(|| storage(std::io::Error::other("no genesis committed")))
    }

    /// The pending blocks from the one above the committed tip up to
    /// `parent` (oldest first), and the parent's header. `parent` is the
    /// tip or a pending block whose chain reaches the tip.
    fn ancestry(&self, parent: &BlockHash) -> Result<(Vec<&Pending>, BlockHeader), LifecycleError> {
        let tip = self.tip()?;
        let mut chain = Vec::new();
        let mut cursor = *parent;
        while cursor != tip.hash {
            let Some(p) = self.pending.get(&cursor) else {
                return Err(LifecycleError::UnknownParent(*parent));
            };
            if p.block.header.height <= tip.height {
                return Err(LifecycleError::UnknownParent(*parent));
            }
            cursor = p.block.header.parent_hash;
            chain.push(p);
        }
        chain.reverse();
        let header = match chain.last() {
            Some(p) => p.block.header.clone(),
            None => self
                .chain
                .store()
                .header(tip.height)
                .map_err(storage)?
                .ok_or(LifecycleError::UnknownParent(*parent))?,
        };
        Ok((chain, header))
    }

    /// Executes `transactions` on top of `parent` (pending or the tip).
    fn execute(
        &self,
        ancestors: &[&Pending],
        parent: &BlockHeader,
        ctx: &BlockContext,
        consensus: &ConsensusFields,
        transactions: &[Transaction],
    ) -> Result<(BlockOutcome, StateUpdate), LifecycleError> {
        let store = self.chain.store();
        let diffs = ancestors.iter().map(|p| &p.outcome.diff).collect();
        let view = PendingView::new(store, diffs);
        let outcome = self
            .chain
            .ledger()
            .execute_block_with(
                &view,
                ctx,
                &BlockConsensus::from_fields(consensus),
                transactions,
                ExecutionMode::Parallel,
            )
            .map_err(storage)?;
        let updates: Vec<&StateUpdate> = ancestors.iter().map(|p| &p.update).collect();
        let parent_tip = Tip {
            height: parent.height,
            hash: parent.hash(),
        };
        let update = store
            .prepare_state_on(parent_tip, &updates, &outcome.diff)
            .map_err(storage)?;
        Ok((outcome, update))
    }

    /// Drops pending blocks that can no longer commit: those whose chain
    /// of pending parents does not reach the committed tip (forks of the
    /// committed block and their descendants).
    fn prune(&mut self) {
        let Some(tip) = self.chain.store().tip() else {
            return;
        };
        let mut keep: HashSet<BlockHash> = HashSet::new();
        let mut dropped: HashSet<BlockHash> = HashSet::new();
        let ids: Vec<BlockHash> = self.pending.keys().copied().collect();
        for id in ids {
            let mut path = Vec::new();
            let mut cursor = id;
            let reaches = loop {
                if cursor == tip.hash || keep.contains(&cursor) {
                    break true;
                }
                if dropped.contains(&cursor) {
                    break false;
                }
                match self.pending.get(&cursor) {
                    Some(p) if p.block.header.height > tip.height => {
                        path.push(cursor);
                        cursor = p.block.header.parent_hash;
                    }
                    _ => break false,
                }
            };
            if reaches {
                keep.extend(path);
            } else {
                dropped.extend(path);
            }
        }
        self.pending.retain(|id, _| keep.contains(id));
    }
}

impl BlockLifecycle for ChainLifecycle {
    fn build(&mut self, request: &BuildRequest) -> Result<BuiltBlock, LifecycleError> {
        let (ancestors, parent) = self.ancestry(&request.parent)?;
        let height = parent.height + 1;
        let timestamp_ms = request
            .timestamp_ms
            .max(parent.timestamp_ms.saturating_add(1));
        let ctx = BlockContext {
            height,
            timestamp_ms,
            parent_hash: request.parent,
        };
        // Transactions already in a pending ancestor are not selected again.
        let included: HashSet<TxId> = ancestors
            .iter()
            .flat_map(|p| p.block.transactions.iter().map(Transaction::id))
            .collect();
        let mut txs: Vec<Transaction> = {
            let mut pool = self.chain.pool();
            pool.remove_expired(height);
            pool.select_for_block(self.max_txs + included.len(), self.max_bytes)
                .iter()
                .filter(|t| !included.contains(&t.id()))
                .take(self.max_txs)
                .map(|t| (**t).clone())
                .collect()
        };
        let (outcome, update) = loop {
            let (outcome, update) =
                self.execute(&ancestors, &parent, &ctx, &request.consensus, &txs)?;
            if outcome.rejected.is_empty() {
                break (outcome, update);
            }
            // Invalid on this branch (an input spent by an ancestor, an
            // ended validity interval): leave them out of this block. They
            // stay pooled only if still valid against the committed state,
            // which the pool rechecks when blocks commit.
            for r in &outcome.rejected {
                if let Some(tx) = txs.get(r.index) {
                    tracing::debug!(tx = %tx.id(), error = %r.error, "left out of the block");
                }
            }
            txs = crate::chain::without_rejected(txs, &outcome.rejected);
        };
        let mut block = Block {
            header: BlockHeader {
                version: HEADER_VERSION,
                chain_id: self.chain.ledger().params().chain_id,
                height,
                timestamp_ms,
                parent_hash: request.parent,
                tx_root: Digest::default(),
                receipts_root: outcome.receipts_root(),
                state_root: update.state_root(),
                data_root: Digest::default(),
                consensus: request.consensus.clone(),
            },
            transactions: txs,
        };
        block.header.tx_root = block.compute_tx_root();
        let built = BuiltBlock {
            header: block.header.clone(),
            payload: encode_payload(&block.transactions),
        };
        self.pending.insert(
            block.hash(),
            Pending {
                block,
                outcome,
                update,
            },
        );
        Ok(built)
    }

    fn verify(&mut self, header: &BlockHeader, payload: &[u8]) -> Result<(), LifecycleError> {
        let id = header.hash();
        if self.pending.contains_key(&id) {
            return Ok(());
        }
        let (ancestors, parent) = self.ancestry(&header.parent_hash)?;
        let params = self.chain.ledger().params();
        if header.version != HEADER_VERSION || header.chain_id != params.chain_id {
            return Err(rejected(id, RejectReason::Header));
        }
        if header.height != parent.height + 1 {
            return Err(rejected(id, RejectReason::Height));
        }
        if header.timestamp_ms <= parent.timestamp_ms
            || header.timestamp_ms > crate::service::now_ms() + MAX_CLOCK_DRIFT_MS
        {
            return Err(rejected(id, RejectReason::Timestamp));
        }
        let block =
            decode_block(header, payload).map_err(|_| rejected(id, RejectReason::Payload))?;
        if block.compute_tx_root() != header.tx_root {
            return Err(rejected(id, RejectReason::Payload));
        }
        let ctx = BlockContext {
            height: header.height,
            timestamp_ms: header.timestamp_ms,
            parent_hash: header.parent_hash,
        };
        let (outcome, update) = self.execute(
            &ancestors,
            &parent,
            &ctx,
            &header.consensus,
            &block.transactions,
        )?;
        if !outcome.rejected.is_empty() {
            return Err(rejected(id, RejectReason::Execution));
        }
        if outcome.receipts_root() != header.receipts_root {
            return Err(rejected(id, RejectReason::Receipts));
        }
        if update.state_root() != header.state_root {
            return Err(rejected(id, RejectReason::StateRoot));
        }
        self.pending.insert(
            id,
            Pending {
                block,
                outcome,
                update,
            },
        );
        Ok(())
    }

    fn commit(&mut self, proposal: &Proposal, finality: &QuorumCert) -> Result<(), LifecycleError> {
        let id = proposal.block_id();
        let tip = self.tip()?;
        match self.pending.get(&id) {
            Some(p) if p.block.header.parent_hash == tip.hash => {}
            _ => return Err(LifecycleError::NotCommittable(id)),
        }
        let Some(pending) = self.pending.remove(&id) else {
            return Err(LifecycleError::NotCommittable(id));
        };
        let record = codec::encode(&ConsensusRecord {
            signature: proposal.signature,
            finality: finality.clone(),
        });
        self.chain
            .commit_final(pending.block, pending.outcome, pending.update, &record)
            .map_err(|e| storage(std::io::Error::other(e.to_string())))?;
        self.prune();
        Ok(())
    }

    fn state_root(&self, block: &BlockHash) -> Option<Digest> {
        if let Some(p) = self.pending.get(block) {
            return Some(p.block.header.state_root);
        }
        self.chain
            .store()
            .header_by_hash(block)
            .ok()
            .flatten()
            .map(|h| h.state_root)
    }

    fn committed_head(&self) -> Option<CommittedHead> {
        let tip = self.chain.store().tip()?;
        if tip.height == 0 {
            return None;
        }
        let block = crate::validator::committed_block(&self.chain, tip.height)?;
        Some(CommittedHead {
            proposal: block.proposal,
            finality: block.finality,
        })
    }

    fn committed_at(&self, height: u64) -> Option<Proposal> {
        crate::validator::committed_block(&self.chain, height).map(|b| b.proposal)
    }

    fn committed_height(&self, block: &BlockHash) -> Option<u64> {
        self.chain.store().height_of(block).ok().flatten()
    }
}

/// How far ahead of this node's clock a proposal's timestamp may be.
pub const MAX_CLOCK_DRIFT_MS: u64 = 5_000;

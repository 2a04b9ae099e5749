//! The node's chain: the RocksDB [`Store`], the [`Ledger`] rules and the
//! [`Mempool`], behind the RPC traits, plus single-validator block
//! production.
//!
//! # Producing a block ([`NodeChain::produce_block`])
//! 1. Select transactions from the pool (fee-rate priority, dependencies
//!    first) within the block limits.
//! 2. Execute them in parallel on top of the store ([`Ledger::execute_block`];
//!    the store is only written by this producer, so it is a stable view).
//!    A transaction the ledger rejects (it cannot happen for admitted
//!    transactions unless their validity interval ended) leaves the pool
//!    and the block is executed again without it.
//! 3. Compute the state tree update and the header (state root = the
//!    Jellyfish Merkle root after the block, as the store will hold it).
//! 4. Under the pool lock: commit the block atomically, then remove its
//!    transactions and everything they conflict with from the pool. Holding
//!    the lock makes admission see either the old tip and the old pool, or
//!    the new tip and the new pool, never a mix.
//! 5. Mark it final (one validator: a block is final once committed),
//!    publish the new and finalized heads, update the metrics.
//!
//! Steps 1–3 run without the pool lock, so submissions continue during
//! execution.

use crate::error::NodeError;
use crate::genesis::Genesis;
use crate::metrics::NodeMetrics;
use aether_crypto::ed25519::Keypair;
use aether_ledger::{BlockContext, ExecutionMode, Ledger};
use aether_mempool::{Mempool, MempoolError, check_stateless};
use aether_rpc::backend::*;
use aether_storage::{CommittedBlock, PROOF_SCHEME, Store};
use aether_types::*;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// `txs` without the transactions execution rejected (by index).
pub(crate) fn without_rejected(
    txs: Vec<Transaction>,
    rejected: &[aether_ledger::RejectedTx],
) -> Vec<Transaction> {
    let bad: BTreeSet<usize> = rejected.iter().map(|r| r.index).collect();
    txs.into_iter()
        .enumerate()
        .filter(|(i, _)| !bad.contains(i))
        .map(|(_, t)| t)
        .collect()
}

/// Limits of the blocks this node produces.
#[derive(Clone, Copy, Debug)]
pub struct BlockLimits {
    /// Most transactions per block.
    pub max_txs: usize,
    /// Most transaction bytes per block.
    pub max_bytes: usize,
}

/// What [`NodeChain::produce_block`] did.
#[derive(Clone, Debug)]
pub struct ProducedBlock {
    /// The committed block.
    pub block: Arc<Block>,
    /// What the store wrote.
    pub committed: CommittedBlock,
    /// Time spent executing the transactions.
    pub execution: std::time::Duration,
    /// Time from selection to the commit returning.
    pub total: std::time::Duration,
}

/// The chain state of one node (see the module docs).
pub struct NodeChain {
    store: Store,
    ledger: Ledger,
    pool: Mutex<Mempool>,
    produce: Mutex<()>,
    validator: Keypair,
    limits: BlockLimits,
    heads: HeadBroadcast,
    metrics: Arc<NodeMetrics>,
    gossip: std::sync::OnceLock<tokio::sync::mpsc::Sender<Vec<u8>>>,
    consensus: std::sync::OnceLock<Arc<Mutex<aether_rpc_types::dto::ConsensusStatusDto>>>,
}

impl std::fmt::Debug for NodeChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeChain")
            .field("tip", &self.store.tip())
            .finish_non_exhaustive()
    }
}

fn backend(e: impl std::fmt::Display) -> BackendError {
    BackendError::new(e.to_string())
}

impl NodeChain {
    /// Opens the chain on `store`: commits `genesis` as block 0 if the store
    /// is empty, otherwise checks that block 0 is this genesis.
    pub fn open(
        store: Store,
        ledger: Ledger,
        pool: Mempool,
        genesis: &Genesis,
        validator: Keypair,
        limits: BlockLimits,
        metrics: Arc<NodeMetrics>,
    ) -> Result<Arc<NodeChain>, NodeError> {
        if genesis.chain_id != ledger.params().chain_id {
            return Err(NodeError::Genesis {
                reason: "genesis chain id differs from the ledger's".into(),
            });
        }
        if genesis.market_params()? != ledger.params().market {
            return Err(NodeError::Genesis {
                reason: "the ledger's market parameters are not the genesis's".into(),
            });
        }
        let in_set = genesis
            .validators
            .iter()
            .any(|v| v.node_key == validator.public_key());
        if genesis.validator != validator.public_key() && !in_set {
            return Err(NodeError::Genesis {
                reason: "the validator key is not the genesis validator".into(),
            });
        }
        let staking = &ledger.params().staking;
        let outcome = genesis.outcome(staking)?;
        // Block 0's hash, from the state the allocations (and staking
        // objects) give.
        let expected = genesis.block_hash(staking)?;
        if !genesis.validators.is_empty() && staking.genesis_hash != expected {
            return Err(NodeError::Genesis {
                reason: "the ledger's staking.genesis_hash is not this genesis block's hash \
                         (equivocation evidence would not verify)"
                    .into(),
            });
        }
        match store.tip() {
            None => {
                let update = store.prepare_state(&outcome.diff)?;
                let block = genesis.block(update.state_root());
                store.commit_prepared(&block, &outcome, update)?;
                store.set_finalized(0)?;
                tracing::info!(hash = %block.hash(), state_root = %block.header.state_root, "committed genesis block");
            }
            Some(_) => {
                let stored = store
                    .header(0)?
                    .ok_or_else(|| NodeError::Genesis {
                        reason: "store has a tip but no block 0".into(),
                    })?
                    .hash();
                if stored != expected {
                    return Err(NodeError::GenesisMismatch { stored, expected });
                }
            }
        }
        let chain = NodeChain {
            store,
            ledger,
            pool: Mutex::new(pool),
            produce: Mutex::new(()),
            validator,
            limits,
            heads: HeadBroadcast::default(),
            metrics,
            gossip: std::sync::OnceLock::new(),
            consensus: std::sync::OnceLock::new(),
        };
        chain.metrics.observe_tip(&chain.store);
        Ok(Arc::new(chain))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The head channels.
    pub fn heads(&self) -> &HeadBroadcast {
        &self.heads
    }

    /// The backend for the RPC server.
    pub fn rpc_backend(self: &Arc<Self>) -> RpcBackend {
        RpcBackend {
            chain: Arc::clone(self) as Arc<dyn ChainReader>,
            submitter: Arc::clone(self) as Arc<dyn TxSubmitter>,
            heads: self.heads.clone(),
            market: Arc::clone(self) as Arc<dyn aether_rpc::MarketReader>,
        }
    }

    pub(crate) fn pool(&self) -> MutexGuard<'_, Mempool> {
        // Every pool mutation completes before its guard drops; a panic
        // elsewhere does not leave it half-changed.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Height of the tip.
    pub fn height(&self) -> u64 {
        self.store.tip().map_or(0, |t| t.height)
    }

    /// Number of pooled transactions.
    pub fn mempool_len(&self) -> usize {
        self.pool().len()
    }

    /// Builds, executes, commits and publishes the next block (see the
    /// module docs). `now_ms` is the wall clock; the header's timestamp is
    /// at least its parent's plus one.
    pub fn produce_block(&self, now_ms: u64) -> Result<ProducedBlock, NodeError> {
        let _producer = self.produce.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let tip = self.store.tip().ok_or_else(|| NodeError::Genesis {
            reason: "no genesis committed".into(),
        })?;
        let parent = self
            .store
            .header(tip.height)?
            .ok_or_else(|| NodeError::Genesis {
                reason: format!("tip header {} missing", tip.height),
            })?;
        let height = tip.height + 1;
        let timestamp_ms = now_ms.max(parent.timestamp_ms.saturating_add(1));
        let ctx = BlockContext {
            height,
            timestamp_ms,
            parent_hash: tip.hash,
        };
        let mut txs: Vec<Transaction> = {
            let mut pool = self.pool();
            for id in pool.remove_expired(height) {
                tracing::debug!(tx = %id, "validity interval ended: dropped from the pool");
            }
            pool.select_for_block(self.limits.max_txs, self.limits.max_bytes)
                .iter()
                .map(|t| (**t).clone())
                .collect()
        };
        let exec_started = Instant::now();
        let outcome = loop {
            let outcome =
                self.ledger
                    .execute_block(&self.store, &ctx, &txs, ExecutionMode::Parallel)?;
            if outcome.rejected.is_empty() {
                break outcome;
            }
            let mut pool = self.pool();
            for r in &outcome.rejected {
                if let Some(tx) = txs.get(r.index) {
                    tracing::warn!(tx = %tx.id(), error = %r.error, "dropping a pooled transaction the ledger rejects");
                    pool.remove_with_descendants(&tx.id());
                }
            }
            drop(pool);
            txs = without_rejected(txs, &outcome.rejected);
        };
        let execution = exec_started.elapsed();
        let update = self.store.prepare_state(&outcome.diff)?;
        let mut block = Block {
            header: BlockHeader {
                version: HEADER_VERSION,
                chain_id: self.ledger.params().chain_id,
                height,
                timestamp_ms,
                parent_hash: tip.hash,
                tx_root: Digest::default(),
                receipts_root: outcome.receipts_root(),
                state_root: update.state_root(),
                data_root: Digest::default(),
                consensus: ConsensusFields::SingleValidator {
                    proposer: self.validator.public_key(),
                },
            },
            transactions: txs,
        };
        block.header.tx_root = block.compute_tx_root();
        let committed = {
            let mut pool = self.pool();
            let committed = self.store.commit_prepared(&block, &outcome, update)?;
            pool.apply_block(&block, &outcome.receipts);
            self.metrics.observe_pool(pool.len(), pool.bytes());
            committed
        };
        self.store.set_finalized(height)?;
        let total = started.elapsed();
        let block = Arc::new(block);
        self.publish(
            &block,
            &outcome,
            execution,
            committed.write_time + committed.state_time,
        );
        Ok(ProducedBlock {
            block,
            committed,
            execution,
            total,
        })
    }

    /// Commits a block a quorum made final (the multi-validator path, see
    /// [`crate::lifecycle`]): block, outcome, tree update and consensus
    /// record in one batch, then the pool drops the block's transactions
    /// (under its lock, as in [`NodeChain::produce_block`]) and the new head
    /// is published as new and finalized.
    pub(crate) fn commit_final(
        &self,
        block: Block,
        outcome: aether_ledger::BlockOutcome,
        update: aether_storage::StateUpdate,
        record: &[u8],
    ) -> Result<CommittedBlock, NodeError> {
        let committed = {
            let mut pool = self.pool();
            let committed = self.store.commit_final(&block, &outcome, update, record)?;
            pool.apply_block(&block, &outcome.receipts);
            pool.remove_expired(block.header.height + 1);
            self.metrics.observe_pool(pool.len(), pool.bytes());
            committed
        };
        self.publish(
            &block,
            &outcome,
            std::time::Duration::ZERO,
            committed.write_time,
        );
        Ok(committed)
    }

    /// Publishes a committed (and final) block: new and finalized heads,
    /// its market events, its metrics.
    fn publish(
        &self,
        block: &Block,
        outcome: &aether_ledger::BlockOutcome,
        execution: std::time::Duration,
        commit: std::time::Duration,
    ) {
        let header = Arc::new(block.header.clone());
        self.heads.publish_new_head(Arc::clone(&header));
        self.heads.publish_finalized_head(header);
        self.heads
            .publish_events(Arc::new(aether_rpc_types::market::BlockEventsDto::new(
                block.header.height,
                &block.hash(),
                &outcome.boundary,
                &outcome.receipts,
            )));
        self.metrics.observe_block(block, execution, commit);
    }

    /// Sets where transactions admitted through RPC are also sent (the
    /// network's gossip, on multi-validator chains). Bounded: when the
    /// receiver lags, gossip of the newest transactions is skipped (the
    /// transaction stays pooled here and reaches a block when this node
    /// leads).
    pub fn set_gossip(&self, sink: tokio::sync::mpsc::Sender<Vec<u8>>) {
        let _ = self.gossip.set(sink);
    }

    /// Sets where the consensus driver publishes its state (shown by
    /// `aether_status`).
    pub fn set_consensus_status(
        &self,
        status: Arc<Mutex<aether_rpc_types::dto::ConsensusStatusDto>>,
    ) {
        let _ = self.consensus.set(status);
    }

    fn consensus_status(&self) -> Option<aether_rpc_types::dto::ConsensusStatusDto> {
        self.consensus
            .get()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Admits a transaction into the pool without gossiping it: one pulled
    /// from a peer (the network already knows it), or the first step of an
    /// RPC submission, which then gossips it.
    pub fn admit(&self, tx_bytes: &[u8]) -> Result<TxId, MempoolError> {
        // Decoding and signatures need no lock.
        let checked = check_stateless(self.ledger.params(), tx_bytes)?;
        let mut pool = self.pool();
        let tip = self.store.tip();
        let ctx = BlockContext {
            height: tip.map_or(0, |t| t.height) + 1,
            timestamp_ms: crate::service::now_ms(),
            parent_hash: tip.map(|t| t.hash).unwrap_or_default(),
        };
        let admitted = pool.insert(&self.ledger, &self.store, ctx, checked)?;
        self.metrics.observe_pool(pool.len(), pool.bytes());
        Ok(admitted.id)
    }

    fn location(&self, loc: aether_storage::TxLocation) -> Result<TxLocation, BackendError> {
        let header = self
            .store
            .header(loc.height)
            .map_err(backend)?
            .ok_or_else(|| BackendError::new(format!("block {} missing", loc.height)))?;
        Ok(TxLocation {
            block_hash: header.hash(),
            height: loc.height,
            index: loc.index,
        })
    }
}

impl ChainReader for NodeChain {
    fn status(&self) -> Result<ChainStatus, BackendError> {
        let tip = self
            .store
            .tip()
            .ok_or_else(|| BackendError::new("no genesis"))?;
        let finalized_height = self.store.finalized().unwrap_or(0).min(tip.height);
        let finalized_hash = self
            .store
            .header(finalized_height)
            .map_err(backend)?
            .ok_or_else(|| BackendError::new("finalized block missing"))?
            .hash();
        Ok(ChainStatus {
            chain_id: self.ledger.params().chain_id,
            height: tip.height,
            head_hash: tip.hash,
            state_root: self.store.state_root(),
            finalized_height,
            finalized_hash,
            consensus: self.consensus_status(),
        })
    }

    fn block_by_height(&self, height: u64) -> Result<Option<Arc<Block>>, BackendError> {
        Ok(self
            .store
            .block_by_height(height)
            .map_err(backend)?
            .map(Arc::new))
    }

    fn block_by_hash(&self, hash: &BlockHash) -> Result<Option<Arc<Block>>, BackendError> {
        Ok(self
            .store
            .block_by_hash(hash)
            .map_err(backend)?
            .map(Arc::new))
    }

    fn transaction(&self, id: &TxId) -> Result<Option<(Transaction, TxLocation)>, BackendError> {
        match self.store.transaction(id).map_err(backend)? {
            Some((tx, loc)) => Ok(Some((tx, self.location(loc)?))),
            None => Ok(None),
        }
    }

    fn receipt(&self, id: &TxId) -> Result<Option<(Receipt, TxLocation)>, BackendError> {
        let Some(loc) = self.store.tx_location(id).map_err(backend)? else {
            return Ok(None);
        };
        let receipt = self
            .store
            .receipt(id)
            .map_err(backend)?
            .ok_or_else(|| BackendError::new("included transaction without a receipt"))?;
        Ok(Some((receipt, self.location(loc)?)))
    }

    fn utxos_by_address(
        &self,
        address: &Address,
        limit: usize,
    ) -> Result<AddressUtxos, BackendError> {
        let height = self.height();
        let mut utxos = self
            .store
            .utxos_by_address_page(address, None, limit.saturating_add(1))
            .map_err(backend)?;
        let truncated = utxos.len() > limit;
        utxos.truncate(limit);
        Ok(AddressUtxos {
            height,
            utxos,
            truncated,
        })
    }

    fn balance(&self, address: &Address) -> Result<AddressBalance, BackendError> {
        let height = self.height();
        let (value, utxo_count) = self.store.balance_and_count(address).map_err(backend)?;
        Ok(AddressBalance {
            height,
            value,
            utxo_count,
        })
    }

    fn state_proof(&self, out_point: &OutPoint) -> Result<StateProof, BackendError> {
        let at = self.store.state_proof(out_point).map_err(backend)?;
        Ok(StateProof {
            height: at.height.unwrap_or(0),
            state_root: at.state_root,
            out_point: *out_point,
            output: at.proof.output().cloned(),
            scheme: PROOF_SCHEME.to_string(),
            proof: at.proof.encode(),
        })
    }

    fn tx_params(&self) -> Result<TxParams, BackendError> {
        Ok(self.ledger.params().tx_params())
    }
}

impl aether_rpc::MarketReader for NodeChain {
    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, BackendError> {
        self.store.object(key).map_err(backend)
    }

    fn objects_of_kind(
        &self,
        sample: &ObjectKey,
        limit: usize,
    ) -> Result<Vec<(ObjectKey, Object)>, BackendError> {
        self.store.objects_of_kind(sample, limit).map_err(backend)
    }

    fn boundary_receipt(&self, height: u64) -> Result<Option<BoundaryReceipt>, BackendError> {
        self.store.boundary_receipt(height).map_err(backend)
    }
}

impl TxSubmitter for NodeChain {
    fn submit(&self, tx_bytes: &[u8]) -> Result<TxId, MempoolError> {
        let id = self.admit(tx_bytes)?;
        if let Some(sink) = self.gossip.get() {
            let _ = sink.try_send(tx_bytes.to_vec());
        }
        Ok(id)
    }

    fn pending_transaction(&self, id: &TxId) -> Option<Arc<Transaction>> {
        self.pool().get(id)
    }

    fn pool_status(&self) -> PoolStatus {
        let pool = self.pool();
        PoolStatus {
            txs: pool.len() as u64,
            bytes: pool.bytes() as u64,
        }
    }
}

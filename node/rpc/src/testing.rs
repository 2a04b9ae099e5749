//! An in-memory chain implementing [`ChainReader`] and [`TxSubmitter`]
//! (feature `testing`): submitted transactions go through the real
//! mempool and ledger, blocks are produced on demand, heads are published.
//! Also transaction builders for dev accounts (over `aether-client`'s
//! builder).
//!
//! The state root is the node's: the Jellyfish Merkle tree of
//! `aether-storage` kept in memory ([`MemoryStateTree`]), so headers carry
//! the roots a node would compute for the same UTxO set, and state proofs
//! are real `aether-storage` proofs ([`PROOF_SCHEME`]) that a light client
//! (`aether query proof`) verifies.
//!
//! Finality: block `h` is finalized when block `h + finality_depth` is
//! produced (depth 0: immediately), so tests see the two head streams
//! differ.

use crate::backend::*;
use aether_client::{TxBuilder, sign_with_exact_fee};
use aether_crypto::derive::{DEV_SEED, dev_keypair};
use aether_crypto::ed25519::Keypair;
use aether_ledger::{BlockContext, ExecutionMode, Ledger, MemoryUtxoSet, ProtocolParams};
use aether_mempool::{Mempool, MempoolConfig, MempoolError, check_stateless};
use aether_storage::MemoryStateTree;
pub use aether_storage::PROOF_SCHEME;
use aether_types::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Id of the pseudo-transaction whose outputs form the dev genesis.
pub const GENESIS_TX: TxId = TxId([0xee; 32]);

/// Settings of a [`MemoryChain`].
#[derive(Clone, Copy, Debug)]
pub struct MemoryChainConfig {
    /// Dev accounts funded at genesis (account `i` owns output `(GENESIS_TX, i)`).
    pub accounts: u32,
    /// AIC base units per genesis output.
    pub coin_per_account: u128,
    /// Blocks after which a block is final.
    pub finality_depth: u64,
    /// Mempool bounds.
    pub mempool: MempoolConfig,
    /// Most transactions per block.
    pub max_block_txs: usize,
    /// Most transaction bytes per block.
    pub max_block_bytes: usize,
}

impl Default for MemoryChainConfig {
    fn default() -> Self {
        MemoryChainConfig {
            accounts: 8,
            coin_per_account: 1_000_000 * BASE_UNITS_PER_AIC,
            finality_depth: 2,
            mempool: MempoolConfig::default(),
            max_block_txs: 10_000,
            max_block_bytes: 16 * 1024 * 1024,
        }
    }
}

struct ChainState {
    /// The ledger's view (what transactions are validated against).
    utxos: MemoryUtxoSet,
    /// The same set in the node's state tree (roots and proofs).
    tree: MemoryStateTree,
    pool: Mempool,
    blocks: Vec<Arc<Block>>,
    by_hash: HashMap<BlockHash, u64>,
    txs: HashMap<TxId, TxLocation>,
    receipts: HashMap<TxId, Receipt>,
    boundary: HashMap<u64, BoundaryReceipt>,
    finalized: u64,
}

/// A single-node chain in memory.
pub struct MemoryChain {
    ledger: Ledger,
    config: MemoryChainConfig,
    proposer: Keypair,
    heads: HeadBroadcast,
    state: Mutex<ChainState>,
}

/// Dev account `i`'s key pair (public, well-known keys).
pub fn dev_key(i: u32) -> Keypair {
    dev_keypair(DEV_SEED, i)
}

/// Dev account `i`'s address.
pub fn dev_address(i: u32) -> Address {
    Address::Key(dev_key(i).key_hash())
}

/// The timestamp of block `height`: 500 ms per block from the epoch.
fn block_time_ms(height: u64) -> u64 {
    height.saturating_mul(500)
}

/// The genesis output of dev account `i`.
pub fn genesis_out_point(i: u32) -> OutPoint {
    OutPoint::new(GENESIS_TX, i)
}

impl MemoryChain {
    /// A chain with the dev parameters and a genesis block funding
    /// `config.accounts` dev accounts.
    pub fn new(config: MemoryChainConfig) -> Arc<Self> {
        let ledger = Ledger::new(ProtocolParams::dev());
        let mut utxos = MemoryUtxoSet::new();
        for i in 0..config.accounts {
            utxos.insert(
                genesis_out_point(i),
                TxOutput::coin(dev_address(i), config.coin_per_account),
            );
        }
        // Version 0 of the tree holds the genesis outputs, as in the node.
        let mut tree = MemoryStateTree::new();
        let genesis_root = tree
            .apply([], utxos.iter())
            .expect("the in-memory state tree accepts the genesis");
        let proposer = dev_keypair(b"aether memory chain proposer", 0);
        let genesis = Block {
            header: BlockHeader {
                version: HEADER_VERSION,
                chain_id: ledger.params().chain_id,
                height: 0,
                timestamp_ms: 0,
                parent_hash: BlockHash::default(),
                tx_root: merkle_root(&[]),
                receipts_root: merkle_root(&[]),
                state_root: genesis_root,
                data_root: Digest::default(),
                consensus: ConsensusFields::SingleValidator {
                    proposer: proposer.public_key(),
                },
            },
            transactions: vec![],
        };
        let genesis = Arc::new(genesis);
        let state = ChainState {
            utxos,
            tree,
            pool: Mempool::new(config.mempool),
            by_hash: HashMap::from([(genesis.hash(), 0)]),
            blocks: vec![genesis],
            txs: HashMap::new(),
            receipts: HashMap::new(),
            boundary: HashMap::new(),
            finalized: 0,
        };
        Arc::new(MemoryChain {
            ledger,
            config,
            proposer,
            heads: HeadBroadcast::default(),
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ChainState> {
        // A panic while holding the lock poisons it; the state is still
        // consistent (every mutation completes before the guard drops).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The backend to give [`crate::RpcServer::start`].
    pub fn backend(self: &Arc<Self>) -> RpcBackend {
        RpcBackend {
            chain: Arc::clone(self) as Arc<dyn ChainReader>,
            submitter: Arc::clone(self) as Arc<dyn TxSubmitter>,
            heads: self.heads.clone(),
            market: Arc::clone(self) as Arc<dyn crate::market::MarketReader>,
        }
    }

    /// The ledger (parameters, fees).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Height of the latest block.
    pub fn height(&self) -> u64 {
        (self.lock().blocks.len() as u64).saturating_sub(1)
    }

    /// The unspent output at `out_point`.
    pub fn utxo(&self, out_point: &OutPoint) -> Option<TxOutput> {
        self.lock().utxos.get(out_point).cloned()
    }

    /// The current state root (the Jellyfish root, as in the node).
    pub fn state_root(&self) -> Digest {
        self.lock().tree.root()
    }

    /// Number of pooled transactions.
    pub fn mempool_len(&self) -> usize {
        self.lock().pool.len()
    }

    /// Builds, executes and commits the next block from the mempool;
    /// publishes the new head and any newly finalized heads.
    pub fn produce_block(&self) -> Arc<Block> {
        let events;
        let (block, finalized) = {
            let mut s = self.lock();
            let height = s.blocks.len() as u64;
            let parent = s.blocks.last().map(|b| b.hash()).unwrap_or_default();
            let timestamp_ms = block_time_ms(height);
            let ctx = BlockContext {
                height,
                timestamp_ms,
                parent_hash: parent,
            };
            let mut txs: Vec<Transaction> = s
                .pool
                .select_for_block(self.config.max_block_txs, self.config.max_block_bytes)
                .iter()
                .map(|t| (**t).clone())
                .collect();
            let outcome = loop {
                let outcome = self
                    .ledger
                    .execute_block(&s.utxos, &ctx, &txs, ExecutionMode::Parallel)
                    .expect("the in-memory view cannot fail");
                if outcome.rejected.is_empty() {
                    break outcome;
                }
                tracing::warn!(
                    rejected = outcome.rejected.len(),
                    "memory chain: dropping invalid transactions"
                );
                let bad: BTreeSet<usize> = outcome.rejected.iter().map(|r| r.index).collect();
                txs = txs
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !bad.contains(i))
                    .map(|(_, t)| t)
                    .collect();
            };
            s.utxos.apply(&outcome.diff);
            let diff = &outcome.diff;
            let state_root = s
                .tree
                .apply_with_objects(&diff.spent, &diff.created, &diff.objects)
                .expect("the in-memory state tree accepts a block");
            let mut block = Block {
                header: BlockHeader {
                    version: HEADER_VERSION,
                    chain_id: self.ledger.params().chain_id,
                    height,
                    timestamp_ms,
                    parent_hash: parent,
                    tx_root: Digest::default(),
                    receipts_root: outcome.receipts_root(),
                    state_root,
                    data_root: Digest::default(),
                    consensus: ConsensusFields::SingleValidator {
                        proposer: self.proposer.public_key(),
                    },
                },
                transactions: txs,
            };
            block.header.tx_root = block.compute_tx_root();
            let hash = block.hash();
            for (index, (tx, receipt)) in
                block.transactions.iter().zip(&outcome.receipts).enumerate()
            {
                let location = TxLocation {
                    block_hash: hash,
                    height,
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                };
                s.txs.insert(tx.id(), location);
                s.receipts.insert(receipt.tx_id, receipt.clone());
            }
            s.pool.apply_block(&block, &outcome.receipts);
            events = aether_rpc_types::market::BlockEventsDto::new(
                height,
                &hash,
                &outcome.boundary,
                &outcome.receipts,
            );
            s.boundary.insert(height, outcome.boundary.clone());
            let block = Arc::new(block);
            s.by_hash.insert(hash, height);
            s.blocks.push(Arc::clone(&block));
            let final_height = height.saturating_sub(self.config.finality_depth);
            let mut finalized = Vec::new();
            while s.finalized < final_height {
                s.finalized += 1;
                let index = usize::try_from(s.finalized).unwrap_or(usize::MAX);
                if let Some(b) = s.blocks.get(index) {
                    finalized.push(Arc::new(b.header.clone()));
                }
            }
            (block, finalized)
        };
        tracing::debug!(
            height = block.header.height,
            txs = block.transactions.len(),
            "memory chain: block"
        );
        self.heads.publish_new_head(Arc::new(block.header.clone()));
        self.heads.publish_events(Arc::new(events));
        for header in finalized {
            self.heads.publish_finalized_head(header);
        }
        block
    }
}

impl crate::market::MarketReader for MemoryChain {
    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, BackendError> {
        Ok(self.lock().utxos.get_object(key))
    }

    fn objects_of_kind(
        &self,
        sample: &ObjectKey,
        limit: usize,
    ) -> Result<Vec<(ObjectKey, Object)>, BackendError> {
        Ok(self
            .lock()
            .utxos
            .objects()
            .filter(|(k, _)| k.kind() == sample.kind())
            .take(limit)
            .map(|(k, o)| (*k, o.clone()))
            .collect())
    }

    fn boundary_receipt(&self, height: u64) -> Result<Option<BoundaryReceipt>, BackendError> {
        Ok(self.lock().boundary.get(&height).cloned())
    }
}

impl ChainReader for MemoryChain {
    fn status(&self) -> Result<ChainStatus, BackendError> {
        let s = self.lock();
        let head = s
            .blocks
            .last()
            .ok_or_else(|| BackendError::new("no genesis"))?;
        let finalized = usize::try_from(s.finalized)
            .ok()
            .and_then(|i| s.blocks.get(i))
            .ok_or_else(|| BackendError::new("finalized block missing"))?;
        Ok(ChainStatus {
            chain_id: self.ledger.params().chain_id,
            height: head.header.height,
            head_hash: head.hash(),
            state_root: head.header.state_root,
            finalized_height: s.finalized,
            finalized_hash: finalized.hash(),
            consensus: None,
        })
    }

    fn block_by_height(&self, height: u64) -> Result<Option<Arc<Block>>, BackendError> {
        let s = self.lock();
        Ok(usize::try_from(height)
            .ok()
            .and_then(|i| s.blocks.get(i))
            .cloned())
    }

    fn block_by_hash(&self, hash: &BlockHash) -> Result<Option<Arc<Block>>, BackendError> {
        let s = self.lock();
        Ok(s.by_hash
            .get(hash)
            .and_then(|h| usize::try_from(*h).ok())
            .and_then(|i| s.blocks.get(i))
            .cloned())
    }

    fn transaction(&self, id: &TxId) -> Result<Option<(Transaction, TxLocation)>, BackendError> {
        let s = self.lock();
        let Some(location) = s.txs.get(id).copied() else {
            return Ok(None);
        };
        let tx = usize::try_from(location.height)
            .ok()
            .and_then(|h| s.blocks.get(h))
            .and_then(|b| b.transactions.get(location.index as usize))
            .cloned()
            .ok_or_else(|| BackendError::new("transaction index points nowhere"))?;
        Ok(Some((tx, location)))
    }

    fn receipt(&self, id: &TxId) -> Result<Option<(Receipt, TxLocation)>, BackendError> {
        let s = self.lock();
        Ok(match (s.receipts.get(id), s.txs.get(id)) {
            (Some(r), Some(l)) => Some((r.clone(), *l)),
            _ => None,
        })
    }

    fn utxos_by_address(
        &self,
        address: &Address,
        limit: usize,
    ) -> Result<AddressUtxos, BackendError> {
        let s = self.lock();
        let mut all: Vec<(OutPoint, TxOutput)> = s
            .utxos
            .iter()
            .filter(|(_, o)| o.address == *address)
            .map(|(op, o)| (*op, o.clone()))
            .collect();
        all.sort_by_key(|(op, _)| *op);
        let truncated = all.len() > limit;
        all.truncate(limit);
        Ok(AddressUtxos {
            height: (s.blocks.len() as u64).saturating_sub(1),
            utxos: all,
            truncated,
        })
    }

    fn balance(&self, address: &Address) -> Result<AddressBalance, BackendError> {
        let s = self.lock();
        let mut value = Value::default();
        let mut count = 0u64;
        for (_, output) in s.utxos.iter().filter(|(_, o)| o.address == *address) {
            value
                .checked_add_assign(&output.value)
                .map_err(|e| BackendError::new(format!("balance overflow: {e}")))?;
            count += 1;
        }
        Ok(AddressBalance {
            height: (s.blocks.len() as u64).saturating_sub(1),
            value,
            utxo_count: count,
        })
    }

    fn state_proof(&self, out_point: &OutPoint) -> Result<StateProof, BackendError> {
        let s = self.lock();
        let proof = s
            .tree
            .prove(out_point)
            .map_err(|e| BackendError::new(format!("state proof: {e}")))?;
        Ok(StateProof {
            height: (s.blocks.len() as u64).saturating_sub(1),
            state_root: s.tree.root(),
            out_point: *out_point,
            output: proof.output().cloned(),
            scheme: PROOF_SCHEME.to_string(),
            proof: proof.encode(),
        })
    }

    fn tx_params(&self) -> Result<TxParams, BackendError> {
        Ok(self.ledger.params().tx_params())
    }
}

impl TxSubmitter for MemoryChain {
    fn submit(&self, tx_bytes: &[u8]) -> Result<TxId, MempoolError> {
        // Stateless checks (decoding, signatures) outside the lock.
        let checked = check_stateless(self.ledger.params(), tx_bytes)?;
        let mut s = self.lock();
        // Admission checks against the next block as it will be produced.
        let height = s.blocks.len() as u64;
        let ctx = BlockContext {
            height,
            timestamp_ms: block_time_ms(height),
            parent_hash: s.blocks.last().map(|b| b.hash()).unwrap_or_default(),
        };
        let state = &mut *s;
        state
            .pool
            .insert(&self.ledger, &state.utxos, ctx, checked)
            .map(|a| a.id)
    }

    fn pending_transaction(&self, id: &TxId) -> Option<Arc<Transaction>> {
        self.lock().pool.get(id)
    }

    fn pool_status(&self) -> PoolStatus {
        let s = self.lock();
        PoolStatus {
            txs: s.pool.len() as u64,
            bytes: s.pool.bytes() as u64,
        }
    }
}

/// Writes the exact minimum fee plus `extra_fee` into `body` and signs it
/// with `signers` (`aether_client::sign_with_exact_fee`); `adjust(body,
/// fee)` sets fee-dependent amounts (change, collateral return) without
/// changing the encoded size. Nothing is balanced: tests build refused
/// transactions with it.
pub fn finish_transaction(
    params: &ProtocolParams,
    body: TxBody,
    signers: &[&Keypair],
    scripts: Vec<Script>,
    extra_fee: u128,
    adjust: impl Fn(&mut TxBody, u128),
) -> Transaction {
    sign_with_exact_fee(&params.fees, body, signers, scripts, extra_fee, adjust)
        .expect("the dev fee schedule does not overflow")
}

/// An empty body for the dev chain.
pub fn empty_body(params: &ProtocolParams) -> TxBody {
    aether_client::empty_body(params.chain_id)
}

/// Spends `input` (holding `held`, owned by `from`): `amount` to `to` as
/// output 0, the rest minus the exact fee back to `from` as output 1
/// (built by `aether_client::TxBuilder`; panics if `held` does not cover
/// `amount`, the fee and a change output).
pub fn transfer(
    params: &ProtocolParams,
    from: &Keypair,
    input: OutPoint,
    held: u128,
    to: Address,
    amount: u128,
) -> Transaction {
    let owner = Address::Key(from.key_hash());
    TxBuilder::new(&params.tx_params())
        .input(input, &TxOutput::coin(owner, held))
        .pay(to, amount)
        .change_to(owner)
        .signer(from)
        .build()
        .expect("a dev transfer balances")
}

/// Spends the script-locked `locked` (holding `held`) with witness script
/// `script` and a one-byte redeemer, sending everything minus the fee to
/// `payer`; `collateral` (holding `collateral_held`, owned by `payer`)
/// balances the fee exactly, its return going back to `payer`.
pub fn script_spend(
    params: &ProtocolParams,
    script: &Script,
    locked: OutPoint,
    held: u128,
    payer: &Keypair,
    collateral: OutPoint,
    collateral_held: u128,
) -> Transaction {
    let payer_address = Address::Key(payer.key_hash());
    TxBuilder::new(&params.tx_params())
        .script_input(
            locked,
            &TxOutput::coin(Address::Script(script.hash()), held),
            Redeemer {
                data: RedeemerData::new(vec![1]).expect("one byte fits"),
                fuel: 100_000,
            },
        )
        .collateral(collateral, &TxOutput::coin(payer_address, collateral_held))
        .collateral_return_to(payer_address)
        .change_to(payer_address)
        .witness_script(script.clone())
        .signer(payer)
        .build()
        .expect("a dev script spend balances")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_storage::verify_proof;

    #[test]
    fn roots_and_proofs_are_the_node_state_tree() {
        let chain = MemoryChain::new(MemoryChainConfig {
            accounts: 3,
            finality_depth: 0,
            ..MemoryChainConfig::default()
        });
        let p = ProtocolParams::dev();
        // The root of the genesis set, computed from scratch.
        let genesis: Vec<(OutPoint, TxOutput)> = (0..3)
            .map(|i| {
                (
                    genesis_out_point(i),
                    chain.utxo(&genesis_out_point(i)).unwrap(),
                )
            })
            .collect();
        let mut fresh = MemoryStateTree::new();
        let root = fresh
            .apply([], genesis.iter().map(|(op, o)| (op, o)))
            .unwrap();
        assert_eq!(chain.state_root(), root);
        assert_ne!(root, aether_storage::empty_root());

        let coin = MemoryChainConfig::default().coin_per_account;
        let tx = transfer(
            &p,
            &dev_key(0),
            genesis_out_point(0),
            coin,
            dev_address(1),
            5_000,
        );
        chain.submit(&tx.encode()).unwrap();
        let block = chain.produce_block();
        assert_eq!(block.header.state_root, chain.state_root());
        assert_eq!(chain.status().unwrap().state_root, chain.state_root());

        // Inclusion of the new output, exclusion of the spent one: both
        // verify with the node's verifier against the header's root.
        for (op, expected) in [
            (OutPoint::new(tx.id(), 0), Some(tx.body.outputs[0].clone())),
            (genesis_out_point(0), None),
        ] {
            let proof = chain.state_proof(&op).unwrap();
            assert_eq!(proof.scheme, PROOF_SCHEME);
            assert_eq!(proof.state_root, block.header.state_root);
            assert_eq!(proof.output, expected);
            let decoded = aether_storage::StateProof::decode(&proof.proof).unwrap();
            let proven = verify_proof(&block.header.state_root, &op, &decoded).unwrap();
            assert_eq!(proven.cloned(), expected);
            // Not against another root (the genesis one).
            assert!(verify_proof(&root, &op, &decoded).is_err());
        }
    }
}

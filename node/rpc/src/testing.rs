//! An in-memory chain implementing [`ChainReader`] and [`TxSubmitter`]
//! (feature `testing`): submitted transactions go through the real
//! mempool and ledger, blocks are produced on demand, heads are published.
//! Also transaction builders for dev accounts and the proof format of the
//! in-memory state ([`SortedMerkleProof`]).
//!
//! Finality: block `h` is finalized when block `h + finality_depth` is
//! produced (depth 0: immediately), so tests see the two head streams
//! differ.

use crate::backend::*;
use aether_crypto::derive::{DEV_SEED, dev_keypair};
use aether_crypto::ed25519::Keypair;
use aether_ledger::{
    BlockContext, ExecutionMode, Ledger, MemoryUtxoSet, ProtocolParams, utxo_leaf,
};
use aether_mempool::{Mempool, MempoolConfig, MempoolError, check_stateless};
use aether_types::*;
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Id of the pseudo-transaction whose outputs form the dev genesis.
pub const GENESIS_TX: TxId = TxId([0xee; 32]);

/// Name of the [`SortedMerkleProof`] format.
pub const MEMORY_PROOF_SCHEME: &str = "aether-sorted-merkle-v1";

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
    utxos: MemoryUtxoSet,
    pool: Mempool,
    blocks: Vec<Arc<Block>>,
    by_hash: HashMap<BlockHash, u64>,
    txs: HashMap<TxId, TxLocation>,
    receipts: HashMap<TxId, Receipt>,
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
                state_root: utxos.state_root(),
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
            pool: Mempool::new(config.mempool),
            by_hash: HashMap::from([(genesis.hash(), 0)]),
            blocks: vec![genesis],
            txs: HashMap::new(),
            receipts: HashMap::new(),
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

    /// The current state root.
    pub fn state_root(&self) -> Digest {
        self.lock().utxos.state_root()
    }

    /// Number of pooled transactions.
    pub fn mempool_len(&self) -> usize {
        self.lock().pool.len()
    }

    /// Builds, executes and commits the next block from the mempool;
    /// publishes the new head and any newly finalized heads.
    pub fn produce_block(&self) -> Arc<Block> {
        let (block, finalized) = {
            let mut s = self.lock();
            let height = s.blocks.len() as u64;
            let ctx = BlockContext { height };
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
            let parent = s.blocks.last().map(|b| b.hash()).unwrap_or_default();
            let mut block = Block {
                header: BlockHeader {
                    version: HEADER_VERSION,
                    chain_id: self.ledger.params().chain_id,
                    height,
                    timestamp_ms: height.saturating_mul(500),
                    parent_hash: parent,
                    tx_root: Digest::default(),
                    receipts_root: outcome.receipts_root(),
                    state_root: s.utxos.state_root(),
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
        for header in finalized {
            self.heads.publish_finalized_head(header);
        }
        block
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
        let mut entries: Vec<(OutPoint, TxOutput)> =
            s.utxos.iter().map(|(op, o)| (*op, o.clone())).collect();
        entries.sort_by_key(|(op, _)| *op);
        let (output, proof) = SortedMerkleProof::prove(&entries, out_point);
        Ok(StateProof {
            height: (s.blocks.len() as u64).saturating_sub(1),
            state_root: s.utxos.state_root(),
            out_point: *out_point,
            output,
            scheme: MEMORY_PROOF_SCHEME.to_string(),
            proof: encode(&proof),
        })
    }
}

impl TxSubmitter for MemoryChain {
    fn submit(&self, tx_bytes: &[u8]) -> Result<TxId, MempoolError> {
        // Stateless checks (decoding, signatures) outside the lock.
        let checked = check_stateless(self.ledger.params(), tx_bytes)?;
        let mut s = self.lock();
        let next_height = s.blocks.len() as u64;
        let state = &mut *s;
        state
            .pool
            .insert(&self.ledger, &state.utxos, next_height, checked)
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

/// One leaf of the sorted UTxO tree with its authentication path.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProvenLeaf {
    /// Position among the leaves (ascending out-point order).
    pub index: u64,
    /// The leaf's out-point.
    pub out_point: OutPoint,
    /// The leaf's output.
    pub output: TxOutput,
    /// Sibling hashes from the leaf up (levels where the node is promoted
    /// unpaired have none).
    pub siblings: Vec<Digest>,
}

/// The proof format of the in-memory state root
/// (`MemoryUtxoSet::state_root`: binary Merkle tree over
/// `utxo_leaf(out_point, output)` in ascending out-point order, odd nodes
/// promoted). Borsh-encoded in [`StateProof::proof`].
///
/// - Inclusion: one leaf, the out-point itself.
/// - Exclusion: the adjacent leaves around where the out-point would be
///   (one at either end, none for an empty set), whose consecutive indices
///   prove nothing lies between them.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SortedMerkleProof {
    /// Number of leaves in the tree.
    pub leaf_count: u64,
    /// The proven leaves, in ascending order.
    pub leaves: Vec<ProvenLeaf>,
}

fn node(left: &Digest, right: &Digest) -> Digest {
    tagged_hash(tag::MERKLE_NODE, &[&left.0, &right.0])
}

fn auth_path(leaves: &[Digest], mut index: usize) -> Vec<Digest> {
    let mut level = leaves.to_vec();
    let mut siblings = Vec::new();
    while level.len() > 1 {
        if index % 2 == 1 {
            siblings.push(level[index - 1]);
        } else if index + 1 < level.len() {
            siblings.push(level[index + 1]);
        }
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node(l, r),
                [odd] => *odd,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
        index /= 2;
    }
    siblings
}

fn root_from_path(leaf: Digest, index: u64, count: u64, siblings: &[Digest]) -> Option<Digest> {
    if index >= count {
        return None;
    }
    let (mut acc, mut index, mut len) = (leaf, index, count);
    let mut siblings = siblings.iter();
    while len > 1 {
        if index % 2 == 1 {
            acc = node(siblings.next()?, &acc);
        } else if index + 1 < len {
            acc = node(&acc, siblings.next()?);
        }
        index /= 2;
        len = len.div_ceil(2);
    }
    siblings.next().is_none().then_some(acc)
}

impl SortedMerkleProof {
    /// Proves `target` against `entries` (sorted by out-point): returns
    /// its output if present, and the proof.
    pub fn prove(entries: &[(OutPoint, TxOutput)], target: &OutPoint) -> (Option<TxOutput>, Self) {
        let leaves: Vec<Digest> = entries.iter().map(|(op, o)| utxo_leaf(op, o)).collect();
        let proven = |i: usize| ProvenLeaf {
            index: i as u64,
            out_point: entries[i].0,
            output: entries[i].1.clone(),
            siblings: auth_path(&leaves, i),
        };
        let (output, indices): (Option<TxOutput>, Vec<usize>) =
            match entries.binary_search_by_key(target, |(op, _)| *op) {
                Ok(i) => (Some(entries[i].1.clone()), vec![i]),
                Err(i) => (
                    None,
                    [i.checked_sub(1), (i < entries.len()).then_some(i)]
                        .into_iter()
                        .flatten()
                        .collect(),
                ),
            };
        let proof = SortedMerkleProof {
            leaf_count: entries.len() as u64,
            leaves: indices.into_iter().map(proven).collect(),
        };
        (output, proof)
    }

    /// Whether the proof shows that `target` holds `claimed` (`Some`) or
    /// is absent (`None`) in the set with root `root`.
    pub fn verify(&self, root: &Digest, target: &OutPoint, claimed: Option<&TxOutput>) -> bool {
        for leaf in &self.leaves {
            let digest = utxo_leaf(&leaf.out_point, &leaf.output);
            if root_from_path(digest, leaf.index, self.leaf_count, &leaf.siblings) != Some(*root) {
                return false;
            }
        }
        match (claimed, self.leaves.as_slice()) {
            (Some(output), [leaf]) => leaf.out_point == *target && leaf.output == *output,
            (Some(_), _) => false,
            (None, []) => self.leaf_count == 0 && *root == merkle_root(&[]),
            (None, [only]) => {
                (only.index == 0 && *target < only.out_point)
                    || (only.index + 1 == self.leaf_count && only.out_point < *target)
            }
            (None, [left, right]) => {
                left.index.checked_add(1) == Some(right.index)
                    && left.out_point < *target
                    && *target < right.out_point
            }
            (None, _) => false,
        }
    }
}

/// Writes the minimum fee plus `extra_fee` into `body` and signs it with
/// `signers`; `adjust(body, fee)` sets fee-dependent amounts (change,
/// collateral return) without changing the encoded size.
pub fn finish_transaction(
    params: &ProtocolParams,
    mut body: TxBody,
    signers: &[&Keypair],
    scripts: Vec<Script>,
    extra_fee: u128,
    adjust: impl Fn(&mut TxBody, u128),
) -> Transaction {
    let mut witnesses = TxWitnesses {
        vkeys: vec![],
        scripts,
    };
    for k in signers {
        witnesses.insert_vkey(VKeyWitness {
            public_key: k.public_key(),
            signature: Signature([0; 64]),
        });
    }
    adjust(&mut body, 0);
    let fee = params
        .fees
        .min_fee_for(&Transaction {
            body: body.clone(),
            witnesses: witnesses.clone(),
        })
        .expect("dev fee schedule does not overflow")
        .saturating_add(extra_fee);
    body.fee = fee;
    adjust(&mut body, fee);
    for k in signers {
        witnesses.insert_vkey(k.sign_tx(&body));
    }
    Transaction { body, witnesses }
}

/// An empty body for the dev chain.
pub fn empty_body(params: &ProtocolParams) -> TxBody {
    TxBody {
        chain_id: params.chain_id,
        inputs: BTreeSet::new(),
        reference_inputs: BTreeSet::new(),
        collateral: BTreeSet::new(),
        collateral_return: None,
        outputs: vec![],
        fee: 0,
        validity: ValidityInterval::default(),
        mint: BTreeMap::new(),
        spend_redeemers: BTreeMap::new(),
        required_signers: BTreeSet::new(),
    }
}

/// Spends `input` (holding `held`, owned by `from`): `amount` to `to` as
/// output 0, the rest minus the fee back to `from` as output 1.
pub fn transfer(
    params: &ProtocolParams,
    from: &Keypair,
    input: OutPoint,
    held: u128,
    to: Address,
    amount: u128,
) -> Transaction {
    let mut body = empty_body(params);
    body.inputs.insert(input);
    body.outputs.push(TxOutput::coin(to, amount));
    body.outputs
        .push(TxOutput::coin(Address::Key(from.key_hash()), 0));
    finish_transaction(params, body, &[from], vec![], 0, |b, fee| {
        b.outputs[1].value.coin = held.saturating_sub(amount).saturating_sub(fee);
    })
}

/// Spends the script-locked `locked` (holding `held`) with witness script
/// `script` and a one-byte redeemer, sending everything minus the fee to
/// `payer`; `collateral` (holding `collateral_held`, owned by `payer`)
/// balances the fee exactly.
pub fn script_spend(
    params: &ProtocolParams,
    script: &Script,
    locked: OutPoint,
    held: u128,
    payer: &Keypair,
    collateral: OutPoint,
    collateral_held: u128,
) -> Transaction {
    let mut body = empty_body(params);
    body.inputs.insert(locked);
    body.spend_redeemers.insert(
        locked,
        Redeemer {
            data: RedeemerData::new(vec![1]).expect("one byte fits"),
            fuel: 100_000,
        },
    );
    body.collateral.insert(collateral);
    let payer_address = Address::Key(payer.key_hash());
    body.outputs.push(TxOutput::coin(payer_address, 0));
    body.collateral_return = Some(TxOutput::coin(payer_address, 0));
    finish_transaction(params, body, &[payer], vec![script.clone()], 0, |b, fee| {
        b.outputs[0].value.coin = held.saturating_sub(fee);
        if let Some(ret) = b.collateral_return.as_mut() {
            ret.value.coin = collateral_held.saturating_sub(fee);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: u8) -> Vec<(OutPoint, TxOutput)> {
        (0..n)
            .map(|i| {
                (
                    OutPoint::new(TxId([i * 2 + 2; 32]), 0),
                    TxOutput::coin(dev_address(0), u128::from(i) + 1_000),
                )
            })
            .collect()
    }

    #[test]
    fn proofs_verify_against_the_memory_root_for_every_size() {
        for n in 0..9u8 {
            let e = entries(n);
            let mut set = MemoryUtxoSet::new();
            for (op, o) in &e {
                set.insert(*op, o.clone());
            }
            let root = set.state_root();
            // Present out-points.
            for (op, o) in &e {
                let (out, proof) = SortedMerkleProof::prove(&e, op);
                assert_eq!(out.as_ref(), Some(o));
                assert!(proof.verify(&root, op, Some(o)), "n={n}");
                assert!(!proof.verify(&root, op, None));
                let mut other = o.clone();
                other.value.coin += 1;
                assert!(!proof.verify(&root, op, Some(&other)));
                let decoded = SortedMerkleProof::try_from_slice(&encode(&proof)).unwrap();
                assert_eq!(decoded, proof);
            }
            // Absent out-points: before, between and after the leaves.
            for b in [1u8, 3, 5, 99] {
                let absent = OutPoint::new(TxId([b; 32]), 0);
                let (out, proof) = SortedMerkleProof::prove(&e, &absent);
                assert!(out.is_none());
                assert!(proof.verify(&root, &absent, None), "n={n} b={b}");
                // It proves absence only: claiming a value for it fails.
                if let Some((_, o)) = e.first() {
                    assert!(!proof.verify(&root, &absent, Some(o)));
                }
            }
            // A proof never verifies against another root.
            if let Some((op, o)) = e.first() {
                let (_, proof) = SortedMerkleProof::prove(&e, op);
                assert!(!proof.verify(&Digest([9; 32]), op, Some(o)));
            }
        }
    }

    #[test]
    fn exclusion_cannot_skip_a_leaf() {
        let e = entries(5);
        let mut set = MemoryUtxoSet::new();
        for (op, o) in &e {
            set.insert(*op, o.clone());
        }
        let root = set.state_root();
        // Claim that leaf 2 is absent using leaves 1 and 3 (not adjacent).
        let (_, p1) = SortedMerkleProof::prove(&e, &e[1].0);
        let (_, p3) = SortedMerkleProof::prove(&e, &e[3].0);
        let forged = SortedMerkleProof {
            leaf_count: 5,
            leaves: vec![p1.leaves[0].clone(), p3.leaves[0].clone()],
        };
        assert!(!forged.verify(&root, &e[2].0, None));
    }
}

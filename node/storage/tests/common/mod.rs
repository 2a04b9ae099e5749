//! Shared helpers of the storage integration tests: a deterministic dev
//! chain built with the real ledger executor (signed transfers between dev
//! accounts, built by `aether-client`), and a from-scratch replay to
//! compare a store against.

#![allow(dead_code)]

use aether_client::TxBuilder;
use aether_crypto::derive::{DEV_SEED, dev_keypair};
use aether_crypto::ed25519::Keypair;
use aether_ledger::{
    BlockContext, BlockOutcome, ExecutionMode, Ledger, MemoryUtxoSet, ProtocolParams, StateDiff,
    UtxoView,
};
use aether_storage::{MemoryStateTree, Store, Tip};
use aether_types::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

pub const AIC: u128 = BASE_UNITS_PER_AIC;

/// The dev chain: ledger, keys and the genesis set.
pub struct DevChain {
    pub ledger: Ledger,
    pub keys: Vec<Keypair>,
}

impl DevChain {
    pub fn new(accounts: u32) -> Self {
        DevChain {
            ledger: Ledger::new(ProtocolParams::dev()),
            keys: (0..accounts).map(|i| dev_keypair(DEV_SEED, i)).collect(),
        }
    }

    pub fn params(&self) -> &ProtocolParams {
        self.ledger.params()
    }

    pub fn address(&self, i: usize) -> Address {
        Address::Key(self.keys[i].key_hash())
    }

    /// Genesis outputs: `per_account` outputs of 1 000 AIC for every account.
    pub fn genesis_diff(&self, per_account: u32) -> StateDiff {
        let mut created = BTreeMap::new();
        let mut index = 0u32;
        for i in 0..self.keys.len() {
            for _ in 0..per_account {
                created.insert(
                    OutPoint::new(TxId([0xee; 32]), index),
                    TxOutput::coin(self.address(i), 1_000 * AIC),
                );
                index += 1;
            }
        }
        StateDiff {
            spent: BTreeSet::new(),
            created,
            objects: BTreeMap::new(),
        }
    }

    pub fn header(
        &self,
        height: u64,
        parent: Option<Tip>,
        transactions: &[Transaction],
        outcome: &BlockOutcome,
        state_root: Digest,
    ) -> BlockHeader {
        let block = Block {
            header: BlockHeader {
                version: HEADER_VERSION,
                chain_id: self.params().chain_id,
                height,
                timestamp_ms: 1_700_000_000_000 + height * 500,
                parent_hash: parent.map_or(BlockHash([0; 32]), |t| t.hash),
                tx_root: Digest([0; 32]),
                receipts_root: outcome.receipts_root(),
                state_root,
                data_root: Digest([0; 32]),
                consensus: ConsensusFields::SingleValidator {
                    proposer: self.keys[0].public_key(),
                },
            },
            transactions: transactions.to_vec(),
        };
        let mut header = block.header.clone();
        header.tx_root = block.compute_tx_root();
        header
    }

    /// A signed transfer of `amount` from `input` (holding `held`, owned by
    /// account `from`) to account `to`, change back to `from` (output 1).
    pub fn transfer(
        &self,
        from: usize,
        input: OutPoint,
        held: u128,
        to: usize,
        amount: u128,
        datum: Option<Vec<u8>>,
    ) -> Transaction {
        let mut pay = TxOutput::coin(self.address(to), amount);
        pay.datum = datum.map(|d| Datum::new(d).unwrap());
        TxBuilder::new(&self.params().tx_params())
            .input(input, &TxOutput::coin(self.address(from), held))
            .output(pay)
            .change_to(self.address(from))
            .signer(&self.keys[from])
            .build()
            .unwrap()
    }

    /// Random transfers spending outputs of `wallet` (owner, out-point,
    /// coin); some spend the change of the previous transfer of the same
    /// block (a dependent chain inside the block).
    pub fn random_transfers(
        &self,
        rng: &mut StdRng,
        wallet: &[(usize, OutPoint, u128)],
        count: usize,
    ) -> Vec<Transaction> {
        let mut txs: Vec<Transaction> = Vec::new();
        let mut used = BTreeSet::new();
        let mut candidates: Vec<&(usize, OutPoint, u128)> = wallet.iter().collect();
        // Deterministic shuffle.
        for i in (1..candidates.len()).rev() {
            let j = rng.gen_range(0..=i);
            candidates.swap(i, j);
        }
        let mut next = candidates.into_iter();
        while txs.len() < count {
            let chained = txs.last().filter(|_| rng.gen_bool(0.25)).map(|prev| {
                let owner = self
                    .keys
                    .iter()
                    .position(|k| Address::Key(k.key_hash()) == prev.body.outputs[1].address)
                    .unwrap();
                (
                    owner,
                    OutPoint::new(prev.id(), 1),
                    prev.body.outputs[1].value.coin,
                )
            });
            let (from, input, held) = match chained {
                Some(c) => c,
                None => match next.next() {
                    Some(&(owner, op, coin)) => (owner, op, coin),
                    None => break,
                },
            };
            if held < AIC || !used.insert(input) {
                continue;
            }
            let to = rng.gen_range(0..self.keys.len());
            let amount = rng.gen_range(1_000..held / 4);
            let datum = rng
                .gen_bool(0.2)
                .then(|| vec![rng.r#gen::<u8>(); rng.gen_range(0..64)]);
            txs.push(self.transfer(from, input, held, to, amount, datum));
        }
        txs
    }

    /// The wallet (all key-locked outputs of dev accounts) of a UTxO list.
    pub fn wallet_of<'a>(
        &self,
        utxos: impl IntoIterator<Item = (&'a OutPoint, &'a TxOutput)>,
    ) -> Vec<(usize, OutPoint, u128)> {
        let owners: BTreeMap<Address, usize> =
            (0..self.keys.len()).map(|i| (self.address(i), i)).collect();
        let mut wallet: Vec<(usize, OutPoint, u128)> = utxos
            .into_iter()
            .filter_map(|(op, out)| owners.get(&out.address).map(|&i| (i, *op, out.value.coin)))
            .collect();
        wallet.sort();
        wallet
    }

    /// The wallet read from the store through the address index.
    pub fn wallet_from_store(&self, store: &Store) -> Vec<(usize, OutPoint, u128)> {
        let mut wallet = Vec::new();
        for i in 0..self.keys.len() {
            for (op, out) in store.utxos_by_address(&self.address(i)).unwrap() {
                wallet.push((i, op, out.value.coin));
            }
        }
        wallet.sort();
        wallet
    }

    /// Executes `transactions` on `view` and builds the block whose header
    /// carries the root `root_of(diff)`.
    pub fn build_block(
        &self,
        view: &(impl UtxoView + ?Sized),
        parent: Option<Tip>,
        transactions: Vec<Transaction>,
        root_of: impl FnOnce(&StateDiff) -> Digest,
    ) -> (Block, BlockOutcome) {
        let height = parent.map_or(0, |t| t.height + 1);
        let outcome = self
            .ledger
            .execute_block(
                view,
                &BlockContext::at(height),
                &transactions,
                ExecutionMode::Parallel,
            )
            .unwrap();
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
        let root = root_of(&outcome.diff);
        let header = self.header(height, parent, &transactions, &outcome, root);
        (
            Block {
                header,
                transactions,
            },
            outcome,
        )
    }

    /// The genesis block and outcome (no transactions; the diff creates the
    /// genesis outputs).
    pub fn genesis_block(&self, per_account: u32, root: Digest) -> (Block, BlockOutcome) {
        let outcome = BlockOutcome {
            receipts: vec![],
            rejected: vec![],
            diff: self.genesis_diff(per_account),
            boundary: BoundaryReceipt::default(),
        };
        let header = self.header(0, None, &[], &outcome, root);
        (
            Block {
                header,
                transactions: vec![],
            },
            outcome,
        )
    }

    /// Commits a genesis block and `blocks` random blocks of `txs` transfers
    /// to `store` (which must be empty), with the block producer's flow:
    /// execute on the store, prepare the state, put its root in the header,
    /// commit the prepared update.
    pub fn grow(&self, store: &Store, rng: &mut StdRng, blocks: usize, txs: usize) {
        if store.tip().is_none() {
            let update = store.prepare_state(&self.genesis_diff(2)).unwrap();
            let (block, outcome) = self.genesis_block(2, update.state_root());
            store.commit_prepared(&block, &outcome, update).unwrap();
        }
        for _ in 0..blocks {
            self.produce_one(store, rng, txs);
        }
    }

    /// Builds and commits one block of up to `txs` transfers on top of the store.
    pub fn produce_one(&self, store: &Store, rng: &mut StdRng, txs: usize) -> Block {
        let wallet = self.wallet_from_store(store);
        let transactions = self.random_transfers(rng, &wallet, txs);
        let mut update = None;
        let (block, outcome) = self.build_block(store, store.tip(), transactions, |diff| {
            let u = store.prepare_state(diff).unwrap();
            let root = u.state_root();
            update = Some(u);
            root
        });
        store
            .commit_prepared(&block, &outcome, update.unwrap())
            .unwrap();
        block
    }
}

/// A from-scratch replay of stored blocks: re-executes every block after
/// genesis with the ledger on an in-memory set, checks receipts roots, and
/// returns the final set and the in-memory state tree.
pub struct Replay {
    pub utxos: MemoryUtxoSet,
    pub tree: MemoryStateTree,
    pub tip: Option<Tip>,
}

pub fn replay(chain: &DevChain, store: &Store, genesis_per_account: u32) -> Replay {
    let mut utxos = MemoryUtxoSet::new();
    let mut tree = MemoryStateTree::new();
    let mut tip = None;
    let Some(store_tip) = store.tip() else {
        return Replay { utxos, tree, tip };
    };
    for height in 0..=store_tip.height {
        let block = store
            .block_by_height(height)
            .unwrap()
            .expect("block present");
        let diff = if height == 0 {
            chain.genesis_diff(genesis_per_account)
        } else {
            let outcome = chain
                .ledger
                .execute_block(
                    &utxos,
                    &BlockContext::at(height),
                    &block.transactions,
                    ExecutionMode::Sequential,
                )
                .unwrap();
            assert!(outcome.rejected.is_empty());
            assert_eq!(outcome.receipts_root(), block.header.receipts_root);
            for receipt in &outcome.receipts {
                assert_eq!(
                    store.receipt(&receipt.tx_id).unwrap().as_ref(),
                    Some(receipt)
                );
            }
            outcome.diff
        };
        utxos.apply(&diff);
        let root = tree.apply_diff(&diff).unwrap();
        assert_eq!(
            root, block.header.state_root,
            "replayed root at height {height}"
        );
        tip = Some(Tip {
            height,
            hash: block.hash(),
        });
    }
    Replay { utxos, tree, tip }
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Asserts that every output of `expected` is in the store, and that the
/// store's address index lists exactly them for the dev accounts.
pub fn assert_same_utxos(chain: &DevChain, store: &Store, expected: &MemoryUtxoSet) {
    for (op, out) in expected.iter() {
        assert_eq!(store.utxo(op).unwrap().as_ref(), Some(out), "{op}");
    }
    let mut indexed = 0usize;
    for i in 0..chain.keys.len() {
        let listed = store.utxos_by_address(&chain.address(i)).unwrap();
        for (op, out) in &listed {
            assert_eq!(expected.get(op), Some(out));
        }
        indexed += listed.len();
    }
    assert_eq!(indexed, expected.len(), "index lists every output once");
}

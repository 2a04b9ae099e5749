//! Property test: random sequences of UTxO diffs committed as blocks give,
//! after reopening the store, the same root as the in-memory tree applied
//! version by version and as a tree rebuilt from the final set at once;
//! and the store's UTxO set equals the model set.

use aether_ledger::{BlockOutcome, StateDiff};
use aether_storage::{MemoryStateTree, Store, StoreOptions, Tip, verify_proof};
use aether_types::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn header(height: u64, parent: Option<Tip>, root: Digest) -> Block {
    Block {
        header: BlockHeader {
            version: HEADER_VERSION,
            chain_id: ChainId(7),
            height,
            timestamp_ms: height,
            parent_hash: parent.map_or(BlockHash([0; 32]), |t| t.hash),
            tx_root: merkle_root(&[]),
            receipts_root: receipts_root(&[], &BoundaryReceipt::default()),
            state_root: root,
            data_root: Digest([0; 32]),
            consensus: ConsensusFields::SingleValidator {
                proposer: PublicKey([1; 32]),
            },
        },
        transactions: vec![],
    }
}

/// One block's changes: how many new outputs, and which existing ones to
/// spend (as indices into the current set, reduced modulo its size).
#[derive(Debug, Clone)]
struct Step {
    create: Vec<(u8, u16, u128)>,
    spend: Vec<usize>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        proptest::collection::vec((0u8..4, any::<u16>(), 1_000u128..1_000_000), 0..12),
        proptest::collection::vec(any::<usize>(), 0..8),
    )
        .prop_map(|(create, spend)| Step { create, spend })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn root_after_reopen_equals_the_in_memory_tree(steps in proptest::collection::vec(step(), 1..10), seed in any::<u8>()) {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions { sync_writes: false, ..StoreOptions::default() };
        let mut model: BTreeMap<OutPoint, TxOutput> = BTreeMap::new();
        let mut tree = MemoryStateTree::new();
        let mut spent_ever = BTreeSet::new();
        {
            let store = Store::open(dir.path(), options.clone()).unwrap();
            for (height, step) in steps.iter().enumerate() {
                let height = height as u64;
                let keys: Vec<OutPoint> = model.keys().copied().collect();
                let mut diff = StateDiff::default();
                if !keys.is_empty() {
                    for i in &step.spend {
                        diff.spent.insert(keys[i % keys.len()]);
                    }
                }
                for (j, (owner, index, coin)) in step.create.iter().enumerate() {
                    let op = OutPoint::new(TxId([seed ^ height as u8, j as u8, 3, 4].repeat(8).try_into().unwrap()), u32::from(*index));
                    if model.contains_key(&op) || diff.spent.contains(&op) || spent_ever.contains(&op) {
                        continue;
                    }
                    let out = TxOutput::coin(Address::Key(KeyHash([*owner; 32])), *coin);
                    diff.created.insert(op, out);
                }
                for op in &diff.spent {
                    model.remove(op);
                    spent_ever.insert(*op);
                }
                model.extend(diff.created.clone());
                let root = tree.apply_diff(&diff).unwrap();
                let block = header(height, store.tip(), root);
                let outcome = BlockOutcome {
                    receipts: vec![],
                    rejected: vec![],
                    diff,
                    boundary: BoundaryReceipt::default(),
                };
                let committed = store.commit_block(&block, &outcome).unwrap();
                prop_assert_eq!(committed.state_root, root);
            }
        }
        let store = Store::open(dir.path(), options).unwrap();
        prop_assert_eq!(store.state_root(), tree.root());
        let mut fresh = MemoryStateTree::new();
        prop_assert_eq!(fresh.apply([], model.iter()).unwrap(), tree.root());
        for (op, out) in &model {
            let stored = store.utxo(op).unwrap();
            prop_assert_eq!(stored.as_ref(), Some(out));
            let proof = store.state_proof(op).unwrap();
            prop_assert_eq!(verify_proof(&tree.root(), op, &proof.proof).unwrap(), Some(out));
        }
        for op in &spent_ever {
            prop_assert_eq!(store.utxo(op).unwrap(), None);
            let proof = store.state_proof(op).unwrap();
            prop_assert_eq!(verify_proof(&tree.root(), op, &proof.proof).unwrap(), None);
        }
        let listed: usize = (0u8..4)
            .map(|o| store.utxos_by_address(&Address::Key(KeyHash([o; 32]))).unwrap().len())
            .sum();
        prop_assert_eq!(listed, model.len());
    }
}

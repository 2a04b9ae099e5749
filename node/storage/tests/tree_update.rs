//! The batched state-tree update against the reference path (`jmt`'s
//! key-by-key `put_value_set`, `Store::prepare_state_key_by_key`) through
//! RocksDB: random blocks of UTxOs and protocol objects (creations, spends,
//! object writes, updates and deletions, empty blocks, blocks that delete
//! everything) committed by three stores — one through the batched path,
//! one through the reference, one alternating — give the same root at every
//! height, byte-identical `jmt_nodes` column families, the same proofs
//! (verified by the light-client verifier), and stores that reopen cleanly.

use aether_ledger::{BlockOutcome, StateDiff};
use aether_storage::schema::cf;
use aether_storage::{Store, StoreOptions, Tip, verify_object_proof, verify_proof};
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

fn model(id: u8, version: u64) -> Object {
    Object::Model(ModelRecord {
        name: BoundedString::new(format!("model {id}")).unwrap(),
        runtime: RuntimeId([id; 32]),
        size: version,
        segments: 1,
        files: vec![],
        registered_at: version,
    })
}

/// One block: outputs to create, indices of live outputs to spend, object
/// writes (`id`, `Some(version)` or `None` for a deletion); or a block that
/// spends every output and deletes every object.
#[derive(Debug, Clone)]
enum Step {
    Mixed {
        create: Vec<(u8, u16, u128)>,
        spend: Vec<usize>,
        objects: Vec<(u8, Option<u64>)>,
    },
    Everything,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (
            prop::collection::vec((0u8..4, any::<u16>(), 1_000u128..1_000_000), 0..150),
            prop::collection::vec(any::<usize>(), 0..60),
            prop::collection::vec((0u8..24, prop::option::of(0u64..4)), 0..10),
        )
            .prop_map(|(create, spend, objects)| Step::Mixed { create, spend, objects }),
        1 => Just(Step::Mixed { create: vec![], spend: vec![], objects: vec![] }),
        1 => Just(Step::Everything),
    ]
}

/// The model: live outputs and objects.
#[derive(Default)]
struct Model {
    utxos: BTreeMap<OutPoint, TxOutput>,
    objects: BTreeMap<ObjectKey, Object>,
    spent: BTreeSet<OutPoint>,
}

impl Model {
    fn diff(&mut self, seed: u8, height: u64, step: &Step) -> StateDiff {
        let mut diff = StateDiff::default();
        match step {
            Step::Everything => {
                diff.spent = self.utxos.keys().copied().collect();
                diff.objects = self.objects.keys().map(|k| (*k, None)).collect();
            }
            Step::Mixed {
                create,
                spend,
                objects,
            } => {
                let live: Vec<OutPoint> = self.utxos.keys().copied().collect();
                if !live.is_empty() {
                    for i in spend {
                        diff.spent.insert(live[i % live.len()]);
                    }
                }
                for (j, (owner, index, coin)) in create.iter().enumerate() {
                    let tx = TxId(
                        [seed, height as u8, (height >> 8) as u8, j as u8]
                            .repeat(8)
                            .try_into()
                            .unwrap(),
                    );
                    let op = OutPoint::new(tx, u32::from(*index));
                    if self.utxos.contains_key(&op) || self.spent.contains(&op) {
                        continue;
                    }
                    diff.created.insert(
                        op,
                        TxOutput::coin(Address::Key(KeyHash([*owner; 32])), *coin),
                    );
                }
                for (id, version) in objects {
                    let key = ObjectKey::Model(ModelId([*id; 32]));
                    diff.objects.insert(key, version.map(|v| model(*id, v)));
                }
            }
        }
        for op in &diff.spent {
            self.utxos.remove(op);
            self.spent.insert(*op);
        }
        self.utxos
            .extend(diff.created.iter().map(|(op, out)| (*op, out.clone())));
        for (key, object) in &diff.objects {
            match object {
                Some(o) => self.objects.insert(*key, o.clone()),
                None => self.objects.remove(key),
            };
        }
        diff
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        sync_writes: false,
        ..StoreOptions::default()
    }
}

/// A raw key-value record of the database.
type Record = (Box<[u8]>, Box<[u8]>);

/// The whole `jmt_nodes` column family of the store at `path`.
fn tree_records(path: &std::path::Path) -> Vec<Record> {
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), path, cf::ALL).unwrap();
    let nodes = db.cf_handle(cf::JMT_NODES).unwrap();
    db.iterator_cf(nodes, rocksdb::IteratorMode::Start)
        .map(|kv| kv.unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn batched_and_key_by_key_stores_are_identical(steps in prop::collection::vec(step(), 1..10), seed in any::<u8>()) {
        let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut model = Model::default();
        {
            // 0: batched, 1: key by key, 2: alternating.
            let stores: Vec<Store> = dirs.iter().map(|d| Store::open(d.path(), options()).unwrap()).collect();
            for (height, step) in steps.iter().enumerate() {
                let height = height as u64;
                let diff = model.diff(seed, height, step);
                let updates = [
                    stores[0].prepare_state(&diff).unwrap(),
                    stores[1].prepare_state_key_by_key(&diff).unwrap(),
                    if height.is_multiple_of(2) {
                        stores[2].prepare_state(&diff).unwrap()
                    } else {
                        stores[2].prepare_state_key_by_key(&diff).unwrap()
                    },
                ];
                let root = updates[0].state_root();
                prop_assert!(updates.iter().all(|u| u.state_root() == root), "roots at height {}", height);
                let outcome = BlockOutcome {
                    receipts: vec![],
                    rejected: vec![],
                    diff,
                    boundary: BoundaryReceipt::default(),
                };
                let mut written = Vec::new();
                for (store, update) in stores.iter().zip(updates) {
                    let block = header(height, store.tip(), root);
                    let committed = store.commit_prepared(&block, &outcome, update).unwrap();
                    written.push((committed.tree_nodes_written, committed.tree_nodes_deleted));
                }
                prop_assert!(written.iter().all(|w| *w == written[0]), "nodes written and deleted: {:?}", written);
            }

            // Proofs: the same bytes from every store, verified under the root.
            let root = stores[0].state_root();
            let sample_spent: Vec<&OutPoint> = model.spent.iter().step_by(7).collect();
            for op in model.utxos.keys().step_by(3).chain(sample_spent) {
                let proofs: Vec<_> = stores.iter().map(|s| s.state_proof(op).unwrap()).collect();
                prop_assert!(proofs.iter().all(|p| p == &proofs[0]));
                prop_assert_eq!(verify_proof(&root, op, &proofs[0].proof).unwrap(), model.utxos.get(op));
            }
            for id in 0u8..24 {
                let key = ObjectKey::Model(ModelId([id; 32]));
                let proofs: Vec<_> = stores.iter().map(|s| s.object_proof(&key).unwrap()).collect();
                prop_assert!(proofs.iter().all(|p| p == &proofs[0]));
                prop_assert_eq!(verify_object_proof(&root, &key, &proofs[0].proof).unwrap(), model.objects.get(&key));
            }
        }
        // Every store reopens (its tree root checked against the tip) and
        // holds exactly the same tree records.
        for dir in &dirs {
            drop(Store::open(dir.path(), options()).unwrap());
        }
        let records = tree_records(dirs[0].path());
        prop_assert_eq!(&tree_records(dirs[1].path()), &records);
        prop_assert_eq!(&tree_records(dirs[2].path()), &records);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Pending chains (consensus executes up to a few blocks above the
    /// committed one): the trees of `window` blocks computed one on top of
    /// the other with `prepare_state_on`, before any of them is written,
    /// then committed in order with `commit_final`, give the same roots and
    /// the same `jmt_nodes` bytes as committing block by block; the
    /// consensus records and the finalized height are written with them.
    #[test]
    fn pending_chains_match_block_by_block_commits(steps in prop::collection::vec(step(), 1..10), seed in any::<u8>(), window in 1usize..4) {
        let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut model = Model::default();
        {
            let reference = Store::open(dirs[0].path(), options()).unwrap();
            let pending = Store::open(dirs[1].path(), options()).unwrap();
            let mut height = 0u64;
            for chunk in steps.chunks(window) {
                let mut blocks = Vec::new();
                for step in chunk {
                    let diff = model.diff(seed, height, step);
                    let update = reference.prepare_state(&diff).unwrap();
                    let block = header(height, reference.tip(), update.state_root());
                    let outcome = BlockOutcome { receipts: vec![], rejected: vec![], diff, boundary: BoundaryReceipt::default() };
                    reference.commit_prepared(&block, &outcome, update).unwrap();
                    blocks.push((block, outcome));
                    height += 1;
                }
                // The same blocks, prepared on pending parents.
                let mut updates = Vec::new();
                for (i, (block, outcome)) in blocks.iter().enumerate() {
                    let ancestors: Vec<&aether_storage::StateUpdate> = updates.iter().collect();
                    let parent = if i == 0 {
                        pending.tip().unwrap_or(Tip { height: u64::MAX, hash: BlockHash([0; 32]) })
                    } else {
                        Tip { height: blocks[i - 1].0.header.height, hash: blocks[i - 1].0.hash() }
                    };
                    let update = if pending.tip().is_none() && i == 0 {
                        pending.prepare_state(&outcome.diff).unwrap()
                    } else {
                        pending.prepare_state_on(parent, &ancestors, &outcome.diff).unwrap()
                    };
                    prop_assert_eq!(update.state_root(), block.header.state_root, "root at height {}", block.header.height);
                    updates.push(update);
                }
                for ((block, outcome), update) in blocks.iter().zip(updates) {
                    let record = block.hash().0;
                    pending.commit_final(block, outcome, update, &record).unwrap();
                    prop_assert_eq!(pending.consensus_record(block.header.height).unwrap(), Some(record.to_vec()));
                    prop_assert_eq!(pending.finalized(), Some(block.header.height));
                }
            }
            prop_assert_eq!(pending.state_root(), reference.state_root());
        }
        prop_assert_eq!(tree_records(dirs[0].path()), tree_records(dirs[1].path()));
    }
}

/// `prepare_state_on` refuses ancestors that do not chain from the tip and
/// a parent that is not the last ancestor, and a pending-based update is
/// refused by `commit_prepared` until its parent is committed.
#[test]
fn pending_ancestors_must_chain_from_the_tip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let mut model = Model::default();
    let step = Step::Mixed {
        create: vec![(1, 1, 5_000), (2, 2, 6_000)],
        spend: vec![],
        objects: vec![(3, Some(1))],
    };
    let diff0 = model.diff(1, 0, &step);
    let u0 = store.prepare_state(&diff0).unwrap();
    let b0 = header(0, None, u0.state_root());
    let o0 = BlockOutcome {
        receipts: vec![],
        rejected: vec![],
        diff: diff0,
        boundary: BoundaryReceipt::default(),
    };
    store.commit_prepared(&b0, &o0, u0).unwrap();
    let tip = store.tip().unwrap();
    let diff1 = model.diff(1, 1, &step);
    let u1 = store.prepare_state_on(tip, &[], &diff1).unwrap();
    let b1 = header(1, Some(tip), u1.state_root());
    let p1 = Tip {
        height: 1,
        hash: b1.hash(),
    };
    let diff2 = model.diff(1, 2, &step);
    // Wrong parent height, and a parent other than the tip without ancestors.
    assert!(
        store
            .prepare_state_on(
                Tip {
                    height: 5,
                    hash: b1.hash()
                },
                &[&u1],
                &diff2
            )
            .is_err()
    );
    assert!(store.prepare_state_on(p1, &[], &diff2).is_err());
    let u2 = store.prepare_state_on(p1, &[&u1], &diff2).unwrap();
    // An ancestor list that skips the block above the tip.
    assert!(
        store
            .prepare_state_on(
                Tip {
                    height: 2,
                    hash: BlockHash([9; 32])
                },
                &[&u2],
                &diff2
            )
            .is_err()
    );
    let b2 = header(2, Some(p1), u2.state_root());
    let o1 = BlockOutcome {
        receipts: vec![],
        rejected: vec![],
        diff: diff1,
        boundary: BoundaryReceipt::default(),
    };
    let o2 = BlockOutcome {
        receipts: vec![],
        rejected: vec![],
        diff: diff2,
        boundary: BoundaryReceipt::default(),
    };
    // The child cannot be committed before its parent.
    assert!(store.commit_prepared(&b2, &o2, u2).is_err());
    store.commit_prepared(&b1, &o1, u1).unwrap();
    let u2 = store.prepare_state(&o2.diff).unwrap();
    store.commit_prepared(&b2, &o2, u2).unwrap();
    assert_eq!(store.tip().unwrap().height, 2);
}

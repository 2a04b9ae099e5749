//! Protocol objects in the store: written with their block, proven against
//! the header's state root (inclusion and exclusion), indexed by due height
//! and by namespace, deleted cleanly, the same root as the in-memory tree,
//! and the boundary receipt kept per height.

use aether_ledger::{BlockOutcome, StateDiff};
use aether_storage::{MemoryStateTree, Store, StoreOptions, verify_object_proof, verify_proof};
use aether_types::*;
use std::collections::{BTreeMap, BTreeSet};

fn job(deadline: u64, status: JobStatus) -> Object {
    Object::Job(Box::new(JobRecord {
        client: Address::Key(KeyHash([1; 32])),
        kind: JobKind::Wasm {
            module: JobData::inline(vec![0, 97, 115, 109]).unwrap(),
            input: JobData::inline(vec![1, 2, 3]).unwrap(),
            fuel: 10,
        },
        input_hash: Digest([2; 32]),
        tees: [TeeKind::Snp].into(),
        max_fee: 5,
        escrow: 5,
        deadline,
        posted_at: 1,
        provider: Some(ProviderId([3; 32])),
        price: 2,
        bond_locked: 20,
        status,
    }))
}

fn model(i: u8) -> Object {
    Object::Model(ModelRecord {
        name: BoundedString::new(format!("model {i}")).unwrap(),
        runtime: RuntimeId([i; 32]),
        size: 1,
        segments: 7,
        files: vec![],
        registered_at: 0,
    })
}

struct Chain {
    store: Store,
    memory: MemoryStateTree,
    parent: Option<BlockHash>,
}

impl Chain {
    fn commit(
        &mut self,
        created: BTreeMap<OutPoint, TxOutput>,
        objects: BTreeMap<ObjectKey, Option<Object>>,
        events: Vec<Event>,
    ) -> BlockHeader {
        let height = self.store.tip().map_or(0, |t| t.height + 1);
        let outcome = BlockOutcome {
            receipts: vec![],
            rejected: vec![],
            diff: StateDiff {
                spent: BTreeSet::new(),
                created,
                objects,
            },
            boundary: BoundaryReceipt { height, events },
        };
        let update = self.store.prepare_state(&outcome.diff).unwrap();
        let block = Block {
            header: BlockHeader {
                version: HEADER_VERSION,
                chain_id: ChainId(1),
                height,
                timestamp_ms: height,
                parent_hash: self.parent.unwrap_or_default(),
                tx_root: merkle_root(&[]),
                receipts_root: outcome.receipts_root(),
                state_root: update.state_root(),
                data_root: Digest::default(),
                consensus: ConsensusFields::SingleValidator {
                    proposer: PublicKey([0; 32]),
                },
            },
            transactions: vec![],
        };
        self.store
            .commit_prepared(&block, &outcome, update)
            .unwrap();
        let root = self.memory.apply_diff(&outcome.diff).unwrap();
        assert_eq!(
            root, block.header.state_root,
            "memory tree and store differ"
        );
        self.parent = Some(block.hash());
        block.header
    }
}

#[test]
fn objects_are_committed_proven_indexed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain {
        store: Store::open(dir.path(), StoreOptions::default()).unwrap(),
        memory: MemoryStateTree::new(),
        parent: None,
    };
    let op = OutPoint::new(TxId([9; 32]), 0);
    let out = TxOutput::coin(Address::Key(KeyHash([4; 32])), 5_000);
    let job_key = ObjectKey::Job(JobId([7; 32]));
    let model_keys: Vec<ObjectKey> = (1..=3)
        .map(|i| ObjectKey::Model(ModelId([i; 32])))
        .collect();
    let mut objects: BTreeMap<ObjectKey, Option<Object>> = BTreeMap::new();
    objects.insert(job_key, Some(job(10, JobStatus::Assigned)));
    for (i, k) in model_keys.iter().enumerate() {
        objects.insert(*k, Some(model(i as u8 + 1)));
    }
    let header = chain.commit(
        [(op, out.clone())].into(),
        objects,
        vec![Event::Burned { amount: 1 }],
    );

    // Reads, the due index (deadline 10: due at 11), the namespace index.
    assert_eq!(
        chain.store.object(&job_key).unwrap(),
        Some(job(10, JobStatus::Assigned))
    );
    assert_eq!(chain.store.due_at(11).unwrap(), vec![job_key]);
    assert!(chain.store.due_at(10).unwrap().is_empty());
    let models = chain.store.objects_of_kind(&model_keys[0], 10).unwrap();
    assert_eq!(models.len(), 3);
    assert_eq!(
        chain
            .store
            .objects_of_kind(&model_keys[0], 2)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        chain.store.boundary_receipt(0).unwrap().unwrap().events,
        vec![Event::Burned { amount: 1 }]
    );

    // Proofs against the header's root: inclusion of the job and of the
    // output, exclusion of an absent object.
    let p = chain.store.object_proof(&job_key).unwrap();
    assert_eq!(p.state_root, header.state_root);
    assert_eq!(
        verify_object_proof(&header.state_root, &job_key, &p.proof).unwrap(),
        Some(&job(10, JobStatus::Assigned))
    );
    let absent = ObjectKey::Job(JobId([8; 32]));
    let p = chain.store.object_proof(&absent).unwrap();
    assert_eq!(
        verify_object_proof(&header.state_root, &absent, &p.proof).unwrap(),
        None
    );
    // A proof of one key does not prove another.
    let p = chain.store.object_proof(&job_key).unwrap();
    assert!(verify_object_proof(&header.state_root, &absent, &p.proof).is_err());
    let p = chain.store.state_proof(&op).unwrap();
    assert_eq!(
        verify_proof(&header.state_root, &op, &p.proof).unwrap(),
        Some(&out)
    );
    // The memory tree proves the same.
    let mp = chain.memory.prove_object(&job_key).unwrap();
    assert!(
        verify_object_proof(&header.state_root, &job_key, &mp)
            .unwrap()
            .is_some()
    );

    // The job moves on (due at 21 now); one model is deleted.
    let mut objects = BTreeMap::new();
    objects.insert(
        job_key,
        Some(job(
            10,
            JobStatus::Receipted {
                at: 5,
                window_end: 20,
            },
        )),
    );
    objects.insert(model_keys[1], None);
    let header = chain.commit(BTreeMap::new(), objects, vec![]);
    assert!(chain.store.due_at(11).unwrap().is_empty());
    assert_eq!(chain.store.due_at(21).unwrap(), vec![job_key]);
    assert_eq!(chain.store.object(&model_keys[1]).unwrap(), None);
    assert_eq!(
        chain
            .store
            .objects_of_kind(&model_keys[0], 10)
            .unwrap()
            .len(),
        2
    );
    let p = chain.store.object_proof(&model_keys[1]).unwrap();
    assert_eq!(
        verify_object_proof(&header.state_root, &model_keys[1], &p.proof).unwrap(),
        None
    );
    // Settled: no longer due anywhere.
    let mut objects = BTreeMap::new();
    objects.insert(job_key, Some(job(10, JobStatus::Settled { at: 21 })));
    chain.commit(BTreeMap::new(), objects, vec![]);
    assert!(chain.store.due_at(21).unwrap().is_empty());

    // Reopen: everything is still there and consistent.
    let root = chain.store.state_root();
    drop(chain);
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.state_root(), root);
    assert_eq!(
        store.object(&job_key).unwrap(),
        Some(job(10, JobStatus::Settled { at: 21 }))
    );
}

#[test]
fn an_object_in_the_wrong_namespace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Chain {
        store: Store::open(dir.path(), StoreOptions::default()).unwrap(),
        memory: MemoryStateTree::new(),
        parent: None,
    };
    chain.commit(BTreeMap::new(), BTreeMap::new(), vec![]);
    let mut objects = BTreeMap::new();
    objects.insert(
        ObjectKey::Model(ModelId([1; 32])),
        Some(job(3, JobStatus::Assigned)),
    );
    let outcome = BlockOutcome {
        receipts: vec![],
        rejected: vec![],
        diff: StateDiff {
            spent: BTreeSet::new(),
            created: BTreeMap::new(),
            objects,
        },
        boundary: BoundaryReceipt {
            height: 1,
            events: vec![],
        },
    };
    let update = chain.store.prepare_state(&outcome.diff).unwrap();
    let tip = chain.store.tip().unwrap();
    let block = Block {
        header: BlockHeader {
            version: HEADER_VERSION,
            chain_id: ChainId(1),
            height: 1,
            timestamp_ms: 1,
            parent_hash: tip.hash,
            tx_root: merkle_root(&[]),
            receipts_root: outcome.receipts_root(),
            state_root: update.state_root(),
            data_root: Digest::default(),
            consensus: ConsensusFields::SingleValidator {
                proposer: PublicKey([0; 32]),
            },
        },
        transactions: vec![],
    };
    let err = chain
        .store
        .commit_prepared(&block, &outcome, update)
        .unwrap_err();
    assert!(err.to_string().contains("model"), "{err}");
    assert_eq!(chain.store.tip(), Some(tip), "nothing written");
}

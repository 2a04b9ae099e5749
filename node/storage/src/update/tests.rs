//! The batched update against `jmt`'s key-by-key `put_value_set` (the
//! reference): on every block, the same root, the same new nodes (keys and
//! bytes), the same stale nodes, the same stored tree and the same proofs.

use super::*;
use crate::tree::MemoryStateTree;
use jmt::{KeyHash, OwnedValue, RootHash};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

type Set = BTreeMap<KeyHash, Option<OwnedValue>>;

/// Applies `set` to both trees and asserts they wrote the same thing.
fn same_as_reference(batched: &mut MemoryStateTree, reference: &mut MemoryStateTree, set: Set) {
    let mut ours = batched.apply_changes(set.clone()).expect("batched update");
    let mut theirs = reference.apply_changes(set).expect("key-by-key update");
    assert_eq!(ours.root, theirs.root, "root");
    ours.nodes.sort();
    theirs.nodes.sort();
    assert_eq!(ours.nodes, theirs.nodes, "new nodes (keys and bytes)");
    ours.stale.sort();
    theirs.stale.sort();
    assert_eq!(ours.stale, theirs.stale, "stale nodes");
    assert_eq!(batched.nodes(), reference.nodes(), "stored trees");
}

/// The proofs of `keys` are the same in both trees and verify (inclusion
/// of the model's value, or exclusion) under the root.
fn same_proofs<'k>(
    batched: &MemoryStateTree,
    reference: &MemoryStateTree,
    model: &BTreeMap<KeyHash, OwnedValue>,
    keys: impl IntoIterator<Item = &'k KeyHash>,
) {
    let root = RootHash(batched.root().0);
    for key in keys {
        let (value, proof) = batched.raw_proof(*key);
        assert_eq!(value.as_ref(), model.get(key), "value of {key:?}");
        assert_eq!((value.clone(), proof.clone()), reference.raw_proof(*key));
        proof.verify(root, *key, value).expect("the proof verifies");
    }
}

/// `n` distinct keys, many sharing prefixes of every length (so leaves
/// split, collapse and hang below chains of single-child nodes).
fn key_pool(rng: &mut StdRng, n: usize) -> Vec<KeyHash> {
    let mut keys: Vec<[u8; 32]> = Vec::with_capacity(n);
    while keys.len() < n {
        let mut key: [u8; 32] = rng.r#gen();
        if !keys.is_empty() && rng.gen_bool(0.6) {
            let base = keys[rng.gen_range(0..keys.len())];
            let shared = match rng.gen_range(0..10) {
                0 => rng.gen_range(6..64),
                _ => rng.gen_range(1..6),
            };
            for d in 0..shared {
                let mask = if d % 2 == 0 { 0xf0 } else { 0x0f };
                key[d / 2] = (key[d / 2] & !mask) | (base[d / 2] & mask);
            }
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter().map(KeyHash).collect()
}

fn value(rng: &mut StdRng) -> OwnedValue {
    let len = rng.gen_range(0..48);
    (0..len).map(|_| rng.r#gen()).collect()
}

/// One random block over `pool`: insertions, updates (some to the same
/// value), deletions of present and of absent keys; or one of the edge
/// cases (empty block, delete everything, only absent deletions).
fn block(rng: &mut StdRng, pool: &[KeyHash], model: &BTreeMap<KeyHash, OwnedValue>) -> Set {
    let mut set = Set::new();
    match rng.gen_range(0..12) {
        0 => {}
        1 => {
            for key in model.keys() {
                set.insert(*key, None);
            }
        }
        2 => {
            for key in pool.iter().filter(|k| !model.contains_key(k)) {
                if rng.gen_bool(0.5) {
                    set.insert(*key, None);
                }
            }
        }
        _ => {
            let density = rng.gen_range(0.05..0.9);
            for key in pool {
                if !rng.gen_bool(density) {
                    continue;
                }
                let change = match model.get(key) {
                    Some(old) => match rng.gen_range(0..10) {
                        0..5 => None,
                        5 => Some(old.clone()),
                        _ => Some(value(rng)),
                    },
                    None if rng.gen_bool(0.7) => Some(value(rng)),
                    None => None,
                };
                set.insert(*key, change);
            }
        }
    }
    set
}

/// Runs `blocks` random blocks over a pool of `pool` keys through both
/// paths, comparing every block and a sample of proofs.
fn run(seed: u64, pool: usize, blocks: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let pool = key_pool(&mut rng, pool);
    let mut batched = MemoryStateTree::new();
    let mut reference = MemoryStateTree::new_key_by_key();
    let mut model: BTreeMap<KeyHash, OwnedValue> = BTreeMap::new();
    for _ in 0..blocks {
        let set = block(&mut rng, &pool, &model);
        for (key, value) in &set {
            match value {
                Some(v) => model.insert(*key, v.clone()),
                None => model.remove(key),
            };
        }
        same_as_reference(&mut batched, &mut reference, set);
        let step = pool.len().div_ceil(12);
        same_proofs(&batched, &reference, &model, pool.iter().step_by(step));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Small and medium pools: deep shared prefixes, collapses, chains,
    /// emptied trees; pools above 64 changes take the parallel path.
    #[test]
    fn random_blocks_match_key_by_key(seed in any::<u64>(), pool in 1usize..200, blocks in 1usize..10) {
        run(seed, pool, blocks);
    }
}

#[test]
fn large_blocks_match_key_by_key() {
    // Blocks of thousands of changes on a tree of thousands of leaves
    // (the parallel path, every node of the top two levels rewritten).
    run(7, 6_000, 6);
}

/// Keys whose first byte is `first` (the rest spread by `tail`).
fn key(first: u8, tail: u8) -> KeyHash {
    let mut k = [tail; 32];
    k[0] = first;
    KeyHash(k)
}

#[test]
fn a_leaf_collapsed_and_pushed_back_is_rewritten_like_jmt() {
    // Node 0x1 holds L (0x10..) and K (0x12..); the block deletes K and
    // then (in key order) inserts J (0x15..): `put_value_set` moves L up
    // when K goes and back down when J arrives, rewriting it in place.
    let (l, k, j) = (key(0x10, 1), key(0x12, 2), key(0x15, 3));
    let others = [key(0x30, 4), key(0x70, 5)];
    let mut batched = MemoryStateTree::new();
    let mut reference = MemoryStateTree::new_key_by_key();
    let genesis: Set = [l, k, others[0], others[1]]
        .into_iter()
        .map(|key| (key, Some(vec![1])))
        .collect();
    same_as_reference(&mut batched, &mut reference, genesis);
    let l_at = NodeId::root(0).child(0, 1).child(0, 0);
    assert!(batched.nodes().iter().any(|(id, _)| *id == l_at));

    let block: Set = [(k, None), (j, Some(vec![2]))].into_iter().collect();
    same_as_reference(&mut batched, &mut reference, block);
    let nodes = batched.nodes();
    assert!(
        nodes.iter().any(|(id, _)| *id == l_at.at_version(1)),
        "L rewritten at version 1"
    );
    assert!(
        !nodes.iter().any(|(id, _)| *id == l_at),
        "the old L is stale"
    );

    // In the other order (insertion first) L never moves and keeps its node.
    let m = key(0x18, 6);
    let block: Set = [(m, Some(vec![3]))].into_iter().collect();
    same_as_reference(&mut batched, &mut reference, block);
    let block: Set = [(key(0x14, 7), Some(vec![4])), (m, None), (j, None)]
        .into_iter()
        .collect();
    same_as_reference(&mut batched, &mut reference, block);
    assert!(
        batched
            .nodes()
            .iter()
            .any(|(id, _)| *id == l_at.at_version(1)),
        "L kept"
    );
}

#[test]
fn edge_cases_match_key_by_key() {
    let mut batched = MemoryStateTree::new();
    let mut reference = MemoryStateTree::new_key_by_key();
    let (a, b) = (key(0x42, 1), key(0x42, 2));
    // Genesis with only absent deletions, then an empty block: a null root.
    same_as_reference(&mut batched, &mut reference, [(a, None)].into());
    same_as_reference(&mut batched, &mut reference, Set::new());
    assert_eq!(batched.root(), crate::tree::empty_root());
    // One leaf at the root; updated to the same value; split by a key
    // sharing 63 nibbles; both deleted; re-inserted.
    same_as_reference(&mut batched, &mut reference, [(a, Some(vec![1]))].into());
    same_as_reference(&mut batched, &mut reference, [(a, Some(vec![1]))].into());
    let mut close = a;
    close.0[31] ^= 1;
    same_as_reference(&mut batched, &mut reference, [(close, Some(vec![]))].into());
    same_as_reference(
        &mut batched,
        &mut reference,
        [(a, None), (close, None), (b, None)].into(),
    );
    assert_eq!(batched.root(), crate::tree::empty_root());
    assert_eq!(batched.node_count(), 1, "only the null root");
    same_as_reference(&mut batched, &mut reference, [(b, Some(vec![9]))].into());
    // Deleting the root leaf's key while inserting another.
    same_as_reference(
        &mut batched,
        &mut reference,
        [(b, None), (a, Some(vec![2]))].into(),
    );
}

#[test]
fn a_damaged_tree_is_an_error_not_a_panic() {
    let keys: Vec<KeyHash> = (0..40u8).map(|i| key(i.wrapping_mul(37), i)).collect();
    let build = || {
        let mut tree = MemoryStateTree::new();
        tree.apply_changes(keys.iter().map(|k| (*k, Some(vec![1]))).collect())
            .unwrap();
        tree
    };
    let change: Set = keys.iter().map(|k| (*k, Some(vec![2]))).collect();

    // A missing node.
    let mut tree = build();
    let victim = tree
        .nodes()
        .into_iter()
        .find(|(id, _)| id.depth() == 1)
        .unwrap()
        .0;
    tree.nodes_mut().remove(&victim);
    assert!(matches!(
        tree.apply_changes(change.clone()),
        Err(Error::Tree { .. })
    ));

    // Garbage bytes, and a leaf where an internal node is recorded.
    let mut tree = build();
    let internal = tree
        .nodes()
        .into_iter()
        .find(|(id, b)| id.depth() >= 1 && b[0] == 1);
    let (id, _) = internal.expect("an internal node below the root");
    tree.nodes_mut().insert(id, vec![7, 7]);
    assert!(matches!(
        tree.apply_changes(change.clone()),
        Err(Error::Corruption { .. })
    ));
    let mut tree = build();
    let leaf = TreeNode::Leaf(Leaf {
        key: [0; 32],
        value_hash: [0; 32],
    })
    .encode();
    tree.nodes_mut().insert(id, leaf);
    assert!(tree.apply_changes(change.clone()).is_err());

    // A missing root.
    let mut tree = build();
    tree.nodes_mut().remove(&NodeId::root(0));
    assert!(matches!(
        tree.apply_changes(change),
        Err(Error::Tree { .. })
    ));
}

//! The authenticated state tree: a Jellyfish Merkle tree (`jmt` 0.12) over
//! the UTxO set.
//!
//! # Contents
//! One leaf per unspent output:
//!
//! | | |
//! |---|---|
//! | key | [`state_key`]`(out point)` = `BLAKE3("aether/state-key/v1" ‖ 0x00 ‖ encode(out point))` |
//! | value | the canonical encoding of the [`TxOutput`] |
//!
//! The tree hashes with [`StateHasher`]: BLAKE3 over
//! `"aether/state-tree/v1" ‖ 0x00 ‖ data`, where `data` is what `jmt`
//! hashes: `"JMT::LeafNode" ‖ key ‖ H(value)` for leaves,
//! `"JMT::IntrnalNode" ‖ left ‖ right` for the binary nodes inside each
//! 16-ary internal node, and the value itself for value hashes. An empty
//! subtree hashes to the constant `"SPARSE_MERKLE_PLACEHOLDER_HASH__"`, so
//! the root of an empty set is [`empty_root`].
//!
//! The root is a function of the set alone (not of the order in which
//! outputs were added or removed), which the property tests check against
//! the RocksDB store and a from-scratch rebuild.
//!
//! # Versions and pruning
//! `jmt` keys nodes by `(version, nibble path)`; the store uses the block
//! height as the version. Only the latest tree is kept: every node that a
//! block makes stale (including the previous root, which `jmt` does not
//! list as stale when a block changes nothing) is deleted in the same
//! write as the block, so proofs are served at the tip only.
//! [`TreeChanges::stale`] lists those nodes.
//!
//! # Robustness
//! `jmt` asserts internal invariants; a damaged node read back from disk
//! could trip one. Every call into `jmt` is wrapped in `catch_unwind` and a
//! panic becomes [`Error::Tree`], so a corrupt store is reported, never a
//! crash of the node.

use crate::error::{Error, Result};
use crate::node::{NodeId, TreeNode};
use crate::proof::{ObjectProof, StateProof, ValueProof};
use crate::schema;
use crate::update::{self, Change, NodeSource};
use aether_types::{Canonical, Digest, Object, ObjectKey, OutPoint, TxOutput, tagged_hash};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, SimpleHasher, Version};
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Domain tag of [`state_key`].
pub const STATE_KEY_TAG: &str = "aether/state-key/v1";
/// Domain tag prefixed to every hash inside the state tree ([`StateHasher`]).
pub const STATE_TREE_TAG: &str = "aether/state-tree/v1";

/// Root of the empty state tree (`jmt`'s placeholder hash).
pub fn empty_root() -> Digest {
    Digest(*b"SPARSE_MERKLE_PLACEHOLDER_HASH__")
}

/// The key of an out-point in the state tree.
pub fn state_key(out_point: &OutPoint) -> Digest {
    tagged_hash(STATE_KEY_TAG, &[&out_point.encode()])
}

pub(crate) fn key_hash(out_point: &OutPoint) -> KeyHash {
    KeyHash(state_key(out_point).0)
}

/// The tree key of a protocol object (`ObjectKey::tree_key`, a domain of
/// its own: it never collides with an out-point's state key).
pub(crate) fn object_key_hash(key: &ObjectKey) -> KeyHash {
    KeyHash(key.tree_key().0)
}

/// The hash function of the state tree: BLAKE3 with the
/// [`STATE_TREE_TAG`] domain prefix (see the module docs).
#[derive(Clone)]
pub struct StateHasher(blake3::Hasher);

impl SimpleHasher for StateHasher {
    fn new() -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(STATE_TREE_TAG.as_bytes());
        hasher.update(&[0]);
        StateHasher(hasher)
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// The result of applying a set of changes to the tree at one version:
/// the new root, the nodes to write and the nodes to delete.
pub struct TreeChanges {
    /// Version written.
    pub version: Version,
    /// Root after the changes.
    pub root: Digest,
    /// New nodes, with their encodings (`jmt`'s `NodeKey` and `Node`).
    pub(crate) nodes: Vec<(NodeId, Vec<u8>)>,
    /// Nodes no longer reachable from the new root (to delete).
    pub(crate) stale: Vec<NodeId>,
    /// The changes applied (the in-memory tree keeps the values; the
    /// store has them in its own column families).
    pub(crate) values: BTreeMap<KeyHash, Option<OwnedValue>>,
}

impl TreeChanges {
    /// Number of new nodes to write.
    pub fn new_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Number of nodes to delete.
    pub fn stale_nodes(&self) -> usize {
        self.stale.len()
    }
}

impl std::fmt::Debug for TreeChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeChanges")
            .field("version", &self.version)
            .field("root", &self.root)
            .field("new_nodes", &self.nodes.len())
            .field("stale_nodes", &self.stale.len())
            .finish()
    }
}

/// The value-set of a state diff: spent out-points map to `None`, created
/// ones to their output's encoding, objects to their encoding (`None`:
/// deleted). Sorted and deduplicated by key.
pub(crate) fn value_set<'a>(
    spent: impl IntoIterator<Item = &'a OutPoint>,
    created: impl IntoIterator<Item = (&'a OutPoint, &'a TxOutput)>,
    objects: impl IntoIterator<Item = (&'a ObjectKey, &'a Option<Object>)>,
) -> BTreeMap<KeyHash, Option<OwnedValue>> {
    let mut set = BTreeMap::new();
    for out_point in spent {
        set.insert(key_hash(out_point), None);
    }
    for (out_point, output) in created {
        set.insert(key_hash(out_point), Some(output.encode()));
    }
    for (key, object) in objects {
        set.insert(object_key_hash(key), object.as_ref().map(Object::encode));
    }
    set
}

/// Runs a `jmt` operation, turning its errors and panics into [`Error::Tree`].
pub(crate) fn guarded<T>(op: impl FnOnce() -> anyhow::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(op)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(tree_error(e)),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Err(Error::Tree {
                reason: format!("tree code panicked (damaged node?): {reason}"),
            })
        }
    }
}

/// Converts a `jmt` error, keeping a storage error raised by our reader.
fn tree_error(e: anyhow::Error) -> Error {
    match e.downcast::<Error>() {
        Ok(inner) => inner,
        Err(e) => Error::Tree {
            reason: format!("{e:#}"),
        },
    }
}

/// Computes the tree after `changes` at `version` on top of the tree that
/// `source` holds at `version - 1` (or the empty tree for version 0): the
/// batched update of [`crate::update`], with the same result as
/// [`compute_changes_key_by_key`].
pub(crate) fn compute_changes<S: NodeSource>(
    source: &S,
    version: Version,
    changes: BTreeMap<KeyHash, Option<OwnedValue>>,
) -> Result<TreeChanges> {
    let list: Vec<Change<'_>> = changes
        .iter()
        .map(|(key, value)| Change {
            key: key.0,
            value: value.as_deref(),
        })
        .collect();
    let (root, output) = guarded(|| update::apply(source, version, &list).map_err(Into::into))?;
    drop(list);
    Ok(TreeChanges {
        version,
        root: Digest(root),
        nodes: output.nodes,
        stale: output.stale,
        values: changes,
    })
}

/// The reference path: `jmt`'s own `put_value_set`, which inserts the
/// changes one key at a time (what the store did before the batched
/// update). Same result as [`compute_changes`], several times slower; kept
/// for the equality tests and the benchmark.
pub(crate) fn compute_changes_key_by_key<R: TreeReader>(
    reader: &R,
    version: Version,
    changes: BTreeMap<KeyHash, Option<OwnedValue>>,
) -> Result<TreeChanges> {
    let (root, batch) = guarded(|| {
        JellyfishMerkleTree::<R, StateHasher>::new(reader).put_value_set(changes.clone(), version)
    })?;
    let id = |key: &NodeKey| {
        NodeId::decode(&schema::jmt_node_key(key)).ok_or_else(|| Error::Tree {
            reason: format!("jmt produced a node key we cannot read: {key:?}"),
        })
    };
    let nodes = batch
        .node_batch
        .nodes()
        .iter()
        .map(|(key, node)| {
            let bytes = borsh::to_vec(node).map_err(|e| Error::Tree {
                reason: e.to_string(),
            })?;
            Ok((id(key)?, bytes))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut stale = batch
        .stale_node_index_batch
        .iter()
        .map(|index| id(&index.node_key))
        .collect::<Result<Vec<_>>>()?;
    if let Some(previous) = version.checked_sub(1) {
        // `jmt` copies an unchanged root to the new version without marking
        // the old one stale; it is unreachable from the new root either way.
        let old_root = NodeId::root(previous);
        if !stale.contains(&old_root) {
            stale.push(old_root);
        }
    }
    Ok(TreeChanges {
        version,
        root: Digest(root.0),
        nodes,
        stale,
        values: changes,
    })
}

/// Proves the state of `out_point` in the tree `reader` holds at `version`.
pub(crate) fn prove<R: TreeReader>(
    reader: &R,
    version: Version,
    out_point: &OutPoint,
) -> Result<StateProof> {
    prove_key(reader, version, key_hash(out_point), "utxos")
}

/// Proves the state of the object at `key` in the tree `reader` holds at
/// `version`.
pub(crate) fn prove_object<R: TreeReader>(
    reader: &R,
    version: Version,
    key: &ObjectKey,
) -> Result<ObjectProof> {
    prove_key(reader, version, object_key_hash(key), "objects")
}

fn prove_key<R: TreeReader, T: Canonical>(
    reader: &R,
    version: Version,
    key: KeyHash,
    cf: &'static str,
) -> Result<ValueProof<T>> {
    let (value, proof) = guarded(|| {
        JellyfishMerkleTree::<R, StateHasher>::new(reader).get_with_proof(key, version)
    })?;
    let value = match value {
        None => None,
        Some(bytes) => Some(T::decode(&bytes).map_err(|e| Error::Corruption {
            cf,
            key: hex::encode(key.0),
            reason: e.to_string(),
        })?),
    };
    Ok(ValueProof::from_parts(value, proof))
}

/// Root of the tree `reader` holds at `version`.
#[cfg(feature = "db")]
pub(crate) fn root_at<R: TreeReader>(reader: &R, version: Version) -> Result<Digest> {
    let root =
        guarded(|| JellyfishMerkleTree::<R, StateHasher>::new(reader).get_root_hash(version))?;
    Ok(Digest(root.0))
}

/// Key of the root node of `version`.
#[cfg(feature = "db")]
pub(crate) fn root_key(version: Version) -> NodeKey {
    // `NibblePath::new` is crate-private in `jmt`: decode the Borsh form of
    // (version, empty path) = version (u64 LE) ‖ 0 nibbles (u64 LE) ‖ 0 bytes (u32 LE).
    let mut bytes = version.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0; 12]);
    borsh::from_slice(&bytes).expect("the encoding of a root node key is valid")
}

/// An in-memory state tree with the same roots and proofs as the store:
/// the reference for replays, tests and tools.
///
/// ```
/// use aether_storage::tree::{MemoryStateTree, empty_root};
/// use aether_storage::proof::verify_proof;
/// use aether_types::*;
///
/// let mut tree = MemoryStateTree::new();
/// assert_eq!(tree.root(), empty_root());
/// let op = OutPoint::new(TxId([1; 32]), 0);
/// let out = TxOutput::coin(Address::Key(KeyHash([2; 32])), 5_000);
/// let root = tree.apply([], [(&op, &out)]).unwrap();
/// let proof = tree.prove(&op).unwrap();
/// assert_eq!(verify_proof(&root, &op, &proof).unwrap(), Some(&out));
/// ```
#[derive(Debug, Default)]
pub struct MemoryStateTree {
    store: MemoryNodeStore,
    version: Option<Version>,
    root: Option<Digest>,
    key_by_key: bool,
}

impl MemoryStateTree {
    /// An empty tree (no version written yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree that applies changes with `jmt`'s own key-by-key
    /// `put_value_set` instead of the batched update: the reference the
    /// equality tests and the benchmark compare against (same roots, nodes
    /// and proofs; several times slower).
    pub fn new_key_by_key() -> Self {
        MemoryStateTree {
            key_by_key: true,
            ..Self::default()
        }
    }

    /// Applies one block's changes as the next version (0 first) and
    /// returns the new root.
    pub fn apply<'a>(
        &mut self,
        spent: impl IntoIterator<Item = &'a OutPoint>,
        created: impl IntoIterator<Item = (&'a OutPoint, &'a TxOutput)>,
    ) -> Result<Digest> {
        self.apply_with_objects(spent, created, [])
    }

    /// Like [`MemoryStateTree::apply`], with protocol object writes
    /// (`None`: deleted).
    pub fn apply_with_objects<'a>(
        &mut self,
        spent: impl IntoIterator<Item = &'a OutPoint>,
        created: impl IntoIterator<Item = (&'a OutPoint, &'a TxOutput)>,
        objects: impl IntoIterator<Item = (&'a ObjectKey, &'a Option<Object>)>,
    ) -> Result<Digest> {
        self.apply_changes(value_set(spent, created, objects))
            .map(|changes| changes.root)
    }

    /// Applies a set of key changes as the next version; returns what was
    /// written.
    pub(crate) fn apply_changes(
        &mut self,
        set: BTreeMap<KeyHash, Option<OwnedValue>>,
    ) -> Result<TreeChanges> {
        let version = match self.version {
            None => 0,
            Some(v) => v.checked_add(1).ok_or_else(|| Error::Tree {
                reason: "version overflow".into(),
            })?,
        };
        let changes = if self.key_by_key {
            compute_changes_key_by_key(&self.store, version, set)?
        } else {
            compute_changes(&self.store, version, set)?
        };
        self.store.apply(&changes);
        self.version = Some(version);
        self.root = Some(changes.root);
        Ok(changes)
    }

    /// Applies a ledger [`aether_ledger::StateDiff`].
    #[cfg(feature = "db")]
    pub fn apply_diff(&mut self, diff: &aether_ledger::StateDiff) -> Result<Digest> {
        self.apply_with_objects(&diff.spent, &diff.created, &diff.objects)
    }

    /// The current root ([`empty_root`] before the first version).
    pub fn root(&self) -> Digest {
        self.root.unwrap_or_else(empty_root)
    }

    /// The latest version written, if any.
    pub fn version(&self) -> Option<Version> {
        self.version
    }

    /// Number of tree nodes held (the tree is pruned to the latest version).
    pub fn node_count(&self) -> usize {
        self.store.nodes.len()
    }

    /// Inclusion or exclusion proof of `out_point` against [`Self::root`].
    pub fn prove(&self, out_point: &OutPoint) -> Result<StateProof> {
        match self.version {
            Some(version) => prove(&self.store, version, out_point),
            None => Ok(StateProof::empty_tree()),
        }
    }

    /// Inclusion or exclusion proof of the object at `key`.
    pub fn prove_object(&self, key: &ObjectKey) -> Result<ObjectProof> {
        match self.version {
            Some(version) => prove_object(&self.store, version, key),
            None => Ok(ObjectProof::empty_tree()),
        }
    }

    /// Every stored node: position and encoding, sorted (tests compare
    /// trees node by node).
    #[cfg(test)]
    pub(crate) fn nodes(&self) -> Vec<(NodeId, Vec<u8>)> {
        let mut nodes: Vec<_> = self
            .store
            .nodes
            .iter()
            .map(|(id, bytes)| (*id, bytes.clone()))
            .collect();
        nodes.sort();
        nodes
    }

    /// The stored nodes, to damage them in tests.
    #[cfg(test)]
    pub(crate) fn nodes_mut(&mut self) -> &mut HashMap<NodeId, Vec<u8>> {
        &mut self.store.nodes
    }

    /// `jmt`'s value and proof for a raw tree key at the latest version.
    #[cfg(test)]
    pub(crate) fn raw_proof(
        &self,
        key: KeyHash,
    ) -> (
        Option<OwnedValue>,
        jmt::proof::SparseMerkleProof<StateHasher>,
    ) {
        let version = self.version.expect("a version was written");
        JellyfishMerkleTree::<_, StateHasher>::new(&self.store)
            .get_with_proof(key, version)
            .expect("proof")
    }
}

/// Nodes (as their `jmt_nodes` encodings, like the store) and the latest
/// values, in memory; implements `jmt`'s reader and the batched update's.
#[derive(Debug, Default)]
struct MemoryNodeStore {
    nodes: HashMap<NodeId, Vec<u8>>,
    values: HashMap<KeyHash, OwnedValue>,
}

impl MemoryNodeStore {
    fn apply(&mut self, changes: &TreeChanges) {
        for id in &changes.stale {
            self.nodes.remove(id);
        }
        for (id, bytes) in &changes.nodes {
            self.nodes.insert(*id, bytes.clone());
        }
        for (key, value) in &changes.values {
            match value {
                Some(value) => self.values.insert(*key, value.clone()),
                None => self.values.remove(key),
            };
        }
    }
}

impl NodeSource for MemoryNodeStore {
    fn node(&self, id: &NodeId) -> Result<Option<TreeNode>> {
        self.nodes
            .get(id)
            .map(|bytes| {
                TreeNode::decode(bytes).map_err(|reason| Error::Corruption {
                    cf: crate::schema::cf::JMT_NODES,
                    key: hex::encode(id.encode()),
                    reason: reason.into(),
                })
            })
            .transpose()
    }
}

impl TreeReader for MemoryNodeStore {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = schema::jmt_node_key(node_key);
        let Some(id) = NodeId::decode(&key) else {
            return Ok(None);
        };
        Ok(self
            .nodes
            .get(&id)
            .map(|bytes| schema::decode_jmt_node(&key, bytes))
            .transpose()?)
    }

    /// Only the latest value of each key is kept (the tree is pruned to the
    /// latest version), so `max_version` is not consulted.
    fn get_value_option(
        &self,
        _max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.values.get(&key_hash).cloned())
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        let mut best: Option<(NodeKey, LeafNode)> = None;
        for (id, bytes) in &self.nodes {
            let key = id.encode();
            if let Node::Leaf(leaf) = schema::decode_jmt_node(&key, bytes)?
                && best
                    .as_ref()
                    .is_none_or(|(_, b)| b.key_hash() < leaf.key_hash())
            {
                best = Some((borsh::from_slice(&key)?, leaf));
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::verify_proof;
    use aether_types::{Address, KeyHash as AddrKey, TxId};

    fn op(i: u32) -> OutPoint {
        OutPoint::new(TxId([(i % 251) as u8; 32]), i)
    }

    fn out(i: u32) -> TxOutput {
        TxOutput::coin(Address::Key(AddrKey([7; 32])), 1_000 + u128::from(i))
    }

    #[test]
    fn root_is_independent_of_history_and_order() {
        let ops: Vec<OutPoint> = (0..40).map(op).collect();
        let outs: Vec<TxOutput> = (0..40).map(out).collect();

        // All at once.
        let mut a = MemoryStateTree::new();
        let all: Vec<(&OutPoint, &TxOutput)> = ops.iter().zip(&outs).take(30).collect();
        let root_a = a.apply([], all).unwrap();

        // In three versions, with extra outputs created and later spent.
        let mut b = MemoryStateTree::new();
        b.apply([], ops.iter().zip(&outs).skip(20)).unwrap();
        b.apply([], ops.iter().zip(&outs).take(10)).unwrap();
        b.apply([], []).unwrap();
        let root_b = b
            .apply(&ops[30..], ops[10..20].iter().zip(&outs[10..20]))
            .unwrap();
        assert_eq!(root_a, root_b);
        assert_eq!(b.version(), Some(3));

        // Pruning keeps only the nodes of the latest tree.
        assert_eq!(a.node_count(), b.node_count());
        assert_ne!(root_a, empty_root());

        // Spending everything gives the empty root back.
        let root_c = b.apply(&ops[..30], []).unwrap();
        assert_eq!(root_c, empty_root());
        assert_eq!(b.node_count(), 1, "only the null root remains");
    }

    #[test]
    fn memory_tree_proofs_verify() {
        let mut tree = MemoryStateTree::new();
        let ops: Vec<OutPoint> = (0..20).map(op).collect();
        let outs: Vec<TxOutput> = (0..20).map(out).collect();
        tree.apply([], ops.iter().zip(&outs)).unwrap();
        let root = tree.apply(&ops[..5], []).unwrap();
        for (i, o) in ops.iter().enumerate() {
            let proof = tree.prove(o).unwrap();
            let got = verify_proof(&root, o, &proof).unwrap();
            assert_eq!(got, if i < 5 { None } else { Some(&outs[i]) });
        }
        let never = OutPoint::new(TxId([0xaa; 32]), 9);
        assert_eq!(
            verify_proof(&root, &never, &tree.prove(&never).unwrap()).unwrap(),
            None
        );
    }

    #[test]
    fn empty_tree_proof() {
        let tree = MemoryStateTree::new();
        let proof = tree.prove(&op(1)).unwrap();
        assert_eq!(verify_proof(&empty_root(), &op(1), &proof).unwrap(), None);
    }

    #[test]
    fn hasher_is_domain_separated() {
        let plain: [u8; 32] = *blake3::hash(b"x").as_bytes();
        assert_ne!(StateHasher::hash(b"x"), plain);
        assert_ne!(state_key(&op(1)).0, StateHasher::hash(op(1).encode()));
    }
}

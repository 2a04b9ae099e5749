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
use crate::proof::{ObjectProof, StateProof, ValueProof};
use aether_types::{Canonical, Digest, Object, ObjectKey, OutPoint, TxOutput, tagged_hash};
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeUpdateBatch, TreeWriter};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, SimpleHasher, Version};
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::RwLock;

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
    /// `jmt`'s batch: new nodes (and the values it saw).
    pub batch: TreeUpdateBatch,
    /// Nodes no longer reachable from the new root (to delete).
    pub stale: Vec<NodeKey>,
}

impl std::fmt::Debug for TreeChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeChanges")
            .field("version", &self.version)
            .field("root", &self.root)
            .field("new_nodes", &self.batch.node_batch.nodes().len())
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
/// `reader` holds at `version - 1` (or the empty tree for version 0).
pub(crate) fn compute_changes<R: TreeReader>(
    reader: &R,
    version: Version,
    changes: BTreeMap<KeyHash, Option<OwnedValue>>,
) -> Result<TreeChanges> {
    let (root, batch) = guarded(|| {
        JellyfishMerkleTree::<R, StateHasher>::new(reader).put_value_set(changes, version)
    })?;
    let mut stale: Vec<NodeKey> = batch
        .stale_node_index_batch
        .iter()
        .map(|index| index.node_key.clone())
        .collect();
    if let Some(previous) = version.checked_sub(1) {
        // `jmt` copies an unchanged root to the new version without marking
        // the old one stale; it is unreachable from the new root either way.
        let old_root = root_key(previous);
        if !stale.contains(&old_root) {
            stale.push(old_root);
        }
    }
    Ok(TreeChanges {
        version,
        root: Digest(root.0),
        batch,
        stale,
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
}

impl MemoryStateTree {
    /// An empty tree (no version written yet).
    pub fn new() -> Self {
        Self::default()
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
        let version = match self.version {
            None => 0,
            Some(v) => v.checked_add(1).ok_or_else(|| Error::Tree {
                reason: "version overflow".into(),
            })?,
        };
        let changes = compute_changes(&self.store, version, value_set(spent, created, objects))?;
        self.store
            .write_node_batch(&changes.batch.node_batch)
            .map_err(tree_error)?;
        self.store.remove(&changes.stale);
        self.version = Some(version);
        self.root = Some(changes.root);
        Ok(changes.root)
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
        self.store.nodes.read().map(|n| n.len()).unwrap_or(0)
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
}

/// Nodes and latest values in memory; implements `jmt`'s reader and writer.
#[derive(Debug, Default)]
struct MemoryNodeStore {
    nodes: RwLock<HashMap<NodeKey, Node>>,
    values: RwLock<HashMap<KeyHash, OwnedValue>>,
}

impl MemoryNodeStore {
    fn remove(&self, keys: &[NodeKey]) {
        if let Ok(mut nodes) = self.nodes.write() {
            for key in keys {
                nodes.remove(key);
            }
        }
    }
}

fn poisoned() -> anyhow::Error {
    anyhow::anyhow!("memory tree lock poisoned")
}

impl TreeReader for MemoryNodeStore {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self
            .nodes
            .read()
            .map_err(|_| poisoned())?
            .get(node_key)
            .cloned())
    }

    /// Only the latest value of each key is kept (the tree is pruned to the
    /// latest version), so `max_version` is not consulted.
    fn get_value_option(
        &self,
        _max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self
            .values
            .read()
            .map_err(|_| poisoned())?
            .get(&key_hash)
            .cloned())
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        let nodes = self.nodes.read().map_err(|_| poisoned())?;
        Ok(nodes
            .iter()
            .filter_map(|(key, node)| match node {
                Node::Leaf(leaf) => Some((key.clone(), leaf.clone())),
                _ => None,
            })
            .max_by_key(|(_, leaf)| leaf.key_hash()))
    }
}

impl TreeWriter for MemoryNodeStore {
    fn write_node_batch(&self, node_batch: &NodeBatch) -> anyhow::Result<()> {
        let mut nodes = self.nodes.write().map_err(|_| poisoned())?;
        for (key, node) in node_batch.nodes() {
            nodes.insert(key.clone(), node.clone());
        }
        let mut values = self.values.write().map_err(|_| poisoned())?;
        for ((_, key_hash), value) in node_batch.values() {
            match value {
                Some(value) => values.insert(*key_hash, value.clone()),
                None => values.remove(key_hash),
            };
        }
        Ok(())
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

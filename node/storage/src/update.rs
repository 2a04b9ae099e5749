//! The batched state-tree update: a block's sorted changes applied to the
//! Jellyfish Merkle tree in one pass, hashing every new internal node once
//! and the 16 subtrees below the root in parallel, with **the same nodes,
//! node keys and stale nodes as `jmt`'s key-by-key `put_value_set`** (the
//! reference path, [`crate::tree::compute_changes_key_by_key`]).
//!
//! # Where the time went (profile of the key-by-key path)
//! `callgrind` over `prepare_state` in the commit benchmark (blocks of
//! 1,000 transfers: ~1,000 deletions and ~2,000 insertions on a tree of
//! 2,000-20,000 leaves; the instruction counts are for that path only):
//! - 65% in `InternalNode::hash`: `put_value_set` inserts one key at a time
//!   and re-hashes every internal node on the key's path after each key, so
//!   the root, the 16 nodes below it and the 256 below those are hashed
//!   once per changed key instead of once per block (~95,000 binary BLAKE3
//!   hashes per block, against ~12,000 when each node is hashed once);
//! - 15% `memcpy`, mostly moving the 1.9 KiB `blake3::Hasher` state in and
//!   out of `SimpleHasher::new`/`finalize` once per binary hash, then node
//!   clones (`Box<[Option<Child>; 16]>`) in `jmt`'s tree cache;
//! - 6% node reads from RocksDB, 6% SipHash of `NodeKey`s in the cache;
//!   BLAKE3 compression itself was 27%.
//!
//! # Algorithm
//! The changes are sorted by key, so the changes below any node are a
//! contiguous run, split among its 16 children by the next nibble. From
//! the root (`(version - 1, [])`) downwards, a subtree with changes is
//! rebuilt bottom-up; a subtree without changes is kept as it is (same
//! node keys, nothing read). For each node the recursion returns what
//! the subtree became: unchanged, empty, a leaf not yet placed (leaves move
//! up when their siblings disappear and down when a new key shares their
//! prefix), or an internal node already written at `(version, path)`.
//! An internal node left with a single leaf below it is replaced by that
//! leaf, as `jmt` does, so the tree stays the canonical one of the key set.
//! Each new internal node is hashed once, with the binary hashes computed
//! on a stack buffer ([`crate::node`]).
//!
//! # Same result as the key-by-key path
//! The shape of the tree and every hash are functions of the key set, so
//! they agree with `jmt` by construction. Node **versions** depend on
//! history: a node gets the new version iff `put_value_set` rewrote it,
//! i.e. iff a change that did something (an insertion or update, or the
//! deletion of a present key) lies below it, or it is a leaf that moved.
//! One case depends on the order of the changes: `put_value_set` works in
//! key order, so when the deletions in a node's range leave a single old
//! leaf in it *before* later insertions in the same range arrive, that leaf
//! is moved up (collapse) and back down to where it was, and is rewritten
//! at the new version although it ends where it started. The recursion
//! tracks, for every subtree, the net leaf-count change of its changes in
//! key order and its lowest prefix (`Delta`); a node whose old leaf count
//! plus that minimum is exactly 1 had a moment with a single leaf, and that
//! leaf (when it is an old direct child that no change touched) is
//! rewritten as `jmt` does. The tests compare nodes, node keys, stale keys
//! and roots with `put_value_set` on random blocks.
//!
//! # Versions
//! The caller's contract is `jmt`'s: the tree at `version - 1` is readable
//! from `source` (its root at `(version - 1, [])`), version 0 starts from
//! the empty tree, the new root is always written at `(version, [])` (a
//! copy of the old root when nothing changed), and every node of the old
//! tree that the new one does not reach is listed stale (the old root
//! always is).
//!
//! # Parallelism
//! Below an internal root the runs of changes of the 16 child slots are
//! independent: with at least [`PARALLEL_MIN_CHANGES`] changes they are
//! processed on rayon's pool, each with its own output, concatenated in
//! nibble order (so the output does not depend on scheduling).

use crate::error::{Error, Result};
use crate::node::{ChildRef, Children, Leaf, NodeId, PLACEHOLDER, TreeNode, nibble};
use crate::tree::StateHasher;
use jmt::{ValueHash, Version};
use rayon::prelude::*;

/// Fewest changes for which the subtrees below the root are updated in
/// parallel (below it the pool's overhead outweighs the hashing).
pub(crate) const PARALLEL_MIN_CHANGES: usize = 64;

/// Read access to the nodes of the tree being updated.
pub(crate) trait NodeSource: Sync {
    /// The node stored at `id`, if any.
    fn node(&self, id: &NodeId) -> Result<Option<TreeNode>>;
}

/// One change: a key and its new value (`None`: deleted).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Change<'a> {
    /// The tree key.
    pub(crate) key: [u8; 32],
    /// The new value.
    pub(crate) value: Option<&'a [u8]>,
}

/// What an update writes.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// New nodes and their encodings.
    pub(crate) nodes: Vec<(NodeId, Vec<u8>)>,
    /// Nodes of the old tree that the new one no longer reaches.
    pub(crate) stale: Vec<NodeId>,
}

impl Output {
    fn append(&mut self, other: Output) {
        self.nodes.extend(other.nodes);
        self.stale.extend(other.stale);
    }

    fn write(&mut self, id: NodeId, node: &TreeNode) {
        self.nodes.push((id, node.encode()));
    }
}

/// Applies `changes` (sorted by key, one per key) to the tree `source`
/// holds at `version - 1` (the empty tree for version 0); returns the new
/// root hash and what to write.
pub(crate) fn apply<S: NodeSource>(
    source: &S,
    version: Version,
    changes: &[Change<'_>],
) -> Result<([u8; 32], Output)> {
    debug_assert!(changes.windows(2).all(|w| w[0].key < w[1].key));
    let update = Update { source, version };
    let new_root = NodeId::root(version);
    let old = match version.checked_sub(1) {
        None => None,
        Some(previous) => {
            let id = NodeId::root(previous);
            let node = source.node(&id)?.ok_or_else(|| Error::Tree {
                reason: format!("the tree has no root at version {previous}"),
            })?;
            Some((id, node))
        }
    };
    let mut out = Output::default();
    let step = match &old {
        None | Some((_, TreeNode::Null)) => update.update(new_root, None, changes, &mut out)?,
        Some((id, node)) => update.update(*id, Some(node.clone()), changes, &mut out)?,
    };
    let root = match step.sub {
        None => {
            // Nothing changed: the old root is copied to the new version.
            let node = old.as_ref().map_or(TreeNode::Null, |(_, n)| n.clone());
            out.write(new_root, &node);
            node.hash()
        }
        Some(Sub::Empty) => {
            out.write(new_root, &TreeNode::Null);
            PLACEHOLDER
        }
        Some(Sub::Leaf(leaf)) => {
            out.write(new_root, &TreeNode::Leaf(leaf.leaf));
            if let Some(at) = leaf.at {
                out.stale.push(at);
            }
            leaf.hash
        }
        Some(Sub::Placed(child)) => child.hash,
    };
    if let Some((id, _)) = old
        && !out.stale.contains(&id)
    {
        out.stale.push(id);
    }
    Ok((root, out))
}

/// Net change of a subtree's leaf count over its changes in key order:
/// the total, and the lowest running sum (0 for the empty prefix).
#[derive(Clone, Copy, Debug, Default)]
struct Delta {
    total: i64,
    min: i64,
}

impl Delta {
    fn of(step: i64) -> Delta {
        Delta {
            total: step,
            min: step.min(0),
        }
    }

    /// `self`'s changes followed by `next`'s.
    fn then(self, next: Delta) -> Delta {
        Delta {
            total: self.total + next.total,
            min: self.min.min(self.total + next.min),
        }
    }
}

/// A leaf not yet placed in its parent.
#[derive(Clone, Copy, Debug)]
struct Pending {
    leaf: Leaf,
    hash: [u8; 32],
    /// Where the leaf is stored now, if it is an old node (not yet stale).
    at: Option<NodeId>,
    /// Rewrite it even if it stays where it is (see the module docs).
    rewrite: bool,
}

/// What a subtree became.
#[derive(Clone, Copy, Debug)]
enum Sub {
    /// No leaf left.
    Empty,
    /// A single leaf, placed by the parent.
    Leaf(Pending),
    /// An internal node written at its position.
    Placed(ChildRef),
}

/// The result of updating one subtree.
struct Step {
    /// `None`: the subtree is unchanged.
    sub: Option<Sub>,
    delta: Delta,
}

struct Update<'a, S> {
    source: &'a S,
    version: Version,
}

fn value_hash(value: &[u8]) -> [u8; 32] {
    ValueHash::with::<StateHasher>(value).0
}

fn damaged(reason: String) -> Error {
    Error::Tree {
        reason: format!("damaged tree: {reason}"),
    }
}

/// The runs of `changes` (sorted) sharing the nibble at `depth`.
fn runs<'c, 'v>(changes: &'c [Change<'v>], depth: usize) -> Vec<(u8, &'c [Change<'v>])> {
    let mut out = Vec::new();
    let mut rest = changes;
    while let Some(first) = rest.first() {
        let n = nibble(&first.key, depth);
        let len = rest
            .iter()
            .position(|c| nibble(&c.key, depth) != n)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        out.push((n, run));
        rest = tail;
    }
    out
}

impl<S: NodeSource> Update<'_, S> {
    fn read(&self, id: NodeId, expect_leaf: bool) -> Result<TreeNode> {
        let node = self
            .source
            .node(&id)?
            .ok_or_else(|| damaged(format!("node {id:?} is missing")))?;
        match (&node, expect_leaf) {
            (TreeNode::Leaf(_), true) | (TreeNode::Internal(_), false) => Ok(node),
            _ => Err(damaged(format!(
                "node {id:?} is not of the kind its parent records"
            ))),
        }
    }

    fn read_leaf(&self, id: NodeId) -> Result<Leaf> {
        match self.read(id, true)? {
            TreeNode::Leaf(leaf) => Ok(leaf),
            _ => Err(damaged(format!("node {id:?} is not a leaf"))),
        }
    }

    /// Runs `f` on each run of `changes` split at `depth`, in parallel below
    /// the root; the outputs are appended to `out` in nibble order.
    fn per_run<T: Send>(
        &self,
        depth: usize,
        changes: &[Change<'_>],
        out: &mut Output,
        f: impl Fn(u8, &[Change<'_>], &mut Output) -> Result<T> + Sync,
    ) -> Result<Vec<(u8, T)>> {
        let runs = runs(changes, depth);
        if depth == 0 && runs.len() > 1 && changes.len() >= PARALLEL_MIN_CHANGES {
            let done: Vec<(u8, Result<T>, Output)> = runs
                .into_par_iter()
                .map(|(n, run)| {
                    let mut own = Output::default();
                    let result = f(n, run, &mut own);
                    (n, result, own)
                })
                .collect();
            let mut results = Vec::with_capacity(done.len());
            for (n, result, own) in done {
                out.append(own);
                results.push((n, result?));
            }
            Ok(results)
        } else {
            runs.into_iter()
                .map(|(n, run)| Ok((n, f(n, run, out)?)))
                .collect()
        }
    }

    /// Updates the subtree at `id` (the stored node `node`, or an empty slot
    /// for `None`, where `id` is the slot's position).
    fn update(
        &self,
        id: NodeId,
        node: Option<TreeNode>,
        changes: &[Change<'_>],
        out: &mut Output,
    ) -> Result<Step> {
        match node {
            None | Some(TreeNode::Null) => {
                let delta = changes.iter().fold(Delta::default(), |d, c| {
                    d.then(Delta::of(c.value.is_some() as i64))
                });
                let sub = changes
                    .iter()
                    .any(|c| c.value.is_some())
                    .then(|| self.build(id.at_version(self.version), changes, None, out))
                    .transpose()?;
                Ok(Step { sub, delta })
            }
            Some(TreeNode::Leaf(leaf)) => self.update_leaf(id, leaf, changes, out),
            Some(TreeNode::Internal(children)) => self.update_internal(id, children, changes, out),
        }
    }

    fn update_leaf(
        &self,
        id: NodeId,
        leaf: Leaf,
        changes: &[Change<'_>],
        out: &mut Output,
    ) -> Result<Step> {
        if (0..id.depth()).any(|d| nibble(&leaf.key, d) != id.nibble(d)) {
            return Err(damaged(format!("leaf {id:?} is off its key's path")));
        }
        let mut delta = Delta::default();
        let mut effective = false;
        let mut own_change = false;
        for c in changes {
            let own = c.key == leaf.key;
            own_change |= own;
            let step = match (own, c.value.is_some()) {
                (false, true) => 1,
                (true, false) => -1,
                _ => 0,
            };
            effective |= own || c.value.is_some();
            delta = delta.then(Delta::of(step));
        }
        if !effective {
            return Ok(Step { sub: None, delta });
        }
        // The leaf is deleted, updated or moved down: rewritten either way.
        out.stale.push(id);
        let keep = (!own_change).then(|| Pending {
            leaf,
            hash: leaf.hash(),
            at: None,
            rewrite: false,
        });
        let sub = self.build(id.at_version(self.version), changes, keep, out)?;
        Ok(Step {
            sub: Some(sub),
            delta,
        })
    }

    fn update_internal(
        &self,
        id: NodeId,
        mut children: Box<Children>,
        changes: &[Change<'_>],
        out: &mut Output,
    ) -> Result<Step> {
        let depth = id.depth();
        if depth >= 64 {
            return Err(damaged(format!(
                "internal node {id:?} below the last nibble"
            )));
        }
        let version = self.version;
        let old_leaves: u64 = children.iter().flatten().map(ChildRef::leaf_count).sum();
        let steps = self.per_run(depth, changes, out, |n, run, out| {
            match children[usize::from(n)] {
                Some(child) => {
                    let child_id = id.child(child.version, n);
                    let node = self.read(child_id, child.is_leaf())?;
                    self.update(child_id, Some(node), run, out)
                }
                None => self.update(id.child(version, n), None, run, out),
            }
        })?;
        let delta = steps
            .iter()
            .fold(Delta::default(), |d, (_, s)| d.then(s.delta));
        if steps.iter().all(|(_, s)| s.sub.is_none()) {
            return Ok(Step { sub: None, delta });
        }
        out.stale.push(id);

        // The slots are updated in place; an untouched slot keeps its old child.
        let mut pending: [Option<Pending>; 16] = [None; 16];
        let mut touched = [false; 16];
        for (n, step) in &steps {
            let i = usize::from(*n);
            let Some(sub) = step.sub else { continue };
            touched[i] = true;
            children[i] = match sub {
                Sub::Empty => None,
                Sub::Placed(child) => Some(child),
                Sub::Leaf(leaf) => {
                    pending[i] = Some(leaf);
                    Some(ChildRef {
                        hash: leaf.hash,
                        version,
                        leaves: None,
                    })
                }
            };
        }

        // `put_value_set`'s collapse-and-return (module docs): a moment
        // with a single leaf in this node's range, that leaf being an old
        // child no change touched, means it was moved up and back.
        if i128::from(old_leaves) + i128::from(delta.min) == 1 {
            let survivors: Vec<usize> = (0..16)
                .filter(|&i| !touched[i] && children[i].is_some_and(|c| c.is_leaf()))
                .collect();
            match survivors[..] {
                [] => {}
                [i] => {
                    let child = children[i].expect("a survivor is an old child");
                    let at = id.child(child.version, i as u8);
                    pending[i] = Some(Pending {
                        leaf: self.read_leaf(at)?,
                        hash: child.hash,
                        at: Some(at),
                        rewrite: true,
                    });
                }
                _ => {
                    return Err(damaged(format!(
                        "node {id:?} records more leaves than its children hold"
                    )));
                }
            }
        }

        let remaining: Vec<usize> = (0..16).filter(|&i| children[i].is_some()).collect();
        match remaining[..] {
            [] => {
                return Ok(Step {
                    sub: Some(Sub::Empty),
                    delta,
                });
            }
            [i] if children[i].is_some_and(|c| c.is_leaf()) => {
                // A single leaf left: it replaces this node.
                let leaf = match pending[i] {
                    Some(leaf) => leaf,
                    None => {
                        let child = children[i].expect("remaining child");
                        let at = id.child(child.version, i as u8);
                        Pending {
                            leaf: self.read_leaf(at)?,
                            hash: child.hash,
                            at: Some(at),
                            rewrite: false,
                        }
                    }
                };
                return Ok(Step {
                    sub: Some(Sub::Leaf(leaf)),
                    delta,
                });
            }
            _ => {}
        }
        for i in 0..16 {
            if let Some(leaf) = pending[i] {
                children[i] = self.place(id.child(version, i as u8), Sub::Leaf(leaf), out);
            }
        }
        Ok(Step {
            sub: Some(self.finish(id.at_version(version), children, out)),
            delta,
        })
    }

    /// Builds the subtree at `pos` (a new position) holding the insertions
    /// of `changes` (deletions there are of absent keys) and `keep`, a leaf
    /// already in the tree whose key has no change.
    fn build(
        &self,
        pos: NodeId,
        changes: &[Change<'_>],
        keep: Option<Pending>,
        out: &mut Output,
    ) -> Result<Sub> {
        let mut inserts = changes
            .iter()
            .filter_map(|c| c.value.map(|value| (c.key, value)));
        match (inserts.next(), inserts.next(), keep) {
            (None, _, None) => return Ok(Sub::Empty),
            (None, _, Some(leaf)) => return Ok(Sub::Leaf(leaf)),
            (Some((key, value)), None, None) => {
                let leaf = Leaf {
                    key,
                    value_hash: value_hash(value),
                };
                return Ok(Sub::Leaf(Pending {
                    leaf,
                    hash: leaf.hash(),
                    at: None,
                    rewrite: false,
                }));
            }
            _ => {}
        }
        let depth = pos.depth();
        let version = self.version;
        let keep_nibble = keep.map(|k| nibble(&k.leaf.key, depth));
        let built = self.per_run(depth, changes, out, |n, run, out| {
            let keep = keep.filter(|_| keep_nibble == Some(n));
            let child = pos.child(version, n);
            let sub = self.build(child, run, keep, out)?;
            Ok(self.place(child, sub, out))
        })?;
        let mut children: Box<Children> = Box::new([None; 16]);
        for (n, child) in built {
            children[usize::from(n)] = child;
        }
        if let (Some(leaf), Some(n)) = (keep, keep_nibble)
            && !changes.iter().any(|c| nibble(&c.key, depth) == n)
        {
            children[usize::from(n)] = self.place(pos.child(version, n), Sub::Leaf(leaf), out);
        }
        Ok(self.finish(pos, children, out))
    }

    /// Puts `sub` in the child slot at `pos`: writes a pending leaf there
    /// (unless it is already stored there and need not be rewritten).
    fn place(&self, pos: NodeId, sub: Sub, out: &mut Output) -> Option<ChildRef> {
        match sub {
            Sub::Empty => None,
            Sub::Placed(child) => Some(child),
            Sub::Leaf(leaf) => {
                if let Some(at) = leaf.at
                    && !leaf.rewrite
                    && at.same_path(&pos)
                {
                    return Some(ChildRef {
                        hash: leaf.hash,
                        version: at.version(),
                        leaves: None,
                    });
                }
                out.write(pos, &TreeNode::Leaf(leaf.leaf));
                if let Some(at) = leaf.at {
                    out.stale.push(at);
                }
                Some(ChildRef {
                    hash: leaf.hash,
                    version: pos.version(),
                    leaves: None,
                })
            }
        }
    }

    /// Writes the internal node with `children` at `pos`.
    fn finish(&self, pos: NodeId, children: Box<Children>, out: &mut Output) -> Sub {
        let leaves = children.iter().flatten().map(ChildRef::leaf_count).sum();
        let node = TreeNode::Internal(children);
        let hash = node.hash();
        out.write(pos, &node);
        Sub::Placed(ChildRef {
            hash,
            version: pos.version(),
            leaves: Some(leaves),
        })
    }
}

#[cfg(test)]
mod tests;

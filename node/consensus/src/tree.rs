//! The tree of blocks above the last committed block.
//!
//! The root is the last committed block (its id, height, round and the
//! leader-failure counts of its chain). Every other entry is a proposal
//! whose parent is the root or another entry; an entry is **verified**
//! once the application re-executed it against its parent. Children are
//! admitted only under verified parents, so the application always has a
//! parent's state when asked to verify a child. Committing a block makes it
//! the root and drops every entry that does not descend from it.

use crate::leader::LeaderFailures;
use aether_types::{BlockHash, Proposal, ProposalFields, Round};
use std::collections::{HashMap, HashSet};

/// The last committed block.
#[derive(Clone, Debug)]
pub(crate) struct Root {
    pub id: BlockHash,
    pub height: u64,
    pub round: Round,
    pub failures: LeaderFailures,
}

/// A block above the root.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub proposal: Proposal,
    pub fields: ProposalFields,
    pub id: BlockHash,
    pub parent: BlockHash,
    pub height: u64,
    pub verified: bool,
    /// Whether this node may vote for it (a live proposal of its round).
    pub votable: bool,
    /// Leader-failure counts of the chain ending at this block.
    pub failures: LeaderFailures,
    /// The proposer's VRF output.
    pub vrf_output: [u8; 32],
}

/// The block tree (see the module docs).
#[derive(Debug)]
pub(crate) struct BlockTree {
    pub root: Root,
    entries: HashMap<BlockHash, Entry>,
}

impl BlockTree {
    pub fn new(root: Root) -> Self {
        BlockTree {
            root,
            entries: HashMap::new(),
        }
    }

    pub fn get(&self, id: &BlockHash) -> Option<&Entry> {
        self.entries.get(id)
    }

    pub fn get_mut(&mut self, id: &BlockHash) -> Option<&mut Entry> {
        self.entries.get_mut(id)
    }

    pub fn contains(&self, id: &BlockHash) -> bool {
        *id == self.root.id || self.entries.contains_key(id)
    }

    pub fn insert(&mut self, entry: Entry) {
        self.entries.insert(entry.id, entry);
    }

    pub fn remove(&mut self, id: &BlockHash) -> Option<Entry> {
        self.entries.remove(id)
    }

    /// Round and failure counts of a block that can be a parent (the root
    /// or a verified entry).
    pub fn parent_info(&self, id: &BlockHash) -> Option<(Round, &LeaderFailures)> {
        if *id == self.root.id {
            return Some((self.root.round, &self.root.failures));
        }
        let e = self.entries.get(id)?;
        e.verified.then_some((e.fields.round, &e.failures))
    }

    /// Whether `id` is the root or a verified entry.
    pub fn is_ready(&self, id: &BlockHash) -> bool {
        self.parent_info(id).is_some()
    }

    /// The entries from just above the root up to `id`, in height order;
    /// `None` if `id` does not chain to the root.
    pub fn path_from_root(&self, id: &BlockHash) -> Option<Vec<BlockHash>> {
        let mut path = Vec::new();
        let mut cursor = *id;
        while cursor != self.root.id {
            let e = self.entries.get(&cursor)?;
            path.push(cursor);
            cursor = e.parent;
        }
        path.reverse();
        Some(path)
    }

    /// Makes `id` (an entry) the root and drops what does not descend from it.
    pub fn advance_root(&mut self, id: &BlockHash) {
        let Some(new_root) = self.entries.get(id) else {
            return;
        };
        self.root = Root {
            id: new_root.id,
            height: new_root.height,
            round: new_root.fields.round,
            failures: new_root.failures.clone(),
        };
        let mut by_height: Vec<(u64, BlockHash, BlockHash)> = self
            .entries
            .values()
            .map(|e| (e.height, e.id, e.parent))
            .collect();
        by_height.sort();
        let mut keep: HashSet<BlockHash> = HashSet::from([self.root.id]);
        for (height, id, parent) in by_height {
            if height > self.root.height && keep.contains(&parent) {
                keep.insert(id);
            }
        }
        keep.remove(&self.root.id);
        self.entries.retain(|id, _| keep.contains(id));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

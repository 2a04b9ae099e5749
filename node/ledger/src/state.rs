//! The UTxO set as the ledger sees it: a read-only [`UtxoView`], the
//! [`StateDiff`] a block produces, an in-memory set ([`MemoryUtxoSet`]) and
//! the overlay used while a block executes.
//!
//! # State commitment
//! [`MemoryUtxoSet::state_root`] is the Merkle root ([`merkle_root`]) over
//! the leaves `H(tag::UTXO_LEAF, encode(out_point) || encode(output))`, in
//! ascending out-point order. It commits to the whole set, is independent
//! of insertion order and of how the set was reached, and is what the
//! property tests compare between sequential and parallel execution. The
//! persistent authenticated tree (with inclusion and exclusion proofs)
//! comes with storage and implements the same contract: equal sets, equal
//! roots.
//!
//! [`StateDiff::commitment`] hashes a block's diff
//! (`H(tag::STATE_DIFF, encode(diff))`), a cheap fingerprint of what a
//! block changed.

use crate::error::ViewError;
use aether_types::{
    Canonical, Digest, Object, ObjectKey, OutPoint, TxOutput, encode, merkle_root, tag, tagged_hash,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Read access to the ledger state: the UTxO set (unspent outputs by
/// out-point) and the protocol objects, with the index of objects by the
/// height they are due at (see `aether_types::object`).
///
/// Implementations must be consistent for the duration of a block's
/// execution (a snapshot). `Sync` because execution reads it from several
/// threads.
pub trait UtxoView: Sync {
    /// The unspent output at `out_point`, if any.
    fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>, ViewError>;

    /// The protocol object at `key`, if any.
    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, ViewError>;

    /// Keys of the objects whose [`Object::due_height`] is `height`, in
    /// any order.
    fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>, ViewError>;
}

impl<V: UtxoView + ?Sized> UtxoView for &V {
    fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>, ViewError> {
        (**self).utxo(out_point)
    }

    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, ViewError> {
        (**self).object(key)
    }

    fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>, ViewError> {
        (**self).due_at(height)
    }
}

/// What a block (or a transaction) did to the UTxO set.
///
/// `spent` holds outputs that existed **before** the block and are gone
/// after it; `created` holds outputs that exist after it and did not
/// before. An output created and spent within the same block appears in
/// neither.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateDiff {
    /// Pre-existing outputs consumed.
    pub spent: BTreeSet<OutPoint>,
    /// New outputs.
    pub created: BTreeMap<OutPoint, TxOutput>,
    /// Protocol objects written, with their value after the block (`None`:
    /// deleted).
    pub objects: BTreeMap<ObjectKey, Option<Object>>,
}

impl StateDiff {
    /// `H(tag::STATE_DIFF, encode(spent) || encode(created) || encode(objects))`.
    pub fn commitment(&self) -> Digest {
        tagged_hash(
            tag::STATE_DIFF,
            &[
                &encode(&self.spent),
                &encode(&self.created),
                &encode(&self.objects),
            ],
        )
    }
}

/// Leaf of the UTxO-set commitment for one entry.
pub fn utxo_leaf(out_point: &OutPoint, output: &TxOutput) -> Digest {
    tagged_hash(tag::UTXO_LEAF, &[&out_point.encode(), &encode(output)])
}

/// The in-memory ledger state: UTxO set, protocol objects and their due
/// index (tests, benchmarks, tools, the simulator).
#[derive(Clone, Debug, Default)]
pub struct MemoryUtxoSet {
    utxos: HashMap<OutPoint, TxOutput>,
    objects: BTreeMap<ObjectKey, Object>,
    due: BTreeMap<u64, BTreeSet<ObjectKey>>,
}

impl MemoryUtxoSet {
    /// Writes (or deletes) an object, keeping the due index.
    pub fn put_object(&mut self, key: ObjectKey, object: Option<Object>) {
        if let Some(old) = self.objects.remove(&key)
            && let Some(h) = old.due_height()
            && let Some(keys) = self.due.get_mut(&h)
        {
            keys.remove(&key);
            if keys.is_empty() {
                self.due.remove(&h);
            }
        }
        if let Some(object) = object {
            if let Some(h) = object.due_height() {
                self.due.entry(h).or_default().insert(key);
            }
            self.objects.insert(key, object);
        }
    }

    /// The object at `key`, if any.
    pub fn get_object(&self, key: &ObjectKey) -> Option<Object> {
        self.objects.get(key).cloned()
    }

    /// The protocol objects, in key order.
    pub fn objects(&self) -> impl Iterator<Item = (&ObjectKey, &Object)> {
        self.objects.iter()
    }

    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an output, for building genesis states.
    pub fn insert(&mut self, out_point: OutPoint, output: TxOutput) {
        self.utxos.insert(out_point, output);
    }

    /// Number of unspent outputs.
    pub fn len(&self) -> usize {
        self.utxos.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.utxos.is_empty()
    }

    /// The output at `out_point`, if unspent.
    pub fn get(&self, out_point: &OutPoint) -> Option<&TxOutput> {
        self.utxos.get(out_point)
    }

    /// Iterates over the set in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&OutPoint, &TxOutput)> {
        self.utxos.iter()
    }

    /// Applies a block's diff.
    pub fn apply(&mut self, diff: &StateDiff) {
        for out_point in &diff.spent {
            self.utxos.remove(out_point);
        }
        for (out_point, output) in &diff.created {
            self.utxos.insert(*out_point, output.clone());
        }
        for (key, object) in &diff.objects {
            self.put_object(*key, object.clone());
        }
    }

    /// The state root (see the module docs).
    pub fn state_root(&self) -> Digest {
        let mut entries: Vec<(&OutPoint, &TxOutput)> = self.utxos.iter().collect();
        entries.sort_unstable_by_key(|(op, _)| **op);
        let leaves: Vec<Digest> = entries.iter().map(|(op, out)| utxo_leaf(op, out)).collect();
        merkle_root(&leaves)
    }
}

impl UtxoView for MemoryUtxoSet {
    fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>, ViewError> {
        Ok(self.utxos.get(out_point).cloned())
    }

    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, ViewError> {
        Ok(self.objects.get(key).cloned())
    }

    fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>, ViewError> {
        Ok(self
            .due
            .get(&height)
            .map(|keys| keys.iter().copied().collect())
            .unwrap_or_default())
    }
}

/// The state after a chain of **pending** blocks: a committed base view
/// and the diffs of the blocks above it, oldest first. Consensus executes a
/// proposal on top of its parent before the parent is final; this is the
/// view it executes against (nothing is written until a block commits).
///
/// A lookup walks the diffs from the newest: an output created by a diff
/// is live there, one a diff spent is gone, otherwise the older diffs and
/// then the base decide; objects likewise. Pending chains are short (two or
/// three blocks in the two-chain rule), so the walk is a few map probes.
pub struct PendingView<'a, V: ?Sized> {
    base: &'a V,
    diffs: Vec<&'a StateDiff>,
}

impl<'a, V: UtxoView + ?Sized> PendingView<'a, V> {
    /// The state of `base` after `diffs` (oldest first).
    pub fn new(base: &'a V, diffs: Vec<&'a StateDiff>) -> Self {
        PendingView { base, diffs }
    }
}

impl<V: UtxoView + ?Sized> UtxoView for PendingView<'_, V> {
    fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>, ViewError> {
        for diff in self.diffs.iter().rev() {
            if let Some(output) = diff.created.get(out_point) {
                return Ok(Some(output.clone()));
            }
            if diff.spent.contains(out_point) {
                return Ok(None);
            }
        }
        self.base.utxo(out_point)
    }

    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, ViewError> {
        for diff in self.diffs.iter().rev() {
            if let Some(object) = diff.objects.get(key) {
                return Ok(object.clone());
            }
        }
        self.base.object(key)
    }

    fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>, ViewError> {
        let mut keys: BTreeSet<ObjectKey> = BTreeSet::new();
        for key in self.base.due_at(height)? {
            if !self.diffs.iter().any(|d| d.objects.contains_key(&key)) {
                keys.insert(key);
            }
        }
        // The newest write of each key decides whether it is due.
        let mut decided: BTreeSet<ObjectKey> = BTreeSet::new();
        for diff in self.diffs.iter().rev() {
            for (key, object) in &diff.objects {
                if decided.insert(*key)
                    && object.as_ref().and_then(Object::due_height) == Some(height)
                {
                    keys.insert(*key);
                }
            }
        }
        Ok(keys.into_iter().collect())
    }
}

/// Effects of one transaction on the state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxEffect {
    /// Out-points consumed.
    pub spent: Vec<OutPoint>,
    /// Outputs created.
    pub created: Vec<(OutPoint, TxOutput)>,
    /// Objects written (`None`: deleted).
    pub objects: Vec<(ObjectKey, Option<Object>)>,
}

/// The base view plus the effects of the transactions applied so far in
/// the current block.
pub(crate) struct Overlay<'a, V: ?Sized> {
    base: &'a V,
    created: HashMap<OutPoint, TxOutput>,
    spent_from_base: HashSet<OutPoint>,
    objects: BTreeMap<ObjectKey, Option<Object>>,
}

impl<'a, V: UtxoView + ?Sized> Overlay<'a, V> {
    /// An empty overlay sized for about `transactions` transactions.
    pub(crate) fn new(base: &'a V, transactions: usize) -> Self {
        Overlay {
            base,
            created: HashMap::with_capacity(transactions.saturating_mul(2)),
            spent_from_base: HashSet::with_capacity(transactions),
            objects: BTreeMap::new(),
        }
    }

    pub(crate) fn apply(&mut self, effect: TxEffect) {
        for out_point in &effect.spent {
            if self.created.remove(out_point).is_none() {
                self.spent_from_base.insert(*out_point);
            }
        }
        for (out_point, output) in effect.created {
            self.created.insert(out_point, output);
        }
        for (key, object) in effect.objects {
            self.objects.insert(key, object);
        }
    }

    /// The net diff. Entries are sorted (in parallel if asked) before the
    /// ordered collections are built from sorted input in linear time.
    pub(crate) fn into_diff(self, parallel: bool) -> StateDiff {
        let mut spent: Vec<OutPoint> = self.spent_from_base.into_iter().collect();
        let mut created: Vec<(OutPoint, TxOutput)> = self.created.into_iter().collect();
        if parallel {
            use rayon::slice::ParallelSliceMut;
            spent.par_sort_unstable();
            created.par_sort_unstable_by_key(|(op, _)| *op);
        } else {
            spent.sort_unstable();
            created.sort_unstable_by_key(|(op, _)| *op);
        }
        StateDiff {
            spent: spent.into_iter().collect(),
            created: created.into_iter().collect(),
            objects: self.objects,
        }
    }
}

impl<V: UtxoView + ?Sized> UtxoView for Overlay<'_, V> {
    fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>, ViewError> {
        if let Some(output) = self.created.get(out_point) {
            return Ok(Some(output.clone()));
        }
        if self.spent_from_base.contains(out_point) {
            return Ok(None);
        }
        self.base.utxo(out_point)
    }

    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, ViewError> {
        match self.objects.get(key) {
            Some(object) => Ok(object.clone()),
            None => self.base.object(key),
        }
    }

    fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>, ViewError> {
        let mut keys: BTreeSet<ObjectKey> = self
            .base
            .due_at(height)?
            .into_iter()
            .filter(|k| !self.objects.contains_key(k))
            .collect();
        for (key, object) in &self.objects {
            if object.as_ref().and_then(Object::due_height) == Some(height) {
                keys.insert(*key);
            }
        }
        Ok(keys.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::{Address, KeyHash, TxId};

    fn out(coin: u128) -> TxOutput {
        TxOutput::coin(Address::Key(KeyHash([1; 32])), coin)
    }

    #[test]
    fn root_is_order_independent_and_content_sensitive() {
        let a = OutPoint::new(TxId([1; 32]), 0);
        let b = OutPoint::new(TxId([2; 32]), 0);
        let mut s1 = MemoryUtxoSet::new();
        s1.insert(a, out(1));
        s1.insert(b, out(2));
        let mut s2 = MemoryUtxoSet::new();
        s2.insert(b, out(2));
        s2.insert(a, out(1));
        assert_eq!(s1.state_root(), s2.state_root());
        s2.insert(a, out(3));
        assert_ne!(s1.state_root(), s2.state_root());
        assert_ne!(MemoryUtxoSet::new().state_root(), s1.state_root());
    }

    #[test]
    fn overlay_tracks_created_and_spent() {
        let a = OutPoint::new(TxId([1; 32]), 0);
        let b = OutPoint::new(TxId([2; 32]), 0);
        let c = OutPoint::new(TxId([3; 32]), 0);
        let mut base = MemoryUtxoSet::new();
        base.insert(a, out(1));
        let mut overlay = Overlay::new(&base, 2);
        overlay.apply(TxEffect {
            spent: vec![a],
            created: vec![(b, out(2)), (c, out(3))],
            objects: vec![],
        });
        assert_eq!(overlay.utxo(&a).unwrap(), None);
        assert_eq!(overlay.utxo(&b).unwrap(), Some(out(2)));
        overlay.apply(TxEffect {
            spent: vec![b],
            created: vec![],
            objects: vec![],
        });
        let diff = overlay.into_diff(false);
        assert_eq!(diff.spent, [a].into());
        assert_eq!(diff.created.keys().copied().collect::<Vec<_>>(), vec![c]);
        let mut after = base.clone();
        after.apply(&diff);
        assert_eq!(after.len(), 1);
        assert_eq!(after.get(&c), Some(&out(3)));
    }

    fn delegation(id: u8, release: Option<u64>) -> (ObjectKey, Object) {
        (
            ObjectKey::Delegation(aether_types::DelegationId([id; 32])),
            Object::Delegation(aether_types::DelegationRecord {
                validator: aether_types::ValidatorId([1; 32]),
                delegator: KeyHash([id; 32]),
                shares: 1,
                unbonding: release
                    .map(|h| aether_types::StakeUnbonding {
                        epoch: aether_types::Epoch(0),
                        shares: 1,
                        release_height: h,
                    })
                    .into_iter()
                    .collect(),
            }),
        )
    }

    proptest::proptest! {
        /// A pending view over a base with a chain of diffs answers every
        /// lookup (outputs, objects, the due index) as the base with the
        /// diffs applied in order does.
        #[test]
        fn pending_view_equals_the_applied_diffs(
            blocks in proptest::collection::vec(
                (
                    proptest::collection::vec(0u8..24, 0..8),
                    proptest::collection::vec(0u8..24, 0..8),
                    proptest::collection::vec((0u8..8, proptest::option::of(proptest::option::of(1u64..4))), 0..4),
                ),
                1..4,
            )
        ) {
            let op = |i: u8| OutPoint::new(TxId([i; 32]), 0);
            let mut base = MemoryUtxoSet::new();
            for i in 0..12u8 {
                base.insert(op(i), out(u128::from(i) + 1));
            }
            base.put_object(delegation(0, Some(2)).0, Some(delegation(0, Some(2)).1));
            let mut applied = base.clone();
            let mut diffs = Vec::new();
            for (n, (create, spend, objects)) in blocks.iter().enumerate() {
                let mut diff = StateDiff::default();
                for i in spend {
                    if applied.get(&op(*i)).is_some() {
                        diff.spent.insert(op(*i));
                    }
                }
                for i in create {
                    if applied.get(&op(*i)).is_none() && !diff.spent.contains(&op(*i)) {
                        diff.created.insert(op(*i), out(1000 + n as u128));
                    }
                }
                for (id, write) in objects {
                    let (key, object) = delegation(*id, write.flatten());
                    diff.objects.insert(key, write.map(|_| object));
                }
                applied.apply(&diff);
                diffs.push(diff);
            }
            let view = PendingView::new(&base, diffs.iter().collect());
            for i in 0..24u8 {
                proptest::prop_assert_eq!(view.utxo(&op(i)).unwrap(), applied.utxo(&op(i)).unwrap());
            }
            for id in 0..8u8 {
                let key = delegation(id, None).0;
                proptest::prop_assert_eq!(view.object(&key).unwrap(), applied.object(&key).unwrap());
            }
            for h in 0..5u64 {
                let mut a = view.due_at(h).unwrap();
                let mut b = applied.due_at(h).unwrap();
                a.sort();
                b.sort();
                proptest::prop_assert_eq!(a, b, "due at {}", h);
            }
        }
    }
}

//! The pool: admission against the state, priority index, bounds and
//! eviction, removal on commit, block selection.

use crate::check::{CheckedTx, check_stateless};
use crate::{FeeRate, MempoolError};
use aether_ledger::{BlockContext, Ledger, UtxoView, ViewError};
use aether_types::{
    Block, Object, ObjectKey, OutPoint, Receipt, Transaction, TxBody, TxId, TxOutput, TxStatus,
};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Bounds of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions held at once.
    pub max_txs: usize,
    /// Most bytes (sum of canonical encodings) held at once.
    pub max_bytes: usize,
}

impl Default for MempoolConfig {
    /// 20 000 transactions, 64 MiB.
    fn default() -> Self {
        MempoolConfig {
            max_txs: 20_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Key of the priority index: higher fee rate first, then earlier arrival.
/// `seq` is unique, so keys never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PriorityKey {
    rate: FeeRate,
    seq: u64,
}

impl Ord for PriorityKey {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .rate
            .cmp(&self.rate)
            .then_with(|| self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for PriorityKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Clone, Debug)]
struct Entry {
    tx: Arc<Transaction>,
    size: usize,
    key: PriorityKey,
    /// Pooled transactions whose outputs this one names (as input,
    /// reference input or collateral): they must be included first.
    parents: BTreeSet<TxId>,
    /// Pooled transactions naming this one's outputs.
    children: BTreeSet<TxId>,
}

/// Out-points a transaction reads without spending them on success:
/// reference inputs and collateral inputs (collateral is consumed only when
/// a script fails, which the pool never admits).
fn reads(body: &TxBody) -> impl Iterator<Item = &OutPoint> {
    body.reference_inputs.iter().chain(
        body.collateral
            .iter()
            .filter(|op| !body.inputs.contains(op)),
    )
}

/// Every out-point a transaction names.
fn named(body: &TxBody) -> impl Iterator<Item = &OutPoint> {
    body.inputs
        .iter()
        .chain(&body.reference_inputs)
        .chain(&body.collateral)
}

/// What [`Mempool::insert`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The admitted transaction.
    pub id: TxId,
    /// Transactions evicted to make room (lower fee rate, with their
    /// descendants).
    pub evicted: Vec<TxId>,
}

/// What a committed block removed from the pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockRemoval {
    /// Pooled transactions included by the block.
    pub included: Vec<TxId>,
    /// Pooled transactions that conflict with the block (an out-point they
    /// spend or read was spent by it), with their descendants.
    pub conflicted: Vec<TxId>,
    /// Pooled transactions whose validity interval ended, with their
    /// descendants.
    pub expired: Vec<TxId>,
}

/// Public facts about a pooled transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolEntryInfo {
    /// Transaction id.
    pub id: TxId,
    /// Encoded size in bytes.
    pub size: usize,
    /// Fee rate.
    pub fee_rate: FeeRate,
    /// Arrival sequence number (ties in fee rate go to the smaller).
    pub arrival: u64,
    /// Pooled transactions it depends on.
    pub parents: Vec<TxId>,
}

/// The transaction pool. See the crate docs for the rules and invariants.
#[derive(Clone, Debug, Default)]
pub struct Mempool {
    config: MempoolConfig,
    entries: HashMap<TxId, Entry>,
    priority: BTreeMap<PriorityKey, TxId>,
    /// Input → the pooled transaction spending it.
    spent: HashMap<OutPoint, TxId>,
    /// Reference or collateral input → pooled transactions reading it.
    readers: HashMap<OutPoint, BTreeSet<TxId>>,
    bytes: usize,
    next_seq: u64,
}

/// The chain state as seen by a transaction entering the pool: the base
/// view, plus the outputs of pooled transactions, minus the out-points
/// pooled transactions spend.
#[derive(Clone, Copy)]
pub struct PoolView<'a, V: ?Sized> {
    base: &'a V,
    pool: &'a Mempool,
}

impl<V: UtxoView + ?Sized> UtxoView for PoolView<'_, V> {
    fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>, ViewError> {
        if self.pool.spent.contains_key(out_point) {
            return Ok(None);
        }
        if let Some(entry) = self.pool.entries.get(&out_point.tx_id) {
            let index = usize::try_from(out_point.index).unwrap_or(usize::MAX);
            return Ok(entry.tx.body.outputs.get(index).cloned());
        }
        self.base.utxo(out_point)
    }

    /// Objects as committed: pooled transactions' actions are not applied
    /// to the view (their effects depend on the order the block gives
    /// them; the block producer re-executes and drops what no longer
    /// applies).
    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, ViewError> {
        self.base.object(key)
    }

    fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>, ViewError> {
        self.base.due_at(height)
    }
}

impl Mempool {
    /// An empty pool with the given bounds.
    pub fn new(config: MempoolConfig) -> Self {
        Mempool {
            config,
            ..Default::default()
        }
    }

    /// The bounds.
    pub fn config(&self) -> &MempoolConfig {
        &self.config
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sum of the encoded sizes of the pooled transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `id` is pooled.
    pub fn contains(&self, id: &TxId) -> bool {
        self.entries.contains_key(id)
    }

    /// The pooled transaction `id`.
    pub fn get(&self, id: &TxId) -> Option<Arc<Transaction>> {
        self.entries.get(id).map(|e| Arc::clone(&e.tx))
    }

    /// Facts about the pooled transaction `id`.
    pub fn info(&self, id: &TxId) -> Option<PoolEntryInfo> {
        self.entries.get(id).map(|e| PoolEntryInfo {
            id: *id,
            size: e.size,
            fee_rate: e.key.rate,
            arrival: e.key.seq,
            parents: e.parents.iter().copied().collect(),
        })
    }

    /// The pooled transaction spending `out_point`, if any.
    pub fn spender_of(&self, out_point: &OutPoint) -> Option<TxId> {
        self.spent.get(out_point).copied()
    }

    /// Pooled transactions in priority order (fee rate descending, then
    /// arrival), ignoring dependencies.
    pub fn iter(&self) -> impl Iterator<Item = (&TxId, &Arc<Transaction>)> {
        self.priority
            .values()
            .filter_map(|id| self.entries.get(id).map(|e| (id, &e.tx)))
    }

    /// `base` as modified by the pool: pooled outputs added, pooled spends
    /// removed.
    pub fn view<'a, V: UtxoView + ?Sized>(&'a self, base: &'a V) -> PoolView<'a, V> {
        PoolView { base, pool: self }
    }

    /// Stateless checks ([`check_stateless`]) then [`Mempool::insert`].
    pub fn submit<V: UtxoView + ?Sized>(
        &mut self,
        ledger: &Ledger,
        view: &V,
        ctx: impl Into<BlockContext>,
        bytes: &[u8],
    ) -> Result<Admitted, MempoolError> {
        let checked = check_stateless(ledger.params(), bytes)?;
        self.insert(ledger, view, ctx, checked)
    }

    /// Admits a checked transaction, to be included at block height
    /// `height` or later, on top of the chain state `view`.
    ///
    /// In order: not already pooled; fits the byte bound alone; no input
    /// spent by a pooled transaction (no replace-by-fee); no reference or
    /// collateral input spent by a pooled transaction; the full ledger
    /// validation ([`Ledger::validate_transaction`]) against `view` plus the
    /// pool at `height` passes and every script accepts; then, if the pool
    /// is full, the lowest-rate entries (not ancestors of the newcomer) are
    /// evicted with their descendants, each strictly below the newcomer's
    /// rate, else [`MempoolError::PoolFull`]. On any error the pool is
    /// unchanged.
    pub fn insert<V: UtxoView + ?Sized>(
        &mut self,
        ledger: &Ledger,
        view: &V,
        ctx: impl Into<BlockContext>,
        checked: CheckedTx,
    ) -> Result<Admitted, MempoolError> {
        let ctx = ctx.into();
        let result = self.try_insert(ledger, view, &ctx, &checked);
        match &result {
            Ok(admitted) => tracing::debug!(
                tx = %admitted.id,
                rate = %checked.fee_rate(),
                evicted = admitted.evicted.len(),
                pool = self.entries.len(),
                "mempool: admitted"
            ),
            Err(error) => tracing::debug!(tx = %checked.id(), %error, "mempool: rejected"),
        }
        result
    }

    fn try_insert<V: UtxoView + ?Sized>(
        &mut self,
        ledger: &Ledger,
        view: &V,
        ctx: &BlockContext,
        checked: &CheckedTx,
    ) -> Result<Admitted, MempoolError> {
        let id = checked.id();
        if self.entries.contains_key(&id) {
            return Err(MempoolError::AlreadyKnown(id));
        }
        if checked.size() > self.config.max_bytes {
            return Err(MempoolError::ExceedsPoolCapacity {
                size: checked.size(),
                max: self.config.max_bytes,
            });
        }
        let tx = checked.tx();
        let body = &tx.body;
        for input in &body.inputs {
            if let Some(pooled) = self.spent.get(input) {
                return Err(MempoolError::DoubleSpend {
                    input: *input,
                    pooled: *pooled,
                });
            }
        }
        for out_point in reads(body) {
            if let Some(pooled) = self.spent.get(out_point) {
                return Err(MempoolError::ReadsPooledSpend {
                    out_point: *out_point,
                    pooled: *pooled,
                });
            }
        }
        let applied = ledger
            .validate_verified(&self.view(view), ctx, tx, checked.verified())
            .map_err(MempoolError::from_ledger)?;
        if let TxStatus::ScriptFailed { purpose, failure } = applied.receipt.status {
            return Err(MempoolError::ScriptFailed { purpose, failure });
        }
        let parents: BTreeSet<TxId> = named(body)
            .map(|op| op.tx_id)
            .filter(|t| self.entries.contains_key(t))
            .collect();
        let roots = self.plan_eviction(checked, &parents)?;
        let mut evicted = Vec::new();
        for root in roots {
            evicted.extend(self.remove_with_descendants(&root));
        }
        if !evicted.is_empty() {
            tracing::debug!(
                count = evicted.len(),
                "mempool: evicted for a higher fee rate"
            );
        }

        let key = PriorityKey {
            rate: checked.fee_rate(),
            seq: self.next_seq,
        };
        self.next_seq = self.next_seq.saturating_add(1);
        for parent in &parents {
            if let Some(p) = self.entries.get_mut(parent) {
                p.children.insert(id);
            }
        }
        for input in &body.inputs {
            self.spent.insert(*input, id);
        }
        for out_point in reads(body) {
            self.readers.entry(*out_point).or_default().insert(id);
        }
        self.priority.insert(key, id);
        // Bounded by max_bytes (checked above), so no overflow.
        self.bytes = self.bytes.saturating_add(checked.size());
        self.entries.insert(
            id,
            Entry {
                tx: Arc::clone(tx),
                size: checked.size(),
                key,
                parents,
                children: BTreeSet::new(),
            },
        );
        Ok(Admitted { id, evicted })
    }

    /// Which entries to evict (roots; their descendants go with them) so
    /// that the newcomer fits. Does not modify the pool.
    fn plan_eviction(
        &self,
        new: &CheckedTx,
        parents: &BTreeSet<TxId>,
    ) -> Result<Vec<TxId>, MempoolError> {
        let mut count = self.entries.len().saturating_add(1);
        let mut bytes = self.bytes.saturating_add(new.size());
        let fits = |count: usize, bytes: usize| {
            count <= self.config.max_txs && bytes <= self.config.max_bytes
        };
        if fits(count, bytes) {
            return Ok(Vec::new());
        }
        let ancestors = self.ancestors(parents);
        let mut victims: HashSet<TxId> = HashSet::new();
        let mut roots = Vec::new();
        for (key, id) in self.priority.iter().rev() {
            if fits(count, bytes) {
                break;
            }
            if victims.contains(id) || ancestors.contains(id) {
                continue;
            }
            if key.rate >= new.fee_rate() {
                return Err(MempoolError::PoolFull {
                    offered: new.fee_rate(),
                    lowest: key.rate,
                });
            }
            for victim in self.descendants_inclusive(id) {
                if victims.insert(victim)
                    && let Some(e) = self.entries.get(&victim)
                {
                    count = count.saturating_sub(1);
                    bytes = bytes.saturating_sub(e.size);
                }
            }
            roots.push(*id);
        }
        if !fits(count, bytes) {
            // Only the newcomer's own ancestors are left to evict.
            let lowest = ancestors
                .iter()
                .filter_map(|a| self.entries.get(a).map(|e| e.key.rate))
                .min()
                .unwrap_or(FeeRate::ZERO);
            return Err(MempoolError::PoolFull {
                offered: new.fee_rate(),
                lowest,
            });
        }
        Ok(roots)
    }

    fn ancestors(&self, parents: &BTreeSet<TxId>) -> HashSet<TxId> {
        let mut seen: HashSet<TxId> = HashSet::new();
        let mut stack: Vec<TxId> = parents.iter().copied().collect();
        while let Some(id) = stack.pop() {
            if seen.insert(id)
                && let Some(e) = self.entries.get(&id)
            {
                stack.extend(e.parents.iter().copied());
            }
        }
        seen
    }

    /// `id` and every pooled transaction that depends on it, parents
    /// before children.
    fn descendants_inclusive(&self, id: &TxId) -> Vec<TxId> {
        let mut out = Vec::new();
        let mut seen: HashSet<TxId> = HashSet::new();
        let mut queue = std::collections::VecDeque::from([*id]);
        while let Some(next) = queue.pop_front() {
            if !seen.insert(next) {
                continue;
            }
            if let Some(e) = self.entries.get(&next) {
                out.push(next);
                queue.extend(e.children.iter().copied());
            }
        }
        out
    }

    /// Removes one entry and fixes every index. Children keep their place
    /// (the caller decides whether they go too).
    fn detach(&mut self, id: &TxId) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.priority.remove(&entry.key);
        let body = &entry.tx.body;
        for input in &body.inputs {
            if self.spent.get(input) == Some(id) {
                self.spent.remove(input);
            }
        }
        for out_point in reads(body) {
            if let Some(set) = self.readers.get_mut(out_point) {
                set.remove(id);
                if set.is_empty() {
                    self.readers.remove(out_point);
                }
            }
        }
        for parent in &entry.parents {
            if let Some(p) = self.entries.get_mut(parent) {
                p.children.remove(id);
            }
        }
        for child in &entry.children {
            if let Some(c) = self.entries.get_mut(child) {
                c.parents.remove(id);
            }
        }
        self.bytes = self.bytes.saturating_sub(entry.size);
        Some(entry)
    }

    /// Removes `id` and every pooled transaction that depends on it;
    /// returns the removed ids (empty if `id` is not pooled).
    pub fn remove_with_descendants(&mut self, id: &TxId) -> Vec<TxId> {
        let doomed = self.descendants_inclusive(id);
        for d in &doomed {
            self.detach(d);
        }
        doomed
    }

    /// Updates the pool after a block was committed.
    ///
    /// `included` are the ids of the block's transactions whose outputs now
    /// exist (successful ones): they leave the pool, their pooled children
    /// stay (their inputs are now on chain). `spent` are the out-points the
    /// block consumed: a pooled transaction spending or reading one of them
    /// (other than through an included transaction) conflicts and leaves
    /// with its descendants.
    pub fn remove_committed(&mut self, included: &[TxId], spent: &[OutPoint]) -> BlockRemoval {
        let mut removal = BlockRemoval::default();
        for id in included {
            if self.detach(id).is_some() {
                removal.included.push(*id);
            }
        }
        for out_point in spent {
            if let Some(spender) = self.spent.get(out_point).copied() {
                removal
                    .conflicted
                    .extend(self.remove_with_descendants(&spender));
            }
            if let Some(readers) = self.readers.get(out_point).cloned() {
                for reader in readers {
                    removal
                        .conflicted
                        .extend(self.remove_with_descendants(&reader));
                }
            }
        }
        removal
    }

    /// Removes transactions that can no longer be included at `next_height`
    /// or later (`invalid_hereafter ≤ next_height`), with their descendants.
    pub fn remove_expired(&mut self, next_height: u64) -> Vec<TxId> {
        let expired: Vec<TxId> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                e.tx.body
                    .validity
                    .invalid_hereafter
                    .is_some_and(|h| h <= next_height)
            })
            .map(|(id, _)| *id)
            .collect();
        let mut removed = Vec::new();
        for id in expired {
            removed.extend(self.remove_with_descendants(&id));
        }
        removed
    }

    /// Updates the pool after `block` was committed with `receipts`:
    /// successful transactions leave the pool and their inputs count as
    /// spent; a transaction whose script failed leaves with its descendants
    /// (its outputs were not created) and its collateral counts as spent; a
    /// transaction without a receipt is treated conservatively (inputs and
    /// collateral spent, descendants removed). Then expired transactions
    /// (for height `block.height + 1`) are removed.
    pub fn apply_block(&mut self, block: &Block, receipts: &[Receipt]) -> BlockRemoval {
        let status: HashMap<TxId, &TxStatus> =
            receipts.iter().map(|r| (r.tx_id, &r.status)).collect();
        let mut included = Vec::new();
        let mut failed = Vec::new();
        let mut spent = Vec::new();
        for tx in &block.transactions {
            let id = tx.id();
            match status.get(&id) {
                Some(TxStatus::Success) => {
                    included.push(id);
                    spent.extend(tx.body.inputs.iter().copied());
                }
                Some(TxStatus::ScriptFailed { .. }) => {
                    failed.push(id);
                    spent.extend(tx.body.collateral.iter().copied());
                }
                None => {
                    failed.push(id);
                    spent.extend(tx.body.inputs.iter().copied());
                    spent.extend(tx.body.collateral.iter().copied());
                }
            }
        }
        let mut removal = BlockRemoval::default();
        for id in &failed {
            let removed = self.remove_with_descendants(id);
            if let Some((first, rest)) = removed.split_first() {
                removal.included.push(*first);
                removal.conflicted.extend_from_slice(rest);
            }
        }
        let committed = self.remove_committed(&included, &spent);
        removal.included.extend(committed.included);
        removal.conflicted.extend(committed.conflicted);
        removal.expired = self.remove_expired(block.header.height.saturating_add(1));
        tracing::debug!(
            height = block.header.height,
            included = removal.included.len(),
            conflicted = removal.conflicted.len(),
            expired = removal.expired.len(),
            pool = self.entries.len(),
            "mempool: block applied"
        );
        removal
    }

    /// Transactions for the next block: at most `max_txs` and `max_bytes`,
    /// in an order that is valid to execute.
    ///
    /// Greedy by priority over the transactions whose dependencies are
    /// satisfied: a transaction becomes *ready* once every pooled parent
    /// (whose outputs it names) and every pooled reader of its inputs (which
    /// must read them before they are spent) has been selected. The best
    /// ready transaction is taken if it fits the byte budget, else skipped
    /// (and what depends on it waits for a later block). Parents therefore
    /// always precede children; among independent transactions the order
    /// is the priority order. A high-rate child does not lift its low-rate
    /// parent (no child-pays-for-parent).
    pub fn select_for_block(&self, max_txs: usize, max_bytes: usize) -> Vec<Arc<Transaction>> {
        let mut pending: HashMap<TxId, usize> = HashMap::with_capacity(self.entries.len());
        let mut successors: HashMap<TxId, Vec<TxId>> = HashMap::new();
        let mut ready: BTreeMap<PriorityKey, TxId> = BTreeMap::new();
        for (id, entry) in &self.entries {
            let mut preds: BTreeSet<TxId> = entry.parents.clone();
            for input in &entry.tx.body.inputs {
                if let Some(readers) = self.readers.get(input) {
                    preds.extend(readers.iter().copied().filter(|r| r != id));
                }
            }
            for pred in &preds {
                successors.entry(*pred).or_default().push(*id);
            }
            if preds.is_empty() {
                ready.insert(entry.key, *id);
            } else {
                pending.insert(*id, preds.len());
            }
        }
        let mut selected = Vec::new();
        let mut bytes = 0usize;
        while selected.len() < max_txs {
            let Some((_, id)) = ready.pop_first() else {
                break;
            };
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            let Some(total) = bytes.checked_add(entry.size).filter(|t| *t <= max_bytes) else {
                continue;
            };
            bytes = total;
            selected.push(Arc::clone(&entry.tx));
            for succ in successors.get(&id).into_iter().flatten() {
                if let Some(count) = pending.get_mut(succ) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        pending.remove(succ);
                        if let Some(e) = self.entries.get(succ) {
                            ready.insert(e.key, *succ);
                        }
                    }
                }
            }
        }
        selected
    }

    /// Checks every internal invariant (O(n); for tests and debugging):
    /// indices agree with the entries, the bounds hold, no out-point is
    /// spent by two pooled transactions, parent/child links are symmetric
    /// and name exactly the pooled creators of named out-points, and every
    /// reader of an out-point a pooled transaction spends arrived before
    /// that spender.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.priority.len() != self.entries.len() {
            return Err("priority index and entries differ in size".into());
        }
        for (key, id) in &self.priority {
            match self.entries.get(id) {
                Some(e) if e.key == *key => {}
                _ => return Err(format!("priority key of {id} is stale")),
            }
        }
        let bytes: usize = self.entries.values().map(|e| e.size).sum();
        if bytes != self.bytes {
            return Err(format!("byte count {} != sum {}", self.bytes, bytes));
        }
        if self.entries.len() > self.config.max_txs || self.bytes > self.config.max_bytes {
            return Err("bounds exceeded".into());
        }
        let mut claimed: HashMap<OutPoint, TxId> = HashMap::new();
        for (id, e) in &self.entries {
            for input in &e.tx.body.inputs {
                if let Some(other) = claimed.insert(*input, *id) {
                    return Err(format!("{input} spent by both {other} and {id}"));
                }
            }
        }
        if claimed != self.spent {
            return Err("spent index differs from the entries' inputs".into());
        }
        let mut readers: HashMap<OutPoint, BTreeSet<TxId>> = HashMap::new();
        for (id, e) in &self.entries {
            for op in reads(&e.tx.body) {
                readers.entry(*op).or_default().insert(*id);
            }
        }
        if readers != self.readers {
            return Err("readers index differs from the entries".into());
        }
        for (op, set) in &self.readers {
            if let Some(spender) = self.spent.get(op) {
                let spender_seq = self.entries[spender].key.seq;
                for reader in set {
                    if reader != spender && self.entries[reader].key.seq > spender_seq {
                        return Err(format!("{reader} reads {op} after {spender} spent it"));
                    }
                }
            }
        }
        for (id, e) in &self.entries {
            let expected: BTreeSet<TxId> = named(&e.tx.body)
                .map(|op| op.tx_id)
                .filter(|t| self.entries.contains_key(t))
                .collect();
            if expected != e.parents {
                return Err(format!("parents of {id} are stale"));
            }
            for parent in &e.parents {
                if !self.entries[parent].children.contains(id) {
                    return Err(format!("{parent} does not list child {id}"));
                }
            }
            for child in &e.children {
                match self.entries.get(child) {
                    Some(c) if c.parents.contains(id) => {}
                    _ => return Err(format!("child link {id} -> {child} is stale")),
                }
            }
        }
        Ok(())
    }
}

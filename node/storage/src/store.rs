//! The RocksDB store: blocks, transactions, receipts, the UTxO set with an
//! address index, and the Jellyfish Merkle state tree, committed one block
//! per atomic write.
//!
//! # Commit protocol
//! [`Store::commit_block`] (or [`Store::prepare_state`] then
//! [`Store::commit_prepared`]) takes a block and the ledger's
//! [`BlockOutcome`] for it and, holding the store's commit lock:
//!
//! 1. checks the block against the tip: height = tip + 1 (0 for the first
//!    block), parent hash = tip hash (zero for the first block), chain id =
//!    the first block's;
//! 2. checks the outcome against the block: no rejected transaction, one
//!    receipt per transaction in order (same ids), header `receipts_root`
//!    and `tx_root` equal to the roots of the receipts and transactions;
//! 3. reads every spent output (it must exist) and checks every created
//!    out-point is new;
//! 4. computes the new state tree at version = height from the diff and
//!    checks the header's `state_root` equals the new root — **the store
//!    computes, the store checks**: a block whose header carries another
//!    root is refused with [`Error::StateRootMismatch`] and nothing is
//!    written. A producer gets the root to put in its header from
//!    [`Store::prepare_state`] (and hands the result back to
//!    [`Store::commit_prepared`] so the tree is computed once);
//! 5. writes, in **one** RocksDB `WriteBatch`: header, hash index,
//!    transactions, locations, receipts, UTxO removals and insertions,
//!    address-index updates, new tree nodes, deletion of stale tree nodes,
//!    and the metadata (tip, state root, chain id);
//! 6. only then updates the in-memory copy of the metadata.
//!
//! # Crash safety
//! A RocksDB write batch is atomic: after a crash it is either wholly in
//! the recovered database or not at all, across column families (they
//! share one write-ahead log). With [`StoreOptions::sync_writes`] (the
//! default) the WAL is fsynced before `commit_block` returns, so a block
//! that was reported committed survives a power loss as well as a SIGKILL.
//! Without it, a killed process loses nothing (the WAL is in the OS page
//! cache) but a power loss may lose the last commits (never half of one).
//! [`Store::open`] then checks that the stored state tree's root at the tip
//! equals the recorded state root and the tip header's `state_root`.
//!
//! # Reads
//! Records are immutable once written, except the UTxO set, its index, the
//! tree and the metadata. Reads that combine several of those (address
//! listings, balances, proofs, [`Store::snapshot_view`]) use a RocksDB
//! snapshot, so they see one committed block's state, never a mix.

use crate::error::{Error, Result};
use crate::node::{NodeId, TreeNode};
use crate::proof::{ObjectProof, StateProof};
use crate::schema::{self, HeaderRecord, MetaKey, SCHEMA_VERSION, Tip, TxLocation, UtxoRecord, cf};
use crate::tree::{self, TreeChanges, empty_root, state_key};
use crate::update::NodeSource;
use aether_ledger::{BlockOutcome, StateDiff, UtxoView, ViewError};
use aether_types::{
    Address, Block, BlockHash, BlockHeader, BoundaryReceipt, Canonical, Digest, Object, ObjectKey,
    OutPoint, Receipt, Transaction, TxId, TxOutput, Value,
};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType,
    DBIteratorWithThreadMode, Direction, IteratorMode, Options, ReadOptions, Snapshot, WriteBatch,
    WriteOptions,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Tuning of the store. The defaults suit a small validator (2 cores).
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// fsync the write-ahead log before a commit returns (see the module
    /// docs). Default `true`.
    pub sync_writes: bool,
    /// Create the database if the directory holds none. Default `true`.
    pub create_if_missing: bool,
    /// Shared LRU block cache, in bytes. Default 32 MiB.
    pub block_cache_bytes: usize,
    /// Memtable size of the large column families (blocks, UTxOs, tree
    /// nodes), in bytes; the others use a quarter. Default 16 MiB.
    pub write_buffer_bytes: usize,
    /// RocksDB background flush and compaction threads. Default 2.
    pub max_background_jobs: i32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sync_writes: true,
            create_if_missing: true,
            block_cache_bytes: 32 << 20,
            write_buffer_bytes: 16 << 20,
            max_background_jobs: 2,
        }
    }
}

/// What a commit wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedBlock {
    /// Height of the block.
    pub height: u64,
    /// Its hash.
    pub hash: BlockHash,
    /// State root after it.
    pub state_root: Digest,
    /// Bytes of the write batch.
    pub batch_bytes: usize,
    /// New state-tree nodes written.
    pub tree_nodes_written: usize,
    /// Stale state-tree nodes deleted.
    pub tree_nodes_deleted: usize,
    /// Time spent computing the state tree (zero if prepared beforehand).
    pub state_time: Duration,
    /// Time spent building and writing the batch (fsync included).
    pub write_time: Duration,
}

/// The state tree after a diff, computed against one tip: the root a
/// producer puts in its header, and the nodes to write at commit.
#[derive(Debug)]
pub struct StateUpdate {
    base: Option<Tip>,
    diff_commitment: Digest,
    changes: TreeChanges,
    elapsed: Duration,
}

impl StateUpdate {
    /// The state root after the diff.
    pub fn state_root(&self) -> Digest {
        self.changes.root
    }

    /// The height the update is for (the tree version).
    pub fn height(&self) -> u64 {
        self.changes.version
    }
}

/// A proof of an object's state at a height.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectProofAt {
    /// Height of the block whose state is proven (`None`: empty store).
    pub height: Option<u64>,
    /// The state root the proof verifies against.
    pub state_root: Digest,
    /// The proof.
    pub proof: ObjectProof,
}

/// A proof of an out-point's state at a height.
#[derive(Clone, Debug, PartialEq)]
pub struct StateProofAt {
    /// Height of the block whose state is proven (`None`: empty store).
    pub height: Option<u64>,
    /// The state root the proof verifies against (the header's `state_root`).
    pub state_root: Digest,
    /// The proof.
    pub proof: StateProof,
}

/// Size figures of one column family, from RocksDB properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CfSize {
    /// Column family name.
    pub name: &'static str,
    /// `rocksdb.estimate-live-data-size`.
    pub live_data_bytes: u64,
    /// `rocksdb.total-sst-files-size`.
    pub sst_bytes: u64,
    /// `rocksdb.size-all-mem-tables`.
    pub memtable_bytes: u64,
    /// `rocksdb.estimate-num-keys`.
    pub estimated_keys: u64,
}

#[derive(Clone, Copy, Debug)]
struct ChainMeta {
    tip: Option<Tip>,
    finalized: Option<u64>,
    state_root: Digest,
    chain_id: Option<u32>,
}

/// The node's durable state (see the module docs).
pub struct Store {
    db: DB,
    path: PathBuf,
    write_options: WriteOptions,
    commit_lock: Mutex<()>,
    meta: RwLock<ChainMeta>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("meta", &self.meta())
            .finish()
    }
}

fn cf_options(name: &str, cache: &Cache, options: &StoreOptions) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    let point_lookups = matches!(
        name,
        cf::UTXOS
            | cf::JMT_NODES
            | cf::TRANSACTIONS
            | cf::RECEIPTS
            | cf::BLOCK_HASHES
            | cf::OBJECTS
    );
    if point_lookups {
        table.set_bloom_filter(10.0, false);
    }
    let mut opts = Options::default();
    opts.set_block_based_table_factory(&table);
    // Hashes and keys do not compress; transactions and receipts do a little.
    let compress = matches!(name, cf::BLOCKS | cf::RECEIPTS | cf::HEADERS);
    opts.set_compression_type(if compress {
        DBCompressionType::Lz4
    } else {
        DBCompressionType::None
    });
    let large = matches!(name, cf::BLOCKS | cf::UTXOS | cf::JMT_NODES);
    opts.set_write_buffer_size(if large {
        options.write_buffer_bytes
    } else {
        (options.write_buffer_bytes / 4).max(1 << 20)
    });
    opts
}

/// Read access shared by the database and its snapshots.
trait Source: Sync {
    fn read_with<T>(
        &self,
        cf: &ColumnFamily,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>>;
    fn read_many(&self, cf: &ColumnFamily, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>>;
    fn scan_from<'s>(&'s self, cf: &ColumnFamily, from: &[u8]) -> DBIteratorWithThreadMode<'s, DB>;
    /// Read options that see what this source sees (reused across the
    /// many point reads of a tree update instead of one allocation each).
    fn read_options(&self) -> ReadOptions;
}

impl Source for DB {
    fn read_with<T>(
        &self,
        cf: &ColumnFamily,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.get_pinned_cf(cf, key)? {
            Some(bytes) => f(&bytes).map(Some),
            None => Ok(None),
        }
    }

    fn read_many(&self, cf: &ColumnFamily, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        self.multi_get_cf(keys.iter().map(|k| (cf, k)))
            .into_iter()
            .map(|r| r.map_err(Error::from))
            .collect()
    }

    fn scan_from<'s>(&'s self, cf: &ColumnFamily, from: &[u8]) -> DBIteratorWithThreadMode<'s, DB> {
        self.iterator_cf(cf, IteratorMode::From(from, Direction::Forward))
    }

    fn read_options(&self) -> ReadOptions {
        ReadOptions::default()
    }
}

impl Source for Snapshot<'_> {
    fn read_with<T>(
        &self,
        cf: &ColumnFamily,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.get_pinned_cf(cf, key)? {
            Some(bytes) => f(&bytes).map(Some),
            None => Ok(None),
        }
    }

    fn read_many(&self, cf: &ColumnFamily, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        self.multi_get_cf(keys.iter().map(|k| (cf, k)))
            .into_iter()
            .map(|r| r.map_err(Error::from))
            .collect()
    }

    fn scan_from<'s>(&'s self, cf: &ColumnFamily, from: &[u8]) -> DBIteratorWithThreadMode<'s, DB> {
        self.iterator_cf(cf, IteratorMode::From(from, Direction::Forward))
    }

    fn read_options(&self) -> ReadOptions {
        let mut options = ReadOptions::default();
        options.set_snapshot(self);
        options
    }
}

/// `jmt`'s reader over the `jmt_nodes` and `utxos` column families of a
/// database or snapshot.
struct DbTreeReader<'a, S: Source> {
    source: &'a S,
    db: &'a DB,
    /// `source`'s view, for the batched update's node reads.
    node_reads: ReadOptions,
    nodes: &'a ColumnFamily,
    utxos: &'a ColumnFamily,
    objects: &'a ColumnFamily,
}

impl<S: Source> TreeReader for DbTreeReader<'_, S> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = schema::jmt_node_key(node_key);
        Ok(self
            .source
            .read_with(self.nodes, &key, |b| schema::decode_jmt_node(&key, b))?)
    }

    /// The store keeps only the latest tree, and the value of a key is the
    /// output in the `utxos` family or the object in the `objects` family
    /// (the two key spaces are disjoint), so `max_version` is not
    /// consulted: callers ask for the latest version only.
    fn get_value_option(
        &self,
        _max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        if let Some(output) = self.source.read_with(self.utxos, &key_hash.0, |b| {
            UtxoRecord::output_bytes(&key_hash.0, b).map(<[u8]>::to_vec)
        })? {
            return Ok(Some(output));
        }
        Ok(self
            .source
            .read_with(self.objects, &key_hash.0, |b| Ok(b.to_vec()))?)
    }

    /// A full scan of the nodes (`jmt` calls it only to restore or
    /// overwrite a tree, which the store never does).
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        let mut best: Option<(NodeKey, LeafNode)> = None;
        for item in self.source.scan_from(self.nodes, &[]) {
            let (key, value) = item.map_err(Error::from)?;
            let node_key = borsh::from_slice::<NodeKey>(&key).map_err(|e| Error::Corruption {
                cf: cf::JMT_NODES,
                key: hex::encode(&key),
                reason: e.to_string(),
            })?;
            if let Node::Leaf(leaf) = schema::decode_jmt_node(&key, &value)?
                && best
                    .as_ref()
                    .is_none_or(|(_, b)| b.key_hash() < leaf.key_hash())
            {
                best = Some((node_key, leaf));
            }
        }
        Ok(best)
    }
}

impl<S: Source> NodeSource for DbTreeReader<'_, S> {
    fn node(&self, id: &NodeId) -> Result<Option<TreeNode>> {
        let key = id.key();
        let Some(bytes) = self
            .db
            .get_pinned_cf_opt(self.nodes, &*key, &self.node_reads)?
        else {
            return Ok(None);
        };
        TreeNode::decode(&bytes)
            .map(Some)
            .map_err(|reason| Error::Corruption {
                cf: cf::JMT_NODES,
                key: hex::encode(&*key),
                reason: reason.into(),
            })
    }
}

/// The nodes written by pending blocks over the store's tree: a pending
/// block's tree is read through it (see [`Store::prepare_state_on`]).
struct PendingNodes<'a, R> {
    base: &'a R,
    nodes: HashMap<NodeId, &'a [u8]>,
}

impl<'a, R: NodeSource> PendingNodes<'a, R> {
    fn new(base: &'a R, ancestors: &[&'a StateUpdate]) -> Self {
        let mut nodes = HashMap::new();
        for update in ancestors {
            for (id, bytes) in &update.changes.nodes {
                nodes.insert(*id, bytes.as_slice());
            }
        }
        PendingNodes { base, nodes }
    }
}

impl<R: NodeSource> NodeSource for PendingNodes<'_, R> {
    fn node(&self, id: &NodeId) -> Result<Option<TreeNode>> {
        match self.nodes.get(id) {
            Some(bytes) => TreeNode::decode(bytes)
                .map(Some)
                .map_err(|reason| Error::Corruption {
                    cf: cf::JMT_NODES,
                    key: hex::encode(&*id.key()),
                    reason: reason.into(),
                }),
            None => self.base.node(id),
        }
    }
}

fn read_meta<S: Source>(source: &S, meta_cf: &ColumnFamily) -> Result<ChainMeta> {
    let get = |key: MetaKey| -> Result<Option<Vec<u8>>> {
        source.read_with(meta_cf, key.key(), |b| Ok(b.to_vec()))
    };
    let tip = get(MetaKey::Tip)?.map(|b| Tip::decode(&b)).transpose()?;
    let finalized = get(MetaKey::Finalized)?
        .map(|b| schema::decode_height(cf::META, MetaKey::Finalized.key(), &b))
        .transpose()?;
    let state_root = get(MetaKey::StateRoot)?
        .map(|b| schema::decode_32(cf::META, MetaKey::StateRoot.key(), &b).map(Digest))
        .transpose()?;
    let chain_id = get(MetaKey::ChainId)?
        .map(|b| schema::decode_u32(cf::META, MetaKey::ChainId.key(), &b))
        .transpose()?;
    let state_root = match (tip, state_root) {
        (None, None) => empty_root(),
        (Some(_), Some(root)) => root,
        (Some(_), None) => {
            return Err(Error::Corruption {
                cf: cf::META,
                key: hex::encode(MetaKey::StateRoot.key()),
                reason: "a tip is recorded but no state root".into(),
            });
        }
        (None, Some(_)) => {
            return Err(Error::Corruption {
                cf: cf::META,
                key: hex::encode(MetaKey::Tip.key()),
                reason: "a state root is recorded but no tip".into(),
            });
        }
    };
    Ok(ChainMeta {
        tip,
        finalized,
        state_root,
        chain_id,
    })
}

impl Store {
    /// Opens (or creates) the store in directory `path` and checks it: the
    /// schema version, the metadata records, and that the state tree's
    /// root at the tip equals the recorded state root and the tip header's
    /// `state_root`.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut db_options = Options::default();
        db_options.create_if_missing(options.create_if_missing);
        db_options.create_missing_column_families(true);
        db_options.set_max_background_jobs(options.max_background_jobs);
        db_options.set_max_total_wal_size(64 << 20);
        db_options.set_keep_log_file_num(4);
        db_options.set_max_log_file_size(4 << 20);
        let cache = Cache::new_lru_cache(options.block_cache_bytes);
        let descriptors = cf::ALL
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, cf_options(name, &cache, &options)));
        let db = DB::open_cf_descriptors(&db_options, &path, descriptors)?;

        let meta_cf = cf_handle(&db, cf::META)?;
        let version = db.read_with(meta_cf, MetaKey::SchemaVersion.key(), |b| {
            schema::decode_u32(cf::META, MetaKey::SchemaVersion.key(), b)
        })?;
        let meta = read_meta(&db, meta_cf)?;
        match version {
            Some(found) if found != SCHEMA_VERSION => {
                return Err(Error::SchemaVersion {
                    expected: SCHEMA_VERSION,
                    found,
                });
            }
            Some(_) => {}
            None if meta.tip.is_none() => {
                let mut opts = WriteOptions::default();
                opts.set_sync(options.sync_writes);
                let mut batch = WriteBatch::default();
                batch.put_cf(
                    meta_cf,
                    MetaKey::SchemaVersion.key(),
                    SCHEMA_VERSION.to_le_bytes(),
                );
                db.write_opt(batch, &opts)?;
            }
            None => {
                return Err(Error::Corruption {
                    cf: cf::META,
                    key: hex::encode(MetaKey::SchemaVersion.key()),
                    reason: "blocks are stored but no schema version".into(),
                });
            }
        }

        let mut write_options = WriteOptions::default();
        write_options.set_sync(options.sync_writes);
        let store = Store {
            db,
            path,
            write_options,
            commit_lock: Mutex::new(()),
            meta: RwLock::new(meta),
        };
        store.check_tip_consistency(&meta)?;
        Ok(store)
    }

    fn check_tip_consistency(&self, meta: &ChainMeta) -> Result<()> {
        let Some(tip) = meta.tip else {
            return Ok(());
        };
        let header = self.header(tip.height)?.ok_or_else(|| Error::Corruption {
            cf: cf::HEADERS,
            key: hex::encode(schema::height_key(tip.height)),
            reason: "the tip's header is missing".into(),
        })?;
        if header.hash() != tip.hash {
            return Err(Error::Corruption {
                cf: cf::HEADERS,
                key: hex::encode(schema::height_key(tip.height)),
                reason: format!(
                    "tip hash {} but the header hashes to {}",
                    tip.hash,
                    header.hash()
                ),
            });
        }
        let reader = self.tree_reader(&self.db)?;
        let tree_root = tree::root_at(&reader, tip.height)?;
        if tree_root != meta.state_root || header.state_root != meta.state_root {
            return Err(Error::Corruption {
                cf: cf::JMT_NODES,
                key: hex::encode(tree::root_key(tip.height).version().to_le_bytes()),
                reason: format!(
                    "tree root {tree_root}, recorded state root {}, tip header state root {}",
                    meta.state_root, header.state_root
                ),
            });
        }
        Ok(())
    }

    fn cf(&self, name: &'static str) -> Result<&ColumnFamily> {
        cf_handle(&self.db, name)
    }

    fn tree_reader<'a, S: Source>(&'a self, source: &'a S) -> Result<DbTreeReader<'a, S>> {
        Ok(DbTreeReader {
            source,
            db: &self.db,
            node_reads: source.read_options(),
            nodes: self.cf(cf::JMT_NODES)?,
            utxos: self.cf(cf::UTXOS)?,
            objects: self.cf(cf::OBJECTS)?,
        })
    }

    fn meta(&self) -> ChainMeta {
        match self.meta.read() {
            Ok(m) => *m,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last committed block, if any.
    pub fn tip(&self) -> Option<Tip> {
        self.meta().tip
    }

    /// The highest finalized height, if set.
    pub fn finalized(&self) -> Option<u64> {
        self.meta().finalized
    }

    /// The state root after the tip ([`empty_root`] when empty).
    pub fn state_root(&self) -> Digest {
        self.meta().state_root
    }

    /// The chain id of the stored chain (from its first block).
    pub fn chain_id(&self) -> Option<u32> {
        self.meta().chain_id
    }

    /// Records `height` as finalized. Finality only moves forward and never
    /// past the tip. Written with the same durability as commits.
    pub fn set_finalized(&self, height: u64) -> Result<()> {
        let _guard = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        let meta = self.meta();
        if meta.tip.is_none_or(|t| height > t.height) {
            return Err(Error::FinalizedBeyondTip {
                tip: meta.tip.map(|t| t.height),
                requested: height,
            });
        }
        if let Some(current) = meta.finalized
            && height < current
        {
            return Err(Error::FinalizedRegression {
                current,
                requested: height,
            });
        }
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(cf::META)?,
            MetaKey::Finalized.key(),
            schema::height_key(height),
        );
        self.db.write_opt(batch, &self.write_options)?;
        self.update_meta(|m| m.finalized = Some(height));
        Ok(())
    }

    fn update_meta(&self, f: impl FnOnce(&mut ChainMeta)) {
        match self.meta.write() {
            Ok(mut m) => f(&mut m),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Computes the state tree after `diff` on top of the current tip,
    /// without writing: its [`StateUpdate::state_root`] is the root to put
    /// in the header of the next block. Pass it to [`Store::commit_prepared`]
    /// with that block (it is refused if another block was committed since).
    pub fn prepare_state(&self, diff: &StateDiff) -> Result<StateUpdate> {
        self.prepare_with(diff, false)
    }

    /// [`Store::prepare_state`] through `jmt`'s own key-by-key
    /// `put_value_set`: the path the store used before the batched update,
    /// kept as the reference for equality tests and the benchmark. Same
    /// result (root, nodes, stale nodes), several times slower.
    pub fn prepare_state_key_by_key(&self, diff: &StateDiff) -> Result<StateUpdate> {
        self.prepare_with(diff, true)
    }

    /// Computes the state tree after `diff` on top of **pending** blocks:
    /// `ancestors` are the state updates of the pending chain from the
    /// block right above the current tip (oldest first) to the parent,
    /// whose position is `parent`. The tree is read through an overlay of
    /// the ancestors' new nodes over the store, so nothing is written and
    /// the store keeps only committed state. With no ancestors this is
    /// [`Store::prepare_state`] (and `parent` must be the tip).
    ///
    /// Commit the ancestors first, in order, then this update with
    /// [`Store::commit_prepared`] (its base is `parent`).
    pub fn prepare_state_on(
        &self,
        parent: Tip,
        ancestors: &[&StateUpdate],
        diff: &StateDiff,
    ) -> Result<StateUpdate> {
        let started = Instant::now();
        let snapshot = self.db.snapshot();
        let tip = read_meta(&snapshot, self.cf(cf::META)?)?.tip;
        // The ancestors must form a chain from the tip to the parent: the
        // first is based on the tip, each next one on the one before it
        // (a pending block's base is its parent's position).
        let stale = |reason| Err(Error::StaleStateUpdate { reason });
        let first_version = tip.map_or(0, |t| t.height + 1);
        for (next_version, (i, update)) in (first_version..).zip(ancestors.iter().enumerate()) {
            let based = if i == 0 {
                update.base == tip
            } else {
                update.base.map(|b| b.height + 1) == Some(next_version)
            };
            if !based || update.changes.version != next_version {
                return stale("pending ancestors do not chain from the tip");
            }
        }
        let parent_ok = match ancestors.last() {
            None => tip == Some(parent),
            Some(last) => last.changes.version == parent.height,
        };
        if !parent_ok {
            return stale("the parent is not the last pending ancestor or the tip");
        }
        let reader = self.tree_reader(&snapshot)?;
        let overlay = PendingNodes::new(&reader, ancestors);
        let set = tree::value_set(&diff.spent, &diff.created, &diff.objects);
        let changes = tree::compute_changes(&overlay, parent.height + 1, set)?;
        Ok(StateUpdate {
            base: Some(parent),
            diff_commitment: diff.commitment(),
            changes,
            elapsed: started.elapsed(),
        })
    }

    fn prepare_with(&self, diff: &StateDiff, key_by_key: bool) -> Result<StateUpdate> {
        let started = Instant::now();
        let snapshot = self.db.snapshot();
        let base = read_meta(&snapshot, self.cf(cf::META)?)?.tip;
        let version = match base {
            None => 0,
            Some(tip) => tip.height.checked_add(1).ok_or(Error::UnexpectedHeight {
                expected: u64::MAX,
                got: u64::MAX,
            })?,
        };
        let reader = self.tree_reader(&snapshot)?;
        let set = tree::value_set(&diff.spent, &diff.created, &diff.objects);
        let changes = if key_by_key {
            tree::compute_changes_key_by_key(&reader, version, set)?
        } else {
            tree::compute_changes(&reader, version, set)?
        };
        Ok(StateUpdate {
            base,
            diff_commitment: diff.commitment(),
            changes,
            elapsed: started.elapsed(),
        })
    }

    /// Validates and commits `block` with its execution `outcome` (see the
    /// module docs for the checks and the atomic write). Nothing is written
    /// if any check fails.
    pub fn commit_block(&self, block: &Block, outcome: &BlockOutcome) -> Result<CommittedBlock> {
        let _guard = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        let tx_ids = self.check_block(block, outcome)?;
        let update = self.prepare_state(&outcome.diff)?;
        self.write_block(block, outcome, &tx_ids, update, None)
    }

    /// Like [`Store::commit_block`], reusing a [`Store::prepare_state`]
    /// result for the same diff and tip.
    pub fn commit_prepared(
        &self,
        block: &Block,
        outcome: &BlockOutcome,
        update: StateUpdate,
    ) -> Result<CommittedBlock> {
        self.commit_update(block, outcome, update, None)
    }

    /// Checks `update` against the tip and `outcome`, then writes.
    fn commit_update(
        &self,
        block: &Block,
        outcome: &BlockOutcome,
        update: StateUpdate,
        record: Option<&[u8]>,
    ) -> Result<CommittedBlock> {
        let _guard = self.commit_lock.lock().unwrap_or_else(|p| p.into_inner());
        let tx_ids = self.check_block(block, outcome)?;
        if update.base != self.meta().tip {
            return Err(Error::StaleStateUpdate {
                reason: "computed against another tip",
            });
        }
        if update.diff_commitment != outcome.diff.commitment() {
            return Err(Error::StaleStateUpdate {
                reason: "computed for another diff",
            });
        }
        let committed = self.write_block(block, outcome, &tx_ids, update, record)?;
        if record.is_some() {
            self.update_meta(|m| m.finalized = Some(committed.height));
        }
        Ok(committed)
    }

    /// Like [`Store::commit_prepared`] for a block a quorum made final:
    /// `record` (the consensus layer's encoding of the block's proposal
    /// signature and finality certificate, read back with
    /// [`Store::consensus_record`]) and the finalized height are written in
    /// the same atomic batch as the block.
    pub fn commit_final(
        &self,
        block: &Block,
        outcome: &BlockOutcome,
        update: StateUpdate,
        record: &[u8],
    ) -> Result<CommittedBlock> {
        self.commit_update(block, outcome, update, Some(record))
    }

    /// The consensus record written with the block at `height` by
    /// [`Store::commit_final`], if any.
    pub fn consensus_record(&self, height: u64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .db
            .get_cf(self.cf(cf::CONSENSUS)?, schema::height_key(height))?)
    }

    /// Checks 1 and 2 of the module docs; returns the transaction ids.
    fn check_block(&self, block: &Block, outcome: &BlockOutcome) -> Result<Vec<TxId>> {
        let meta = self.meta();
        let header = &block.header;
        let (expected_height, expected_parent) = match meta.tip {
            None => (0, BlockHash([0; 32])),
            Some(tip) => (
                tip.height.checked_add(1).ok_or(Error::UnexpectedHeight {
                    expected: u64::MAX,
                    got: header.height,
                })?,
                tip.hash,
            ),
        };
        if header.height != expected_height {
            return Err(Error::UnexpectedHeight {
                expected: expected_height,
                got: header.height,
            });
        }
        if header.parent_hash != expected_parent {
            return Err(Error::ParentMismatch {
                expected: expected_parent,
                got: header.parent_hash,
            });
        }
        if let Some(chain) = meta.chain_id
            && header.chain_id.0 != chain
        {
            return Err(Error::ChainIdMismatch {
                expected: chain,
                got: header.chain_id.0,
            });
        }
        if let Some(first) = outcome.rejected.first() {
            return Err(Error::RejectedTransactions {
                count: outcome.rejected.len(),
                first_index: first.index,
            });
        }
        let tx_ids: Vec<TxId> = block.transactions.iter().map(Transaction::id).collect();
        if u32::try_from(tx_ids.len()).is_err() {
            return Err(Error::ReceiptMismatch {
                index: u32::MAX as usize,
            });
        }
        if let Some(index) = tx_ids
            .iter()
            .zip(&outcome.receipts)
            .position(|(id, r)| *id != r.tx_id)
        {
            return Err(Error::ReceiptMismatch { index });
        }
        if tx_ids.len() != outcome.receipts.len() {
            return Err(Error::ReceiptMismatch {
                index: tx_ids.len().min(outcome.receipts.len()),
            });
        }
        let receipts = outcome.receipts_root();
        if receipts != header.receipts_root {
            return Err(Error::ReceiptsRootMismatch {
                header: header.receipts_root,
                computed: receipts,
            });
        }
        let leaves: Vec<Digest> = block
            .transactions
            .iter()
            .zip(&tx_ids)
            .map(|(tx, id)| tx.tx_leaf(id))
            .collect();
        let tx_root = aether_types::merkle_root(&leaves);
        if tx_root != header.tx_root {
            return Err(Error::TxRootMismatch {
                header: header.tx_root,
                computed: tx_root,
            });
        }
        Ok(tx_ids)
    }

    /// Checks 3 and 4, then the atomic write (5) and the metadata (6).
    fn write_block(
        &self,
        block: &Block,
        outcome: &BlockOutcome,
        tx_ids: &[TxId],
        update: StateUpdate,
        record: Option<&[u8]>,
    ) -> Result<CommittedBlock> {
        let started = Instant::now();
        let header = &block.header;
        let height = header.height;
        if update.changes.version != height {
            return Err(Error::StaleStateUpdate {
                reason: "computed for another height",
            });
        }
        if update.changes.root != header.state_root {
            return Err(Error::StateRootMismatch {
                header: header.state_root,
                computed: update.changes.root,
            });
        }
        let hash = header.hash();
        let diff = &outcome.diff;
        let (utxos, addresses) = (self.cf(cf::UTXOS)?, self.cf(cf::ADDRESS_UTXOS)?);
        let mut batch = WriteBatch::default();

        // The UTxO diff and its index.
        let spent_keys: Vec<Vec<u8>> = diff
            .spent
            .iter()
            .map(|op| state_key(op).0.to_vec())
            .collect();
        let spent_records = self.db.read_many(utxos, &spent_keys)?;
        for ((out_point, key), record) in diff.spent.iter().zip(&spent_keys).zip(spent_records) {
            let record = record.ok_or(Error::SpentOutputMissing(*out_point))?;
            let record = UtxoRecord::decode(key, &record)?;
            if record.out_point != *out_point {
                return Err(Error::Corruption {
                    cf: cf::UTXOS,
                    key: hex::encode(key),
                    reason: format!("holds {}, expected {out_point}", record.out_point),
                });
            }
            batch.delete_cf(utxos, key);
            batch.delete_cf(
                addresses,
                schema::address_utxo_key(&record.output.address, out_point),
            );
        }
        let created_keys: Vec<Vec<u8>> = diff
            .created
            .keys()
            .map(|op| state_key(op).0.to_vec())
            .collect();
        let existing = self.db.read_many(utxos, &created_keys)?;
        for (((out_point, output), key), existing) in
            diff.created.iter().zip(&created_keys).zip(existing)
        {
            if existing.is_some() {
                return Err(Error::CreatedOutputExists(*out_point));
            }
            batch.put_cf(utxos, key, UtxoRecord::encode(out_point, output));
            batch.put_cf(
                addresses,
                schema::address_utxo_key(&output.address, out_point),
                [],
            );
        }

        // Protocol objects, their due index and their kind index.
        let (objects_cf, due_cf, kinds_cf) = (
            self.cf(cf::OBJECTS)?,
            self.cf(cf::DUE)?,
            self.cf(cf::OBJECT_KINDS)?,
        );
        let object_keys: Vec<Vec<u8>> = diff
            .objects
            .keys()
            .map(|k| k.tree_key().0.to_vec())
            .collect();
        let old_objects = self.db.read_many(objects_cf, &object_keys)?;
        for (((key, object), tree_key), old) in
            diff.objects.iter().zip(&object_keys).zip(old_objects)
        {
            if let Some(old) = old {
                let old = schema::decode_object(tree_key, &old)?;
                if let Some(h) = old.due_height() {
                    batch.delete_cf(due_cf, schema::due_key(h, key));
                }
            }
            match object {
                Some(object) => {
                    if object.key_kind() != key.kind() {
                        return Err(Error::Corruption {
                            cf: cf::OBJECTS,
                            key: hex::encode(tree_key),
                            reason: format!(
                                "a {} written at a {} key",
                                object.key_kind(),
                                key.kind()
                            ),
                        });
                    }
                    batch.put_cf(objects_cf, tree_key, object.encode());
                    batch.put_cf(kinds_cf, schema::object_kind_key(key), key.encode());
                    if let Some(h) = object.due_height() {
                        batch.put_cf(due_cf, schema::due_key(h, key), key.encode());
                    }
                }
                None => {
                    batch.delete_cf(objects_cf, tree_key);
                    batch.delete_cf(kinds_cf, schema::object_kind_key(key));
                }
            }
        }
        batch.put_cf(
            self.cf(cf::BOUNDARY)?,
            schema::height_key(height),
            outcome.boundary.encode(),
        );

        // The state tree: new nodes, stale nodes removed.
        let nodes = self.cf(cf::JMT_NODES)?;
        for (id, node) in &update.changes.nodes {
            batch.put_cf(nodes, &*id.key(), node);
        }
        for id in &update.changes.stale {
            batch.delete_cf(nodes, &*id.key());
        }

        // The block, its transactions and receipts.
        let height_key = schema::height_key(height);
        let tx_count =
            u32::try_from(block.transactions.len()).map_err(|_| Error::ReceiptMismatch {
                index: u32::MAX as usize,
            })?;
        batch.put_cf(
            self.cf(cf::HEADERS)?,
            height_key,
            HeaderRecord {
                tx_count,
                header: header.clone(),
            }
            .encode(),
        );
        batch.put_cf(self.cf(cf::BLOCK_HASHES)?, hash.0, height_key);
        let (blocks, transactions, receipts) = (
            self.cf(cf::BLOCKS)?,
            self.cf(cf::TRANSACTIONS)?,
            self.cf(cf::RECEIPTS)?,
        );
        for (index, ((tx, id), receipt)) in
            (0u32..).zip(block.transactions.iter().zip(tx_ids).zip(&outcome.receipts))
        {
            let location = TxLocation { height, index };
            batch.put_cf(blocks, location.encode(), tx.encode());
            batch.put_cf(transactions, id.0, location.encode());
            batch.put_cf(receipts, id.0, receipt.encode());
        }

        // The metadata.
        let meta_cf = self.cf(cf::META)?;
        let tip = Tip { height, hash };
        batch.put_cf(meta_cf, MetaKey::Tip.key(), tip.encode());
        batch.put_cf(meta_cf, MetaKey::StateRoot.key(), update.changes.root.0);
        if let Some(record) = record {
            batch.put_cf(self.cf(cf::CONSENSUS)?, height_key, record);
            batch.put_cf(meta_cf, MetaKey::Finalized.key(), height_key);
        }
        if self.meta().chain_id.is_none() {
            batch.put_cf(
                meta_cf,
                MetaKey::ChainId.key(),
                header.chain_id.0.to_le_bytes(),
            );
        }

        let batch_bytes = batch.size_in_bytes();
        self.db.write_opt(batch, &self.write_options)?;
        let root = update.changes.root;
        self.update_meta(|m| {
            m.tip = Some(tip);
            m.state_root = root;
            m.chain_id.get_or_insert(header.chain_id.0);
        });
        Ok(CommittedBlock {
            height,
            hash,
            state_root: root,
            batch_bytes,
            tree_nodes_written: update.changes.new_nodes(),
            tree_nodes_deleted: update.changes.stale_nodes(),
            state_time: update.elapsed,
            write_time: started.elapsed(),
        })
    }

    /// The header at `height`.
    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>> {
        Ok(self.header_record(height)?.map(|r| r.header))
    }

    fn header_record(&self, height: u64) -> Result<Option<HeaderRecord>> {
        let key = schema::height_key(height);
        self.db.read_with(self.cf(cf::HEADERS)?, &key, |b| {
            HeaderRecord::decode(&key, b)
        })
    }

    /// The height of the block with hash `hash`.
    pub fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>> {
        self.db.read_with(self.cf(cf::BLOCK_HASHES)?, &hash.0, |b| {
            schema::decode_height(cf::BLOCK_HASHES, &hash.0, b)
        })
    }

    /// The header of the block with hash `hash`.
    pub fn header_by_hash(&self, hash: &BlockHash) -> Result<Option<BlockHeader>> {
        match self.height_of(hash)? {
            Some(height) => self
                .header(height)
                .and_then(|h| self.expect_hash(h, height, hash)),
            None => Ok(None),
        }
    }

    fn expect_hash(
        &self,
        header: Option<BlockHeader>,
        height: u64,
        hash: &BlockHash,
    ) -> Result<Option<BlockHeader>> {
        match header {
            Some(h) if h.hash() == *hash => Ok(Some(h)),
            _ => Err(Error::Corruption {
                cf: cf::BLOCK_HASHES,
                key: hex::encode(hash.0),
                reason: format!("points to height {height}, whose header has another hash"),
            }),
        }
    }

    /// The block at `height`.
    pub fn block_by_height(&self, height: u64) -> Result<Option<Block>> {
        let Some(record) = self.header_record(height)? else {
            return Ok(None);
        };
        let keys: Vec<Vec<u8>> = (0..record.tx_count)
            .map(|i| schema::block_tx_key(height, i).to_vec())
            .collect();
        let values = self.db.read_many(self.cf(cf::BLOCKS)?, &keys)?;
        let mut transactions = Vec::with_capacity(keys.len());
        for (key, value) in keys.iter().zip(values) {
            let bytes = value.ok_or_else(|| Error::Corruption {
                cf: cf::BLOCKS,
                key: hex::encode(key),
                reason: "transaction record of a stored block is missing".into(),
            })?;
            transactions.push(schema::decode_transaction(key, &bytes)?);
        }
        Ok(Some(Block {
            header: record.header,
            transactions,
        }))
    }

    /// The block with hash `hash`.
    pub fn block_by_hash(&self, hash: &BlockHash) -> Result<Option<Block>> {
        let Some(height) = self.height_of(hash)? else {
            return Ok(None);
        };
        let block = self.block_by_height(height)?;
        if let Some(b) = &block {
            self.expect_hash(Some(b.header.clone()), height, hash)?;
        }
        Ok(block)
    }

    /// Where the transaction `id` was included.
    pub fn tx_location(&self, id: &TxId) -> Result<Option<TxLocation>> {
        self.db.read_with(self.cf(cf::TRANSACTIONS)?, &id.0, |b| {
            TxLocation::decode(&id.0, b)
        })
    }

    /// The included transaction `id` (with its location).
    pub fn transaction(&self, id: &TxId) -> Result<Option<(Transaction, TxLocation)>> {
        let Some(location) = self.tx_location(id)? else {
            return Ok(None);
        };
        let key = location.encode();
        let tx = self
            .db
            .read_with(self.cf(cf::BLOCKS)?, &key, |b| {
                schema::decode_transaction(&key, b)
            })?
            .ok_or_else(|| Error::Corruption {
                cf: cf::TRANSACTIONS,
                key: hex::encode(id.0),
                reason: "points to a missing block record".into(),
            })?;
        if tx.id() != *id {
            return Err(Error::Corruption {
                cf: cf::TRANSACTIONS,
                key: hex::encode(id.0),
                reason: "points to another transaction".into(),
            });
        }
        Ok(Some((tx, location)))
    }

    /// The receipt of the included transaction `id`.
    pub fn receipt(&self, id: &TxId) -> Result<Option<Receipt>> {
        let receipt = self.db.read_with(self.cf(cf::RECEIPTS)?, &id.0, |b| {
            schema::decode_receipt(&id.0, b)
        })?;
        match receipt {
            Some(r) if r.tx_id != *id => Err(Error::Corruption {
                cf: cf::RECEIPTS,
                key: hex::encode(id.0),
                reason: "receipt of another transaction".into(),
            }),
            other => Ok(other),
        }
    }

    /// The unspent output at `out_point`.
    pub fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>> {
        utxo_from(&self.db, self.cf(cf::UTXOS)?, out_point)
    }

    /// Every unspent output of `address`, in out-point order (one
    /// consistent snapshot).
    pub fn utxos_by_address(&self, address: &Address) -> Result<Vec<(OutPoint, TxOutput)>> {
        self.utxos_by_address_page(address, None, usize::MAX)
    }

    /// At most `limit` unspent outputs of `address` with out-points after
    /// `after` (exclusive), in out-point order: pages for RPC.
    pub fn utxos_by_address_page(
        &self,
        address: &Address,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Result<Vec<(OutPoint, TxOutput)>> {
        let snapshot = self.db.snapshot();
        let prefix = schema::address_prefix(address);
        let start = match after {
            Some(op) => {
                let mut key = schema::address_utxo_key(address, op).to_vec();
                key.push(0); // the first key strictly after `op`
                key
            }
            None => prefix.to_vec(),
        };
        let mut out_points = Vec::new();
        for item in snapshot.scan_from(self.cf(cf::ADDRESS_UTXOS)?, &start) {
            if out_points.len() >= limit {
                break;
            }
            let (key, _) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            out_points.push(schema::decode_address_utxo_key(&key)?);
        }
        let utxos = self.cf(cf::UTXOS)?;
        let keys: Vec<Vec<u8>> = out_points
            .iter()
            .map(|op| state_key(op).0.to_vec())
            .collect();
        let values = snapshot.read_many(utxos, &keys)?;
        let mut result = Vec::with_capacity(out_points.len());
        for ((out_point, key), value) in out_points.into_iter().zip(&keys).zip(values) {
            let record = value
                .ok_or_else(|| Error::Corruption {
                    cf: cf::ADDRESS_UTXOS,
                    key: hex::encode(schema::address_utxo_key(address, &out_point)),
                    reason: "indexes an output that is not in the UTxO set".into(),
                })
                .and_then(|b| UtxoRecord::decode(key, &b))?;
            if record.out_point != out_point || record.output.address != *address {
                return Err(Error::Corruption {
                    cf: cf::UTXOS,
                    key: hex::encode(key),
                    reason: "record disagrees with the address index".into(),
                });
            }
            result.push((out_point, record.output));
        }
        Ok(result)
    }

    /// Total value (AIC and assets) of the unspent outputs of `address`.
    pub fn balance(&self, address: &Address) -> Result<Value> {
        Ok(self.balance_and_count(address)?.0)
    }

    /// [`Store::balance`] and the number of unspent outputs it sums.
    pub fn balance_and_count(&self, address: &Address) -> Result<(Value, u64)> {
        let utxos = self.utxos_by_address(address)?;
        let mut total = Value::default();
        for (_, output) in &utxos {
            total
                .checked_add_assign(&output.value)
                .map_err(|_| Error::ValueOverflow)?;
        }
        Ok((total, utxos.len() as u64))
    }

    /// Inclusion (unspent) or exclusion (spent, never created) proof of
    /// `out_point` against the state root of the tip, from one snapshot.
    pub fn state_proof(&self, out_point: &OutPoint) -> Result<StateProofAt> {
        let snapshot = self.db.snapshot();
        let meta = read_meta(&snapshot, self.cf(cf::META)?)?;
        let Some(tip) = meta.tip else {
            return Ok(StateProofAt {
                height: None,
                state_root: empty_root(),
                proof: StateProof::empty_tree(),
            });
        };
        let reader = self.tree_reader(&snapshot)?;
        let proof = tree::prove(&reader, tip.height, out_point)?;
        Ok(StateProofAt {
            height: Some(tip.height),
            state_root: meta.state_root,
            proof,
        })
    }

    /// The protocol object at `key` (latest committed state).
    pub fn object(&self, key: &ObjectKey) -> Result<Option<Object>> {
        object_from(&self.db, self.cf(cf::OBJECTS)?, key)
    }

    /// Objects of one namespace (the kind of `ObjectKey`: the variant of
    /// `sample`), in tree-key order, at most `limit` (one snapshot).
    pub fn objects_of_kind(
        &self,
        sample: &ObjectKey,
        limit: usize,
    ) -> Result<Vec<(ObjectKey, Object)>> {
        let snapshot = self.db.snapshot();
        let prefix = schema::object_kind_prefix(sample);
        let (kinds, objects) = (self.cf(cf::OBJECT_KINDS)?, self.cf(cf::OBJECTS)?);
        let mut out = Vec::new();
        for item in snapshot.scan_from(kinds, &prefix) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            let key = schema::decode_due(&k, &v)?;
            if let Some(object) = object_from(&snapshot, objects, &key)? {
                out.push((key, object));
            }
        }
        Ok(out)
    }

    /// Keys of the objects due at `height` (the `due` index).
    pub fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>> {
        due_from(&self.db, self.cf(cf::DUE)?, height)
    }

    /// The block boundary's receipt at `height`.
    pub fn boundary_receipt(&self, height: u64) -> Result<Option<BoundaryReceipt>> {
        let key = schema::height_key(height);
        self.db.read_with(self.cf(cf::BOUNDARY)?, &key, |b| {
            schema::decode_boundary(&key, b)
        })
    }

    /// Inclusion or exclusion proof of the object at `key` against the state
    /// root of the tip, from one snapshot.
    pub fn object_proof(&self, key: &ObjectKey) -> Result<ObjectProofAt> {
        let snapshot = self.db.snapshot();
        let meta = read_meta(&snapshot, self.cf(cf::META)?)?;
        let Some(tip) = meta.tip else {
            return Ok(ObjectProofAt {
                height: None,
                state_root: empty_root(),
                proof: ObjectProof::empty_tree(),
            });
        };
        let reader = self.tree_reader(&snapshot)?;
        let proof = tree::prove_object(&reader, tip.height, key)?;
        Ok(ObjectProofAt {
            height: Some(tip.height),
            state_root: meta.state_root,
            proof,
        })
    }

    /// A consistent read-only view of the UTxO set at the current tip (a
    /// RocksDB snapshot), for executing a block while commits may happen.
    pub fn snapshot_view(&self) -> SnapshotView<'_> {
        SnapshotView {
            store: self,
            snapshot: self.db.snapshot(),
        }
    }

    /// Size figures of every column family (for metrics).
    pub fn cf_sizes(&self) -> Result<Vec<CfSize>> {
        cf::ALL
            .iter()
            .map(|name| {
                let handle = self.cf(name)?;
                let prop = |p: &rocksdb::properties::PropName| -> Result<u64> {
                    Ok(self.db.property_int_value_cf(handle, p)?.unwrap_or(0))
                };
                Ok(CfSize {
                    name,
                    live_data_bytes: prop(rocksdb::properties::ESTIMATE_LIVE_DATA_SIZE)?,
                    sst_bytes: prop(rocksdb::properties::TOTAL_SST_FILES_SIZE)?,
                    memtable_bytes: prop(rocksdb::properties::SIZE_ALL_MEM_TABLES)?,
                    estimated_keys: prop(rocksdb::properties::ESTIMATE_NUM_KEYS)?,
                })
            })
            .collect()
    }

    /// Flushes all memtables to SST files (tests, orderly shutdown; not
    /// needed for durability, which the WAL provides).
    pub fn flush(&self) -> Result<()> {
        let handles = cf::ALL
            .iter()
            .map(|name| self.cf(name))
            .collect::<Result<Vec<_>>>()?;
        self.db
            .flush_cfs_opt(&handles, &rocksdb::FlushOptions::default())?;
        Ok(())
    }
}

fn cf_handle<'a>(db: &'a DB, name: &'static str) -> Result<&'a ColumnFamily> {
    db.cf_handle(name).ok_or(Error::RocksDb {
        message: format!("column family `{name}` is not open"),
    })
}

fn utxo_from<S: Source>(
    source: &S,
    utxos: &ColumnFamily,
    out_point: &OutPoint,
) -> Result<Option<TxOutput>> {
    let key = state_key(out_point).0;
    let record = source.read_with(utxos, &key, |b| UtxoRecord::decode(&key, b))?;
    match record {
        Some(r) if r.out_point != *out_point => Err(Error::Corruption {
            cf: cf::UTXOS,
            key: hex::encode(key),
            reason: format!("holds {}, expected {out_point}", r.out_point),
        }),
        other => Ok(other.map(|r| r.output)),
    }
}

fn object_from<S: Source>(
    source: &S,
    objects: &ColumnFamily,
    key: &ObjectKey,
) -> Result<Option<Object>> {
    let tree_key = key.tree_key().0;
    let object = source.read_with(objects, &tree_key, |b| schema::decode_object(&tree_key, b))?;
    match object {
        Some(o) if o.key_kind() != key.kind() => Err(Error::Corruption {
            cf: cf::OBJECTS,
            key: hex::encode(tree_key),
            reason: format!("holds a {}, expected a {}", o.key_kind(), key.kind()),
        }),
        other => Ok(other),
    }
}

fn due_from<S: Source>(source: &S, due: &ColumnFamily, height: u64) -> Result<Vec<ObjectKey>> {
    let prefix = schema::height_key(height);
    let mut keys = Vec::new();
    for item in source.scan_from(due, &prefix) {
        let (k, v) = item?;
        if !k.starts_with(&prefix) {
            break;
        }
        keys.push(schema::decode_due(&k, &v)?);
    }
    Ok(keys)
}

fn view_error(e: Error) -> ViewError {
    ViewError {
        message: e.to_string(),
    }
}

/// Reads the latest committed UTxO set (each read sees the state after
/// some committed block; use [`Store::snapshot_view`] for one fixed state).
impl UtxoView for Store {
    fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>, ViewError> {
        Store::utxo(self, out_point).map_err(view_error)
    }

    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, ViewError> {
        Store::object(self, key).map_err(view_error)
    }

    fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>, ViewError> {
        Store::due_at(self, height).map_err(view_error)
    }
}

/// The UTxO set as of one committed block (see [`Store::snapshot_view`]).
pub struct SnapshotView<'a> {
    store: &'a Store,
    snapshot: Snapshot<'a>,
}

impl SnapshotView<'_> {
    /// The tip the view sees.
    pub fn tip(&self) -> Result<Option<Tip>> {
        Ok(read_meta(&self.snapshot, self.store.cf(cf::META)?)?.tip)
    }
}

impl UtxoView for SnapshotView<'_> {
    fn utxo(&self, out_point: &OutPoint) -> Result<Option<TxOutput>, ViewError> {
        let utxos = self.store.cf(cf::UTXOS).map_err(view_error)?;
        utxo_from(&self.snapshot, utxos, out_point).map_err(view_error)
    }

    fn object(&self, key: &ObjectKey) -> Result<Option<Object>, ViewError> {
        let objects = self.store.cf(cf::OBJECTS).map_err(view_error)?;
        object_from(&self.snapshot, objects, key).map_err(view_error)
    }

    fn due_at(&self, height: u64) -> Result<Vec<ObjectKey>, ViewError> {
        let due = self.store.cf(cf::DUE).map_err(view_error)?;
        due_from(&self.snapshot, due, height).map_err(view_error)
    }
}

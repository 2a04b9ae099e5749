//! Aether node storage: RocksDB column families, one atomic write per
//! block, and an authenticated state root (a Jellyfish Merkle tree over
//! the UTxO set) with inclusion and exclusion proofs.
//!
//! | module | holds | needs RocksDB |
//! |---|---|---|
//! | [`store`] | [`Store`]: commits, reads, proofs, metrics; `UtxoView` for the ledger | yes (feature `db`, default) |
//! | [`tree`] | state keys, the tree hasher, [`MemoryStateTree`] (same roots in memory) | no |
//! | [`proof`] | [`StateProof`] and the pure [`verify_proof`] for light clients | no |
//! | [`schema`] | column families, key formats, record codecs | no |
//!
//! With `default-features = false` the crate compiles without RocksDB and
//! without the ledger: what a light client (or a fuzz target) needs to
//! check a proof against a header's `state_root`.
//!
//! # Invariants
//! - After [`Store::commit_block`] returns `Ok`, the block, its receipts,
//!   its UTxO diff, the state tree and the tip are durable together; after
//!   any crash the store opens at some committed block, with a state root
//!   equal to that block's header `state_root` ([`Store::open`] checks it).
//! - The state root is a function of the UTxO set only: equal sets give
//!   equal roots in the store, in [`MemoryStateTree`] and after a replay.
//! - Bytes read back from disk are decoded strictly; a damaged record is
//!   [`Error::Corruption`], never a panic.
//!
//! # Example
//! ```
//! # #[cfg(feature = "db")] {
//! use aether_storage::{Store, StoreOptions, MemoryStateTree, verify_proof};
//! use aether_ledger::{BlockOutcome, StateDiff};
//! use aether_types::*;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
//!
//! // A genesis block creating one output.
//! let op = OutPoint::new(TxId([0xee; 32]), 0);
//! let out = TxOutput::coin(Address::Key(KeyHash([1; 32])), 1_000_000);
//! let outcome = BlockOutcome {
//!     receipts: vec![],
//!     rejected: vec![],
//!     diff: StateDiff {
//!         spent: Default::default(),
//!         created: [(op, out.clone())].into(),
//!         objects: Default::default(),
//!     },
//!     boundary: Default::default(),
//! };
//! let update = store.prepare_state(&outcome.diff).unwrap();
//! let header = BlockHeader {
//!     version: HEADER_VERSION,
//!     chain_id: ChainId(1),
//!     height: 0,
//!     timestamp_ms: 0,
//!     parent_hash: BlockHash([0; 32]),
//!     tx_root: merkle_root(&[]),
//!     receipts_root: receipts_root(&[], &BoundaryReceipt::default()),
//!     state_root: update.state_root(),
//!     data_root: Digest([0; 32]),
//!     consensus: ConsensusFields::SingleValidator { proposer: PublicKey([0; 32]) },
//! };
//! let block = Block { header, transactions: vec![] };
//! store.commit_prepared(&block, &outcome, update).unwrap();
//!
//! let proof = store.state_proof(&op).unwrap();
//! assert_eq!(verify_proof(&block.header.state_root, &op, &proof.proof).unwrap(), Some(&out));
//! let mut replay = MemoryStateTree::new();
//! assert_eq!(replay.apply_diff(&outcome.diff).unwrap(), store.state_root());
//! # }
//! ```

mod error;
mod node;
pub mod proof;
pub mod schema;
#[cfg(feature = "db")]
pub mod store;
pub mod tree;
mod update;

pub use error::{Error, Result};
pub use proof::{
    ObjectProof, PROOF_SCHEME, StateProof, ValueProof, verify_object_proof, verify_proof,
};
pub use schema::{SCHEMA_VERSION, Tip, TxLocation};
#[cfg(feature = "db")]
pub use store::{
    CfSize, CommittedBlock, ObjectProofAt, SnapshotView, StateProofAt, StateUpdate, Store,
    StoreOptions,
};
pub use tree::{MemoryStateTree, empty_root, state_key};

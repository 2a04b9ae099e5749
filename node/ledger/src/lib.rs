//! The Aether ledger: an extended-UTxO ("eUTxO++", Cardano-style) state
//! machine with WebAssembly scripts and parallel block execution.
//!
//! The ledger is pure: it reads the UTxO set through the [`UtxoView`]
//! trait (storage implements it; [`MemoryUtxoSet`] is the in-memory
//! implementation) and returns effects ([`StateDiff`], [`Receipt`]s); it
//! performs no I/O.
//!
//! # Transaction rules
//! A transaction is **valid** (phase 1) at block height `h` iff, in this
//! order:
//! 1. it is well-formed (`Transaction::check`: non-empty inputs, sets
//!    sorted, reference inputs disjoint from inputs, redeemers name inputs);
//! 2. its chain id is the ledger's, its encoded size is at most
//!    `max_tx_size`, and `h` lies in its validity interval;
//! 3. its declared fuel (sum of redeemer budgets) is at most
//!    `max_fuel_per_tx` and its fee is at least
//!    `base + per_byte × size + per_fuel × declared_fuel` ([`FeeSchedule`]);
//! 4. every output (and the collateral return) holds at least
//!    `min_output_coin` AIC;
//! 5. every vkey witness verifies over the transaction id;
//! 6. every input, reference input and collateral input exists in the
//!    UTxO set (unspent); reference inputs are only read;
//! 7. every key-locked input and collateral input, and every required
//!    signer, has a vkey witness whose key hashes to it; key-locked inputs
//!    carry no redeemer, script-locked inputs carry one;
//! 8. value is conserved: `Σ inputs + minted = Σ outputs + fee + burned`,
//!    per asset, with checked arithmetic (no negative or overflowing sum);
//! 9. if any script runs (a script-locked input or a mint): collateral is
//!    present, key-locked, and `Σ collateral = collateral return + fee`
//!    exactly; if none runs, there is no collateral;
//! 10. every script to run is available (a witness script, or the reference
//!     script of an input or reference input) and every witness script runs.
//!
//! An invalid transaction changes nothing and pays nothing; a block that
//! contains one is invalid.
//!
//! **Phase 2.** Each script runs with its redeemer's fuel budget: first the
//! validators of script-locked inputs (ascending out-point order), then the
//! minting policies (ascending policy id). If all accept, the transaction
//! **succeeds**: inputs are consumed, outputs created at `(id, i)`, assets
//! minted/burned, fee paid. If one fails (rejects, traps, runs out of fuel,
//! exceeds the memory cap, or is not a valid module), the transaction is
//! still included with a [`TxStatus::ScriptFailed`] receipt and **only the
//! collateral is taken**: the collateral inputs are consumed, the
//! collateral return (if any) is created at `(id, outputs.len())`, the fee
//! is charged, and nothing else changes. As collateral must balance the fee
//! exactly, a failed script costs its submitter exactly the declared fee.
//!
//! # Invariants
//! - Every applied transaction consumes at least one existing output (its
//!   inputs or its collateral), so no transaction id is applied twice and
//!   created out-points are always fresh.
//! - A script's verdict depends only on the transaction and the outputs it
//!   names, never on the block (height, position).
//! - [`ExecutionMode::Parallel`] and [`ExecutionMode::Sequential`] give
//!   identical [`BlockOutcome`]s (see [`executor`]).
//!
//! Modules: [`params`] (fees and limits), [`state`] (view, diff, in-memory
//! set, state root), [`script`] (wasmi engine and host API), [`validate`]
//! (one transaction), [`executor`] (blocks, parallel scheduling),
//! [`market`] (the AI compute market), [`staking`] (validators,
//! delegation, epochs, slashing, rewards).
//!
//! # Dependencies that point up the crate map
//! The design's crate map (ARCHITECTURE.md) puts the ledger above the
//! consensus and inference crates. Two of its rules must give exactly the
//! answer those crates give, so the ledger calls them instead of keeping
//! a second copy that could drift:
//! - `aether-consensus` (pure: no I/O, no clock, no randomness): an
//!   equivocation report is checked by the consensus crate's own
//!   `verify_evidence` against its `ValidatorSet` (the signing messages and
//!   BLS checks that made the votes), and the next epoch's seed is its
//!   `next_epoch_seed`;
//! - `aether-infer` without its model and WASM features: checkpoint
//!   hashes, trace roots and trace proofs as the worker's runtime defines
//!   them (re-execution itself goes through the node's
//!   [`market::SegmentExecutor`]).
//!
//! Neither depends on the ledger, so there is no cycle.

mod error;
pub mod executor;
pub mod market;
pub mod params;
pub mod script;
pub mod staking;
pub mod state;
pub mod validate;

pub use aether_types::{Receipt, TxStatus};
pub use error::{LedgerError, ViewError};
pub use executor::{BlockOutcome, ExecutionMode, Ledger, RejectedTx};
pub use market::{MarketError, MarketParams, NoExecutor, ReexecError, SegmentExecutor};
pub use params::{FeeSchedule, ProtocolParams, ScriptLimits};
pub use script::{ACCEPT, HOST_CALL_FUEL, ScriptEngine, ScriptRun};
pub use staking::{BlockConsensus, StakingError, StakingParams};
pub use state::{MemoryUtxoSet, PendingView, StateDiff, TxEffect, UtxoView, utxo_leaf};
pub use validate::{AppliedTx, BlockContext, VerifiedWitnesses, check_stateless};

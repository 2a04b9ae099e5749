//! The Aether transaction pool: pure admission, ordering, bounds and block
//! selection. No I/O: the chain state comes in through
//! [`aether_ledger::UtxoView`], the rules through [`aether_ledger::Ledger`].
//!
//! # Admission
//! A transaction enters in two steps:
//!
//! 1. **Stateless** ([`check_stateless`], no lock needed): size bound before
//!    decoding, canonical decoding, chain id, declared fuel bound, fee ≥
//!    `min_fee(size, fuel)`, minimum output coin, every vkey witness
//!    verifies over the transaction id. The result is a [`CheckedTx`].
//! 2. **Stateful** ([`Mempool::insert`]) against the chain state *plus the
//!    pool* ([`PoolView`]: outputs of pooled transactions exist, inputs
//!    spent by pooled transactions do not): not already pooled; no input
//!    already spent by a pooled transaction; no reference or collateral
//!    input spent by a pooled transaction; the full ledger validation at
//!    the next block height ([`aether_ledger::Ledger::validate_transaction`]:
//!    inputs exist, value conserved, signatures of the right keys,
//!    collateral, scripts available); and every script **accepts** (a
//!    transaction whose script fails would only forfeit its collateral; the
//!    pool refuses it, as Cardano's node does). Script verdicts depend only
//!    on the transaction and the outputs it names, so the verdict at
//!    admission is the verdict in any block.
//!
//! Pooled transactions may spend outputs of other pooled transactions
//! (chains of unconfirmed transactions).
//!
//! # Double spends: first seen wins, no replace-by-fee
//! An out-point is spent by at most one pooled transaction. A newcomer
//! spending an out-point already claimed is rejected with
//! [`MempoolError::DoubleSpend`] naming the pooled transaction, whatever
//! its fee: replace-by-fee is **not** implemented (it needs rules against
//! pinning and free relay that belong with the network layer). Reference
//! inputs and collateral inputs are *reads*: several pooled transactions
//! may read one out-point, a newcomer may not read an out-point a pooled
//! transaction spends ([`MempoolError::ReadsPooledSpend`]), and a newcomer
//! may spend an out-point that pooled transactions read (it is then
//! ordered after them in blocks).
//!
//! # Priority and bounds
//! Priority is the fee rate (fee per byte of canonical encoding, compared
//! exactly as fractions, [`FeeRate`]), ties broken by arrival. The pool
//! holds at most [`MempoolConfig::max_txs`] transactions and
//! [`MempoolConfig::max_bytes`] bytes. When a newcomer does not fit, the
//! lowest-priority entries that are not its own ancestors are evicted,
//! each with its descendants (which cannot be included without it), as
//! long as each evicted root has a fee rate **strictly below** the
//! newcomer's; otherwise the newcomer is rejected with
//! [`MempoolError::PoolFull`] and nothing is evicted.
//!
//! # Blocks
//! [`Mempool::select_for_block`] picks transactions greedily by priority
//! among those whose pooled dependencies are already selected, within a
//! transaction count and a byte budget; the result executes without
//! rejections in the order given. [`Mempool::apply_block`] (or
//! [`Mempool::remove_committed`]) removes included transactions, those
//! whose inputs or read out-points the block spent (with descendants), and
//! those whose validity interval has ended.
//!
//! # Invariants (checked by [`Mempool::check_invariants`] in the property tests)
//! - no out-point is spent by two pooled transactions;
//! - `len() ≤ max_txs` and `bytes() ≤ max_bytes`;
//! - every pooled transaction is valid on top of the chain state and the
//!   pooled transactions it depends on;
//! - the priority index, spend index, reader index and parent/child links
//!   agree with the entries;
//! - a pooled transaction reading an out-point that another pooled
//!   transaction spends arrived before it.
//!
//! # Example
//! ```
//! use aether_ledger::{Ledger, MemoryUtxoSet, ProtocolParams};
//! use aether_mempool::{Mempool, MempoolConfig, MempoolError};
//!
//! let ledger = Ledger::new(ProtocolParams::dev());
//! let chain = MemoryUtxoSet::new();
//! let mut pool = Mempool::new(MempoolConfig::default());
//! // Garbage never gets past decoding.
//! let err = pool.submit(&ledger, &chain, 1, &[1, 2, 3]).unwrap_err();
//! assert!(matches!(err, MempoolError::Decode(_)));
//! assert!(pool.is_empty());
//! assert!(pool.select_for_block(100, 1 << 20).is_empty());
//! ```

mod check;
mod error;
mod fee_rate;
mod pool;

pub use check::{CheckedTx, check_stateless, check_transaction};
pub use error::MempoolError;
pub use fee_rate::FeeRate;
pub use pool::{Admitted, BlockRemoval, Mempool, MempoolConfig, PoolEntryInfo, PoolView};

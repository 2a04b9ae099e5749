//! Stateless admission checks: everything that needs only the bytes and
//! the protocol parameters, run before the pool is locked.

use crate::{FeeRate, MempoolError};
use aether_ledger::{ProtocolParams, VerifiedWitnesses};
use aether_types::{Canonical, Transaction, TxId};
use std::sync::Arc;

/// A transaction that passed the stateless checks ([`check_stateless`]).
///
/// Only this module builds it, so holding one proves the checks ran.
#[derive(Clone, Debug)]
pub struct CheckedTx {
    tx: Arc<Transaction>,
    id: TxId,
    size: usize,
    fee_rate: FeeRate,
    verified: VerifiedWitnesses,
}

impl CheckedTx {
    /// The transaction.
    pub fn tx(&self) -> &Arc<Transaction> {
        &self.tx
    }

    /// Its id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// Length of its canonical encoding, in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Its fee rate (fee over size).
    pub fn fee_rate(&self) -> FeeRate {
        self.fee_rate
    }

    /// The ledger's proof that its signatures verified.
    pub fn verified(&self) -> &VerifiedWitnesses {
        &self.verified
    }
}

/// Runs the stateless checks on submitted bytes, in this order:
///
/// 1. size ≤ `params.max_tx_size` (before decoding anything);
/// 2. canonical decoding with the structural rules of `aether-types`;
/// 3. chain id;
/// 4. declared fuel ≤ `max_fuel_per_tx`;
/// 5. fee ≥ `base + per_byte × size + per_fuel × declared_fuel`;
/// 6. every output and the collateral return hold ≥ `min_output_coin`;
/// 7. every vkey witness verifies over the transaction id (one batch, then
///    singly to name the first bad witness).
///
/// Steps 2–7 are the ledger's own [`aether_ledger::check_stateless`]
/// (errors mapped to this crate's variants); the stateful admission
/// ([`crate::Mempool::insert`]) then runs the full ledger validation with
/// the signature verdict carried over.
pub fn check_stateless(params: &ProtocolParams, bytes: &[u8]) -> Result<CheckedTx, MempoolError> {
    if bytes.len() > params.max_tx_size {
        return Err(MempoolError::TooLarge {
            size: bytes.len(),
            max: params.max_tx_size,
        });
    }
    let tx = Transaction::decode(bytes).map_err(MempoolError::Decode)?;
    check_decoded(params, tx, bytes.len())
}

/// [`check_stateless`] for a transaction already in memory (its size is the
/// length of its canonical encoding).
pub fn check_transaction(
    params: &ProtocolParams,
    tx: Transaction,
) -> Result<CheckedTx, MempoolError> {
    tx.check().map_err(MempoolError::Decode)?;
    let size = tx.encode().len();
    if size > params.max_tx_size {
        return Err(MempoolError::TooLarge {
            size,
            max: params.max_tx_size,
        });
    }
    check_decoded(params, tx, size)
}

fn check_decoded(
    params: &ProtocolParams,
    tx: Transaction,
    size: usize,
) -> Result<CheckedTx, MempoolError> {
    // The ledger's own stateless rules and signature check: one
    // implementation, and the verdict travels with the transaction so the
    // stateful admission does not verify the signatures again.
    let verified =
        aether_ledger::check_stateless(params, &tx).map_err(MempoolError::from_stateless)?;
    // `size` ≤ max_tx_size ≤ MAX_TX_LEN (256 KiB) fits u32.
    let size_u32 = u32::try_from(size).unwrap_or(u32::MAX);
    Ok(CheckedTx {
        fee_rate: FeeRate::new(tx.body.fee, size_u32),
        id: verified.tx_id(),
        tx: Arc::new(tx),
        size,
        verified,
    })
}
